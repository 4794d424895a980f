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

/* Where each fd sits in the poll set (-1 = not polled). */
struct poll_index {
	int out, err, outw, errw, in, inw, pid, status, cerr, chan;
};

/* plan.c */
int plan_limits(struct launch *L, const struct policy *p,
		const struct run_options *o, struct run_result *ret);
int plan_filesystem(struct launch *L, const struct policy *p,
		    const struct run_options *o, struct run_result *ret);
int plan_environment(struct launch *L, const struct policy *p);
int plan_channel_environment(struct launch *L, const struct policy *p,
			     const struct run_options *o);
int check_exec_paths(const struct launch *L, const struct policy *p, struct err *e);

/* init.c */
_noreturn_ void box_init(struct launch *L);

/* supervise.c */
void kill_box(struct supervisor *s);
nfds_t supervise_fds(const struct supervisor *s, struct pollfd pf[9],
		     struct poll_index *ix);
bool supervise_done(const struct supervisor *s);
int supervise_once(struct supervisor *s, int max_wait_ms);
void attribute(struct supervisor *s, int init_status, const struct cgroup_usage *cu);
