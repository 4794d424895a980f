/* run.h — starting a program in a box and reporting how the run ended. */
#pragma once

#include <signal.h>

#include "policy.h"

struct channel_config;
struct pollfd;

/* Where the client shims appear in the box (docs/PROTOCOL.md). */
#define CLIENT_BOX_DIR "/run/ward"
#define CHANNEL_BOX_FD 4
/* The box's end of the broker socket, until it hands over the listener. */
#define BROKER_BOX_FD 5

enum run_status {
	STATUS_EXITED,
	STATUS_SIGNALED,
	STATUS_TIME_LIMIT,
	STATUS_CPU_LIMIT,
	STATUS_MEMORY_LIMIT,
	STATUS_OUTPUT_LIMIT,
	STATUS_PROCS_LIMIT,
	STATUS_FILE_SIZE_LIMIT,
	STATUS_SETUP_ERROR,
	STATUS_VIOLATION, /* the box broke the host-function channel's rules */
	/* the box's output could not be delivered, or the caller's stdin
	 * could not be read (ret->error says which and why) */
	STATUS_IO_ERROR,
	_STATUS_MAX,
};
const char *run_status_name(enum run_status s);

/* Which layers a run had active (bit set) — reported, and asserted by tests. */
enum layer {
	LAYER_USERNS = 1u << 0,
	LAYER_MNTNS = 1u << 1,
	LAYER_PIDNS = 1u << 2,
	LAYER_NETNS = 1u << 3,
	LAYER_IPCNS = 1u << 4,
	LAYER_UTSNS = 1u << 5,
	LAYER_CGROUPNS = 1u << 6,
	LAYER_PIVOT_ROOT = 1u << 7,
	LAYER_NO_NEW_PRIVS = 1u << 8,
	LAYER_CAPS_DROPPED = 1u << 9,
	LAYER_SECCOMP = 1u << 10,
	LAYER_LANDLOCK = 1u << 11,
	LAYER_CGROUP_V2 = 1u << 12,
	LAYER_CGROUP_V1 = 1u << 13,
	LAYER_RLIMITS = 1u << 14,
	LAYER_SETSID = 1u << 15,
	LAYER_BROKER = 1u << 16, /* seccomp user notification to the controller */
};

/* One call the broker refused (broker.c). */
#define RUN_MAX_DENIALS 64
struct denial {
	char call[16];	    /* "open", "stat", "access", "readlink", "exec" */
	char path[256];	    /* as the box asked, cut at 255 bytes */
	char flags[64];	    /* "O_RDONLY", "W_OK", or "" */
	int error;	    /* the errno the box got */
	const char *reason; /* "not granted", "read-only", ... (static) */
};

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
enum {
	ACCESS_READ = 1u << 0,
	ACCESS_WRITE = 1u << 1,
	ACCESS_CREATE = 1u << 2, /* O_CREAT: the file may not have existed */
	ACCESS_EXEC = 1u << 3,
	ACCESS_DIR = 1u << 4,	 /* the path is a directory */
};
enum { CGROUP_AUTO = 0, CGROUP_OFF, CGROUP_REQUIRE };

struct run_result {
	enum run_status status;
	int exit_code;		/* valid when status == EXITED */
	int signal;		/* the terminating signal, 0 if none */
	double wall_time_s;
	double cpu_time_s;
	uint64_t peak_memory_bytes;
	uint64_t output_bytes;
	unsigned layers;	/* enum layer bits */
	uint64_t limits[_LIMIT_MAX]; /* what was in force, 0 = unlimited */
	const char *limit_source[_LIMIT_MAX]; /* "cgroup-v2", "rlimit", ... */
	int landlock_abi;
	/* Set when the program could not be started (127 / 126 cases) or the
	 * box could not be built (setup-error). */
	bool not_found;
	bool not_executable;
	/* A one-line notice for the user (e.g. cwd not exposed); may be "". */
	char notice[512];
	/* The caller's directory, when the run exposed it read-only; else "". */
	char exposed_cwd[4096];
	struct err error;	/* setup-error / io-error / exec failure message */
	/* What showed a memory-limit or procs-limit ("oom-kill", "count",
	 * "rlimit", "pids-max"; static), NULL otherwise. */
	const char *evidence;
	/* The broker's refusals (LAYER_BROKER): the first RUN_MAX_DENIALS,
	 * and how many more there were. */
	struct denial denials[RUN_MAX_DENIALS];
	unsigned n_denials;
	uint64_t denials_dropped;
};

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

/* The exit status the CLI uses for a result (documented in ward(1)). */
int run_exit_code(const struct run_result *r);

/* Fixed exit codes (ward(1) EXIT STATUS). */
enum {
	EXIT_OUTPUT_LIMIT = 116,
	EXIT_FILE_SIZE_LIMIT = 117,
	EXIT_PROCS_LIMIT = 118,
	EXIT_MEMORY_LIMIT = 119,
	EXIT_CPU_LIMIT = 120,
	EXIT_VIOLATION = 121,
	EXIT_USAGE = 122,
	EXIT_IO_ERROR = 123,
	EXIT_TIME_LIMIT = 124,
	EXIT_SETUP = 125,
	EXIT_NOT_EXECUTABLE = 126,
	EXIT_NOT_FOUND = 127,
};

/* "open(\"/etc/passwd\", O_RDONLY): not granted" for a denial record,
 * with control characters, quotes and backslashes of the path escaped
 * (\xNN) so that a box cannot forge lines of the caller's output. */
void denial_format(const struct denial *d, char *buf, size_t len);

/* JSON report (jansson). Writes one object to fd. Returns 0 or -errno. */
int report_write(const struct run_result *r, int fd);
/* The same as a heap string. */
char *report_json(const struct run_result *r);

/* Host feature probe, used by `ward doctor` and by box_run to decide. */
struct features {
	bool userns, mntns, pidns, netns, ipcns, utsns, cgroupns;
	char userns_why[256];
	bool seccomp, seccomp_notify;
	int landlock_abi; /* 0 = unavailable */
	char landlock_why[256];
	int cgroup_version; /* 2, 1 or 0 for none usable */
	char cgroup_why[512];
	char cgroup_path[512];	/* where ward would create its cgroups */
	bool rlimits;
};
int features_probe(struct features *f);
/* Removes the empty run cgroups of controllers that are gone (killed
 * before they could remove them), under the cgroup_path f names; returns
 * how many. Only ward's own `ward/run-*` cgroups, never one whose
 * controller lives (cgroup.c). Every run does this first; so does
 * `ward doctor`. */
int cgroup_remove_stale(const struct features *f);
