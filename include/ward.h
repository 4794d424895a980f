/* ward.h — libward, run untrusted programs in a box from your own process.
 *
 *   ward_policy *p;
 *   ward_policy_new(&p);                       // grants nothing
 *   ward_policy_load_profile(p, "python3");    // what python3 needs
 *   ward_policy_set_limit(p, WARD_LIMIT_MEMORY, 256 << 20);
 *   ward_policy_add_function(p, "get_post", get_post, db);
 *   ward_result *r;
 *   ward_run(p, (char *[]){"python3", "-c", "import ward; print(ward.fn.get_post(3))", NULL},
 *            NULL, &r);
 *   ward_result_status(r), ward_result_stdout(r, &len), ...
 *   ward_result_free(r);
 *   ward_policy_free(p);
 *
 * Conventions (libward(3)):
 * - Every handle is opaque. A new policy allows nothing (deny by default).
 * - Functions returning int return 0 (or a documented non-negative value)
 *   on success and a negative errno on failure: -EINVAL for an invalid
 *   argument, -ENOMEM when memory ran out, others as documented. Output
 *   parameters are named ret_* and written only on success.
 * - A failing policy call leaves a message naming the value and the reason
 *   in ward_policy_error(p).
 * - ward_*_free(NULL) does nothing; ward_*_freep() are the same for
 *   __attribute__((cleanup)), spelled _ward_cleanup_(ward_policy_freep).
 * - Callbacks take the caller's userdata as their LAST argument, after
 *   what the callback is about (as sd-event, curl and GLib do).
 * - struct ward_options carries its size in its first field, set by
 *   WARD_OPTIONS_INIT or ward_options_init(): a program built against an
 *   older, smaller struct keeps working with a newer library, and one
 *   built against a newer struct gets -E2BIG from an older library when it
 *   sets a field that library does not know (as clone3(2) and openat2(2)
 *   treat their structs). Always start from WARD_OPTIONS_INIT.
 * - The library never prints and never exits. Distinct handles may be used
 *   from distinct threads at the same time; there is no global state.
 *
 * Link with `pkg-config --cflags --libs ward`. */
#ifndef WARD_H
#define WARD_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WARD_API __attribute__((visibility("default")))

typedef struct ward_policy ward_policy;
typedef struct ward_result ward_result;
typedef struct ward_box ward_box;
typedef struct ward_call ward_call;

/* ---- policies ------------------------------------------------------ */

WARD_API int ward_policy_new(ward_policy **ret_policy);
WARD_API void ward_policy_free(ward_policy *p);
/* The message of the last failed call on p ("" if none). Valid until the
 * next call on p. */
WARD_API const char *ward_policy_error(const ward_policy *p);

/* A policy file (ward-policy(5)) or a built-in profile ("python3", "lua",
 * "node", "ruby", "perl", "sh", "native"), added to p all or nothing: on
 * any error (-ENOENT, -EINVAL for a malformed file, -ENOMEM, ...) p is
 * exactly as it was before the call. */
WARD_API int ward_policy_load_file(ward_policy *p, const char *path);
WARD_API int ward_policy_load_profile(ward_policy *p, const char *name);
/* Policy text (ward-policy(5)) of len bytes, all or nothing as above;
 * messages name it as name ("policy:3: ..."). */
WARD_API int ward_policy_load_text(ward_policy *p, const char *name, const char *text,
				   size_t len);

/* Grants. box_path NULL means the same path as host_path. Paths are
 * absolute. */
