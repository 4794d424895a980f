/* broker/internal.h — the broker's own types, shared by its files (not
 * part of any API; the broker's interface is ../broker.h).
 *
 *   broker.c  set-up and tear-down: the socket, the virtual files' memfds
 *   thread.c  the thread: start/stop, the wait for the listener, the loop
 *   filter.c  the box's side: the notification filter, the listener's handover
 *   calls.h   the calls the filter sends, and where their arguments are
 *   calls.c   one notification decoded into a struct req, and dispatched
 *   reply.c   answers: errno, fd, CONTINUE, the box's memory written
 *   path.c    a box path made absolute and resolved in the box's root
 *   ask.c     ask rules, and the /proc links that would lead around them
 *   record.c  the denial records and the allowed accesses (--learn)
 *   exec.c    execve: the exec list as Landlock has it
 *   open.c, stat.c, names.c, sock.c   the other handlers
 */
#pragma once

#include <limits.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sys/stat.h>

#include "box.h"
#include "broker.h"
#include "result.h"

struct file_id {
	dev_t dev;
	ino_t ino;
};

struct vfile_fd {
	char *box;
	int memfd;
};

struct broker {
	int sock[2];	   /* [0] controller's end, [1] the box's */
	int stop[2];	   /* a byte here ends the thread */
	int listener;
	int rootfd;	   /* O_PATH of the box's root, from the first caller */
	pthread_t thread;
	bool started;
	uid_t fsuid;
	gid_t fsgid;
	struct strv granted; /* box paths of the mount plan */
	struct vfile_fd *files;
	size_t n_files;
	void (*on_access)(void *ctx, const char *box_path, unsigned how);
	void *access_ctx;
	struct strv ask;   /* the policy's ask prefixes */
	struct strv exec;  /* the policy's exec list (box paths); empty = any */
	struct file_id *exec_ids; /* what it resolved to (see exec_check) */
	size_t n_exec_ids;
	bool seen_first;   /* the first notification came (the program's execve) */
	bool (*ask_fn)(void *ctx, const char *box_path, unsigned how, const char *call);
	void *ask_ctx;
	/* what broker_denials hands on */
	struct denial denials[RUN_MAX_DENIALS];
	unsigned n_denials;
	uint64_t dropped;
	/* scratch for one request */
	char path[PATH_MAX];
	char path2[PATH_MAX]; /* rename's and link's new name */
	char abs[2 * PATH_MAX];
};

/* One notification, decoded once at the boundary (calls.c): the call and
 * its arguments by name, the paths read from the box's memory. Handlers
 * read these, never the raw notification. */
struct req {
	struct broker *b;
	uint64_t id;	    /* the notification's: every answer names it */
	pid_t pid;	    /* the calling thread, in our pid namespace */
	const char *call;   /* the family name ("open", "stat", ...) */
	bool first;	    /* the run's first notification */
	bool readlink;	    /* readlink: names a link's target, opens nothing */
	bool tree;	    /* rename: moves all below the name (see ask_check) */
	bool own_fd;	    /* link: a /proc link of the caller's is opened, not
			     * left to the kernel (see broker_proc_check) */
	/* the arguments */
	int dirfd;	    /* what path is relative to: AT_FDCWD without one */
	const char *path;   /* read from the box; connect/bind: the socket
			     * file's path, "" for any other address */
	int flags;	    /* open flags (creat's implied), AT_* flags (lstat's
			     * implied), unlinkat's (rmdir's), renameat2's; or 0 */
	uint64_t mode;	    /* open, creat, mkdir: the mode; access: R_OK... */
	int dirfd2;	    /* rename, link: the new name's directory ... */
	const char *path2;  /* ... and the new name */
	uint64_t buf;	    /* stat, statx, readlink: where the answer goes */
	int size;	    /* readlink: the buffer's size (an int, as the kernel reads it) */
	unsigned mask;	    /* statx: the mask */
	/* what handling it found */
	char flagstr[64];   /* the flags as recorded: "O_RDONLY", "W_OK" */
	unsigned how;	    /* ACCESS_* bits of the call, for ask rules */
	const char *reason; /* set when an ask rule refused the call */
	bool is_vfile;
	int vfile;
};

/* A resolution the broker leaves to the kernel (see path.c). */
#define LEAVE_TO_KERNEL (-4096)

/* thread.c */
int broker_recv_listener(struct broker *b);

/* calls.c: answers one notification (on the broker's thread). */
void broker_handle(struct broker *b, const struct seccomp_notif *n);

/* reply.c */
bool broker_id_valid(const struct broker *b, uint64_t id);
long broker_status_field(pid_t pid, const char *key, int base);
int broker_write_box(const struct req *q, uint64_t addr, const void *data, size_t len);
int broker_reply(struct broker *b, uint64_t id, int64_t val, int error, uint32_t flags);
void broker_continue(struct req *q);
void broker_refuse(struct req *q, const char *norm, int error);
void broker_answer(struct req *q, const char *norm, int r);
void broker_pass(struct req *q, const char *norm, int r);
void broker_send_fd(struct req *q, int fd, bool cloexec);

/* path.c */
int broker_open_root(struct broker *b, pid_t pid, uint64_t id);
mode_t broker_box_umask(pid_t pid);
int broker_open_in_box(struct broker *b, const char *path, uint64_t flags, uint64_t mode);
bool broker_fd_box_path(int fd, char *out, size_t cap);
int broker_resolve_parent(struct req *q, int dirfd, const char *path, char *norm, size_t cap,
			  char *last, size_t lastcap);
int broker_resolve(struct req *q, bool empty_ok, uint64_t oflags, uint64_t mode, char *norm,
		   size_t cap);
int broker_may(int fd, int mode);
int broker_may_close(struct req *q, int fd, int mode, unsigned how);

/* ask.c */
int broker_resolve_asked(struct req *q, bool empty_ok, uint64_t flags, char *norm, size_t cap);
int broker_resolve_at(struct req *q, char *norm, size_t cap);
int broker_ask_fd(struct req *q, int fd, const char *norm);
int broker_ask_fd_or_close(struct req *q, int fd, const char *norm);
int broker_ask_at(struct req *q, int pfd, const char *last, const char *norm);
int broker_proc_check(struct req *q, const char *raw, const char *norm);

/* record.c */
void broker_record(struct req *q, const char *norm, int error);
void broker_allowed(struct req *q, int fd, const char *last, unsigned how);
void broker_open_flags_str(int fl, char *buf, size_t len);
void broker_access_mode_str(int mode, char *buf, size_t len);

/* The handlers, one per call family (calls.c dispatches): each answers
 * the notification q was decoded from. */
typedef void broker_handler(struct req *q);
broker_handler broker_on_open, broker_on_stat, broker_on_statx, broker_on_access,
	broker_on_readlink, broker_on_exec, broker_on_mkdir, broker_on_unlink, broker_on_rename,
	broker_on_link, broker_on_connect, broker_on_bind;
