/* test-api.c — libward's public API, through the shared library as an
 * application links it: argument validation, ret_ parameters untouched on
 * failure, free(NULL), deny by default (a host file the policy does not
 * grant is not there), stdio buffers and their caps, spawn with an event
 * loop, kill, limits, the options' size, all-or-nothing policy loads, the
 * cleanup helpers. */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "ward.h"

#define SENTINEL ((void *)0x5a5a)

static ward_policy *new_policy(void)
{
	ward_policy *p = NULL;
	CHECK_INT(ward_policy_new(&p), 0);
	CHECK(p != NULL);
	return p;
}

static void test_free_null(void)
{
	ward_policy_free(NULL);
	ward_result_free(NULL);
	ward_box_free(NULL);
	CHECK_STR(ward_policy_error(NULL), "");
	CHECK_INT(ward_result_status(NULL), WARD_STATUS_SETUP_ERROR);
	CHECK_INT(ward_result_exit_code(NULL), -1);
	CHECK_STR(ward_result_stdout(NULL, NULL), "");
	CHECK(ward_result_report(NULL) == NULL);
}

static void test_arguments(void)
{
	ward_policy *p = new_policy();
	CHECK_INT(ward_policy_new(NULL), -EINVAL);
	CHECK_INT(ward_policy_load_profile(NULL, "sh"), -EINVAL);
	CHECK_INT(ward_policy_load_profile(p, NULL), -EINVAL);
	CHECK_INT(ward_policy_load_profile(p, "no-such-profile"), -ENOENT);
	CHECK(strstr(ward_policy_error(p), "no-such-profile") != NULL);
	CHECK_INT(ward_policy_load_file(p, "/nonexistent/x.policy"), -ENOENT);
	CHECK(strstr(ward_policy_error(p), "/nonexistent/x.policy") != NULL);

	CHECK_INT(ward_policy_grant_ro(p, "relative/path", NULL), -EINVAL);
	CHECK(strstr(ward_policy_error(p), "must be absolute") != NULL);
	CHECK_INT(ward_policy_grant_rw(p, "/", NULL), -EPERM);
	CHECK_INT(ward_policy_grant_ro(p, "/usr", "/proc/x"), -EINVAL);
	CHECK_INT(ward_policy_grant_ro(p, NULL, NULL), -EINVAL);
	CHECK_INT(ward_policy_grant_tmpfs(p, "/scratch", 1 << 20), 0);
	CHECK_STR(ward_policy_error(p), "");

	CHECK_INT(ward_policy_set_limit(p, WARD_LIMIT_MEMORY, 0), -ERANGE);
	CHECK(strstr(ward_policy_error(p), "out of range") != NULL);
	CHECK_INT(ward_policy_set_limit(p, (enum ward_limit)99, 1), -EINVAL);
	CHECK_INT(ward_policy_set_limit(p, WARD_LIMIT_PROCS, 64), 0);
	CHECK_INT(ward_policy_set_net(p, (enum ward_net)7), -EINVAL);
	CHECK_INT(ward_policy_set_env(p, "NOEQUALS"), -EINVAL);
	CHECK(strstr(ward_policy_error(p), "'NOEQUALS'") != NULL);
	CHECK_INT(ward_policy_set_env(p, "A=b"), 0);
	CHECK_INT(ward_policy_set_cwd(p, "rel"), -EINVAL);
	CHECK_INT(ward_policy_set_channel_limit(p, WARD_CHANNEL_MAX_MESSAGE, 1), -ERANGE);
	CHECK_INT(ward_policy_set_channel_limit(p, (enum ward_channel_limit)9, 1), -EINVAL);
	CHECK_INT(ward_policy_set_client_dir(p, "rel"), -EINVAL);
	CHECK_INT(ward_policy_set_client_dir(p, "/nonexistent-dir"), -ENOENT);
	CHECK_INT(ward_policy_add_ask(NULL, "/data"), -EINVAL);
	CHECK_INT(ward_policy_add_ask(p, NULL), -EINVAL);
	CHECK_INT(ward_policy_add_ask(p, "data"), -EINVAL);
	CHECK(strstr(ward_policy_error(p), "must be absolute") != NULL);
	CHECK_INT(ward_policy_add_ask(p, "/proc/self"), -EINVAL);
	CHECK(strstr(ward_policy_error(p), "not brokered") != NULL);
	CHECK_INT(ward_policy_add_ask(p, "/data"), 0);
	CHECK_INT(ward_policy_set_access_handler(NULL, NULL, NULL), -EINVAL);
	CHECK_INT(ward_policy_set_access_handler(p, NULL, NULL), 0); /* clears: refuse all */

	/* ret_ parameters are written only on success. */
	ward_result *r = SENTINEL;
	ward_box *b = SENTINEL;
	CHECK_INT(ward_run(p, NULL, NULL, &r), -EINVAL);
	CHECK_INT(ward_run(p, (char *[]){"", NULL}, NULL, &r), -EINVAL);
	CHECK_INT(ward_run(NULL, (char *[]){"true", NULL}, NULL, &r), -EINVAL);
	CHECK(r == SENTINEL);
	struct ward_options bad = WARD_OPTIONS_INIT;
	bad.stdin_len = 5; /* with no data */
	CHECK_INT(ward_spawn(p, (char *[]){"true", NULL}, &bad, &b), -EINVAL);
	CHECK(b == SENTINEL);
	CHECK_INT(ward_box_fd(NULL), -EINVAL);
	CHECK_INT(ward_box_wait(NULL, &r), -EINVAL);
	CHECK_INT(ward_features(NULL), -EINVAL);
	ward_policy_free(p);
}

