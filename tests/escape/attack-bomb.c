/* attack-bomb — resource exhaustion under the default policy.
 *
 * usage: attack-bomb fork | memory | unlimit | memfork | memfd | flood | tmpfill
 *   fork     every process forks forever
 *   unlimit  first tries to lift the box's own memory and pids limits
 *            (writes "max" to memory.max and pids.max wherever a cgroup
 *            file system might be reached: /sys/fs/cgroup, a cgroup2
 *            mounted in the box, the box's cgroup path, any inherited
 *            descriptor), then runs the memory bomb. Matters most where
 *            the run's cgroup belongs to the box's own uid (an ordinary
 *            user's delegated cgroup v2 subtree, tests/vm/cgroup2).
 *   memory   allocates and touches 16 MiB chunks until it is stopped (or,
 *            under an address-space rlimit, until malloc fails: then it
 *            exits 0)
 *   memfork  8 children touching 512 MiB each (4 GiB), held for 4 s
 *   memfd    4 GiB in unmapped 32 MiB memfds, held for 4 s
 *   flood    writes to stdout and stderr forever
 *   tmpfill  fills /tmp with 1 MiB files until a write fails, then exits
 * None of them stops on its own except as noted: the run must end because
 * ward's default limits stop it. The driver bounds the time and watches the
 * host (free memory, process count, disk space). */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "attack.h"

static void fork_bomb(void)
{
	say("fork bomb");
	for (;;)
		(void)fork();
}

static void memory_bomb(void)
{
	size_t total = 0, chunk = 16u << 20;
	say("memory bomb");
	for (;;) {
		char *p = malloc(chunk);
		if (!p) {
			say("malloc failed after %zu MiB: %s", total >> 20, errno_name(errno));
			exit(0);
		}
		for (size_t i = 0; i < chunk; i += 4096)
			p[i] = (char)i;
		total += chunk;
		if (total % (256u << 20) == 0)
			say("%zu MiB touched", total >> 20);
	}
}

/* Writes "max" to dir/memory.max and dir/pids.max (dirfd-relative). */
static void lift_at(int dirfd, const char *dir)
{
	static const char *const files[] = {"memory.max", "memory.high", "pids.max"};
	char what[600];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(what, sizeof(what), "write max to %s/%s", dir, files[i]);
		int fd = openat(dirfd, files[i], O_WRONLY | O_CLOEXEC);
		if (deny(what, fd) < 0)
			continue;
		deny(what, write(fd, "max", 3));
		close(fd);
	}
}

static void unlimit(void)
{
	char cg[512] = "", path[700];
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (f) {
		while (fgets(cg, sizeof(cg), f) && strncmp(cg, "0::", 3))
			;
		fclose(f);
		cg[strcspn(cg, "\n")] = 0;
		say("own cgroup: %s", cg);
	}
	const char *cgpath = !strncmp(cg, "0::", 3) ? cg + 3 : "/";
	lift_at(AT_FDCWD, "/sys/fs/cgroup");
	snprintf(path, sizeof(path), "/sys/fs/cgroup%s", cgpath);
	int d = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d >= 0) {
		lift_at(d, path);
		close(d);
	}
	mkdir("/tmp/cg", 0700);
	if (deny("mount cgroup2 on /tmp/cg", mount("cgroup2", "/tmp/cg", "cgroup2", 0, NULL)) == 0) {
		lift_at(AT_FDCWD, "/tmp/cg");
		snprintf(path, sizeof(path), "/tmp/cg%s", cgpath);
		d = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (d >= 0) {
			lift_at(d, path);
			close(d);
		}
	}
	/* A descriptor of the run's cgroup that leaked into the box. */
	for (int fd = 3; fd < 1024; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		snprintf(path, sizeof(path), "inherited fd %d", fd);
		lift_at(fd, path);
	}
	say("unlimit: %d forbidden operations succeeded", escaped_count);
	memory_bomb();
}

