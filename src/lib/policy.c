/* policy.c — the in-memory policy, its validating setters, and the policy
 * file format of ward-policy(5): a reader and a writer.
 *
 * Every source of grants (built-in profile, policy file, CLI option) goes
 * through the same setters, so a value is checked the same way wherever it
 * comes from. A malformed policy is an error, never a weaker box: the
 * parser stops at the first bad line, and the policy it was loaded into is
 * left as it was before the load (parse_into). */
#include "policy.h"

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Caps on everything that grows with the input (STYLE.md: every buffer
 * that grows on input has a cap). */
#define MAX_FILE_SIZE (1024 * 1024)	/* bytes of one policy file */
/* Bytes of one line, without '\n'. Long enough for the longest directive
 * the setters accept with every byte escaped (one environment variable of
 * MAX_ENV_LEN), so that whatever policy_format() writes reads back. */
#define MAX_LINE (512 * 1024)
#define MAX_DIRECTIVES 4096		/* directives in one file */
#define MAX_TOKENS 8			/* tokens kept per line; more is an error */
#define MAX_INCLUDE_DEPTH 8		/* nested `include`s */
#define MAX_GRANTS 1024
/* The launcher hands the exec list to Landlock in a fixed array of 250
 * paths, some taken by the program and its loader: stay well below. */
#define MAX_EXEC 128
#define MAX_ENV 1024
/* execve(2) refuses a single "NAME=VALUE" string longer than
 * MAX_ARG_STRLEN (32 pages = 128 KiB) with E2BIG: refuse it here, where
 * the message can name the variable. */
#define MAX_ENV_LEN (128 * 1024 - 1)
#define MAX_FILES 256			/* virtual files */
#define MAX_ASK 256			/* ask prefixes */
#define MAX_TEXT (64 * 1024)		/* bytes of one `text` file */
#define MAX_HOSTNAME 64			/* HOST_NAME_MAX */

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define TIB (1024ull * GIB)
#define DAY_MS (24ull * 3600 * 1000)

/* Defaults from the contract: a fork bomb, a memory bomb, an output flood
 * and a disk fill of /tmp are stopped without any option. The maxima only
 * catch typos ("1000T"); they are far above any real box. The minima are
 * what the box itself needs before the program runs, measured on this
 * kernel (ward-policy(5), "Limits"): a smaller
 * value could only fail at setup with the kernel's words. */
const struct limit_info limit_info[_LIMIT_MAX] = {
	/* Below ~300K even /bin/true dies in the loader (a cgroup charges
	 * init and the page tables too); 1M leaves a margin for that. */
	[LIMIT_MEMORY] = {"memory", LIMIT_TYPE_SIZE, 1 * GIB, 16 * TIB, 1 * MIB,
			  "the box's init and a program's loader need that much"},
	[LIMIT_CPU_TIME] = {"cpu-time", LIMIT_TYPE_DURATION, 0, 30 * DAY_MS, 1, NULL},
	[LIMIT_WALL_TIME] = {"wall-time", LIMIT_TYPE_DURATION, 0, 30 * DAY_MS, 1, NULL},
	/* pid_max cannot exceed 2^22 (PID_MAX_LIMIT on 64-bit). The box's
	 * init is one of the processes its pids cgroup counts. */
	[LIMIT_PROCS] = {"procs", LIMIT_TYPE_COUNT, 128, 4194304, 2,
			 "the box's init and the program are two processes"},
	[LIMIT_OUTPUT] = {"output", LIMIT_TYPE_SIZE, 64 * MIB, 16 * TIB, 1, NULL},
	[LIMIT_FILE_SIZE] = {"file-size", LIMIT_TYPE_SIZE, 64 * MIB, 16 * TIB, 1, NULL},
	/* RLIMIT_NOFILE cannot exceed fs.nr_open, 2^20 by default. It is set
	 * before Landlock, which opens a ruleset and the paths it grants
	 * while fds 0-5 (stdio, the error pipe, the host-function channel,
	 * the broker's socket) are open: descriptors up to 7. */
	[LIMIT_OPEN_FILES] = {"open-files", LIMIT_TYPE_COUNT, 1024, 1048576, 8,
			      "the box's setup holds up to 8 descriptors at once"},
	[LIMIT_TMP_SIZE] = {"tmp-size", LIMIT_TYPE_SIZE, 64 * MIB, 16 * TIB, 1, NULL},
	/* What a box may add to each read-write directory grant: its writes
	 * land in a tmpfs of this size (run.c, disk.c). */
	[LIMIT_DISK] = {"disk", LIMIT_TYPE_SIZE, 256 * MIB, 16 * TIB, 1, NULL},
};

