/* plan.c — the plan: everything the box is built from, decided in the
 * controller before clone (docs/ARCHITECTURE.md, "The launch sequence"). */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "launch.h"

/* Keeps a heap string alive for the plan's lifetime; returns it. */
static const char *own(struct plan *pl, char *s)
{
	if (!s || strv_push_take(&pl->owned, s) < 0)
		return NULL;
	return s;
}

static const char *own_printf(struct plan *pl, const char *fmt, ...) _printf_(2, 3);
static const char *own_printf(struct plan *pl, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : own(pl, s);
}

/* ---- plan ---------------------------------------------------------- */

static int add_bind(struct plan *pl, const char *host, const char *box,
		    bool rdonly, bool optional, bool device, struct err *e)
{
	struct stat st;
	if (stat(host, &st) < 0) {
		if (optional && errno == ENOENT)
			return 0;
		return err_errno(e, errno, "cannot grant '%s'", host);
	}
	if (mnt_plan_add(&pl->mp, MNT_BIND, host, box) < 0)
		return -ENOMEM;
	struct mnt_entry *m = mnt_plan_last(&pl->mp);
	m->rdonly = rdonly;
	m->optional = optional;
	m->device = device;
	m->src_is_dir = S_ISDIR(st.st_mode);
	m->exec_rule = true;
	return 0;
}

/* /bin, /lib... are symlinks into /usr on merged-/usr systems: recreate
 * the link; on others bind the directory read-only. */
static int add_base_dir(struct plan *pl, const char *path, struct err *e)
{
	char target[4096];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = 0;
		const char *t = own(pl, strdup(target));
		if (!t || mnt_plan_add(&pl->mp, MNT_SYMLINK, t, path) < 0)
			return -ENOMEM;
		return 0;
	}
	return add_bind(pl, path, path, true, true, false, e);
}

static int add_file(struct plan *pl, const char *dst, const char *content,
		    unsigned mode)
{
	if (!content || mnt_plan_add(&pl->mp, MNT_FILE, content, dst) < 0)
		return -ENOMEM;
	mnt_plan_last(&pl->mp)->mode = mode;
	return 0;
}

/* Does an explicit grant sit at or above box path `path`? */
static bool explicit_grant_covers(const struct policy *p, const char *path)
{
	for (size_t i = 0; i < p->n_grants; i++)
		if (!p->grants[i].implicit && path_is_under(path, p->grants[i].box))
			return true;
	return false;
}

static bool grant_replaces(const struct policy *p, const char *box)
{
	for (size_t i = 0; i < p->n_grants; i++)
		if (!strcmp(p->grants[i].box, box))
			return true;
	return false;
}

/* A read-write grant. Whether the box writes as the path's owner (as
 * root: an idmapped mount, never as host root) is decided by
 * mnt_prepare_writable, from one descriptor of the path that is not a
 * symlink (a symlink is refused there). */
static void plan_writable(struct plan *pl, struct mnt_entry *m)
{
	struct stat st;
	m->writable = true;
	/* A directory: the box's writes land in a tmpfs of the disk limit
	 * (an overlay), applied when the run ends (mount.c, disk.c). A file
	 * grant stays a bind: the file-size limit bounds it. */
	if (lstat(m->src, &st) == 0 && S_ISDIR(st.st_mode)) {
		m->overlay = true;
		m->size = pl->lim.v[LIMIT_DISK];
		pl->n_overlay++;
	}
}

/* The host's system directories, read-only: /usr, and /bin, /lib... as
 * links into it or binds (unless a grant replaces one). */
static int plan_system_dirs(struct plan *pl, const struct policy *p, struct err *e)
{
	static const char *const base_dirs[] = {"/bin", "/sbin", "/lib", "/lib32",
						"/lib64", "/libx32"};
	int r;
	if (!grant_replaces(p, "/usr") && (r = add_bind(pl, "/usr", "/usr", true, false, false, e)) < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(base_dirs); i++)
		if (!grant_replaces(p, base_dirs[i]) && (r = add_base_dir(pl, base_dirs[i], e)) < 0)
			return r;
	return 0;
}

