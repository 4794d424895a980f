/* startbench — start-to-exit wall-clock benchmark for ward and its peers.
 *
 * Runs every (payload, variant) pair round-robin for many rounds so that
 * drift on the host (frequency, page cache, a noisy neighbour vCPU) hits
 * every variant alike, drops a few warm-up rounds, and reports medians
 * with p10/p90, the time each variant adds over running the payload bare,
 * and the ratio to bare. One run is measured as clock_gettime(MONOTONIC)
 * around posix_spawn() + waitpid(), stdin/stdout/stderr on /dev/null.
 *
 * Deliberately self-contained (no libwardcore): it must measure ward from
 * the outside, exactly as a user starts it. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "startbench"
#define BENCH_DIE_STATUS 2
#include "benchutil.h"

extern char **environ;

#define MAX_VARIANTS 8
#define MAX_PAYLOADS 8
#define MAX_ARGS 64

struct cell {
	const char *variant;   /* "bare", "ward", ... or a --cmd label */
	char *argv[MAX_ARGS];  /* full command line, argv[0] an absolute path */
	double *ms;            /* samples in milliseconds (after warm-up) */
	size_t n;
	unsigned failures;
	int first_bad_status; /* raw wait status of the first failing run */
	char first_bad_err[512];
	double median, p10, p90;
};

struct payload {
	const char *name;      /* "true", "python3", "node" or "custom" */
	char *argv[MAX_ARGS];
	struct cell cells[MAX_VARIANTS];
	size_t ncells;
};

static struct payload payloads[MAX_PAYLOADS];
static size_t npayloads;

/* 1-minute load average before and after the run: other work on a 2-vCPU
 * VM shows up in the medians, and this says whether there was any. */
static double load_before, load_after;


/* Every variant runs with the same small environment, the one ward gives
 * its box. The host's may hold variables that change what a payload does
 * at start (NODE_EXTRA_CA_CERTS makes node parse a CA bundle: +10 ms),
 * and ward and bwrap would hide some of them from the payload but not
 * others, which would compare different work. --host-env keeps it. */
static char *clean_env[] = {
	"PATH=/usr/local/bin:/usr/bin:/bin",
	"HOME=/tmp",
	"LANG=C.UTF-8",
	NULL,
};
static char **child_env = clean_env;

static char *xstrdup(const char *s)
{
	char *r = strdup(s);

	if (!r)
		die("out of memory");
	return r;
}

/* Finds an executable in $PATH (or the fixed default PATH) so that every
 * variant gets the same absolute path: the box and bwrap see a different
 * PATH than the host, and bare must not pay a PATH search the others do
 * not. */
static char *find_program(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX], cwd[PATH_MAX];

	if (strchr(name, '/')) {
		if (access(name, X_OK) != 0)
			die("'%s': not executable: %s", name, strerror(errno));
		if (name[0] == '/')
			return xstrdup(name);
		/* Absolute, so that it still names the same file whatever
		 * directory the runs start in. */
		if (!getcwd(cwd, sizeof(cwd)) ||
		    snprintf(buf, sizeof(buf), "%s/%s", cwd, name) >=
			    (int)sizeof(buf))
			die("'%s': cannot make the path absolute", name);
		return xstrdup(buf);
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *end = strchrnul(path, ':');
		int len = (int)(end - path);

		if (len > 0 && snprintf(buf, sizeof(buf), "%.*s/%s", len, path,
					name) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return xstrdup(buf);
		path = *end ? end + 1 : end;
	}
	die("'%s': not found in PATH", name);
}

/* Splits "a b  c" on blanks into argv (no quoting: --cmd is for simple
 * command lines). Returns the number of words. */
static size_t split_words(char *s, char **argv, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *w = strtok_r(s, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (n + 1 >= max)
			die("too many words in command");
		argv[n++] = w;
	}
	argv[n] = NULL;
	return n;
}

static size_t argv_append(char **argv, size_t n, char *const *more)
{
	for (; *more; more++) {
		if (n + 1 >= MAX_ARGS)
			die("command line too long");
		argv[n++] = *more;
	}
	argv[n] = NULL;
	return n;
}

/* Runs argv once; returns its wall time in ms and stores the raw wait
 * status. stderr goes to err_fd (rewound and truncated first when it is
 * a capture file). */
