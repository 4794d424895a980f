/* policy_file.c — the policy file format of ward-policy(5): a reader
 * (tokenizer, directives, includes of built-in profiles, the all-or-nothing
 * loaders) and a writer (policy_format).
 *
 * The reader applies every directive through the setters of policy.c, so a
 * value from a file is checked as one from any other source. A malformed
 * file is an error, never a weaker box: the parser stops at the first bad
 * line, and the policy it was loaded into is left as it was before the
 * load (parse_into). */
#include "policy.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Caps on everything that grows with the input (STYLE.md: every buffer
 * that grows on input has a cap). */
#define MAX_FILE_SIZE (1024 * 1024) /* bytes of one policy file */
/* Bytes of one line, without '\n'. Long enough for the longest directive
 * the setters accept with every byte escaped (one environment variable of
 * MAX_ENV_LEN), so that whatever policy_format() writes reads back. */
#define MAX_LINE (512 * 1024)
#define MAX_DIRECTIVES 4096 /* directives in one file */
#define MAX_TOKENS 8        /* tokens kept per line; more is an error */
#define MAX_INCLUDE_DEPTH 8 /* nested `include`s */

/* ---- the reader ----------------------------------------------------- */

/* Where we are while parsing: for messages and to refuse include loops. */
struct parse_ctx {
	const char *stack[MAX_INCLUDE_DEPTH + 1]; /* profiles being included */
	size_t depth;
};

/* One line split into tokens. The tokens live in buf, NUL-separated:
 * quotes and escapes only shrink a token and blanks separate them, so
 * the tokens of an n-byte line fit in n + 1 bytes. */