static int fn_nop(ward_call *call, json_t *args, json_t **ret, void *ud)
{
	return 0;
}

static void test_function_names(void)
{
	ward_policy *p = new_policy();
	CHECK_INT(ward_policy_add_function(p, "get_post", fn_nop, NULL), 0);
	CHECK_INT(ward_policy_add_function(p, "get_post", fn_nop, NULL), -EEXIST);
	CHECK(strstr(ward_policy_error(p), "'get_post'") != NULL);
	CHECK_INT(ward_policy_add_function(p, "", fn_nop, NULL), -EINVAL);
	CHECK_INT(ward_policy_add_function(p, "9lives", fn_nop, NULL), -EINVAL);
	CHECK_INT(ward_policy_add_function(p, "a-b", fn_nop, NULL), -EINVAL);
	CHECK_INT(ward_policy_add_function(p, "a b", fn_nop, NULL), -EINVAL);
	CHECK_INT(ward_policy_add_function(p, "x", NULL, NULL), -EINVAL);
	char longname[80];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	CHECK_INT(ward_policy_add_function(p, longname, fn_nop, NULL), -EINVAL);
	ward_policy_free(p);
}

static void test_status_names(void)
{
	CHECK_STR(ward_status_name(WARD_STATUS_EXITED), "exited");
	CHECK_STR(ward_status_name(WARD_STATUS_TIME_LIMIT), "time-limit");
	CHECK_STR(ward_status_name(WARD_STATUS_SETUP_ERROR), "setup-error");
	CHECK_STR(ward_status_name(WARD_STATUS_VIOLATION), "violation");
	CHECK_STR(ward_status_name(WARD_STATUS_IO_ERROR), "io-error");
	CHECK(ward_status_name((enum ward_status)42) == NULL);
}

static ward_result *run_sh(ward_policy *p, const char *script, const struct ward_options *o)
{
	ward_result *r = NULL;
	int rc = ward_run(p, (char *[]){"/bin/sh", "-c", (char *)script, NULL}, o, &r);
	CHECK_INT(rc, 0);
	return r;
}

/* A new policy grants nothing beyond the base system: a host file in a
 * fresh directory is not in the box, and appears when granted (so the
 * check can fail). */
static void test_deny_by_default(void)
{
	char dir[] = "/var/tmp/ward-api-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	chmod(dir, 0755);
	char file[64];
	snprintf(file, sizeof(file), "%s/secret", dir);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "s3cret\n", 7) == 7);
	close(fd);
	char script[160];
	snprintf(script, sizeof(script), "cat %s; echo > %s/new", file, dir);

	ward_policy *p = new_policy();
	ward_result *r = run_sh(p, script, NULL);
	CHECK_INT(ward_result_status(r), WARD_STATUS_EXITED);
	CHECK(ward_result_exit_code(r) != 0);
	CHECK(strstr(ward_result_stdout(r, NULL), "s3cret") == NULL);
	ward_result_free(r);

	CHECK_INT(ward_policy_grant_ro(p, dir, NULL), 0);
	r = run_sh(p, script, NULL);
	CHECK(strstr(ward_result_stdout(r, NULL), "s3cret") != NULL);
	CHECK(ward_result_exit_code(r) != 0); /* read-only: the write fails */
	ward_result_free(r);
	CHECK(access(file, F_OK) == 0);
	snprintf(file, sizeof(file), "%s/new", dir);
	CHECK(access(file, F_OK) != 0);
	ward_policy_free(p);
	snprintf(file, sizeof(file), "%s/secret", dir);
	unlink(file);
	rmdir(dir);
}

static void test_stdio_buffers(void)
{
	ward_policy *p = new_policy();
	struct ward_options o = WARD_OPTIONS_INIT;
	o.stdin_data = "hello box\n";
	o.stdin_len = 10;
	ward_result *r = run_sh(p, "read x; echo \"got $x\"; echo oops >&2; exit 7", &o);
	size_t len = 0;
	CHECK_INT(ward_result_status(r), WARD_STATUS_EXITED);
	CHECK_INT(ward_result_exit_code(r), 7);
	CHECK_STR(ward_result_stdout(r, &len), "got hello box\n");
	CHECK_INT(len, 14);
	CHECK_STR(ward_result_stderr(r, &len), "oops\n");
	CHECK_INT(ward_result_output_bytes(r), 19);
	char *report = ward_result_report(r);
	CHECK(report && strstr(report, "\"status\": \"exited\""));
	free(report);
	ward_result_free(r);

	/* The capture cap: the rest is counted, not kept. */
	o = (struct ward_options)WARD_OPTIONS_INIT;
	o.capture_max = 100;
	r = run_sh(p, "head -c 5000 /dev/zero | tr '\\0' x", &o);
	char xs[101];
	memset(xs, 'x', 100);
	xs[100] = 0;
	CHECK_STR(ward_result_stdout(r, &len), xs);
	CHECK_INT(len, 100);
	CHECK_INT(ward_result_output_bytes(r), 5000);
	ward_result_free(r);

	/* An fd: the output goes there, nothing is captured. */
	int pfd[2];
	CHECK(pipe(pfd) == 0);
	o = (struct ward_options)WARD_OPTIONS_INIT;
	o.stdout_fd = pfd[1];
	r = run_sh(p, "echo to-the-fd", &o);
	close(pfd[1]);
	char buf[64] = "";
	CHECK(read(pfd[0], buf, sizeof(buf) - 1) == 10);
	CHECK_STR(buf, "to-the-fd\n");
	CHECK_STR(ward_result_stdout(r, NULL), "");
	close(pfd[0]);
	ward_result_free(r);
	ward_policy_free(p);
}

