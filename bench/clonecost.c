/* clonecost — what it costs here to create (and reap) a child process,
 * depending on whether it gets its own copy of the address space and
 * which namespaces it is born in.
 *
 * On this VM every page-table update and every page fault traps to the
 * hypervisor, so copying an address space (fork) and tearing it down
 * again costs far more than the namespaces do; a child that shares the
 * parent's memory until it execs (vfork, CLONE_VM) skips both. The child
 * here only calls _exit(0), so each figure is creation + exit + reap.
 * Variants are interleaved round-robin, each run twice in a row and the
 * second timed; medians in microseconds. */

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS_FLAGS                                                               \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |           \
	 CLONE_NEWUTS | CLONE_NEWCGROUP)

struct variant {
	const char *name;
	int flags; /* clone flags; -1 = fork(), -2 = vfork() */
};

static const struct variant variants[] = {
	{"fork()", -1},
	{"vfork()", -2},
	{"clone(VM|VFORK)", CLONE_VM | CLONE_VFORK},
	{"clone(6 ns), own mm", NS_FLAGS},
	{"clone(VM|VFORK + 6 ns)", CLONE_VM | CLONE_VFORK | NS_FLAGS},
	{"clone(VM|VFORK + 6 ns + net)",
	 CLONE_VM | CLONE_VFORK | NS_FLAGS | CLONE_NEWNET},
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

static char child_stack[64 * 1024] __attribute__((aligned(16)));

static int child_fn(void *arg)
{
	(void)arg;
	_exit(0);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Creates one child the variant's way and reaps it; returns µs or -1. */
static double one(const struct variant *v)
{
	double t0 = now_us();
	int status;
	pid_t pid;

	if (v->flags == -1)
		pid = fork();
	else if (v->flags == -2)
		pid = vfork();
	else
		pid = clone(child_fn, child_stack + sizeof(child_stack),
			    v->flags | SIGCHLD, NULL);
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return -1;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return now_us() - t0;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 300;
	double *t[NVARIANTS];

	if (rounds < 1 || rounds > 100000) {
		fprintf(stderr, "usage: clonecost [ROUNDS]\n");
		return 2;
	}
	for (size_t i = 0; i < NVARIANTS; i++) {
		t[i] = calloc((size_t)rounds, sizeof(double));
		if (!t[i])
			return 1;
	}
	for (long r = -5; r < rounds; r++)
		for (size_t k = 0; k < NVARIANTS; k++) {
			size_t i = (k + (size_t)(r + 5)) % NVARIANTS;
			/* The first call pays for what the previous variant
			 * left behind (after a fork the parent's pages stay
			 * write-protected until it faults on them); time the
			 * second. */
			double us = one(&variants[i]);

			if (us >= 0)
				us = one(&variants[i]);

			if (us < 0) {
				fprintf(stderr, "clonecost: %s: %s\n",
					variants[i].name, strerror(errno));
				return 1;
			}
			if (r >= 0)
				t[i][r] = us;
		}
	printf("%-30s %9s %9s %9s\n", "child creation + exit + reap",
	       "median", "p10", "p90");
	for (size_t i = 0; i < NVARIANTS; i++) {
		qsort(t[i], (size_t)rounds, sizeof(double), cmp_double);
		printf("%-30s %7.1fus %7.1fus %7.1fus\n", variants[i].name,
		       t[i][rounds / 2], t[i][rounds / 10],
		       t[i][rounds * 9 / 10]);
	}
	return 0;
}
