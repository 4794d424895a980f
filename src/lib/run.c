/* run.c — the launch sequence and the controller.
 *
 * Process model (docs/ARCHITECTURE.md):
 *
 *   controller (the caller)  ── clone3(all namespaces) ──▶  box init (pid 1)
 *     pumps stdin/stdout/stderr,                               builds the root,
 *     counts output, wall clock,                               forks ──▶ program (pid 2)
 *     cgroup, report                                           reaps, reports     setsid, rlimits,
 *                                                                                 no_new_privs, caps,
 *                                                                                 Landlock, seccomp,
 *                                                                                 execve
 *
 * Everything the box's processes need is prepared in `struct launch`
 * before clone, so no code after clone allocates memory. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "box.h"
#include "broker.h"
#include "channel.h"

#define CHANNEL_SPIN_NS 50000u
#define CHANNEL_SPIN_SKIP 8u

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static const char *const status_names[_STATUS_MAX] = {
	[STATUS_EXITED] = "exited",
	[STATUS_SIGNALED] = "signaled",
	[STATUS_TIME_LIMIT] = "time-limit",
	[STATUS_CPU_LIMIT] = "cpu-limit",
	[STATUS_MEMORY_LIMIT] = "memory-limit",
	[STATUS_OUTPUT_LIMIT] = "output-limit",
	[STATUS_PROCS_LIMIT] = "procs-limit",
	[STATUS_FILE_SIZE_LIMIT] = "file-size-limit",
	[STATUS_SETUP_ERROR] = "setup-error",
	[STATUS_VIOLATION] = "violation",
	[STATUS_IO_ERROR] = "io-error",
};

const char *run_status_name(enum run_status s)
{
	return (unsigned)s < _STATUS_MAX ? status_names[s] : "unknown";
}

int run_exit_code(const struct run_result *r)
{
	switch (r->status) {
	case STATUS_EXITED: return r->exit_code;
	case STATUS_SIGNALED: return 128 + r->signal;
	case STATUS_TIME_LIMIT: return EXIT_TIME_LIMIT;
	case STATUS_CPU_LIMIT: return EXIT_CPU_LIMIT;
	case STATUS_MEMORY_LIMIT: return EXIT_MEMORY_LIMIT;
	case STATUS_OUTPUT_LIMIT: return EXIT_OUTPUT_LIMIT;
	case STATUS_PROCS_LIMIT: return EXIT_PROCS_LIMIT;
	case STATUS_FILE_SIZE_LIMIT: return EXIT_FILE_SIZE_LIMIT;
	case STATUS_VIOLATION: return EXIT_VIOLATION;
	case STATUS_IO_ERROR: return EXIT_IO_ERROR;
	case STATUS_SETUP_ERROR:
	default:
		if (r->not_found)
			return EXIT_NOT_FOUND;
		if (r->not_executable)
			return EXIT_NOT_EXECUTABLE;
		return EXIT_SETUP;
	}
}

/* What init sends when the program has exited. */
struct exit_record {
	int status;
	int memory_exceeded; /* init ended a run over its memory limit */
	/* Without a cgroup (evidence for the rlimits, box_sample): the box's
	 * tasks reached RLIMIT_NPROC; a process mapped nearly RLIMIT_DATA. */
	int procs_at_limit;
	int data_near_limit;
	uint64_t peak_memory; /* highest sampled box memory (no cgroup) */
	struct rusage ru; /* the program and the descendants it waited for */
};

/* What the box's processes report back on the error pipe when setup or
 * execve fails (written once, then the process exits). */
struct child_error {
	int code; /* EXIT_SETUP, EXIT_NOT_FOUND or EXIT_NOT_EXECUTABLE */
	char msg[1000];
};

struct launch {
	struct mnt_plan mp;
	struct strv env;     /* final environment of the program */
	struct strv exec;    /* --exec list (box paths) */
	struct strv owned;   /* strings the plan points into */
	char *const *argv;
	const char *cwd;     /* box working directory */
	const char *hostname;
	enum net_mode net;
	struct box_limits lim;
	bool root;	     /* the controller runs as host root */
	uid_t host_uid;
	gid_t host_gid;
	int landlock_abi;
	struct cgroup cg;
	bool have_cg;
	/* pipes: [0] read end, [1] write end */
	int sync[2], status[2], errp[2], out[2], err[2], in[2];
	int chan[2];	     /* host-function channel: [0] controller, [1] box */
	int disk[2];	     /* the overlays' upper layers, box [1] → controller [0] */
	size_t n_overlay;    /* read-write directory grants (overlays) */
	int stdin_direct;    /* caller's stdin handed to the box as is, or -1 */
	struct broker *broker; /* NULL unless the policy needs one */
	int broker_fd;	     /* the box's end of the broker socket, or -1 */
};

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0) {
			close(p[i]);
			p[i] = -1;
		}
}

static void launch_free(struct launch *L)
{
	mnt_close_trees(&L->mp);
	mnt_plan_free(&L->mp);
	strv_clear(&L->env);
	strv_clear(&L->exec);
	strv_clear(&L->owned);
	close_pair(L->sync);
	close_pair(L->status);
	close_pair(L->errp);
	close_pair(L->out);
	close_pair(L->err);
	close_pair(L->in);
	if (L->stdin_direct >= 0)
		close(L->stdin_direct);
	close_pair(L->chan);
	close_pair(L->disk);
	for (size_t i = 0; i < L->mp.n; i++)
		if (L->mp.e[i].host_fd >= 0) {
			close(L->mp.e[i].host_fd);
			L->mp.e[i].host_fd = -1;
		}
	if (L->have_cg)
		cgroup_destroy(&L->cg);
	broker_free(L->broker);
}

/* Keeps a heap string alive for the plan's lifetime; returns it. */
static const char *own(struct launch *L, char *s)
{
	if (!s || strv_push_take(&L->owned, s) < 0)
		return NULL;
	return s;
}

static const char *own_printf(struct launch *L, const char *fmt, ...) _printf_(2, 3);
static const char *own_printf(struct launch *L, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : own(L, s);
}

/* ---- plan ---------------------------------------------------------- */

static int add_bind(struct launch *L, const char *host, const char *box,
		    bool rdonly, bool optional, bool device, struct err *e)
{
	struct stat st;
	if (stat(host, &st) < 0) {
		if (optional && errno == ENOENT)
			return 0;
		return err_errno(e, errno, "cannot grant '%s'", host);
	}
	if (mnt_plan_add(&L->mp, MNT_BIND, host, box) < 0)
		return -ENOMEM;
	struct mnt_entry *m = mnt_plan_last(&L->mp);
	m->rdonly = rdonly;
	m->optional = optional;
	m->device = device;
	m->src_is_dir = S_ISDIR(st.st_mode);
	m->exec_rule = true;
	return 0;
}

/* /bin, /lib... are symlinks into /usr on merged-/usr systems: recreate
 * the link; on others bind the directory read-only. */
static int add_base_dir(struct launch *L, const char *path, struct err *e)
{
	char target[4096];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = 0;
		const char *t = own(L, strdup(target));
		if (!t || mnt_plan_add(&L->mp, MNT_SYMLINK, t, path) < 0)
			return -ENOMEM;
		return 0;
	}
	return add_bind(L, path, path, true, true, false, e);
}

