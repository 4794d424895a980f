/* tailbench.c — where a run's time goes: from the request to the
 * program's main(), and from main() to the result in hand.
 *
 *   tailbench [--rounds N] [--cgroup auto|off] [--python PY] STAMP
 *
 * STAMP is a static program that prints CLOCK_MONOTONIC as its main()
 * starts (bench/stamp.c; the box's pid and mount namespaces leave that
 * clock alone). Each round, a pause of 30 ms before each, runs it bare
 * (posix_spawn, stdout a pipe, waitpid), from a pool of 2 boxes
 * (ward_pool_run) and in a fresh box (ward_run); with --python, also
 * `PY -c` of a line that prints the same clock, bare and from a pool of 2
 * python3 zygote boxes (its "main" is that line). In a rotating order;
 * every run must exit 0 and print a time. Medians and p90 in ms of:
 * request -> main, main -> result, request -> result. No timing is
 * asserted. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ward.h>

#define BENCH_NAME "tailbench"
#define BENCH_DIE_STATUS 1
#include "benchutil.h"

enum { BARE, POOLED, FRESH, BARE_PY, ZYGOTE, NVAR };
static const char *const names[NVAR] = {"bare", "pooled", "fresh", "bare py", "zygote"};

/* The python line: the clock as its first act ("main"). */
static const char py_stamp[] = "import time; print(time.monotonic())";

struct series {
	double *to_main, *after_main, *total;
	size_t n;
};

/* The time the program printed, read from fd (until EOF); closes fd. */
static double stamp_of(int fd)
{
	char buf[64];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = 0;
	char *end;
	double t = strtod(buf, &end);
	if (end == buf || *end != '\n')
		die("the program printed '%s', not a time", buf);
	return t * 1e3;
}

static double run_bare(char *const *argv, double *ret_main)
{
	int p[2];
	posix_spawn_file_actions_t fa;
	if (pipe2(p, O_CLOEXEC) < 0 || posix_spawn_file_actions_init(&fa) ||
	    posix_spawn_file_actions_adddup2(&fa, p[1], 1))
		die("pipe: %s", strerror(errno));
	double t0 = now_ms();
	pid_t pid;
	int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, (char *[]){NULL});
	if (r)
		die("'%s': %s", argv[0], strerror(r));
	close(p[1]);
	*ret_main = stamp_of(p[0]) - t0;
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	double t1 = now_ms() - t0;
	posix_spawn_file_actions_destroy(&fa);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("'%s' bare: wait status %d", argv[0], st);
	return t1;
}

/* --cgroup: the pool's (ward_pool_options) and a fresh box's (ward_options;
 * a pooled request takes its pool's and may not set one). */
static enum ward_cgroup cgroup_mode = WARD_CGROUP_AUTO;