WARD_API int ward_policy_grant_ro(ward_policy *p, const char *host_path, const char *box_path);
WARD_API int ward_policy_grant_rw(ward_policy *p, const char *host_path, const char *box_path);
/* A private tmpfs at box_path; size 0 = the tmp-size limit. */
WARD_API int ward_policy_grant_tmpfs(ward_policy *p, const char *box_path, uint64_t size);
/* Restricts execution to the listed box paths (plus the program itself). */
WARD_API int ward_policy_allow_exec(ward_policy *p, const char *box_path);
/* "NAME=VALUE"; the last setting of a name wins. */
WARD_API int ward_policy_set_env(ward_policy *p, const char *name_value);
WARD_API int ward_policy_set_cwd(ward_policy *p, const char *box_path);
/* false: the caller's working directory is never exposed in the box, even
 * when the run's ward_options.expose_cwd asks for it (a policy file's
 * `cwd off`); true (the default): expose_cwd decides. The working
 * directory is then ward_policy_set_cwd's, else the caller's where a grant
 * shows it, else /. The getter says which. */
WARD_API int ward_policy_set_expose_cwd(ward_policy *p, bool expose);
WARD_API bool ward_policy_get_expose_cwd(const ward_policy *p);
WARD_API int ward_policy_set_hostname(ward_policy *p, const char *name);

enum ward_net {
	WARD_NET_NONE = 0,	/* no network at all (the default) */
	WARD_NET_LOOPBACK = 1,	/* a private loopback interface */
};
WARD_API int ward_policy_set_net(ward_policy *p, enum ward_net mode);

/* Limits, in bytes, milliseconds or a count. Values are checked against
 * the same ranges as the policy file; -ERANGE outside them. */
enum ward_limit {
	WARD_LIMIT_MEMORY = 0,	   /* bytes */
	WARD_LIMIT_CPU_TIME = 1,   /* ms */
	WARD_LIMIT_WALL_TIME = 2,  /* ms */
	WARD_LIMIT_PROCS = 3,	   /* count */
	WARD_LIMIT_OUTPUT = 4,	   /* bytes, stdout + stderr */
	WARD_LIMIT_FILE_SIZE = 5,  /* bytes */
	WARD_LIMIT_OPEN_FILES = 6, /* count */
	WARD_LIMIT_TMP_SIZE = 7,   /* bytes */
	WARD_LIMIT_DISK = 8,	   /* bytes a box may write into each read-write directory grant */
};
WARD_API int ward_policy_set_limit(ward_policy *p, enum ward_limit limit, uint64_t value);

/* ---- host functions -------------------------------------------------- */

/* A host function. args is the call's argument array (borrowed). Return 0
 * and set *ret_result to a new reference (NULL means JSON null), or fail
 * the call by returning ward_call_fail(call, ...) (or any negative errno).
 * Runs on the thread that serves the box (ward_run, ward_box_process,
 * ward_box_wait); while it runs, the box's output is not read. */
typedef int (*ward_function)(ward_call *call, json_t *args, json_t **ret_result,
			     void *userdata);

/* Registers fn under name ([A-Za-z_][A-Za-z0-9_]*, at most 64 bytes).
 * Only registered names exist for the box. -EEXIST for a name taken. */
WARD_API int ward_policy_add_function(ward_policy *p, const char *name, ward_function fn,
				      void *userdata);

/* Fails the call with a message for the box (printf format). Returns
 * -ECANCELED, for `return ward_call_fail(call, "no post %d", id);`. */
