/* test-pool.c — warm pools through the public API (ward_pool_*), as root
 * and as uid 65534: a request's argv, variables, files and stdin reach the
 * box; files go only onto the box's own tmpfs; one box serves one request,
 * so two requests never share /tmp, a process or a pid namespace, one
 * after the other or at the same time; a pool refuses read-write grants;
 * the pool refills; limits hold; freeing the pool leaves no process. Also
 * variables and files for a fresh box (ward_spawn). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ward.h"

static ward_policy *sh_policy(void)
{
	ward_policy *p = NULL;
	CHECK_INT(ward_policy_new(&p), 0);
	CHECK_INT(ward_policy_load_profile(p, "sh"), 0);
	return p;
}

static ward_pool *new_pool(ward_policy *p, unsigned boxes)
{
	struct ward_pool_options po = WARD_POOL_OPTIONS_INIT;
	po.boxes = boxes;
	ward_pool *pool = NULL;
	CHECK_INT(ward_pool_new(p, &po, &pool), 0);
	CHECK(pool != NULL);
	if (pool && ward_pool_wait(pool) < 0)
		printf("# pool error: %s\n", ward_pool_error(pool));
	return pool;
}

/* Runs `sh -c script` from the pool; returns the result (caller frees). */
static ward_result *pool_sh(ward_pool *pool, const char *script, const struct ward_options *o)
{
	char *argv[] = {"sh", "-c", (char *)script, NULL};
	ward_result *r = NULL;
	CHECK_INT(ward_pool_run(pool, argv, o, &r), 0);
	CHECK(r != NULL);
	return r;
}

/* The number of processes whose parent is this process. */
static int children(void)
{
	char want[32];
	snprintf(want, sizeof(want), "%d", (int)getpid());
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[300], buf[512];
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			const char *close_paren = strrchr(buf, ')');
			int ppid = 0;
			if (close_paren && sscanf(close_paren + 2, "%*c %d", &ppid) == 1 &&
			    ppid == getpid())
				n++;
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	(void)want;
	return n;
}

static void test_request_reaches_box(void)
{
	ward_policy *p = sh_policy();
	ward_pool *pool = new_pool(p, 2);
	CHECK_INT(ward_pool_ready(pool), 2);
	char *env[] = {"GREETING=hello", "HOME=/elsewhere", NULL};
	struct ward_file files[] = {
		{.path = "/tmp/in/a.txt", .data = "file-a\n", .len = 7, .mode = 0600},
		{.path = "/tmp/run.sh", .data = "echo script $1\n", .len = 15, .mode = 0755},
	};
	struct ward_options o = WARD_OPTIONS_INIT;
	o.env = env;
	o.files = files;
	o.n_files = 2;
	o.stdin_data = "from-stdin";
	o.stdin_len = 10;
	ward_result *r = pool_sh(pool, "echo $GREETING $HOME; cat /tmp/in/a.txt; "
				       "stat -c %a /tmp/in/a.txt /tmp/run.sh; /tmp/run.sh arg; cat; "
				       "exit 7", &o);
	CHECK_INT(ward_result_status(r), WARD_STATUS_EXITED);
	CHECK_INT(ward_result_exit_code(r), 7);
	CHECK_STR(ward_result_stdout(r, NULL),
		  "hello /elsewhere\nfile-a\n600\n755\nscript arg\nfrom-stdin");
	printf("# stderr: %s\n", ward_result_stderr(r, NULL));
	ward_result_free(r);
	uint64_t warm = 0, cold = 0;
	ward_pool_stats(pool, &warm, &cold);
	CHECK_U64(warm, 1);
	CHECK_U64(cold, 0);
	ward_pool_free(pool);
	ward_policy_free(p);
}

