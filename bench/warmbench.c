/* warmbench — warm start (issue 10): what a request costs from a pool of
 * prepared boxes and from an interpreter zygote, against a fresh box and
 * against the program run bare, interleaved in one run (bench/README.md,
 * "Warm start (issue 10)").
 *
 *   warmbench [--rounds N] [--warmup N] [--burst N] [--pause MS]
 *             [--seconds S] [--tp-rounds N] [--threads N] [--tp-boxes N]
 *             [--hello PATH] [--cgroup auto|off] [--json FILE] [--smoke]
 *             [--sections abcd] [--variants LIST] [--verbose]
 *
 * Latency (sections a, b, d): every round runs, for each payload and each
 * variant in a rotating order, a burst of --burst requests back to back
 * and a burst with --pause ms of sleep (untimed) before each request, so
 * that the pool's refill is on the critical path in the first and off it
 * in the second. Before each burst every pool is refilled (untimed). One
 * request gives two times, from just before the request is made:
 *   first  — the first byte of the program's stdout, read by this process
 *            from a pipe given as the box's stdout (ward_pool_spawn /
 *            ward_spawn served by a ward_box_fd poll loop);
 *   result — the result in hand: ward_box_wait and ward_box_free returned
 *            (what ward_pool_run and ward_run do).
 * Bare is posix_spawn of the program with stdout on a pipe: the first
 * byte, and waitpid.
 *
 * Throughput (section c): --threads threads each loop ward_pool_run /
 * ward_run (bare: posix_spawn + waitpid) of python print(1) for --seconds;
 * requests/s = the requests that exited 0 with the right output over the
 * time from the start until the last thread is done. Variants alternate
 * over --tp-rounds rounds; the median round is reported.
 *
 * --sections picks the sections to run (default all: abcd); --variants
 * the throughput variants (comma-separated: bare,fresh,pooled,zygote).
 * --verbose prints every latency sample with two more times: when
 * ward_box_process said the run was over and when ward_box_wait returned.
 *
 * Every request must exit 0 with the expected stdout, else warmbench
 * exits 1 (what the smoke test, suite 'bench', checks; it asserts no
 * timing). A zygote pool that libward cannot make (-EOPNOTSUPP, before
 * zygotes exist) is reported as skipped, not failed. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ward.h>

#define BENCH_NAME "warmbench"
#define BENCH_DIE_STATUS 1
#include "benchutil.h"

/* The variants of a payload. */
enum kind { BARE, FRESH, POOLED, ZYGOTE, NKINDS };
static const char *const kind_names[NKINDS] = {"bare", "fresh", "pooled", "zygote"};

enum mode { BACK_TO_BACK, PAUSED, NMODES };

#define OUT_MAX 256 /* what a request's stdout may be: more is a failure */

struct samples {
	double *v;
	size_t n, cap;
};

struct cell {
	struct samples first, result;
	unsigned failures;
	uint64_t warm, cold; /* pooled requests served by a ready box / not */
};

struct payload {
	const char *section; /* "a", "b", "d" */
	const char *name;
	char *argv[6];	     /* as the box runs it (argv[0] on the box's PATH) */
	char *bare_argv[6];  /* argv[0] an absolute path */
	const char *expect;  /* the whole stdout */
	ward_policy *policy;
	ward_pool *pool[NKINDS]; /* for POOLED and ZYGOTE */
	const char *skip[NKINDS]; /* why a variant is not run; NULL: it is */
	struct cell cells[NMODES][NKINDS];
};

#define MAX_PAYLOADS 5
static struct payload payloads[MAX_PAYLOADS];
static size_t npayloads;

/* Every pool made, to refill them all between bursts. */
static ward_pool *pools[8];
static size_t npools;

static struct {
	unsigned rounds, warmup, burst, pause_ms, tp_rounds, threads, tp_boxes;
	double seconds;
	enum ward_cgroup cgroup;
	const char *hello, *json, *sections, *variants;
	bool smoke, verbose;
} cfg = {20, 1, 4, 20, 3, 16, 16, 4.0, WARD_CGROUP_AUTO, NULL, NULL, "abcd", NULL, false, false};

/* The bare program's environment: the one the profiles give a box. */
static char *bare_env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8",
			   "PYTHONDONTWRITEBYTECODE=1", NULL};

static const char *zygote_note = "";
static bool have_numpy;
static double load_before, load_after;

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void samples_add(struct samples *s, double v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			die("out of memory");
	}
	s->v[s->n++] = v;
}

/* The p-quantile (0..1) by linear interpolation; sorts s. 0 when empty. */
static double quantile(struct samples *s, double p)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(double), cmp_double);
	return percentile(s->v, s->n, p);
}

/* ---- one request -------------------------------------------------------- */

/* What one request gave: times in ms from the request, its stdout. */
struct outcome {
	double first, result;
	double over, waited; /* a box: ward_box_process said the run is over;
			      * ward_box_wait returned */
	char out[OUT_MAX + 1];
	size_t len;
	bool truncated;
	char why[512]; /* a failure's reason, "" if it ran */
};

