/* run.c — `ward run [OPTIONS] [--] PROGRAM [ARGS...]`: options into a
 * policy, the run, then what the library reported: messages, the JSON
 * report and the exit status. Everything goes through libward's public
 * API (include/ward.h) but --learn's narrowing (audit.c).
 *
 * The policy is composed in a fixed order whatever the order on the
 * command line: the profile, then every --policy file, then the other
 * options in the order given (later ones override, grants accumulate). */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "audit.h"
#include "banned.h"

enum {
	OPT_PROFILE = 0x100,
	OPT_POLICY,
	OPT_RO,
	OPT_RW,
	OPT_TMPFS,
	OPT_CWD,
	OPT_NO_CWD,
	OPT_ENV,
	OPT_HOSTNAME,
	OPT_EXEC,
	OPT_NET,
	OPT_REPORT,
	OPT_CGROUP,
	OPT_QUIET,
	OPT_AUDIT,
	OPT_FILE,
	OPT_FILE_TEXT,
	OPT_LEARN,
	OPT_WARM,
	OPT_LIMIT, /* OPT_LIMIT + enum ward_limit */
};

/* getopt_long's rows: an option that takes a value, one that does not,
 * and a limit (its value OPT_LIMIT + the limit). */
#define ARG(name, val) {name, required_argument, NULL, val}
#define FLAG(name, val) {name, no_argument, NULL, val}
#define LIMIT(name, limit) ARG(name, OPT_LIMIT + WARD_LIMIT_##limit)

static const struct option options[] = {
	ARG("profile", OPT_PROFILE),
	ARG("policy", OPT_POLICY),
	ARG("ro", OPT_RO),
	ARG("rw", OPT_RW),
	ARG("tmpfs", OPT_TMPFS),
	ARG("cwd", OPT_CWD),
	FLAG("no-cwd", OPT_NO_CWD),
	ARG("env", OPT_ENV),
	ARG("hostname", OPT_HOSTNAME),
	ARG("exec", OPT_EXEC),
	ARG("net", OPT_NET),
	LIMIT("memory", MEMORY),
	LIMIT("cpu-time", CPU_TIME),
	LIMIT("wall-time", WALL_TIME),
	LIMIT("procs", PROCS),
	LIMIT("output", OUTPUT),
	LIMIT("file-size", FILE_SIZE),
	LIMIT("open-files", OPEN_FILES),
	LIMIT("tmp-size", TMP_SIZE),
	LIMIT("disk", DISK),
	ARG("report", OPT_REPORT),
	ARG("cgroup", OPT_CGROUP),
	FLAG("quiet", OPT_QUIET),
	FLAG("audit", OPT_AUDIT),
	ARG("file", OPT_FILE),
	ARG("file-text", OPT_FILE_TEXT),
	ARG("learn", OPT_LEARN),
	ARG("warm", OPT_WARM),
	FLAG("help", 'h'),
	{NULL, 0, NULL, 0},
};

/* An option that adds to the policy, kept until the profile and the
 * policy files are in. */
struct op {
	int opt;
	const char *arg;
};

struct run_args {
	const char *profile; /* NULL = auto */
	struct op *ops;	     /* --policy first, then the rest in order */
	size_t n_ops;
	const char *report;
	const char *learn;
	const char *warm; /* NULL, "pool" or "zygote" */
	enum ward_cgroup cgroup;
	bool quiet;
	char **program; /* NULL-terminated: PROGRAM ARGS... */
};

static const char *option_name(int opt)
{
	for (size_t i = 0; options[i].name; i++)
		if (options[i].val == opt)
			return options[i].name;
	return "?";
}

/* getopt_long's '?' covers unknown, ambiguous and "takes no value"
 * options alike: tell them apart for the message. */