static void test_files_only_on_box_tmpfs(void)
{
	ward_policy *p = sh_policy();
	ward_pool *pool = new_pool(p, 1);
	/* Read-only system directory: refused, the program never runs. */
	struct ward_file ro = {.path = "/usr/planted", .data = "x", .len = 1, .mode = 0644};
	struct ward_options o = WARD_OPTIONS_INIT;
	o.files = &ro;
	o.n_files = 1;
	ward_result *r = pool_sh(pool, "echo ran", &o);
	CHECK_INT(ward_result_status(r), WARD_STATUS_SETUP_ERROR);
	CHECK(strstr(ward_result_message(r), "/usr/planted") != NULL);
	CHECK_STR(ward_result_stdout(r, NULL), "");
	ward_result_free(r);
	/* /proc is no tmpfs. */
	struct ward_file proc = {.path = "/proc/self/x", .data = "x", .len = 1, .mode = 0644};
	o.files = &proc;
	r = pool_sh(pool, "echo ran", &o);
	CHECK_INT(ward_result_status(r), WARD_STATUS_SETUP_ERROR);
	ward_result_free(r);
	/* Names: refused before any box is touched. */
	const char *bad[] = {"../x", "/tmp/../etc/x", "/tmp/./x", "", "/tmp/x/", "/tmp/a\nb"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ward_file f = {.path = bad[i], .data = "x", .len = 1, .mode = 0644};
		o.files = &f;
		char *argv[] = {"true", NULL};
		ward_result *res = NULL;
		CHECK_INT(ward_pool_run(pool, argv, &o, &res), -EINVAL);
		CHECK(res == NULL);
	}
	struct ward_file mode = {.path = "/tmp/x", .data = "x", .len = 1, .mode = 04755};
	o.files = &mode;
	char *argv[] = {"true", NULL};
	CHECK_INT(ward_pool_run(pool, argv, &o, &r), -EINVAL);
	/* Two files of one name: the second is refused (new files only). */
	struct ward_file twice[] = {{.path = "/tmp/d", .data = "1", .len = 1, .mode = 0644},
				    {.path = "/tmp/d", .data = "2", .len = 1, .mode = 0644}};
	o.files = twice;
	o.n_files = 2;
	r = pool_sh(pool, "cat /tmp/d", &o);
	CHECK_INT(ward_result_status(r), WARD_STATUS_SETUP_ERROR);
	CHECK(strstr(ward_result_message(r), "exists") != NULL);
	ward_result_free(r);
	ward_pool_free(pool);
	ward_policy_free(p);
}

/* One box, one request: what a request leaves in /tmp, in its processes
 * or in its pid namespace is gone for the next. */
static void test_requests_share_nothing(void)
{
	ward_policy *p = sh_policy();
	ward_pool *pool = new_pool(p, 2);
	struct ward_file f = {.path = "/tmp/secret", .data = "s3cret", .len = 6, .mode = 0600};
	struct ward_options o = WARD_OPTIONS_INIT;
	o.files = &f;
	o.n_files = 1;
	ward_result *r = pool_sh(pool, "echo left-behind > /tmp/mine; (sleep 30 &) ; "
				       "echo $$", &o);
	CHECK_INT(ward_result_status(r), WARD_STATUS_EXITED);
	CHECK_STR(ward_result_stdout(r, NULL), "2\n"); /* init is 1 in its own pid namespace */
	ward_result_free(r);
	r = pool_sh(pool, "ls -A /tmp; cat /proc/[0-9]*/comm", NULL);
	CHECK_INT(ward_result_status(r), WARD_STATUS_EXITED);
	const char *out = ward_result_stdout(r, NULL);
	CHECK(strstr(out, "secret") == NULL);
	CHECK(strstr(out, "mine") == NULL);
	CHECK(strstr(out, "sleep") == NULL); /* the first request's sleep is not here */
	printf("# second request sees: %s", out);
	ward_result_free(r);
	ward_pool_free(pool);
	ward_policy_free(p);
}

struct worker {
	ward_pool *pool;
	int id, ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 6; i++) {
		char script[200], want[64];
		snprintf(want, sizeof(want), "w%d-%d\n", w->id, i);
		snprintf(script, sizeof(script),
			 "ls /tmp | grep -q . && echo dirty; echo %s > /tmp/f; cat /tmp/f", want);
		char *argv[] = {"sh", "-c", script, NULL};
		ward_result *r = NULL;
		if (ward_pool_run(w->pool, argv, NULL, &r) == 0 &&
		    ward_result_status(r) == WARD_STATUS_EXITED &&
		    !strncmp(ward_result_stdout(r, NULL), want, strlen(want) - 1))
			w->ok++;
		else if (r)
			printf("# worker %d: '%s' '%s'\n", w->id, ward_result_stdout(r, NULL),
			       ward_result_message(r));
		ward_result_free(r);
	}
	return NULL;
}