/* Reads what is there (nonblocking fd) or until EOF (blocking) into o;
 * the first byte's time. */
static void take_output(int fd, double t0, struct outcome *o)
{
	char buf[512];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (o->first < 0)
			o->first = now_ms() - t0;
		size_t room = OUT_MAX - o->len, k = (size_t)n < room ? (size_t)n : room;
		memcpy(o->out + o->len, buf, k);
		o->len += k;
		o->truncated |= k < (size_t)n;
	}
}

/* posix_spawn of the bare program, stdout on a pipe read here. */
static void request_bare(struct payload *pl, struct outcome *o)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	/* A session of its own, as a box's program has (init.c): with
	 * sched_autogroup (on here) a session is a CPU group of its own, and
	 * on a loaded host a bare program left in warmbench's session would
	 * get a smaller share of the CPU than a boxed one. */
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
	pid_t pid;
	double t0 = now_ms();
	int r = posix_spawn(&pid, pl->bare_argv[0], &fa, &at, pl->bare_argv, bare_env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r) {
		close(p[0]);
		snprintf(o->why, sizeof(o->why), "'%s': %s", pl->bare_argv[0], strerror(r));
		return;
	}
	take_output(p[0], t0, o); /* blocking: until EOF */
	close(p[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	o->result = now_ms() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		snprintf(o->why, sizeof(o->why), "bare %s: wait status 0x%x", pl->name,
			 (unsigned)status);
}

/* A box request (pool spawn or ward_spawn) served by a poll loop on
 * ward_box_fd, stdout on a pipe read here. */
static void request_box(struct payload *pl, enum kind k, struct outcome *o)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		die("pipe: %s", strerror(errno));
	struct ward_options wo = WARD_OPTIONS_INIT;
	wo.stdout_fd = p[1];
	ward_box *b = NULL;
	ward_result *res = NULL;
	double t0 = now_ms();
	int r = k == FRESH ? ward_spawn(pl->policy, pl->argv, &wo, &b)
			   : ward_pool_spawn(pl->pool[k], pl->argv, &wo, &b);
	while (r == 0) {
		struct pollfd pf[2] = {{ward_box_fd(b), POLLIN, 0}, {p[0], POLLIN, 0}};
		if (poll(pf, 2, 100) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		take_output(p[0], t0, o);
		if ((r = ward_box_process(b)) != 0) {
			o->over = now_ms() - t0;
			break;
		}
		take_output(p[0], t0, o);
	}
	if (r >= 0)
		r = ward_box_wait(b, &res);
	o->waited = now_ms() - t0;
	take_output(p[0], t0, o);
	ward_box_free(b);
	o->result = now_ms() - t0;
	close(p[1]);
	take_output(p[0], t0, o);
	close(p[0]);
	if (r < 0)
		snprintf(o->why, sizeof(o->why), "%s %s: %s", kind_names[k], pl->name,
			 strerror(-r));
	else if (ward_result_status(res) != WARD_STATUS_EXITED || ward_result_exit_code(res))
		snprintf(o->why, sizeof(o->why), "%s %s: %s %d: %s%.200s", kind_names[k],
			 pl->name, ward_status_name(ward_result_status(res)),
			 ward_result_exit_status(res), ward_result_message(res),
			 ward_result_stderr(res, NULL));
	ward_result_free(res);
}

/* Runs one request; "" in o->why when it exited 0 with the right output. */
static void request(struct payload *pl, enum kind k, struct outcome *o)
{
	*o = (struct outcome){.first = -1};
	if (k == BARE)
		request_bare(pl, o);
	else
		request_box(pl, k, o);
	o->out[o->len] = 0;
	if (!o->why[0] && (o->truncated || strcmp(o->out, pl->expect)))
		snprintf(o->why, sizeof(o->why), "%s %s: stdout '%.60s', expected '%s'",
			 kind_names[k], pl->name, o->out, pl->expect);
	if (!o->why[0] && o->first < 0 && pl->expect[0])
		snprintf(o->why, sizeof(o->why), "%s %s: no first byte", kind_names[k], pl->name);
}

/* ---- latency ------------------------------------------------------------ */

static void refill_pools(void)
{
	for (size_t i = 0; i < npools; i++)
		if (ward_pool_wait(pools[i]) < 0)
			die("a pool cannot make a box: %s", ward_pool_error(pools[i]));
}

static unsigned failures;
static const char *const mode_names[NMODES] = {"back-to-back", "paused"};

/* One burst of one variant; samples kept unless warming up. */
static void burst(struct payload *pl, enum kind k, enum mode m, bool keep)
{
	struct cell *c = &pl->cells[m][k];
	refill_pools();
	for (unsigned i = 0; i < cfg.burst; i++) {
		if (m == PAUSED)
			sleep_ms(cfg.pause_ms);
		uint64_t w0 = 0, c0 = 0, w1 = 0, c1 = 0;
		if (pl->pool[k])
			ward_pool_stats(pl->pool[k], &w0, &c0);
		struct outcome o;
		request(pl, k, &o);
		if (pl->pool[k])
			ward_pool_stats(pl->pool[k], &w1, &c1);
		if (o.why[0]) {
			fprintf(stderr, "warmbench: %s\n", o.why);
			failures++;
			c->failures++;
			continue;
		}
		if (!keep)
			continue;
		if (cfg.verbose)
			fprintf(stderr, "%s %s %s: first %.2f over %.2f waited %.2f result %.2f\n",
				pl->name, kind_names[k], mode_names[m], o.first, o.over, o.waited,
				o.result);
		samples_add(&c->first, o.first < 0 ? o.result : o.first);
		samples_add(&c->result, o.result);
		c->warm += w1 - w0;
		c->cold += c1 - c0;
	}
}

static void latency(void)
{
	unsigned order = 0;
	for (unsigned r = 0; r < cfg.warmup + cfg.rounds; r++) {
		bool keep = r >= cfg.warmup;
		for (size_t i = 0; i < npayloads; i++) {
			struct payload *pl = &payloads[i];
			for (unsigned j = 0; j < NKINDS * NMODES; j++) {
				/* rotate which variant goes first, round by round */
				unsigned v = (j + order) % (NKINDS * NMODES);
				enum kind k = v % NKINDS;
				if (!pl->skip[k])
					burst(pl, k, v / NKINDS, keep);
			}
			order++;
		}
		if (!cfg.smoke)
			fprintf(stderr, "\rwarmbench: latency round %u/%u", r + 1,
				cfg.warmup + cfg.rounds);
	}
	if (!cfg.smoke)
		fputc('\n', stderr);
}

/* ---- throughput --------------------------------------------------------- */

struct tp_cell {
	struct samples rate, lat;
	unsigned failures;
	uint64_t warm, cold;
	const char *skip;
};

struct tp_thread {
	struct payload *pl;
	enum kind k;
	ward_pool *pool;
	double deadline;
	pthread_barrier_t *start;
	unsigned long ok, failed;
	struct samples lat;
	char why[512];
};

/* One request as an application makes it: ward_pool_run / ward_run with
 * stdout captured; bare as in the latency rows. */
static void tp_request(struct tp_thread *t, struct outcome *o)
{
	if (t->k == BARE) {
		request(t->pl, BARE, o);
		return;
	}
	*o = (struct outcome){.first = -1};
	ward_result *res = NULL;
	double t0 = now_ms();
	int r = t->k == FRESH ? ward_run(t->pl->policy, t->pl->argv, NULL, &res)
			      : ward_pool_run(t->pool, t->pl->argv, NULL, &res);
	o->result = now_ms() - t0;
	if (r < 0) {
		snprintf(o->why, sizeof(o->why), "%s: %s", kind_names[t->k], strerror(-r));
		return;
	}
	const char *out = ward_result_stdout(res, NULL);
	if (ward_result_status(res) != WARD_STATUS_EXITED || ward_result_exit_code(res) ||
	    strcmp(out, t->pl->expect))
		snprintf(o->why, sizeof(o->why), "%s %s: %s %d, stdout '%.60s': %s%.200s",
			 kind_names[t->k], t->pl->name,
			 ward_status_name(ward_result_status(res)), ward_result_exit_status(res),
			 out, ward_result_message(res), ward_result_stderr(res, NULL));
	ward_result_free(res);
}

static void *tp_main(void *arg)
{
	struct tp_thread *t = arg;
	pthread_barrier_wait(t->start);
	while (now_ms() < t->deadline) {
		struct outcome o;
		tp_request(t, &o);
		if (o.why[0]) {
			t->failed++;
			if (!t->why[0])
				snprintf(t->why, sizeof(t->why), "%s", o.why);
			continue;
		}
		t->ok++;
		samples_add(&t->lat, o.result);
	}
	return NULL;
}

/* One round of one variant: requests/s. */
static void tp_round(struct payload *pl, enum kind k, ward_pool *pool, struct tp_cell *c)
{
	struct tp_thread t[64];
	pthread_t th[64];
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, cfg.threads + 1);
	uint64_t w0 = 0, c0 = 0, w1 = 0, c1 = 0;
	if (pool)
		ward_pool_stats(pool, &w0, &c0);
	double deadline = now_ms() + cfg.seconds * 1e3;
	for (unsigned i = 0; i < cfg.threads; i++) {
		t[i] = (struct tp_thread){.pl = pl, .k = k, .pool = pool, .start = &start,
					  .deadline = deadline};
		int r = pthread_create(&th[i], NULL, tp_main, &t[i]);
		if (r)
			die("pthread_create: %s", strerror(r));
	}
	pthread_barrier_wait(&start);
	double t0 = now_ms();
	unsigned long ok = 0;
	for (unsigned i = 0; i < cfg.threads; i++) {
		pthread_join(th[i], NULL);
		ok += t[i].ok;
		c->failures += (unsigned)t[i].failed;
		failures += (unsigned)t[i].failed;
		if (t[i].why[0])
			fprintf(stderr, "warmbench: throughput: %s\n", t[i].why);
		for (size_t j = 0; j < t[i].lat.n; j++)
			samples_add(&c->lat, t[i].lat.v[j]);
		free(t[i].lat.v);
	}
	double elapsed = now_ms() - t0;
	pthread_barrier_destroy(&start);
	if (pool)
		ward_pool_stats(pool, &w1, &c1);
	c->warm += w1 - w0;
	c->cold += c1 - c0;
	if (!ok) {
		fprintf(stderr, "warmbench: throughput: %s: no request completed\n", kind_names[k]);
		failures++;
	}
	samples_add(&c->rate, (double)ok / (elapsed / 1e3));
}