struct line {
	char *buf; /* sized for the longest line of the text */
	const char *tok[MAX_TOKENS];
	size_t n;  /* tokens kept */
	bool more; /* the line had more than MAX_TOKENS tokens */
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Splits one line (no '\n') into tokens: blanks separate; '#' outside
 * quotes starts a comment; "..." quotes, with \" \\ and \n escapes, may
 * sit anywhere in a token (env A="b c" is the token 'A=b c'). Returns 0
 * or -EINVAL with the reason in why. */
static int tokenize(const char *s, size_t len, struct line *l, const char **why)
{
	size_t i = 0, o = 0;
	l->n = 0;
	l->more = false;
	for (;;) {
		while (i < len && is_blank(s[i]))
			i++;
		if (i >= len || s[i] == '#')
			return 0;
		size_t start = o;
		while (i < len && !is_blank(s[i]) && s[i] != '#') {
			if (s[i] != '"') {
				l->buf[o++] = s[i++];
				continue;
			}
			for (i++;; i++) {
				if (i >= len) {
					*why = "unterminated quote";
					return -EINVAL;
				}
				if (s[i] == '"')
					break;
				if (s[i] == '\\') {
					i++;
					if (i < len && (s[i] == '"' || s[i] == '\\')) {
						l->buf[o++] = s[i];
					} else if (i < len && s[i] == 'n') {
						l->buf[o++] = '\n';
					} else {
						*why = "unknown escape in a quoted token (expected \\\", \\\\ or \\n)";
						return -EINVAL;
					}
					continue;
				}
				l->buf[o++] = s[i];
			}
			i++; /* the closing quote */
		}
		l->buf[o++] = 0;
		if (l->n < MAX_TOKENS)
			l->tok[l->n++] = l->buf + start;
		else
			l->more = true;
	}
}

static int parse_text(struct policy *p, const char *name, const char *basedir, const char *text,
		      size_t len, struct parse_ctx *ctx, struct err *e);

/* "python3, lua, ..." for unknown-profile messages. */
static void profile_names(char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n_builtin_profiles && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
				 builtin_profiles[i].name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* Finds the profile an include names and refuses a loop or too deep a
 * nesting, before anything of it is parsed. */
static int include_check(const char *profile, const struct parse_ctx *ctx,
			 const struct profile **ret, struct err *e)
{
	const struct profile *pr = profile_find(profile);
	if (!pr) {
		char known[512];
		profile_names(known, sizeof(known));
		return err_set(e, ENOENT, "unknown profile '%s' (known: %s)",
			       profile ? profile : "", known);
	}
	for (size_t i = 0; i < ctx->depth; i++) {
		if (strcmp(ctx->stack[i], pr->name) != 0)
			continue;
		char chain[512];
		size_t off = 0;
		chain[0] = 0;
		for (size_t j = i; j < ctx->depth && off < sizeof(chain); j++) {
			int n = snprintf(chain + off, sizeof(chain) - off, "'%s' -> ",
					 ctx->stack[j]);
			if (n < 0)
				break;
			off += (size_t)n;
		}
		return err_set(e, ELOOP, "include loop %s'%s'", chain, pr->name);
	}
	if (ctx->depth >= MAX_INCLUDE_DEPTH)
		return err_set(e, ELOOP,
			       "profile '%s' nested too deeply (at most %d levels of include)",
			       pr->name, MAX_INCLUDE_DEPTH);
	*ret = pr;
	return 0;
}

/* Parses a built-in profile into p, below the includes already in ctx.
 * Its messages name "<profile>.policy:<line>", the file it comes from. */
static int include_profile(struct policy *p, const struct profile *pr, struct parse_ctx *ctx,
			   struct err *e)
{
	char fname[128];
	/* analyzer: pr is set: include_check returned 0 (gcc 12 does not
	 * see that its err_set() paths return < 0) */
	snprintf(fname, sizeof(fname), "%s.policy", pr->name);
	ctx->stack[ctx->depth++] = pr->name;
	int r = parse_text(p, fname, NULL, pr->text, strlen(pr->text), ctx, e);
	ctx->depth--;
	return r;
}

/* A host path from a policy file: absolute, or relative to the file's
 * directory (basedir; NULL for text that is not a file, such as a
 * profile, where it must be absolute). */
static int host_path(const char *basedir, const char *path, char **ret, struct err *e)
{
	if (path[0] == '/' || !basedir || !path[0]) {
		if (path[0] != '/')
			return err_set(e, EINVAL, "path '%s' must be absolute", path);
		*ret = strdup(path);
	} else if (asprintf(ret, "%s/%s", basedir, path) < 0) {
		*ret = NULL;
	}
	return *ret ? 0 : -ENOMEM;
}

/* How the caller completes a message from apply_directive(). */
enum msg_kind {
	MSG_DIRECTIVE, /* prefix "file:line: directive: " (most) */
	MSG_LINE,      /* prefix "file:line: " (an unknown directive) */
	MSG_NESTED,    /* from an included profile: names its own file and line */
};

/* What a directive's handler gets: its arguments, already counted against
 * the table, and where the text comes from. */
struct dargs {
	const char *name;        /* the directive as written */
	const char *const *arg;  /* the arguments after it */
	size_t n;                /* how many */
	const char *usage;       /* for messages: "ro HOST [BOX] [optional]" */
	const char *basedir;     /* the file's directory, or NULL */
	struct parse_ctx *ctx;   /* the includes being parsed */
	enum msg_kind *ret_kind; /* how the caller completes a message */
};

/* `include PROFILE`: the profile's own messages name its file and line. */
static int d_include(struct policy *p, const struct dargs *a, struct err *e)
{
	const struct profile *pr = NULL;
	int r = include_check(a->arg[0], a->ctx, &pr, e);
	if (r < 0)
		return r;
	*a->ret_kind = MSG_NESTED;
	return include_profile(p, pr, a->ctx, e);
}

/* `ro|rw HOST [BOX] [optional]`: BOX is absolute, so a lone second
 * argument "optional" is the keyword, not a box path. */
static int d_bind(struct policy *p, const struct dargs *a, enum grant_kind kind, struct err *e)
{
	const char *box = NULL;
	bool optional = false;
	if (a->n >= 2 && !(a->n == 2 && !strcmp(a->arg[1], "optional")))
		box = a->arg[1];
	if (a->n == 2 && !box)
		optional = true;
	if (a->n == 3) {
		if (strcmp(a->arg[2], "optional") != 0)
			return err_set(e, EINVAL, "unexpected argument '%s' (expected '%s')",
				       a->arg[2], a->usage);
		optional = true;
	}
	_cleanup_free_ char *host = NULL;
	int r = host_path(a->basedir, a->arg[0], &host, e);
	if (r < 0)
		return r;
	return policy_add_grant(p, kind, host, box, 0, optional, e);
}

static int d_ro(struct policy *p, const struct dargs *a, struct err *e)
{
	return d_bind(p, a, GRANT_RO, e);
}

static int d_rw(struct policy *p, const struct dargs *a, struct err *e)
{
	return d_bind(p, a, GRANT_RW, e);
}

/* `tmpfs BOX [SIZE]`: the size is checked against the tmp-size limit's
 * range, with that limit's message. */
static int d_tmpfs(struct policy *p, const struct dargs *a, struct err *e)
{
	uint64_t size = 0;
	if (a->n == 2) {
		int r = parse_size(a->arg[1], &size);
		if (r == -EINVAL)
			return err_set(
				e, EINVAL,
				"invalid size '%s' (expected a number with an optional K, M, G or T suffix, e.g. 16M)",
				a->arg[1]);
		if (r < 0 || size > limit_info[LIMIT_TMP_SIZE].max)
			return limit_range_error(LIMIT_TMP_SIZE, a->arg[1],
						 r < 0 ? UINT64_MAX : size, e);
	}
	return policy_add_grant(p, GRANT_TMPFS, NULL, a->arg[0], size, false, e);
}

static int d_cwd(struct policy *p, const struct dargs *a, struct err *e)
{
	/* "off" is no box path (those are absolute): no ambiguity. */
	if (!strcmp(a->arg[0], "off"))
		return policy_set_hide_cwd(p, true);
	return policy_set_cwd(p, a->arg[0], e);
}

static int d_file(struct policy *p, const struct dargs *a, struct err *e)
{
	_cleanup_free_ char *host = NULL;
	int r = host_path(a->basedir, a->arg[1], &host, e);
	if (r < 0)
		return r;
	return policy_add_file(p, a->arg[0], host, NULL, e);
}

static int d_text(struct policy *p, const struct dargs *a, struct err *e)
{
	return policy_add_file(p, a->arg[0], NULL, a->arg[1], e);
}

/* A limit (`memory 1G`): its name is the directive. */
static int d_limit(struct policy *p, const struct dargs *a, struct err *e)
{
	return policy_set_limit_str(p, (enum limit_id)limit_by_name(a->name), a->arg[0], e);
}

/* A directive: its arguments' count and usage, and either a handler or,
 * for a directive that is one call of a setter, that setter. */
struct directive {
	const char *name;
	unsigned min, max; /* arguments after the directive */
	const char *usage;
	int (*apply)(struct policy *p, const struct dargs *a, struct err *e);
	int (*set)(struct policy *p, const char *arg, struct err *e);
};

/* A row with a handler, and one with a setter of one argument. (A brace
 * in a macro reads as a block to clang-format 14.) */
/* clang-format off */
#define HANDLER(name, min, max, usage, fn) {name, min, max, usage, fn, NULL}
#define SETTER(name, usage, fn) {name, 1, 1, usage, NULL, fn}
/* clang-format on */

static const struct directive directives[] = {
	HANDLER("include", 1, 1, "include PROFILE", d_include),
	HANDLER("ro", 1, 3, "ro HOST [BOX] [optional]", d_ro),
	HANDLER("rw", 1, 3, "rw HOST [BOX] [optional]", d_rw),
	HANDLER("tmpfs", 1, 2, "tmpfs BOX [SIZE]", d_tmpfs),
	SETTER("exec", "exec PATH", policy_add_exec),
	SETTER("env", "env NAME=VALUE or env NAME", policy_add_env),
	HANDLER("cwd", 1, 1, "cwd BOX|off", d_cwd),
	SETTER("hostname", "hostname NAME", policy_set_hostname),
	SETTER("net", "net none|loopback", policy_set_net),
	SETTER("audit", "audit on|off", policy_set_audit),
	HANDLER("file", 2, 2, "file BOX HOST", d_file),
	HANDLER("text", 2, 2, "text BOX \"CONTENT\"", d_text),
	SETTER("ask", "ask BOX-PREFIX", policy_add_ask),
};

/* The table's entry for directive `name`, or one made for a limit (whose
 * usage names its unit, in the caller's buffer usage); NULL if unknown. */
static const struct directive *directive_find(const char *name, struct directive *limit,
					      char *usage, size_t len)
{
	static const char *const unit[] = {
		[LIMIT_TYPE_SIZE] = "SIZE",
		[LIMIT_TYPE_DURATION] = "DURATION",
		[LIMIT_TYPE_COUNT] = "N",
	};
	int lim = limit_by_name(name);
	if (lim >= 0) {
		snprintf(usage, len, "%s %s", name, unit[limit_info[lim].type]);
		*limit = (struct directive){name, 1, 1, usage, d_limit, NULL};
		return limit;
	}
	for (size_t i = 0; i < ELEMENTSOF(directives); i++)
		if (!strcmp(directives[i].name, name))
			return &directives[i];
	return NULL;
}

/* Applies one tokenised directive to p; *ret_kind says how to complete an
 * error message. */
static int apply_directive(struct policy *p, const char *basedir, const struct line *l,
			   struct parse_ctx *ctx, enum msg_kind *ret_kind, struct err *e)
{
	struct directive limit;
	char usage[64];
	const struct directive *d = directive_find(l->tok[0], &limit, usage, sizeof(usage));
	if (!d) {
		*ret_kind = MSG_LINE;
		return err_set(e, EINVAL, "unknown directive '%s'", l->tok[0]);
	}
	struct dargs a = {.name = l->tok[0],
			  .arg = l->tok + 1,
			  .n = l->n - 1,
			  .usage = d->usage,
			  .basedir = basedir,
			  .ctx = ctx,
			  .ret_kind = ret_kind};
	if (a.n < d->min)
		return err_set(e, EINVAL, "missing argument (expected '%s')", d->usage);
	if (a.n > d->max || l->more) {
		const char *extra = a.n > d->max ? a.arg[d->max] : "...";
		return err_set(e, EINVAL, "unexpected argument '%s' (expected '%s')", extra,
			       d->usage);
	}
	return d->set ? d->set(p, a.arg[0], e) : d->apply(p, &a, e);
}

/* Counts the lines before offset off (1-based line number of off). */
static unsigned line_of(const char *text, size_t off)
{
	unsigned n = 1;
	for (size_t i = 0; i < off; i++)
		n += text[i] == '\n';
	return n;
}

static int parse_text_raw(struct policy *p, const char *name, const char *basedir, const char *text,
			  size_t len, struct parse_ctx *ctx, struct err *e);

/* Parses a policy's text; a message quoting the file's bytes escapes
 * invalid UTF-8 and control characters (escape_text), so that it stays one
 * printable line whatever the file holds. */
static int parse_text(struct policy *p, const char *name, const char *basedir, const char *text,
		      size_t len, struct parse_ctx *ctx, struct err *e)
{
	int r = parse_text_raw(p, name, basedir, text, len, ctx, e);
	if (r < 0 && e) {
		char raw[sizeof(e->msg)];
		memcpy(raw, e->msg, sizeof(raw));
		escape_text(e->msg, sizeof(e->msg), raw);
	}
	return r;
}

static int parse_text_raw(struct policy *p, const char *name, const char *basedir, const char *text,
			  size_t len, struct parse_ctx *ctx, struct err *e)
{
	if (!p || (!text && len))
		return -EINVAL;
	if (!name)
		name = "<policy>";
	if (len > MAX_FILE_SIZE)
		return err_set(e, EFBIG, "%s: file too large (%zu bytes, at most %d)", name, len,
			       MAX_FILE_SIZE);
	const char *nul = len ? memchr(text, 0, len) : NULL;
	if (nul)
		return err_set(e, EINVAL, "%s:%u: NUL byte in the file (a policy file is text)",
			       name, line_of(text, (size_t)(nul - text)));

	/* One line at a time, into one buffer for the tokens: no line is
	 * longer than the text or the line cap. */
	struct line line = {.n = 0};
	struct line *l = &line;
	_cleanup_free_ char *buf = malloc((len < MAX_LINE ? len : MAX_LINE) + 1);
	if (!buf)
		return -ENOMEM;
	l->buf = buf;
	unsigned lineno = 0, ndirectives = 0;
	for (size_t off = 0; off < len;) {
		const char *s = text + off;
		const char *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) : len - off;
		off += n + (nl ? 1 : 0);
		lineno++;
		if (n > MAX_LINE)
			return err_set(e, EINVAL, "%s:%u: line too long (%zu bytes, at most %d)",
				       name, lineno, n, MAX_LINE);
		const char *why = NULL;
		if (tokenize(s, n, l, &why) < 0)
			return err_set(e, EINVAL, "%s:%u: %s", name, lineno, why);
		if (l->n == 0)
			continue;
		if (++ndirectives > MAX_DIRECTIVES)
			return err_set(e, E2BIG,
				       "%s:%u: too many directives (at most %d in one file)", name,
				       lineno, MAX_DIRECTIVES);
		struct err sub = {{0}};
		enum msg_kind kind = MSG_DIRECTIVE;
		size_t nexec = p->exec.n;
		int r = apply_directive(p, basedir, l, ctx, &kind, &sub);
		if (r == -ENOMEM)
			return err_set(e, ENOMEM, "%s:%u: out of memory", name, lineno);
		if (r == 0 && p->exec.n > nexec) {
			/* Where the exec path came from, for a message at launch
			 * (whether it exists is known only with the box's view). */
			char *from = NULL;
			if (asprintf(&from, "%s:%u", name, lineno) < 0)
				return err_set(e, ENOMEM, "%s:%u: out of memory", name, lineno);
			free(p->exec_from.v[nexec]);
			p->exec_from.v[nexec] = from;
		}
		if (r < 0 && kind == MSG_NESTED)
			return err_set(e, -r, "%s (included from %s:%u)", sub.msg, name, lineno);
		if (r < 0 && kind == MSG_LINE)
			return err_set(e, -r, "%s:%u: %s", name, lineno, sub.msg);
		if (r < 0)
			return err_set(e, -r, "%s:%u: %s: %s", name, lineno, l->tok[0],
				       sub.msg[0] ? sub.msg : "invalid value");
	}
	return 0;
}

/* Parses text (of file `name`, relative host paths against basedir), or
 * the built-in profile pr when set, into a scratch copy of p and makes it
 * p only when the whole text applied: a failing line leaves p exactly as
 * it was, so that no caller can run a box from half a policy. */
static int parse_into(struct policy *p, const char *name, const char *basedir, const char *text,
		      size_t len, const struct profile *pr, struct err *e)
{
	if (!p)
		return -EINVAL;
	struct policy *scratch = NULL;
	int r = policy_clone(p, &scratch);
	if (r < 0)
		return err_set(e, ENOMEM, "%s: out of memory", name ? name : "<policy>");
	struct parse_ctx ctx = {.depth = 0};
	if (pr)
		r = include_profile(scratch, pr, &ctx, e);
	else
		r = parse_text(scratch, name, basedir, text, len, &ctx, e);
	if (r < 0) {
		policy_free(scratch);
		return r;
	}
	policy_commit(p, scratch);
	return 0;
}

int policy_parse(struct policy *p, const char *name, const char *text, size_t len, struct err *e)
{
	return parse_into(p, name, NULL, text, len, NULL, e);
}

int policy_load_file(struct policy *p, const char *path, struct err *e)
{
	if (!p || !path)
		return -EINVAL;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_file(path, MAX_FILE_SIZE, &text, &len);
	if (r == -EFBIG)
		return err_set(e, EFBIG, "%s: file too large (at most %d bytes)", path,
			       MAX_FILE_SIZE);
	if (r < 0)
		return err_errno(e, -r, "cannot read policy file '%s'", path);

	/* Relative host paths in the file are relative to its directory,
	 * wherever ward runs from: resolve that directory once. */
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *dir =
		slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return -ENOMEM;
	_cleanup_free_ char *basedir = realpath(dir, NULL);
	if (!basedir)
		return err_errno(e, errno, "cannot resolve the directory of policy file '%s'",
				 path);
	return parse_into(p, path, basedir, text, len, NULL, e);
}

int policy_load_profile(struct policy *p, const char *profile, struct err *e)
{
	if (!p)
		return -EINVAL;
	struct parse_ctx ctx = {.depth = 0};
	const struct profile *pr = NULL;
	int r = include_check(profile, &ctx, &pr, e);
	if (r < 0)
		return r;
	/* analyzer: pr is set: include_check returned 0 (gcc 12 does not see that its err_set() paths return < 0) */
	return parse_into(p, pr->name, NULL, NULL, 0, pr, e);
}

/* ---- the writer ----------------------------------------------------- */

/* Writes one token, quoted when the reader would otherwise split it,
 * take it for a comment, or lose it (empty). */
static void put_token(FILE *f, const char *s)
{
	bool quote = !s[0] || strpbrk(s, " \t\r\n\"#") != NULL;
	if (!quote) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void put_directive(FILE *f, const char *d, const char *a, const char *b, const char *c)
{
	fputs(d, f);
	const char *args[] = {a, b, c};
	for (size_t i = 0; i < ELEMENTSOF(args); i++) {
		if (!args[i])
			continue;
		fputc(' ', f);
		put_token(f, args[i]);
	}
	fputc('\n', f);
}

int policy_format(const struct policy *p, char **ret_text)
{
	if (!p || !ret_text)
		return -EINVAL;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_grants; i++) {
		const struct grant *g = &p->grants[i];
		if (g->kind == GRANT_TMPFS) {
			char sz[32];
			format_size(g->size, sz, sizeof(sz));
			put_directive(f, "tmpfs", g->box, g->size ? sz : NULL, NULL);
			continue;
		}
		put_directive(f, g->kind == GRANT_RW ? "rw" : "ro", g->host,
			      strcmp(g->host, g->box) ? g->box : NULL,
			      g->optional ? "optional" : NULL);
	}
	for (size_t i = 0; i < p->exec.n; i++)
		put_directive(f, "exec", p->exec.v[i], NULL, NULL);
	/* `env NAME` as it was written: the caller's value (a token, a
	 * password) is never written out (--learn's file). */
	for (size_t i = 0; i < p->env.n; i++) {
		size_t nlen = strcspn(p->env.v[i], "=");
		bool pass = false;
		for (size_t j = 0; j < p->env_pass.n && !pass; j++)
			pass = strlen(p->env_pass.v[j]) == nlen &&
			       !strncmp(p->env_pass.v[j], p->env.v[i], nlen);
		_cleanup_free_ char *name = pass ? strndup(p->env.v[i], nlen) : NULL;
		put_directive(f, "env", name ? name : p->env.v[i], NULL, NULL);
	}
	if (p->hide_cwd)
		put_directive(f, "cwd", "off", NULL, NULL);
	if (p->cwd)
		put_directive(f, "cwd", p->cwd, NULL, NULL);
	if (p->hostname)
		put_directive(f, "hostname", p->hostname, NULL, NULL);
	if (p->net == NET_LOOPBACK)
		put_directive(f, "net", "loopback", NULL, NULL);
	if (p->audit)
		put_directive(f, "audit", "on", NULL, NULL);
	for (size_t i = 0; i < p->n_files; i++)
		put_directive(f, p->files[i].host ? "file" : "text", p->files[i].box,
			      p->files[i].host ? p->files[i].host : p->files[i].text, NULL);
	for (size_t i = 0; i < p->ask.n; i++)
		put_directive(f, "ask", p->ask.v[i], NULL, NULL);
	for (int i = 0; i < _LIMIT_MAX; i++) {
		char v[32];
		if (!p->limits[i])
			continue;
		if (limit_info[i].type == LIMIT_TYPE_SIZE)
			format_size(p->limits[i], v, sizeof(v));
		else if (limit_info[i].type == LIMIT_TYPE_DURATION)
			format_duration(p->limits[i], v, sizeof(v));
		else
			snprintf(v, sizeof(v), "%" PRIu64, p->limits[i]);
		put_directive(f, limit_info[i].name, v, NULL, NULL);
	}
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return -ENOMEM;
	}
	*ret_text = buf;
	return 0;
}