static int add_file(struct launch *L, const char *dst, const char *content,
		    unsigned mode)
{
	if (!content || mnt_plan_add(&L->mp, MNT_FILE, content, dst) < 0)
		return -ENOMEM;
	mnt_plan_last(&L->mp)->mode = mode;
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
static void plan_writable(struct launch *L, struct mnt_entry *m)
{
	struct stat st;
	m->writable = true;
	/* A directory: the box's writes land in a tmpfs of the disk limit
	 * (an overlay), applied when the run ends (mount.c, disk.c). A file
	 * grant stays a bind: the file-size limit bounds it. */
	if (lstat(m->src, &st) == 0 && S_ISDIR(st.st_mode)) {
		m->overlay = true;
		m->size = L->lim.v[LIMIT_DISK];
		L->n_overlay++;
	}
}

static int plan_filesystem(struct launch *L, const struct policy *p,
			   const struct run_options *o, struct run_result *ret)
{
	struct err *e = &ret->error;
	int r;
	static const char *const base_dirs[] = {"/bin", "/sbin", "/lib", "/lib32",
						"/lib64", "/libx32"};

	L->mp.root_size = 1 << 20;
	/* The staging point is only a place to attach the new root for a
	 * moment: every host path is captured before it is mounted over. */
	L->mp.staging = "/tmp";
	struct stat st;
	if (stat("/tmp", &st) < 0 || !S_ISDIR(st.st_mode))
		L->mp.staging = "/mnt";

	if (!grant_replaces(p, "/usr") && (r = add_bind(L, "/usr", "/usr", true, false, false, e)) < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(base_dirs); i++)
		if (!grant_replaces(p, base_dirs[i]) && (r = add_base_dir(L, base_dirs[i], e)) < 0)
			return r;

	/* A minimal /etc: only what ward writes, plus what profiles grant. */
	const char *hn = L->hostname;
	if ((r = add_file(L, "/etc/passwd",
			  "root:x:0:0:root:/root:/usr/sbin/nologin\n"
			  "box:x:1000:1000:ward box:/tmp:/bin/sh\n"
			  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
			  0644)) < 0 ||
	    (r = add_file(L, "/etc/group", "root:x:0:\nbox:x:1000:\nnogroup:x:65534:\n", 0644)) < 0 ||
	    (r = add_file(L, "/etc/hostname", own_printf(L, "%s\n", hn), 0644)) < 0 ||
	    (r = add_file(L, "/etc/hosts",
			  own_printf(L, "127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n", hn),
			  0644)) < 0 ||
	    (r = add_file(L, "/etc/nsswitch.conf",
			  "passwd: files\ngroup: files\nshadow: files\nhosts: files\n"
			  "networks: files\nprotocols: files\nservices: files\n",
			  0644)) < 0)
		return r < 0 ? r : -ENOMEM;
	if ((r = add_bind(L, "/etc/ld.so.cache", "/etc/ld.so.cache", true, true, false, e)) < 0)
		return r;
	char tz[4096];
	ssize_t n = readlink("/etc/localtime", tz, sizeof(tz) - 1);
	if (n > 0) {
		tz[n] = 0;
		const char *t = own(L, strdup(tz));
		if (!t || mnt_plan_add(&L->mp, MNT_SYMLINK, t, "/etc/localtime") < 0)
			return -ENOMEM;
	} else if ((r = add_bind(L, "/etc/localtime", "/etc/localtime", true, true, false, e)) < 0) {
		return r;
	}

	/* /proc of the box's own pid namespace. */
	if (mnt_plan_add(&L->mp, MNT_PROC, NULL, "/proc") < 0)
		return -ENOMEM;

	/* /dev: a small tmpfs with the harmless devices bound from the host
	 * (a user namespace cannot mknod) and no terminal. */
	if (mnt_plan_add(&L->mp, MNT_TMPFS, NULL, "/dev") < 0)
		return -ENOMEM;
	mnt_plan_last(&L->mp)->size = 64 * 1024;
	mnt_plan_last(&L->mp)->mode = 0755;
	/* Without a memory cgroup the box's /dev/zero is the host's
	 * /dev/full: reads give zeros all the same, but it has no mmap
	 * (ENODEV), since a MAP_SHARED mapping of /dev/zero is shmem that
	 * init's count does not see once it leaves the page tables
	 * (seccomp_apply_memory_guard); writes fail with ENOSPC. */
	bool zero_is_full = L->lim.v[LIMIT_MEMORY] && !L->lim.memory_by_cgroup;
	static const char *const devs[] = {"/dev/null", "/dev/zero", "/dev/full",
					   "/dev/random", "/dev/urandom"};
	for (size_t i = 0; i < ELEMENTSOF(devs); i++) {
		const char *host = zero_is_full && !strcmp(devs[i], "/dev/zero") ? "/dev/full" : devs[i];
		if ((r = add_bind(L, host, devs[i], false, false, true, e)) < 0)
			return r;
	}
	static const char *const links[][2] = {
		{"/proc/self/fd", "/dev/fd"},	{"/proc/self/fd/0", "/dev/stdin"},
		{"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
		{"/tmp", "/dev/shm"},
	};
	for (size_t i = 0; i < ELEMENTSOF(links); i++)
		if (mnt_plan_add(&L->mp, MNT_SYMLINK, links[i][0], links[i][1]) < 0)
			return -ENOMEM;

	/* A private, size-capped /tmp unless a grant provides one. */
	if (!grant_replaces(p, "/tmp")) {
		if (mnt_plan_add(&L->mp, MNT_TMPFS, NULL, "/tmp") < 0)
			return -ENOMEM;
		mnt_plan_last(&L->mp)->size = L->lim.v[LIMIT_TMP_SIZE];
		mnt_plan_last(&L->mp)->mode = 01777;
	}

	/* The caller's working directory, read-only at the same path, so that
	 * `ward run -- python3 script.py` finds script.py. Not for / or the
	 * home directory itself (that would expose everything), and never
	 * over an explicit grant. */
	char cwdbuf[4096];
	const char *cwd = NULL;
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
				cwd = own(L, strdup(cwdbuf));
		} else if (!strcmp(cwdbuf, "/") || (home && home[0] == '/' && path_is_under(home, cwdbuf))) {
			snprintf(ret->notice, sizeof(ret->notice),
				 "the current directory '%s' is not exposed in the box (it is / or your home directory, or holds it); grant what the program needs with --ro or --rw",
				 cwdbuf);
		} else if (has_sockets) {
			snprintf(ret->notice, sizeof(ret->notice),
				 "the current directory '%s' is not exposed in the box (it is a runtime directory that holds host sockets); grant what the program needs with --ro or --rw",
				 cwdbuf);
		} else if (hides) {
			snprintf(ret->notice, sizeof(ret->notice),
				 "the current directory '%s' is not exposed in the box (it would hide the box's own '%s'); grant what the program needs with --ro or --rw",
				 cwdbuf, hides);
		} else if (explicit_grant_covers(p, cwdbuf)) {
			cwd = own(L, strdup(cwdbuf));
		} else {
			cwd = own(L, strdup(cwdbuf));
			if (!cwd || (r = add_bind(L, cwd, cwd, true, false, false, e)) < 0)
				return r < 0 ? r : -ENOMEM;
			snprintf(ret->exposed_cwd, sizeof(ret->exposed_cwd), "%s", cwd);
		}
	}

	/* Explicit grants, in policy order (later ones win on the same path;
	 * the policy already replaced duplicates). */
	for (size_t i = 0; i < p->n_grants; i++) {
		const struct grant *g = &p->grants[i];
		if (g->kind == GRANT_TMPFS) {
			if (mnt_plan_add(&L->mp, MNT_TMPFS, NULL, g->box) < 0)
				return -ENOMEM;
			mnt_plan_last(&L->mp)->size = g->size ? g->size : L->lim.v[LIMIT_TMP_SIZE];
			mnt_plan_last(&L->mp)->mode = 01777;
			continue;
		}
		size_t before = L->mp.n;
		r = add_bind(L, g->host, g->box, g->kind == GRANT_RO, g->optional, false, e);
		if (r < 0)
			return r;
		if (g->kind == GRANT_RW && L->mp.n > before)
			plan_writable(L, mnt_plan_last(&L->mp));
	}
	/* The host-function client shims, where the environment says. */
	if (o->channel && o->client_dir && access(o->client_dir, F_OK) < 0 && errno == ENOENT)
		return err_set(e, ENOENT, "the host-function client shims are not at '%s': install "
			       "ward with 'meson install', or name their directory with "
			       "ward_policy_set_client_dir", o->client_dir);
	if (o->channel && o->client_dir &&
	    (r = add_bind(L, o->client_dir, CLIENT_BOX_DIR, true, false, false, e)) < 0)
		return r;
	mnt_plan_sort(&L->mp);

	/* Working directory: --cwd, else the caller's if it is visible. */
	if (p->cwd)
		L->cwd = p->cwd;
	else if (cwd)
		L->cwd = cwd;
	else
		L->cwd = "/";
	return 0;
}

#define DEFAULT_PATH_ENV "PATH=/usr/local/bin:/usr/bin:/bin"

/* With host functions: the channel's fd, each client shim's module path
 * (unless the policy sets that variable itself) and ward-call on PATH. */
static int plan_channel_environment(struct launch *L, const struct policy *p,
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
	if (strv_push(&L->env, fd) < 0)
		return -ENOMEM;
	for (size_t i = 0; o->client_dir && i < ELEMENTSOF(shim_env); i++) {
		size_t klen = strchr(shim_env[i], '=') - shim_env[i] + 1;
		bool set = false;
		for (size_t j = 0; j < p->env.n; j++)
			if (!strncmp(p->env.v[j], shim_env[i], klen))
				set = true;
		if (!set && strv_push(&L->env, shim_env[i]) < 0)
			return -ENOMEM;
	}
	/* ward-call on the default PATH, so that `ward-call get_post 3`
	 * works in sh (a PATH the policy sets is left as written). */
	for (size_t i = 0; o->client_dir && i < L->env.n; i++) {
		if (strcmp(L->env.v[i], DEFAULT_PATH_ENV))
			continue;
		char *path = strdup(DEFAULT_PATH_ENV ":" CLIENT_BOX_DIR "/bin");
		if (!path)
			return -ENOMEM;
		free(L->env.v[i]);
		L->env.v[i] = path;
	}
	return 0;
}

static int plan_environment(struct launch *L, const struct policy *p)
{
	static const char *const defaults[] = {
		DEFAULT_PATH_ENV, "HOME=/tmp", "LANG=C.UTF-8",
	};
	for (size_t i = 0; i < ELEMENTSOF(defaults); i++) {
		size_t klen = strchr(defaults[i], '=') - defaults[i] + 1;
		bool set = false;
		for (size_t j = 0; j < p->env.n; j++)
			if (!strncmp(p->env.v[j], defaults[i], klen))
				set = true;
		if (!set && strv_push(&L->env, defaults[i]) < 0)
			return -ENOMEM;
	}
	/* Last entry for a name wins: keep only the last occurrence. */
	for (size_t j = 0; j < p->env.n; j++) {
		const char *eq = strchr(p->env.v[j], '=');
		size_t klen = eq ? (size_t)(eq - p->env.v[j]) + 1 : strlen(p->env.v[j]);
		bool later = false;
		for (size_t k = j + 1; k < p->env.n; k++)
			if (!strncmp(p->env.v[k], p->env.v[j], klen))
				later = true;
		if (!later && strv_push(&L->env, p->env.v[j]) < 0)
			return -ENOMEM;
	}
	if (!L->env.v && strv_push(&L->env, "PATH=/usr/bin:/bin") < 0)
		return -ENOMEM;
	return 0;
}

/* ---- limits and cgroups ------------------------------------------- */

