/* broker.h — the controller as broker: seccomp user notification for the
 * box's path-taking system calls (docs/ARCHITECTURE.md, "The broker";
 * the code is in src/lib/broker/).
 *
 * Only runs whose policy asks for it (audit, virtual files, ask rules) get a broker;
 * every other run installs nothing and pays nothing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What an access was, for the on_access and ask callbacks. */
enum {
	ACCESS_READ = 1u << 0,
	ACCESS_WRITE = 1u << 1,
	ACCESS_CREATE = 1u << 2, /* O_CREAT: the file may not have existed */
	ACCESS_EXEC = 1u << 3,
	ACCESS_DIR = 1u << 4,	 /* the path is a directory */
};

struct broker;
struct denial;
struct err;
struct mnt_plan;
struct policy;
struct strv;
struct vfile;

/* What the broker is told about the run, built by the caller. Everything
 * it points to is read (and copied) by broker_new, except the callbacks'
 * contexts. */
struct broker_config {
	/* The box's host ids: the broker opens files with them as
	 * fsuid/fsgid, never with the controller's own. */
	uid_t fsuid;
	gid_t fsgid;
	/* The mount plan: the box paths it grants (for the records: a
	 * missing file inside a grant is not worth one). */
	const struct mnt_plan *mounts;
	const struct vfile *files; /* served from sealed memfds */
	size_t n_files;
	const struct strv *exec;   /* the exec list (box paths); empty = any */
	const struct strv *ask;	   /* the ask prefixes */
	/* Called on the broker's thread for every access it allowed
	 * (`--learn`), with the resolved box path and ACCESS_* bits. */
	void (*on_access)(void *ctx, const char *box_path, unsigned how);
	void *access_ctx;
	/* Called on the broker's thread for an access under an ask prefix;
	 * true allows. NULL: every such access is refused. */
	bool (*ask_fn)(void *ctx, const char *box_path, unsigned how, const char *call);
	void *ask_ctx;
};

/* Does a run of policy p need the broker? on_access: the caller wants to
 * hear about every access (broker_config.on_access is set). */
bool broker_needed(const struct policy *p, bool on_access);

/* In the controller, before the box is cloned: the socket the box sends
 * its listener over, the virtual files as sealed memfds, copies of the
 * lists in c. Returns 0 or -errno with a message in e. */
int broker_new(struct broker **ret, const struct broker_config *c, struct err *e);
/* The box's end of the socket (inherited across clone). */
int broker_box_fd(const struct broker *b);

/* In the box (box_exec), after the allowlist and right before execve:
 * stacks the notification filter and sends its listener to the
 * controller over sock, then closes both. Allocates nothing. */
int broker_install(int sock, struct err *e);

/* In the controller, after clone: closes the box's end and starts the
 * broker thread, which answers every notification until the box is gone. */
int broker_start(struct broker *b, struct err *e);
/* Stops the thread (the box is gone by then). */
void broker_stop(struct broker *b);
/* After broker_stop: the calls the broker refused, the first
 * RUN_MAX_DENIALS of them (*ret_n), and how many more there were. */
const struct denial *broker_denials(const struct broker *b, unsigned *ret_n, uint64_t *ret_dropped);
void broker_free(struct broker *b);