_noreturn_ static void die_bad_option(const char *arg, int short_opt)
{
	if (!arg || strncmp(arg, "--", 2) != 0)
		die_usage("run: unknown option '-%c'", short_opt > 0 && short_opt < 0x100 ? short_opt : '?');
	const char *name = arg + 2;
	size_t len = strcspn(name, "=");
	size_t matches = 0, off = 0;
	char list[512] = "";
	for (size_t i = 0; options[i].name; i++) {
		if (strncmp(options[i].name, name, len) != 0)
			continue;
		if (strlen(options[i].name) == len) /* exact: given a value it does not take */
			die_usage("run: option '--%s' takes no value", options[i].name);
		matches++;
		int n = snprintf(list + off, sizeof(list) - off, "%s--%s", off ? ", " : "", options[i].name);
		if (n > 0 && (size_t)n < sizeof(list) - off)
			off += (size_t)n;
	}
	if (matches == 1) /* an abbreviation of an option that takes no value */
		die_usage("run: option '%s' takes no value", list);
	if (matches > 1)
		die_usage("run: ambiguous option '--%.*s' (could be %s)", (int)len, name, list);
	die_usage("run: unknown option '--%.*s'", (int)len, name);
}

static void check_profile_name(const char *name)
{
	if (!strcmp(name, "auto") || !strcmp(name, "none") || ward_profile_text(name))
		return;
	char known[512] = "auto, none";
	size_t off = strlen(known);
	for (size_t i = 0; ward_profile_name(i) && off < sizeof(known); i++) {
		int n = snprintf(known + off, sizeof(known) - off, ", %s", ward_profile_name(i));
		if (n < 0)
			break;
		off += (size_t)n;
	}
	die(EXIT_USAGE, "--profile: unknown profile '%s' (expected %s)", name, known);
}

static enum ward_cgroup parse_cgroup_mode(const char *s)
{
	if (!strcmp(s, "auto"))
		return WARD_CGROUP_AUTO;
	if (!strcmp(s, "off"))
		return WARD_CGROUP_OFF;
	if (!strcmp(s, "require"))
		return WARD_CGROUP_REQUIRE;
	die(EXIT_USAGE, "--cgroup: invalid mode '%s' (expected auto, off or require)", s);
}

/* Parses argv (argv[0] = "run"). Options that shape the run itself are
 * taken at once; the ones that add to the policy are queued in a. */
static void parse_args(int argc, char **argv, struct run_args *a)
{
	/* At most one queued option per argument. */
	a->ops = calloc((size_t)argc + 1, sizeof(*a->ops));
	if (!a->ops)
		die_oom();
	size_t n_policy = 0;

	opterr = 0;
	optind = 1;
	for (;;) {
		int prev = optind;
		/* "+": the first non-option is PROGRAM, and everything after
		 * it belongs to PROGRAM. ":": a missing value returns ':'. */
		int c = getopt_long(argc, argv, "+:h", options, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'h':
			print_help(stdout);
			free(a->ops);
			exit(finish_stdout(0));
		case ':':
			die_usage("run: option '%s%s' needs a value", optopt >= 0x100 ? "--" : "-",
				  optopt >= 0x100 ? option_name(optopt) : (char[]){(char)optopt, 0});
		case '?':
			/* A long option always moves optind past itself; an
			 * unknown short one may sit inside a cluster ("-xh"). */
			die_bad_option(optind > prev ? argv[optind - 1] : NULL, optopt);
		case OPT_PROFILE:
			check_profile_name(optarg);
			a->profile = strcmp(optarg, "auto") ? optarg : NULL;
			break;
		case OPT_REPORT:
			if (!optarg[0])
				die(EXIT_USAGE, "--report: empty file name (expected FILE or '-' for stderr)");
			a->report = optarg;
			break;
		case OPT_CGROUP:
			a->cgroup = parse_cgroup_mode(optarg);
			break;
		case OPT_QUIET:
			a->quiet = true;
			break;
		case OPT_LEARN:
			if (!optarg[0])
				die(EXIT_USAGE, "--learn: empty file name (expected FILE)");
			a->learn = optarg;
			break;
		case OPT_WARM:
			if (strcmp(optarg, "pool") && strcmp(optarg, "zygote"))
				die_usage("run: --warm: unknown mode '%s' (expected pool or zygote)", optarg);
			a->warm = optarg;
			break;
		case OPT_POLICY:
			/* Policy files go first, in their own order. */
			memmove(a->ops + n_policy + 1, a->ops + n_policy,
				(a->n_ops - n_policy) * sizeof(*a->ops));
			a->ops[n_policy++] = (struct op){c, optarg};
			a->n_ops++;
			break;
		default:
			a->ops[a->n_ops++] = (struct op){c, optarg};
			break;
		}
	}
	if (optind >= argc)
		die_usage("run: missing PROGRAM (usage: ward run [OPTIONS] [--] PROGRAM [ARGS...])");
	if (!argv[optind][0])
		die_usage("run: PROGRAM is an empty string");
	a->program = argv + optind;
}

