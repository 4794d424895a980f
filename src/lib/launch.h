/* launch.h — what the launcher's files share (plan.c, init.c,
 * supervise.c, run.c): not part of any API. */
#pragma once

#include <poll.h>
#include <sys/resource.h>

#include "box.h"
#include "channel.h"
#include "run.h"

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

struct plumbing;

/* The plan (plan.c): everything the box is built from, decided in the
 * controller before clone, from the policy and the options alone. The
 * later stages only read it; the one exception is the mount plan's
 * per-entry descriptors (tree_fd, upper_fd, host_fd: mount.c, disk.c),
 * which each side sets in its own copy as it builds the mounts. Built
 * before clone, so that the box's processes, which get a copy, never
 * allocate (box.h). */
struct plan {
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
	/* What this host refuses and a box does without (features.c:
	 * plan_host; SECURITY.md "Degradable layers"). Zero = all of it: */
	bool no_hostname;    /* init leaves the uts namespace's hostname */
	bool no_ns_quotas;   /* init leaves the namespace's inotify quotas */
	bool root_owner;     /* as root: root owns the box's user namespace */
	uid_t host_uid;	     /* the box's host ids: never host root */
	gid_t host_gid;
	int landlock_abi;
	size_t n_overlay;    /* read-write directory grants (overlays) */
	/* The run's cgroup, when plan_cgroup made one: the limits it
	 * enforces are part of the plan (lim.*_by_cgroup). */
	struct cgroup cg;
	bool have_cg;
	/* A warm box (pool.c): the program's process is started and confined
	 * up to its capabilities, then waits for the request (request.h) on
	 * the plumbing's req socket; argv is NULL until then. */
	bool deferred;
	/* A zygote's box (zygote.c): the program's process is a fork of
	 * init, itself a fork of the zygote's interpreter, and when the request
	 * is for that interpreter it calls resume, fully confined, instead of
	 * execve: resume never returns, it goes on in the interpreter. */
	_noreturn_ void (*resume)(const struct plan *pl, char *const *argv, char *const *envp);
};

/* Who clones a box: by default the controller itself (ns_clone_box); a
 * zygote's box is cloned by the zygote (zygote.c). Returns the box init's
 * pid (> 0) and a pidfd for it, or -errno with a message in e. */
struct launcher {
	pid_t (*clone)(void *ctx, const struct plan *pl, const struct plumbing *io,
		       int *ret_pidfd, struct err *e);
	void *ctx;
};

/* What planning has to tell the user: it goes into the result (run.c's
 * result_assemble), never written there by the planner itself. */
struct plan_notes {
	const char *limit_source[_LIMIT_MAX]; /* "cgroup-v2", "rlimit", ... */
	char notice[512];	/* e.g. why the current directory is not exposed */
	char exposed_cwd[4096]; /* the caller's directory, when exposed */
};

/* The plumbing between the controller and the box: pipes ([0] read end,
 * [1] write end) and sockets, made before clone (run.c's plumbing_open);
 * each side closes the ends it does not use. */
struct plumbing {
	int sync[2];	     /* go signal; its write end open = the controller lives */
	int status[2];	     /* init's exit_record */
	int errp[2];	     /* a child_error from either of the box's processes */
	int out[2], err[2], in[2]; /* the program's stdio (in: when pumped) */
	int chan[2];	     /* host-function channel: [0] controller, [1] box */
	int disk[2];	     /* the overlays' upper layers, box [1] -> controller [0] */
	int req[2];	     /* a warm box's request (plan.deferred): [0] controller, [1] box */
	int stdin_direct;    /* caller's stdin handed to the box as is, or -1 */
	int broker_fd;	     /* the box's end of the broker socket, or -1 */
};

struct stream {
	int src;	 /* box side (read end), -1 when done */
	int dst;	 /* caller's fd */
	char buf[4096];	 /* POLLOUT on a pipe guarantees room for PIPE_BUF */
	size_t len, off;
	bool dst_dead;	 /* caller's end closed: drop further data */
};

/* The controller while the box runs (supervise.c). */
struct supervisor {
	const struct box_limits *lim;	/* the plan's */
	const struct cgroup *cg;	/* the plan's, or NULL */
	const volatile sig_atomic_t *cancel; /* run_options.cancel */
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

/* Where each fd sits in the poll set (-1 = not polled). */
struct poll_index {
	int out, err, outw, errw, in, inw, pid, status, cerr, chan;
};

/* How the run ended, as the supervisor saw it (attribute). */
struct verdict {
	enum run_status status;
	int exit_code;		/* -1 unless status is EXITED */
	int signal;		/* the terminating signal, 0 if none */
	const char *evidence;	/* as run_result.evidence */
	const char *notice;	/* cancelled, or the channel's violation; or NULL */
	struct err error;	/* io-error: which stream and why */
};

/* plan.c: the plan's steps, in the order box_start takes them. Each
 * returns 0 or -errno with a message in e (a bare -ENOMEM may have none). */
int plan_limits(struct plan *pl, struct plan_notes *n, const struct policy *p);
int plan_cgroup(struct plan *pl, struct plan_notes *n, const struct policy *p,
		const struct run_options *o, struct err *e);
/* features.c: what this host refuses and the box does without (the
 * plan's no_* fields), with a notice that says so. */
int plan_host(struct plan *pl, struct plan_notes *n);
int plan_filesystem(struct plan *pl, struct plan_notes *n, const struct policy *p,
		    const struct run_options *o, struct err *e);
int plan_environment(struct plan *pl, const struct policy *p, const struct run_options *o);
int plan_exec(struct plan *pl, const struct policy *p, struct err *e);
int plan_landlock(struct plan *pl, struct err *e);
void plan_free(struct plan *pl);

/* init.c, in a zygote's box confined whole and resumed before its request
 * (plan.resume called with NULL argv): waits for the request, writes its
 * files, and returns its argv and the request's own variables (to set
 * over base_env) when it is for the interpreter; executes any other
 * program (with base_env and the request's variables).
 * A failure is reported on the error pipe (fd 3), and the process exits. */
int box_interpreter_request(const struct strv *base_env, char *const **ret_argv,
			    char *const **ret_extra);

/* init.c: the box's pid 1, right after clone, in the box's copy of the
 * plan and the plumbing. Never returns. */
_noreturn_ void box_init(struct plan *pl, struct plumbing *io);

/* supervise.c */
/* Takes the controller's ends of the plumbing once the box runs; s is
 * zero memory (the run is mapped, not allocated: box_start). */
void supervise_begin(struct supervisor *s, struct plumbing *io, const struct plan *pl,
		     const struct run_options *o, int pidfd, uint64_t start_ns);
void kill_box(struct supervisor *s);
nfds_t supervise_fds(const struct supervisor *s, struct pollfd pf[9],
		     struct poll_index *ix);
bool supervise_done(const struct supervisor *s);
int supervise_once(struct supervisor *s, int max_wait_ms);
struct verdict attribute(const struct supervisor *s, int init_status,
			 const struct cgroup_usage *cu, double cpu_time_s);