WARD_API int ward_call_fail(ward_call *call, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The name the box called. */
WARD_API const char *ward_call_function(const ward_call *call);

enum ward_channel_limit {
	WARD_CHANNEL_MAX_MESSAGE = 0,	/* bytes per message (default 1 MiB) */
	WARD_CHANNEL_MAX_CALLS = 1,	/* calls per run (default 1000000) */
	WARD_CHANNEL_CALL_TIMEOUT = 2,	/* ms a callback may take (default 10000) */
};
WARD_API int ward_policy_set_channel_limit(ward_policy *p, enum ward_channel_limit limit,
					   uint64_t value);
/* Where the client shims are on the host (default: the installed ones). */
WARD_API int ward_policy_set_client_dir(ward_policy *p, const char *host_dir);

/* ---- ask rules: the application decides file accesses ------------------- */

/* An ask rule (the policy file's `ask BOX-PREFIX`): every access the box
 * makes under box_prefix that the grants allow is put to the access
 * handler first. Makes the run brokered (seccomp user notification). */
WARD_API int ward_policy_add_ask(ward_policy *p, const char *box_prefix);

/* What the box asked for (bits of `access`). */
enum {
	WARD_ACCESS_READ = 1u << 0,
	WARD_ACCESS_WRITE = 1u << 1,
	WARD_ACCESS_CREATE = 1u << 2, /* create or remove a name */
	WARD_ACCESS_EXEC = 1u << 3,
	WARD_ACCESS_DIR = 1u << 4,    /* the path is a directory */
};

/* Decides one access under an ask rule: box_path is the absolute path the
 * access resolved to in the box (symlinks followed), call the family of
 * the system call ("open", "stat", "access", "readlink", "exec", "mkdir",
 * "unlink", "rename", "connect", "bind"). Return true to allow; false
 * refuses it (the box gets EACCES and the result lists a denial "denied
 * by the application").
 *
 * Runs on the broker's thread, not the thread that called ward_run or
 * ward_box_process: it must be safe against the application's own
 * threads. It is never called concurrently with itself for one run, and
 * only while the run goes on. The box's call waits for the answer (every
 * brokered call of the box does), the output and the limits do not: a
 * slow handler slows the box, it does not stall ward. Called for each
 * access, without caching. */
typedef bool (*ward_access_handler)(const char *box_path, unsigned access, const char *call,
				    void *userdata);

/* Observes one file access the broker allowed (ward_options.on_access):
 * the box path and its WARD_ACCESS_* bits. Runs on the broker's thread,
 * never concurrently with itself for one run. */
typedef void (*ward_access_observer)(const char *box_path, unsigned access, void *userdata);

/* Sets (or with fn NULL, clears) the handler. Without one, every access
 * under an ask rule is refused (reason "no application to ask"). */
WARD_API int ward_policy_set_access_handler(ward_policy *p, ward_access_handler fn,
					    void *userdata);

/* ---- running ---------------------------------------------------------- */

/* How a run's limits are enforced: with a cgroup of its own when one can
 * be made, else rlimits (AUTO); rlimits only (OFF); or fail with a setup
 * error unless a cgroup can be made (REQUIRE). */
enum ward_cgroup {
	WARD_CGROUP_AUTO = 0,
	WARD_CGROUP_OFF = 1,
	WARD_CGROUP_REQUIRE = 2,
};

/* A file for the box (ward_options.files). */
struct ward_file {
	const char *path; /* box path: absolute, or relative to the working directory */
	const void *data;
	size_t len;
	unsigned mode; /* permission bits, e.g. 0644 (no umask is applied) */
};

/* How to run: start from WARD_OPTIONS_INIT (or ward_options_init()),
 * which sets size, then set fields by name. Pass NULL for all defaults.
 *
 * size is sizeof(struct ward_options) as the caller was built: the
 * library reads only that much, takes any field beyond it as zero (every
 * field added later has zero as its default), and refuses (-E2BIG) a
 * struct larger than it knows with a non-zero byte past its own fields.
 * A size smaller than the first version's, such as 0 from a struct not
 * made by WARD_OPTIONS_INIT, is -EINVAL.
 *
 * What to connect the box's stdio to: an fd >= 0 is used as is (not
 * closed); -1 means: stdin from stdin_data (empty when NULL), stdout and
 * stderr captured into the result, each up to capture_max bytes (0 = 1
 * MiB; the rest is counted and dropped). */
struct ward_options {
	size_t size; /* sizeof(struct ward_options), by WARD_OPTIONS_INIT */
	int stdin_fd;
	const void *stdin_data;
	size_t stdin_len;
	int stdout_fd;
	int stderr_fd;
	size_t capture_max;
	/* For front ends such as ward(1); zero is the default of each. */
	enum ward_cgroup cgroup; /* how limits are enforced (below) */
	bool expose_cwd;	 /* the caller's working directory, read-only at the same path */
	/* When set and *cancel becomes non-zero (from a signal handler, which
	 * also interrupts the wait), ward_run kills the box: status SIGNALED,
	 * notice "the run was cancelled". */
	const volatile sig_atomic_t *cancel;
	/* The caller exits right after the run: do not wait for the box's
	 * namespaces to be torn down (ignored when a cgroup is used). */
	bool exit_after;
	/* When set, the run is brokered and on_access(box_path, access,
	 * access_userdata) is called for every file access it allowed. */
	ward_access_observer on_access;
	void *access_userdata;
	/* Since 0.3 (libward.so.1 of version 0.3.0): the run's own variables
	 * (NAME=VALUE, NULL-terminated; a name the policy also sets is the
	 * run's) and files, which the box's program process writes before the
	 * program starts: only onto the box's own tmpfs mounts (a box path
	 * absolute or relative to the box's working directory; no "." or ".."
	 * components; new files only; directories made as needed). The data is
	 * copied: it need not outlive the call. */
	char *const *env;
	const struct ward_file *files;
	size_t n_files;
};
#define WARD_OPTIONS_INIT                                                                  \
	{.size = sizeof(struct ward_options), .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1}
/* The size of the first version of struct ward_options (this one): the
 * smallest size the library accepts. */
#define WARD_OPTIONS_SIZE_VER0                                                              \
	(offsetof(struct ward_options, access_userdata) + sizeof(void *))

/* The same as `*o = (struct ward_options)WARD_OPTIONS_INIT`. */
static inline void ward_options_init(struct ward_options *o)
{
	const struct ward_options init = WARD_OPTIONS_INIT;
	*o = init;
}

/* Runs argv (argv[0] is looked up on the box's PATH) in a box built from
 * p and waits for it. Returns 0 with a result whatever the program did
 * (see ward_result_status: a box that could not be built is a result with
 * status WARD_STATUS_SETUP_ERROR), -EINVAL, -ENOMEM. */
WARD_API int ward_run(const ward_policy *p, char *const argv[], const struct ward_options *opts,
		      ward_result **ret_result);

/* The same without waiting, for an event loop. p must outlive the box
 * (host functions are called through it). ward_box_fd is an fd that
 * becomes readable when the box needs ward_box_process; ward_box_process
 * does what is ready without blocking and returns 1 once the run is over,
 * 0 while it goes on. ward_box_wait serves the box until the end (blocks)
 * and hands over the result; ward_box_kill ends the run (status
 * "signaled"). ward_box_free kills a box still running and waits for it. */
WARD_API int ward_spawn(const ward_policy *p, char *const argv[], const struct ward_options *opts,
			ward_box **ret_box);
WARD_API int ward_box_fd(const ward_box *b);
WARD_API int ward_box_process(ward_box *b);
WARD_API int ward_box_wait(ward_box *b, ward_result **ret_result);
WARD_API int ward_box_kill(ward_box *b);
WARD_API void ward_box_free(ward_box *b);

/* Warm boxes. A pool keeps `boxes` boxes of one policy ready ahead of time:
 * namespaces, mounts, limits, cgroup and capabilities done, the program's
 * process waiting for its request just before Landlock, seccomp and
 * execve. A request (ward_pool_run, ward_pool_spawn) takes one box, hands it
 * its argv, ward_options.env, .files and stdio, and gets the same result
 * as ward_run; the box serves exactly that one request and is destroyed
 * after it, while a thread of the pool makes its replacement. When no box
 * is ready, the request makes its own, as ward_run would.
 *
 * With a zygote (ward_pool_options.zygote, e.g. "python3"), each box is
 * forked from an interpreter that was started outside any box with the
 * modules of `preload` already imported; the request's process is
 * confined like any box's (its own namespaces, cgroup or limits, Landlock,
 * seccomp) before it runs a byte of the request. A request whose argv[0]
 * is the zygote's interpreter (name or path) runs in the forked
 * interpreter (`python3 FILE ARGS`, `python3 -c CODE ARGS`, `python3 -`
 * reading stdin); any other program is executed as in a plain pool.
 * python's at-fork handlers run in every request (the random module is
 * seeded afresh, as is numpy's global generator); what every request of one
 * zygote shares (the address-space layout, the string hash seed, state a
 * preloaded module made at import) is in libward(3) and SECURITY.md. The
 * zygote runs a trusted system python3 (root-owned, on /usr/local/bin,
 * /usr/bin or /bin, not under a read-write grant) with a fixed environment.
 *
 * A pool's read-write grants are shared by all its requests (the
 * operator's choice); request files always go to the box's own tmpfs.
 * ward_options of a request may set only the
 * stdio fields, capture_max, cancel, env and files (others: -EINVAL). A
 * pool is safe to use from several threads; the policy must outlive it;
 * every box spawned from a pool must be freed before the pool. */
typedef struct ward_pool ward_pool;
struct ward_pool_options {
	size_t size;	/* sizeof(struct ward_pool_options), by WARD_POOL_OPTIONS_INIT */
	unsigned boxes; /* how many to keep ready: 1 to 64 (0 = 2) */
	enum ward_cgroup cgroup;
	const char *zygote;	    /* NULL = none, or "python3" */
	const char *const *preload; /* the zygote's modules to import, NULL-terminated */
};
#define WARD_POOL_OPTIONS_INIT {.size = sizeof(struct ward_pool_options), .boxes = 2}

/* Makes the pool; its thread starts making the boxes at once. -EINVAL
 * (why: for a policy, ward_policy_error), -ENOMEM, -E2BIG (as
 * ward_options' size), or a zygote's start-up error (-ENOENT: no such
 * interpreter). */
WARD_API int ward_pool_new(const ward_policy *p, const struct ward_pool_options *opts,
			   ward_pool **ret_pool);
/* Waits until all its boxes are ready (so, with a request of the pool's
 * running and a box still ready, until that request is complete: the
 * pool does not build beside a running request): 0, or -EIO when the
 * policy cannot make a box here (why: ward_pool_error). */
WARD_API int ward_pool_wait(ward_pool *pool);
/* Why the pool last failed to make a box ("" if it never did). */
WARD_API const char *ward_pool_error(const ward_pool *pool);
/* How many boxes are ready now. */
WARD_API unsigned ward_pool_ready(const ward_pool *pool);
/* How many requests the pool served from a ready box, and how many made
 * their own because none was ready. */
WARD_API void ward_pool_stats(const ward_pool *pool, uint64_t *ret_warm, uint64_t *ret_cold);
WARD_API int ward_pool_spawn(ward_pool *pool, char *const argv[], const struct ward_options *opts,
			     ward_box **ret_box);
WARD_API int ward_pool_run(ward_pool *pool, char *const argv[], const struct ward_options *opts,
			   ward_result **ret_result);
/* Destroys the ready boxes and stops the pool's thread and zygote. */
WARD_API void ward_pool_free(ward_pool *pool);

/* ---- results ---------------------------------------------------------- */

enum ward_status {
	WARD_STATUS_EXITED = 0,
	WARD_STATUS_SIGNALED,
	WARD_STATUS_TIME_LIMIT,
	WARD_STATUS_CPU_LIMIT,
	WARD_STATUS_MEMORY_LIMIT,
	WARD_STATUS_OUTPUT_LIMIT,
	WARD_STATUS_PROCS_LIMIT,
	WARD_STATUS_FILE_SIZE_LIMIT,
	WARD_STATUS_SETUP_ERROR,
	WARD_STATUS_VIOLATION,	/* broke the host-function channel's rules */
	WARD_STATUS_IO_ERROR,	/* the box's output could not be delivered to the
				 * caller's fd, or the caller's stdin not read */
};
/* "exited", "time-limit", ... (the report's names); NULL if unknown. */
WARD_API const char *ward_status_name(enum ward_status s);

WARD_API void ward_result_free(ward_result *r);
WARD_API enum ward_status ward_result_status(const ward_result *r);
/* The exit code when the status is EXITED, else -1. */
WARD_API int ward_result_exit_code(const ward_result *r);
/* The terminating signal, 0 if none. */
WARD_API int ward_result_signal(const ward_result *r);
WARD_API double ward_result_wall_time(const ward_result *r); /* seconds */
WARD_API double ward_result_cpu_time(const ward_result *r);  /* seconds */
WARD_API uint64_t ward_result_peak_memory(const ward_result *r);
WARD_API uint64_t ward_result_output_bytes(const ward_result *r);
/* Captured output (NUL-terminated, *ret_len without the NUL); "" when the
 * stream went to an fd. */
WARD_API const char *ward_result_stdout(const ward_result *r, size_t *ret_len);
WARD_API const char *ward_result_stderr(const ward_result *r, size_t *ret_len);
/* Why the box could not be built, what the violation was, or which
 * stream failed and why for an io-error; "" if none. */
WARD_API const char *ward_result_message(const ward_result *r);
/* The run report (the JSON object `ward run --report` writes), a heap
 * string the caller frees; NULL when out of memory. */
WARD_API char *ward_result_report(const ward_result *r);

/* ---- for front ends (ward(1)) ------------------------------------------
 * What a command-line front end needs beyond the calls above. */

/* A limit from text in its unit, as the policy file writes it ("256M",
 * "5s", "500ms", "64"). -EINVAL for text that is no such value, -ERANGE
 * outside the limit's range; the message says which. */
WARD_API int ward_policy_set_limit_string(ward_policy *p, enum ward_limit limit,
					  const char *value);
/* A read-only virtual file at box_path, served by the broker (the run is
 * then brokered): the content of host file host_path, read when the run
 * starts, or text. A later file at the same path wins. */
WARD_API int ward_policy_add_file(ward_policy *p, const char *box_path, const char *host_path);
WARD_API int ward_policy_add_file_text(ward_policy *p, const char *box_path, const char *text);
/* Brokers the box's file calls and records the ones refused
 * (ward_result_denial). */
WARD_API int ward_policy_set_audit(ward_policy *p, bool on);
/* Whether p audits (set above or by a policy file's "audit on"). */
WARD_API bool ward_policy_get_audit(const ward_policy *p);
/* How many `ask` prefixes p has (ward_policy_add_ask, or a policy file's
 * "ask" lines): a front end without an access handler shows the refusals
 * they cause. */
WARD_API size_t ward_policy_ask_count(const ward_policy *p);

/* A policy's grants, listed and added in full (what `ward run --learn`
 * narrows), and the policy written as a policy file. */
enum ward_grant_kind {
	WARD_GRANT_RO = 0,
	WARD_GRANT_RW = 1,
	WARD_GRANT_TMPFS = 2,
};
struct ward_grant {
	enum ward_grant_kind kind;
	const char *host; /* absolute host path; NULL for a tmpfs */
	const char *box;  /* absolute box path (adding: NULL = host) */
	uint64_t size;	  /* tmpfs size in bytes, 0 = the tmp-size limit */
	bool optional;	  /* skipped when the host path is missing */
};
WARD_API size_t ward_policy_grant_count(const ward_policy *p);
/* The i-th grant, in the order added (a grant of a box path already
 * granted replaces that one in place). The strings belong to p and stay
 * valid until p is changed. -EINVAL past the last. */
WARD_API int ward_policy_get_grant(const ward_policy *p, size_t i, struct ward_grant *ret_grant);
/* The same checks as ward_policy_grant_ro/_rw/_tmpfs; optional grants
 * are added only here. */
WARD_API int ward_policy_add_grant(ward_policy *p, const struct ward_grant *grant);
/* p as a policy file (ward-policy(5)), a heap string the caller frees.
 * Host functions and channel limits are not part of it. */
WARD_API int ward_policy_format(const ward_policy *p, char **ret_text);

/* A limit's name ("memory": the policy directive); NULL if unknown. */
WARD_API const char *ward_limit_name(enum ward_limit limit);
/* Its default, in its unit (0 = unlimited, also for an unknown limit). */
WARD_API uint64_t ward_limit_default(enum ward_limit limit);
/* value written in the limit's unit ("256M", "10s", "64") into buf.
 * -EINVAL, -ENOBUFS when buf is too small. */
WARD_API int ward_limit_format(enum ward_limit limit, uint64_t value, char *buf, size_t len);

/* The built-in profiles: the i-th name (NULL past the last one); a
 * profile's one-line summary and its text as a policy file (NULL for an
 * unknown name); the profile for a program ("python3.11" -> "python3",
 * "bash" -> "sh", unknown -> "native"; a path counts by its last part). */
WARD_API const char *ward_profile_name(size_t i);
WARD_API const char *ward_profile_summary(const char *name);
WARD_API const char *ward_profile_text(const char *name);
WARD_API const char *ward_profile_for_program(const char *program);

/* The exit status ward(1) gives for the result: the exit code, 128 + the
 * signal, 116-121 and 124 for a limit or a violation, 123 for an io-error,
 * 125 for a setup
 * error, 126 when the program is not executable, 127 when it was not
 * found (ward(1), EXIT STATUS). */
WARD_API int ward_result_exit_status(const ward_result *r);
/* A one-line notice for the user ("" if none), e.g. that the working
 * directory was not exposed or that the run was cancelled. */
WARD_API const char *ward_result_notice(const ward_result *r);
/* What a memory-limit or procs-limit outcome rests on ("oom-kill",
 * "count", "pids-max", "rlimit"; ward(1), LIMITS), NULL for any other
 * outcome. "rlimit" is the weak one: the program failed at the limit. */
WARD_API const char *ward_result_evidence(const ward_result *r);
/* The caller's working directory as the run exposed it (read-only, at the
 * same path: ward_options.expose_cwd), or NULL when it was not exposed. */
WARD_API const char *ward_result_exposed_cwd(const ward_result *r);
/* The limit that was in force (0 = unlimited or unknown). */
WARD_API uint64_t ward_result_limit(const ward_result *r, enum ward_limit limit);
/* The broker's refusals (any brokered run: audited, with virtual files or
 * with on_access): how many were recorded, the i-th
 * as one line (open("/etc/shadow", O_RDONLY): not granted; the path
 * escaped so that a box cannot forge lines) into buf (-EINVAL past the
 * last), and how many more there were. */
WARD_API size_t ward_result_denial_count(const ward_result *r);
WARD_API int ward_result_denial(const ward_result *r, size_t i, char *buf, size_t len);
WARD_API uint64_t ward_result_denials_dropped(const ward_result *r);

/* ---- features ----------------------------------------------------------- */

struct ward_features {
	bool user_namespaces;	/* every namespace a box needs */
	bool seccomp;
	bool seccomp_notify;
	int landlock_abi;	/* 0 = none (ward refuses to run) */
	int cgroup_version;	/* 2, 1, or 0 (rlimits only) */
};
WARD_API int ward_features(struct ward_features *ret_features);

/* ---- cleanup helpers ----------------------------------------------------
 * For variables freed when they go out of scope (gcc, clang):
 *
 *   _ward_cleanup_(ward_policy_freep) ward_policy *p = NULL;
 *
 * Each frees what its argument points to (NULL does nothing). */
#define _ward_cleanup_(f) __attribute__((cleanup(f)))

static inline void ward_policy_freep(ward_policy **p)
{
	ward_policy_free(*p);
}

static inline void ward_result_freep(ward_result **r)
{
	ward_result_free(*r);
}

static inline void ward_pool_freep(ward_pool **p)
{
	ward_pool_free(*p);
}
static inline void ward_box_freep(ward_box **b)
{
	ward_box_free(*b);
}

/* For the heap strings ward_result_report and ward_policy_format return. */
static inline void ward_freep(char **s)
{
	free(*s);
}

#ifdef __cplusplus
}
#endif
#endif