/* Output the caller's fd cannot take (a full disk) is an io-error with
 * the stream and the reason, and exit status 123, never a success. */
static void test_output_undeliverable(void)
{
	ward_policy *p = new_policy();
	struct ward_options o = WARD_OPTIONS_INIT;
	o.stdout_fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	CHECK(o.stdout_fd >= 0);
	/* stderr first: what the box wrote before the failure still arrives */
	ward_result *r = run_sh(p, "echo there >&2; echo hi", &o);
	CHECK_INT(ward_result_status(r), WARD_STATUS_IO_ERROR);
	CHECK_INT(ward_result_exit_status(r), 123);
	CHECK_INT(ward_result_exit_code(r), -1);
	CHECK_STR(ward_result_message(r), "cannot deliver the box's stdout: no space left on device");
	CHECK_STR(ward_result_stderr(r, NULL), "there\n");
	char *report = ward_result_report(r);
	CHECK(report && strstr(report, "\"status\": \"io-error\"") &&
	      strstr(report, "\"error\": \"cannot deliver the box's stdout"));
	free(report);
	ward_result_free(r);
	close(o.stdout_fd);
	ward_policy_free(p);
}

static void test_limits(void)
{
	ward_policy *p = new_policy();
	CHECK_INT(ward_policy_set_limit(p, WARD_LIMIT_WALL_TIME, 300), 0);
	ward_result *r = run_sh(p, "sleep 10", NULL);
	CHECK_INT(ward_result_status(r), WARD_STATUS_TIME_LIMIT);
	CHECK_INT(ward_result_exit_code(r), -1);
	CHECK(ward_result_wall_time(r) < 5);
	ward_result_free(r);
	ward_policy_free(p);

	p = new_policy();
	r = run_sh(p, "exec /nonexistent-program", NULL);
	CHECK_INT(ward_result_status(r), WARD_STATUS_EXITED);
	CHECK_INT(ward_result_exit_code(r), 127);
	ward_result_free(r);
	CHECK_INT(ward_run(p, (char *[]){"no-such-program-here", NULL}, NULL, &r), 0);
	CHECK_INT(ward_result_status(r), WARD_STATUS_SETUP_ERROR);
	CHECK(strstr(ward_result_message(r), "no-such-program-here") != NULL);
	ward_result_free(r);
	ward_policy_free(p);
}

/* An application's event loop: poll ward_box_fd of two boxes at once. */
static void test_spawn_event_loop(void)
{
	ward_policy *p = new_policy();
	ward_box *b[2];
	CHECK_INT(ward_spawn(p, (char *[]){"/bin/sh", "-c", "sleep 0.2; echo one", NULL}, NULL, &b[0]), 0);
	CHECK_INT(ward_spawn(p, (char *[]){"/bin/sh", "-c", "echo two; exit 3", NULL}, NULL, &b[1]), 0);
	bool done[2] = {false, false};
	int rounds = 0;
	while ((!done[0] || !done[1]) && rounds++ < 10000) {
		struct pollfd pf[2] = {{ward_box_fd(b[0]), POLLIN, 0}, {ward_box_fd(b[1]), POLLIN, 0}};
		CHECK(poll(pf, 2, 5000) > 0);
		for (int i = 0; i < 2; i++)
			if (!done[i] && pf[i].revents) {
				int r = ward_box_process(b[i]);
				CHECK(r == 0 || r == 1);
				done[i] = r == 1;
			}
	}
	CHECK(done[0] && done[1]);
	CHECK(rounds < 200); /* woken by events, not spinning */
	ward_result *r0 = NULL, *r1 = NULL;
	CHECK_INT(ward_box_wait(b[0], &r0), 0);
	CHECK_INT(ward_box_wait(b[1], &r1), 0);
	CHECK_INT(ward_box_wait(b[1], &r1), -ECHILD);
	CHECK_STR(ward_result_stdout(r0, NULL), "one\n");
	CHECK_STR(ward_result_stdout(r1, NULL), "two\n");
	CHECK_INT(ward_result_exit_code(r1), 3);
	ward_result_free(r0);
	ward_result_free(r1);
	ward_box_free(b[0]);
	ward_box_free(b[1]);

	/* Kill: the run ends at once as signaled. */
	ward_box *k;
	CHECK_INT(ward_spawn(p, (char *[]){"sleep", "30", NULL}, NULL, &k), 0);
	CHECK_INT(ward_box_kill(k), 0);
	ward_result *rk = NULL;
	CHECK_INT(ward_box_wait(k, &rk), 0);
	CHECK_INT(ward_result_status(rk), WARD_STATUS_SIGNALED);
	CHECK_INT(ward_result_signal(rk), 9);
	CHECK(ward_result_wall_time(rk) < 5);
	ward_result_free(rk);
	ward_box_free(k);

	/* Freeing a running box kills it and waits. */
	CHECK_INT(ward_spawn(p, (char *[]){"sleep", "30", NULL}, NULL, &k), 0);
	ward_box_free(k);
	ward_policy_free(p);
}

/* The box's init is a copy of the application: it must not keep the
 * application's other fds open. Here a pipe's write end, closed by the
 * application while a box runs: its reader must see EOF at once, not when
 * the box ends (with several boxes started from several threads, those fds
 * are other runs' pipes). */
