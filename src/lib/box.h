/* box.h — internals shared by the launcher's modules (not part of any API).
 *
 * The controller prepares a complete `struct box_plan` before it clones the
 * box, so that the code running in the box's first process never
 * allocates: after clone the child may run in a copy of a multi-threaded
 * process whose allocator locks are held by threads that no longer exist. */
#pragma once

#include <sys/types.h>

#include "host_features.h"
#include "policy.h"

/* --- the box's file system (mount.c) --- */

enum mnt_kind {
	MNT_BIND,    /* host path (dir or file) bound at dst */
	MNT_TMPFS,   /* fresh tmpfs at dst */
	MNT_PROC,    /* the box pid namespace's procfs */
	MNT_SYMLINK, /* symlink at dst pointing to src */
	MNT_FILE,    /* regular file at dst with content src */
	MNT_DIR,     /* empty directory at dst */
};

struct mnt_entry {
	enum mnt_kind kind;
	const char *src;     /* host path, symlink target, or file content */
	const char *dst;     /* absolute box path */
	uint64_t size;	     /* tmpfs size in bytes */
	unsigned mode;	     /* tmpfs root / file / dir mode */
	bool rdonly;	     /* bind read-only */
	bool optional;	     /* bind: skip when the host path is missing */
	bool src_is_dir;     /* bind: decided by the controller (stat) */
	bool exec_rule;	     /* landlock: may execute beneath (no --exec list) */
	bool device;	     /* bind of a host device node (no nodev) */
	bool writable;	     /* bind: a read-write grant (not rdonly) */
	bool idmap;	     /* bind: write as the host path's owner (root) */
	uid_t idmap_uid;     /* ...that owner, and its group */
	gid_t idmap_gid;
	bool overlay;	     /* bind: writes land in a tmpfs of `size` bytes
			      * (an overlay), applied to the host at the end */
	int host_fd;	     /* overlay, controller: where to apply (disk.c) */
	int upper_fd;	     /* overlay, set in the child: the upper layer */
	bool seal;	     /* tmpfs: read-only once the tree is built (/dev:
			      * the box must not replace /dev/fd, which the
			      * broker trusts to lead to /proc/self/fd) */
	bool skipped;	     /* set in the child: optional and missing */
	int tree_fd;	     /* set in the child: the detached clone */
};

struct mnt_plan {
	struct mnt_entry *e;
	size_t n, cap;
	const char *staging; /* host dir the new root is attached at */
	uint64_t root_size;
};

int mnt_plan_add(struct mnt_plan *mp, enum mnt_kind kind, const char *src,
		 const char *dst);
/* Returns the last entry added (for setting flags). */
struct mnt_entry *mnt_plan_last(struct mnt_plan *mp);
void mnt_plan_sort(struct mnt_plan *mp);
void mnt_plan_free(struct mnt_plan *mp);

/* In the controller, before clone, as root: the read-write grants marked
 * `idmap` are cloned (open_tree) and idmapped so that the box's host
 * uid/gid (box_uid/box_gid) writes as the owner of the granted path; the
 * box attaches these clones instead of capturing its own. Then every
 * read-write grant is checked: one the box could not write fails here,
 * before the run, naming the fix. */
int mnt_prepare_writable(struct mnt_plan *mp, bool root, uid_t box_uid,
			 gid_t box_gid, struct err *e);
/* As root: can `path`'s file system be idmapped? 1, or 0 with why set. */
int mnt_idmap_probe(const char *path, char *why, size_t len);
/* Closes what mnt_prepare_writable opened (the controller's copies). */
void mnt_close_trees(struct mnt_plan *mp);

/* In the box, right after clone: makes the mount tree private and clones
 * every granted host path into a detached mount, with the caller's own
 * credentials (before the box takes its uid), while the controller writes
 * the id maps. */
int mnt_capture(struct mnt_plan *mp, struct err *e);
/* Then: builds the tmpfs root, mounts everything, makes the root read-only
 * and pivots into it. On return the host's file system is gone from this
 * mount namespace. */