static double run_once(char *const argv[], int null_fd, int err_fd,
		       int *ret_status)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	double t0, t1;
	int r, status;

	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, null_fd, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, null_fd, 1) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, err_fd, 2) != 0)
		die("posix_spawn_file_actions: out of memory");

	t0 = now_ms();
	r = posix_spawn(&pid, argv[0], &fa, NULL, argv, child_env);
	if (r != 0)
		die("'%s': cannot start: %s", argv[0], strerror(r));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	t1 = now_ms();

	posix_spawn_file_actions_destroy(&fa);
	*ret_status = status;
	return t1 - t0;
}

static void cell_stats(struct cell *c)
{
	qsort(c->ms, c->n, sizeof(double), cmp_double);
	c->median = percentile(c->ms, c->n, 0.5);
	c->p10 = percentile(c->ms, c->n, 0.1);
	c->p90 = percentile(c->ms, c->n, 0.9);
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status 0x%x", (unsigned)status);
}

/* Reads what a failing run wrote to stderr (the capture file). */
static void read_capture(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
}

static struct cell *find_cell(struct payload *p, const char *variant)
{
	for (size_t i = 0; i < p->ncells; i++)
		if (strcmp(p->cells[i].variant, variant) == 0)
			return &p->cells[i];
	return NULL;
}

static void print_cmdline(FILE *f, char *const argv[])
{
	for (size_t i = 0; argv[i]; i++)
		fprintf(f, "%s%s", i ? " " : "", argv[i]);
}

static void print_json(FILE *f, unsigned rounds, unsigned warmup)
{
	fprintf(f, "{\"bench\":\"startup\",\"rounds\":%u,\"warmup\":%u,"
		   "\"loadavg_before\":%.2f,\"loadavg_after\":%.2f,"
		   "\"payloads\":[",
		rounds, warmup, load_before, load_after);
	for (size_t i = 0; i < npayloads; i++) {
		struct payload *p = &payloads[i];
		struct cell *base = &p->cells[0];
		struct cell *ward = find_cell(p, "ward");
		struct cell *bwrap = find_cell(p, "bwrap");

		fprintf(f, "%s{\"name\":", i ? "," : "");
		put_json_string(f, p->name);
		fprintf(f, ",\"baseline\":");
		put_json_string(f, base->variant);
		fprintf(f, ",\"variants\":{");
		for (size_t j = 0; j < p->ncells; j++) {
			struct cell *c = &p->cells[j];

			fprintf(f, "%s", j ? "," : "");
			put_json_string(f, c->variant);
			fprintf(f, ":{\"median_ms\":%.4f,\"p10_ms\":%.4f,"
				   "\"p90_ms\":%.4f,\"added_ms\":%.4f,"
				   "\"ratio\":%.4f,\"samples\":%zu,"
				   "\"failures\":%u}",
				c->median, c->p10, c->p90,
				c->median - base->median,
				base->median > 0 ? c->median / base->median : 0,
				c->n, c->failures);
		}
		fprintf(f, "}");
		if (ward && bwrap && bwrap->median - base->median > 0)
			fprintf(f, ",\"ward_added_over_bwrap_added\":%.4f",
				(ward->median - base->median) /
					(bwrap->median - base->median));
		fprintf(f, "}");
	}
	fprintf(f, "]}\n");
}

