/* serve-piston.c — Piston's v2 API: the runtimes, a request decoded once
 * into a struct exec_request, its stages planned and run, the response.
 *
 * Piston's behaviour kept where clients depend on it: a missing file name
 * is fileN.code; the entry point is the first utf8 file; an unknown
 * runtime is a 400 "LANG-VERSION runtime is unknown"; a limit above the
 * server's is a 400 naming it; a compile that failed fills `run` too;
 * TO, OL and EL report signal SIGKILL. ward's addition: status "ML" when
 * the memory limit killed the stage (Piston reports SG or RE there). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "banned.h"

#define ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ARGS 256
/* Linux refuses an argument of 128 KiB or more (MAX_ARG_STRLEN) and an
 * argv over a quarter of the stack limit: refused here, named, rather
 * than reported as the box's setup error. */
#define ARG_MAX_LEN ((128 << 10) - 1)
#define ARGS_TOTAL_MAX (512 << 10)
/* libward's smallest memory limit: the box's init and a program's loader
 * need that much. */
#define MEMORY_MIN (1 << 20)

static const char *const v_python[] = {"python3", "--version", NULL};
static const char *const v_node[] = {"node", "--version", NULL};
static const char *const v_ruby[] = {"ruby", "--version", NULL};
static const char *const v_lua[] = {"lua", "-v", NULL};
static const char *const v_perl[] = {"perl", "-e", "print $^V", NULL};
static const char *const v_bash[] = {"bash", "--version", NULL};
static const char *const v_gcc[] = {"gcc", "-dumpfullversion", NULL};
static const char *const v_gxx[] = {"g++", "-dumpfullversion", NULL};

/* The program that runs the entry point: the version command's program. */
static struct runtime runtimes[] = {
	{"python", {"py", "python3"}, NULL, "python3", v_python, false, ""},
	{"javascript", {"node", "js", "node-javascript"}, "node", "node", v_node, false, ""},
	{"ruby", {"rb", "ruby3"}, NULL, "ruby", v_ruby, false, ""},
	{"lua", {"lua5.4"}, NULL, "lua", v_lua, false, ""},
	{"perl", {"pl"}, NULL, "perl", v_perl, false, ""},
	{"bash", {"sh"}, NULL, "sh", v_bash, false, ""},
	{"c", {"gcc"}, "gcc", "native", v_gcc, true, ""},
	{"c++", {"cpp", "g++"}, "gcc", "native", v_gxx, true, ""},
};

/* ---- versions -------------------------------------------------------- */

struct semver {
	long v[3];
	int given; /* how many parts were given (a partial version) */
};

/* "3", "3.11", "3.11.2", "v18.1.0", "3.x"; false otherwise. */
static bool semver_parse(const char *s, size_t len, struct semver *ret)
{
	struct semver sv = {{0, 0, 0}, 0};
	size_t i = 0;
	if (i < len && s[i] == 'v')
		i++;
	while (i < len && sv.given < 3) {
		if (s[i] == 'x' || s[i] == 'X' || s[i] == '*') {
			i++;
			break; /* a wildcard: the rest is free */
		}
		if (s[i] < '0' || s[i] > '9')
			return false;
		long n = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9' && n < 100000000)
			n = n * 10 + (s[i++] - '0');
		sv.v[sv.given++] = n;
		if (i < len && s[i] == '.')
			i++;
		else
			break;
	}
	if (i < len && s[i] != '-' && s[i] != '+')
		return false; /* a pre-release or build tail is ignored */
	*ret = sv;
	return true;
}

static int semver_cmp(const struct semver *a, const struct semver *b, int parts)
{
	for (int i = 0; i < parts; i++)
		if (a->v[i] != b->v[i])
			return a->v[i] < b->v[i] ? -1 : 1;
	return 0;
}