static void test_concurrent_requests(void)
{
	ward_policy *p = sh_policy();
	ward_pool *pool = new_pool(p, 3);
	pthread_t t[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){.pool = pool, .id = i};
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(w[i].ok, 6);
	}
	uint64_t warm = 0, cold = 0;
	ward_pool_stats(pool, &warm, &cold);
	CHECK_U64(warm + cold, 24);
	printf("# warm %llu, cold %llu\n", (unsigned long long)warm, (unsigned long long)cold);
	ward_pool_free(pool);
	CHECK_INT(children(), 0);
	ward_policy_free(p);
}

/* ward_pool_ready once it is n, or after 10 s. */
static unsigned ready_within(ward_pool *pool, unsigned n)
{
	for (int i = 0; i < 1000 && ward_pool_ready(pool) != n; i++)
		usleep(10000);
	return ward_pool_ready(pool);
}

/* While a request runs, the pool builds no box beside it while it has
 * one ready (two vCPUs: the build would slow the request down); it
 * refills once the request is complete, and at once when the request
 * took its last box. */
static void test_refill_timing(void)
{
	ward_policy *p = sh_policy();
	for (unsigned boxes = 1; boxes <= 2; boxes++) {
		ward_pool *pool = new_pool(p, boxes);
		CHECK_INT(ward_pool_ready(pool), (int)boxes);
		int in[2];
		CHECK_INT(pipe(in), 0);
		struct ward_options o = WARD_OPTIONS_INIT;
		o.stdin_fd = in[0];
		char *argv[] = {"sh", "-c", "read x; echo got $x", NULL};
		ward_box *b = NULL;
		CHECK_INT(ward_pool_spawn(pool, argv, &o, &b), 0);
		if (boxes == 2) {
			/* Time enough for a box to be built, were it. */
			usleep(300000);
			CHECK_INT(ward_pool_ready(pool), 1);
		} else {
			CHECK_INT(ready_within(pool, 1), 1);
		}
		CHECK_INT(write(in[1], "go\n", 3), 3);
		close(in[1]);
		ward_result *r = NULL;
		CHECK_INT(ward_box_wait(b, &r), 0);
		CHECK_STR(ward_result_stdout(r, NULL), "got go\n");
		ward_result_free(r);
		ward_box_free(b);
		close(in[0]); /* the box's stdin: the caller's until the end */
		CHECK_INT(ready_within(pool, boxes), (int)boxes);
		ward_pool_free(pool);
	}
	CHECK_INT(children(), 0);
	ward_policy_free(p);
}

static void test_limits_hold(void)
{
	ward_policy *p = sh_policy();
	CHECK_INT(ward_policy_set_limit(p, WARD_LIMIT_WALL_TIME, 300), 0);
	ward_pool *pool = new_pool(p, 1);
	/* Waiting in the pool is not the run's time: the limit counts from
	 * the request. */
	usleep(400 * 1000);
	ward_result *r = pool_sh(pool, "echo quick", NULL);
	CHECK_INT(ward_result_status(r), WARD_STATUS_EXITED);
	ward_result_free(r);
	r = pool_sh(pool, "sleep 5", NULL);
	CHECK_INT(ward_result_status(r), WARD_STATUS_TIME_LIMIT);
	ward_result_free(r);
	ward_pool_free(pool);
	ward_policy_free(p);
}

static void test_pool_refusals(void)
{
	ward_policy *p = sh_policy();
	ward_pool *pool = NULL;
	struct ward_pool_options po = WARD_POOL_OPTIONS_INIT;
	po.boxes = 65;
	CHECK_INT(ward_pool_new(p, &po, &pool), -EINVAL);
	CHECK_INT(ward_pool_new(NULL, NULL, &pool), -EINVAL);
	pool = new_pool(p, 1);
	struct ward_options o = WARD_OPTIONS_INIT;
	o.expose_cwd = true;
	char *argv[] = {"true", NULL};
	ward_result *r = NULL;
	CHECK_INT(ward_pool_run(pool, argv, &o, &r), -EINVAL);
	ward_pool_free(NULL);
	ward_pool_free(pool);
	ward_policy_free(p);
}