/* A policy setter's failure: one line naming the option and the reason
 * (the library's message names the value). */
static void check_policy(int r, const char *opt, const ward_policy *p)
{
	if (r == -ENOMEM)
		die_oom();
	if (r < 0) {
		const char *msg = ward_policy_error(p);
		die(EXIT_USAGE, "--%s: %s", opt, msg[0] ? msg : strerror_lc(-r));
	}
}

/* path_normalize() that dies with the option's name. */
static char *normalize(const char *opt, const char *path)
{
	char *n = path_normalize(path);
	if (!n && errno == ENOMEM)
		die_oom();
	if (!n)
		die_errno(EXIT_USAGE, "--%s: invalid path '%s'", opt, path);
	return n;
}

static void check_box_path(const char *opt, const char *path, const char *whole)
{
	if (path[0] == '/')
		return;
	if (whole)
		die(EXIT_USAGE, "--%s: invalid box path '%s' in '%s' (expected an absolute path)", opt,
		    path, whole);
	die(EXIT_USAGE, "--%s: invalid box path '%s' (expected an absolute path)", opt, path);
}

/* --ro/--rw HOST[:BOX]. HOST is made absolute against the current
 * directory and must exist; BOX defaults to that same absolute path (not
 * realpath()'d: the box sees the path the user named). A HOST containing
 * ':' cannot be given here; a policy file can (ward-policy(5)). */
static void add_bind(ward_policy *p, int opt, const char *arg)
{
	const char *name = option_name(opt);
	const char *colon = strchr(arg, ':');
	_cleanup_free_ char *host = colon ? strndup(arg, (size_t)(colon - arg)) : strdup(arg);
	if (!host)
		die_oom();
	if (!host[0])
		die(EXIT_USAGE, "--%s: invalid grant '%s' (expected HOST[:BOX])", name, arg);
	const char *box = colon ? colon + 1 : NULL;
	if (box)
		check_box_path(name, box, arg);

	_cleanup_free_ char *abs = NULL;
	if (host[0] == '/') {
		abs = normalize(name, host);
	} else {
		_cleanup_free_ char *cwd = getcwd(NULL, 0);
		if (!cwd)
			die_errno(EXIT_USAGE, "--%s: '%s': cannot resolve against the current directory",
				  name, host);
		_cleanup_free_ char *joined = NULL;
		if (asprintf(&joined, "%s/%s", cwd, host) < 0)
			die_oom();
		abs = normalize(name, joined);
	}
	struct stat st;
	if (stat(abs, &st) < 0)
		die_errno(EXIT_USAGE, "--%s: '%s'", name, host);

	_cleanup_free_ char *box_norm = normalize(name, box ? box : abs);
	check_policy(opt == OPT_RO ? ward_policy_grant_ro(p, abs, box_norm)
				   : ward_policy_grant_rw(p, abs, box_norm),
		     name, p);
}