int mnt_build_root(struct mnt_plan *mp, struct err *e);

/* --- the size-capped layer of read-write grants (disk.c) --- */

/* After the run: replays the upper layer upper_fd onto host_fd, as the
 * box (box_uid/box_gid; root: on a thread with those fs ids), writing at
 * most `limit` bytes. 0, or -errno with e naming the first failure. */
int disk_apply(int upper_fd, int host_fd, const char *host_path, uint64_t limit, bool root,
	       uid_t box_uid, gid_t box_gid, struct err *e);

/* --- namespaces (ns.c) --- */

/* clone3() into fresh user, mount, pid, net, ipc, uts and cgroup
 * namespaces. cgroup_fd >= 0 places the child in that cgroup (v2). Returns
 * the pid in the parent (with *ret_pidfd), 0 in the child, -errno. */
pid_t ns_clone_box(int cgroup_fd, bool new_cgroup_ns, bool own_owner, int *ret_pidfd);
/* From the controller: maps box uid/gid 1000 to host_uid/host_gid. */
/* In a process forked from one that cloned boxes (a zygote's request):
 * forgets ns.c's state, which names the cloning thread's host tid and how
 * many boxes were cloned. */
void ns_forget(void);
int ns_write_id_maps(int procdir, pid_t pid, uid_t host_uid, gid_t host_gid,
		     bool allow_setgroups, struct err *e);
/* In the box: become uid/gid 1000 with no supplementary groups. */
int ns_become_box_user(bool can_setgroups, struct err *e);
/* A user namespace fd mapping inside_uid/gid to outside_uid/gid only (for
 * mount_setattr(MOUNT_ATTR_IDMAP)), or -errno. */
int ns_idmap_userns(uid_t inside_uid, uid_t outside_uid, gid_t inside_gid,
		    gid_t outside_gid, struct err *e);
int ns_set_hostname(const char *name, struct err *e);
int ns_loopback_up(struct err *e);

/* The ELF interpreter of the host's programs, part of "the program" for
 * an exec list (init.c's list_exec_paths; the broker mirrors that list).
 * Its path is fixed by each architecture's ABI, not by the host: chosen
 * here at compile time rather than spelled for x86-64 alone. */
#if defined(__x86_64__) && defined(__ILP32__)
#define BOX_ELF_INTERP "/libx32/ld-linux-x32.so.2"
#elif defined(__x86_64__)
#define BOX_ELF_INTERP "/lib64/ld-linux-x86-64.so.2"
#elif defined(__i386__)
#define BOX_ELF_INTERP "/lib/ld-linux.so.2"
#elif defined(__aarch64__)
#define BOX_ELF_INTERP "/lib/ld-linux-aarch64.so.1"
#elif defined(__riscv) && __riscv_xlen == 64
#define BOX_ELF_INTERP "/lib/ld-linux-riscv64-lp64d.so.1"
#else
#error "BOX_ELF_INTERP: name this architecture's ELF interpreter"
#endif

/* The box's layout. Where the client shims appear in the box (docs/PROTOCOL.md). */
#define CLIENT_BOX_DIR "/run/ward"
#define CHANNEL_BOX_FD 4
/* The box's end of the broker socket, until it hands over the listener. */
#define BROKER_BOX_FD 5
/* A warm box's request socket, until the request has arrived. */
#define REQUEST_BOX_FD 6

#define BOX_UID 1000
#define BOX_GID 1000
#define NOBODY_UID 65534
#define NOBODY_GID 65534

/* --- per-process confinement --- */

/* landlock.c: a ruleset allowing exactly what the plan grants. exec_paths
 * (NULL-terminated, box paths) restricts execution when non-empty. */
int landlock_abi(void);
int landlock_apply(const struct mnt_plan *mp, char *const *exec_paths,
		   enum net_mode net, int abi, struct err *e);