/* A box that cannot be built: the pool says why. */
static void test_pool_error(void)
{
	ward_policy *p = sh_policy();
	CHECK_INT(ward_policy_set_cwd(p, "/no/such/dir"), 0);
	struct ward_pool_options po = WARD_POOL_OPTIONS_INIT;
	po.boxes = 1;
	ward_pool *pool = NULL;
	CHECK_INT(ward_pool_new(p, &po, &pool), 0);
	CHECK_INT(ward_pool_wait(pool), -EIO);
	CHECK(strstr(ward_pool_error(pool), "/no/such/dir") != NULL);
	printf("# %s\n", ward_pool_error(pool));
	char *argv[] = {"true", NULL};
	ward_result *r = NULL;
	CHECK_INT(ward_pool_run(pool, argv, NULL, &r), 0);
	CHECK_INT(ward_result_status(r), WARD_STATUS_SETUP_ERROR);
	ward_result_free(r);
	ward_pool_free(pool);
	ward_policy_free(p);
}

static void test_fresh_box_with_files(void)
{
	ward_policy *p = sh_policy();
	char *env[] = {"V=1", NULL};
	struct ward_file f = {.path = "/tmp/x", .data = "fresh", .len = 5, .mode = 0644};
	struct ward_options o = WARD_OPTIONS_INIT;
	o.env = env;
	o.files = &f;
	o.n_files = 1;
	char *argv[] = {"sh", "-c", "echo $V; cat /tmp/x", NULL};
	ward_result *r = NULL;
	CHECK_INT(ward_run(p, argv, &o, &r), 0);
	CHECK_INT(ward_result_status(r), WARD_STATUS_EXITED);
	CHECK_STR(ward_result_stdout(r, NULL), "1\nfresh");
	ward_result_free(r);
	char *bad_env[] = {"NOEQUALS", NULL};
	o.env = bad_env;
	CHECK_INT(ward_run(p, argv, &o, &r), -EINVAL);
	ward_policy_free(p);
}

/* ---- zygotes ---- */

/* A sanitizer build's libward cannot be loaded into python (the ASan
 * runtime must come first): its zygote fails to start, which
 * test_zygote_errors' plain-box fallback covers; the rest is skipped. */
#if defined(__SANITIZE_ADDRESS__)
#define ZYGOTE_SKIP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZYGOTE_SKIP 1
#endif
#endif
#ifndef ZYGOTE_SKIP
#define ZYGOTE_SKIP 0
#endif
#define SKIP_UNDER_ASAN()                                                      \
	do {                                                                   \
		if (ZYGOTE_SKIP) {                                             \
			printf("# skipped: a sanitizer build has no zygote\n"); \
			return;                                                \
		}                                                              \
	} while (0)

static ward_pool *zygote_pool(ward_policy **ret_p, const char *const *preload, unsigned boxes)
{
	ward_policy *p = NULL;
	CHECK_INT(ward_policy_new(&p), 0);
	CHECK_INT(ward_policy_load_profile(p, "python3"), 0);
	struct ward_pool_options po = WARD_POOL_OPTIONS_INIT;
	po.boxes = boxes;
	po.zygote = "python3";
	po.preload = preload;
	ward_pool *pool = NULL;
	CHECK_INT(ward_pool_new(p, &po, &pool), 0);
	int r = ward_pool_wait(pool);
	if (r < 0)
		printf("# zygote pool: %s\n", ward_pool_error(pool));
	CHECK_INT(r, 0);
	*ret_p = p;
	return pool;
}

static ward_result *py(ward_pool *pool, char **argv, const struct ward_options *o)
{
	ward_result *r = NULL;
	CHECK_INT(ward_pool_run(pool, argv, o, &r), 0);
	if (r && ward_result_status(r) != WARD_STATUS_EXITED)
		printf("# status %d: %s / %s\n", ward_result_status(r), ward_result_message(r),
		       ward_result_stderr(r, NULL));
	return r;
}