int limit_by_name(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < _LIMIT_MAX; i++)
		if (!strcmp(limit_info[i].name, name))
			return i;
	return -1;
}

/* ---- the policy and its setters ----------------------------------- */

int policy_new(struct policy **ret)
{
	if (!ret)
		return -EINVAL;
	struct policy *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->net = NET_NONE;
	*ret = p;
	return 0;
}

static void grant_clear(struct grant *g)
{
	free(g->host);
	free(g->box);
	g->host = g->box = NULL;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_grants; i++)
		grant_clear(&p->grants[i]);
	free(p->grants);
	strv_clear(&p->exec);
	strv_clear(&p->exec_from);
	strv_clear(&p->env);
	strv_clear(&p->env_pass);
	for (size_t i = 0; i < p->n_files; i++) {
		free(p->files[i].box);
		free(p->files[i].host);
		free(p->files[i].text);
	}
	free(p->files);
	strv_clear(&p->ask);
	free(p->cwd);
	free(p->hostname);
	free(p);
}

/* A field added to struct policy must be copied by policy_clone (and freed
 * by policy_free): this fails the build (on LP64) until it is looked at. */
_Static_assert(sizeof(void *) != 8 || sizeof(struct policy) == 272,
	       "struct policy changed: update policy_clone");

static char *strdup_or_null(const char *s, bool *oom)
{
	char *c = s ? strdup(s) : NULL;
	*oom |= s && !c;
	return c;
}

/* A deep copy of p: the scratch policy a loader parses into, so that a
 * file that fails half-way leaves p as it was (policy_load_file). */