/* seccomp.c: loads the filters tools/gen-filter.c precompiled. Each
 * needs no_new_privs. memory: init's count, not a cgroup, bounds memory.
 * seccomp_apply_notify returns the broker's listener fd (or -errno). */
int seccomp_apply(struct err *e);
int seccomp_apply_memory_guard(bool memory, struct err *e);
int seccomp_apply_notify(struct err *e);

/* limits.c */
struct box_limits {
	uint64_t v[_LIMIT_MAX];	/* effective values, 0 = unlimited */
	bool memory_by_cgroup;	/* memory enforced by a cgroup, not rlimit */
	bool procs_by_cgroup;
};
int limits_apply_rlimits(const struct box_limits *l, struct err *e);
/* Without a memory cgroup, RLIMIT_DATA is the memory limit plus this much:
 * init's count enforces the limit itself, and the rlimit only bounds how
 * far one process can get ahead of the count. Runtimes map private
 * writable memory they never touch (node's thread stacks and V8 heap:
 * ~48 MiB before any script runs; ruby ~58 MiB), which a bare limit-sized
 * rlimit would refuse long before the box holds the limit. */
#define DATA_HEADROOM (128ULL << 20)
uint64_t limits_data_rlimit(uint64_t memory);
int limits_apply_ns_quotas(struct err *e);
/* Drops every capability from every set, including the bounding and
 * ambient sets, and locks the securebits. */
int caps_drop_all(struct err *e);
/* Default dispositions for every signal and an empty mask, as the program
 * must start with: ignored signals would otherwise survive execve. */
int signals_default(void);

/* --- cgroups (cgroup.c) --- */
/* The files a run's usage is read from at its end (and pids.events while
 * it runs), opened with the cgroup: looked up by path at the end of a
 * pooled request, they cost ~0.2 ms together here (bench/README.md,
 * "Session 7"). v2: memory.peak, memory.events, pids.events, cpu.stat; v1:
 * memory.max_usage_in_bytes, memory.oom_control, pids.events. */
enum cgroup_usage_file { USAGE_PEAK, USAGE_MEMORY_EVENTS, USAGE_PIDS_EVENTS, USAGE_CPU, N_USAGE };
struct cgroup {
	int version;		/* 0 none, 1, 2 */
	int v2_fd;		/* O_PATH|O_DIRECTORY of the run's v2 cgroup */
	char v2_path[512];
	char v1_mem[512];	/* "" if unused */
	char v1_pids[512];
	int v1_tasks[2];	/* write ends of the run's v1 `tasks` files, or -1 */
	int lock_fd[3];		/* flock(LOCK_EX) on the v2, v1 memory, v1 pids run dirs, or -1 */
	int usage_fd[N_USAGE];	/* the usage files (enum cgroup_usage_file), opened once, or -1 */
	char parent_created[3][512]; /* parents ward created (to remove) */
};
struct cgroup_usage {
	uint64_t peak_memory;
	uint64_t oom_kills;
	uint64_t pids_max_events;
	uint64_t cpu_usec;
	bool have_peak, have_cpu;
};
/* Creates a cgroup for one run with the given limits (0 = no limit for
 * that controller). Returns 0, or -errno with a message when none can be
 * made (the caller decides whether that is fatal). */
int cgroup_create(struct cgroup *cg, const struct features *f, uint64_t memory,
		  uint64_t procs, struct err *e);
int cgroup_join_self(struct cgroup *cg, struct err *e);
/* Closes the v1 `tasks` files (the controller's copies once the box has
 * them; cgroup_join_self and cgroup_destroy close them too). */
void cgroup_close_tasks(struct cgroup *cg);
void cgroup_read_usage(struct cgroup *cg, struct cgroup_usage *u);
/* The pids controller's `max` event count (forks refused at pids.max) so
 * far; false without a pids cgroup or when it cannot be read. */
bool cgroup_read_pids_events(const struct cgroup *cg, uint64_t *ret);
void cgroup_destroy(struct cgroup *cg);
/* Detects which cgroup version ward can use and where (for features). */
void cgroup_detect(struct features *f);
