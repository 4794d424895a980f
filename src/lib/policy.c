/* policy.c — the in-memory policy and its validating setters; the policy
 * file format (ward-policy(5)) is read and written in policy_file.c.
 *
 * Every source of grants (built-in profile, policy file, CLI option) goes
 * through the same setters, so a value is checked the same way wherever it
 * comes from. A malformed policy is an error, never a weaker box: the
 * parser stops at the first bad line, and the policy it was loaded into is
 * left as it was before the load (parse_into, policy_file.c). */
#include "policy.h"

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Caps on everything that grows with the input (STYLE.md: every buffer
 * that grows on input has a cap). */
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
int policy_clone(const struct policy *p, struct policy **ret)
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
void policy_commit(struct policy *p, struct policy *scratch)
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
	/* Each failure returns its own negative value, not err_set()'s:
	 * gcc 12's analyzer cannot see that err_set() returns < 0 and would
	 * take every caller's b for NULL after a 0 return. */
	if (!path || path[0] != '/') {
		err_set(e, EINVAL, "path '%s' must be absolute", path ? path : "");
		return -EINVAL;
	}
	int r = check_path_len(path, e);
	if (r < 0)
		return r;
	size_t depth = 0;
	for (const char *c = path; *c;) {
		while (*c == '/')
			c++;
		size_t n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			if (depth == 0) {
				err_set(e, EINVAL, "path '%s' climbs above '/' with '..'", path);
				return -EINVAL;
			}
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

/* Checks a bind grant (ro, rw) and returns its normalised host and box
 * paths. A missing host path is found here, where the message can still
 * name the policy line, not when the box is built. */
static int bind_check(enum grant_kind kind, const char *host, const char *box, uint64_t size,
		      bool optional, char **ret_host, char **ret_box, struct err *e)
{
	_cleanup_free_ char *h = NULL, *b = NULL;
	if (!host || host[0] != '/')
		return err_set(e, EINVAL, "path '%s' must be absolute", host ? host : "");
	int r = check_path_len(host, e);
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
	struct stat st;
	if (!optional && stat(h, &st) < 0) {
		if (errno == ENOENT)
			return err_set(e, ENOENT,
				       "host path '%s' does not exist (mark the grant 'optional' to skip it when missing)",
				       h);
		return err_errno(e, errno, "cannot grant host path '%s'", h);
	}
	*ret_host = TAKE_PTR(h);
	*ret_box = TAKE_PTR(b);
	return 0;
}

/* Checks a tmpfs grant and returns its normalised box path. */
static int tmpfs_check(const char *host, const char *box, uint64_t size, char **ret_box,
		       struct err *e)
{
	_cleanup_free_ char *b = NULL;
	if (host)
		return err_set(e, EINVAL, "a tmpfs grant has no host path");
	int r = box_path(box, &b, e);
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
	*ret_box = TAKE_PTR(b);
	return 0;
}

/* The slot for a grant at box path b: the same box path granted twice,
 * the later grant wins, in place, so that the order of the remaining
 * grants does not change; otherwise a new slot at the end. */
static int grant_slot(struct policy *p, const char *b, struct grant **ret, struct err *e)
{
	for (size_t i = 0; i < p->n_grants; i++) {
		/* analyzer: b is set: bind_check/tmpfs_check returned 0 (gcc 12 does not see that their err_set() paths return < 0) */
		if (!strcmp(p->grants[i].box, b)) {
			grant_clear(&p->grants[i]);
			*ret = &p->grants[i];
			return 0;
		}
	}
	if (p->n_grants >= MAX_GRANTS) {
		/* -E2BIG, not err_set()'s value: see box_path */
		err_set(e, E2BIG, "too many grants (at most %d)", MAX_GRANTS);
		return -E2BIG;
	}
	if (p->n_grants == p->cap_grants) {
		size_t cap = p->cap_grants ? p->cap_grants * 2 : 16;
		struct grant *v = realloc(p->grants, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->grants = v;
		p->cap_grants = cap;
	}
	*ret = &p->grants[p->n_grants++];
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
		r = bind_check(kind, host, box, size, optional, &h, &b, e);
		break;
	case GRANT_TMPFS:
		r = tmpfs_check(host, box, size, &b, e);
		optional = false;
		break;
	default:
		return err_set(e, EINVAL, "unknown grant kind %d", (int)kind);
	}
	if (r < 0)
		return r;
	struct grant *g = NULL;
	r = grant_slot(p, b, &g, e);
	if (r < 0)
		return r;
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
	size_t i = 0;
	while (i < p->env.n && strncmp(p->env.v[i], entry, nlen + 1))
		i++;
	if (i == p->env.n && p->env.n >= MAX_ENV)
		return err_set(e, E2BIG, "too many environment variables (at most %d)", MAX_ENV);
	if (env_pass_mark(p, spec, nlen, !eq) < 0)
		return -ENOMEM;
	if (i == p->env.n)
		return strv_push_take(&p->env, TAKE_PTR(entry));
	/* Swapped: the cleanup frees the earlier setting. */
	char *earlier = p->env.v[i];
	p->env.v[i] = entry;
	entry = earlier;
	return 0;
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
int limit_range_error(enum limit_id id, const char *shown, uint64_t value, struct err *e)
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