/* --tmpfs BOX[:SIZE]; SIZE defaults to the tmp-size limit. */
static void add_tmpfs(ward_policy *p, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	_cleanup_free_ char *box = colon ? strndup(arg, (size_t)(colon - arg)) : strdup(arg);
	if (!box)
		die_oom();
	check_box_path("tmpfs", box, colon ? arg : NULL);
	uint64_t size = 0;
	if (colon) {
		int r = parse_size(colon + 1, &size);
		if (r == -ERANGE)
			die(EXIT_USAGE, "--tmpfs: size '%s' in '%s' out of range (expected at least 1 byte)",
			    colon + 1, arg);
		if (r < 0)
			die(EXIT_USAGE, "--tmpfs: invalid size '%s' in '%s' (expected a number with an optional K, M, G or T suffix, e.g. 16M)",
			    colon + 1, arg);
	}
	_cleanup_free_ char *norm = normalize("tmpfs", box);
	check_policy(ward_policy_grant_tmpfs(p, norm, size), "tmpfs", p);
}

/* --file BOX=HOST (HOST relative to the current directory) and
 * --file-text BOX=TEXT. */
static void add_file(ward_policy *p, int opt, const char *arg)
{
	const char *name = option_name(opt);
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		die(EXIT_USAGE, "--%s: invalid value '%s' (expected BOX=%s)", name, arg,
		    opt == OPT_FILE ? "HOST" : "TEXT");
	_cleanup_free_ char *box = strndup(arg, (size_t)(eq - arg));
	if (!box)
		die_oom();
	check_box_path(name, box, arg);
	_cleanup_free_ char *host = NULL;
	if (opt == OPT_FILE) {
		if (!eq[1])
			die(EXIT_USAGE, "--%s: missing host file in '%s' (expected BOX=HOST)", name, arg);
		if (eq[1] == '/') {
			host = normalize(name, eq + 1);
		} else {
			_cleanup_free_ char *cwd = getcwd(NULL, 0);
			_cleanup_free_ char *joined = NULL;
			if (!cwd || asprintf(&joined, "%s/%s", cwd, eq + 1) < 0)
				die_errno(EXIT_USAGE, "--%s: '%s': cannot resolve against the current directory",
					  name, eq + 1);
			host = normalize(name, joined);
		}
	}
	check_policy(host ? ward_policy_add_file(p, box, host) : ward_policy_add_file_text(p, box, eq + 1),
		     name, p);
}

/* --env NAME[=VALUE]: NAME alone copies ward's own value, and is left
 * out when ward has none (ward_policy_set_env takes NAME=VALUE only). */
static int add_env(ward_policy *p, const char *arg)
{
	if (strchr(arg, '='))
		return ward_policy_set_env(p, arg);
	const char *v = getenv(arg);
	_cleanup_free_ char *entry = NULL;
	if (asprintf(&entry, "%s=%s", arg, v ? v : "") < 0)
		die_oom();
	if (v)
		return ward_policy_set_env(p, entry);
	/* Nothing to pass, but a bad name is still a usage error: check it
	 * on a policy that is thrown away. */
	ward_policy *scratch = NULL;
	if (ward_policy_new(&scratch) < 0)
		die_oom();
	int r = ward_policy_set_env(scratch, entry);
	if (r < 0)
		check_policy(r, "env", scratch);
	ward_policy_free(scratch);
	return 0;
}

/* --net none|loopback */
static int set_net(ward_policy *p, const char *mode)
{
	if (!strcmp(mode, "none"))
		return ward_policy_set_net(p, WARD_NET_NONE);
	if (!strcmp(mode, "loopback"))
		return ward_policy_set_net(p, WARD_NET_LOOPBACK);
	die(EXIT_USAGE, "--net: invalid mode '%s' (expected none or loopback)", mode);
}

/* Applies one queued option to the policy; every failure is a usage
 * error naming the option and the value. */