static void test_zygote_runs_python(void)
{
	SKIP_UNDER_ASAN();
	ward_policy *p;
	const char *preload[] = {"json", "decimal", NULL};
	ward_pool *pool = zygote_pool(&p, preload, 2);
	/* -c: the preload is there (this is the zygote's interpreter, not a
	 * fresh one), argv and the environment are the request's. */
	char *env[] = {"ANSWER=42", NULL};
	struct ward_options o = WARD_OPTIONS_INIT;
	o.env = env;
	char *c[] = {"python3", "-c",
		     "import sys, os; print('json' in sys.modules, 'decimal' in sys.modules, "
		     "sys.argv, os.environ['ANSWER'], os.getpid(), os.getcwd())", "x", NULL};
	ward_result *r = py(pool, c, &o);
	CHECK_STR(ward_result_stdout(r, NULL), "True True ['-c', 'x'] 42 2 /\n");
	ward_result_free(r);
	/* A script file given with the request, with arguments. */
	struct ward_file f[] = {
		{.path = "/tmp/main.py", .mode = 0644,
		 .data = "import sys\nprint(sys.argv, __name__, __file__, sys.path[0])\n"
			 "def f():\n    raise ValueError('boom')\nf()\n"},
		{.path = "/tmp/pkg/__main__.py", .mode = 0644, .data = "print('package')\n"},
	};
	f[0].len = strlen(f[0].data);
	f[1].len = strlen(f[1].data);
	o = (struct ward_options)WARD_OPTIONS_INIT;
	o.files = f;
	o.n_files = 2;
	char *file[] = {"python3", "/tmp/main.py", "a", "b", NULL};
	r = py(pool, file, &o);
	CHECK_STR(ward_result_stdout(r, NULL), "['/tmp/main.py', 'a', 'b'] __main__ /tmp/main.py /tmp\n");
	CHECK_STR(ward_result_stderr(r, NULL),
		  "Traceback (most recent call last):\n"
		  "  File \"/tmp/main.py\", line 5, in <module>\n"
		  "    f()\n"
		  "  File \"/tmp/main.py\", line 4, in f\n"
		  "    raise ValueError('boom')\n"
		  "ValueError: boom\n");
	ward_result_free(r);
	/* A directory with a __main__.py (runpy's way), and a file that is
	 * not there: python's message and status 2. */
	char *dir[] = {"python3", "/tmp/pkg", NULL};
	r = py(pool, dir, &o);
	CHECK_STR(ward_result_stdout(r, NULL), "package\n");
	ward_result_free(r);
	char *none[] = {"python3", "/tmp/none.py", NULL};
	r = py(pool, none, NULL);
	CHECK_INT(ward_result_exit_code(r), 2);
	CHECK_STR(ward_result_stderr(r, NULL),
		  "python3: can't open file '/tmp/none.py': [Errno 2] No such file or directory\n");
	ward_result_free(r);
	/* The request's own variables over the policy's, the rest kept. */
	char *lang[] = {"LANG=C", "NEW=1", NULL};
	o = (struct ward_options)WARD_OPTIONS_INIT;
	o.env = lang;
	char *envc[] = {"python3", "-c",
			"import os; print(os.environ['LANG'], os.environ['NEW'], 'PATH' in os.environ)",
			NULL};
	r = py(pool, envc, &o);
	CHECK_STR(ward_result_stdout(r, NULL), "C 1 True\n");
	ward_result_free(r);
	/* A zipapp with its interpreter line (python3 -m zipapp -p): a zip
	 * file, though it does not start as one (made with zipfile,
	 * ZIP_STORED, __main__.py dated 2020-01-01). */
	static const char pyz[] =
		"#!/usr/bin/python3\012PK\003\004\024\000\000\000\000\000\000\000!P[V\243\240%\000\000\000"
		"%\000\000\000\013\000\000\000__main__.pyimport sys\012print('zipapp', sys.argv)\012PK\001"
		"\002\024\003\024\000\000\000\000\000\000\000!P[V\243\240%\000\000\000%\000\000\000\013\000"
		"\000\000\000\000\000\000\000\000\000\000\200\001\000\000\000\000__main__.pyPK\005\006\000"
		"\000\000\000\001\000\001\0009\000\000\000N\000\000\000\000\000";
	struct ward_file zf = {.path = "/tmp/app.pyz", .data = pyz, .len = sizeof(pyz) - 1,
			       .mode = 0644};
	o = (struct ward_options)WARD_OPTIONS_INIT;
	o.files = &zf;
	o.n_files = 1;
	char *app[] = {"python3", "/tmp/app.pyz", "z", NULL};
	r = py(pool, app, &o);
	CHECK_STR(ward_result_stdout(r, NULL), "zipapp ['/tmp/app.pyz', 'z']\n");
	ward_result_free(r);
	/* The program on stdin. */
	o = (struct ward_options)WARD_OPTIONS_INIT;
	o.stdin_data = "print(6 * 7)\n";
	o.stdin_len = strlen(o.stdin_data);
	char *in[] = {"python3", "-", NULL};
	r = py(pool, in, &o);
	CHECK_STR(ward_result_stdout(r, NULL), "42\n");
	ward_result_free(r);
	/* Exit codes and exceptions as python's own. */
	char *ex[] = {"python3", "-c", "import sys; print('out'); sys.exit(3)", NULL};
	r = py(pool, ex, NULL);
	CHECK_INT(ward_result_exit_code(r), 3);
	CHECK_STR(ward_result_stdout(r, NULL), "out\n");
	ward_result_free(r);
	char *boom[] = {"python3", "-c", "def f():\n    raise ValueError('boom')\nf()", NULL};
	r = py(pool, boom, NULL);
	CHECK_INT(ward_result_exit_code(r), 1);
	CHECK_STR(ward_result_stderr(r, NULL),
		  "Traceback (most recent call last):\n"
		  "  File \"<string>\", line 3, in <module>\n"
		  "  File \"<string>\", line 2, in f\n"
		  "ValueError: boom\n");
	ward_result_free(r);
	/* Files the program left open are flushed at its end, as python's
	 * finalization does (os._exit alone would lose them). */
	char *unflushed[] = {"python3", "-c",
			     "import os\nprint('first')\n"
			     "f = os.fdopen(os.dup(1), 'w')\nf.write('kept\\n')", NULL};
	r = py(pool, unflushed, NULL);
	/* After stdout, as python flushes them. */
	CHECK_STR(ward_result_stdout(r, NULL), "first\nkept\n");
	ward_result_free(r);
	/* That flush looks no attribute of an object up: an object whose
	 * __class__ is a property that raises (a lazy proxy's) leaves the
	 * status and the output the program's own. */
	char *lazy[] = {"python3", "-c",
			"class Lazy:\n"
			"    @property\n"
			"    def __class__(self):\n"
			"        raise RuntimeError('evaluated')\n"
			"x = Lazy()\n"
			"print('done')",
			NULL};
	r = py(pool, lazy, NULL);
	CHECK_INT(ward_result_status(r), WARD_STATUS_EXITED);
	CHECK_INT(ward_result_exit_code(r), 0);
	CHECK_STR(ward_result_stdout(r, NULL), "done\n");
	CHECK_STR(ward_result_stderr(r, NULL), "");
	ward_result_free(r);
	/* A script runs up to a NUL byte that starts a line, as python
	 * 3.11's does (one within a line is an error); a device is read no
	 * further than its first NUL, not until memory runs out. */
	static const char nul[] = "print(1)\n\0print(2)\n";
	struct ward_file nf = {.path = "/tmp/nul.py", .data = nul, .len = sizeof(nul) - 1,
			       .mode = 0644};
	o = (struct ward_options)WARD_OPTIONS_INIT;
	o.files = &nf;
	o.n_files = 1;
	char *nulrun[] = {"python3", "/tmp/nul.py", NULL};
	r = py(pool, nulrun, &o);
	CHECK_STR(ward_result_stdout(r, NULL), "1\n");
	ward_result_free(r);
	static const char nul_in_line[] = "print(1)\0junk\nprint(2)\n";
	nf.data = nul_in_line;
	nf.len = sizeof(nul_in_line) - 1;
	r = py(pool, nulrun, &o);
	CHECK_INT(ward_result_exit_code(r), 1); /* python 3.11: an error */
	CHECK_STR(ward_result_stdout(r, NULL), "");
	ward_result_free(r);
	/* stdout gone or closed at the end: skipped, as python does. */
	char *gone[] = {"python3", "-c", "import sys\nsys.stdout.close()\nsys.stderr = None", NULL};
	r = py(pool, gone, NULL);
	CHECK_INT(ward_result_exit_code(r), 0);
	ward_result_free(r);
	/* __main__'s objects are freed at the end as python's finalization
	 * frees them: destructors run, and their output arrives. */
	char *del[] = {"python3", "-c",
		       "class D:\n    def __del__(self):\n        print('freed')\nd = D()\nprint('end')",
		       NULL};
	r = py(pool, del, NULL);
	CHECK_STR(ward_result_stdout(r, NULL), "end\nfreed\n");
	ward_result_free(r);
	char *zero[] = {"python3", "/dev/zero", NULL};
	r = py(pool, zero, NULL);
	CHECK_INT(ward_result_status(r), WARD_STATUS_EXITED);
	ward_result_free(r);
	/* Another program: executed in the zygote's box like in any box. */
	char *sh[] = {"sh", "-c", "echo shell $$", NULL};
	r = py(pool, sh, NULL);
	CHECK_STR(ward_result_stdout(r, NULL), "shell 2\n");
	ward_result_free(r);
	/* ... with the default signal dispositions, not the interpreter's
	 * (which ignores SIGPIPE and SIGXFSZ): a write to a closed pipe or
	 * over the file-size limit ends it as in any box. */
	char *ign[] = {"grep", "SigIgn", "/proc/self/status", NULL};
	r = py(pool, ign, NULL);
	CHECK_STR(ward_result_stdout(r, NULL), "SigIgn:\t0000000000000000\n");
	ward_result_free(r);
	ward_pool_free(pool);
	ward_policy_free(p);
}