static struct tp_cell tp_cells[NKINDS];

static ward_pool *make_pool(ward_policy *p, unsigned boxes, const char *zygote,
			    const char *const *preload, const char **ret_skip);

static bool want_variant(enum kind k);

static void throughput(struct payload *pl, const char *const *preload)
{
	ward_pool *pool[NKINDS] = {0};
	pool[POOLED] = make_pool(pl->policy, cfg.tp_boxes, NULL, NULL, &tp_cells[POOLED].skip);
	pool[ZYGOTE] = make_pool(pl->policy, cfg.tp_boxes, "python3", preload,
				 &tp_cells[ZYGOTE].skip);
	for (unsigned r = 0; r < cfg.tp_rounds; r++)
		for (unsigned j = 0; j < NKINDS; j++) {
			enum kind k = (j + r) % NKINDS;
			if (tp_cells[k].skip || !want_variant(k))
				continue;
			/* every pool full, none refilling, before a round */
			for (unsigned i = 0; i < NKINDS; i++)
				if (pool[i] && ward_pool_wait(pool[i]) < 0)
					die("a pool cannot make a box: %s",
					    ward_pool_error(pool[i]));
			tp_round(pl, k, pool[k], &tp_cells[k]);
			if (!cfg.smoke)
				fprintf(stderr, "\rwarmbench: throughput round %u/%u",
					r + 1, cfg.tp_rounds);
		}
	if (!cfg.smoke)
		fputc('\n', stderr);
	for (unsigned i = 0; i < NKINDS; i++)
		ward_pool_free(pool[i]);
}