static void apply_op(ward_policy *p, const struct op *o)
{
	int r = 0;
	if (o->opt >= OPT_LIMIT) {
		r = ward_policy_set_limit_string(p, (enum ward_limit)(o->opt - OPT_LIMIT), o->arg);
	} else {
		switch (o->opt) {
		case OPT_POLICY:
			r = ward_policy_load_file(p, o->arg);
			if (r == -ENOMEM)
				die_oom();
			/* The message names the file and line already. */
			if (r < 0)
				die(EXIT_USAGE, "%s",
				    ward_policy_error(p)[0] ? ward_policy_error(p) : strerror_lc(-r));
			return;
		case OPT_RO:
		case OPT_RW:
			add_bind(p, o->opt, o->arg);
			return;
		case OPT_TMPFS:
			add_tmpfs(p, o->arg);
			return;
		case OPT_CWD:
			check_box_path("cwd", o->arg, NULL);
			r = ward_policy_set_cwd(p, o->arg);
			break;
		case OPT_NO_CWD:
			r = ward_policy_set_expose_cwd(p, false);
			break;
		case OPT_EXEC:
			check_box_path("exec", o->arg, NULL);
			r = ward_policy_allow_exec(p, o->arg);
			break;
		case OPT_ENV:
			if (!o->arg[0] || o->arg[0] == '=')
				die(EXIT_USAGE, "--env: invalid variable '%s' (expected NAME or NAME=VALUE)", o->arg);
			r = add_env(p, o->arg);
			break;
		case OPT_HOSTNAME:
			r = ward_policy_set_hostname(p, o->arg);
			break;
		case OPT_AUDIT:
			r = ward_policy_set_audit(p, true);
			break;
		case OPT_FILE:
		case OPT_FILE_TEXT:
			add_file(p, o->opt, o->arg);
			return;
		case OPT_NET:
			r = set_net(p, o->arg);
			break;
		default:
			die(EXIT_SETUP, "internal error: unhandled option %d", o->opt);
		}
	}
	check_policy(r, option_name(o->opt), p);
}

/* --profile auto: from PROGRAM's name ("python3.11" -> python3), and for
 * a script named by path ("./job.py"), from its #! line, so that
 * `#!/usr/bin/env python3` scripts get the python3 profile. */
static const char *auto_profile(const char *program)
{
	const char *name = ward_profile_for_program(program);
	if (!name || strcmp(name, "native") != 0 || !strchr(program, '/'))
		return name;
	_cleanup_close_ int fd = open(program, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return name;
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n < 3 || buf[0] != '#' || buf[1] != '!')
		return name;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	/* "#! /usr/bin/env -S python3 -u": the interpreter, or env's
	 * first argument that is not an option or an assignment. */
	char *save = NULL, *word = strtok_r(buf + 2, " \t", &save);
	const char *base = word ? strrchr(word, '/') : NULL;
	if (word && !strcmp(base ? base + 1 : word, "env"))
		while ((word = strtok_r(NULL, " \t", &save)) && (word[0] == '-' || strchr(word, '=')))
			;
	if (!word)
		return name;
	const char *interp = ward_profile_for_program(word);
	return interp ? interp : name;
}

/* The profile, the policy files, the other options: in that order. */
static ward_policy *compose_policy(const struct run_args *a)
{
	ward_policy *p = NULL;
	int r = ward_policy_new(&p);
	if (r < 0 || !p)
		die_oom();
	const char *profile = a->profile ? a->profile : auto_profile(a->program[0]);
	if (profile && strcmp(profile, "none") != 0) {
		r = ward_policy_load_profile(p, profile);
		if (r == -ENOMEM)
			die_oom();
		if (r < 0)
			die(EXIT_SETUP, "profile '%s': %s", profile,
			    ward_policy_error(p)[0] ? ward_policy_error(p) : strerror_lc(-r));
	}
	for (size_t i = 0; i < a->n_ops; i++)
		apply_op(p, &a->ops[i]);
	return p;
}

/* --report FILE: JSON of the run, written after it (FILE's directory may
 * be granted read-write: a box that could reach a file we wrote earlier
 * could swap in a forged report) through out_file_write (common.h), which
 * neither follows a symlink the box planted at FILE nor one planted in
 * place of a directory on the way. "-" is stderr. */