static double run_box(ward_pool *pool, const ward_policy *p, char *const *argv, double *ret_main)
{
	int q[2];
	if (pipe2(q, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	struct ward_options o = WARD_OPTIONS_INIT;
	o.stdout_fd = q[1];
	if (!pool)
		o.cgroup = cgroup_mode;
	ward_result *res = NULL;
	double t0 = now_ms();
	int r = pool ? ward_pool_run(pool, argv, &o, &res) : ward_run(p, argv, &o, &res);
	double t1 = now_ms() - t0;
	close(q[1]);
	if (r < 0)
		die("'%s' %s: %s", argv[0], pool ? "pooled" : "fresh", strerror(-r));
	if (ward_result_status(res) != WARD_STATUS_EXITED || ward_result_exit_code(res))
		die("'%s' %s: %s: %s", argv[0], pool ? "pooled" : "fresh",
		    ward_status_name(ward_result_status(res)), ward_result_message(res));
	ward_result_free(res);
	*ret_main = stamp_of(q[0]) - t0;
	return t1;
}

static void report(const char *what, double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	printf("  %-14s %7.2f / %7.2f", what, percentile(v, n, 0.5), percentile(v, n, 0.9));
}

int main(int argc, char **argv)
{
	unsigned rounds = 40;
	const char *python = NULL;
	static const struct option opts[] = {{"rounds", required_argument, NULL, 'r'},
					     {"cgroup", required_argument, NULL, 'c'},
					     {"python", required_argument, NULL, 'p'},
					     {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r' && atoi(optarg) > 0)
			rounds = (unsigned)atoi(optarg);
		else if (c == 'c' && (!strcmp(optarg, "auto") || !strcmp(optarg, "off")))
			cgroup_mode = strcmp(optarg, "off") ? WARD_CGROUP_AUTO : WARD_CGROUP_OFF;
		else if (c == 'p')
			python = optarg;
		else
			die("usage: tailbench [--rounds N] [--cgroup auto|off] [--python PY] STAMP");
	}
	if (optind + 1 != argc)
		die("usage: tailbench [--rounds N] [--cgroup auto|off] [--python PY] STAMP");
	char *prog = realpath(argv[optind], NULL);
	if (!prog)
		die("'%s': %s", argv[optind], strerror(errno));
	ward_policy *p;
	if (ward_policy_new(&p) < 0 || ward_policy_load_profile(p, "native") < 0 ||
	    ward_policy_grant_ro(p, prog, NULL) < 0)
		die("policy: %s", p ? ward_policy_error(p) : "out of memory");
	struct ward_pool_options po = WARD_POOL_OPTIONS_INIT;
	po.cgroup = cgroup_mode;
	ward_pool *pool, *zygote = NULL;
	if (ward_pool_new(p, &po, &pool) < 0)
		die("pool: %s", pool ? ward_pool_error(pool) : "out of memory");
	ward_policy *py = NULL;
	char *pyv[] = {(char *)python, "-c", (char *)py_stamp, NULL};
	if (python) {
		if (ward_policy_new(&py) < 0 || ward_policy_load_profile(py, "python3") < 0)
			die("policy: %s", py ? ward_policy_error(py) : "out of memory");
		po.zygote = "python3";
		int r = ward_pool_new(py, &po, &zygote);
		if (r < 0)
			die("zygote pool: %s", zygote ? ward_pool_error(zygote) : strerror(-r));
	}
	int nvar = python ? NVAR : BARE_PY;
	char *av[] = {prog, NULL};
	struct series s[NVAR];
	for (int k = 0; k < NVAR; k++) {
		s[k].to_main = calloc(rounds, sizeof(double));
		s[k].after_main = calloc(rounds, sizeof(double));
		s[k].total = calloc(rounds, sizeof(double));
		s[k].n = 0;
		if (!s[k].to_main || !s[k].after_main || !s[k].total)
			die("out of memory");
	}
	double load = loadavg();
	for (unsigned r = 0; r <= rounds; r++) /* round 0: warm-up, dropped */
		for (int j = 0; j < nvar; j++) {
			int k = (int)((j + r) % (unsigned)nvar);
			if (ward_pool_wait(pool) < 0)
				die("pool: %s", ward_pool_error(pool));
			if (zygote && ward_pool_wait(zygote) < 0)
				die("zygote pool: %s", ward_pool_error(zygote));
			struct timespec pause = {0, 30 * 1000000L};
			nanosleep(&pause, NULL);
			double to_main, total;
			if (k == BARE || k == BARE_PY)
				total = run_bare(k == BARE ? av : pyv, &to_main);
			else if (k == ZYGOTE)
				total = run_box(zygote, py, pyv, &to_main);
			else
				total = run_box(k == POOLED ? pool : NULL, p, av, &to_main);
			if (!r)
				continue;
			s[k].to_main[s[k].n] = to_main;
			s[k].after_main[s[k].n] = total - to_main;
			s[k].total[s[k].n++] = total;
		}
	printf("tailbench: %u rounds, load %.2f -> %.2f; ms, median / p90\n", rounds, load, loadavg());
	for (int k = 0; k < nvar; k++) {
		printf("%-7s", names[k]);
		report("request->main", s[k].to_main, s[k].n);
		report("main->result", s[k].after_main, s[k].n);
		report("total", s[k].total, s[k].n);
		putchar('\n');
	}
	ward_pool_free(zygote);
	ward_pool_free(pool);
	ward_policy_free(py);
	ward_policy_free(p);
	for (int k = 0; k < NVAR; k++) {
		free(s[k].to_main);
		free(s[k].after_main);
		free(s[k].total);
	}
	free(prog);
	return 0;
}