static void print_table(unsigned rounds, unsigned warmup)
{
	printf("startbench: %u rounds interleaved (%u warm-up rounds "
	       "dropped); medians, p10-p90 in ms\n"
	       "load average %.2f before, %.2f after (the driver alone adds "
	       "up to ~1)\n",
	       rounds, warmup, load_before, load_after);
	for (size_t i = 0; i < npayloads; i++) {
		struct payload *p = &payloads[i];
		struct cell *base = &p->cells[0];
		struct cell *ward = find_cell(p, "ward");
		struct cell *bwrap = find_cell(p, "bwrap");
		int w = 12;

		printf("\n%s: ", p->name);
		print_cmdline(stdout, p->argv);
		for (size_t j = 0; j < p->ncells; j++)
			if ((int)strlen(p->cells[j].variant) > w)
				w = (int)strlen(p->cells[j].variant);
		printf("\n  %-*s %9s %17s %9s %7s\n", w, "variant", "median",
		       "p10 - p90", "added", "ratio");
		for (size_t j = 0; j < p->ncells; j++) {
			struct cell *c = &p->cells[j];

			printf("  %-*s %9.3f %8.3f - %6.3f", w, c->variant,
			       c->median, c->p10, c->p90);
			if (j == 0)
				printf(" %9s %7s", "-", "-");
			else
				printf(" %+9.3f %6.2fx",
				       c->median - base->median,
				       c->median / base->median);
			if (c->failures)
				printf("  (%u failed)", c->failures);
			printf("\n");
		}
		if (ward && bwrap && bwrap->median - base->median > 0)
			printf("  ward's added time is %.2f of bwrap's\n",
			       (ward->median - base->median) /
				       (bwrap->median - base->median));
		if (ward && strcmp(p->name, "python3") == 0 &&
		    strcmp(base->variant, "bare") == 0)
			printf("  target ward <= 1.10x bare python3: %s "
			       "(%.3fx)\n",
			       ward->median <= 1.10 * base->median ? "met"
								   : "missed",
			       ward->median / base->median);
		if (ward && bwrap && strcmp(base->variant, "bare") == 0)
			printf("  target ward added <= 1/3 bwrap added: %s\n",
			       ward->median - base->median <=
					       (bwrap->median - base->median) / 3
				       ? "met"
				       : "missed");
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: startbench [OPTIONS]\n"
		"  --rounds N       measured rounds (default 60; smoke: 3)\n"
		"  --warmup N       warm-up rounds dropped (default 3; smoke: 0)\n"
		"  --ward PATH      the ward binary (default: 'ward' in PATH)\n"
		"  --bwrap PATH     the bwrap binary (default: 'bwrap' in PATH)\n"
		"  --variants LIST  comma list of bare,ward,ward-cgroup,bwrap\n"
		"  --payloads LIST  comma list of true,python3,node\n"
		"  --cmd LABEL=CMD  instead of the matrix: compare these command\n"
		"                   lines (split on blanks; repeatable; the first\n"
		"                   is the baseline)\n"
		"  --idle MS        sleep MS before every run (untimed): start-up\n"
		"                   after idle, e.g. for a cgroup v1 attach\n"
		"  --json FILE      also write the JSON line to FILE\n"
		"  --host-env       pass this environment on (default: PATH,\n"
		"                   HOME=/tmp and LANG only, as in ward's box)\n"
		"  --smoke          only check that every variant exits 0\n");
}

static bool list_has(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *s = list; s && *s;) {
		const char *end = strchrnul(s, ',');

		if ((size_t)(end - s) == len && strncmp(s, word, len) == 0)
			return true;
		s = *end ? end + 1 : end;
	}
	return false;
}

static void check_list(const char *list, const char *const *known,
		       const char *what)
{
	for (const char *s = list; *s;) {
		const char *end = strchrnul(s, ',');
		bool ok = false;

		for (size_t i = 0; known[i]; i++)
			if (strlen(known[i]) == (size_t)(end - s) &&
			    strncmp(s, known[i], (size_t)(end - s)) == 0)
				ok = true;
		if (!ok)
			die("unknown %s '%.*s'", what, (int)(end - s), s);
		s = *end ? end + 1 : end;
	}
}

static unsigned parse_uint(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 100000)
		die("%s: expected a number up to 100000, got '%s'", what, s);
	return (unsigned)v;
}