static bool report_finish(const struct out_file *f, const ward_result *r)
{
	if (!f->path)
		return true;
	_cleanup_free_ char *json = ward_result_report(r);
	if (!strcmp(f->path, "-")) {
		int ret = json ? write_all(STDERR_FILENO, json, strlen(json)) : -ENOMEM;
		if (ret == 0)
			ret = write_all(STDERR_FILENO, "\n", 1);
		if (ret < 0 && ret != -EPIPE)
			warn("--report: cannot write the report to stderr: %s", strerror_lc(-ret));
		return ret == 0;
	}
	if (!json) {
		warn("--report: cannot write '%s': out of memory", f->path);
		return false;
	}
	return out_file_write(f, json, strlen(json));
}

/* The one line printed for a limit hit: "memory limit (256M) exceeded".
 * On the weak evidence (ward(1) LIMITS: the program failed while at an
 * rlimit, and nothing shows that the limit refused it anything) it says
 * only what was seen: "procs limit (8) reached and the program failed". */
static void print_limit(const ward_result *r)
{
	static const struct {
		enum ward_status status;
		enum ward_limit id;
	} map[] = {
		{WARD_STATUS_TIME_LIMIT, WARD_LIMIT_WALL_TIME},
		{WARD_STATUS_CPU_LIMIT, WARD_LIMIT_CPU_TIME},
		{WARD_STATUS_MEMORY_LIMIT, WARD_LIMIT_MEMORY},
		{WARD_STATUS_OUTPUT_LIMIT, WARD_LIMIT_OUTPUT},
		{WARD_STATUS_PROCS_LIMIT, WARD_LIMIT_PROCS},
		{WARD_STATUS_FILE_SIZE_LIMIT, WARD_LIMIT_FILE_SIZE},
	};
	for (size_t i = 0; i < ELEMENTSOF(map); i++) {
		if (map[i].status != ward_result_status(r))
			continue;
		enum ward_limit id = map[i].id;
		uint64_t v = ward_result_limit(r, id);
		const char *ev = ward_result_evidence(r);
		const char *what = ev && !strcmp(ev, "rlimit") ? "reached and the program failed" : "exceeded";
		char val[32];
		if (!v || ward_limit_format(id, v, val, sizeof(val)) < 0) {
			warn("%s limit %s", ward_limit_name(id), what);
			return;
		}
		warn("%s limit (%s) %s", ward_limit_name(id), val, what);
		return;
	}
}

/* Set by SIGINT/SIGTERM/SIGHUP: the library kills the box and returns;
 * ward then writes the report and dies of the same signal, so that a
 * calling shell sees the interruption. */
static volatile sig_atomic_t cancelled;

static void on_signal(int sig)
{
	cancelled = sig;
}

static void catch_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: wake poll() */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* --warm: the run through a pool of one box (or one a python zygote
 * makes), the way libward's pools and `ward serve` run requests: for
 * checking that a program (or an attack) meets the same box there. The
 * current directory is not exposed, and the box's namespaces are torn down
 * before ward exits. */
static int run_warm(const ward_policy *p, const struct run_args *a, struct ward_options *o,
		    ward_result **ret)
{
	if (a->learn)
		die_usage("run: --learn cannot be combined with --warm");
	struct ward_pool_options po = WARD_POOL_OPTIONS_INIT;
	po.boxes = 1;
	po.cgroup = a->cgroup;
	if (!strcmp(a->warm, "zygote"))
		po.zygote = "python3";
	_ward_cleanup_(ward_pool_freep) ward_pool *pool = NULL;
	int r = ward_pool_new(p, &po, &pool);
	if (r < 0)
		return r;
	/* A box that cannot be made: the request makes its own and its
	 * result says why, as a fresh run's would. A zygote that cannot start
	 * is ward's failure. */
	if (ward_pool_wait(pool) < 0 && po.zygote && ward_pool_ready(pool) == 0 &&
	    strstr(ward_pool_error(pool), "zygote"))
		die(EXIT_SETUP, "%s", ward_pool_error(pool));
	o->expose_cwd = false;
	o->exit_after = false;
	o->cgroup = WARD_CGROUP_AUTO;
	return ward_pool_run(pool, a->program, o, ret);
}

