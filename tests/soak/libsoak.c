/* libsoak — a long-lived library user for the soak (tests/soak/soak.py):
 * one process runs many boxes through libward, one after the other,
 * alternating ward_run and ward_spawn (with an event loop, a kill and a
 * free of a running box), over ordinary programs, an output flood, a wall
 * time kill, a daemon, a fork bomb and a memory bomb. Each run's status is
 * checked against what its kind must give. Every SAMPLE runs it prints
 *
 *   sample RUN RSS_KB HEAP_BYTES FDS
 *
 * (resident memory, malloc's bytes in use, open fds), and at the end
 *
 *   done RUNS BAD
 *
 * A run that ended wrong prints "bad RUN KIND: WHAT" on stderr.
 *
 *   libsoak RUNS SAMPLE TOKEN [unpriv]
 *
 * TOKEN goes into every box's argv, so that the caller can look for
 * leftover processes; "unpriv" accepts the rlimit fallback's endings for
 * the bombs (no cgroup for an ordinary user on this host: the program sees
 * fork or malloc fail and ends its own way, ward(1) LIMITS). */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward.h"

/* Under ASan, malloc is ASan's: mallinfo2() says nothing, ASan says what
 * is in use (the soak turns its quarantine of freed memory off). */
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifdef HAVE_ASAN
/* From <sanitizer/allocator_interface.h>, which gcc 12 does not ship. */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
static size_t heap_in_use(void)
{
	return mallinfo2().uordblks;
}
#endif

static const char *token;
static bool unpriv;
static long bad;

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	long size = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * 4;
}

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the DIR's own fd */
}

static void fail(long run, const char *kind, const char *what, const ward_result *r)
{
	bad++;
	fprintf(stderr, "bad %ld %s: %s (status %s, exit %d, signal %d, message '%s')\n", run, kind,
		what, r ? ward_status_name(ward_result_status(r)) : "none",
		r ? ward_result_exit_code(r) : -1, r ? ward_result_signal(r) : 0,
		r ? ward_result_message(r) : "");
}

/* Serves a spawned box from an event loop until it is over. */
static int serve(ward_box *b)
{
	for (int rounds = 0; rounds < 100000; rounds++) {
		struct pollfd pf = {ward_box_fd(b), POLLIN, 0};
		if (poll(&pf, 1, 10000) < 0 && errno != EINTR)
			return -errno;
		int r = ward_box_process(b);
		if (r != 0)
			return r;
	}
	return -ETIMEDOUT;
}

static ward_policy *policy(const char *profile, enum ward_limit limit, uint64_t value)
{
	ward_policy *p = NULL;
	if (ward_policy_new(&p) < 0)
		return NULL;
	if ((profile && ward_policy_load_profile(p, profile) < 0) ||
	    (value && ward_policy_set_limit(p, limit, value) < 0)) {
		ward_policy_free(p);
		return NULL;
	}
	return p;
}

static bool status_is(const ward_result *r, enum ward_status s)
{
	return ward_result_status(r) == s;
}

/* The rlimit fallback: the program saw its fork or malloc fail and ended
 * its own way (a non-zero exit), or ward named the limit. */
static bool bomb_ended(const ward_result *r, enum ward_status limit)
{
	if (status_is(r, limit))
		return true;
	return unpriv && status_is(r, WARD_STATUS_EXITED) && ward_result_exit_code(r) != 0;
}