static void test_no_fds_held_by_the_box(void)
{
	int pfd[2];
	CHECK(pipe(pfd) == 0);
	ward_policy *p = new_policy();
	ward_box *b;
	CHECK_INT(ward_spawn(p, (char *[]){"sleep", "5", NULL}, NULL, &b), 0);
	close(pfd[1]);
	struct pollfd pf = {pfd[0], POLLIN, 0};
	CHECK(poll(&pf, 1, 2000) == 1); /* EOF now, not in 5 s */
	char c;
	CHECK(read(pfd[0], &c, 1) == 0);
	close(pfd[0]);
	ward_box_free(b);
	ward_policy_free(p);
}

static int count_fds(void)
{
	int n = 0;
	char path[64];
	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

/* A run leaves the application no fd of its own: here with a read-write
 * directory grant, whose host directory the controller holds open for
 * applying the box's writes after the run (one leaked per grant and run
 * before the plan freed its descriptors). */
static void test_no_fds_left_after_a_run(void)
{
	char dir[] = "/tmp/ward-test-api-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	CHECK(chmod(dir, 0777) == 0);
	ward_policy *p = new_policy();
	CHECK_INT(ward_policy_load_profile(p, "sh"), 0);
	CHECK_INT(ward_policy_grant_rw(p, dir, "/out"), 0);
	int before = count_fds();
	for (int i = 0; i < 3; i++) {
		ward_result *r = NULL;
		CHECK_INT(ward_run(p, (char *[]){"/bin/sh", "-c", "echo x > /out/f", NULL}, NULL, &r), 0);
		CHECK(r && ward_result_status(r) == WARD_STATUS_EXITED && ward_result_exit_code(r) == 0);
		ward_result_free(r);
	}
	CHECK_INT(count_fds(), before);
	ward_policy_free(p);
	char f[64];
	snprintf(f, sizeof(f), "%s/f", dir);
	unlink(f);
	CHECK(rmdir(dir) == 0);
}

/* Distinct handles from distinct threads at once: each thread its own
 * policy (with a host function counting into its own counter) and boxes. */
static int fn_bump(ward_call *call, json_t *args, json_t **ret, void *ud)
{
	*ret = json_integer(++*(long *)ud);
	return 0;
}

struct worker {
	const char *clients;
	long calls;
	int ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	ward_policy *p;
	if (ward_policy_new(&p) < 0)
		return NULL;
	if (ward_policy_add_function(p, "bump", fn_bump, &w->calls) == 0 &&
	    ward_policy_set_client_dir(p, w->clients) == 0)
		for (int i = 0; i < 3; i++) {
			ward_result *r;
			if (ward_run(p, (char *[]){"/bin/sh", "-c",
						   "/run/ward/bin/ward-call bump && /run/ward/bin/ward-call bump", NULL},
				     NULL, &r) < 0)
				continue;
			char want[32];
			snprintf(want, sizeof(want), "%ld\n%ld\n", w->calls - 1, w->calls);
			w->ok += ward_result_status(r) == WARD_STATUS_EXITED &&
				 !strcmp(ward_result_stdout(r, NULL), want);
			ward_result_free(r);
		}
	ward_policy_free(p);
	return NULL;
}

static void test_threads(void)
{
	const char *clients = getenv("WARD_TEST_CLIENTS");
	if (!clients) {
		printf("# WARD_TEST_CLIENTS not set: skipped\n");
		return;
	}
	struct worker w[3] = {{clients, 0, 0}, {clients, 0, 0}, {clients, 0, 0}};
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		CHECK(pthread_create(&t[i], NULL, worker_main, &w[i]) == 0);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(w[i].ok, 3);
		CHECK_INT(w[i].calls, 6);
	}
}

static void test_features(void)
{
	struct ward_features f;
	CHECK_INT(ward_features(&f), 0);
	CHECK(f.landlock_abi > 0);
	CHECK(f.user_namespaces);
	CHECK(f.cgroup_version >= 0 && f.cgroup_version <= 2);
}

/* struct ward_options carries its size: a struct not made by
 * WARD_OPTIONS_INIT (size 0) or too small is refused, a larger (newer)
 * one is accepted while what lies past this library's fields is zero and
 * refused (-E2BIG) otherwise, as clone3(2) does. */
static void test_options_size(void)
{
	_ward_cleanup_(ward_policy_freep) ward_policy *p = new_policy();
	ward_result *r = SENTINEL;
	char *const argv[] = {"/bin/sh", "-c", "echo sized", NULL};

	struct ward_options o;
	ward_options_init(&o);
	const struct ward_options init = WARD_OPTIONS_INIT;
	CHECK(memcmp(&o, &init, sizeof(o)) == 0);
	CHECK_INT(o.size, sizeof(struct ward_options));
	CHECK(WARD_OPTIONS_SIZE_VER0 <= sizeof(struct ward_options));

	struct ward_options zero = {0}; /* no size: not from WARD_OPTIONS_INIT */
	zero.stdin_fd = zero.stdout_fd = zero.stderr_fd = -1;
	CHECK_INT(ward_run(p, argv, &zero, &r), -EINVAL);
	o.size = WARD_OPTIONS_SIZE_VER0 - 1;
	CHECK_INT(ward_run(p, argv, &o, &r), -EINVAL);
	o.size = 1u << 20;
	CHECK_INT(ward_run(p, argv, &o, &r), -E2BIG);
	CHECK(r == SENTINEL);

	/* A newer caller's struct: a field this library does not know. */
	struct {
		struct ward_options o;
		uint64_t newer;
	} big = {WARD_OPTIONS_INIT, 1};
	big.o.size = sizeof(big);
	big.o.capture_max = 3;
	CHECK_INT(ward_run(p, argv, &big.o, &r), -E2BIG);
	CHECK(r == SENTINEL);
	big.newer = 0; /* left at its default: fine */
	_ward_cleanup_(ward_result_freep) ward_result *sized = run_sh(p, "echo sized", &big.o);
	CHECK_STR(ward_result_stdout(sized, NULL), "siz"); /* capture_max was read */

	o.size = WARD_OPTIONS_SIZE_VER0;
	ward_result *r2 = run_sh(p, "echo sized", &o);
	CHECK_STR(ward_result_stdout(r2, NULL), "sized\n");
	ward_result_free(r2);
}