/* A minimal /etc: only what ward writes, plus what profiles grant. */
static int plan_etc(struct plan *pl, struct err *e)
{
	int r;
	const char *hn = pl->hostname;
	if ((r = add_file(pl, "/etc/passwd",
			  "root:x:0:0:root:/root:/usr/sbin/nologin\n"
			  "box:x:1000:1000:ward box:/tmp:/bin/sh\n"
			  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
			  0644)) < 0 ||
	    (r = add_file(pl, "/etc/group", "root:x:0:\nbox:x:1000:\nnogroup:x:65534:\n", 0644)) < 0 ||
	    (r = add_file(pl, "/etc/hostname", own_printf(pl, "%s\n", hn), 0644)) < 0 ||
	    (r = add_file(pl, "/etc/hosts",
			  own_printf(pl, "127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n", hn),
			  0644)) < 0 ||
	    (r = add_file(pl, "/etc/nsswitch.conf",
			  "passwd: files\ngroup: files\nshadow: files\nhosts: files\n"
			  "networks: files\nprotocols: files\nservices: files\n",
			  0644)) < 0)
		return r < 0 ? r : -ENOMEM;
	if ((r = add_bind(pl, "/etc/ld.so.cache", "/etc/ld.so.cache", true, true, false, e)) < 0)
		return r;
	char tz[4096];
	ssize_t n = readlink("/etc/localtime", tz, sizeof(tz) - 1);
	if (n > 0) {
		tz[n] = 0;
		const char *t = own(pl, strdup(tz));
		if (!t || mnt_plan_add(&pl->mp, MNT_SYMLINK, t, "/etc/localtime") < 0)
			return -ENOMEM;
	} else if ((r = add_bind(pl, "/etc/localtime", "/etc/localtime", true, true, false, e)) < 0) {
		return r;
	}
	return 0;
}

/* /dev: a small tmpfs with the harmless devices bound from the host
 * (a user namespace cannot mknod) and no terminal. */