/* ---- setup ---------------------------------------------------------------- */

static ward_policy *profile_policy(const char *profile)
{
	ward_policy *p;
	if (ward_policy_new(&p) < 0)
		die("out of memory");
	if (ward_policy_load_profile(p, profile) < 0)
		die("profile '%s': %s", profile, ward_policy_error(p));
	return p;
}

/* --variants: a comma-separated list of variant names (default all). */
static bool want_variant(enum kind k)
{
	if (!cfg.variants)
		return true;
	size_t n = strlen(kind_names[k]);
	for (const char *v = cfg.variants; v; v = strchr(v, ',') ? strchr(v, ',') + 1 : NULL)
		if (!strncmp(v, kind_names[k], n) && (v[n] == ',' || !v[n]))
			return true;
	return false;
}

static bool want(const char *sections)
{
	return strpbrk(cfg.sections, sections) != NULL;
}

/* A pool, full; NULL with *ret_skip set when libward has no zygote. */
static ward_pool *make_pool(ward_policy *p, unsigned boxes, const char *zygote,
			    const char *const *preload, const char **ret_skip)
{
	struct ward_pool_options po = WARD_POOL_OPTIONS_INIT;
	po.boxes = boxes;
	po.cgroup = cfg.cgroup;
	po.zygote = zygote;
	po.preload = preload;
	ward_pool *pool;
	int r = ward_pool_new(p, &po, &pool);
	if (r == -EOPNOTSUPP && zygote) {
		zygote_note = "no zygote in this libward (ward_pool_new: -EOPNOTSUPP)";
		*ret_skip = zygote_note;
		return NULL;
	}
	if (r < 0)
		die("ward_pool_new%s%s: %s", zygote ? " zygote " : "", zygote ? zygote : "",
		    strerror(-r));
	if (ward_pool_wait(pool) < 0)
		die("a pool cannot make a box: %s", ward_pool_error(pool));
	return pool;
}

static struct payload *add_payload(const char *section, const char *name, ward_policy *p,
				   const char *expect)
{
	/* a section not asked for: filled in and dropped */
	static struct payload unused;
	struct payload *pl = want(section) ? &payloads[npayloads++] : &unused;
	pl->section = section;
	pl->name = name;
	pl->policy = p;
	pl->expect = expect;
	return pl;
}

static void set_argv(char **dst, char *const *src)
{
	for (size_t i = 0; src[i]; i++)
		dst[i] = src[i];
}