/* What a box sees of a policy (env, hostname, a granted file), as one
 * line of output. */
static char *policy_view(ward_policy *p)
{
	_ward_cleanup_(ward_result_freep) ward_result *r =
		run_sh(p, "echo \"FOO=$FOO\"; cat /proc/sys/kernel/hostname; cat /granted/secret; "
			  "echo $?", NULL);
	CHECK_INT(ward_result_status(r), WARD_STATUS_EXITED);
	return strdup(ward_result_stdout(r, NULL));
}

/* A policy file that fails at line 5 leaves the policy exactly as it was:
 * none of lines 1-4 (a grant, env, hostname, a limit) stays, and a run
 * sees what it saw before. The same lines without the bad one do change
 * what the box sees (so the check can fail). */
static void test_load_file_all_or_nothing(void)
{
	char dir[] = "/var/tmp/ward-api-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	chmod(dir, 0755);
	char secret[64], bad[64], good[64];
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	snprintf(bad, sizeof(bad), "%s/bad.policy", dir);
	snprintf(good, sizeof(good), "%s/good.policy", dir);
	int fd = open(secret, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "s3cret\n", 7) == 7);
	close(fd);
	char text[512];
	int n = snprintf(text, sizeof(text),
			 "ro %s /granted\nenv FOO=from-file\nhostname evil\nmemory 64M\n", dir);
	FILE *f = fopen(good, "w");
	CHECK(f && fwrite(text, 1, (size_t)n, f) == (size_t)n && fclose(f) == 0);
	f = fopen(bad, "w");
	CHECK(f && fprintf(f, "%sfrobnicate yes\n", text) > 0 && fclose(f) == 0);

	_ward_cleanup_(ward_policy_freep) ward_policy *p = new_policy();
	CHECK_INT(ward_policy_set_env(p, "FOO=before"), 0);
	CHECK_INT(ward_policy_grant_tmpfs(p, "/scratch", 1 << 20), 0);
	_ward_cleanup_(ward_freep) char *before = NULL, *view = NULL, *after = NULL;
	CHECK_INT(ward_policy_format(p, &before), 0);
	_ward_cleanup_(ward_freep) char *seen_before = policy_view(p);
	CHECK(strstr(seen_before, "FOO=before\n") && !strstr(seen_before, "s3cret"));

	CHECK_INT(ward_policy_load_file(p, bad), -EINVAL);
	CHECK(strstr(ward_policy_error(p), ":5: unknown directive 'frobnicate'") != NULL);
	CHECK_INT(ward_policy_grant_count(p), 1);
	CHECK_INT(ward_policy_format(p, &after), 0);
	CHECK_STR(after, before);
	view = policy_view(p);
	CHECK_STR(view, seen_before);

	/* The first four lines alone do apply (and show in the box). */
	CHECK_INT(ward_policy_load_file(p, good), 0);
	CHECK_INT(ward_policy_grant_count(p), 2);
	_ward_cleanup_(ward_freep) char *seen_good = policy_view(p);
	CHECK(strstr(seen_good, "FOO=from-file\nevil\ns3cret\n0\n") != NULL);

	/* A failed load after a good one keeps the good one whole. */
	_ward_cleanup_(ward_freep) char *good_text = NULL, *again = NULL;
	CHECK_INT(ward_policy_format(p, &good_text), 0);
	CHECK_INT(ward_policy_load_profile(p, "no-such-profile"), -ENOENT);
	CHECK_INT(ward_policy_load_file(p, bad), -EINVAL);
	CHECK_INT(ward_policy_format(p, &again), 0);
	CHECK_STR(again, good_text);

	unlink(secret);
	unlink(bad);
	unlink(good);
	rmdir(dir);
}

/* The cleanup helpers free at the end of a scope and do nothing for NULL
 * (under ASan, a leak or a double free here fails the test). */
static void test_cleanup_helpers(void)
{
	{
		_ward_cleanup_(ward_policy_freep) ward_policy *p = new_policy();
		_ward_cleanup_(ward_policy_freep) ward_policy *none = NULL;
		_ward_cleanup_(ward_box_freep) ward_box *b = NULL;
		CHECK_INT(ward_spawn(p, (char *[]){"sleep", "30", NULL}, NULL, &b), 0);
		_ward_cleanup_(ward_box_freep) ward_box *none_b = NULL;
		_ward_cleanup_(ward_result_freep) ward_result *none_r = NULL;
		_ward_cleanup_(ward_freep) char *none_s = NULL;
		(void)none;
		(void)none_b;
		(void)none_r;
		(void)none_s;
	} /* the running box is killed and waited for here */
}

/* ---- for front ends (ward(1)) ---------------------------------------- */

/* Limits from text, their names, defaults and formatting; the limit in
 * force as a result reports it. */