int cmd_run(int argc, char **argv)
{
	struct run_args a = {.cgroup = WARD_CGROUP_AUTO};
	parse_args(argc, argv, &a);
	_ward_cleanup_(ward_policy_freep) ward_policy *p = compose_policy(&a);
	/* --learn writes `env NAME` for these, never the caller's value. */
	_cleanup_free_ const char **passed = calloc(a.n_ops + 1, sizeof(*passed));
	if (!passed)
		die_oom();
	for (size_t i = 0, n = 0; i < a.n_ops; i++)
		if (a.ops[i].opt == OPT_ENV && !strchr(a.ops[i].arg, '='))
			passed[n++] = a.ops[i].arg;
	free(a.ops);
	a.ops = NULL;

	struct out_file report = out_file_check("report", a.report);
	struct out_file learn = out_file_check("learn", a.learn);
	out_file_check_distinct(&report, &learn);
	/* --learn: the profile's own grants stay the profile's; only the
	 * other grants are narrowed. */
	_ward_cleanup_(ward_policy_freep) ward_policy *profile_only = NULL;
	struct learner *learner = NULL;
	if (a.learn) {
		const char *profile = a.profile ? a.profile : auto_profile(a.program[0]);
		if (ward_policy_new(&profile_only) < 0)
			die_oom();
		if (profile && strcmp(profile, "none") != 0)
			(void)ward_policy_load_profile(profile_only, profile);
		learner = learner_new();
	}

	struct ward_options o = WARD_OPTIONS_INIT;
	o.stdin_fd = STDIN_FILENO;
	o.stdout_fd = STDOUT_FILENO;
	o.stderr_fd = STDERR_FILENO;
	o.cgroup = a.cgroup;
	o.expose_cwd = true;
	o.cancel = &cancelled;
	o.exit_after = true;
	o.on_access = a.learn ? learn_access : NULL;
	o.access_userdata = learner;
	_ward_cleanup_(ward_result_freep) ward_result *r = NULL;
	catch_signals();
	int ret = a.warm ? run_warm(p, &a, &o, &r) : ward_run(p, a.program, &o, &r);
	if (ret < 0)
		die(EXIT_SETUP, "cannot run '%s': %s", a.program[0], strerror_lc(-ret));
	/* ward's own writes from here on may meet a closed pipe: fail them
	 * with EPIPE instead of dying before the report is written. */
	signal(SIGPIPE, SIG_IGN);

	enum ward_status rs = ward_result_status(r);
	if (ward_result_notice(r)[0] && !a.quiet)
		warn("%s", ward_result_notice(r));
	if (rs == WARD_STATUS_SETUP_ERROR)
		warn("%s", ward_result_message(r)[0] ? ward_result_message(r) : "the box could not be built");
	else if (rs == WARD_STATUS_IO_ERROR) /* an error: printed even with --quiet */
		warn("%s", ward_result_message(r));
	else if (!a.quiet)
		print_limit(r);
	/* ask rules refuse without an application to ask: say so */
	if (ward_policy_get_audit(p) || ward_policy_ask_count(p))
		print_denials(r);

	/* A report that was asked for and not written is ward's failure, even
	 * when the program succeeded: whoever reads it must not trust a stale
	 * or missing one. */
	int status = ward_result_exit_status(r);
	if (!report_finish(&report, r))
		status = EXIT_SETUP;
	if (a.learn && rs != WARD_STATUS_SETUP_ERROR &&
	    !learn_finish(&learn, p, profile_only, learner, a.program, passed, r))
		status = EXIT_SETUP;
	if (cancelled) {
		int sig = cancelled;
		ward_policy_free(TAKE_PTR(p));
		signal(sig, SIG_DFL);
		raise(sig);
	}
	return status;
}