static void keep_pool(ward_pool *pool)
{
	if (pool)
		pools[npools++] = pool;
}

static char heavy_code[128], heavy_label[64];
static const char *light_preload[] = {"json", "re", NULL};
static const char *heavy_preload[] = {"json", "re", "decimal", "email", NULL, NULL};

/* Whether the bare python3 imports numpy. */
static bool python_has_numpy(void)
{
	struct payload probe = {.name = "numpy probe", .expect = "",
				.bare_argv = {"/usr/bin/python3", "-c", "import numpy", NULL}};
	struct outcome o;
	request(&probe, BARE, &o);
	return !o.why[0];
}

/* Section c's payload (not a latency row unless section a runs). */
static struct payload tp_payload = {
	.section = "c", .name = "python print(1)", .expect = "1\n",
	.argv = {"python3", "-c", "print(1)", NULL},
	.bare_argv = {"/usr/bin/python3", "-c", "print(1)", NULL},
};

static void setup(ward_policy *py, ward_policy *native)
{
	const char *skip = NULL;
	tp_payload.policy = py;
	ward_pool *py_pool = want("ad") ? make_pool(py, 2, NULL, NULL, &skip) : NULL;
	ward_pool *zy_light = want("a") ? make_pool(py, 2, "python3", light_preload, &skip) : NULL;
	have_numpy = python_has_numpy();
	if (have_numpy)
		heavy_preload[4] = "numpy";
	snprintf(heavy_code, sizeof(heavy_code), "import json, re, decimal, email%s; print(1)",
		 have_numpy ? ", numpy" : "");
	snprintf(heavy_label, sizeof(heavy_label), "python import json,re,decimal,email%s",
		 have_numpy ? ",numpy" : "");
	ward_pool *zy_heavy = want("d") ? make_pool(py, 2, "python3", heavy_preload, &skip) : NULL;
	ward_pool *nat_pool = want("b") ? make_pool(native, 2, NULL, NULL, &skip) : NULL;
	keep_pool(py_pool);
	keep_pool(zy_light);
	keep_pool(zy_heavy);
	keep_pool(nat_pool);

	struct payload *pl = add_payload("a", "python print(1)", py, "1\n");
	set_argv(pl->argv, tp_payload.argv);
	set_argv(pl->bare_argv, tp_payload.bare_argv);
	pl->pool[POOLED] = py_pool;
	pl->pool[ZYGOTE] = zy_light;
	pl->skip[ZYGOTE] = zy_light ? NULL : zygote_note;

	pl = add_payload("b", "/bin/true", native, "");
	set_argv(pl->argv, (char *[]){"/bin/true", NULL});
	set_argv(pl->bare_argv, (char *[]){"/bin/true", NULL});
	pl->pool[POOLED] = nat_pool;
	pl->skip[ZYGOTE] = "not an interpreter";

	if (cfg.hello) {
		pl = add_payload("b", "static hello", native, "hello\n");
		set_argv(pl->argv, (char *[]){(char *)cfg.hello, NULL});
		set_argv(pl->bare_argv, (char *[]){(char *)cfg.hello, NULL});
		pl->pool[POOLED] = nat_pool;
		pl->skip[ZYGOTE] = "not an interpreter";
	}

	pl = add_payload("d", heavy_label, py, "1\n");
	set_argv(pl->argv, (char *[]){"python3", "-c", heavy_code, NULL});
	set_argv(pl->bare_argv, (char *[]){"/usr/bin/python3", "-c", heavy_code, NULL});
	pl->pool[POOLED] = py_pool;
	pl->pool[ZYGOTE] = zy_heavy;
	pl->skip[ZYGOTE] = zy_heavy ? NULL : zygote_note;
}

/* ---- report --------------------------------------------------------------- */

struct stat4 {
	double first_med, first_p90, res_med, res_p90;
};

static struct stat4 cell_stat(struct cell *c)
{
	return (struct stat4){quantile(&c->first, 0.5), quantile(&c->first, 0.9),
			      quantile(&c->result, 0.5), quantile(&c->result, 0.9)};
}

