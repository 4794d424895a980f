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
	CHECK_INT(ward_policy_grant_rw(p, "/tmp", "/data"), 0);
	ward_pool *pool = NULL;
	CHECK_INT(ward_pool_new(p, NULL, &pool), -EINVAL);
	CHECK(pool == NULL);
	ward_policy_free(p);
	p = sh_policy();
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

int main(void)
{
	const struct test tests[] = {
		TEST(test_request_reaches_box),
		TEST(test_files_only_on_box_tmpfs),
		TEST(test_requests_share_nothing),
		TEST(test_concurrent_requests),
		TEST(test_limits_hold),
		TEST(test_pool_refusals),
		TEST(test_pool_error),
		TEST(test_fresh_box_with_files),
	};
	return run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
