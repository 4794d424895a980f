/* hostfn — a host program for the host-function tests: runs one command in
 * a box through libward with a few functions, and prints one JSON object
 * describing the run on stdout:
 *   {"status", "exit_code", "message", "stdout", "stderr", "calls"}
 *
 *   hostfn [--clients DIR] [--profile NAME] [--max-message N]
 *          [--max-calls N] [--call-timeout MS] [--wall-time MS]
 *          [--no-functions] [--policy FILE] [--ask PREFIX]
 *          [--handler] [--allow BOXPATH]... [--ask-delay MS] -- PROGRAM [ARG...]
 *
 * Ask rules: --ask adds a rule; --handler (implied by --allow) sets an
 * access handler that allows exactly the --allow paths, after sleeping
 * --ask-delay ms. The JSON then has "asked" (one "call path access" string
 * per question), "off_thread" (every question came on a thread other than
 * main's) and "report" (the run report).
 *
 * Functions: echo(...) returns its argument array; add(a, b); fail(msg)
 * fails the call with msg; sleep(ms) sleeps on the host; big(n) returns n
 * bytes of "x"; count() counts its calls; nothing() returns null. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ward.h"

static int fn_echo(ward_call *call, json_t *args, json_t **ret, void *ud)
{
	*ret = json_incref(args);
	return 0;
}

static int fn_add(ward_call *call, json_t *args, json_t **ret, void *ud)
{
	json_t *a = json_array_get(args, 0), *b = json_array_get(args, 1);
	if (json_array_size(args) != 2 || !json_is_number(a) || !json_is_number(b))
		return ward_call_fail(call, "add expects two numbers");
	if (json_is_integer(a) && json_is_integer(b))
		*ret = json_integer(json_integer_value(a) + json_integer_value(b));
	else
		*ret = json_real(json_number_value(a) + json_number_value(b));
	return *ret ? 0 : -ENOMEM;
}

/* The README's example function, as the README writes it. */
static int fn_get_post(ward_call *call, json_t *args, json_t **ret, void *ud)
{
	json_int_t id = json_integer_value(json_array_get(args, 0));
	if (id != 3)
		return ward_call_fail(call, "no post %lld", (long long)id);
	*ret = json_pack("{s:s}", "title", "Limits");
	return 0;
}

static int fn_fail(ward_call *call, json_t *args, json_t **ret, void *ud)
{
	const char *msg = json_string_value(json_array_get(args, 0));
	return ward_call_fail(call, "%s", msg ? msg : "failed");
}

static int fn_sleep(ward_call *call, json_t *args, json_t **ret, void *ud)
{
	json_int_t ms = json_integer_value(json_array_get(args, 0));
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
	return 0;
}

static int fn_big(ward_call *call, json_t *args, json_t **ret, void *ud)
{
	json_int_t n = json_integer_value(json_array_get(args, 0));
	if (n < 0 || n > 100 << 20)
		return ward_call_fail(call, "big expects 0 to 100M");
	char *s = malloc((size_t)n + 1);
	if (!s)
		return -ENOMEM;
	memset(s, 'x', (size_t)n);
	s[n] = 0;
	*ret = json_stringn_nocheck(s, (size_t)n);
	free(s);
	return 0;
}

static int fn_count(ward_call *call, json_t *args, json_t **ret, void *ud)
{
	long *calls = ud;
	*ret = json_integer(++*calls);
	return 0;
}

static int fn_nothing(ward_call *call, json_t *args, json_t **ret, void *ud)
{
	return 0;
}

/* The access handler: allows the --allow paths, records every question. */
struct asker {
	char *allow[16];
	size_t n_allow;
	long delay_ms;
	pthread_t main;
	bool off_thread;
	json_t *asked;
};

