/* cgroup.c — a cgroup per run, for exact memory and process limits and
 * their attribution (an OOM kill is reported as memory-limit, not as a
 * bare SIGKILL).
 *
 * cgroup v2 first: the box is cloned straight into its cgroup
 * (CLONE_INTO_CGROUP, ~0.08 ms). v1 is the fallback for hybrid hosts. A
 * controller moving another process into a v1 cgroup takes the global
 * threadgroup lock (which can wait for an RCU grace period, bench/README.md); a
 * single-threaded process writing "0" to the `tasks` file moves only
 * itself and skips that lock (~0.2 ms here). So the controller opens the
 * run's `tasks` files and the box's first process joins by itself
 * (cgroup_join_self), before it starts anything. Ward only ever writes to
 * cgroups it created: a `ward` parent per hierarchy and one child per run,
 * both removed when empty.
 *
 * Wards in other pid namespaces (a container given the host's cgroup
 * mount, `unshare -p`) share these directories, and a pid means nothing
 * across namespaces. So a run's name carries the inode of its
 * controller's pid namespace and a sweep judges only names of its own;
 * and the controller holds flock(LOCK_EX) on each run directory from
 * right after its mkdir to its removal, while a sweep removes only what
 * it can lock without waiting. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <signal.h>
#include <time.h>

#include "box.h"

#define CG_ROOT "/sys/fs/cgroup"

static bool has_word(const char *buf, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = buf; (p = strstr(p, word)); p += n)
		if ((p == buf || p[-1] == ' ' || p[-1] == '\n') &&
		    (p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

/* Does a cgroup.subtree_control enable both the memory and the pids
 * controller? (One read of the file.) */
static bool file_has_mem_pids(const char *path)
{
	_cleanup_free_ char *buf = NULL;
	if (read_file(path, 65536, &buf, NULL) < 0)
		return false;
	return has_word(buf, "memory") && has_word(buf, "pids");
}

static bool is_cgroup2(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* An ordinary user's delegated v2 subtree (systemd's Delegate=, podman
 * rootless). The caller's own cgroup (the 0:: line of /proc/self/cgroup)
 * holds the caller, and by cgroup v2's "no internal processes" rule a cgroup
 * with processes cannot hand memory and pids to children: ward's runs
 * cannot go below it. They go beside it, under <parent>/ward, when the
 * parent is delegated to the caller: the kernel lets a process move (or
 * clone) into a cgroup only with write access to that cgroup's cgroup.procs
 * and to the common ancestor's, here the parent's. So the caller must sit
 * in a leaf of the delegated cgroup (systemd's DelegateSubgroup=). Ward
 * never moves the caller nor changes the parent's controllers: it creates
 * and removes only its own children. Returns true and sets the path, or
 * false with the reason in why. */
static bool detect_delegated(const char *v2, struct features *f, char *why,
			     size_t whylen)
{
	_cleanup_free_ char *buf = NULL;
	const char *rel = NULL;
	if (read_file("/proc/self/cgroup", 65536, &buf, NULL) < 0) {
		snprintf(why, whylen, "cannot read /proc/self/cgroup");
		return false;
	}
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (!strncmp(line, "0::", 3))
			rel = line + 3;
		line = nl ? nl + 1 : NULL;
	}
	if (!rel || rel[0] != '/') {
		snprintf(why, whylen, "no cgroup v2 entry (0::) in /proc/self/cgroup");
		return false;
	}
	char self[600], parent[600], probe[700];
	snprintf(self, sizeof(self), "%s%s", v2, strcmp(rel, "/") ? rel : "");
	snprintf(parent, sizeof(parent), "%s", self);
	char *slash = strrchr(parent, '/');
	if (!strcmp(rel, "/") || !slash || (size_t)(slash - parent) <= strlen(v2)) {
		snprintf(why, whylen,
			 "your cgroup '%s' is %s, which only root may change, so nothing is delegated to uid %d",
			 rel, strcmp(rel, "/") ? "a child of the root" : "the root",
			 (int)geteuid());
		return false;
	}
	*slash = 0;
	snprintf(probe, sizeof(probe), "%s/cgroup.procs", parent);
	if (access(parent, W_OK) < 0 || access(probe, W_OK) < 0) {
		snprintf(why, whylen,
			 "'%s', the parent of your cgroup, is not delegated to uid %d (it and its cgroup.procs must be writable)",
			 parent, (int)geteuid());
		return false;
	}
	snprintf(probe, sizeof(probe), "%s/cgroup.subtree_control", parent);
	if (!file_has_mem_pids(probe)) {
		snprintf(why, whylen,
			 "'%s' is delegated to uid %d but its cgroup.subtree_control does not enable memory and pids",
			 parent, (int)geteuid());
		return false;
	}
	snprintf(probe, sizeof(probe), "%s/ward", parent);
	if (access(probe, F_OK) == 0 && access(probe, W_OK) < 0) {
		snprintf(why, whylen, "'%s' exists and is not writable by uid %d", probe,
			 (int)geteuid());
		return false;
	}
	snprintf(f->cgroup_path, sizeof(f->cgroup_path), "%s", probe);
	snprintf(f->cgroup_delegated, sizeof(f->cgroup_delegated),
		 "delegated to uid %d: '%s'; your cgroup '%s' is a leaf in it, the runs go beside it",
		 (int)geteuid(), parent, rel);
	return true;
}