static void one(long run)
{
	static const char *const kinds[] = {"echo", "exit", "flood", "wall", "daemon",
					    "kill", "free", "fork-bomb", "memory-bomb", "echo-spawn"};
	const char *kind = kinds[run % (sizeof(kinds) / sizeof(kinds[0]))];
	ward_policy *p = NULL;
	ward_result *r = NULL;
	ward_box *b = NULL;
	char script[512];
	int rc;

	if (!strcmp(kind, "echo") || !strcmp(kind, "echo-spawn")) {
		p = policy(NULL, 0, 0);
		char *argv[] = {"/bin/echo", (char *)token, NULL};
		if (!strcmp(kind, "echo"))
			rc = ward_run(p, argv, NULL, &r);
		else if ((rc = ward_spawn(p, argv, NULL, &b)) == 0 && (rc = serve(b)) == 1)
			rc = ward_box_wait(b, &r);
		char want[256];
		snprintf(want, sizeof(want), "%s\n", token);
		if (rc < 0 || !r || !status_is(r, WARD_STATUS_EXITED) || ward_result_exit_code(r) != 0 ||
		    strcmp(ward_result_stdout(r, NULL), want))
			fail(run, kind, "expected exited 0 with the token on stdout", r);
	} else if (!strcmp(kind, "exit")) {
		p = policy(NULL, 0, 0);
		rc = ward_spawn(p, (char *[]){"/bin/sh", "-c", "echo x >&2; exit 7", (char *)token, NULL},
				NULL, &b);
		if (rc == 0)
			rc = ward_box_wait(b, &r);
		if (rc < 0 || !r || !status_is(r, WARD_STATUS_EXITED) || ward_result_exit_code(r) != 7 ||
		    strcmp(ward_result_stderr(r, NULL), "x\n"))
			fail(run, kind, "expected exited 7", r);
	} else if (!strcmp(kind, "flood")) {
		p = policy(NULL, WARD_LIMIT_OUTPUT, 64 << 10);
		struct ward_options o = WARD_OPTIONS_INIT;
		o.capture_max = 16 << 10;
		rc = ward_run(p, (char *[]){"/bin/sh", "-c", "exec yes \"$0\"", (char *)token, NULL}, &o,
			      &r);
		size_t len = 0;
		if (r)
			ward_result_stdout(r, &len);
		if (rc < 0 || !r || !status_is(r, WARD_STATUS_OUTPUT_LIMIT) || len != 16 << 10)
			fail(run, kind, "expected output-limit with 16K captured", r);
	} else if (!strcmp(kind, "wall")) {
		p = policy(NULL, WARD_LIMIT_WALL_TIME, 200);
		snprintf(script, sizeof(script), "trap '' TERM; sleep 30; :");
		if ((rc = ward_spawn(p, (char *[]){"/bin/sh", "-c", script, (char *)token, NULL}, NULL,
				     &b)) == 0 &&
		    (rc = serve(b)) == 1)
			rc = ward_box_wait(b, &r);
		if (rc < 0 || !r || !status_is(r, WARD_STATUS_TIME_LIMIT))
			fail(run, kind, "expected time-limit", r);
	} else if (!strcmp(kind, "daemon")) {
		p = policy(NULL, 0, 0);
		rc = ward_run(p,
			      (char *[]){"/bin/sh", "-c",
					 "(trap '' TERM HUP; sh -c 'sleep 30; :' \"$0\" &) ; "
					 "setsid sh -c 'sleep 30; :' \"$0\" & echo up",
					 (char *)token, NULL},
			      NULL, &r);
		if (rc < 0 || !r || !status_is(r, WARD_STATUS_EXITED) || ward_result_exit_code(r) != 0 ||
		    strcmp(ward_result_stdout(r, NULL), "up\n"))
			fail(run, kind, "expected exited 0 with 'up'", r);
	} else if (!strcmp(kind, "kill")) {
		p = policy(NULL, 0, 0);
		if ((rc = ward_spawn(p, (char *[]){"/bin/sh", "-c", "sleep 30; :", (char *)token, NULL},
				     NULL, &b)) == 0 &&
		    (rc = ward_box_kill(b)) == 0)
			rc = ward_box_wait(b, &r);
		if (rc < 0 || !r || !status_is(r, WARD_STATUS_SIGNALED) || ward_result_signal(r) != 9)
			fail(run, kind, "expected signaled 9", r);
	} else if (!strcmp(kind, "free")) {
		/* Freeing a running box kills it and waits for it. */
		p = policy(NULL, 0, 0);
		rc = ward_spawn(p, (char *[]){"/bin/sh", "-c", "sleep 30; :", (char *)token, NULL}, NULL,
				&b);
		if (rc < 0)
			fail(run, kind, "ward_spawn failed", NULL);
	} else if (!strcmp(kind, "fork-bomb")) {
		p = policy(NULL, WARD_LIMIT_PROCS, 8);
		rc = ward_run(p,
			      (char *[]){"/bin/sh", "-c",
					 "i=0; while [ $i -lt 40 ]; do sleep 1 || exit 3 & i=$((i+1)); done; "
					 "wait",
					 (char *)token, NULL},
			      NULL, &r);
		if (rc < 0 || !r || !bomb_ended(r, WARD_STATUS_PROCS_LIMIT))
			fail(run, kind, "expected procs-limit", r);
	} else if (!strcmp(kind, "memory-bomb")) {
		p = policy("python3", WARD_LIMIT_MEMORY, 64 << 20);
		rc = ward_run(p,
			      (char *[]){"/usr/bin/python3", "-c",
					 "b = []\nfor i in range(64): b.append(bytearray(4 << 20))\n"
					 "print('allocated all')",
					 (char *)token, NULL},
			      NULL, &r);
		if (rc < 0 || !r || !bomb_ended(r, WARD_STATUS_MEMORY_LIMIT) ||
		    strstr(ward_result_stdout(r, NULL), "allocated all"))
			fail(run, kind, "expected memory-limit", r);
	}
	ward_result_free(r);
	ward_box_free(b);
	ward_policy_free(p);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: libsoak RUNS SAMPLE TOKEN [unpriv]\n");
		return 2;
	}
	long runs = strtol(argv[1], NULL, 10), sample = strtol(argv[2], NULL, 10);
	token = argv[3];
	unpriv = argc > 4 && !strcmp(argv[4], "unpriv");
	if (runs <= 0 || sample <= 0)
		return 2;
	for (long i = 0; i < runs; i++) {
		one(i);
		if ((i + 1) % sample == 0 || i + 1 == runs) {
			printf("sample %ld %ld %zu %d\n", i + 1, rss_kb(), heap_in_use(), fd_count());
			fflush(stdout);
		}
	}
	printf("done %ld %ld\n", runs, bad);
	return bad ? 1 : 0;
}