/* One comparator ("^3.1", ">=2", "3.11", "*") against version v. */
static bool comparator_ok(const char *c, size_t len, const struct semver *v)
{
	char op[3] = "";
	size_t n = 0;
	while (n < len && n < 2 && strchr("<>=^~", c[n]))
		op[n] = c[n], n++;
	if (n == len && !n)
		return true;
	struct semver want;
	if (!semver_parse(c + n, len - n, &want))
		return false;
	if (!want.given)
		return true; /* "*", "x" */
	int cmp = semver_cmp(v, &want, 3);
	if (!strcmp(op, ">="))
		return cmp >= 0;
	if (!strcmp(op, ">"))
		return cmp > 0;
	if (!strcmp(op, "<="))
		return cmp <= 0;
	if (!strcmp(op, "<"))
		return cmp < 0;
	if (!strcmp(op, "^"))
		return cmp >= 0 && semver_cmp(v, &want, want.v[0] ? 1 : want.given < 2 ? 1 : 2) == 0;
	if (!strcmp(op, "~"))
		return cmp >= 0 && semver_cmp(v, &want, want.given < 2 ? 1 : 2) == 0;
	if (!*op || !strcmp(op, "="))
		return semver_cmp(v, &want, want.given) == 0;
	return false;
}

/* A selector: comparators separated by spaces (all must hold), sets of
 * them separated by "||" (one must). */
static bool version_matches(const char *sel, const char *version)
{
	struct semver v;
	if (!semver_parse(version, strlen(version), &v))
		return false;
	const char *p = sel;
	for (;;) {
		const char *end = strstr(p, "||");
		size_t setlen = end ? (size_t)(end - p) : strlen(p);
		bool ok = true;
		for (size_t i = 0; i < setlen && ok;) {
			while (i < setlen && p[i] == ' ')
				i++;
			size_t j = i;
			while (j < setlen && p[j] != ' ')
				j++;
			if (j > i)
				ok = comparator_ok(p + i, j - i, &v);
			i = j;
		}
		if (ok)
			return true;
		if (!end)
			return false;
		p = end + 2;
	}
}

/* The first "N.N[.N]" in text, as "N.N.N". */
static bool find_version(const char *text, char *buf, size_t len)
{
	for (const char *s = text; *s; s++) {
		if (*s < '0' || *s > '9' || (s > text && ((s[-1] >= '0' && s[-1] <= '9') || s[-1] == '.')))
			continue;
		long a, b, c = 0;
		int used = 0;
		if (sscanf(s, "%ld.%ld%n", &a, &b, &used) < 2)
			continue;
		if (s[used] == '.' && s[used + 1] >= '0' && s[used + 1] <= '9')
			sscanf(s + used + 1, "%ld", &c);
		snprintf(buf, len, "%ld.%ld.%ld", a, b, c);
		return true;
	}
	return false;
}

static size_t n_found;

size_t runtimes_found(void)
{
	return __atomic_load_n(&n_found, __ATOMIC_RELAXED);
}

size_t runtimes_detect(const struct serve_config *c)
{
	size_t found = 0;
	for (size_t i = 0; i < ELEMS(runtimes); i++) {
		struct runtime *rt = &runtimes[i];
		struct stage_plan plan = {
			.profile = rt->profile,
			.argv = (char *const *)rt->version_cmd,
			.limits = {10000, 10000, 512u << 20},
			.procs = c->procs,
			.stdout_max = 4096,
			.stderr_max = 4096,
			.output_limit = 65536,
			.fresh = true, /* no pool for a policy used once */
		};
		struct stage_result r;
		rt->version[0] = '\0';
		if (stage_run(&plan, &r) == 0 && r.status == WARD_STATUS_EXITED && r.code == 0 &&
		    (find_version(r.out, rt->version, sizeof(rt->version)) ||
		     find_version(r.err, rt->version, sizeof(rt->version))))
			found++;
		else
			rt->version[0] = '\0';
		stage_result_clear(&r);
	}
	__atomic_store_n(&n_found, found, __ATOMIC_RELAXED);
	return found;
}