static int plan_dev(struct plan *pl, struct err *e)
{
	int r;
	if (mnt_plan_add(&pl->mp, MNT_TMPFS, NULL, "/dev") < 0)
		return -ENOMEM;
	mnt_plan_last(&pl->mp)->size = 64 * 1024;
	mnt_plan_last(&pl->mp)->mode = 0755;
	/* Read-only once populated (the devices are binds of their own and
	 * stay writable): /dev/fd and /dev/std* stay ward's links. */
	mnt_plan_last(&pl->mp)->seal = true;
	/* Without a memory cgroup the box's /dev/zero is the host's
	 * /dev/full: reads give zeros all the same, but it has no mmap
	 * (ENODEV), since a MAP_SHARED mapping of /dev/zero is shmem that
	 * init's count does not see once it leaves the page tables
	 * (seccomp_apply_memory_guard); writes fail with ENOSPC. */
	bool zero_is_full = pl->lim.v[LIMIT_MEMORY] && !pl->lim.memory_by_cgroup;
	static const char *const devs[] = {"/dev/null", "/dev/zero", "/dev/full",
					   "/dev/random", "/dev/urandom"};
	for (size_t i = 0; i < ELEMENTSOF(devs); i++) {
		const char *host = zero_is_full && !strcmp(devs[i], "/dev/zero") ? "/dev/full" : devs[i];
		if ((r = add_bind(pl, host, devs[i], false, false, true, e)) < 0)
			return r;
	}
	static const char *const links[][2] = {
		{"/proc/self/fd", "/dev/fd"},	{"/proc/self/fd/0", "/dev/stdin"},
		{"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
		{"/tmp", "/dev/shm"},
	};
	for (size_t i = 0; i < ELEMENTSOF(links); i++)
		if (mnt_plan_add(&pl->mp, MNT_SYMLINK, links[i][0], links[i][1]) < 0)
			return -ENOMEM;
	return 0;
}

/* The caller's working directory, as *ret_cwd when the box may see it
 * (else NULL), with a notice when it is not exposed. */
static int plan_cwd(struct plan *pl, struct plan_notes *n, const struct policy *p,
		    const struct run_options *o, const char **ret_cwd, struct err *e)
{
	int r = 0;
	/* The caller's working directory, read-only at the same path, so that
	 * `ward run -- python3 script.py` finds script.py. Not for / or the
	 * home directory itself (that would expose everything), and never
	 * over an explicit grant. */
	char cwdbuf[4096];
	const char *cwd = NULL;
	*ret_cwd = NULL;
	if (o->bind_cwd && getcwd(cwdbuf, sizeof(cwdbuf))) {
		/* $HOME, not getpwuid(): an NSS lookup costs about a
		 * millisecond here, more than the rest of the plan. */
		const char *home = getenv("HOME");
		static const char *const owned[] = {"/tmp", "/dev", "/proc", "/etc", "/usr",
						    "/bin", "/sbin", "/lib", "/lib64"};
		const char *hides = NULL;
		for (size_t i = 0; i < ELEMENTSOF(owned) && !hides; i++)
			if (path_is_under(owned[i], cwdbuf))
				hides = owned[i];
		/* Inside the box's own /dev or /proc (the host's devpts, its
		 * /proc/sys) it would land over ward's: not exposed either. */
		static const char *const kernel[] = {"/dev", "/proc"};
		const char *inside = NULL;
		for (size_t i = 0; i < ELEMENTSOF(kernel) && !inside; i++)
			if (path_is_under(cwdbuf, kernel[i]))
				inside = kernel[i];
		/* Runtime directories hold the host's sockets, which a
		 * read-only bind does not stop connect() to (nor Landlock). */
		const char *runtime = getenv("XDG_RUNTIME_DIR");
		static const char *const sockets[] = {"/run", "/var/run", "/sys"};
		bool has_sockets = runtime && runtime[0] == '/' &&
				   (path_is_under(runtime, cwdbuf) || path_is_under(cwdbuf, runtime));
		for (size_t i = 0; i < ELEMENTSOF(sockets) && !has_sockets; i++)
			has_sockets = path_is_under(sockets[i], cwdbuf) ||
				      path_is_under(cwdbuf, sockets[i]);
		/* (path_is_under(child, parent)) */
		if (p->hide_cwd) {
			/* `cwd off`: not exposed, no notice (asked for); still
			 * the working directory where a grant shows it. */
			if (explicit_grant_covers(p, cwdbuf))
				cwd = own(pl, strdup(cwdbuf));
		} else if (!strcmp(cwdbuf, "/") || (home && home[0] == '/' && path_is_under(home, cwdbuf))) {
			snprintf(n->notice, sizeof(n->notice),
				 "the current directory '%s' is not exposed in the box (it is / or your home directory, or holds it); grant what the program needs with --ro or --rw",
				 cwdbuf);
		} else if (has_sockets) {
			snprintf(n->notice, sizeof(n->notice),
				 "the current directory '%s' is not exposed in the box (it is a runtime directory that holds host sockets); grant what the program needs with --ro or --rw",
				 cwdbuf);
		} else if (inside) {
			snprintf(n->notice, sizeof(n->notice),
				 "the current directory '%s' is not exposed in the box (it is inside the box's own '%s'); grant what the program needs with --ro or --rw",
				 cwdbuf, inside);
		} else if (hides) {
			snprintf(n->notice, sizeof(n->notice),
				 "the current directory '%s' is not exposed in the box (it would hide the box's own '%s'); grant what the program needs with --ro or --rw",
				 cwdbuf, hides);
		} else if (explicit_grant_covers(p, cwdbuf)) {
			cwd = own(pl, strdup(cwdbuf));
		} else {
			cwd = own(pl, strdup(cwdbuf));
			if (!cwd || (r = add_bind(pl, cwd, cwd, true, false, false, e)) < 0)
				return r < 0 ? r : -ENOMEM;
			snprintf(n->exposed_cwd, sizeof(n->exposed_cwd), "%s", cwd);
		}
	}
	*ret_cwd = cwd;
	return 0;
}

/* The policy's grants, then the host-function client shims. */
static int plan_grants(struct plan *pl, const struct policy *p, const struct run_options *o,
		       struct err *e)
{
	int r;
	/* Explicit grants, in policy order (later ones win on the same path;
	 * the policy already replaced duplicates). */
	for (size_t i = 0; i < p->n_grants; i++) {
		const struct grant *g = &p->grants[i];
		if (g->kind == GRANT_TMPFS) {
			if (mnt_plan_add(&pl->mp, MNT_TMPFS, NULL, g->box) < 0)
				return -ENOMEM;
			mnt_plan_last(&pl->mp)->size = g->size ? g->size : pl->lim.v[LIMIT_TMP_SIZE];
			mnt_plan_last(&pl->mp)->mode = 01777;
			continue;
		}
		size_t before = pl->mp.n;
		r = add_bind(pl, g->host, g->box, g->kind == GRANT_RO, g->optional, false, e);
		if (r < 0)
			return r;
		if (g->kind == GRANT_RW && pl->mp.n > before)
			plan_writable(pl, mnt_plan_last(&pl->mp));
	}
	/* The host-function client shims, where the environment says. */
	if (o->channel && o->client_dir && access(o->client_dir, F_OK) < 0 && errno == ENOENT)
		return err_set(e, ENOENT, "the host-function client shims are not at '%s': install "
			       "ward with 'meson install', or name their directory with "
			       "ward_policy_set_client_dir", o->client_dir);
	if (o->channel && o->client_dir &&
	    (r = add_bind(pl, o->client_dir, CLIENT_BOX_DIR, true, false, false, e)) < 0)
		return r;
	return 0;
}

int plan_filesystem(struct plan *pl, struct plan_notes *n, const struct policy *p,
		    const struct run_options *o, struct err *e)
{
	const char *cwd;
	int r;

	pl->mp.root_size = 1 << 20;
	/* The staging point is only a place to attach the new root for a
	 * moment: every host path is captured before it is mounted over. */
	pl->mp.staging = "/tmp";
	struct stat st;
	if (stat("/tmp", &st) < 0 || !S_ISDIR(st.st_mode))
		pl->mp.staging = "/mnt";

	if ((r = plan_system_dirs(pl, p, e)) < 0 ||
	    (r = plan_etc(pl, e)) < 0)
		return r;
	/* /proc of the box's own pid namespace. */
	if (mnt_plan_add(&pl->mp, MNT_PROC, NULL, "/proc") < 0)
		return -ENOMEM;
	if ((r = plan_dev(pl, e)) < 0)
		return r;
	/* A private, size-capped /tmp unless a grant provides one. */
	if (!grant_replaces(p, "/tmp")) {
		if (mnt_plan_add(&pl->mp, MNT_TMPFS, NULL, "/tmp") < 0)
			return -ENOMEM;
		mnt_plan_last(&pl->mp)->size = pl->lim.v[LIMIT_TMP_SIZE];
		mnt_plan_last(&pl->mp)->mode = 01777;
	}
	if ((r = plan_cwd(pl, n, p, o, &cwd, e)) < 0 ||
	    (r = plan_grants(pl, p, o, e)) < 0)
		return r;
	mnt_plan_sort(&pl->mp);

	/* Working directory: --cwd, else the caller's if it is visible. */
	if (p->cwd)
		pl->cwd = p->cwd;
	else if (cwd)
		pl->cwd = cwd;
	else
		pl->cwd = "/";
	return 0;
}

#define DEFAULT_PATH_ENV "PATH=/usr/local/bin:/usr/bin:/bin"

/* Does the policy set the variable of `assignment` (NAME=value)? */
static bool policy_sets(const struct policy *p, const char *assignment)
{
	size_t klen = strchr(assignment, '=') - assignment + 1;
	for (size_t j = 0; j < p->env.n; j++)
		if (!strncmp(p->env.v[j], assignment, klen))
			return true;
	return false;
}

/* With host functions: the channel's fd, each client shim's module path
 * (unless the policy sets that variable itself) and ward-call on PATH. */
static int plan_channel_environment(struct plan *pl, const struct policy *p,
				    const struct run_options *o)
{
	static const char *const shim_env[] = {
		"PYTHONPATH=" CLIENT_BOX_DIR "/python",
		"LUA_PATH=" CLIENT_BOX_DIR "/lua/?.lua;;",
		"LUA_CPATH=" CLIENT_BOX_DIR "/lua/?.so;;",
		"NODE_PATH=" CLIENT_BOX_DIR "/node",
		"RUBYLIB=" CLIENT_BOX_DIR "/ruby",
		"PERL5LIB=" CLIENT_BOX_DIR "/perl",
	};
	char fd[32];
	snprintf(fd, sizeof(fd), "WARD_CHANNEL_FD=%d", CHANNEL_BOX_FD);
	if (strv_push(&pl->env, fd) < 0)
		return -ENOMEM;
	for (size_t i = 0; o->client_dir && i < ELEMENTSOF(shim_env); i++)
		if (!policy_sets(p, shim_env[i]) && strv_push(&pl->env, shim_env[i]) < 0)
			return -ENOMEM;
	/* ward-call on the default PATH, so that `ward-call get_post 3`
	 * works in sh (a PATH the policy sets is left as written). */
	for (size_t i = 0; o->client_dir && i < pl->env.n; i++) {
		if (strcmp(pl->env.v[i], DEFAULT_PATH_ENV))
			continue;
		char *path = strdup(DEFAULT_PATH_ENV ":" CLIENT_BOX_DIR "/bin");
		if (!path)
			return -ENOMEM;
		free(pl->env.v[i]);
		pl->env.v[i] = path;
		/* analyzer: path is pl->env's now (plan_free frees it); gcc 12 loses it */
	}
	return 0;
}

/* The program's environment: ward's defaults, the policy's variables
 * (the last of a name wins), and with host functions the channel's. */
int plan_environment(struct plan *pl, const struct policy *p, const struct run_options *o)
{
	static const char *const defaults[] = {
		DEFAULT_PATH_ENV, "HOME=/tmp", "LANG=C.UTF-8",
	};
	for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
		if (!policy_sets(p, defaults[i]) && strv_push(&pl->env, defaults[i]) < 0)
			return -ENOMEM;
	/* Last entry for a name wins: keep only the last occurrence. */
	for (size_t j = 0; j < p->env.n; j++) {
		const char *eq = strchr(p->env.v[j], '=');
		size_t klen = eq ? (size_t)(eq - p->env.v[j]) + 1 : strlen(p->env.v[j]);
		bool later = false;
		for (size_t k = j + 1; k < p->env.n; k++)
			if (!strncmp(p->env.v[k], p->env.v[j], klen))
				later = true;
		if (!later && strv_push(&pl->env, p->env.v[j]) < 0)
			return -ENOMEM;
	}
	if (!pl->env.v && strv_push(&pl->env, "PATH=/usr/bin:/bin") < 0)
		return -ENOMEM;
	return o->channel ? plan_channel_environment(pl, p, o) : 0;
}

/* ---- limits and cgroups ------------------------------------------- */

/* The limits in force, and what enforces each unless a cgroup does. */
int plan_limits(struct plan *pl, struct plan_notes *n, const struct policy *p)
{
	for (int i = 0; i < _LIMIT_MAX; i++) {
		pl->lim.v[i] = policy_limit(p, i);
		n->limit_source[i] = pl->lim.v[i] ? "rlimit" : NULL;
	}
	n->limit_source[LIMIT_WALL_TIME] = pl->lim.v[LIMIT_WALL_TIME] ? "controller" : NULL;
	n->limit_source[LIMIT_OUTPUT] = pl->lim.v[LIMIT_OUTPUT] ? "controller" : NULL;
	n->limit_source[LIMIT_TMP_SIZE] = "tmpfs";
	n->limit_source[LIMIT_DISK] = "overlay";
	/* Without a cgroup: RLIMIT_DATA per process plus init's count. */
	n->limit_source[LIMIT_MEMORY] = pl->lim.v[LIMIT_MEMORY] ? "rlimit+count" : NULL;
	return 0;
}

/* A cgroup for the run (unless the options say off), which then enforces
 * the memory and process limits. */
int plan_cgroup(struct plan *pl, struct plan_notes *n, const struct policy *p,
		const struct run_options *o, struct err *e)
{
	if (o->cgroup_mode == CGROUP_OFF)
		return 0;
	struct features f = {0};
	cgroup_detect(&f);
	/* The defaults use a cgroup too: rlimits bound each process, not the
	 * box as a whole. */
	bool explicit = p->limits[LIMIT_MEMORY] || p->limits[LIMIT_PROCS];
	if (!f.cgroup_version) {
		if (o->cgroup_mode == CGROUP_REQUIRE)
			return err_set(e, EOPNOTSUPP, "--cgroup require: %s", f.cgroup_why);
		return 0;
	}
	struct err ce;
	int r = cgroup_create(&pl->cg, &f, pl->lim.v[LIMIT_MEMORY], pl->lim.v[LIMIT_PROCS], &ce);
	if (r < 0) {
		if (o->cgroup_mode == CGROUP_REQUIRE || explicit)
			return err_set(e, -r, "%s", ce.msg);
		return 0; /* defaults fall back to rlimits */
	}
	pl->have_cg = true;
	const char *src = pl->cg.version == 2 ? "cgroup-v2" : "cgroup-v1";
	if (pl->lim.v[LIMIT_MEMORY]) {
		pl->lim.memory_by_cgroup = true;
		n->limit_source[LIMIT_MEMORY] = src;
	}
	if (pl->lim.v[LIMIT_PROCS]) {
		pl->lim.procs_by_cgroup = true;
		n->limit_source[LIMIT_PROCS] = src;
	}
	return 0;
}

/* Each exec path must exist in the box's view (the mount plan): else
 * Landlock fails in the box, far from the policy line that named it. */
static int check_exec_paths(const struct plan *pl, const struct policy *p, struct err *e)
{
	for (size_t i = 0; i < p->exec.n; i++) {
		char x[PATH_MAX];
		snprintf(x, sizeof(x), "%s", p->exec.v[i]);
		const struct mnt_entry *best = NULL;
		/* Through the plan's symlinks (/bin -> usr/bin), a few hops. */
		for (int hop = 0; hop < 8; hop++) {
			best = NULL;
			for (size_t j = 0; j < pl->mp.n; j++) {
				const struct mnt_entry *m = &pl->mp.e[j];
				if (path_is_under(x, m->dst) && (!best || strlen(m->dst) >= strlen(best->dst)))
					best = m;
			}
			if (!best || best->kind != MNT_SYMLINK || !strcmp(best->dst, x))
				break;
			char next[PATH_MAX];
			const char *rest = x + strlen(best->dst);
			if (best->src[0] == '/')
				snprintf(next, sizeof(next), "%s%s", best->src, rest);
			else
				snprintf(next, sizeof(next), "%.*s/%s%s",
					 (int)(strrchr(best->dst, '/') - best->dst), best->dst, best->src, rest);
			_cleanup_free_ char *norm = path_normalize(next);
			if (!norm)
				return -ENOMEM;
			snprintf(x, sizeof(x), "%s", norm);
		}
		bool found = false;
		if (best && best->kind == MNT_BIND) {
			_cleanup_free_ char *host = NULL;
			const char *rest = x + strlen(best->dst);
			if (asprintf(&host, "%s%s%s", best->src, *rest && *rest != '/' ? "/" : "", rest) < 0)
				return -ENOMEM;
			found = access(host, F_OK) == 0;
		} else if (best) {
			found = !strcmp(best->dst, x) || best->kind == MNT_PROC;
		}
		if (!found) {
			const char *from = i < p->exec_from.n ? p->exec_from.v[i] : "";
			return err_set(e, ENOENT, "%s%sexec: '%s' does not exist in the box", from,
				       *from ? ": " : "", p->exec.v[i]);
		}
	}
	return 0;
}


/* The exec list (--exec), each path checked against the plan. */
int plan_exec(struct plan *pl, const struct policy *p, struct err *e)
{
	int r = strv_copy(&pl->exec, &p->exec);
	return r < 0 ? r : check_exec_paths(pl, p, e);
}

/* Landlock is required: its ABI decides what the box's ruleset covers. */
int plan_landlock(struct plan *pl, struct err *e)
{
	pl->landlock_abi = landlock_abi();
	if (pl->landlock_abi >= 1)
		return 0;
	return err_set(e, EOPNOTSUPP, "landlock is not available on this kernel (%s): ward requires it",
		       pl->landlock_abi == -EOPNOTSUPP ? "disabled at boot: add landlock to the lsm= kernel parameter"
						       : "not built in");
}

/* Frees the plan and what it holds: the mount plan's descriptors (the
 * idmapped trees, the overlays' host directories) and the run's cgroup. */
void plan_free(struct plan *pl)
{
	mnt_close_trees(&pl->mp);
	for (size_t i = 0; i < pl->mp.n; i++)
		if (pl->mp.e[i].host_fd >= 0) {
			close(pl->mp.e[i].host_fd);
			pl->mp.e[i].host_fd = -1;
		}
	mnt_plan_free(&pl->mp);
	strv_clear(&pl->env);
	strv_clear(&pl->exec);
	strv_clear(&pl->owned);
	if (pl->have_cg)
		cgroup_destroy(&pl->cg);
	pl->have_cg = false;
}