/* What the zygote seeded at start is seeded again in every request. */
static void test_zygote_reseeds(void)
{
	SKIP_UNDER_ASAN();
	ward_policy *p;
	const char *preload[] = {"random", "tempfile", NULL};
	ward_pool *pool = zygote_pool(&p, preload, 2);
	char *argv[] = {"python3", "-c",
			"import random, tempfile, uuid; "
			"print(random.random(), next(tempfile._get_candidate_names()), uuid.uuid4())",
			NULL};
	char seen[3][256] = {""};
	for (int i = 0; i < 3; i++) {
		ward_result *r = py(pool, argv, NULL);
		snprintf(seen[i], sizeof(seen[i]), "%s", ward_result_stdout(r, NULL));
		CHECK(strlen(seen[i]) > 20);
		ward_result_free(r);
	}
	/* Each of the three values differs between every two requests. */
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++) {
			char a[256], b[256];
			snprintf(a, sizeof(a), "%s", seen[i]);
			snprintf(b, sizeof(b), "%s", seen[j]);
			char *sa, *sb;
			char *ta = strtok_r(a, " ", &sa), *tb = strtok_r(b, " ", &sb);
			while (ta && tb) {
				CHECK(strcmp(ta, tb) != 0);
				ta = strtok_r(NULL, " \n", &sa);
				tb = strtok_r(NULL, " \n", &sb);
			}
		}
	ward_pool_free(pool);
	ward_policy_free(p);
}