void cgroup_detect(struct features *f)
{
	f->cgroup_version = 0;
	f->cgroup_path[0] = f->cgroup_delegated[0] = 0;
	bool root = geteuid() == 0;
	/* Pure v2 (or a hybrid whose v2 mount carries controllers). */
	const char *v2 = is_cgroup2(CG_ROOT) ? CG_ROOT
			 : is_cgroup2(CG_ROOT "/unified") ? CG_ROOT "/unified"
							  : NULL;
	if (v2) {
		char p[600], why[400];
		snprintf(p, sizeof(p), "%s/cgroup.subtree_control", v2);
		if (file_has_mem_pids(p) && root && access(v2, W_OK) == 0) {
			f->cgroup_version = 2;
			snprintf(f->cgroup_path, sizeof(f->cgroup_path), "%s/ward", v2);
			return;
		}
		if (!root && detect_delegated(v2, f, why, sizeof(why))) {
			f->cgroup_version = 2;
			return;
		}
		if (!root)
			snprintf(f->cgroup_why, sizeof(f->cgroup_why),
				 "cgroup v2 at %s: no delegated subtree: %s", v2, why);
		else
			snprintf(f->cgroup_why, sizeof(f->cgroup_why),
				 "cgroup v2 at %s: the memory and pids controllers are not enabled in its cgroup.subtree_control (ward does not change cgroups it did not create)",
				 v2);
	}
	if (access(CG_ROOT "/memory/cgroup.procs", F_OK) == 0 &&
	    access(CG_ROOT "/pids/cgroup.procs", F_OK) == 0) {
		if (root && access(CG_ROOT "/memory", W_OK) == 0 &&
		    access(CG_ROOT "/pids", W_OK) == 0) {
			f->cgroup_version = 1;
			snprintf(f->cgroup_path, sizeof(f->cgroup_path),
				 CG_ROOT "/{memory,pids}/ward");
			return;
		}
		size_t n = strlen(f->cgroup_why);
		snprintf(f->cgroup_why + n, sizeof(f->cgroup_why) - n, "%s%s",
			 n ? "; " : "",
			 "cgroup v1 memory/pids hierarchies are not writable by this user");
	} else if (!v2) {
		snprintf(f->cgroup_why, sizeof(f->cgroup_why),
			 "no cgroup v2 mount with controllers and no v1 memory/pids hierarchies under " CG_ROOT);
	}
}

/* mkdir that remembers whether it created the directory. */
static int mkdir_owned(const char *path, char *created, size_t len)
{
	if (mkdir(path, 0755) == 0) {
		snprintf(created, len, "%s", path);
		return 0;
	}
	return errno == EEXIST ? 0 : -errno;
}

/* The start time of process pid (field 22 of /proc/PID/stat, clock ticks
 * since boot), 0 when it does not exist or cannot be read. With the pid it
 * names one process for good: a pid reused later has a later start. */
