/* attack-ptrace — try ptrace, process_vm_* and pidfd_getfd.
 *
 * usage: attack-ptrace HOSTPID
 * Targets: a child of the attack (another box process), pid 1 (the box's
 * init, a fork of the controller) and the driver's host victim. Every
 * call must fail; the exit status counts those that worked, and the
 * driver checks that the host victim is neither traced nor stopped. */
#include <inttypes.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "attack.h"

static uint64_t stack_of(int pid)
{
	char p[64], line[512];
	uint64_t lo = 0, hi = 0;
	snprintf(p, sizeof(p), "/proc/%d/maps", pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[stack]"))
			sscanf(line, "%" SCNx64 "-%" SCNx64, &lo, &hi);
	fclose(f);
	return hi ? hi - 4096 : 0;
}

static void target(int pid, const char *name)
{
	char what[128];
	say("== %s (pid %d)", name, pid);
	snprintf(what, sizeof(what), "ptrace(PTRACE_ATTACH, %s)", name);
	if (deny(what, ptrace(PTRACE_ATTACH, pid, 0, 0)) == 0) {
		waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, 0, 0);
	}
	snprintf(what, sizeof(what), "ptrace(PTRACE_SEIZE, %s)", name);
	if (deny(what, ptrace(PTRACE_SEIZE, pid, 0, 0)) == 0)
		ptrace(PTRACE_DETACH, pid, 0, 0);

	char buf[4096];
	uint64_t addr = stack_of(pid);
	if (!addr)
		addr = 0x400000;
	struct iovec local = {buf, sizeof(buf)};
	struct iovec remote = {(void *)(uintptr_t)addr, sizeof(buf)};
	snprintf(what, sizeof(what), "process_vm_readv(%s)", name);
	long n = deny(what, syscall(SYS_process_vm_readv, pid, &local, 1, &remote, 1, 0));
	for (long i = 0; i < n;) {
		size_t l = strnlen(buf + i, (size_t)(n - i));
		if (l > 2)
			say("  read: %.*s", (int)l, buf + i);
		i += (long)l + 1;
	}
	snprintf(what, sizeof(what), "process_vm_writev(%s)", name);
	deny(what, syscall(SYS_process_vm_writev, pid, &local, 1, &remote, 1, 0));

	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/mem", pid);
	snprintf(what, sizeof(what), "open(%s, O_RDWR)", p);
	int fd = (int)deny(what, open(p, O_RDWR | O_CLOEXEC));
	if (fd >= 0)
		close(fd);

	snprintf(what, sizeof(what), "pidfd_open(%s)", name);
	int pfd = (int)show(what, syscall(SYS_pidfd_open, pid, 0));
	if (pfd >= 0) {
		for (int i = 0; i < 16; i++) {
			snprintf(what, sizeof(what), "pidfd_getfd(%s, %d)", name, i);
			long got = syscall(SYS_pidfd_getfd, pfd, i, 0);
			if (got >= 0 || errno != EBADF)
				deny(what, got);
			if (got >= 0)
				dump_fd(what, (int)got);
		}
		close(pfd);
	}
	snprintf(what, sizeof(what), "kcmp(self, %s)", name);
	show(what, syscall(SYS_kcmp, getpid(), pid, 0 /* KCMP_FILE */, 0, 0));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: attack-ptrace HOSTPID\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	int host = atoi(argv[1]);

	/* A child that asks to be traced, then idles. */
	int pipefd[2];
	if (pipe(pipefd) < 0)
		return 3;
	pid_t child = fork();
	if (child == 0) {
		long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
		int e = errno;
		(void)!write(pipefd[1], &r, sizeof(r));
		(void)!write(pipefd[1], &e, sizeof(e));
		for (;;)
			pause();
	}
	long r = -1;
	int e = 0;
	if (read(pipefd[0], &r, sizeof(r)) == sizeof(r) && read(pipefd[0], &e, sizeof(e)) == sizeof(e)) {
		errno = e;
		deny("ptrace(PTRACE_TRACEME) in a child", r);
	}
	target(child, "a box child");
	target(1, "the box's init");
	target(host, "the host victim");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return attack_exit();
}