static bool ask_access(const char *box_path, unsigned access, const char *call, void *ud)
{
	struct asker *a = ud;
	if (pthread_equal(pthread_self(), a->main))
		a->off_thread = false;
	char line[4200];
	snprintf(line, sizeof(line), "%s %s %s%s%s%s%s", call, box_path,
		 access & WARD_ACCESS_READ ? "r" : "", access & WARD_ACCESS_WRITE ? "w" : "",
		 access & WARD_ACCESS_CREATE ? "c" : "", access & WARD_ACCESS_EXEC ? "x" : "",
		 access & WARD_ACCESS_DIR ? "d" : "");
	json_array_append_new(a->asked, json_string(line));
	if (a->delay_ms) {
		struct timespec ts = {a->delay_ms / 1000, (a->delay_ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < a->n_allow; i++)
		if (!strcmp(a->allow[i], box_path))
			return true;
	return false;
}

static void die_policy(ward_policy *p, const char *what)
{
	fprintf(stderr, "hostfn: %s: %s\n", what, ward_policy_error(p));
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"clients", required_argument, NULL, 'c'},
		{"profile", required_argument, NULL, 'p'},
		{"max-message", required_argument, NULL, 'm'},
		{"max-calls", required_argument, NULL, 'n'},
		{"call-timeout", required_argument, NULL, 't'},
		{"wall-time", required_argument, NULL, 'w'},
		{"no-functions", no_argument, NULL, 'F'},
		{"policy", required_argument, NULL, 'P'},
		{"ask", required_argument, NULL, 'a'},
		{"handler", no_argument, NULL, 'H'},
		{"allow", required_argument, NULL, 'A'},
		{"ask-delay", required_argument, NULL, 'D'},
		{NULL, 0, NULL, 0},
	};
	ward_policy *p;
	long calls = 0;
	bool functions = true, handler = false;
	struct asker asker = {.main = pthread_self(), .off_thread = true, .asked = json_array()};
	if (ward_policy_new(&p) < 0)
		return 2;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		unsigned long long v = optarg ? strtoull(optarg, NULL, 10) : 0;
		int r = 0;
		switch (c) {
		case 'c': r = ward_policy_set_client_dir(p, optarg); break;
		case 'p': r = ward_policy_load_profile(p, optarg); break;
		case 'm': r = ward_policy_set_channel_limit(p, WARD_CHANNEL_MAX_MESSAGE, v); break;
		case 'n': r = ward_policy_set_channel_limit(p, WARD_CHANNEL_MAX_CALLS, v); break;
		case 't': r = ward_policy_set_channel_limit(p, WARD_CHANNEL_CALL_TIMEOUT, v); break;
		case 'w': r = ward_policy_set_limit(p, WARD_LIMIT_WALL_TIME, v); break;
		case 'F': functions = false; break;
		case 'P': r = ward_policy_load_file(p, optarg); break;
		case 'a': r = ward_policy_add_ask(p, optarg); break;
		case 'H': handler = true; break;
		case 'A':
			handler = true;
			if (asker.n_allow < 16)
				asker.allow[asker.n_allow++] = optarg;
			break;
		case 'D': asker.delay_ms = (long)v; break;
		default: return 2;
		}
		if (r < 0)
			die_policy(p, argv[optind - 1]);
	}
	if (optind >= argc) {
		fprintf(stderr, "hostfn: no program given\n");
		return 2;
	}
	static const struct {
		const char *name;
		ward_function fn;
	} fns[] = {
		{"echo", fn_echo},   {"add", fn_add}, {"fail", fn_fail},	 {"sleep", fn_sleep},
		{"big", fn_big},     {"count", fn_count}, {"nothing", fn_nothing},
		{"get_post", fn_get_post},
	};
	for (size_t i = 0; functions && i < sizeof(fns) / sizeof(fns[0]); i++)
		if (ward_policy_add_function(p, fns[i].name, fns[i].fn, &calls) < 0)
			die_policy(p, fns[i].name);

	if (handler && ward_policy_set_access_handler(p, ask_access, &asker) < 0)
		die_policy(p, "--handler");

	ward_result *r;
	int rc = ward_run(p, argv + optind, NULL, &r);
	if (rc < 0) {
		fprintf(stderr, "hostfn: ward_run: %s\n", strerror(-rc));
		return 2;
	}
	size_t olen, elen;
	const char *out = ward_result_stdout(r, &olen), *err = ward_result_stderr(r, &elen);
	json_t *o = json_pack("{s:s,s:i,s:s,s:s%,s:s%,s:i}",
			      "status", ward_status_name(ward_result_status(r)),
			      "exit_code", ward_result_exit_code(r),
			      "message", ward_result_message(r),
			      "stdout", out, olen, "stderr", err, elen,
			      "calls", (int)calls);
	char *report = ward_result_report(r);
	json_t *rep = report ? json_loads(report, 0, NULL) : NULL;
	free(report);
	if (o && handler) {
		json_object_set_new(o, "asked", asker.asked);
		json_object_set_new(o, "off_thread", json_boolean(asker.off_thread));
	} else {
		json_decref(asker.asked);
	}
	if (o && rep)
		json_object_set_new(o, "report", rep);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (!s) {
		/* Output that is not UTF-8 cannot be a JSON string. */
		fprintf(stderr, "hostfn: cannot encode the result\n");
		return 2;
	}
	printf("%s\n", s);
	free(s);
	json_decref(o);
	ward_result_free(r);
	ward_policy_free(p);
	return 0;
}