static unsigned long long proc_start_time(pid_t pid)
{
	char path[64];
	_cleanup_free_ char *buf = NULL;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, 4096, &buf, NULL) < 0)
		return 0;
	/* The command name may hold spaces and parentheses: count the
	 * fields after its last ')'. Field 3 is the first after it. */
	char *p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* The inode of this process's pid namespace, 0 when unknown. Only when
 * /proc is the one of that namespace (its "self" is our own pid): under a
 * /proc of another namespace (`unshare -p` without a new /proc) the
 * start times read there would be other processes'. */
static unsigned long long own_pidns(void)
{
	char self[32];
	ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);
	if (n <= 0)
		return 0;
	self[n] = 0;
	struct stat st;
	if (strtol(self, NULL, 10) != (long)getpid() || stat("/proc/self/ns/pid", &st) < 0)
		return 0;
	return (unsigned long long)st.st_ino;
}

/* "run-PID-sSTART-pNS-N": the controller's pid, start time and pid
 * namespace inode (so that a later run can tell a run whose ward is gone,
 * cgroup_remove_stale), and a counter for the runs of one controller. */
static void run_name(char *buf, size_t len)
{
	static unsigned counter;
	pid_t pid = getpid();
	snprintf(buf, len, "run-%d-s%llu-p%llu-%u", (int)pid, proc_start_time(pid), own_pidns(),
		 __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
}

/* Whether the controller that named a run cgroup is gone for sure: it
 * ran in our pid namespace (ns, known) and its pid is free or now names a
 * process with another start time. Names of other namespaces, and older
 * names that do not say their namespace, are never judged: their pid may
 * name anything here. */
static bool run_owner_gone(const char *name, unsigned long long ns)
{
	char *end;
	if (ns == 0 || strncmp(name, "run-", 4) != 0)
		return false;
	unsigned long pid = strtoul(name + 4, &end, 10);
	if (end == name + 4 || strncmp(end, "-s", 2) != 0 || pid == 0 || pid > INT32_MAX)
		return false;
	unsigned long long start = strtoull(end + 2, &end, 10);
	if (strncmp(end, "-p", 2) != 0 || strtoull(end + 2, &end, 10) != ns || *end != '-')
		return false;
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return true;
	/* A live process with that pid: gone only when its start time is
	 * known and not the one in the name (the pid was reused). */
	unsigned long long now = proc_start_time((pid_t)pid);
	return now != 0 && now != start;
}

/* Opens a run directory this controller just created and locks it for the
 * run (cgroup_destroy closes it). Taken right after the mkdir: a sweep of
 * our own namespace sees a live owner in between, one of another never
 * judges our name. */
static int lock_run_dir(const char *path, int *ret_fd)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* Removes the run cgroups under parent (one of ward's own `ward`
 * directories) whose controller is gone: killed with SIGKILL, it could not
 * remove them. rmdir removes only an empty cgroup (EBUSY otherwise), so a
 * cgroup still in use is never touched; one of a live controller is not
 * even tried (it may be empty between its mkdir and the box's start):
 * neither one whose name is of another pid namespace, nor one whose lock
 * a controller holds (flock works on cgroupfs directories). Returns how
 * many were removed. */
static int remove_stale_in(const char *parent)
{
	unsigned long long ns = own_pidns();
	if (ns == 0)
		return 0;
	_cleanup_close_ int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	DIR *d = fdopendir(fd);
	if (!d)
		return 0;
	fd = -1; /* the DIR owns it */
	int n = 0;
	uint64_t give_up = now_ns() + 100 * 1000000ULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !run_owner_gone(de->d_name, ns))
			continue;
		_cleanup_close_ int lock = openat(dirfd(d), de->d_name,
						  O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0)
			continue;
		/* A box whose controller was killed a moment ago may still be
		 * dying (its init gets SIGKILL as the parent-death signal):
		 * wait for that a little, once per sweep. */
		int r;
		while ((r = unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR)) < 0 && errno == EBUSY &&
		       now_ns() < give_up) {
			struct timespec ts = {0, 2000000};
			nanosleep(&ts, NULL);
		}
		if (r == 0)
			n++;
	}
	closedir(d);
	return n;
}

int cgroup_remove_stale(const struct features *f)
{
	if (f->cgroup_version == 2)
		return remove_stale_in(f->cgroup_path);
	if (f->cgroup_version == 1)
		return remove_stale_in(CG_ROOT "/memory/ward") + remove_stale_in(CG_ROOT "/pids/ward");
	return 0;
}