struct zworker {
	ward_pool *pool;
	int id, ok;
};

/* Each request writes its own token into /tmp and the process's memory,
 * and checks it finds no other request's there. */
static void *zworker_main(void *arg)
{
	struct zworker *w = arg;
	for (int i = 0; i < 4; i++) {
		char code[512], want[64];
		snprintf(want, sizeof(want), "t%d-%d", w->id, i);
		snprintf(code, sizeof(code),
			 "import os, sys\n"
			 "other = [f for f in os.listdir('/tmp')]\n"
			 "open('/tmp/token', 'w').write('%s')\n"
			 "sys.modules['json'].zygote_token = '%s'\n"
			 "print(open('/tmp/token').read(), other, len([d for d in os.listdir('/proc') if d.isdigit()]) <= 3)\n",
			 want, want);
		char *argv[] = {"python3", "-c", code, NULL};
		ward_result *r = NULL;
		char expect[128];
		snprintf(expect, sizeof(expect), "%s [] True\n", want);
		if (ward_pool_run(w->pool, argv, NULL, &r) == 0 &&
		    !strcmp(ward_result_stdout(r, NULL), expect))
			w->ok++;
		else if (r)
			printf("# zworker %d: '%s' '%s'\n", w->id, ward_result_stdout(r, NULL),
			       ward_result_stderr(r, NULL));
		ward_result_free(r);
	}
	return NULL;
}