/* Builds the matrix of payloads x variants. */
static void setup_matrix(const char *variants, const char *plist,
			 const char *ward_arg, const char *bwrap_arg)
{
	static const char *const known_v[] = {"bare", "ward", "ward-cgroup",
					      "bwrap", NULL};
	static const char *const known_p[] = {"true", "python3", "node", NULL};
	static char *ward_quiet[] = {"run", "--quiet", "--", NULL};
	static char *ward_cg[] = {"run", "--quiet", "--memory", "256M",
				  "--procs", "64", "--", NULL};
	/* bubblewrap doing roughly what ward's default box does: every
	 * namespace, read-only /usr with the merged-/usr symlinks, private
	 * /proc, /dev and /tmp. */
	static char *bwrap_args[] = {
		"--unshare-all", "--die-with-parent", "--ro-bind", "/usr",
		"/usr", "--symlink", "usr/lib", "/lib", "--symlink",
		"usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
		"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--",
		NULL};
	char *ward = NULL, *bwrap = NULL;

	check_list(variants, known_v, "variant");
	check_list(plist, known_p, "payload");
	if (list_has(variants, "ward") || list_has(variants, "ward-cgroup"))
		ward = find_program(ward_arg ? ward_arg : "ward");
	if (list_has(variants, "bwrap"))
		bwrap = find_program(bwrap_arg ? bwrap_arg : "bwrap");

	for (size_t i = 0; known_p[i]; i++) {
		struct payload *p;

		if (!list_has(plist, known_p[i]))
			continue;
		p = &payloads[npayloads++];
		p->name = known_p[i];
		if (strcmp(p->name, "true") == 0) {
			p->argv[0] = find_program("/bin/true");
		} else if (strcmp(p->name, "python3") == 0) {
			/* Debian's python, never a pyenv shim. */
			p->argv[0] = find_program("/usr/bin/python3");
			p->argv[1] = "-c";
			p->argv[2] = "pass";
		} else {
			p->argv[0] = find_program("node");
			p->argv[1] = "-e";
			p->argv[2] = "0";
		}

		for (size_t j = 0; known_v[j]; j++) {
			struct cell *c;
			size_t n = 0;

			if (!list_has(variants, known_v[j]))
				continue;
			c = &p->cells[p->ncells++];
			c->variant = known_v[j];
			if (strcmp(c->variant, "ward") == 0) {
				c->argv[n++] = ward;
				n = argv_append(c->argv, n, ward_quiet);
			} else if (strcmp(c->variant, "ward-cgroup") == 0) {
				c->argv[n++] = ward;
				n = argv_append(c->argv, n, ward_cg);
			} else if (strcmp(c->variant, "bwrap") == 0) {
				c->argv[n++] = bwrap;
				n = argv_append(c->argv, n, bwrap_args);
			}
			argv_append(c->argv, n, p->argv);
		}
	}
}

