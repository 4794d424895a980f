/* policy.h — the in-memory policy: what the box may see and use.
 *
 * A new policy grants nothing (deny by default). Grants come from built-in
 * profiles, policy files (see ward-policy(5)) and CLI options, all through
 * the same setters, so every source is validated the same way. */
#pragma once

#include "util.h"

enum grant_kind {
	GRANT_RO,    /* bind host path read-only */
	GRANT_RW,    /* bind host path read-write */
	GRANT_TMPFS, /* private tmpfs at box path */
};

struct grant {
	enum grant_kind kind;
	char *host;	/* normalised absolute host path; NULL for tmpfs */
	char *box;	/* normalised absolute path inside the box */
	uint64_t size;	/* tmpfs size in bytes; 0 = the tmp-size limit */
	bool optional;	/* skip silently when host path is missing */
	bool implicit;	/* added by ward (cwd), loses to explicit grants */
};

enum net_mode {
	NET_NONE = 0, /* private netns, loopback down */
	NET_LOOPBACK, /* private netns, loopback up */
};

/* Limit identifiers, in report order. */
enum limit_id {
	LIMIT_MEMORY,
	LIMIT_CPU_TIME,
	LIMIT_WALL_TIME,
	LIMIT_PROCS,
	LIMIT_OUTPUT,
	LIMIT_FILE_SIZE,
	LIMIT_OPEN_FILES,
	LIMIT_TMP_SIZE,
	LIMIT_DISK,
	_LIMIT_MAX,
};

enum limit_type { LIMIT_TYPE_SIZE, LIMIT_TYPE_DURATION, LIMIT_TYPE_COUNT };

struct limit_info {
	const char *name;	/* policy directive and CLI option name */
	enum limit_type type;
	uint64_t def;		/* default when not set; 0 = unlimited */
	uint64_t max;		/* largest accepted value */
	uint64_t min;		/* smallest value with which a box can start */
	const char *why_min;	/* what needs that much, for the message */
};
extern const struct limit_info limit_info[_LIMIT_MAX];
/* Looks a limit up by directive name; -1 if unknown. */
int limit_by_name(const char *name);

/* A virtual file: served by the broker from a sealed memfd, read-only. */
struct vfile {
	char *box;	/* normalised absolute box path */
	char *host;	/* host file copied in at start, or NULL */
	char *text;	/* in-memory content when host is NULL */
	size_t len;
};

struct policy {
	struct grant *grants;
	size_t n_grants, cap_grants;
	struct strv exec;	/* box paths the box may execve; empty = any */
	struct strv exec_from;	/* where each came from ("FILE:LINE", "" if set by a call) */
	struct strv env;	/* "NAME=VALUE" entries, last one wins */
	struct strv env_pass;	/* names of those that are `env NAME`: the caller's value */
	char *cwd;		/* box working directory; NULL = default */
	bool hide_cwd;		/* `cwd off`: never expose the caller's directory */
	char *hostname;		/* NULL = "ward" */
	enum net_mode net;
	uint64_t limits[_LIMIT_MAX]; /* 0 = not set (use default) */
	bool audit;		/* broker: record and print denials */
	struct vfile *files;	/* broker: virtual files, later ones win */
	size_t n_files;
	struct strv ask;	/* broker: box path prefixes decided per access */
	/* A new field is copied by policy_clone (policy.c), which the loaders
	 * parse into. */
};

int policy_new(struct policy **ret);
void policy_free(struct policy *p);

/* Setters. Each validates its arguments and returns 0 or a negative errno
 * with a message in e naming the value and what was expected. */
int policy_add_grant(struct policy *p, enum grant_kind kind, const char *host,
		     const char *box, uint64_t size, bool optional,
		     struct err *e);
int policy_add_exec(struct policy *p, const char *box_path, struct err *e);
/* "NAME=VALUE" sets; "NAME" alone copies the value from the caller's
 * environment (or is ignored if the caller has none). */
int policy_add_env(struct policy *p, const char *spec, struct err *e);
int policy_set_cwd(struct policy *p, const char *box_path, struct err *e);
/* `cwd off` (hide): the caller's working directory is not exposed in the
 * box, whatever the front end asks (run_options.bind_cwd). */
int policy_set_hide_cwd(struct policy *p, bool hide);
int policy_set_hostname(struct policy *p, const char *name, struct err *e);
int policy_set_net(struct policy *p, const char *mode, struct err *e);
int policy_set_audit(struct policy *p, const char *onoff, struct err *e);
/* A virtual file at box path `box` with the content of host file `host`
 * (read when the run starts) or the given text (host NULL). */
int policy_add_file(struct policy *p, const char *box, const char *host,
		    const char *text, struct err *e);
/* An `ask` rule: accesses under box path prefix `box` that the static
 * grants allow are decided by the run's access handler (broker/ask.c). */
int policy_add_ask(struct policy *p, const char *box, struct err *e);
int policy_set_limit(struct policy *p, enum limit_id id, uint64_t value,
		     struct err *e);
/* Parses a limit value in its unit and sets it. */
int policy_set_limit_str(struct policy *p, enum limit_id id,
			 const char *value, struct err *e);

/* Parses policy text. `name` is used in messages ("judge.policy:12: ...").
 * Directives add to p, all or nothing: on error p is exactly as it was
 * before the call (the text is parsed into a copy of p that replaces p
 * only when every line applied). The same holds for the two loaders. */
int policy_parse(struct policy *p, const char *name, const char *text,
		 size_t len, struct err *e);
int policy_load_file(struct policy *p, const char *path, struct err *e);
int policy_load_profile(struct policy *p, const char *profile, struct err *e);

/* Shared by policy.c and the file reader (policy_file.c), not API. A deep
 * copy of p, the scratch policy a loader parses into; making p what the
 * scratch is (and freeing the old p); a limit's out-of-range message for
 * the value as the user wrote it (`shown`). */
int policy_clone(const struct policy *p, struct policy **ret);
void policy_commit(struct policy *p, struct policy *scratch);
int limit_range_error(enum limit_id id, const char *shown, uint64_t value, struct err *e);

/* Effective limit: set value or default. 0 means unlimited. */
uint64_t policy_limit(const struct policy *p, enum limit_id id);

/* Serialises p in the policy file format (used by `ward profiles show`). */
int policy_format(const struct policy *p, char **ret_text);

/* Built-in profiles (the profiles directory, compiled in). */
struct profile {
	const char *name;
	const char *summary; /* first comment line of the file */
	const char *text;
};
extern const struct profile builtin_profiles[];
extern const size_t n_builtin_profiles;
const struct profile *profile_find(const char *name);
/* Picks a profile name from the program's basename ("python3.11" ->
 * "python3", "bash" -> "sh", unknown -> "native"). */
const char *profile_for_program(const char *program);