static int write_value(const char *dir, const char *file, uint64_t v,
		       struct err *e)
{
	char path[700], val[32];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	snprintf(val, sizeof(val), "%llu", (unsigned long long)v);
	int r = write_file_at(AT_FDCWD, path, val);
	if (r < 0)
		return err_errno(e, -r, "cannot write %s to '%s'", val, path);
	return 0;
}

static int create_v2(struct cgroup *cg, const struct features *f,
		     uint64_t memory, uint64_t procs, struct err *e)
{
	char run[64], parent_ctl[600];
	int r = mkdir_owned(f->cgroup_path, cg->parent_created[0],
			    sizeof(cg->parent_created[0]));
	if (r < 0)
		return err_errno(e, -r, "cannot create cgroup '%s'", f->cgroup_path);
	/* Our own parent: enable the controllers its children need. */
	snprintf(parent_ctl, sizeof(parent_ctl), "%s/cgroup.subtree_control", f->cgroup_path);
	if (!file_has_mem_pids(parent_ctl)) {
		r = write_file_at(AT_FDCWD, parent_ctl, "+memory +pids");
		if (r < 0)
			return err_errno(e, -r, "cannot enable memory and pids in '%s'", parent_ctl);
	}
	run_name(run, sizeof(run));
	snprintf(cg->v2_path, sizeof(cg->v2_path), "%s/%s", f->cgroup_path, run);
	if (mkdir(cg->v2_path, 0755) < 0 && errno == ENOENT &&
	    mkdir_owned(f->cgroup_path, cg->parent_created[0], sizeof(cg->parent_created[0])) == 0)
		(void)0;
	if (access(cg->v2_path, F_OK) < 0 && mkdir(cg->v2_path, 0755) < 0) {
		r = errno;
		cg->v2_path[0] = 0;
		return err_errno(e, r, "cannot create cgroup '%s/%s'", f->cgroup_path, run);
	}
	cg->version = 2;
	if ((r = lock_run_dir(cg->v2_path, &cg->lock_fd[0])) < 0)
		return err_errno(e, -r, "cannot lock cgroup '%s'", cg->v2_path);
	if (memory) {
		if ((r = write_value(cg->v2_path, "memory.max", memory, e)) < 0)
			return r;
		/* No swap: the limit is on memory, not on memory plus disk. */
		write_value(cg->v2_path, "memory.swap.max", 0, NULL);
	}
	if (procs && (r = write_value(cg->v2_path, "pids.max", procs, e)) < 0)
		return r;
	cg->v2_fd = open(cg->v2_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cg->v2_fd < 0)
		return err_errno(e, errno, "cannot open cgroup '%s'", cg->v2_path);
	return 0;
}

static int create_v1_one(const char *ctrl, char *out, size_t outlen,
			 char *created, size_t createdlen, const char *run,
			 int *ret_lock, struct err *e)
{
	char parent[300];
	snprintf(parent, sizeof(parent), CG_ROOT "/%s/ward", ctrl);
	int r = mkdir_owned(parent, created, createdlen);
	if (r < 0)
		return err_errno(e, -r, "cannot create cgroup '%s'", parent);
	snprintf(out, outlen, "%s/%s", parent, run);
	/* A concurrent run may remove the shared parent between our mkdirs. */
	if (mkdir(out, 0755) < 0 && errno == ENOENT && mkdir_owned(parent, created, createdlen) == 0)
		(void)0;
	if (access(out, F_OK) < 0 && mkdir(out, 0755) < 0) {
		r = errno;
		out[0] = 0;
		return err_errno(e, r, "cannot create cgroup '%s/%s'", parent, run);
	}
	if ((r = lock_run_dir(out, ret_lock)) < 0)
		return err_errno(e, -r, "cannot lock cgroup '%s'", out);
	return 0;
}

