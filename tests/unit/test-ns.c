/* test-ns.c — the owner of the box's user namespace (ns_clone_box).
 *
 * As root, the namespace must be owned by a host uid that no process runs
 * as: not root, not 'nobody' (the box's own host uid, which daemons and
 * unprivileged controllers run as), and a different one per box. A host
 * process whose euid is the owner has every capability in the namespace.
 * The attacks are tried from a host process running as uid 65534 against a
 * box's first process held in its setup window (before it becomes the box
 * user), and judged by what the kernel answered.
 *
 * The window must also hold in a multi-threaded host (libward): another
 * thread's glibc seteuid() must not abort the process, and concurrent box
 * starts must leave the process dumpable as it was. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/lib/box.h"
#include "check.h"

#define NS_GET_OWNER_UID 0xb704
#define NOBODY 65534

/* The host uid that owns pid's user namespace, or -1. */
static long userns_owner(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	uid_t owner;
	int r = ioctl(fd, NS_GET_OWNER_UID, &owner);
	close(fd);
	return r < 0 ? -1 : (long)owner;
}

/* A box's first process, held where ns_clone_box leaves it (before its id
 * maps and before it becomes the box user) until killed. */
static pid_t held_box(int *pidfd)
{
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = ns_clone_box(-1, true, true, pidfd);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		(void)!write(ready[1], "x", 1);
		for (;;)
			pause();
	}
	close(ready[1]);
	char c;
	if (pid > 0 && read(ready[0], &c, 1) != 1)
		pid = -1;
	close(ready[0]);
	return pid;
}

static void end_box(pid_t pid, int pidfd)
{
	syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	waitpid(pid, NULL, 0);
	close(pidfd);
}

static void test_owner_is_nobody_elses(void)
{
	int fd1 = -1, fd2 = -1;
	pid_t a = held_box(&fd1);
	pid_t b = held_box(&fd2);
	CHECK(a > 0 && b > 0);
	if (a <= 0 || b <= 0)
		return;
	long oa = userns_owner(a), ob = userns_owner(b);
	printf("# owners: %ld %ld\n", oa, ob);
	CHECK(oa >= 0 && ob >= 0);
	if (geteuid() == 0) {
		CHECK(oa != 0 && oa != NOBODY && ob != 0 && ob != NOBODY);
		CHECK(oa != ob);
		/* Far above any real or dynamic user. */
		CHECK(oa >= 65536 && ob >= 65536);
	} else {
		/* Unprivileged: the caller owns its namespaces, as always. */
		CHECK_INT(oa, geteuid());
		CHECK_INT(ob, geteuid());
	}
	end_box(a, fd1);
	end_box(b, fd2);
}

/* Bit per attack that worked, from a process running as uid 65534. */
static int attack_as_nobody(pid_t target)
{
	pid_t p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(255);
		int won = 0;
		char path[64];
		if (kill(target, 0) == 0)
			won |= 1;
		struct rlimit rl;
		if (prlimit(target, RLIMIT_NOFILE, NULL, &rl) == 0)
			won |= 2;
		if (setpriority(PRIO_PROCESS, target, 5) == 0)
			won |= 4;
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)target);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && setns(fd, CLONE_NEWUSER) == 0)
			won |= 8;
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)target);
		if (open(path, O_RDWR | O_CLOEXEC) >= 0)
			won |= 16;
		snprintf(path, sizeof(path), "/proc/%d/environ", (int)target);
		if (open(path, O_RDONLY | O_CLOEXEC) >= 0)
			won |= 32;
		if (ptrace(PTRACE_SEIZE, target, 0, 0) == 0)
			won |= 64;
		_exit(won);
	}
	int status;
	if (waitpid(p, &status, 0) != p || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_nobody_cannot_reach_the_window(void)
{
	if (geteuid() != 0) {
		printf("# not root: the box's host uid is the caller's own\n");
		return;
	}
	int fd = -1;
	pid_t pid = held_box(&fd);
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	int won = attack_as_nobody(pid);
	if (won)
		printf("# uid 65534 got (bits: 1 kill, 2 prlimit, 4 renice, 8 setns, 16 mem, "
		       "32 environ, 64 ptrace): %d\n", won);
	CHECK_INT(won, 0);
	end_box(pid, fd);
}

static volatile int stop_flipping;

static void *flip_euid(void *arg)
{
	(void)arg;
	while (!stop_flipping) {
		/* glibc: applied to every thread by a signal broadcast. */
		if (setegid(1000) < 0 || seteuid(1000) < 0 || seteuid(0) < 0 || setegid(0) < 0)
			_exit(3);
	}
	return NULL;
}

/* Boxes started while another thread changes the process's euid back and
 * forth with glibc: the process lives and this thread ends where the
 * broadcasts left it (euid 0 or 1000), never at a box's owner. */
static void test_seteuid_from_another_thread(void)
{
	if (geteuid() != 0) {
		printf("# not root: no euid to switch\n");
		return;
	}
	pid_t p = fork();
	CHECK(p >= 0);
	if (p == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, flip_euid, NULL) != 0)
			_exit(4);
		int bad = 0;
		for (int i = 0; i < 400; i++) {
			int fd = -1;
			pid_t pid = ns_clone_box(-1, true, true, &fd);
			if (pid == 0)
				_exit(0);
			if (pid > 0) {
				waitpid(pid, NULL, 0);
				close(fd);
			}
			uid_t r, e, s;
			getresuid(&r, &e, &s);
			if (e != 0 && e != 1000)
				bad++;
		}
		stop_flipping = 1;
		pthread_join(t, NULL);
		_exit(bad ? 5 : 0);
	}
	int status = 0;
	CHECK_INT(waitpid(p, &status, 0), p);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		printf("# the host process %s %d\n", WIFSIGNALED(status) ? "died of signal" : "exited",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void *start_boxes(void *arg)
{
	int *failed = arg;
	for (int i = 0; i < 150; i++) {
		int fd = -1;
		pid_t pid = ns_clone_box(-1, true, true, &fd);
		if (pid == 0)
			_exit(0);
		if (pid < 0) {
			(*failed)++;
			continue;
		}
		waitpid(pid, NULL, 0);
		close(fd);
	}
	return NULL;
}

/* Two threads starting boxes at once: the process is dumpable after, as
 * it was before. */
static void test_dumpable_after_concurrent_starts(void)
{
	CHECK_INT(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
	pthread_t t[2];
	int failed[2] = {0, 0};
	for (int i = 0; i < 2; i++)
		CHECK_INT(pthread_create(&t[i], NULL, start_boxes, &failed[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK_INT(failed[0] + failed[1], 0);
	CHECK_INT(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
	uid_t r, e, s;
	getresuid(&r, &e, &s);
	CHECK_INT(e, geteuid() == 0 ? 0 : e);
}

int main(void)
{
	static const struct test tests[] = {
		TEST(test_owner_is_nobody_elses),
		TEST(test_nobody_cannot_reach_the_window),
		TEST(test_seteuid_from_another_thread),
		TEST(test_dumpable_after_concurrent_starts),
	};
	return run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