/* Alternates stdout and stderr: the limit is on both together. */
static void flood(void)
{
	static char buf[65536];
	memset(buf, 'F', sizeof(buf));
	for (size_t i = 63; i < sizeof(buf); i += 64)
		buf[i] = '\n';
	for (unsigned n = 0;; n++)
		if (write(1 + (n & 1), buf, sizeof(buf)) < 0 && errno != EINTR && errno != EAGAIN)
			exit(0);
}

/* Memory that a per-process address-space rlimit does not see: children
 * that each stay under it, or memfd pages that are no longer mapped. Stops
 * at cap_mib (so that an unconfined run does not take the host down),
 * holds the memory for 3 s so that the driver can see it, and exits 0. */
static void memory_fork(size_t cap_mib)
{
	size_t per = 512u << 20, n = (cap_mib << 20) / per;
	say("memory bomb: %zu children of %zu MiB each", n, per >> 20);
	for (size_t c = 0; c < n; c++) {
		if (fork() == 0) {
			char *p = malloc(per);
			if (!p) {
				say("child %zu: malloc failed: %s", c, errno_name(errno));
				_exit(0);
			}
			for (size_t i = 0; i < per; i += 4096)
				p[i] = 1;
			say("child %zu holds %zu MiB", c, per >> 20);
			sleep(4);
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	say("memory bomb done");
	exit(0);
}

static void memory_memfd(size_t cap_mib)
{
	size_t per = 32u << 20, total = 0;
	say("memfd bomb: %zu MiB in %zu MiB memfds", cap_mib, per >> 20);
	while (total < (cap_mib << 20)) {
		int fd = memfd_create("bomb", 0);
		if (fd < 0 || ftruncate(fd, (off_t)per) < 0) {
			say("memfd after %zu MiB: %s", total >> 20, errno_name(errno));
			break;
		}
		char *p = mmap(NULL, per, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			say("mmap after %zu MiB: %s", total >> 20, errno_name(errno));
			break;
		}
		for (size_t i = 0; i < per; i += 4096)
			p[i] = 1;
		munmap(p, per); /* the pages stay, in the file */
		total += per;
	}
	say("memfd bomb holds %zu MiB", total >> 20);
	sleep(4);
	say("memory bomb done");
	exit(0);
}

static void tmpfill(void)
{
	static char buf[1 << 20];
	memset(buf, 'T', sizeof(buf));
	uint64_t total = 0;
	say("filling /tmp");
	for (int i = 0;; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/tmp/fill-%d", i);
		int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0) {
			say("open(%s) -> %s after %llu MiB", p, errno_name(errno),
			    (unsigned long long)(total >> 20));
			break;
		}
		ssize_t n = write(fd, buf, sizeof(buf));
		if (n > 0)
			total += (uint64_t)n;
		if (n != (ssize_t)sizeof(buf)) {
			say("write(%s) -> %s after %llu bytes", p, n < 0 ? errno_name(errno) : "short",
			    (unsigned long long)total);
			close(fd);
			break;
		}
		close(fd);
	}
	say("filled %llu bytes of /tmp", (unsigned long long)total);
	exit(0);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: attack-bomb fork|memory|unlimit|memfork|memfd|flood|tmpfill\n");
		return 2;
	}
	if (!strcmp(argv[1], "fork"))
		fork_bomb();
	else if (!strcmp(argv[1], "memory"))
		memory_bomb();
	else if (!strcmp(argv[1], "unlimit"))
		unlimit();
	else if (!strcmp(argv[1], "flood"))
		flood();
	else if (!strcmp(argv[1], "tmpfill"))
		tmpfill();
	else if (!strcmp(argv[1], "memfork"))
		memory_fork(4096);
	else if (!strcmp(argv[1], "memfd"))
		memory_memfd(4096);
	fprintf(stderr, "attack-bomb: unknown mode '%s'\n", argv[1]);
	return 2;
}