static void test_limit_strings(void)
{
	ward_policy *p = new_policy();
	CHECK_INT(ward_policy_set_limit_string(NULL, WARD_LIMIT_MEMORY, "64M"), -EINVAL);
	CHECK_INT(ward_policy_set_limit_string(p, WARD_LIMIT_MEMORY, NULL), -EINVAL);
	CHECK_INT(ward_policy_set_limit_string(p, (enum ward_limit)99, "1"), -EINVAL);
	CHECK_INT(ward_policy_set_limit_string(p, WARD_LIMIT_MEMORY, "lots"), -EINVAL);
	CHECK(strstr(ward_policy_error(p), "invalid size 'lots'") != NULL);
	CHECK_INT(ward_policy_set_limit_string(p, WARD_LIMIT_PROCS, "0"), -ERANGE);
	CHECK(strstr(ward_policy_error(p), "out of range") != NULL);
	CHECK_INT(ward_policy_set_limit_string(p, WARD_LIMIT_MEMORY, "64M"), 0);
	CHECK_STR(ward_policy_error(p), "");
	CHECK_INT(ward_policy_set_limit_string(p, WARD_LIMIT_WALL_TIME, "5s"), 0);
	ward_result *r = run_sh(p, "true", NULL);
	CHECK_U64(ward_result_limit(r, WARD_LIMIT_MEMORY), 64ull << 20);
	CHECK_U64(ward_result_limit(r, WARD_LIMIT_WALL_TIME), 5000);
	CHECK_U64(ward_result_limit(r, (enum ward_limit)99), 0);
	CHECK_U64(ward_result_limit(NULL, WARD_LIMIT_MEMORY), 0);
	ward_result_free(r);
	ward_policy_free(p);

	CHECK_STR(ward_limit_name(WARD_LIMIT_MEMORY), "memory");
	CHECK_STR(ward_limit_name(WARD_LIMIT_FILE_SIZE), "file-size");
	CHECK(ward_limit_name((enum ward_limit)99) == NULL);
	CHECK(ward_limit_default(WARD_LIMIT_PROCS) > 0);
	CHECK_U64(ward_limit_default((enum ward_limit)99), 0);
	char buf[32];
	CHECK_INT(ward_limit_format(WARD_LIMIT_MEMORY, 256ull << 20, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "256M");
	CHECK_INT(ward_limit_format(WARD_LIMIT_WALL_TIME, 10000, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "10s");
	CHECK_INT(ward_limit_format(WARD_LIMIT_PROCS, 64, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "64");
	CHECK_INT(ward_limit_format(WARD_LIMIT_MEMORY, 256ull << 20, buf, 3), -ENOBUFS);
	CHECK_INT(ward_limit_format((enum ward_limit)99, 1, buf, sizeof(buf)), -EINVAL);
	CHECK_INT(ward_limit_format(WARD_LIMIT_PROCS, 1, NULL, 8), -EINVAL);
}

static void test_profiles(void)
{
	bool sh = false, python3 = false;
	size_t n = 0;
	for (; ward_profile_name(n); n++) {
		sh |= !strcmp(ward_profile_name(n), "sh");
		python3 |= !strcmp(ward_profile_name(n), "python3");
		CHECK(ward_profile_summary(ward_profile_name(n)) != NULL);
	}
	CHECK(sh && python3);
	CHECK(ward_profile_name(n + 100) == NULL);
	CHECK(ward_profile_text("sh") != NULL && ward_profile_text("sh")[0]);
	CHECK(ward_profile_text("no-such-profile") == NULL);
	CHECK(ward_profile_summary(NULL) == NULL);
	CHECK_STR(ward_profile_for_program("python3.11"), "python3");
	CHECK_STR(ward_profile_for_program("/bin/bash"), "sh");
	CHECK_STR(ward_profile_for_program("frobnicate"), "native");
}

/* The exit status ward(1) gives: each case is a run that ends that way. */
static void test_exit_status(void)
{
	CHECK_INT(ward_result_exit_status(NULL), 125);
	ward_policy *p = new_policy();
	ward_result *r = run_sh(p, "exit 7", NULL);
	CHECK_INT(ward_result_exit_status(r), 7);
	ward_result_free(r);
	r = run_sh(p, "kill -9 $$", NULL);
	CHECK_INT(ward_result_exit_status(r), 128 + 9);
	ward_result_free(r);
	CHECK_INT(ward_run(p, (char *[]){"no-such-program-here", NULL}, NULL, &r), 0);
	CHECK_INT(ward_result_exit_status(r), 127);
	ward_result_free(r);
	/* A file that is there but not executable. */
	char dir[] = "/var/tmp/ward-api-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	chmod(dir, 0755);
	char file[64];
	snprintf(file, sizeof(file), "%s/not-exec", dir);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "#!/bin/sh\n", 10) == 10);
	close(fd);
	CHECK_INT(ward_policy_grant_ro(p, dir, NULL), 0);
	CHECK_INT(ward_run(p, (char *[]){file, NULL}, NULL, &r), 0);
	CHECK_INT(ward_result_exit_status(r), 126);
	ward_result_free(r);
	unlink(file);
	rmdir(dir);
	ward_policy_free(p);
	p = new_policy();
	CHECK_INT(ward_policy_set_limit(p, WARD_LIMIT_WALL_TIME, 200), 0);
	r = run_sh(p, "sleep 10", NULL);
	CHECK_INT(ward_result_exit_status(r), 124);
	ward_result_free(r);
	ward_policy_free(p);
}

/* Virtual files (read-only), and audit: off by default, and when on, the
 * refusals (of a host file that exists but is not granted) are recorded. */
static void test_files_and_audit(void)
{
	char dir[] = "/var/tmp/ward-api-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	chmod(dir, 0755);
	char file[64];
	snprintf(file, sizeof(file), "%s/host-file", dir);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "from the host\n", 14) == 14);
	close(fd);

	ward_policy *p = new_policy();
	CHECK(!ward_policy_get_audit(p)); /* deny by default: nothing brokered */
	CHECK(!ward_policy_get_audit(NULL));
	CHECK(ward_policy_ask_count(p) == 0 && ward_policy_ask_count(NULL) == 0);
	CHECK_INT(ward_policy_add_file(p, "rel", file), -EINVAL);
	CHECK_INT(ward_policy_add_file(p, "/etc/v1", NULL), -EINVAL);
	CHECK_INT(ward_policy_add_file_text(NULL, "/etc/v2", "x"), -EINVAL);
	CHECK_INT(ward_policy_add_file(p, "/etc/v1", file), 0);
	CHECK_INT(ward_policy_add_file_text(p, "/etc/v2", "text\n"), 0);
	char script[200];
	snprintf(script, sizeof(script), "cat /etc/v1 /etc/v2; echo x > /etc/v2; cat %s", file);
	ward_result *r = run_sh(p, script, NULL);
	CHECK_STR(ward_result_stdout(r, NULL), "from the host\ntext\n");
	ward_result_free(r);

	CHECK_INT(ward_policy_set_audit(NULL, true), -EINVAL);
	CHECK_INT(ward_policy_set_audit(p, true), 0);
	CHECK(ward_policy_get_audit(p));
	r = run_sh(p, script, NULL);
	CHECK(ward_result_denial_count(r) >= 1);
	char line[512] = "", want[128];
	bool found = false;
	snprintf(want, sizeof(want), "open(\"%s\"", file);
	for (size_t i = 0; i < ward_result_denial_count(r); i++) {
		CHECK_INT(ward_result_denial(r, i, line, sizeof(line)), 0);
		found |= strstr(line, want) && strstr(line, "not granted");
	}
	CHECK(found);
	CHECK_INT(ward_result_denial(r, ward_result_denial_count(r), line, sizeof(line)), -EINVAL);
	CHECK_U64(ward_result_denials_dropped(r), 0);
	ward_result_free(r);
	CHECK_INT(ward_policy_set_audit(p, false), 0);
	CHECK(!ward_policy_get_audit(p));
	ward_policy_free(p);
	unlink(file);
	rmdir(dir);
}