static int policy_clone(const struct policy *p, struct policy **ret)
{
	struct policy *c = NULL;
	int r = policy_new(&c);
	if (r < 0)
		return r;
	bool oom = false;
	memcpy(c->limits, p->limits, sizeof(c->limits));
	c->hide_cwd = p->hide_cwd;
	c->net = p->net;
	c->audit = p->audit;
	c->cwd = strdup_or_null(p->cwd, &oom);
	c->hostname = strdup_or_null(p->hostname, &oom);
	/* calloc: until a string is copied, its pointer is NULL for policy_free. */
	if (p->n_grants && !oom) {
		c->grants = calloc(p->n_grants, sizeof(*c->grants));
		oom |= !c->grants;
		c->n_grants = c->cap_grants = c->grants ? p->n_grants : 0;
	}
	for (size_t i = 0; i < c->n_grants; i++) {
		c->grants[i] = p->grants[i];
		c->grants[i].host = strdup_or_null(p->grants[i].host, &oom);
		c->grants[i].box = strdup_or_null(p->grants[i].box, &oom);
	}
	if (p->n_files && !oom) {
		c->files = calloc(p->n_files, sizeof(*c->files));
		oom |= !c->files;
		c->n_files = c->files ? p->n_files : 0;
	}
	for (size_t i = 0; i < c->n_files; i++) {
		c->files[i] = p->files[i];
		c->files[i].box = strdup_or_null(p->files[i].box, &oom);
		c->files[i].host = strdup_or_null(p->files[i].host, &oom);
		c->files[i].text = strdup_or_null(p->files[i].text, &oom);
	}
	if (oom || strv_copy(&c->exec, &p->exec) < 0 || strv_copy(&c->exec_from, &p->exec_from) < 0 ||
	    strv_copy(&c->env, &p->env) < 0 || strv_copy(&c->env_pass, &p->env_pass) < 0 ||
	    strv_copy(&c->ask, &p->ask) < 0) {
		policy_free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

/* Makes p what scratch is and frees what p was: the commit of a loader
 * that parsed into a clone of p. */
static void policy_commit(struct policy *p, struct policy *scratch)
{
	struct policy old = *p;
	*p = *scratch;
	*scratch = old;
	policy_free(scratch);
}

/* No path the kernel accepts is longer than PATH_MAX - 1 bytes. */
static int check_path_len(const char *path, struct err *e)
{
	size_t n = strlen(path);
	if (n < PATH_MAX)
		return 0;
	return err_set(e, ENAMETOOLONG, "path '%.64s...' is too long (%zu bytes, at most %d)", path, n,
		       PATH_MAX - 1);
}

/* Checks and normalises a path inside the box. "/../etc" is refused
 * rather than silently read as "/etc": a path that climbs above the root
 * is a mistake worth hearing about. Returns a heap string in *ret. */
static int box_path(const char *path, char **ret, struct err *e)
{
	if (!path || path[0] != '/')
		return err_set(e, EINVAL, "path '%s' must be absolute", path ? path : "");
	int r = check_path_len(path, e);
	if (r < 0)
		return r;
	size_t depth = 0;
	for (const char *c = path; *c;) {
		while (*c == '/')
			c++;
		size_t n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			if (depth == 0)
				return err_set(e, EINVAL, "path '%s' climbs above '/' with '..'", path);
			depth--;
		} else if (n > 0 && !(n == 1 && c[0] == '.')) {
			depth++;
		}
		c += n;
	}
	char *n = path_normalize(path);
	if (!n)
		return -ENOMEM;
	*ret = n;
	return 0;
}

/* A mount point ward builds itself cannot be replaced by a grant: the
 * box's /proc must stay its own pid namespace's procfs (a host /proc
 * would show host processes), its /dev holds only the harmless devices
 * ward creates, and its root is ward's read-only tmpfs. */
static int check_not_owned(const char *box, const char *what, struct err *e)
{
	if (!strcmp(box, "/"))
		return err_set(e, EINVAL,
			       "cannot %s over '/' (the box root is ward's own read-only tmpfs)", what);
	if (path_is_under(box, "/proc"))
		return err_set(e, EINVAL,
			       "cannot %s at '%s' (ward owns '/proc': it is the box's own process list)",
			       what, box);
	if (path_is_under(box, "/dev"))
		return err_set(e, EINVAL,
			       "cannot %s at '%s' (ward owns '/dev': it holds only the devices ward creates)",
			       what, box);
	return 0;
}

int policy_add_grant(struct policy *p, enum grant_kind kind, const char *host,
		     const char *box, uint64_t size, bool optional, struct err *e)
{
	if (!p)
		return -EINVAL;
	_cleanup_free_ char *h = NULL, *b = NULL;
	int r;
	switch (kind) {
	case GRANT_RO:
	case GRANT_RW:
		if (!host || host[0] != '/')
			return err_set(e, EINVAL, "path '%s' must be absolute", host ? host : "");
		r = check_path_len(host, e);
		if (r < 0)
			return r;
		h = path_normalize(host);
		if (!h)
			return -ENOMEM;
		if (kind == GRANT_RW && !strcmp(h, "/"))
			return err_set(e, EPERM, "refusing to grant '/' read-write");
		r = box_path(box ? box : h, &b, e);
		if (r < 0)
			return r;
		r = check_not_owned(b, "bind", e);
		if (r < 0)
			return r;
		if (size)
			return err_set(e, EINVAL, "a size applies only to tmpfs grants");
		/* A missing host path is found here, where the message can
		 * still name the policy line, not when the box is built. */
		struct stat st;
		if (!optional && stat(h, &st) < 0) {
			if (errno == ENOENT)
				return err_set(e, ENOENT,
					       "host path '%s' does not exist (mark the grant 'optional' to skip it when missing)",
					       h);
			return err_errno(e, errno, "cannot grant host path '%s'", h);
		}
		break;
	case GRANT_TMPFS:
		if (host)
			return err_set(e, EINVAL, "a tmpfs grant has no host path");
		r = box_path(box, &b, e);
		if (r < 0)
			return r;
		r = check_not_owned(b, "mount a tmpfs", e);
		if (r < 0)
			return r;
		if (size > limit_info[LIMIT_TMP_SIZE].max) {
			char got[32], max[32];
			format_size(size, got, sizeof(got));
			format_size(limit_info[LIMIT_TMP_SIZE].max, max, sizeof(max));
			return err_set(e, ERANGE, "size '%s' out of range (expected at least 1 byte and at most %s)",
				       got, max);
		}
		optional = false;
		break;
	default:
		return err_set(e, EINVAL, "unknown grant kind %d", (int)kind);
	}

	/* The same box path granted twice: the later grant wins, in place,
	 * so that the order of the remaining grants does not change. */
	struct grant *g = NULL;
	for (size_t i = 0; i < p->n_grants && !g; i++)
		if (!strcmp(p->grants[i].box, b))
			g = &p->grants[i];
	if (g) {
		grant_clear(g);
	} else {
		if (p->n_grants >= MAX_GRANTS)
			return err_set(e, E2BIG, "too many grants (at most %d)", MAX_GRANTS);
		if (p->n_grants == p->cap_grants) {
			size_t cap = p->cap_grants ? p->cap_grants * 2 : 16;
			struct grant *v = realloc(p->grants, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			p->grants = v;
			p->cap_grants = cap;
		}
		g = &p->grants[p->n_grants++];
	}
	*g = (struct grant){
		.kind = kind,
		.host = TAKE_PTR(h),
		.box = TAKE_PTR(b),
		.size = size,
		.optional = optional,
		.implicit = false,
	};
	return 0;
}

int policy_add_exec(struct policy *p, const char *box_path_arg, struct err *e)
{
	if (!p)
		return -EINVAL;
	_cleanup_free_ char *b = NULL;
	int r = box_path(box_path_arg, &b, e);
	if (r < 0)
		return r;
	if (!strcmp(b, "/"))
		return err_set(e, EINVAL, "refusing '/' (it would allow executing every file)");
	for (size_t i = 0; i < p->exec.n; i++)
		if (!strcmp(p->exec.v[i], b))
			return 0;
	if (p->exec.n >= MAX_EXEC)
		return err_set(e, E2BIG, "too many exec grants (at most %d)", MAX_EXEC);
	if (strv_push(&p->exec_from, "") < 0)
		return -ENOMEM;
	int r2 = strv_push_take(&p->exec, TAKE_PTR(b));
	if (r2 < 0)
		free(p->exec_from.v[--p->exec_from.n]);
	return r2;
}

static bool env_name_valid(const char *s, size_t n)
{
	if (n == 0 || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* Marks variable name[0..n) as passed through from the caller (on) or
 * set to a value of the policy's own (off). */
static int env_pass_mark(struct policy *p, const char *name, size_t n, bool on)
{
	for (size_t i = 0; i < p->env_pass.n; i++) {
		if (strlen(p->env_pass.v[i]) != n || strncmp(p->env_pass.v[i], name, n))
			continue;
		if (!on) {
			free(p->env_pass.v[i]);
			p->env_pass.v[i] = p->env_pass.v[--p->env_pass.n];
		}
		return 0;
	}
	char *dup = on ? strndup(name, n) : NULL;
	if (on && !dup)
		return -ENOMEM;
	return on ? strv_push_take(&p->env_pass, dup) : 0;
}

int policy_add_env(struct policy *p, const char *spec, struct err *e)
{
	if (!p)
		return -EINVAL;
	if (!spec || !spec[0])
		return err_set(e, EINVAL, "invalid variable '' (expected NAME or NAME=VALUE)");
	const char *eq = strchr(spec, '=');
	size_t nlen = eq ? (size_t)(eq - spec) : strlen(spec);
	if (!env_name_valid(spec, nlen)) {
		if (nlen == 0)
			return err_set(e, EINVAL, "invalid variable '%s' (expected NAME or NAME=VALUE)", spec);
		return err_set(e, EINVAL,
			       "invalid variable name '%.*s' (expected letters, digits and '_', not starting with a digit)",
			       (int)(nlen > 256 ? 256 : nlen), spec);
	}
	_cleanup_free_ char *entry = NULL;
	if (eq) {
		entry = strdup(spec);
	} else {
		/* Pass the caller's value through; none: nothing to pass. */
		const char *v = getenv(spec);
		if (!v)
			return 0;
		if (asprintf(&entry, "%s=%s", spec, v) < 0)
			entry = NULL;
	}
	if (!entry)
		return -ENOMEM;
	if (strlen(entry) > MAX_ENV_LEN)
		return err_set(e, E2BIG, "variable '%.*s' is too long (%zu bytes, at most %d)",
			       (int)(nlen > 256 ? 256 : nlen), spec, strlen(entry), MAX_ENV_LEN);

	/* A later setting of the same name replaces the earlier one. */
	for (size_t i = 0; i < p->env.n; i++) {
		if (!strncmp(p->env.v[i], entry, nlen + 1)) {
			if (env_pass_mark(p, spec, nlen, !eq) < 0)
				return -ENOMEM;
			free(p->env.v[i]);
			p->env.v[i] = TAKE_PTR(entry);
			return 0;
		}
	}
	if (p->env.n >= MAX_ENV)
		return err_set(e, E2BIG, "too many environment variables (at most %d)", MAX_ENV);
	if (env_pass_mark(p, spec, nlen, !eq) < 0)
		return -ENOMEM;
	return strv_push_take(&p->env, TAKE_PTR(entry));
}

int policy_set_cwd(struct policy *p, const char *path, struct err *e)
{
	if (!p)
		return -EINVAL;
	char *b = NULL;
	int r = box_path(path, &b, e);
	if (r < 0)
		return r;
	free(p->cwd);
	p->cwd = b;
	return 0;
}

int policy_set_hide_cwd(struct policy *p, bool hide)
{
	if (!p)
		return -EINVAL;
	p->hide_cwd = hide;
	return 0;
}

int policy_set_hostname(struct policy *p, const char *name, struct err *e)
{
	if (!p)
		return -EINVAL;
	if (!name || !name[0])
		return err_set(e, EINVAL, "invalid hostname '' (expected 1 to %d letters, digits, '-' or '.')",
			       MAX_HOSTNAME);
	size_t n = strlen(name);
	if (n > MAX_HOSTNAME)
		return err_set(e, EINVAL, "hostname '%.64s...' is too long (%zu characters, at most %d)",
			       name, n, MAX_HOSTNAME);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '.')
			return err_set(e, EINVAL,
				       "invalid hostname '%s' (expected 1 to %d letters, digits, '-' or '.')",
				       name, MAX_HOSTNAME);
	if (!isalnum((unsigned char)name[0]))
		return err_set(e, EINVAL, "invalid hostname '%s' (expected it to start with a letter or digit)",
			       name);
	char *h = strdup(name);
	if (!h)
		return -ENOMEM;
	free(p->hostname);
	p->hostname = h;
	return 0;
}

int policy_set_net(struct policy *p, const char *mode, struct err *e)
{
	if (!p)
		return -EINVAL;
	if (mode && !strcmp(mode, "none"))
		p->net = NET_NONE;
	else if (mode && !strcmp(mode, "loopback"))
		p->net = NET_LOOPBACK;
	else
		return err_set(e, EINVAL, "invalid mode '%s' (expected none or loopback)", mode ? mode : "");
	return 0;
}

int policy_set_audit(struct policy *p, const char *onoff, struct err *e)
{
	if (!p)
		return -EINVAL;
	if (onoff && !strcmp(onoff, "on"))
		p->audit = true;
	else if (onoff && !strcmp(onoff, "off"))
		p->audit = false;
	else
		return err_set(e, EINVAL, "invalid value '%s' (expected on or off)", onoff ? onoff : "");
	return 0;
}

int policy_add_file(struct policy *p, const char *box, const char *host, const char *text,
		    struct err *e)
{
	if (!p || (!host == !text))
		return -EINVAL;
	_cleanup_free_ char *b = NULL, *h = NULL, *t = NULL;
	int r = box_path(box, &b, e);
	if (r < 0)
		return r;
	if (!strcmp(b, "/"))
		return err_set(e, EINVAL, "a virtual file cannot be '/'");
	size_t len = 0;
	if (host) {
		if (host[0] != '/')
			return err_set(e, EINVAL, "path '%s' must be absolute", host);
		if ((r = check_path_len(host, e)) < 0)
			return r;
		struct stat st;
		if (stat(host, &st) < 0)
			return err_errno(e, errno, "host file '%s'", host);
		if (!S_ISREG(st.st_mode))
			return err_set(e, EINVAL, "host file '%s' is not a regular file", host);
		if (!(h = strdup(host)))
			return -ENOMEM;
	} else {
		len = strlen(text);
		if (len > MAX_TEXT)
			return err_set(e, EFBIG, "text for '%s' too long (%zu bytes, at most %d)", b, len,
				       MAX_TEXT);
		if (!(t = strdup(text)))
			return -ENOMEM;
	}
	/* The same box path again replaces the earlier file. */
	struct vfile *v = NULL;
	for (size_t i = 0; i < p->n_files && !v; i++)
		if (!strcmp(p->files[i].box, b))
			v = &p->files[i];
	if (v) {
		free(v->box);
		free(v->host);
		free(v->text);
	} else {
		if (p->n_files >= MAX_FILES)
			return err_set(e, E2BIG, "too many virtual files (at most %d)", MAX_FILES);
		struct vfile *nf = realloc(p->files, (p->n_files + 1) * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		p->files = nf;
		v = &p->files[p->n_files++];
	}
	*v = (struct vfile){.box = TAKE_PTR(b), .host = TAKE_PTR(h), .text = TAKE_PTR(t), .len = len};
	return 0;
}

int policy_add_ask(struct policy *p, const char *box, struct err *e)
{
	if (!p)
		return -EINVAL;
	_cleanup_free_ char *b = NULL;
	int r = box_path(box, &b, e);
	if (r < 0)
		return r;
	/* The broker leaves the box's own /proc to the kernel: an ask rule
	 * there would never be asked, so it is refused, not ignored. */
	if (path_is_under(b, "/proc"))
		return err_set(e, EINVAL, "cannot ask for '%s' (the box's /proc is not brokered)", b);
	for (size_t i = 0; i < p->ask.n; i++)
		if (!strcmp(p->ask.v[i], b))
			return 0;
	if (p->ask.n >= MAX_ASK)
		return err_set(e, E2BIG, "too many ask rules (at most %d)", MAX_ASK);
	return strv_push_take(&p->ask, TAKE_PTR(b));
}

/* "size '0' out of range (expected at least 1 byte and at most 16T)" for
 * the limit's unit; `shown` is the value as the user wrote it. A value
 * below a limit's minimum names the minimum and what needs it. */
static int limit_range_error(enum limit_id id, const char *shown, uint64_t value, struct err *e)
{
	const struct limit_info *li = &limit_info[id];
	char max[32], min[32];
	if (value && value < li->min && li->why_min) {
		if (li->type == LIMIT_TYPE_SIZE)
			format_size(li->min, min, sizeof(min));
		else
			snprintf(min, sizeof(min), "%" PRIu64, li->min);
		return err_set(e, ERANGE, "'%s' is too small (at least %s: %s)", shown, min,
			       li->why_min);
	}
	switch (li->type) {
	case LIMIT_TYPE_SIZE:
		format_size(li->max, max, sizeof(max));
		format_size(li->min, min, sizeof(min));
		return err_set(e, ERANGE, "size '%s' out of range (expected at least %s and at most %s)",
			       shown, li->min == 1 ? "1 byte" : min, max);
	case LIMIT_TYPE_DURATION:
		format_duration(li->max, max, sizeof(max));
		return err_set(e, ERANGE, "duration '%s' out of range (expected at least 1ms and at most %s)",
			       shown, max);
	case LIMIT_TYPE_COUNT:
	default:
		return err_set(e, ERANGE, "number '%s' out of range (expected %" PRIu64 " to %" PRIu64 ")",
			       shown, li->min, li->max);
	}
}

int policy_set_limit(struct policy *p, enum limit_id id, uint64_t value, struct err *e)
{
	if (!p)
		return -EINVAL;
	if ((unsigned)id >= _LIMIT_MAX)
		return err_set(e, EINVAL, "unknown limit %d", (int)id);
	if (value < limit_info[id].min || value > limit_info[id].max) {
		char shown[32];
		if (limit_info[id].type == LIMIT_TYPE_SIZE)
			format_size(value, shown, sizeof(shown));
		else if (limit_info[id].type == LIMIT_TYPE_DURATION && value)
			format_duration(value, shown, sizeof(shown));
		else
			snprintf(shown, sizeof(shown), "%" PRIu64, value);
		return limit_range_error(id, shown, value, e);
	}
	p->limits[id] = value;
	return 0;
}

int policy_set_limit_str(struct policy *p, enum limit_id id, const char *value, struct err *e)
{
	if (!p)
		return -EINVAL;
	if ((unsigned)id >= _LIMIT_MAX)
		return err_set(e, EINVAL, "unknown limit %d", (int)id);
	const struct limit_info *li = &limit_info[id];
	const char *v = value ? value : "";
	uint64_t n = 0;
	int r;
	switch (li->type) {
	case LIMIT_TYPE_SIZE:
		r = parse_size(v, &n);
		if (r == -EINVAL)
			return err_set(e, EINVAL,
				       "invalid size '%s' (expected a number with an optional K, M, G or T suffix, e.g. 256M)",
				       v);
		break;
	case LIMIT_TYPE_DURATION:
		r = parse_duration(v, &n);
		if (r == -EINVAL)
			return err_set(e, EINVAL,
				       "invalid duration '%s' (expected a number with an ms, s, m or h suffix, e.g. 5s or 500ms)",
				       v);
		break;
	case LIMIT_TYPE_COUNT:
	default:
		r = parse_count(v, li->max, &n);
		if (r == -EINVAL)
			return err_set(e, EINVAL, "invalid number '%s' (expected a whole number, e.g. 64)", v);
		break;
	}
	if (r < 0 || n < li->min || n > li->max)
		return limit_range_error(id, v, r < 0 ? UINT64_MAX : n, e);
	p->limits[id] = n;
	return 0;
}

uint64_t policy_limit(const struct policy *p, enum limit_id id)
{
	if ((unsigned)id >= _LIMIT_MAX)
		return 0;
	if (p && p->limits[id])
		return p->limits[id];
	return limit_info[id].def;
}

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
	char *buf;	/* sized for the longest line of the text */
	const char *tok[MAX_TOKENS];
	size_t n;	/* tokens kept */
	bool more;	/* the line had more than MAX_TOKENS tokens */
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
		int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", builtin_profiles[i].name);
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
		return err_set(e, ENOENT, "unknown profile '%s' (known: %s)", profile ? profile : "",
			       known);
	}
	for (size_t i = 0; i < ctx->depth; i++) {
		if (strcmp(ctx->stack[i], pr->name) != 0)
			continue;
		char chain[512];
		size_t off = 0;
		chain[0] = 0;
		for (size_t j = i; j < ctx->depth && off < sizeof(chain); j++) {
			int n = snprintf(chain + off, sizeof(chain) - off, "'%s' -> ", ctx->stack[j]);
			if (n < 0)
				break;
			off += (size_t)n;
		}
		return err_set(e, ELOOP, "include loop %s'%s'", chain, pr->name);
	}
	if (ctx->depth >= MAX_INCLUDE_DEPTH)
		return err_set(e, ELOOP, "profile '%s' nested too deeply (at most %d levels of include)",
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

enum directive {
	D_INCLUDE,
	D_RO,
	D_RW,
	D_TMPFS,
	D_EXEC,
	D_ENV,
	D_CWD,
	D_HOSTNAME,
	D_NET,
	D_AUDIT,
	D_FILE,
	D_TEXT,
	D_ASK,
	D_LIMIT,
};

static const struct {
	const char *name;
	enum directive d;
	unsigned min, max; /* arguments after the directive */
	const char *usage;
} directives[] = {
	{"include", D_INCLUDE, 1, 1, "include PROFILE"},
	{"ro", D_RO, 1, 3, "ro HOST [BOX] [optional]"},
	{"rw", D_RW, 1, 3, "rw HOST [BOX] [optional]"},
	{"tmpfs", D_TMPFS, 1, 2, "tmpfs BOX [SIZE]"},
	{"exec", D_EXEC, 1, 1, "exec PATH"},
	{"env", D_ENV, 1, 1, "env NAME=VALUE or env NAME"},
	{"cwd", D_CWD, 1, 1, "cwd BOX|off"},
	{"hostname", D_HOSTNAME, 1, 1, "hostname NAME"},
	{"net", D_NET, 1, 1, "net none|loopback"},
	{"audit", D_AUDIT, 1, 1, "audit on|off"},
	{"file", D_FILE, 2, 2, "file BOX HOST"},
	{"text", D_TEXT, 2, 2, "text BOX \"CONTENT\""},
	{"ask", D_ASK, 1, 1, "ask BOX-PREFIX"},
};

/* How the caller completes a message from apply_directive(). */
enum msg_kind {
	MSG_DIRECTIVE, /* prefix "file:line: directive: " (most) */
	MSG_LINE,      /* prefix "file:line: " (an unknown directive) */
	MSG_NESTED,    /* from an included profile: names its own file and line */
};

/* Applies one tokenised directive to p; *ret_kind says how to complete an
 * error message. */
static int apply_directive(struct policy *p, const char *basedir, const struct line *l,
			   struct parse_ctx *ctx, enum msg_kind *ret_kind, struct err *e)
{
	const char *dname = l->tok[0];
	const char *const *arg = l->tok + 1;
	size_t nargs = l->n - 1;
	int lim = limit_by_name(dname);
	enum directive d = D_LIMIT;
	unsigned min = 1, max = 1;
	char usage[64];
	if (lim >= 0) {
		static const char *const unit[] = {
			[LIMIT_TYPE_SIZE] = "SIZE",
			[LIMIT_TYPE_DURATION] = "DURATION",
			[LIMIT_TYPE_COUNT] = "N",
		};
		snprintf(usage, sizeof(usage), "%s %s", dname, unit[limit_info[lim].type]);
	} else {
		size_t i = 0;
		while (i < ELEMENTSOF(directives) && strcmp(directives[i].name, dname) != 0)
			i++;
		if (i == ELEMENTSOF(directives)) {
			*ret_kind = MSG_LINE;
			return err_set(e, EINVAL, "unknown directive '%s'", dname);
		}
		d = directives[i].d;
		min = directives[i].min;
		max = directives[i].max;
		snprintf(usage, sizeof(usage), "%s", directives[i].usage);
	}
	if (nargs < min)
		return err_set(e, EINVAL, "missing argument (expected '%s')", usage);
	if (nargs > max || l->more) {
		const char *extra = nargs > max ? arg[max] : "...";
		return err_set(e, EINVAL, "unexpected argument '%s' (expected '%s')", extra, usage);
	}

	switch (d) {
	case D_INCLUDE: {
		const struct profile *pr = NULL;
		int r = include_check(arg[0], ctx, &pr, e);
		if (r < 0)
			return r;
		*ret_kind = MSG_NESTED;
		return include_profile(p, pr, ctx, e);
	}
	case D_RO:
	case D_RW: {
		/* HOST [BOX] [optional]: BOX is absolute, so a lone second
		 * argument "optional" is the keyword, not a box path. */
		const char *box = NULL;
		bool optional = false;
		if (nargs >= 2 && !(nargs == 2 && !strcmp(arg[1], "optional")))
			box = arg[1];
		if (nargs == 2 && !box)
			optional = true;
		if (nargs == 3) {
			if (strcmp(arg[2], "optional") != 0)
				return err_set(e, EINVAL, "unexpected argument '%s' (expected '%s')",
					       arg[2], usage);
			optional = true;
		}
		_cleanup_free_ char *host = NULL;
		int r = host_path(basedir, arg[0], &host, e);
		if (r < 0)
			return r;
		return policy_add_grant(p, d == D_RO ? GRANT_RO : GRANT_RW, host, box, 0, optional, e);
	}
	case D_TMPFS: {
		uint64_t size = 0;
		if (nargs == 2) {
			int r = parse_size(arg[1], &size);
			if (r == -EINVAL)
				return err_set(e, EINVAL,
					       "invalid size '%s' (expected a number with an optional K, M, G or T suffix, e.g. 16M)",
					       arg[1]);
			if (r < 0 || size > limit_info[LIMIT_TMP_SIZE].max)
				return limit_range_error(LIMIT_TMP_SIZE, arg[1], r < 0 ? UINT64_MAX : size, e);
		}
		return policy_add_grant(p, GRANT_TMPFS, NULL, arg[0], size, false, e);
	}
	case D_EXEC:
		return policy_add_exec(p, arg[0], e);
	case D_ENV:
		return policy_add_env(p, arg[0], e);
	case D_CWD:
		/* "off" is no box path (those are absolute): no ambiguity. */
		if (!strcmp(arg[0], "off"))
			return policy_set_hide_cwd(p, true);
		return policy_set_cwd(p, arg[0], e);
	case D_HOSTNAME:
		return policy_set_hostname(p, arg[0], e);
	case D_NET:
		return policy_set_net(p, arg[0], e);
	case D_AUDIT:
		return policy_set_audit(p, arg[0], e);
	case D_FILE: {
		_cleanup_free_ char *host = NULL;
		int r = host_path(basedir, arg[1], &host, e);
		if (r < 0)
			return r;
		return policy_add_file(p, arg[0], host, NULL, e);
	}
	case D_TEXT:
		return policy_add_file(p, arg[0], NULL, arg[1], e);
	case D_ASK:
		return policy_add_ask(p, arg[0], e);
	case D_LIMIT:
	default:
		return policy_set_limit_str(p, (enum limit_id)lim, arg[0], e);
	}
}

/* Counts the lines before offset off (1-based line number of off). */
static unsigned line_of(const char *text, size_t off)
{
	unsigned n = 1;
	for (size_t i = 0; i < off; i++)
		n += text[i] == '\n';
	return n;
}

static int parse_text_raw(struct policy *p, const char *name, const char *basedir,
			  const char *text, size_t len, struct parse_ctx *ctx, struct err *e);

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

static int parse_text_raw(struct policy *p, const char *name, const char *basedir,
			  const char *text, size_t len, struct parse_ctx *ctx, struct err *e)
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
		return err_set(e, EINVAL, "%s:%u: NUL byte in the file (a policy file is text)", name,
			       line_of(text, (size_t)(nul - text)));

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
			return err_set(e, EINVAL, "%s:%u: line too long (%zu bytes, at most %d)", name,
				       lineno, n, MAX_LINE);
		const char *why = NULL;
		if (tokenize(s, n, l, &why) < 0)
			return err_set(e, EINVAL, "%s:%u: %s", name, lineno, why);
		if (l->n == 0)
			continue;
		if (++ndirectives > MAX_DIRECTIVES)
			return err_set(e, E2BIG, "%s:%u: too many directives (at most %d in one file)",
				       name, lineno, MAX_DIRECTIVES);
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
		return err_set(e, EFBIG, "%s: file too large (at most %d bytes)", path, MAX_FILE_SIZE);
	if (r < 0)
		return err_errno(e, -r, "cannot read policy file '%s'", path);

	/* Relative host paths in the file are relative to its directory,
	 * wherever ward runs from: resolve that directory once. */
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path))
					 : strdup(".");
	if (!dir)
		return -ENOMEM;
	_cleanup_free_ char *basedir = realpath(dir, NULL);
	if (!basedir)
		return err_errno(e, errno, "cannot resolve the directory of policy file '%s'", path);
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
			      strcmp(g->host, g->box) ? g->box : NULL, g->optional ? "optional" : NULL);
	}
	for (size_t i = 0; i < p->exec.n; i++)
		put_directive(f, "exec", p->exec.v[i], NULL, NULL);
	/* `env NAME` as it was written: the caller's value (a token, a
	 * password) is never written out (--learn's file). */
	for (size_t i = 0; i < p->env.n; i++) {
		size_t nlen = strcspn(p->env.v[i], "=");
		bool pass = false;
		for (size_t j = 0; j < p->env_pass.n && !pass; j++)
			pass = strlen(p->env_pass.v[j]) == nlen && !strncmp(p->env_pass.v[j], p->env.v[i], nlen);
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