static void test_zygote_requests_share_nothing(void)
{
	SKIP_UNDER_ASAN();
	ward_policy *p;
	const char *preload[] = {"json", NULL};
	ward_pool *pool = zygote_pool(&p, preload, 3);
	pthread_t t[4];
	struct zworker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct zworker){.pool = pool, .id = i};
		pthread_create(&t[i], NULL, zworker_main, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(w[i].ok, 4);
	}
	/* An attribute a request set on a preloaded module is not there for
	 * the next one. */
	char *argv[] = {"python3", "-c",
			"import json; print(hasattr(json, 'zygote_token'))", NULL};
	ward_result *r = py(pool, argv, NULL);
	CHECK_STR(ward_result_stdout(r, NULL), "False\n");
	ward_result_free(r);
	ward_pool_free(pool);
	CHECK_INT(children(), 0);
	ward_policy_free(p);
}

static void test_zygote_errors(void)
{
	ward_policy *p = NULL;
	CHECK_INT(ward_policy_new(&p), 0);
	CHECK_INT(ward_policy_load_profile(p, "python3"), 0);
	struct ward_pool_options po = WARD_POOL_OPTIONS_INIT;
	po.boxes = 1;
	po.zygote = "python3";
	const char *bad[] = {"no_such_module_zz", NULL};
	po.preload = bad;
	ward_pool *pool = NULL;
	CHECK_INT(ward_pool_new(p, &po, &pool), 0);
	CHECK_INT(ward_pool_wait(pool), -EIO);
	CHECK(ZYGOTE_SKIP || strstr(ward_pool_error(pool), "no_such_module_zz") != NULL);
	printf("# %s\n", ward_pool_error(pool));
	/* Requests still run: in plain boxes, which execute python. */
	char *argv[] = {"python3", "-c", "print('still')", NULL};
	ward_result *r = py(pool, argv, NULL);
	CHECK_STR(ward_result_stdout(r, NULL), "still\n");
	ward_result_free(r);
	ward_pool_free(pool);
	po.preload = NULL;
	po.zygote = "node";
	CHECK_INT(ward_pool_new(p, &po, &pool), 0);
	CHECK_INT(ward_pool_wait(pool), -EIO);
	CHECK(strstr(ward_pool_error(pool), "python3 only") != NULL);
	ward_pool_free(pool);
	/* A read-write grant over what the zygote reads outside any box (its
	 * site directories here): no zygote (a box could plant a .pth file or
	 * a module the zygote would run as the controller's user). */
	ward_policy *rw = NULL;
	CHECK_INT(ward_policy_new(&rw), 0);
	CHECK_INT(ward_policy_load_profile(rw, "python3"), 0);
	CHECK_INT(ward_policy_grant_rw(rw, "/usr/lib/python3/dist-packages", "/plant"), 0);
	po.zygote = "python3";
	po.preload = NULL;
	CHECK_INT(ward_pool_new(rw, &po, &pool), 0);
	CHECK_INT(ward_pool_wait(pool), -EIO);
	CHECK(strstr(ward_pool_error(pool), "overlaps '/usr'") != NULL);
	printf("# %s\n", ward_pool_error(pool));
	ward_pool_free(pool);
	ward_policy_free(rw);
	const char *notname[] = {"os; import evil", NULL};
	po.zygote = "python3";
	po.preload = notname;
	CHECK_INT(ward_pool_new(p, &po, &pool), 0);
	CHECK_INT(ward_pool_wait(pool), -EIO);
	CHECK(strstr(ward_pool_error(pool), "not a module name") != NULL);
	ward_pool_free(pool);
	ward_policy_free(p);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* a test killed by its timeout still shows where */
	const struct test tests[] = {
		TEST(test_request_reaches_box),
		TEST(test_files_only_on_box_tmpfs),
		TEST(test_requests_share_nothing),
		TEST(test_concurrent_requests),
		TEST(test_refill_timing),
		TEST(test_limits_hold),
		TEST(test_pool_refusals),
		TEST(test_pool_error),
		TEST(test_fresh_box_with_files),
		TEST(test_zygote_runs_python),
		TEST(test_zygote_reseeds),
		TEST(test_zygote_requests_share_nothing),
		TEST(test_zygote_errors),
	};
	return run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