static int create_v1(struct cgroup *cg, uint64_t memory, uint64_t procs,
		     struct err *e)
{
	char run[64];
	int r;
	run_name(run, sizeof(run));
	cg->version = 1;
	if (memory) {
		r = create_v1_one("memory", cg->v1_mem, sizeof(cg->v1_mem),
				  cg->parent_created[1], sizeof(cg->parent_created[1]), run,
				  &cg->lock_fd[1], e);
		if (r < 0)
			return r;
		if ((r = write_value(cg->v1_mem, "memory.limit_in_bytes", memory, e)) < 0)
			return r;
		/* memsw exists only with swap accounting; where it does, the
		 * limit covers swap too. */
		char p[700];
		snprintf(p, sizeof(p), "%s/memory.memsw.limit_in_bytes", cg->v1_mem);
		if (access(p, F_OK) == 0 &&
		    (r = write_value(cg->v1_mem, "memory.memsw.limit_in_bytes", memory, e)) < 0)
			return r;
		write_value(cg->v1_mem, "memory.swappiness", 0, NULL);
	}
	if (procs) {
		r = create_v1_one("pids", cg->v1_pids, sizeof(cg->v1_pids),
				  cg->parent_created[2], sizeof(cg->parent_created[2]), run,
				  &cg->lock_fd[2], e);
		if (r < 0)
			return r;
		if ((r = write_value(cg->v1_pids, "pids.max", procs, e)) < 0)
			return r;
	}
	/* The write permission of a v1 `tasks` file is checked against the
	 * opener's credentials: opened here, it works from inside the box's
	 * user namespace too. */
	const char *dirs[2] = {cg->v1_mem, cg->v1_pids};
	for (int i = 0; i < 2; i++) {
		if (!dirs[i][0])
			continue;
		char path[700];
		snprintf(path, sizeof(path), "%s/tasks", dirs[i]);
		cg->v1_tasks[i] = open(path, O_WRONLY | O_CLOEXEC);
		if (cg->v1_tasks[i] < 0)
			return err_errno(e, errno, "cannot open '%s'", path);
	}
	return 0;
}

/* Opens the usage files that exist (one that cannot be opened reads as
 * unknown, as a failed read did). */
static void open_usage(struct cgroup *cg)
{
	const char *dir[N_USAGE], *name[N_USAGE];
	if (cg->version == 2) {
		static const char *const v2[N_USAGE] = {"memory.peak", "memory.events", "pids.events",
							"cpu.stat"};
		for (int i = 0; i < N_USAGE; i++) {
			dir[i] = cg->v2_path;
			name[i] = v2[i];
		}
	} else {
		dir[USAGE_PEAK] = dir[USAGE_MEMORY_EVENTS] = cg->v1_mem;
		dir[USAGE_PIDS_EVENTS] = cg->v1_pids;
		dir[USAGE_CPU] = "";
		name[USAGE_PEAK] = "memory.max_usage_in_bytes";
		name[USAGE_MEMORY_EVENTS] = "memory.oom_control";
		name[USAGE_PIDS_EVENTS] = "pids.events";
		name[USAGE_CPU] = "";
	}
	for (int i = 0; i < N_USAGE; i++) {
		if (!dir[i][0])
			continue;
		char path[700];
		snprintf(path, sizeof(path), "%s/%s", dir[i], name[i]);
		cg->usage_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
	}
}

int cgroup_create(struct cgroup *cg, const struct features *f, uint64_t memory,
		  uint64_t procs, struct err *e)
{
	*cg = (struct cgroup){.v2_fd = -1, .v1_tasks = {-1, -1}, .lock_fd = {-1, -1, -1},
			      .usage_fd = {-1, -1, -1, -1}};
	int r;
	/* The leftovers of runs whose controller was killed go first. */
	cgroup_remove_stale(f);
	if (f->cgroup_version == 2)
		r = create_v2(cg, f, memory, procs, e);
	else if (f->cgroup_version == 1)
		r = create_v1(cg, memory, procs, e);
	else
		return err_set(e, EOPNOTSUPP, "no usable cgroup: %s", f->cgroup_why);
	if (r < 0)
		cgroup_destroy(cg);
	else
		open_usage(cg);
	return r;
}

void cgroup_close_tasks(struct cgroup *cg)
{
	for (int i = 0; i < 2; i++) {
		if (cg->v1_tasks[i] >= 0)
			close(cg->v1_tasks[i]);
		cg->v1_tasks[i] = -1;
	}
}

/* Called by the box's first process, still single-threaded: moves itself
 * into the run's v1 cgroups and closes the files. */