json_t *runtimes_json(void)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < ELEMS(runtimes); i++) {
		const struct runtime *rt = &runtimes[i];
		if (!rt->version[0])
			continue;
		json_t *al = json_array();
		for (size_t k = 0; k < ELEMS(rt->aliases) && rt->aliases[k]; k++)
			json_array_append_new(al, json_string(rt->aliases[k]));
		json_t *o = json_pack("{s:s, s:s, s:o}", "language", rt->language, "version",
				      rt->version, "aliases", al);
		if (o && rt->runtime)
			json_object_set_new(o, "runtime", json_string(rt->runtime));
		json_array_append_new(a, o);
	}
	return a;
}

static const struct runtime *runtime_find(const char *language, const char *version)
{
	for (size_t i = 0; i < ELEMS(runtimes); i++) {
		const struct runtime *rt = &runtimes[i];
		bool named = !strcmp(rt->language, language);
		for (size_t k = 0; !named && k < ELEMS(rt->aliases) && rt->aliases[k]; k++)
			named = !strcmp(rt->aliases[k], language);
		if (named && rt->version[0] && version_matches(version, rt->version))
			return rt;
	}
	return NULL;
}

/* ---- decoding a request ---------------------------------------------- */

#define FAIL(...)                                  \
	do {                                       \
		snprintf(err, errlen, __VA_ARGS__); \
		return 400;                        \
	} while (0)

/* A name the box may create below its /tmp: relative, no empty, "." or
 * ".." part, no control character, at most max bytes. */