static int plan_limits(struct launch *L, const struct policy *p,
		       const struct run_options *o, struct run_result *ret)
{
	for (int i = 0; i < _LIMIT_MAX; i++) {
		L->lim.v[i] = policy_limit(p, i);
		ret->limits[i] = L->lim.v[i];
		ret->limit_source[i] = L->lim.v[i] ? "rlimit" : NULL;
	}
	ret->limit_source[LIMIT_WALL_TIME] = L->lim.v[LIMIT_WALL_TIME] ? "controller" : NULL;
	ret->limit_source[LIMIT_OUTPUT] = L->lim.v[LIMIT_OUTPUT] ? "controller" : NULL;
	ret->limit_source[LIMIT_TMP_SIZE] = "tmpfs";
	ret->limit_source[LIMIT_DISK] = "overlay";
	/* Without a cgroup: RLIMIT_DATA per process plus init's count. */
	ret->limit_source[LIMIT_MEMORY] = L->lim.v[LIMIT_MEMORY] ? "rlimit+count" : NULL;

	if (o->cgroup_mode == CGROUP_OFF)
		return 0;
	struct features f = {0};
	cgroup_detect(&f);
	/* The defaults use a cgroup too: rlimits bound each process, not the
	 * box as a whole. */
	bool explicit = p->limits[LIMIT_MEMORY] || p->limits[LIMIT_PROCS];
	if (!f.cgroup_version) {
		if (o->cgroup_mode == CGROUP_REQUIRE)
			return err_set(&ret->error, EOPNOTSUPP, "--cgroup require: %s", f.cgroup_why);
		return 0;
	}
	struct err ce;
	int r = cgroup_create(&L->cg, &f, L->lim.v[LIMIT_MEMORY], L->lim.v[LIMIT_PROCS], &ce);
	if (r < 0) {
		if (o->cgroup_mode == CGROUP_REQUIRE || explicit)
			return err_set(&ret->error, -r, "%s", ce.msg);
		return 0; /* defaults fall back to rlimits */
	}
	L->have_cg = true;
	const char *src = L->cg.version == 2 ? "cgroup-v2" : "cgroup-v1";
	ret->layers |= L->cg.version == 2 ? LAYER_CGROUP_V2 : LAYER_CGROUP_V1;
	if (L->lim.v[LIMIT_MEMORY]) {
		L->lim.memory_by_cgroup = true;
		ret->limit_source[LIMIT_MEMORY] = src;
	}
	if (L->lim.v[LIMIT_PROCS]) {
		L->lim.procs_by_cgroup = true;
		ret->limit_source[LIMIT_PROCS] = src;
	}
	return 0;
}

/* ---- inside the box ------------------------------------------------ */

static _noreturn_ _no_asan_ void child_fail(int fd, int code, const struct err *e)
{
	struct child_error ce = {.code = code};
	snprintf(ce.msg, sizeof(ce.msg), "%s", e->msg);
	(void)write_all(fd, &ce, sizeof(ce));
	_exit(code);
}

/* The interpreter a script names on its #! line (script_interp), read
 * into buf; NULL when prog is not a script. */