static void print_table(void)
{
	printf("warmbench: %u rounds x burst %u (+%u warm-up), pause %u ms, cgroup %s, "
	       "load %.2f -> %.2f\n",
	       cfg.rounds, cfg.burst, cfg.warmup, cfg.pause_ms,
	       cfg.cgroup == WARD_CGROUP_OFF ? "off" : "auto", load_before, load_after);
	printf("times in ms from the request: median / p90; ratio = result median / bare's\n");
	for (size_t i = 0; i < npayloads; i++) {
		struct payload *pl = &payloads[i];
		for (unsigned m = 0; m < NMODES; m++) {
			printf("\n(%s) %s, %s%s\n", pl->section, pl->name, mode_names[m],
			       m == PAUSED ? " (pause before each)" : "");
			printf("  %-7s %17s %17s %7s %s\n", "variant", "first output",
			       "result", "ratio", "warm/cold");
			double bare = quantile(&pl->cells[m][BARE].result, 0.5);
			for (unsigned k = 0; k < NKINDS; k++) {
				struct cell *c = &pl->cells[m][k];
				if (pl->skip[k]) {
					if (k == ZYGOTE && pl->skip[k] == zygote_note)
						printf("  %-7s skipped: %s\n", kind_names[k],
						       pl->skip[k]);
					continue;
				}
				struct stat4 s = cell_stat(c);
				printf("  %-7s %8.2f / %6.2f %8.2f / %6.2f %6.3fx", kind_names[k],
				       s.first_med, s.first_p90, s.res_med, s.res_p90,
				       bare > 0 ? s.res_med / bare : 0);
				if (k == POOLED || k == ZYGOTE)
					printf(" %llu/%llu", (unsigned long long)c->warm,
					       (unsigned long long)c->cold);
				if (c->failures)
					printf(" (%u failed)", c->failures);
				putchar('\n');
			}
		}
	}
	printf("\n(c) python print(1), %u concurrent requests, %.1f s x %u rounds: "
	       "requests/s (median round), latency median / p90 ms\n",
	       cfg.threads, cfg.seconds, cfg.tp_rounds);
	for (unsigned k = 0; k < NKINDS; k++) {
		struct tp_cell *c = &tp_cells[k];
		if (c->skip) {
			printf("  %-7s skipped: %s\n", kind_names[k], c->skip);
			continue;
		}
		printf("  %-7s %8.1f req/s %8.1f / %7.1f", kind_names[k], quantile(&c->rate, 0.5),
		       quantile(&c->lat, 0.5), quantile(&c->lat, 0.9));
		if (k == POOLED || k == ZYGOTE)
			printf("  warm/cold %llu/%llu", (unsigned long long)c->warm,
			       (unsigned long long)c->cold);
		if (c->failures)
			printf(" (%u failed)", c->failures);
		putchar('\n');
	}
}

static struct payload *find_payload(const char *name)
{
	for (size_t i = 0; i < npayloads; i++)
		if (!strcmp(payloads[i].name, name))
			return &payloads[i];
	return NULL;
}

/* The ratio of variant k's result median to bare's (0 when not run). */
static double ratio(struct payload *pl, enum mode m, enum kind k)
{
	if (!pl || pl->skip[k])
		return 0;
	double bare = quantile(&pl->cells[m][BARE].result, 0.5);
	return bare > 0 ? quantile(&pl->cells[m][k].result, 0.5) / bare : 0;
}

/* The same for the first byte of output (the "request -> first
 * output"). */
static double ratio_first(struct payload *pl, enum mode m, enum kind k)
{
	if (!pl || pl->skip[k])
		return 0;
	double bare = quantile(&pl->cells[m][BARE].first, 0.5);
	return bare > 0 ? quantile(&pl->cells[m][k].first, 0.5) / bare : 0;
}

static const char *verdict(bool run, bool met)
{
	return !run ? "not measured" : met ? "met" : "not met";
}

static void goals(FILE *f, bool json)
{
	struct payload *py = find_payload("python print(1)");
	struct payload *tr = find_payload("/bin/true"), *he = find_payload("static hello");
	double z[NMODES], zf[NMODES], t[NMODES], h[NMODES];
	for (unsigned m = 0; m < NMODES; m++) {
		z[m] = ratio(py, m, ZYGOTE);
		zf[m] = ratio_first(py, m, ZYGOTE);
		t[m] = ratio(tr, m, POOLED);
		h[m] = ratio(he, m, POOLED);
	}
	double rate = tp_cells[ZYGOTE].skip ? 0 : quantile(&tp_cells[ZYGOTE].rate, 0.5);
	if (json) {
		fprintf(f, "\"goals\":{\"zygote_over_bare_paused\":%.4f,"
			   "\"zygote_over_bare_back_to_back\":%.4f,\"zygote_le_0.1x\":\"%s\","
			   "\"zygote_first_over_bare_paused\":%.4f,"
			   "\"zygote_first_over_bare_back_to_back\":%.4f,"
			   "\"zygote_first_le_0.1x\":\"%s\","
			   "\"zygote_req_per_s\":%.1f,\"zygote_ge_300_req_per_s\":\"%s\","
			   "\"pooled_true_over_bare_paused\":%.4f,"
			   "\"pooled_true_over_bare_back_to_back\":%.4f,"
			   "\"pooled_hello_over_bare_paused\":%.4f,"
			   "\"pooled_hello_over_bare_back_to_back\":%.4f,"
			   "\"pooled_native_le_1.2x\":\"%s\"}",
			z[PAUSED], z[BACK_TO_BACK], verdict(z[PAUSED] > 0, z[PAUSED] <= 0.1),
			zf[PAUSED], zf[BACK_TO_BACK], verdict(zf[PAUSED] > 0, zf[PAUSED] <= 0.1), rate,
			verdict(rate > 0, rate >= 300), t[PAUSED], t[BACK_TO_BACK], h[PAUSED],
			h[BACK_TO_BACK], verdict(t[PAUSED] > 0, t[PAUSED] <= 1.2 && h[PAUSED] <= 1.2));
		return;
	}
	fprintf(f, "\ngoals (result medians, paused rows; back-to-back in brackets):\n");
	fprintf(f, "  zygote python print(1) <= 0.1x bare: %.3fx [%.3fx]: %s\n", z[PAUSED],
		z[BACK_TO_BACK], verdict(z[PAUSED] > 0, z[PAUSED] <= 0.1));
	fprintf(f, "    by first output: %.3fx [%.3fx]: %s\n", zf[PAUSED], zf[BACK_TO_BACK],
		verdict(zf[PAUSED] > 0, zf[PAUSED] <= 0.1));
	fprintf(f, "  zygote >= 300 req/s at %u concurrent: %.1f: %s\n", cfg.threads, rate,
		verdict(rate > 0, rate >= 300));
	fprintf(f, "  pooled native <= 1.2x bare: /bin/true %.3fx [%.3fx], static hello %.3fx "
		   "[%.3fx]: %s\n",
		t[PAUSED], t[BACK_TO_BACK], h[PAUSED], h[BACK_TO_BACK],
		verdict(t[PAUSED] > 0, t[PAUSED] <= 1.2 && (!he || h[PAUSED] <= 1.2)));
}