static bool name_ok(const char *name, size_t len, size_t max)
{
	if (!len || len > max || strlen(name) != len || name[0] == '/')
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	for (const char *p = name;;) {
		const char *slash = strchr(p, '/');
		size_t part = slash ? (size_t)(slash - p) : strlen(p);
		if (!part || (part == 1 && p[0] == '.') || (part == 2 && !strncmp(p, "..", 2)))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

/* src, its control characters as '?', cut to fit len. */
static void printable(char *dst, size_t len, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < len; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[i] = '\0';
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* File i, its content decoded. */
static int decode_file(const json_t *f, size_t i, const struct serve_config *c,
		       struct exec_file *ret, char *err, size_t errlen)
{
	if (!json_is_object(f))
		FAIL("files[%zu] must be an object", i);
	const json_t *content = json_object_get(f, "content");
	const json_t *name = json_object_get(f, "name");
	const json_t *enc = json_object_get(f, "encoding");
	if (!json_is_string(content))
		FAIL("files[%zu].content is required as a string", i);
	const char *e = "utf8";
	if (enc && !json_is_null(enc)) {
		if (!json_is_string(enc))
			FAIL("files[%zu].encoding must be a string", i);
		e = json_string_value(enc);
	}
	char defname[32];
	const char *nm = defname;
	size_t nlen;
	snprintf(defname, sizeof(defname), "file%zu.code", i);
	nlen = strlen(defname);
	if (name && !json_is_null(name)) {
		if (!json_is_string(name))
			FAIL("files[%zu].name must be a string", i);
		nm = json_string_value(name);
		nlen = json_string_length(name);
		if (!nlen) /* Piston: an empty name is the default one */
			nm = defname, nlen = strlen(defname);
	}
	if (!name_ok(nm, nlen, c->max_name))
		FAIL("files[%zu].name is not allowed: a relative path of at most %zu bytes without "
		     "'..' or control characters",
		     i, c->max_name);
	const char *text = json_string_value(content);
	size_t len = json_string_length(content);
	char *raw = NULL;
	size_t rawlen = 0;
	if (!strcmp(e, "utf8")) {
		raw = wipe_dup(text, len);
		rawlen = len;
		ret->utf8 = true;
	} else if (!strcmp(e, "base64")) {
		if (!b64_decode(text, len, &raw, &rawlen))
			FAIL("files[%zu].content is not valid base64", i);
	} else if (!strcmp(e, "hex")) {
		if (len % 2)
			FAIL("files[%zu].content is not valid hex", i);
		raw = wipe_alloc(len / 2 + 1);
		for (size_t k = 0; raw && k < len; k += 2) {
			int hi = hexval(text[k]), lo = hexval(text[k + 1]);
			if (hi < 0 || lo < 0) {
				wipe_free(raw);
				FAIL("files[%zu].content is not valid hex", i);
			}
			raw[k / 2] = (char)(hi << 4 | lo);
		}
		rawlen = len / 2;
	} else {
		FAIL("files[%zu].encoding must be utf8, base64 or hex", i);
	}
	ret->data = raw;
	ret->len = rawlen;
	ret->name = strndup(nm, nlen);
	if (!ret->data || !ret->name) {
		snprintf(err, errlen, "out of memory");
		return 500;
	}
	return 0;
}

/* One of the six limits: absent or 0 is the default, -1 the server's
 * maximum; above the maximum or otherwise negative is refused. */
static int decode_limit(const json_t *body, const char *field, uint64_t def, uint64_t max,
			uint64_t min, uint64_t *ret, char *err, size_t errlen)
{
	const json_t *v = json_object_get(body, field);
	if (!v || json_is_null(v)) {
		*ret = def;
		return 0;
	}
	if (!json_is_number(v))
		FAIL("If specified, %s must be a number", field);
	double d = json_number_value(v);
	if (d == -1) {
		*ret = max;
		return 0;
	}
	if (d < 0 || d != floor(d))
		FAIL("%s must be a non-negative integer (or -1 for the server's maximum)", field);
	if (d > (double)max)
		FAIL("%s cannot exceed the configured limit of %" PRIu64, field, max);
	if (d && d < (double)min)
		FAIL("%s must be at least %" PRIu64, field, min);
	*ret = d == 0 ? def : (uint64_t)d;
	return 0;
}

int exec_request_decode(const json_t *body, const struct serve_config *c,
			struct exec_request *req, char *err, size_t errlen)
{
	*req = (struct exec_request){0};
	if (!json_is_object(body))
		FAIL("the request body must be a JSON object");
	const json_t *lang = json_object_get(body, "language");
	const json_t *ver = json_object_get(body, "version");
	const json_t *files = json_object_get(body, "files");
	const json_t *args = json_object_get(body, "args");
	const json_t *in = json_object_get(body, "stdin");
	if (!json_is_string(lang) || !json_string_length(lang))
		FAIL("language is required as a string");
	if (!json_is_string(ver) || !json_string_length(ver))
		FAIL("version is required as a string");
	if (!json_is_array(files))
		FAIL("files is required as an array");
	if (json_array_size(files) > c->max_files)
		FAIL("files has %zu entries, at most %zu are allowed", json_array_size(files),
		     c->max_files);
	if (args && !json_is_null(args) && !json_is_array(args))
		FAIL("args must be an array of strings");
	if (args && json_array_size(args) > MAX_ARGS)
		FAIL("args has more than %d entries", MAX_ARGS);
	if (in && !json_is_null(in) && !json_is_string(in))
		FAIL("stdin must be a string");
	struct {
		const char *field;
		uint64_t def, max, min, *out;
	} lim[] = {
		{"compile_timeout", c->compile_default.timeout, c->compile_max.timeout, 1,
		 &req->compile.timeout},
		{"run_timeout", c->run_default.timeout, c->run_max.timeout, 1, &req->run.timeout},
		{"compile_cpu_time", c->compile_default.cpu_time, c->compile_max.cpu_time, 1,
		 &req->compile.cpu_time},
		{"run_cpu_time", c->run_default.cpu_time, c->run_max.cpu_time, 1,
		 &req->run.cpu_time},
		{"compile_memory_limit", c->compile_default.memory, c->compile_max.memory,
		 MEMORY_MIN, &req->compile.memory},
		{"run_memory_limit", c->run_default.memory, c->run_max.memory, MEMORY_MIN,
		 &req->run.memory},
	};
	for (size_t i = 0; i < ELEMS(lim); i++) {
		int r = decode_limit(body, lim[i].field, lim[i].def, lim[i].max, lim[i].min,
				     lim[i].out, err, errlen);
		if (r)
			return r;
	}
	size_t n_args = args ? json_array_size(args) : 0, total = 0;
	for (size_t i = 0; i < n_args; i++) {
		const json_t *a = json_array_get(args, i);
		if (!json_is_string(a) || strlen(json_string_value(a)) != json_string_length(a))
			FAIL("args[%zu] must be a string without NUL", i);
		if (json_string_length(a) > ARG_MAX_LEN)
			FAIL("args[%zu] is longer than %d bytes", i, ARG_MAX_LEN);
		total += json_string_length(a) + 1;
	}
	if (total > ARGS_TOTAL_MAX)
		FAIL("args are longer than %d bytes together", ARGS_TOTAL_MAX);
	req->rt = runtime_find(json_string_value(lang), json_string_value(ver));
	if (!req->rt) {
		/* Piston's message, the client's text in it made printable:
		 * one line (a newline in language was echoed as is). */
		char l[65], v[65];
		printable(l, sizeof(l), json_string_value(lang));
		printable(v, sizeof(v), json_string_value(ver));
		FAIL("%s-%s runtime is unknown", l, v);
	}

	int r = 0;
	size_t n = json_array_size(files);
	req->files = calloc(n ? n : 1, sizeof(*req->files));
	req->args = calloc(n_args + 1, sizeof(char *));
	if (!req->files || !req->args)
		goto oom;
	req->entry = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		if ((r = decode_file(json_array_get(files, i), i, c, &req->files[i], err, errlen)))
			return r;
		req->n_files++;
		if (req->files[i].utf8 && req->entry == SIZE_MAX)
			req->entry = i;
		/* One name, one file; and no file where another's directory
		 * goes ("d" and "d/x"): the box could not write both. */
		for (size_t j = 0; j < i; j++) {
			const char *a = req->files[j].name, *b = req->files[i].name;
			size_t la = strlen(a), lb = strlen(b);
			if (!strcmp(a, b) || (la < lb && !strncmp(a, b, la) && b[la] == '/') ||
			    (lb < la && !strncmp(a, b, lb) && a[lb] == '/'))
				FAIL("files[%zu].name conflicts with files[%zu].name", i, j);
		}
	}
	if (req->entry == SIZE_MAX)
		FAIL("files must include at least one utf8 encoded file");
	/* gcc's cc1 gets the bare base name of each source (-dumpbase) and
	 * reads "@NAME" as a file of options, "./" or not. */
	for (size_t i = 0; req->rt->compiled && i < n; i++) {
		const char *base = strrchr(req->files[i].name, '/');
		if ((base ? base[1] : req->files[i].name[0]) == '@')
			FAIL("files[%zu].name must not start with '@' for a compiled language (the "
			     "compiler reads options from @FILE)",
			     i);
	}
	for (size_t i = 0; i < n_args; i++, req->n_args++)
		if (!(req->args[i] = strdup(json_string_value(json_array_get(args, i)))))
			goto oom;
	if (in && json_is_string(in)) {
		req->stdin_len = json_string_length(in);
		if (!(req->stdin_data = wipe_dup(json_string_value(in), req->stdin_len)))
			goto oom;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return 500;
}

void exec_request_clear(struct exec_request *req)
{
	for (size_t i = 0; i < req->n_files; i++) {
		free(req->files[i].name);
		wipe_free(req->files[i].data);
	}
	free(req->files);
	for (size_t i = 0; i < req->n_args; i++)
		free(req->args[i]);
	free(req->args);
	wipe_free(req->stdin_data);
	wipe_free(req->policy);
	*req = (struct exec_request){0};
}

/* ---- running and the response ----------------------------------------- */

/* text as a JSON string: invalid UTF-8 becomes U+FFFD, as Node's
 * Buffer.toString did for Piston. */
static json_t *json_text(const char *s, size_t len)
{
	char *out = wipe_alloc(len * 3 + 1);
	size_t o = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		unsigned char ch = (unsigned char)s[i];
		size_t need = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 0;
		bool ok = need && i + need <= len;
		for (size_t k = 1; ok && k < need; k++)
			ok = ((unsigned char)s[i + k] >> 6) == 2;
		if (ok && need > 1) {
			/* overlong forms, surrogates and values past U+10FFFF */
			unsigned char c1 = (unsigned char)s[i + 1];
			ok = !(ch == 0xc0 || ch == 0xc1 || (ch == 0xe0 && c1 < 0xa0) ||
			       (ch == 0xed && c1 >= 0xa0) || (ch == 0xf0 && c1 < 0x90) ||
			       (ch == 0xf4 && c1 >= 0x90) || ch > 0xf4);
		}
		if (ok) {
			memcpy(out + o, s + i, need);
			o += need;
			i += need;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	json_t *j = json_stringn(out, o);
	wipe_free(out);
	return j;
}

static json_t *json_sig(int sig)
{
	char name[32];
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;
	if (!abbrev)
		return json_null();
	snprintf(name, sizeof(name), "SIG%s", abbrev);
	return json_string(name);
}

/* Piston's status and message for a stage, and ward's limit for metrics. */
static void stage_status(const struct stage_result *r, bool hide_stdout, const char **status,
			 char *msg, size_t msglen, const char **limit)
{
	*status = NULL;
	*limit = NULL;
	msg[0] = '\0';
	if (!hide_stdout && r->out_cut) {
		*status = "OL", *limit = "output";
		snprintf(msg, msglen, "stdout length exceeded");
		return;
	}
	if (r->err_cut) {
		*status = "EL", *limit = "output";
		snprintf(msg, msglen, "stderr length exceeded");
		return;
	}
	switch (r->status) {
	case WARD_STATUS_EXITED:
		if (r->code != 0) {
			*status = "RE";
			snprintf(msg, msglen, "Exited with error status %d", r->code);
		}
		return;
	case WARD_STATUS_SIGNALED:
		*status = "SG";
		snprintf(msg, msglen, "Caught fatal signal %d", r->sig);
		return;
	case WARD_STATUS_TIME_LIMIT:
		*status = "TO", *limit = "wall-time";
		snprintf(msg, msglen, "Time limit exceeded (wall clock)");
		return;
	case WARD_STATUS_CPU_LIMIT:
		*status = "TO", *limit = "cpu-time";
		snprintf(msg, msglen, "Time limit exceeded");
		return;
	case WARD_STATUS_MEMORY_LIMIT:
		*status = "ML", *limit = "memory";
		snprintf(msg, msglen, "Memory limit exceeded");
		return;
	case WARD_STATUS_OUTPUT_LIMIT:
		*status = "OL", *limit = "output";
		snprintf(msg, msglen, "output length exceeded");
		return;
	case WARD_STATUS_PROCS_LIMIT:
		*status = "RE", *limit = "procs";
		snprintf(msg, msglen, "Process limit exceeded");
		return;
	case WARD_STATUS_FILE_SIZE_LIMIT:
		*status = "RE", *limit = "file-size";
		snprintf(msg, msglen, "File size limit exceeded");
		return;
	default:
		*status = "XX";
		snprintf(msg, msglen, "Internal error: %s%s%s", ward_status_name(r->status),
			 r->message[0] ? ": " : "", r->message);
		return;
	}
}

/* A stage as Piston reports it. hide_stdout: a compile's stdout is the
 * program it made, not text for the client (its output is its stderr). */
static json_t *stage_json(const struct stage_result *r, bool hide_stdout, const char **ret_status)
{
	const char *status, *limit;
	char msg[320];
	stage_status(r, hide_stdout, &status, msg, sizeof(msg), &limit);
	if (limit)
		metrics_limit_hit(limit);
	bool killed = status && (!strcmp(status, "TO") || !strcmp(status, "OL") ||
				 !strcmp(status, "EL") || !strcmp(status, "ML"));
	json_t *o = json_pack(
		"{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I}", "stdout",
		json_text(r->out, hide_stdout ? 0 : r->out_len), "stderr", json_text(r->err, r->err_len),
		"output",
		hide_stdout || !r->output ? json_text(r->err, r->err_len)
					  : json_text(r->output, r->output_len),
		"code", r->status == WARD_STATUS_EXITED ? json_integer(r->code) : json_null(), "signal",
		killed ? json_string("SIGKILL") : json_sig(r->sig), "message",
		msg[0] ? json_string(msg) : json_null(), "status",
		status ? json_string(status) : json_null(), "cpu_time", (json_int_t)llround(r->cpu_ms),
		"wall_time", (json_int_t)llround(r->wall_ms), "memory", (json_int_t)r->memory);
	*ret_status = status ? status : "";
	return o;
}

static bool has_suffix(const char *s, const char *const *sfx)
{
	size_t n = strlen(s);
	for (; *sfx; sfx++)
		if (n > strlen(*sfx) && !strcmp(s + n - strlen(*sfx), *sfx))
			return true;
	return false;
}

/* "./NAME" for a name starting with '-' (always, for a compiler), so that
 * it stays a file: Piston passed names bare, and a file "-c" was an
 * option; gcc also reads options from a file named "@FILE" (a response
 * file: "-wrapper /bin/sh,..." ran any command at compile). */
static char *dot_slash(const char *name, bool always)
{
	size_t n = strlen(name);
	if (name[0] != '-' && !always)
		return strdup(name);
	char *s = malloc(n + 3);
	if (s) {
		memcpy(s, "./", 2);
		memcpy(s + 2, name, n + 1);
	}
	return s;
}

static const char *const c_sfx[] = {".c", NULL};
static const char *const cxx_sfx[] = {".cc", ".cpp", ".cxx", ".c++", ".C", NULL};
static const char gcc_script[] =
	"gcc -std=gnu17 -O2 -pipe -o /tmp/.ward-bin -x c \"$@\" -lm >&2 && exec cat /tmp/.ward-bin";
static const char gxx_script[] =
	"g++ -std=gnu++17 -O2 -pipe -o /tmp/.ward-bin -x c++ \"$@\" >&2 && exec cat /tmp/.ward-bin";

/* argv of the stage: compile (C, C++) or run. */
static char **stage_argv(const struct exec_request *req, bool compile)
{
	const struct runtime *rt = req->rt;
	bool cxx = !strcmp(rt->language, "c++");
	size_t n = 6 + req->n_files + req->n_args;
	char **v = calloc(n, sizeof(char *));
	size_t k = 0;
	if (!v)
		return NULL;
	if (compile) {
		v[k++] = strdup("sh");
		v[k++] = strdup("-c");
		v[k++] = strdup(cxx ? gxx_script : gcc_script);
		v[k++] = strdup("ward-compile");
		v[k++] = dot_slash(req->files[req->entry].name, true);
		for (size_t i = 0; i < req->n_files; i++)
			if (i != req->entry && req->files[i].utf8 &&
			    has_suffix(req->files[i].name, cxx ? cxx_sfx : c_sfx))
				v[k++] = dot_slash(req->files[i].name, true);
	} else {
		v[k++] = rt->compiled ? strdup("./.ward-bin") : strdup(rt->version_cmd[0]);
		if (!rt->compiled)
			v[k++] = dot_slash(req->files[req->entry].name, false);
		for (size_t i = 0; i < req->n_args; i++)
			v[k++] = strdup(req->args[i]);
	}
	for (size_t i = 0; i < k; i++)
		if (!v[i]) {
			for (size_t j = 0; j < k; j++)
				free(v[j]);
			/* analyzer: every v[j] was freed just above */
			free(v);
			return NULL;
		}
	return v;
}

static void argv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The request's files for a stage; the compiled program added last. */
static struct stage_file *stage_files(const struct exec_request *req,
				      const struct stage_result *bin)
{
	struct stage_file *f = calloc(req->n_files + 1, sizeof(*f));
	for (size_t i = 0; f && i < req->n_files; i++)
		f[i] = (struct stage_file){req->files[i].name, req->files[i].data, req->files[i].len,
					   false};
	if (f && bin)
		f[req->n_files] = (struct stage_file){".ward-bin", bin->out, bin->out_len, true};
	return f;
}

static json_t *run_stage(const struct exec_request *req, const struct serve_config *c,
			 bool compile, const struct stage_result *bin, struct stage_result *res,
			 const char **ret_status)
{
	char **argv = stage_argv(req, compile);
	struct stage_file *files = stage_files(req, bin);
	json_t *o = NULL;
	size_t out_max = c->stdout_max ? c->stdout_max : c->output_max;
	size_t err_max = c->stderr_max ? c->stderr_max : c->output_max;
	*res = (struct stage_result){.code = -1};
	if (argv && files) {
		struct stage_plan plan = {
			.profile = req->profile ? req->profile : req->rt->profile,
			.argv = argv,
			.files = files,
			.n_files = req->n_files + (bin ? 1 : 0),
			.stdin_data = compile ? NULL : req->stdin_data,
			.stdin_len = compile ? 0 : req->stdin_len,
			.limits = compile ? req->compile : req->run,
			.procs = c->procs,
			.stdout_max = compile ? c->binary_max : out_max,
			.stderr_max = err_max,
			.want_output = !compile,
			/* past the sum, one stream at least is cut */
			.output_limit = (compile ? c->binary_max : out_max) + err_max + 1,
			.policy = req->policy,
			.policy_len = req->policy_len,
			.audit = req->audit,
			.want_report = req->native,
		};
		stage_run(&plan, res);
		o = stage_json(res, compile, ret_status);
		/* ward's own report, beside Piston's fields (/api/v1/run) */
		if (o && req->native)
			json_object_set_new(o, "report", res->report ? json_loads(res->report, 0, NULL)
								     : json_null());
	}
	argv_free(argv);
	free(files);
	return o;
}

json_t *exec_request_run(const struct exec_request *req, const struct serve_config *c,
			 const char **ret_status)
{
	json_t *resp = json_pack("{s:s, s:s}", "language", req->rt->language, "version",
				 req->rt->version);
	struct stage_result cr = {0}, rr = {0};
	if (!resp)
		return NULL;
	if (req->rt->compiled) {
		json_t *cj = run_stage(req, c, true, NULL, &cr, ret_status);
		if (!cj)
			goto fail;
		json_object_set_new(resp, "compile", cj);
		if (cr.status != WARD_STATUS_EXITED || cr.code != 0 || !cr.out_len || cr.out_cut) {
			/* Piston: a failed compile is also the run */
			json_object_set(resp, "run", cj);
			goto out;
		}
	}
	json_t *rj = run_stage(req, c, false, req->rt->compiled ? &cr : NULL, &rr, ret_status);
	if (!rj)
		goto fail;
	json_object_set_new(resp, "run", rj);
out:
	stage_result_clear(&cr);
	stage_result_clear(&rr);
	return resp;
fail:
	json_decref(resp);
	resp = NULL;
	goto out;
}
