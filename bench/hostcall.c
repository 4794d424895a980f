/* hostcall — the round trip of a host function from python3 in a box.
 *
 *   hostcall [--clients DIR] [--calls N] [--rounds N]
 *
 * The box (python3 profile, the Python shim) times N calls of nop(i) one
 * by one with perf_counter_ns and reports their median and 90th
 * percentile, then runs N calls in a tight loop and reports calls/s. Each
 * round is a fresh box; the output is one line per round and one JSON
 * line with the medians over rounds. The host function returns its
 * argument array: the measurement is the channel, the codec and the shim,
 * not the host's work. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ward.h>

static int fn_nop(ward_call *call, json_t *args, json_t **ret, void *ud)
{
	*ret = json_incref(args);
	return 0;
}

static const char script[] =
	"import sys, time, ward\n"
	"n = int(sys.argv[1])\n"
	"nop = ward.fn.nop\n"
	"for i in range(200): nop(i)\n" /* warm up */
	"t = []\n"
	"for i in range(n):\n"
	"    a = time.perf_counter_ns(); nop(i); t.append(time.perf_counter_ns() - a)\n"
	"t.sort()\n"
	"a = time.perf_counter_ns()\n"
	"for i in range(n): nop(i)\n"
	"loop = time.perf_counter_ns() - a\n"
	"print(t[n // 2] / 1000, t[n * 9 // 10] / 1000, n / (loop / 1e9))\n";

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"clients", required_argument, NULL, 'c'},
		{"calls", required_argument, NULL, 'n'},
		{"rounds", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	const char *clients = NULL;
	int calls = 20000, rounds = 5, c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c')
			clients = optarg;
		else if (c == 'n')
			calls = atoi(optarg);
		else if (c == 'r')
			rounds = atoi(optarg);
		else
			return 2;
	}
	if (calls < 10 || rounds < 1 || rounds > 100)
		return 2;
	ward_policy *p;
	if (ward_policy_new(&p) < 0 || ward_policy_load_profile(p, "python3") < 0 ||
	    ward_policy_add_function(p, "nop", fn_nop, NULL) < 0 ||
	    (clients && ward_policy_set_client_dir(p, clients) < 0)) {
		fprintf(stderr, "hostcall: %s\n", ward_policy_error(p));
		return 1;
	}
	double med[100], p90[100], rate[100];
	char n[32];
	snprintf(n, sizeof(n), "%d", calls);
	for (int i = 0; i < rounds; i++) {
		struct ward_options o = WARD_OPTIONS_INIT;
		o.stdin_data = script;
		o.stdin_len = strlen(script);
		ward_result *r;
		if (ward_run(p, (char *[]){"python3", "-", n, NULL}, &o, &r) < 0)
			return 1;
		if (ward_result_status(r) != WARD_STATUS_EXITED || ward_result_exit_code(r) != 0 ||
		    sscanf(ward_result_stdout(r, NULL), "%lf %lf %lf", &med[i], &p90[i], &rate[i]) != 3) {
			fprintf(stderr, "hostcall: the box failed: %s %s%s\n",
				ward_status_name(ward_result_status(r)), ward_result_message(r),
				ward_result_stderr(r, NULL));
			return 1;
		}
		printf("round %d: median %.1f us, p90 %.1f us, tight loop %.0f calls/s\n", i + 1, med[i],
		       p90[i], rate[i]);
		ward_result_free(r);
	}
	qsort(med, (size_t)rounds, sizeof(double), cmp_double);
	qsort(p90, (size_t)rounds, sizeof(double), cmp_double);
	qsort(rate, (size_t)rounds, sizeof(double), cmp_double);
	printf("{\"calls\":%d,\"rounds\":%d,\"median_us\":%.1f,\"p90_us\":%.1f,\"calls_per_s\":%.0f}\n",
	       calls, rounds, med[rounds / 2], p90[rounds / 2], rate[rounds / 2]);
	ward_policy_free(p);
	return 0;
}