static void print_json(FILE *f)
{
	fprintf(f, "{\"bench\":\"warm\",\"rounds\":%u,\"warmup\":%u,\"burst\":%u,"
		   "\"pause_ms\":%u,\"cgroup\":\"%s\",\"numpy\":%s,"
		   "\"loadavg_before\":%.2f,\"loadavg_after\":%.2f,\"latency\":[",
		cfg.rounds, cfg.warmup, cfg.burst, cfg.pause_ms,
		cfg.cgroup == WARD_CGROUP_OFF ? "off" : "auto", have_numpy ? "true" : "false",
		load_before, load_after);
	bool comma = false;
	for (size_t i = 0; i < npayloads; i++) {
		struct payload *pl = &payloads[i];
		for (unsigned m = 0; m < NMODES; m++) {
			fprintf(f, "%s{\"section\":\"%s\",\"payload\":", comma ? "," : "",
				pl->section);
			comma = true;
			put_json_string(f, pl->name);
			fprintf(f, ",\"mode\":\"%s\",\"variants\":{", mode_names[m]);
			bool vcomma = false;
			for (unsigned k = 0; k < NKINDS; k++) {
				struct cell *c = &pl->cells[m][k];
				if (pl->skip[k] && pl->skip[k] != zygote_note)
					continue;
				fprintf(f, "%s\"%s\":", vcomma ? "," : "", kind_names[k]);
				vcomma = true;
				if (pl->skip[k]) {
					fprintf(f, "{\"skipped\":");
					put_json_string(f, pl->skip[k]);
					fputc('}', f);
					continue;
				}
				struct stat4 s = cell_stat(c);
				fprintf(f, "{\"first_median_ms\":%.4f,\"first_p90_ms\":%.4f,"
					   "\"result_median_ms\":%.4f,\"result_p90_ms\":%.4f,"
					   "\"ratio\":%.4f,\"samples\":%zu,\"failures\":%u",
					s.first_med, s.first_p90, s.res_med, s.res_p90,
					ratio(pl, m, k), c->result.n, c->failures);
				if (k == POOLED || k == ZYGOTE)
					fprintf(f, ",\"warm\":%llu,\"cold\":%llu",
						(unsigned long long)c->warm,
						(unsigned long long)c->cold);
				fputc('}', f);
			}
			fprintf(f, "}}");
		}
	}
	fprintf(f, "],\"throughput\":{\"payload\":\"python print(1)\",\"threads\":%u,"
		   "\"seconds\":%.2f,\"rounds\":%u,\"variants\":{",
		cfg.threads, cfg.seconds, cfg.tp_rounds);
	for (unsigned k = 0; k < NKINDS; k++) {
		struct tp_cell *c = &tp_cells[k];
		fprintf(f, "%s\"%s\":", k ? "," : "", kind_names[k]);
		if (c->skip) {
			fprintf(f, "{\"skipped\":");
			put_json_string(f, c->skip);
			fputc('}', f);
			continue;
		}
		fprintf(f, "{\"requests_per_s\":%.1f,\"latency_median_ms\":%.3f,"
			   "\"latency_p90_ms\":%.3f,\"requests\":%zu,\"failures\":%u",
			quantile(&c->rate, 0.5), quantile(&c->lat, 0.5), quantile(&c->lat, 0.9),
			c->lat.n, c->failures);
		if (k == POOLED || k == ZYGOTE)
			fprintf(f, ",\"warm\":%llu,\"cold\":%llu", (unsigned long long)c->warm,
				(unsigned long long)c->cold);
		fputc('}', f);
	}
	fprintf(f, "}},");
	goals(f, true);
	fprintf(f, "}\n");
}