static const char *script_interpreter(const char *prog, char *buf, size_t len)
{
	int fd = open(prog, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	return n > 0 ? script_interp(buf, (size_t)n) : NULL;
}

/* Each exec path must exist in the box's view (the mount plan): else
 * Landlock fails in the box, far from the policy line that named it. */
static int check_exec_paths(const struct launch *L, const struct policy *p, struct err *e)
{
	for (size_t i = 0; i < p->exec.n; i++) {
		char x[PATH_MAX];
		snprintf(x, sizeof(x), "%s", p->exec.v[i]);
		const struct mnt_entry *best = NULL;
		/* Through the plan's symlinks (/bin -> usr/bin), a few hops. */
		for (int hop = 0; hop < 8; hop++) {
			best = NULL;
			for (size_t j = 0; j < L->mp.n; j++) {
				const struct mnt_entry *m = &L->mp.e[j];
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

/* PATH search inside the box (execvpe would use the controller's PATH). */
static int find_program(const struct launch *L, const char *prog, char *out,
			size_t len, struct err *e)
{
	if (strchr(prog, '/')) {
		struct stat st;
		snprintf(out, len, "%s", prog);
		if (stat(out, &st) < 0)
			return err_set(e, ENOENT, "program '%s' not found in the box", prog);
		if (S_ISDIR(st.st_mode))
			return err_set(e, EACCES, "cannot execute '%s': is a directory", prog);
		return 0;
	}
	const char *path = "/usr/bin:/bin";
	for (size_t i = 0; i < L->env.n; i++)
		if (!strncmp(L->env.v[i], "PATH=", 5))
			path = L->env.v[i] + 5;
	bool saw_noexec = false;
	for (const char *d = path; *d;) {
		const char *end = strchrnul(d, ':');
		int n = snprintf(out, len, "%.*s/%s", (int)(end - d), d, prog);
		if (n > 0 && (size_t)n < len && end > d) {
			if (access(out, X_OK) == 0) {
				struct stat st;
				if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
					return 0;
			} else if (errno == EACCES) {
				saw_noexec = true;
			}
		}
		d = *end ? end + 1 : end;
	}
	if (saw_noexec)
		return err_set(e, EACCES, "program '%s' is not executable in the box", prog);
	return err_set(e, ENOENT, "program '%s' not found in the box (PATH=%s)", prog, path);
}

/* The program's process: confine, then execve. Never returns. Runs on
 * the stack box_init mmaps for it, hence _no_asan_. */
static _noreturn_ _no_asan_ void box_exec(struct launch *L)
{
	struct err e = {{0}};
	int efd = L->errp[1];
	char prog[4096];
	char *exec_paths[260];
	size_t nexec = 0;

	/* A new session: no controlling terminal to inject keystrokes into
	 * with TIOCSTI (CVE-2017-5226). */
	if (setsid() < 0) {
		err_errno(&e, errno, "setsid");
		child_fail(efd, EXIT_SETUP, &e);
	}
	int in = L->stdin_direct >= 0 ? L->stdin_direct : L->in[0];
	if (dup2(in, 0) < 0 || dup2(L->out[1], 1) < 0 || dup2(L->err[1], 2) < 0) {
		err_errno(&e, errno, "cannot set up stdio");
		child_fail(efd, EXIT_SETUP, &e);
	}
	/* Keep only 0, 1, 2, the error pipe (close-on-exec) at 3, the
	 * host-function channel at CHANNEL_BOX_FD (4) and the broker's socket
	 * at BROKER_BOX_FD (5; sent and closed before execve). Both first go
	 * above those numbers, so that moving one cannot close another. */
	int cfd = -1, bfd = -1;
	if ((L->chan[1] >= 0 && (cfd = fcntl(L->chan[1], F_DUPFD_CLOEXEC, 6)) < 0) ||
	    (L->broker_fd >= 0 && (bfd = fcntl(L->broker_fd, F_DUPFD_CLOEXEC, 6)) < 0)) {
		err_errno(&e, errno, "cannot move the channel or the broker's socket");
		child_fail(efd, EXIT_SETUP, &e);
	}
	if (efd != 3) {
		if (dup3(efd, 3, O_CLOEXEC) < 0) {
			err_errno(&e, errno, "cannot move the error pipe");
			child_fail(efd, EXIT_SETUP, &e);
		}
		efd = 3;
	}
	if (cfd >= 0 && dup2(cfd, CHANNEL_BOX_FD) < 0) {
		err_errno(&e, errno, "cannot move the channel");
		child_fail(efd, EXIT_SETUP, &e);
	}
	if (bfd >= 0 && dup3(bfd, BROKER_BOX_FD, O_CLOEXEC) < 0) {
		err_errno(&e, errno, "cannot move the broker's socket");
		child_fail(efd, EXIT_SETUP, &e);
	}
	if (bfd >= 0 && cfd < 0)
		close(CHANNEL_BOX_FD); /* no channel: nothing may stay at 4 */
#ifdef WARD_FAULT_HOOKS
	/* Test builds only (tests/unit/test-faults): an inheritable copy of
	 * the error pipe, as a missing O_CLOEXEC would leave one; the
	 * close_range below must keep it from the program. */
	(void)fcntl(efd, F_DUPFD, 42);
#endif
	if (syscall(SYS_close_range, bfd >= 0 ? 6U : cfd >= 0 ? 5U : 4U, ~0U, 0) < 0) {
		err_errno(&e, errno, "cannot close inherited file descriptors");
		child_fail(efd, EXIT_SETUP, &e);
	}

	int r = find_program(L, L->argv[0], prog, sizeof(prog), &e);
	if (r < 0)
		child_fail(efd, r == -EACCES ? EXIT_NOT_EXECUTABLE : EXIT_NOT_FOUND, &e);

	if (L->exec.n) {
		/* The program, its ELF interpreter and a script's #! line are
		 * part of "the program" and may always be executed. */
		for (size_t i = 0; i < L->exec.n && nexec < 250; i++)
			exec_paths[nexec++] = L->exec.v[i];
		exec_paths[nexec++] = prog;
		exec_paths[nexec++] = (char *)BOX_ELF_INTERP;
		static char interp[512];
		int fd = open(prog, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, interp, sizeof(interp) - 1);
			close(fd);
			char *s = n > 0 ? script_interp(interp, (size_t)n) : NULL;
			if (s)
				exec_paths[nexec++] = s;
		}
		exec_paths[nexec] = NULL;
	}

	if (limits_apply_rlimits(&L->lim, &e) < 0)
		child_fail(efd, EXIT_SETUP, &e);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		err_errno(&e, errno, "cannot set no_new_privs");
		child_fail(efd, EXIT_SETUP, &e);
	}
	if (caps_drop_all(&e) < 0)
		child_fail(efd, EXIT_SETUP, &e);
	if (landlock_apply(&L->mp, L->exec.n ? exec_paths : NULL, L->net,
			   L->landlock_abi, &e) < 0)
		child_fail(efd, EXIT_SETUP, &e);

	/* Default signal dispositions and an empty mask: ignored signals
	 * would otherwise survive execve. */
	signals_default();

	/* Last: from here on only the allowlist's syscalls work. */
	/* memfds need the guard with an exec allowlist too: Landlock does
	 * not govern them, so an execveat() of a memfd would slip past it. */
	bool memory_by_count = L->lim.v[LIMIT_MEMORY] && !L->lim.memory_by_cgroup;
	if (seccomp_apply(&e) < 0 ||
	    ((memory_by_count || L->exec.n) &&
	     seccomp_apply_memory_guard(memory_by_count, &e) < 0))
		child_fail(efd, EXIT_SETUP, &e);
	/* The broker answers from here on, starting with our execve. An
	 * unprivileged controller may read this process's memory only while
	 * its mm (shared with init until execve) is dumpable; init, with
	 * capabilities this process lacks, stays out of its reach, and makes
	 * itself non-dumpable again when we have exec'd. */
	if (L->broker_fd >= 0 &&
	    ((!L->root && prctl(PR_SET_DUMPABLE, 1) < 0) || broker_install(BROKER_BOX_FD, &e) < 0))
		child_fail(efd, EXIT_SETUP, &e);
	execve(prog, L->argv, L->env.v);
	int er = errno;
	/* The program exists (find_program saw it): ENOENT is about its
	 * #! interpreter. */
	static char interp_buf[512];
	const char *interp = er == ENOENT ? script_interpreter(prog, interp_buf, sizeof(interp_buf)) : NULL;
	if (interp)
		child_fail(efd, EXIT_NOT_FOUND,
			   (err_set(&e, er, "cannot execute '%s': its interpreter '%s' (the #! line) "
					    "was not found in the box", prog, interp), &e));
	if (er == ENOENT)
		child_fail(efd, EXIT_NOT_FOUND,
			   (err_errno(&e, er, "cannot execute '%s'", prog), &e));
	child_fail(efd, EXIT_NOT_EXECUTABLE,
		   (err_errno(&e, er, "cannot execute '%s'", prog), &e));
}

static _no_asan_ int box_exec_entry(void *arg)
{
	box_exec(arg);
}

/* Calls fn for the name of every process in the box's /proc, with
 * getdents64 on a stack buffer: opendir() allocates, and init must not
 * (box.h: after clone3 from a multi-threaded application a malloc lock
 * may be held by a thread that does not exist in this process). */
static void for_each_box_pid(void (*fn)(const char *pid, void *arg), void *arg)
{
	int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	char buf[8192] __attribute__((aligned(8)));
	long n;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (long off = 0; off < n;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + off);
			if (d->name[0] >= '1' && d->name[0] <= '9')
				fn(d->name, arg);
			off += d->reclen;
		}
	close(fd);
}

/* How close to RLIMIT_DATA a process's VmData must come to be evidence
 * that an allocation was refused (memory-limit, evidence "rlimit"). A
 * runtime that grows in steps of 1 to 8 MiB fails within a step of the
 * rlimit (python, node, ruby, perl, lua: within 1 MiB; docs/limits.md);
 * further away is a program whose mappings are big but not growing (16
 * idle threads' 8 MiB stacks are 128 MiB of VmData) and that failed for
 * some other reason. A doubling string that fails far from the rlimit
 * loses the evidence, and its own exit stands. */
#define DATA_NEAR (16ULL << 20)

/* One look at the box's processes, as init sees them in the box's own
 * /proc (box_sample). */
struct sample {
	uint64_t memory;   /* RssAnon + RssShmem + VmPTE of every process */
	uint64_t tasks;	   /* threads of every process, init included */
	uint64_t max_data; /* the largest VmData of one process */
};

/* Adds what a /proc/PID/status file says to *sm. The file is read in
 * chunks, so a long Groups: line (an unprivileged caller keeps its
 * supplementary groups) cannot push the fields out of reach; a field
 * split across chunks is found through the carried-over tail. */
static void add_status(int fd, struct sample *sm)
{
	enum { MEM, TASKS, DATA };
	static const struct {
		const char *key;
		int what;
	} keys[] = {{"\nRssAnon:", MEM}, {"\nRssShmem:", MEM}, {"\nVmPTE:", MEM},
		    {"\nVmData:", DATA}, {"\nThreads:", TASKS}};
	char buf[4096 + 64];
	size_t keep = 0;
	bool seen[ELEMENTSOF(keys)] = {false};
	for (;;) {
		ssize_t n = read(fd, buf + keep, sizeof(buf) - 1 - keep);
		if (n <= 0)
			break;
		size_t len = keep + (size_t)n;
		buf[len] = 0;
		for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
			const char *p = seen[i] ? NULL : strstr(buf, keys[i].key);
			/* A match must end in a complete number ("...kB", or
			 * the line's end for Threads). */
			if (!p || !strchr(p + 1, '\n'))
				continue;
			uint64_t v = strtoull(p + strlen(keys[i].key), NULL, 10);
			if (keys[i].what == MEM)
				sm->memory += v * 1024;
			else if (keys[i].what == TASKS)
				sm->tasks += v;
			else if (v * 1024 > sm->max_data)
				sm->max_data = v * 1024;
			seen[i] = true;
		}
		keep = len < 48 ? len : 48;
		memmove(buf, buf + len - keep, keep);
	}
}

static void add_pid_status(const char *pid, void *arg)
{
	char path[64];
	if (!strcmp(pid, "1"))
		return;
	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	add_status(fd, arg);
	close(fd);
}

/* The memory the box's processes hold: resident anonymous and
 * shared-memory pages and page tables of every process. Shared pages
 * mapped by several processes count once per process, so this errs on the
 * high side. File-backed pages are page cache the kernel can reclaim;
 * memfd and SysV segments, which need not be mapped, are refused by
 * seccomp_apply_memory_guard when this count is the limit. Kernel memory
 * (socket and pipe buffers) is not seen: only a cgroup charges it
 * (SECURITY.md). Also the box's tasks, counted as RLIMIT_NPROC counts
 * them (every thread of the box's uid, init included), and the largest
 * private writable mapping total (VmData, what RLIMIT_DATA bounds). */
static struct sample box_sample(void)
{
	struct sample sm = {.tasks = 1}; /* init, single-threaded */
	for_each_box_pid(add_pid_status, &sm);
	return sm;
}

/* Closes every fd above 2 that is not one of the plan's. The box's init is
 * a copy of the controller: in an application that starts several boxes
 * from several threads it would otherwise hold other runs' pipes, whose
 * readers would then not see EOF until this box ends. The plan's fds stay
 * (box_init closes the ones it does not need by number later), and so do
 * the idmapped trees the controller cloned (mnt_build_root closes them). */
static void close_other_fds(const struct launch *L)
{
	int keep[24 + L->mp.n]; /* on the stack: no allocation in the child */
	size_t n = 0;
	for (size_t i = 0; i < L->mp.n; i++)
		if (L->mp.e[i].tree_fd > 2)
			keep[n++] = L->mp.e[i].tree_fd;
	const int *pairs[] = {L->sync, L->status, L->errp, L->out, L->err, L->in, L->chan, L->disk};
	for (size_t i = 0; i < ELEMENTSOF(pairs); i++)
		for (int j = 0; j < 2; j++)
			if (pairs[i][j] > 2)
				keep[n++] = pairs[i][j];
	if (L->stdin_direct > 2)
		keep[n++] = L->stdin_direct;
	if (L->broker_fd > 2)
		keep[n++] = L->broker_fd;
	for (int i = 0; L->have_cg && L->cg.version == 1 && i < 2; i++)
		if (L->cg.v1_tasks[i] > 2)
			keep[n++] = L->cg.v1_tasks[i];
	/* Insertion sort: no allocation, no libc qsort in the child. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	unsigned from = 3;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

/* In the box, once built: hands the controller each overlay's upper layer
 * (SCM_RIGHTS, one datagram each, naming the plan entry). A descriptor in
 * flight keeps its tmpfs alive after the box's mount namespace is gone,
 * until the controller receives it after the run. */
static int send_upper_layers(struct launch *L, struct err *e)
{
	for (size_t i = 0; i < L->mp.n; i++) {
		struct mnt_entry *m = &L->mp.e[i];
		if (m->upper_fd < 0)
			continue;
		uint32_t idx = (uint32_t)i;
		struct iovec iov = {&idx, sizeof(idx)};
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u = {0};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &m->upper_fd, sizeof(int));
		if (sendmsg(L->disk[1], &msg, MSG_NOSIGNAL) < 0)
			return err_errno(e, errno, "cannot hand over the disk layer of '%s'", m->dst);
		close(m->upper_fd);
		m->upper_fd = -1;
	}
	if (L->disk[1] >= 0) {
		close(L->disk[1]);
		L->disk[1] = -1;
	}
	return 0;
}

/* After the run, in the controller: receives the upper layers and applies
 * each to its host directory (disk.c). A failure is the run's io-error
 * (or, after a limit, its notice) and its disk_error: the box's output to
 * a directory must not be lost without a word. */
static void apply_upper_layers(struct launch *L, struct run_result *ret)
{
	for (;;) {
		uint32_t idx;
		struct iovec iov = {&idx, sizeof(idx)};
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
		ssize_t n = recvmsg(L->disk[0], &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
			continue;
		int fd;
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
		struct mnt_entry *m = n == sizeof(idx) && idx < L->mp.n ? &L->mp.e[idx] : NULL;
		struct err e = {{0}};
		if (m && m->overlay && m->host_fd >= 0 &&
		    disk_apply(fd, m->host_fd, m->src, m->size, L->root,
			       m->idmap ? m->idmap_uid : L->host_uid,
			       m->idmap ? m->idmap_gid : L->host_gid, &e) < 0 &&
		    !ret->disk_error[0]) {
			snprintf(ret->disk_error, sizeof(ret->disk_error), "%s", e.msg);
			/* The program's own outcome becomes an io-error: the
			 * run's output (to the directory) is incomplete, and a
			 * caller checking only the exit status must see it. A
			 * limit's status stays (it is not 0 either). */
			if (ret->status == STATUS_EXITED || ret->status == STATUS_SIGNALED) {
				ret->status = STATUS_IO_ERROR;
				snprintf(ret->error.msg, sizeof(ret->error.msg), "%s", e.msg);
			} else {
				snprintf(ret->notice, sizeof(ret->notice), "%s", e.msg);
			}
		}
		close(fd);
	}
}

/* The box's pid 1: builds the box, starts the program, reaps, and passes
 * the program's wait status to the controller. When it exits, the kernel
 * kills everything left in the pid namespace: nothing outlives the run. */
static _noreturn_ void box_init(struct launch *L)
{
	struct err e = {{0}};
	int efd = L->errp[1];
	char c;

	/* Die with the controller. If it is already gone, the sync read
	 * below sees EOF. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close_other_fds(L);
	/* Into the run's v1 cgroups while still single-threaded and before
	 * anything else is started, then a cgroup namespace rooted there. */
	if (L->have_cg && L->cg.version == 1 &&
	    (cgroup_join_self(&L->cg, &e) < 0 ||
	     (unshare(CLONE_NEWCGROUP) < 0 &&
	      err_errno(&e, errno, "cannot create the box's cgroup namespace") < 0))) {
		if (read(L->sync[0], &c, 1) != 1)
			_exit(EXIT_SETUP);
		child_fail(efd, EXIT_SETUP, &e);
	}
	close(L->sync[1]);
	/* Capture the granted host paths while the controller writes our id
	 * maps; the rest needs them (files created in tmpfs need a mapped
	 * owner). */
	if (mnt_capture(&L->mp, &e) < 0) {
		if (read(L->sync[0], &c, 1) != 1)
			_exit(EXIT_SETUP);
		child_fail(efd, EXIT_SETUP, &e);
	}
	if (read(L->sync[0], &c, 1) != 1)
		_exit(EXIT_SETUP);
	close(L->status[0]);
	close(L->errp[0]);
	close(L->out[0]);
	close(L->err[0]);
	if (L->in[1] >= 0)
		close(L->in[1]);
	if (L->chan[0] >= 0)
		close(L->chan[0]);
	if (L->disk[0] >= 0)
		close(L->disk[0]);

	/* Changing credentials clears the parent-death signal: set it again,
	 * then make sure the controller did not die in between (it holds the
	 * sync pipe's write end for the whole run: POLLHUP means it is gone),
	 * or the box would run on without it. */
	struct pollfd alive = {L->sync[0], POLLIN, 0};
	if (limits_apply_ns_quotas(&e) < 0 || ns_become_box_user(L->root, &e) < 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(efd, EXIT_SETUP, &e);
	if (poll(&alive, 1, 0) != 0)
		_exit(EXIT_SETUP);
	close(L->sync[0]);
	if (ns_set_hostname(L->hostname, &e) < 0 ||
	    (L->net == NET_LOOPBACK && ns_loopback_up(&e) < 0) ||
	    mnt_build_root(&L->mp, &e) < 0 ||
	    send_upper_layers(L, &e) < 0)
		child_fail(efd, EXIT_SETUP, &e);
	if (chdir(L->cwd) < 0) {
		err_errno(&e, errno, "cannot enter working directory '%s' in the box", L->cwd);
		child_fail(efd, EXIT_SETUP, &e);
	}
	/* Keep the box's processes away from pid 1's memory and /proc/1. */
	prctl(PR_SET_DUMPABLE, 0);

	/* Start the program vfork-style (shared memory, init suspended until
	 * execve): copying init's page tables for a fork costs more than the
	 * rest of the box here. box_exec only writes its own stack and
	 * process-private state (fds, creds, rlimits, filters). */
	size_t stack_size = 256 * 1024;
	void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		err_errno(&e, errno, "cannot allocate the program's start-up stack");
		child_fail(efd, EXIT_SETUP, &e);
	}
	pid_t pid = clone(box_exec_entry, (char *)stack + stack_size,
			  CLONE_VM | CLONE_VFORK | SIGCHLD, L);
	if (pid < 0) {
		err_errno(&e, errno, "cannot start the program");
		child_fail(efd, EXIT_SETUP, &e);
	}
	munmap(stack, stack_size);
	if (L->broker_fd >= 0) {
		prctl(PR_SET_DUMPABLE, 0);
		close(L->broker_fd);
	}

	close(efd);
	close(L->out[1]);
	close(L->err[1]);
	if (L->in[0] >= 0)
		close(L->in[0]);
	if (L->stdin_direct >= 0)
		close(L->stdin_direct);
	if (L->chan[1] >= 0)
		close(L->chan[1]);
	/* Reap promptly on SIGCHLD. Without a cgroup, also look at the box's
	 * processes every 20 ms: end the run when their memory exceeds the
	 * limit, and keep the evidence that an rlimit was reached (the tasks
	 * at RLIMIT_NPROC, a process near RLIMIT_DATA), which the controller
	 * uses only to name how a failed program ended: being near a limit
	 * never ends a run. The samples run on a CLOCK_MONOTONIC schedule,
	 * whatever woke init: a stream of SIGCHLD (a child stopped and
	 * continued in a loop) must not postpone them. */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	uint64_t procs_limit = L->lim.procs_by_cgroup ? 0 : L->lim.v[LIMIT_PROCS];
	uint64_t mem_limit = L->lim.memory_by_cgroup ? 0 : L->lim.v[LIMIT_MEMORY];
	uint64_t data_near = mem_limit ? limits_data_rlimit(mem_limit) - DATA_NEAR : 0;
	bool sampling = procs_limit || mem_limit;
	const uint64_t every = 20 * 1000000ULL, idle = 1000000000ULL;
	uint64_t next_sample = now_ns() + every;
	uint64_t peak = 0;
	struct exit_record rec = {0};
	for (;;) {
		int st;
		struct rusage ru;
		pid_t w = wait4(-1, &st, __WALL | WNOHANG, &ru);
		if (w == pid) {
			rec.status = st;
			break;
		}
		if (w > 0)
			continue;
		if (w < 0 && errno != EINTR && errno != ECHILD)
			_exit(EXIT_SETUP);
		uint64_t now = now_ns();
		if (sampling && now >= next_sample) {
			next_sample = now + every;
			struct sample sm = box_sample();
			if (sm.memory > peak)
				peak = sm.memory;
			if (procs_limit && sm.tasks >= procs_limit)
				rec.procs_at_limit = 1;
			if (mem_limit && sm.max_data >= data_near)
				rec.data_near_limit = 1;
			if (mem_limit && sm.memory > mem_limit) {
				rec.status = SIGKILL; /* as killed */
				rec.memory_exceeded = 1;
				break;
			}
		}
		uint64_t next = sampling ? next_sample : now + idle;
		uint64_t wait = next > now ? next - now : 0;
		struct timespec tick = {(time_t)(wait / 1000000000ULL), (long)(wait % 1000000000ULL)};
		(void)sigtimedwait(&chld, NULL, &tick);
	}
	/* Kill what is left and reap it before telling the controller, so
	 * that no box code runs once it knows the outcome, and so that the
	 * CPU time reported covers every process of the box (orphans
	 * included), not only the program and the children it waited for. */
	kill(-1, SIGKILL);
	while (wait4(-1, NULL, __WALL, NULL) > 0 || errno == EINTR)
		;
	getrusage(RUSAGE_CHILDREN, &rec.ru);
	rec.peak_memory = peak;
	(void)write_all(L->status[1], &rec, sizeof(rec));
	_exit(0);
}

/* ---- the controller ------------------------------------------------ */

struct stream {
	int src;	 /* box side (read end), -1 when done */
	int dst;	 /* caller's fd */
	char buf[4096];	 /* POLLOUT on a pipe guarantees room for PIPE_BUF */
	size_t len, off;
	bool dst_dead;	 /* caller's end closed: drop further data */
};

struct supervisor {
	struct launch *L;
	struct run_result *ret;
	const struct run_options *o;
	struct stream out, err;
	/* stdin pump: caller's fd -> box pipe */
	int in_src, in_dst;
	char inbuf[65536];
	size_t in_len, in_off;
	int pidfd, status_fd, err_fd;
	uint64_t start_ns, deadline_ns;
	uint64_t output_total;
	bool output_hit, timed_out, cancelled, killed, init_done;
	int prog_status;
	struct rusage prog_ru;
	bool have_prog_status, memory_exceeded, procs_at_limit, data_near_limit;
	uint64_t sampled_peak;
	/* The first failure to deliver the box's output or read the
	 * caller's stdin: the stream's name and errno (0 = none). */
	const char *io_stream;
	int io_errno;
	/* With a pids cgroup: its `max` event count at the last look (once a
	 * second), for how many looks in a row it rose, and whether the run
	 * was ended for failing to fork all that time. */
	uint64_t pids_next_ns, pids_events;
	int pids_rising;
	bool procs_failing;
	struct child_error cerr;
	size_t cerr_len;
	struct channel ch;	/* host functions; ch.fd < 0 without */
	uint64_t chan_active_ns; /* last channel activity */
	unsigned spin_skip;	  /* turns to go without spinning */
	bool violation;
};

static void kill_box(struct supervisor *s)
{
	if (!s->killed)
		syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
	s->killed = true;
}

/* The box's output cannot be delivered, or the caller's stdin cannot be
 * read: the run ends (as io-error), since going on would lose data
 * without a word. The other stream is still drained and delivered. */
static void io_failed(struct supervisor *s, const char *stream, int errnum)
{
	if (!s->io_errno) {
		s->io_stream = stream;
		s->io_errno = errnum ? errnum : EIO;
	}
	kill_box(s);
}

static void stream_read(struct supervisor *s, struct stream *st)
{
	ssize_t n = read(st->src, st->buf, sizeof(st->buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(st->src);
		st->src = -1;
		return;
	}
	uint64_t lim = s->L->lim.v[LIMIT_OUTPUT];
	if (lim && s->output_total + (uint64_t)n > lim) {
		/* Pass exactly up to the limit, then stop the box. */
		n = (ssize_t)(lim - s->output_total);
		s->output_hit = true;
		kill_box(s);
	}
	s->output_total += (uint64_t)n;
	st->len = (size_t)n;
	st->off = 0;
	if (st->dst_dead)
		st->len = 0;
}

static void stream_write(struct supervisor *s, struct stream *st, const char *name)
{
	ssize_t n = write(st->dst, st->buf + st->off, st->len - st->off);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		/* A full disk, an I/O error, a closed or read-only fd, a reader
		 * that went away (EPIPE): what the box writes from here on is
		 * lost, so the run ends and says so. */
		io_failed(s, name, errno);
		st->dst_dead = true;
		st->len = st->off = 0;
		if (st->src >= 0) {
			close(st->src);
			st->src = -1;
		}
		return;
	}
	st->off += (size_t)n;
	if (st->off == st->len)
		st->len = st->off = 0;
}

static void read_pipe_record(int *fd, void *buf, size_t cap, size_t *len)
{
	ssize_t n = read(*fd, (char *)buf + *len, cap - *len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	*len += (size_t)n;
}

/* Where each fd sits in the poll set (-1 = not polled). */
struct poll_index {
	int out, err, outw, errw, in, inw, pid, status, cerr, chan;
};

/* The fds the controller waits on right now. */
static nfds_t supervise_fds(const struct supervisor *s, struct pollfd pf[9],
			    struct poll_index *ix)
{
	nfds_t n = 0;
	*ix = (struct poll_index){-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
	if (s->out.len)
		pf[ix->outw = n++] = (struct pollfd){s->out.dst, POLLOUT, 0};
	else if (s->out.src >= 0)
		pf[ix->out = n++] = (struct pollfd){s->out.src, POLLIN, 0};
	if (s->err.len)
		pf[ix->errw = n++] = (struct pollfd){s->err.dst, POLLOUT, 0};
	else if (s->err.src >= 0)
		pf[ix->err = n++] = (struct pollfd){s->err.src, POLLIN, 0};
	if (s->in_dst >= 0) {
		if (s->in_len)
			pf[ix->inw = n++] = (struct pollfd){s->in_dst, POLLOUT, 0};
		else if (s->in_src >= 0)
			pf[ix->in = n++] = (struct pollfd){s->in_src, POLLIN, 0};
	}
	if (!s->init_done)
		pf[ix->pid = n++] = (struct pollfd){s->pidfd, POLLIN, 0};
	if (s->status_fd >= 0)
		pf[ix->status = n++] = (struct pollfd){s->status_fd, POLLIN, 0};
	if (s->err_fd >= 0)
		pf[ix->cerr = n++] = (struct pollfd){s->err_fd, POLLIN, 0};
	if (channel_events(&s->ch))
		pf[ix->chan = n++] = (struct pollfd){s->ch.fd, channel_events(&s->ch), 0};
	return n;
}

/* A box whose process creation fails at the pids cgroup's limit
 * (pids.events `max` rising) in every one of PIDS_FAILING_LOOKS looks a
 * second apart is a fork bomb retrying forever: it ends as procs-limit.
 * Being at or near the limit is not enough: only failed forks count, and
 * only a cgroup sees them (without one, nothing ends a run for its
 * processes; ward(1) LIMITS). */
#define PIDS_FAILING_LOOKS 3
static void watch_pids(struct supervisor *s, uint64_t now)
{
	uint64_t n = 0;
	s->pids_next_ns = now + 1000000000ULL;
	if (!cgroup_read_pids_events(&s->L->cg, &n))
		return;
	s->pids_rising = n > s->pids_events ? s->pids_rising + 1 : 0;
	s->pids_events = n;
	if (s->pids_rising >= PIDS_FAILING_LOOKS) {
		s->procs_failing = true;
		kill_box(s);
	}
}

/* Done when the box is gone and its output fully drained. */
static bool supervise_done(const struct supervisor *s)
{
	return (s->init_done || s->have_prog_status) && s->out.src < 0 &&
	       s->err.src < 0 && !s->out.len && !s->err.len && s->status_fd < 0 &&
	       s->err_fd < 0;
}

/* One turn of the controller's event loop: waits at most max_wait_ms
 * (-1 = no bound but the deadline) and handles what is ready. Returns 1
 * once the run is over. */
static int supervise_once(struct supervisor *s, int max_wait_ms)
{
	struct pollfd pf[9];
	struct poll_index ix;
	nfds_t n = supervise_fds(s, pf, &ix);

	if (supervise_done(s))
		return 1;

	int timeout = max_wait_ms;
	if (s->deadline_ns && !s->killed) {
		uint64_t now = now_ns();
		if (now >= s->deadline_ns) {
			s->timed_out = true;
			kill_box(s);
			return 0;
		}
		int left = (int)((s->deadline_ns - now + 999999) / 1000000);
		if (timeout < 0 || left < timeout)
			timeout = left;
	}
	if (s->pids_next_ns && !s->killed) {
		uint64_t now = now_ns();
		if (now >= s->pids_next_ns)
			watch_pids(s, now);
		int left = (int)((s->pids_next_ns - now + 999999) / 1000000);
		if (!s->killed && (timeout < 0 || left < timeout))
			timeout = left;
	}
	if (s->o->cancel && *s->o->cancel && !s->killed) {
		s->cancelled = true;
		kill_box(s);
	}
	/* While the box is calling host functions, its next request usually
	 * comes within tens of microseconds: wait for it awake for a moment.
	 * Waking a vCPU that went idle costs about as much again here (see
	 * bench/README.md, "Mechanism costs"), which would double a call's round trip. Only when the
	 * caller lets this step wait at all, and adaptively: when a spin
	 * comes up empty (the CPUs are busy, or the box is thinking), do not
	 * spin for the next CHANNEL_SPIN_SKIP turns, so a loaded machine does
	 * not lose a CPU to it. */
	int r = 0;
	if (max_wait_ms != 0 && s->ch.fd >= 0 && now_ns() - s->chan_active_ns < CHANNEL_SPIN_NS) {
		if (s->spin_skip) {
			s->spin_skip--;
		} else {
			while ((r = poll(pf, n, 0)) == 0 && now_ns() - s->chan_active_ns < CHANNEL_SPIN_NS)
				;
			if (r == 0)
				s->spin_skip = CHANNEL_SPIN_SKIP;
		}
	}
	if (r == 0)
		r = poll(pf, n, timeout);
	if (r < 0) {
		if (errno == EINTR)
			return 0;
		kill_box(s);
		return 1;
	}
	if (ix.out >= 0 && pf[ix.out].revents)
		stream_read(s, &s->out);
	if (ix.err >= 0 && pf[ix.err].revents)
		stream_read(s, &s->err);
	if (ix.outw >= 0 && pf[ix.outw].revents)
		stream_write(s, &s->out, "stdout");
	if (ix.errw >= 0 && pf[ix.errw].revents)
		stream_write(s, &s->err, "stderr");
	if (ix.in >= 0 && pf[ix.in].revents) {
		ssize_t k = read(s->in_src, s->inbuf, sizeof(s->inbuf));
		if (k > 0) {
			s->in_len = (size_t)k;
			s->in_off = 0;
		} else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
			/* A read error is not an end of input: the box would
			 * take what it got for all of it. */
			if (k < 0)
				io_failed(s, "stdin", errno);
			s->in_src = -1; /* the caller's fd is not ours to close */
			close(s->in_dst);
			s->in_dst = -1;
		}
	}
	if (ix.inw >= 0 && pf[ix.inw].revents) {
		ssize_t k = write(s->in_dst, s->inbuf + s->in_off, s->in_len - s->in_off);
		if (k > 0) {
			s->in_off += (size_t)k;
			if (s->in_off == s->in_len)
				s->in_len = s->in_off = 0;
		} else if (k < 0 && errno != EINTR && errno != EAGAIN) {
			/* The box closed its stdin. */
			close(s->in_dst);
			s->in_dst = -1;
			s->in_len = 0;
		}
	}
	if (ix.status >= 0 && pf[ix.status].revents) {
		struct exit_record rec;
		ssize_t k = read(s->status_fd, &rec, sizeof(rec));
		if (k == (ssize_t)sizeof(rec)) {
			s->prog_status = rec.status;
			s->prog_ru = rec.ru;
			s->memory_exceeded = rec.memory_exceeded;
			s->procs_at_limit = rec.procs_at_limit;
			s->data_near_limit = rec.data_near_limit;
			s->sampled_peak = rec.peak_memory;
			s->have_prog_status = true;
		}
		close(s->status_fd);
		s->status_fd = -1;
	}
	if (ix.cerr >= 0 && pf[ix.cerr].revents)
		read_pipe_record(&s->err_fd, &s->cerr, sizeof(s->cerr), &s->cerr_len);
	if (ix.chan >= 0 && pf[ix.chan].revents) {
		channel_handle(&s->ch, pf[ix.chan].revents);
		s->chan_active_ns = now_ns();
		if (s->ch.violation && !s->violation) {
			s->violation = true;
			kill_box(s);
		}
	}
	if (ix.pid >= 0 && pf[ix.pid].revents) {
		s->init_done = true;
		/* The pid namespace is gone with init: nothing can write
		 * to the pipes any more, so the drain ends. */
		if (s->in_dst >= 0) {
			close(s->in_dst);
			s->in_dst = -1;
		}
		channel_close(&s->ch);
	}
	return 0;
}

static int signal_by_status(int st)
{
	return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

/* Decides how the run ended. Controller-enforced limits first (they are
 * certain), then the kernel's own evidence (cgroup events, the signal the
 * rlimit sends), then the plain outcome. */
static void attribute(struct supervisor *s, int init_status,
		      const struct cgroup_usage *cu)
{
	struct run_result *r = s->ret;
	const struct box_limits *l = &s->L->lim;
	int st = s->have_prog_status ? s->prog_status : init_status;
	int sig = signal_by_status(st);

	/* A shell reports a child killed by signal N as exit status 128+N:
	 * the limit's signal reaching the program that way counts too. */
	int via_shell = WIFEXITED(st) && WEXITSTATUS(st) > 128 ? WEXITSTATUS(st) - 128 : 0;

	/* The program failed by itself: it exited non-zero or was killed,
	 * and not by the controller (time, output, cancel...). */
	bool failed = !s->killed && !(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	r->signal = sig;
	r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->evidence = NULL;
	if (s->io_errno) {
		/* First: whatever else happened, the output is incomplete. */
		r->status = STATUS_IO_ERROR;
		if (!strcmp(s->io_stream, "stdin"))
			err_errno(&r->error, s->io_errno, "cannot read the box's stdin from the caller");
		else
			err_errno(&r->error, s->io_errno, "cannot deliver the box's %s", s->io_stream);
	} else if (s->violation)
		r->status = STATUS_VIOLATION;
	else if (s->output_hit)
		r->status = STATUS_OUTPUT_LIMIT;
	else if (s->timed_out)
		r->status = STATUS_TIME_LIMIT;
	else if (cu->oom_kills > 0 || s->memory_exceeded) {
		r->status = STATUS_MEMORY_LIMIT;
		r->evidence = cu->oom_kills > 0 ? "oom-kill" : "count";
	}
	else if (sig == SIGXCPU ||
		 /* relayed by a shell: only when the box did use a good part
		  * of the limit, so a plain `exit 152` is not taken for a
		  * cpu-limit. Half, not all: RLIMIT_CPU fires on the
		  * scheduler's runtime, while rusage samples ticks, and on a
		  * loaded host rusage showed 0.83 s when a 1 s RLIMIT_CPU
		  * had fired. */
		 (via_shell == SIGXCPU && l->v[LIMIT_CPU_TIME] &&
		  r->cpu_time_s * 1000 >= 0.5 * (double)l->v[LIMIT_CPU_TIME]) ||
		 (sig == SIGKILL && l->v[LIMIT_CPU_TIME] &&
		  r->cpu_time_s * 1000 >= (double)l->v[LIMIT_CPU_TIME]))
		r->status = STATUS_CPU_LIMIT;
	else if (sig == SIGXFSZ || (via_shell == SIGXFSZ && l->v[LIMIT_FILE_SIZE]))
		r->status = STATUS_FILE_SIZE_LIMIT;
	/* The weaker evidence: the program failed after an rlimit or the
	 * pids cgroup refused it something (ward(1) LIMITS). */
	else if (s->procs_failing || (failed && cu->pids_max_events > 0)) {
		r->status = STATUS_PROCS_LIMIT;
		r->evidence = "pids-max";
	} else if (failed && s->data_near_limit && !l->memory_by_cgroup) {
		r->status = STATUS_MEMORY_LIMIT;
		r->evidence = "rlimit";
	} else if (failed && s->procs_at_limit && !l->procs_by_cgroup) {
		r->status = STATUS_PROCS_LIMIT;
		r->evidence = "rlimit";
	} else if (sig)
		r->status = STATUS_SIGNALED;
	else
		r->status = STATUS_EXITED;
	if (s->cancelled && r->status == STATUS_SIGNALED)
		snprintf(r->notice, sizeof(r->notice), "the run was cancelled");
	if (s->violation)
		snprintf(r->notice, sizeof(r->notice), "%s", s->ch.why);
	/* exit_code describes a normal exit only; a limit or signal is the
	 * outcome otherwise. */
	if (r->status != STATUS_EXITED)
		r->exit_code = -1;
}

static int make_pipe(int p[2], bool nonblock_read)
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if (nonblock_read)
		fcntl(p[0], F_SETFL, O_NONBLOCK);
	return 0;
}

static bool is_pipe(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* Writes to a closed reader must fail with EPIPE, not kill the caller's
 * process: SIGPIPE is blocked for this thread while ward works, and one
 * that our writes raised is consumed before the caller's mask returns. */
static void pipe_guard_begin(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

static void pipe_guard_end(const sigset_t *old)
{
	if (!sigismember(old, SIGPIPE)) {
		sigset_t set;
		struct timespec zero = {0, 0};
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		while (sigtimedwait(&set, NULL, &zero) > 0)
			;
	}
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

struct box_run {
	struct launch L;
	struct supervisor s;
	struct run_options o;
	struct run_result *ret;
	pid_t pid;
	bool running; /* the box was started: there is something to reap */
	bool done;
};

int box_start(const struct policy *p, char *const argv[],
	      const struct run_options *o, struct run_result *ret,
	      struct box_run **ret_run)
{
	if (!p || !argv || !argv[0] || !argv[0][0] || !o || !ret || !ret_run)
		return -EINVAL;
	/* Mapped, not calloc'd: the stdin pump's 64 KiB buffer is part of
	 * it, and only the pages written are faulted in then (a first write
	 * to a page costs 14 µs here, bench/README.md; calloc and an
	 * initialiser of the whole supervisor wrote all 19). */
	struct box_run *b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED)
		return -ENOMEM;
	*ret = (struct run_result){.status = STATUS_SETUP_ERROR, .exit_code = -1};
	b->o = *o;
	b->ret = ret;
	b->L = (struct launch){
		.argv = argv,
		.hostname = p->hostname ? p->hostname : "ward",
		.net = p->net,
		.root = geteuid() == 0,
		.sync = {-1, -1}, .status = {-1, -1}, .errp = {-1, -1},
		.out = {-1, -1}, .err = {-1, -1}, .in = {-1, -1}, .chan = {-1, -1},
		.disk = {-1, -1},
		.stdin_direct = -1,
		.broker_fd = -1,
	};
	/* The rest of the supervisor is zero already (see above). */
	b->s.L = &b->L;
	b->s.ret = ret;
	b->s.o = &b->o;
	b->s.pidfd = b->s.status_fd = b->s.err_fd = b->s.in_src = b->s.in_dst = -1;
	b->s.ch.fd = -1;
	struct launch *L = &b->L;
	struct supervisor *s = &b->s;
	struct err *e = &ret->error;
	sigset_t old_mask;
	int r;

	/* The box runs as an unprivileged host uid: as root, nobody (never
	 * host root); otherwise the caller itself. */
	L->host_uid = L->root ? NOBODY_UID : geteuid();
	L->host_gid = L->root ? NOBODY_GID : getegid();

	/* The launch sequence, one step per line. */
	if ((r = plan_limits(L, p, o, ret)) < 0 ||
	    (r = plan_filesystem(L, p, o, ret)) < 0 ||
	    (r = mnt_prepare_writable(&L->mp, L->root, L->host_uid, L->host_gid, e)) < 0 ||
	    (r = plan_environment(L, p)) < 0 ||
	    (o->channel && (r = plan_channel_environment(L, p, o)) < 0) ||
	    (r = strv_copy(&L->exec, &p->exec)) < 0 ||
	    (r = check_exec_paths(L, p, e)) < 0 ||
	    (broker_needed(p, o) &&
	     (r = broker_new(&L->broker, p, o, &L->mp, L->host_uid, L->host_gid, e)) < 0))
		goto fail;
	if (L->broker)
		L->broker_fd = broker_box_fd(L->broker);
	L->landlock_abi = landlock_abi();
	if (L->landlock_abi < 1) {
		r = err_set(e, EOPNOTSUPP, "landlock is not available on this kernel (%s): ward requires it",
			    L->landlock_abi == -EOPNOTSUPP ? "disabled at boot: add landlock to the lsm= kernel parameter"
							   : "not built in");
		goto fail;
	}
	/* A pipe on stdin is handed to the box directly (no copy), but as a
	 * new open file description of it: the box setting O_NONBLOCK on its
	 * fd 0 must not change the caller's. Anything else (a tty, a file, a
	 * socket the box could write to) goes through the controller's pump. */
	bool pump_stdin = true;
	if (o->stdin_fd >= 0 && is_pipe(o->stdin_fd)) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", o->stdin_fd);
		L->stdin_direct = open(path, O_RDONLY | O_CLOEXEC);
		pump_stdin = L->stdin_direct < 0;
	}
	if ((r = make_pipe(L->sync, false)) < 0 || (r = make_pipe(L->status, true)) < 0 ||
	    (r = make_pipe(L->errp, true)) < 0 || (r = make_pipe(L->out, true)) < 0 ||
	    (r = make_pipe(L->err, true)) < 0 || (pump_stdin && (r = make_pipe(L->in, false)) < 0) ||
	    (o->channel && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, L->chan) < 0 &&
	     (r = -errno) < 0) ||
	    (L->n_overlay && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, L->disk) < 0 &&
	     (r = -errno) < 0)) {
		err_errno(e, -r, "cannot create pipes");
		goto fail;
	}
	if (pump_stdin)
		fcntl(L->in[1], F_SETFL, O_NONBLOCK);

	pipe_guard_begin(&old_mask);
	pid_t pid = ns_clone_box(L->have_cg && L->cg.version == 2 ? L->cg.v2_fd : -1,
				 !(L->have_cg && L->cg.version == 1), L->root, &s->pidfd);
	if (pid < 0) {
		pipe_guard_end(&old_mask);
		r = err_errno(e, -pid, "cannot create the box's namespaces%s",
			      -pid == EPERM || -pid == ENOSPC
				      ? " (are unprivileged user namespaces disabled? see 'ward doctor')" : "");
		goto fail;
	}
	if (pid == 0)
		box_init(L);
	s->start_ns = now_ns();

	close(L->sync[0]);
	L->sync[0] = -1;
	mnt_close_trees(&L->mp); /* the box has its own copies */
	if (L->disk[1] >= 0) {
		close(L->disk[1]);
		L->disk[1] = -1;
	}
	if (L->stdin_direct >= 0) {
		close(L->stdin_direct); /* the box has its own */
		L->stdin_direct = -1;
	}
	/* The box joins its v1 cgroups itself: the controller's copies of
	 * the `tasks` files go. */
	if (L->have_cg)
		cgroup_close_tasks(&L->cg);
	if ((r = ns_write_id_maps(pid, L->host_uid, L->host_gid, L->root, e)) < 0) {
		syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
		waitpid(pid, NULL, 0);
		close(s->pidfd);
		s->pidfd = -1;
		pipe_guard_end(&old_mask);
		goto fail;
	}
	if (L->broker && (r = broker_start(L->broker, e)) < 0) {
		syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
		waitpid(pid, NULL, 0);
		close(s->pidfd);
		s->pidfd = -1;
		pipe_guard_end(&old_mask);
		goto fail;
	}
	L->broker_fd = -1; /* the broker closed the box's end on our side */
	/* Go: the box builds itself and starts the program. */
	(void)write_all(L->sync[1], "x", 1);
	pipe_guard_end(&old_mask);
	b->pid = pid;
	b->running = true;
	/* sync[1] stays open until the run ends: init's check that the
	 * controller lives (box_init). */
	close(L->status[1]);
	close(L->errp[1]);
	close(L->out[1]);
	close(L->err[1]);
	L->status[1] = L->errp[1] = L->out[1] = L->err[1] = -1;
	if (L->in[0] >= 0) {
		close(L->in[0]);
		L->in[0] = -1;
	}
	s->out = (struct stream){.src = TAKE_FD(L->out[0]), .dst = o->stdout_fd};
	s->err = (struct stream){.src = TAKE_FD(L->err[0]), .dst = o->stderr_fd};
	s->status_fd = TAKE_FD(L->status[0]);
	s->err_fd = TAKE_FD(L->errp[0]);
	if (pump_stdin) {
		s->in_dst = TAKE_FD(L->in[1]);
		s->in_src = o->stdin_fd;
		if (s->in_src < 0) { /* no stdin: the box reads EOF */
			close(s->in_dst);
			s->in_dst = -1;
		}
	}
	if (o->channel) {
		close(L->chan[1]);
		L->chan[1] = -1;
		fcntl(L->chan[0], F_SETFL, O_NONBLOCK);
		channel_init(&s->ch, TAKE_FD(L->chan[0]), o->channel);
	}
	if (L->lim.v[LIMIT_WALL_TIME])
		s->deadline_ns = s->start_ns + L->lim.v[LIMIT_WALL_TIME] * 1000000ull;
	if (L->lim.procs_by_cgroup)
		s->pids_next_ns = s->start_ns + 1000000000ull;
	*ret_run = b;
	return 0;

fail:
	ret->status = STATUS_SETUP_ERROR;
	if (r == -ENOMEM && !ret->error.msg[0])
		err_set(e, ENOMEM, "out of memory");
	launch_free(L);
	b->done = true;
	*ret_run = b;
	return 0;
}

static int step(struct box_run *b, int timeout_ms)
{
	if (!b->done && supervise_once(&b->s, timeout_ms))
		b->done = true;
	return b->done;
}

int box_step(struct box_run *b, int timeout_ms)
{
	sigset_t old_mask;
	pipe_guard_begin(&old_mask);
	int r = step(b, timeout_ms);
	pipe_guard_end(&old_mask);
	return r;
}

size_t box_wait_set(struct box_run *b, struct pollfd *pf, size_t cap,
		    uint64_t *ret_deadline_ns)
{
	struct pollfd all[9];
	struct poll_index ix;
	size_t n = b->done ? 0 : supervise_fds(&b->s, all, &ix);
	if (n > cap)
		n = cap;
	memcpy(pf, all, n * sizeof(*pf));
	uint64_t d = b->s.deadline_ns, p = b->s.pids_next_ns;
	if (p && (!d || p < d))
		d = p;
	*ret_deadline_ns = b->done || b->s.killed ? 0 : d;
	/* Nothing to wait for but the run is over: box_step says so at once. */
	if (!b->done && supervise_done(&b->s))
		*ret_deadline_ns = 1;
	return n;
}

void box_kill(struct box_run *b)
{
	if (b->done || !b->running || b->s.killed)
		return;
	b->s.cancelled = true;
	kill_box(&b->s);
}

void box_finish(struct box_run *b)
{
	if (!b)
		return;
	if (!b->running) {
		munmap(b, sizeof(*b));
		return;
	}
	/* Serve the box to its end, with SIGPIPE blocked once for all the
	 * steps (three system calls fewer per host-function call). */
	sigset_t old_mask;
	pipe_guard_begin(&old_mask);
	while (!step(b, -1))
		;
	pipe_guard_end(&old_mask);
	struct launch *L = &b->L;
	struct supervisor *s = &b->s;
	struct run_result *ret = b->ret;
	const struct run_options *o = &b->o;

	/* Reap init. Its exit tears the box's namespaces down (the mount
	 * namespace waits for an RCU grace period, ~0.5 ms here); a caller that
	 * is about to exit anyway may leave that to the kernel, unless a
	 * cgroup must be removed afterwards. Box code cannot run any more:
	 * init killed everything before it reported. */
	int init_status = 0;
	struct rusage ru = {0};
	bool reaped = true;
	if (o->reap_lazily && s->have_prog_status && !L->have_cg && !L->n_overlay) {
		siginfo_t si = {0};
		reaped = waitid(P_PIDFD, (id_t)s->pidfd, &si, WEXITED | WNOHANG | __WALL) == 0 &&
			 si.si_pid != 0;
	} else {
		while (wait4(b->pid, &init_status, __WALL, &ru) < 0 && errno == EINTR)
			;
	}
	if (s->have_prog_status || !reaped)
		ru = s->prog_ru;
	ret->wall_time_s = (double)(now_ns() - s->start_ns) / 1e9;
	ret->cpu_time_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			  (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	ret->peak_memory_bytes = (uint64_t)ru.ru_maxrss * 1024;
	/* Without a memory cgroup, init's count (anonymous, shared, page
	 * tables) is the better peak: ru_maxrss includes file pages. */
	if (s->sampled_peak)
		ret->peak_memory_bytes = s->sampled_peak;
	ret->output_bytes = s->output_total;
	if (L->broker)
		broker_stop(L->broker, ret);
	close(s->pidfd);
	if (s->in_dst >= 0)
		close(s->in_dst);

	struct cgroup_usage cu = {0};
	if (L->have_cg) {
		cgroup_read_usage(&L->cg, &cu);
		if (cu.have_peak)
			ret->peak_memory_bytes = cu.peak_memory;
	}

	ret->layers |= LAYER_USERNS | LAYER_MNTNS | LAYER_PIDNS | LAYER_NETNS |
		       LAYER_IPCNS | LAYER_UTSNS | LAYER_CGROUPNS;
	ret->landlock_abi = L->landlock_abi;
	if (s->cerr_len >= sizeof(int)) {
		/* The box could not be built, or the program not started. */
		ret->status = STATUS_SETUP_ERROR;
		ret->not_found = s->cerr.code == EXIT_NOT_FOUND;
		ret->not_executable = s->cerr.code == EXIT_NOT_EXECUTABLE;
		s->cerr.msg[sizeof(s->cerr.msg) - 1] = 0;
		snprintf(ret->error.msg, sizeof(ret->error.msg), "%s", s->cerr.msg);
	} else if (!s->have_prog_status && !s->killed && cu.oom_kills == 0) {
		/* (A memory cgroup's OOM killer may pick init itself when the
		 * program's memory is not in its resident set, e.g. in socket
		 * buffers: that is a memory-limit, attributed below.) */
		ret->status = STATUS_SETUP_ERROR;
		snprintf(ret->error.msg, sizeof(ret->error.msg),
			 "the box exited before starting the program (status %d)", init_status);
	} else {
		ret->layers |= LAYER_PIVOT_ROOT | LAYER_NO_NEW_PRIVS | LAYER_CAPS_DROPPED |
			       LAYER_SECCOMP | LAYER_LANDLOCK | LAYER_RLIMITS | LAYER_SETSID;
		attribute(s, init_status, &cu);
	}
	/* Every process of the box is gone (init is reaped, and the kernel
	 * reaps a pid namespace before its init): the upper layers are still. */
	if (L->n_overlay && reaped)
		apply_upper_layers(L, ret);
	channel_close(&s->ch);
	launch_free(L);
	munmap(b, sizeof(*b));
}

int box_run(const struct policy *p, char *const argv[],
	    const struct run_options *o, struct run_result *ret)
{
	struct box_run *b;
	int r = box_start(p, argv, o, ret, &b);
	if (r < 0) {
		if (r == -ENOMEM && ret) {
			*ret = (struct run_result){.status = STATUS_SETUP_ERROR, .exit_code = -1};
			err_set(&ret->error, ENOMEM, "out of memory");
			return 0;
		}
		return r;
	}
	box_finish(b);
	return 0;
}