/* Builds one payload from --cmd LABEL=CMD options. */
static void setup_custom(char **cmds, size_t ncmds)
{
	struct payload *p = &payloads[npayloads++];

	p->name = "custom";
	p->argv[0] = NULL;
	for (size_t i = 0; i < ncmds; i++) {
		struct cell *c = &p->cells[p->ncells++];
		char *eq = strchr(cmds[i], '=');

		if (!eq || eq == cmds[i])
			die("--cmd '%s': expected LABEL=COMMAND", cmds[i]);
		*eq = '\0';
		c->variant = cmds[i];
		if (split_words(eq + 1, c->argv, MAX_ARGS) == 0)
			die("--cmd '%s': empty command", cmds[i]);
		c->argv[0] = find_program(c->argv[0]);
	}
	/* The header line shows the baseline's command. */
	argv_append(p->argv, 0, p->cells[0].argv);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"rounds", required_argument, NULL, 'r'},
		{"warmup", required_argument, NULL, 'w'},
		{"ward", required_argument, NULL, 'W'},
		{"bwrap", required_argument, NULL, 'B'},
		{"variants", required_argument, NULL, 'v'},
		{"payloads", required_argument, NULL, 'p'},
		{"cmd", required_argument, NULL, 'c'},
		{"json", required_argument, NULL, 'j'},
		{"smoke", no_argument, NULL, 's'},
		{"host-env", no_argument, NULL, 'E'},
		{"idle", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *variants = "bare,ward,ward-cgroup,bwrap";
	const char *plist = "true,python3,node";
	const char *ward = NULL, *bwrap = NULL, *json_path = NULL;
	char *cmds[MAX_VARIANTS];
	size_t ncmds = 0;
	int rounds = -1, warmup = -1, c, null_fd, err_fd;
	bool smoke = false;
	unsigned bad = 0, idle_ms = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rounds = (int)parse_uint(optarg, "--rounds");
			break;
		case 'w':
			warmup = (int)parse_uint(optarg, "--warmup");
			break;
		case 'W':
			ward = optarg;
			break;
		case 'B':
			bwrap = optarg;
			break;
		case 'v':
			variants = optarg;
			break;
		case 'p':
			plist = optarg;
			break;
		case 'c':
			if (ncmds == MAX_VARIANTS)
				die("at most %d --cmd options", MAX_VARIANTS);
			cmds[ncmds++] = optarg;
			break;
		case 'j':
			json_path = optarg;
			break;
		case 's':
			smoke = true;
			break;
		case 'E':
			child_env = environ;
			break;
		case 'i':
			idle_ms = parse_uint(optarg, "--idle");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc)
		die("unexpected argument '%s'", argv[optind]);
	if (rounds < 0)
		rounds = smoke ? 3 : 60;
	if (warmup < 0)
		warmup = smoke ? 0 : 3;
	if (rounds == 0)
		die("--rounds: expected at least 1");

	if (ncmds)
		setup_custom(cmds, ncmds);
	else
		setup_matrix(variants, plist, ward, bwrap);

	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		die("'/dev/null': %s", strerror(errno));
	/* In smoke mode stderr is captured so that a failure can be shown;
	 * when timing it goes to /dev/null like stdout. */
	err_fd = null_fd;
	if (smoke) {
		char tmpl[] = "/tmp/startbench-XXXXXX";

		err_fd = mkostemp(tmpl, O_CLOEXEC);
		if (err_fd < 0)
			die("'%s': %s", tmpl, strerror(errno));
		unlink(tmpl);
	}

	for (size_t i = 0; i < npayloads; i++)
		for (size_t j = 0; j < payloads[i].ncells; j++) {
			payloads[i].cells[j].ms =
				calloc((size_t)rounds, sizeof(double));
			if (!payloads[i].cells[j].ms)
				die("out of memory");
		}

	load_before = loadavg();
	for (int r = 0; r < warmup + rounds; r++) {
		for (size_t i = 0; i < npayloads; i++) {
			struct payload *p = &payloads[i];

			/* Rotate the starting variant every round so that no
			 * variant always runs right after the same other one. */
			for (size_t k = 0; k < p->ncells; k++) {
				struct cell *cl =
					&p->cells[(k + (size_t)r) % p->ncells];
				int status;
				double ms;

				if (smoke && ftruncate(err_fd, 0) < 0)
					die("ftruncate: %s", strerror(errno));
				if (idle_ms) {
					struct timespec ts = {
						idle_ms / 1000,
						(long)(idle_ms % 1000) * 1000000,
					};

					nanosleep(&ts, NULL);
				}
				ms = run_once(cl->argv, null_fd, err_fd,
					      &status);
				if (r < warmup)
					continue;
				cl->ms[cl->n++] = ms;
				if (WIFEXITED(status) &&
				    WEXITSTATUS(status) == 0)
					continue;
				if (cl->failures++ == 0) {
					cl->first_bad_status = status;
					if (smoke)
						read_capture(
							err_fd,
							cl->first_bad_err,
							sizeof(cl->first_bad_err));
				}
			}
		}
	}

	load_after = loadavg();

	for (size_t i = 0; i < npayloads; i++)
		for (size_t j = 0; j < payloads[i].ncells; j++) {
			struct cell *cl = &payloads[i].cells[j];
			char how[128];

			cell_stats(cl);
			if (!cl->failures)
				continue;
			bad++;
			describe_status(cl->first_bad_status, how, sizeof(how));
			fprintf(stderr, "%s: %s/%s failed %u of %zu runs (first: %s): ",
				BENCH_NAME, payloads[i].name, cl->variant, cl->failures,
				cl->n, how);
			print_cmdline(stderr, cl->argv);
			fputc('\n', stderr);
			if (cl->first_bad_err[0])
				fprintf(stderr, "  its stderr: %s\n",
					cl->first_bad_err);
		}

	if (smoke) {
		for (size_t i = 0; i < npayloads; i++)
			for (size_t j = 0; j < payloads[i].ncells; j++) {
				struct cell *cl = &payloads[i].cells[j];

				printf("%-4s %s/%s (%zu runs, median %.2f ms)\n",
				       cl->failures ? "FAIL" : "ok",
				       payloads[i].name, cl->variant, cl->n,
				       cl->median);
			}
		return bad ? 1 : 0;
	}

	print_table((unsigned)rounds, (unsigned)warmup);
	printf("\n");
	print_json(stdout, (unsigned)rounds, (unsigned)warmup);
	if (json_path) {
		FILE *f = fopen(json_path, "we");

		if (!f)
			die("'%s': %s", json_path, strerror(errno));
		print_json(f, (unsigned)rounds, (unsigned)warmup);
		if (fclose(f) != 0)
			die("'%s': %s", json_path, strerror(errno));
	}
	return bad ? 1 : 0;
}