int cgroup_join_self(struct cgroup *cg, struct err *e)
{
	const char *dirs[2] = {cg->v1_mem, cg->v1_pids};
	int r = 0;
	for (int i = 0; i < 2 && r == 0; i++)
		if (cg->v1_tasks[i] >= 0 && write(cg->v1_tasks[i], "0", 1) != 1)
			r = err_errno(e, errno, "cannot move the box into '%s'", dirs[i]);
	cgroup_close_tasks(cg);
	return r;
}

/* A usage file's text from its start (a cgroup file is generated anew at
 * each read from offset 0), in one read: a generated file comes whole when
 * it fits, and these are a few lines; false when it is not open or cannot
 * be read. */
static bool read_usage(const struct cgroup *cg, enum cgroup_usage_file f, char *buf, size_t size)
{
	int fd = cg->usage_fd[f];
	ssize_t n;
	if (fd < 0)
		return false;
	while ((n = pread(fd, buf, size - 1, 0)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return false;
	buf[n] = 0;
	return true;
}

/* Reads "key value" from a flat-keyed cgroup file. */
static bool read_key(const struct cgroup *cg, enum cgroup_usage_file f, const char *key,
		     uint64_t *ret)
{
	char buf[4096];
	if (!read_usage(cg, f, buf, sizeof(buf)))
		return false;
	size_t n = strlen(key);
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (!strncmp(line, key, n) && line[n] == ' ') {
			*ret = strtoull(line + n + 1, NULL, 10);
			return true;
		}
	}
	return false;
}

static bool read_u64(const struct cgroup *cg, enum cgroup_usage_file f, uint64_t *ret)
{
	char buf[64];
	if (!read_usage(cg, f, buf, sizeof(buf)))
		return false;
	char *end;
	unsigned long long v = strtoull(buf, &end, 10);
	if (end == buf)
		return false;
	*ret = v;
	return true;
}

bool cgroup_read_pids_events(const struct cgroup *cg, uint64_t *ret)
{
	return cg->version && read_key(cg, USAGE_PIDS_EVENTS, "max", ret);
}

void cgroup_read_usage(struct cgroup *cg, struct cgroup_usage *u)
{
	*u = (struct cgroup_usage){0};
	if (!cg->version)
		return;
	u->have_peak = read_u64(cg, USAGE_PEAK, &u->peak_memory);
	read_key(cg, USAGE_MEMORY_EVENTS, "oom_kill", &u->oom_kills);
	read_key(cg, USAGE_PIDS_EVENTS, "max", &u->pids_max_events);
	u->have_cpu = read_key(cg, USAGE_CPU, "usage_usec", &u->cpu_usec);
}

/* rmdir, retrying while the kernel finishes tearing the box down. */
static void remove_dir(const char *path)
{
	for (int i = 0; i < 200; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			return;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
}

void cgroup_destroy(struct cgroup *cg)
{
	for (int i = 0; i < N_USAGE; i++) {
		if (cg->usage_fd[i] >= 0)
			close(cg->usage_fd[i]);
		cg->usage_fd[i] = -1;
	}
	if (cg->v2_fd >= 0)
		close(cg->v2_fd);
	cg->v2_fd = -1;
	cgroup_close_tasks(cg);
	if (cg->v2_path[0]) {
		/* Anything still inside (it should not be: the pid namespace
		 * is gone) is killed before removal. */
		char kill_path[700];
		snprintf(kill_path, sizeof(kill_path), "%s/cgroup.kill", cg->v2_path);
		write_file_at(AT_FDCWD, kill_path, "1");
		remove_dir(cg->v2_path);
	}
	if (cg->v1_mem[0])
		remove_dir(cg->v1_mem);
	if (cg->v1_pids[0])
		remove_dir(cg->v1_pids);
	/* Unlocked only once removed: a sweep never sees it free before. */
	for (int i = 0; i < 3; i++) {
		if (cg->lock_fd[i] >= 0)
			close(cg->lock_fd[i]);
		cg->lock_fd[i] = -1;
	}
	/* A parent this run created goes too when no other run uses it;
	 * EBUSY/ENOTEMPTY simply means another run does. */
	for (int i = 0; i < 3; i++)
		if (cg->parent_created[i][0])
			rmdir(cg->parent_created[i]);
	cg->v2_path[0] = cg->v1_mem[0] = cg->v1_pids[0] = 0;
	cg->version = 0;
}
