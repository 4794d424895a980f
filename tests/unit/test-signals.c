/* test-signals.c — signals_default(), run in the program's process just
 * before execve: every signal at its default and none blocked, whatever
 * the controller had installed, ignored or blocked. execve itself resets
 * caught signals but keeps ignored ones and the mask; a handler of the
 * controller's must not run in the program's process either.
 *
 * The reset reads the signals to reset from /proc/self/status; a long
 * Groups: line (one entry per supplementary group) once pushed SigCgt past
 * the end of the read and left the low signals' handlers in place, and
 * the libc's sigaction() refused its reserved signals (32-33 glibc, 32-34
 * musl), so an ignored one survived execve. Each case runs in a child. */
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/lib/box.h"
#include "check.h"

/* The kernel's struct sigaction (x86-64). */
struct ksigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

static void on_signal(int sig)
{
	(void)sig;
}

static void *handler_of(int sig)
{
	struct ksigaction old;
	if (syscall(SYS_rt_sigaction, sig, NULL, &old, sizeof(uint64_t)) < 0)
		return (void *)-2;
	return (void *)old.handler;
}

/* In a child: installs handlers, ignores and blocks signals (the raw way
 * for the libc's reserved ones), calls signals_default, and exits 0 only
 * when everything is at its default. */
static int child(int n_groups)
{
	if (n_groups) {
		gid_t *g = calloc((size_t)n_groups, sizeof(*g));
		for (int i = 0; g && i < n_groups; i++)
			g[i] = 1000 + (gid_t)i;
		if (!g || setgroups((size_t)n_groups, g) < 0)
			return 3;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGUSR1, SIG_IGN);
	struct ksigaction ign = {SIG_IGN, 0, NULL, 0};
	for (int s = 32; s <= 34; s++)
		if (syscall(SYS_rt_sigaction, s, &ign, NULL, sizeof(uint64_t)) < 0)
			return 4;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (signals_default() < 0)
		return 5;
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, 32, 33, 34};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (handler_of(sigs[i]) != (void *)SIG_DFL)
			return 10 + sigs[i];
	uint64_t mask = ~(uint64_t)0;
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask, sizeof(mask)) < 0 || mask)
		return 6;
	return 0;
}

static int in_child(int n_groups)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(child(n_groups));
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void test_everything_default(void)
{
	CHECK_INT(in_child(0), 0);
}

/* 60 to 260 groups: a Groups: line of 300 to 1300 bytes before SigCgt,
 * which then ends at every offset around the read's end, cut mid-line
 * for some (root only: setgroups needs CAP_SETGID). */
static void test_long_status(void)
{
	if (geteuid() != 0)
		return;
	for (int n = 60; n <= 260; n++) {
		int r = in_child(n);
		if (r != 0) {
			CHECK_INT(r, 0);
			printf("# with %d supplementary groups\n", n);
			return;
		}
	}
}

int main(void)
{
	static const struct test tests[] = {
		TEST(test_everything_default),
		TEST(test_long_status),
	};
	return run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
