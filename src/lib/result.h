/* result.h — how a run ended: its status, the layers it had, the broker's
 * refusals, the report, and the exit status ward(1) gives for it. Shared by
 * the library (which fills a result) and the CLI (which turns it into an
 * exit status); the box's mechanisms never see it. */
#pragma once

#include "policy.h" /* enum limit_id, struct err */

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

/* One call the broker refused (broker/record.c). */
#define RUN_MAX_DENIALS 64
struct denial {
	char call[16];	    /* "open", "stat", "access", "readlink", "exec" */
	char path[256];	    /* as the box asked, cut at 255 bytes */
	char flags[64];	    /* "O_RDONLY", "W_OK", or "" */
	int error;	    /* the errno the box got */
	const char *reason; /* "not granted", "read-only", ... (static) */
};

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
	/* The first of the box's writes to a read-write directory that could
	 * not be applied to the host after the run (disk.c), or "". */
	char disk_error[512];
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
	EXIT_USAGE = 122, /* ward(1): bad option, value or policy file */
	EXIT_IO_ERROR = 123,
	EXIT_TIME_LIMIT = 124,
	EXIT_SETUP = 125, /* nothing was started */
	EXIT_NOT_EXECUTABLE = 126,
	EXIT_NOT_FOUND = 127,
};

/* "open(\"/etc/passwd\", O_RDONLY): not granted" for a denial record,
 * with control characters, quotes and backslashes of the path escaped
 * (\xNN) so that a box cannot forge lines of the caller's output. */
void denial_format(const struct denial *d, char *buf, size_t len);

/* The JSON report (jansson): one object, as a heap string; NULL when out
 * of memory. */
char *report_json(const struct run_result *r);