/* Grants listed in order, an optional grant added in full, a same-path
 * grant replacing the first one, and the policy written as a file. */
static void test_grants_and_format(void)
{
	ward_policy *p = new_policy();
	struct ward_grant g = {WARD_GRANT_RO, NULL, NULL, 0, false};
	CHECK_INT(ward_policy_grant_count(p), 0); /* deny by default */
	CHECK_INT(ward_policy_grant_count(NULL), 0);
	CHECK_INT(ward_policy_get_grant(p, 0, &g), -EINVAL);
	CHECK_INT(ward_policy_add_grant(p, NULL), -EINVAL);
	CHECK_INT(ward_policy_add_grant(p, &g), -EINVAL); /* no host */
	g = (struct ward_grant){.kind = (enum ward_grant_kind)5, .host = "/usr"};
	CHECK_INT(ward_policy_add_grant(p, &g), -EINVAL);
	g = (struct ward_grant){.kind = WARD_GRANT_TMPFS, .host = "/usr", .box = "/t"};
	CHECK_INT(ward_policy_add_grant(p, &g), -EINVAL); /* a tmpfs has no host */

	g = (struct ward_grant){.kind = WARD_GRANT_RO, .host = "/nonexistent-ward-x", .box = "/data"};
	CHECK_INT(ward_policy_add_grant(p, &g), -ENOENT);
	CHECK(strstr(ward_policy_error(p), "optional") != NULL);
	g.optional = true;
	CHECK_INT(ward_policy_add_grant(p, &g), 0);
	CHECK_INT(ward_policy_grant_tmpfs(p, "/scratch", 1 << 20), 0);
	CHECK_INT(ward_policy_grant_ro(p, "/usr/share", NULL), 0);
	CHECK_INT(ward_policy_grant_count(p), 3);
	struct ward_grant got;
	CHECK_INT(ward_policy_get_grant(p, 0, &got), 0);
	CHECK_INT(got.kind, WARD_GRANT_RO);
	CHECK_STR(got.host, "/nonexistent-ward-x");
	CHECK_STR(got.box, "/data");
	CHECK(got.optional);
	CHECK_INT(ward_policy_get_grant(p, 1, &got), 0);
	CHECK_INT(got.kind, WARD_GRANT_TMPFS);
	CHECK(got.host == NULL);
	CHECK_U64(got.size, 1 << 20);
	CHECK_INT(ward_policy_get_grant(p, 2, &got), 0);
	CHECK_STR(got.box, "/usr/share");
	CHECK(!got.optional);
	/* The same box path again: replaced, not added. */
	g = (struct ward_grant){.kind = WARD_GRANT_RO, .host = "/usr/lib", .box = "/usr/share"};
	CHECK_INT(ward_policy_add_grant(p, &g), 0);
	CHECK_INT(ward_policy_grant_count(p), 3);
	CHECK_INT(ward_policy_get_grant(p, 2, &got), 0);
	CHECK_STR(got.host, "/usr/lib");
	CHECK_INT(ward_policy_get_grant(p, 3, &got), -EINVAL);

	char *text = SENTINEL;
	CHECK_INT(ward_policy_format(NULL, &text), -EINVAL);
	CHECK_INT(ward_policy_format(p, NULL), -EINVAL);
	CHECK(text == SENTINEL);
	CHECK_INT(ward_policy_set_limit(p, WARD_LIMIT_MEMORY, 64 << 20), 0);
	CHECK_INT(ward_policy_format(p, &text), 0);
	CHECK(strstr(text, "/nonexistent-ward-x") && strstr(text, "optional"));
	CHECK(strstr(text, "tmpfs") && strstr(text, "/scratch"));
	CHECK(strstr(text, "memory 64M") != NULL);
	/* What it wrote reads back as the same policy. */
	char path[] = "/tmp/ward-api-policy-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	ward_policy *q = new_policy();
	CHECK_INT(ward_policy_load_file(q, path), 0);
	CHECK_INT(ward_policy_grant_count(q), 3);
	char *again = NULL;
	CHECK_INT(ward_policy_format(q, &again), 0);
	CHECK_STR(again, text);
	free(again);
	free(text);
	unlink(path);
	ward_policy_free(q);
	ward_policy_free(p);
}

