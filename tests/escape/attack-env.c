/* attack-env — try to read the host's environment.
 *
 * usage: attack-env
 * Prints its own environment, every /proc/PID/environ and cmdline it can
 * open, and whatever it can read of pid 1's stack through /proc/1/mem
 * (the box's init is a fork of the controller: its stack holds the
 * controller's environment). The driver looks for its secret variable's
 * value in all of it. */
#include <inttypes.h>
#include <limits.h>

#include "attack.h"

extern char **environ;

/* Reads [stack] of pid through /proc/PID/mem and prints the strings that
 * look like NAME=VALUE. */
static void stack_strings(const char *pid)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%s/maps", pid);
	FILE *f = fopen(p, "re");
	if (!f) {
		say("fopen(%s) -> %s", p, errno_name(errno));
		return;
	}
	char line[512];
	uint64_t lo = 0, hi = 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[stack]"))
			sscanf(line, "%" SCNx64 "-%" SCNx64, &lo, &hi);
	fclose(f);
	if (!hi) {
		say("no [stack] in %s", p);
		return;
	}
	snprintf(p, sizeof(p), "/proc/%s/mem", pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (deny(p, fd) < 0)
		return;
	static char buf[1 << 20];
	size_t len = hi - lo > sizeof(buf) ? sizeof(buf) : hi - lo;
	ssize_t n = pread(fd, buf, len, (off_t)(hi - len));
	show("pread(stack)", n);
	close(fd);
	for (ssize_t i = 0; i < n;) {
		size_t l = strnlen(buf + i, (size_t)(n - i));
		if (l > 2 && memchr(buf + i, '=', l))
			printf("  stack string: %.*s\n", (int)l, buf + i);
		i += (ssize_t)l + 1;
	}
	fflush(stdout);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	say("== own environment");
	for (char **e = environ; *e; e++)
		say("  env: %s", *e);
	try_read("/proc/self/environ");
	try_read("/proc/self/auxv");
	say("== every process's environ and cmdline");
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char p[300];
		snprintf(p, sizeof(p), "/proc/%s/environ", de->d_name);
		try_read(p);
		snprintf(p, sizeof(p), "/proc/%s/cmdline", de->d_name);
		try_read(p);
	}
	if (d)
		closedir(d);
	say("== pid 1's memory");
	stack_strings("1");
	return attack_exit();
}