/* ---- main ------------------------------------------------------------------ */

static unsigned number(const char *opt, const char *s, unsigned lo, unsigned hi)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		die("--%s: '%s' is not a number from %u to %u", opt, s, lo, hi);
	return (unsigned)v;
}

static void usage(void)
{
	fputs("usage: warmbench [--rounds N] [--warmup N] [--burst N] [--pause MS]\n"
	      "                 [--seconds S] [--tp-rounds N] [--threads N] [--tp-boxes N]\n"
	      "                 [--hello PATH] [--cgroup auto|off] [--json FILE] [--smoke]\n"
	      "                 [--sections abcd] [--variants LIST] [--verbose]\n",
	      stderr);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{"rounds", required_argument, NULL, 'r'},
		{"warmup", required_argument, NULL, 'w'},
		{"burst", required_argument, NULL, 'b'},
		{"pause", required_argument, NULL, 'p'},
		{"seconds", required_argument, NULL, 's'},
		{"tp-rounds", required_argument, NULL, 'R'},
		{"threads", required_argument, NULL, 't'},
		{"tp-boxes", required_argument, NULL, 'B'},
		{"hello", required_argument, NULL, 'H'},
		{"cgroup", required_argument, NULL, 'c'},
		{"json", required_argument, NULL, 'j'},
		{"smoke", no_argument, NULL, 'S'},
		{"verbose", no_argument, NULL, 'v'},
		{"sections", required_argument, NULL, 'x'},
		{"variants", required_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': cfg.rounds = number("rounds", optarg, 1, 100000); break;
		case 'w': cfg.warmup = number("warmup", optarg, 0, 1000); break;
		case 'b': cfg.burst = number("burst", optarg, 1, 1000); break;
		case 'p': cfg.pause_ms = number("pause", optarg, 0, 10000); break;
		case 's': cfg.seconds = number("seconds", optarg, 1, 3600); break;
		case 'R': cfg.tp_rounds = number("tp-rounds", optarg, 1, 1000); break;
		case 't': cfg.threads = number("threads", optarg, 1, 64); break;
		case 'B': cfg.tp_boxes = number("tp-boxes", optarg, 1, 64); break;
		case 'H': cfg.hello = optarg; break;
		case 'c':
			if (!strcmp(optarg, "off"))
				cfg.cgroup = WARD_CGROUP_OFF;
			else if (strcmp(optarg, "auto"))
				die("--cgroup: '%s' is not auto or off", optarg);
			break;
		case 'j': cfg.json = optarg; break;
		case 'v': cfg.verbose = true; break;
		case 'x':
			if (!*optarg || strspn(optarg, "abcd") != strlen(optarg))
				die("--sections: '%s' is not letters from abcd", optarg);
			cfg.sections = optarg;
			break;
		case 'V': cfg.variants = optarg; break;
		case 'S':
			/* every variant runs and is checked; no timing asserted */
			cfg.smoke = true;
			cfg.rounds = 1;
			cfg.warmup = 0;
			cfg.burst = 2;
			cfg.tp_rounds = 1;
			cfg.seconds = 1;
			cfg.threads = 4;
			cfg.tp_boxes = 2;
			break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	ward_policy *py = profile_policy("python3"), *native = profile_policy("native");
	/* the static hello is seen in the box at its own path, read-only */
	char *hello = cfg.hello ? realpath(cfg.hello, NULL) : NULL;
	if (cfg.hello && !hello)
		die("'%s': %s", cfg.hello, strerror(errno));
	cfg.hello = hello;
	if (hello && ward_policy_grant_ro(native, hello, NULL) < 0)
		die("'%s': %s", cfg.hello, ward_policy_error(native));
	load_before = loadavg();
	setup(py, native);
	latency();
	for (size_t i = 0; i < npools; i++)
		ward_pool_free(pools[i]);
	npools = 0;
	for (size_t i = 0; i < npayloads; i++)
		memset(payloads[i].pool, 0, sizeof(payloads[i].pool));
	if (want("c"))
		throughput(&tp_payload, light_preload);
	else
		for (unsigned k = 0; k < NKINDS; k++)
			tp_cells[k].skip = "not run (--sections)";
	load_after = loadavg();
	print_table();
	goals(stdout, false);
	print_json(stdout);
	if (cfg.json) {
		FILE *f = fopen(cfg.json, "we");
		if (!f)
			die("'%s': %s", cfg.json, strerror(errno));
		print_json(f);
		if (fclose(f))
			die("'%s': %s", cfg.json, strerror(errno));
	}
	ward_policy_free(py);
	ward_policy_free(native);
	free(hello);
	if (failures)
		fprintf(stderr, "warmbench: %u requests failed\n", failures);
	return failures ? 1 : 0;
}
