/* run.h — starting a program in a box: what the caller asks for besides
 * the policy, and the run's entry points. How a run ended is result.h. */
#pragma once

#include <signal.h>

#include "policy.h"
#include "broker.h" /* ACCESS_*: what on_access and ask are told */
#include "result.h"

struct channel_config;
struct pollfd;

/* What the caller wants besides the policy. */
struct run_options {
	int stdin_fd;	/* passed to the box as fd 0; -1 = /dev/null */
	int stdout_fd;	/* where the box's stdout is copied to */
	int stderr_fd;	/* where the box's stderr is copied to */
	/* Whether to expose the caller's working directory read-only at the
	 * same path (the CLI's default). */
	bool bind_cwd;
	/* Whether limits use a cgroup: CGROUP_AUTO (one per run when ward
	 * can create it, v2 or else v1), CGROUP_OFF, CGROUP_REQUIRE */
	int cgroup_mode;
	/* When non-NULL and set non-zero (e.g. by a signal handler, which also
	 * interrupts the controller's poll), the box is killed and the run
	 * ends with status signaled. */
	const volatile sig_atomic_t *cancel;
	/* The caller exits right after the run (the CLI): do not wait for the
	 * box's namespaces to be torn down. Never with a cgroup. */
	bool reap_lazily;
	/* When set, the run is brokered and the broker's thread calls this
	 * for every access it allowed, with the normalised box path and
	 * ACCESS_* bits (`ward run --learn`). Called only during box_run,
	 * never concurrently with itself. */
	void (*on_access)(void *ctx, const char *box_path, unsigned how);
	void *access_ctx;
	/* The policy's `ask` rules: for an access under one of them that the
	 * static layers allow, the broker's thread calls this with the
	 * resolved box path, ACCESS_* bits and the call's family name
	 * ("open", "stat", ...); true allows, false refuses (EACCES). NULL:
	 * every such access is refused (nobody to ask). Called only during
	 * the run, never concurrently with itself. */
	bool (*ask)(void *ctx, const char *box_path, unsigned how, const char *call);
	void *ask_ctx;
	/* Host functions (channel.h): when non-NULL the box gets the channel
	 * at fd 4 (WARD_CHANNEL_FD) and the controller serves it. */
	const struct channel_config *channel;
	/* Host directory of the client shims, bound read-only at
	 * CLIENT_BOX_DIR when there is a channel; NULL = none. */
	const char *client_dir;
};
enum { CGROUP_AUTO = 0, CGROUP_OFF, CGROUP_REQUIRE };

/* Runs argv in a box built from p. Returns 0 when the program ran (whatever
 * its outcome: see ret->status) or when it could not be started (status
 * SETUP_ERROR, with ret->error); a negative errno only for invalid
 * arguments. Never prints, never exits. */
int box_run(const struct policy *p, char *const argv[],
	    const struct run_options *o, struct run_result *ret);

/* The same run in steps, for callers with their own event loop
 * (ward_spawn): box_start builds and starts the box (or records a setup
 * error in ret, which must outlive the run, and still returns a run that
 * is done at once); box_step serves it for at most timeout_ms (-1 = until
 * something happens) and returns 1 once the run is over; box_wait_set
 * lists the fds and the deadline box_step waits for; box_finish serves the
 * run to its end if it is not over, reaps, attributes the outcome into ret
 * and frees the run. o is copied; p, argv
 * and what o points to must stay valid until box_finish. */
struct box_run;
int box_start(const struct policy *p, char *const argv[],
	      const struct run_options *o, struct run_result *ret,
	      struct box_run **ret_run);
int box_step(struct box_run *b, int timeout_ms);
/* Fills up to cap pollfds; *ret_deadline_ns is the monotonic time at which
 * box_step must run even without events (0 = none). Returns the count. */
size_t box_wait_set(struct box_run *b, struct pollfd *pf, size_t cap,
		    uint64_t *ret_deadline_ns);
void box_kill(struct box_run *b);
void box_finish(struct box_run *b);


/* Warm boxes (pool.c): a box built ahead of time from p, whose program's
 * process waits (confined but for Landlock and seccomp) for its request.
 * box_prepare starts it (or records a setup error in ret and returns a run
 * that is done); the box is ready once box_ready returns 1 (0: not yet,
 * -EIO: it failed, the reason in the run's result); box_ready_fd is the fd
 * that becomes readable then. box_request hands it the request and the
 * request's stdio (o's stdin_fd, stdout_fd, stderr_fd and cancel) and
 * starts the run's clock: from then on it is an ordinary run (box_step,
 * box_finish), whose result goes to ret. A box never requested goes with
 * box_discard. */
int box_prepare(const struct policy *p, const struct run_options *o,
		struct run_result *ret, struct box_run **ret_run);
/* The same with the box cloned by l (launch.h: a zygote's). */
struct launcher;
int box_prepare_with(const struct policy *p, const struct run_options *o,
		     const struct launcher *l, struct run_result *ret, struct box_run **ret_run);
int box_ready_fd(const struct box_run *b);
int box_ready(struct box_run *b, int timeout_ms);
/* box_ready until ready (1), failed (-EIO) or timeout_ms passed (-ETIMEDOUT:
 * the box is killed and the run done with that setup error). */
int box_await_ready(struct box_run *b, int timeout_ms);
/* How long a box may take to be ready before it counts as failed. */
#define BOX_READY_TIMEOUT_MS 60000
int box_request(struct box_run *b, int req_fd, const struct run_options *o,
		struct run_result *ret);
void box_discard(struct box_run *b);

/* As box_finish, for a caller that can take the box's teardown off the
 * result's path (a pool): the run is served to its end and its result
 * assembled; when the box's init reported (every other process of the box
 * is dead) and there are no upper layers to apply, what is left (init's
 * exit, the namespaces, the cgroup) is returned, for box_bury once
 * box_bury_fd (a pidfd) is readable, or at once (it then waits). NULL: the
 * run was finished whole. */
struct box_run *box_finish_early(struct box_run *b);
int box_bury_fd(const struct box_run *b);
void box_bury(struct box_run *b);