struct seen {
	char path[256];
	unsigned how;
};

static void on_access(const char *box_path, unsigned how, void *userdata)
{
	struct seen *s = userdata;
	if (strstr(box_path, "/seen-file")) {
		snprintf(s->path, sizeof(s->path), "%s", box_path);
		s->how |= how;
	}
}

/* The run options a front end uses: cgroup mode, the working directory,
 * cancel, the access callback. */
static void test_front_end_options(void)
{
	char dir[] = "/var/tmp/ward-api-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	chmod(dir, 0755);
	char file[64];
	snprintf(file, sizeof(file), "%s/seen-file", dir);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "in cwd\n", 7) == 7);
	close(fd);
	char old_cwd[512];
	CHECK(getcwd(old_cwd, sizeof(old_cwd)) != NULL);
	CHECK(chdir(dir) == 0);

	ward_policy *p = new_policy();
	ward_result *r = SENTINEL;
	struct ward_options o = WARD_OPTIONS_INIT;
	o.cgroup = (enum ward_cgroup)7;
	CHECK_INT(ward_run(p, (char *[]){"true", NULL}, &o, &r), -EINVAL);
	CHECK(r == SENTINEL);

	/* The working directory: not there unless exposed. */
	o = (struct ward_options)WARD_OPTIONS_INIT;
	r = run_sh(p, "cat seen-file", &o);
	CHECK(ward_result_exit_code(r) != 0);
	ward_result_free(r);
	o.expose_cwd = true;
	o.cgroup = WARD_CGROUP_OFF;
	r = run_sh(p, "cat seen-file; pwd", &o);
	size_t len;
	const char *out = ward_result_stdout(r, &len);
	CHECK(strncmp(out, "in cwd\n", 7) == 0 && strstr(out, dir));
	CHECK_STR(ward_result_exposed_cwd(r), dir);
	ward_result_free(r);
	CHECK(ward_result_exposed_cwd(NULL) == NULL);

	/* The policy's `cwd off` wins over the option. */
	CHECK_INT(ward_policy_set_expose_cwd(NULL, false), -EINVAL);
	CHECK(!ward_policy_get_expose_cwd(NULL));
	CHECK(ward_policy_get_expose_cwd(p));
	CHECK_INT(ward_policy_set_expose_cwd(p, false), 0);
	CHECK(!ward_policy_get_expose_cwd(p));
	r = run_sh(p, "pwd; cat seen-file", &o);
	CHECK(ward_result_exit_code(r) != 0);
	CHECK_STR(ward_result_stdout(r, NULL), "/\n");
	CHECK(ward_result_exposed_cwd(r) == NULL);
	CHECK_STR(ward_result_notice(r), "");
	ward_result_free(r);
	CHECK_INT(ward_policy_set_expose_cwd(p, true), 0);

	/* The access callback sees what the broker allowed. */
	struct seen seen = {"", 0};
	o.on_access = on_access;
	o.access_userdata = &seen;
	r = run_sh(p, "cat seen-file >/dev/null", &o);
	CHECK_INT(ward_result_exit_code(r), 0);
	CHECK_STR(seen.path, file);
	CHECK(seen.how & WARD_ACCESS_READ);
	CHECK(!(seen.how & WARD_ACCESS_WRITE));
	ward_result_free(r);

	/* Cancelled: the box is killed, the notice says why. */
	static volatile sig_atomic_t cancel = 1;
	o = (struct ward_options)WARD_OPTIONS_INIT;
	o.cancel = &cancel;
	r = run_sh(p, "sleep 10", &o);
	CHECK_INT(ward_result_status(r), WARD_STATUS_SIGNALED);
	CHECK_STR(ward_result_notice(r), "the run was cancelled");
	CHECK(ward_result_evidence(r) == NULL);
	CHECK(ward_result_wall_time(r) < 5);
	ward_result_free(r);
	CHECK_STR(ward_result_notice(NULL), "");
	CHECK(ward_result_evidence(NULL) == NULL);

	ward_policy_free(p);
	CHECK(chdir(old_cwd) == 0);
	unlink(file);
	rmdir(dir);
}

int main(void)
{
	static const struct test tests[] = {
		TEST(test_free_null),	    TEST(test_arguments),
		TEST(test_function_names), TEST(test_status_names),
		TEST(test_deny_by_default), TEST(test_stdio_buffers),
		TEST(test_output_undeliverable),
		TEST(test_limits),	    TEST(test_spawn_event_loop),
		TEST(test_no_fds_held_by_the_box), TEST(test_no_fds_left_after_a_run),
		TEST(test_threads),
		TEST(test_features),	    TEST(test_options_size),
		TEST(test_load_file_all_or_nothing), TEST(test_cleanup_helpers),
		TEST(test_limit_strings),   TEST(test_profiles),
		TEST(test_exit_status),	    TEST(test_files_and_audit),
		TEST(test_grants_and_format), TEST(test_front_end_options),
	};
	return run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
