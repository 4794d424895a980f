/* broker.c — the controller as broker (seccomp user notification).
 *
 * When the policy asks for it (audit, virtual files, ask rules), the program's
 * process stacks a second seccomp filter over the precompiled allowlist
 * (which stays as it is): the path-taking calls below go to the
 * controller (SECCOMP_RET_USER_NOTIF) instead of the kernel. The filter
 * is made with SECCOMP_FILTER_FLAG_NEW_LISTENER in box_exec; its listener
 * travels to the controller over a socketpair (SCM_RIGHTS) before execve,
 * so the box never holds it while untrusted code runs.
 *
 * A thread of the controller answers each notification:
 *   1. reads the path from the box's memory once (process_vm_readv), then
 *      checks SECCOMP_IOCTL_NOTIF_ID_VALID: the pid still is the caller;
 *   2. makes it absolute in the box (a relative path is joined to the
 *      caller's cwd or dirfd as /proc/PID/{cwd,fd/N} names them in the
 *      box), and resolves it itself in the box's root with openat2
 *      (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): the same mount tree the
 *      box sees, so every grant, bind and read-only flag applies, and a
 *      symlink the box planted cannot lead the controller out of it
 *      (CVE-2024-28185: a privileged supervisor following a box symlink).
 *      It opens with the box's host uid/gid as fsuid/fsgid, never with the
 *      controller's own (root would pass every permission check);
 *   3. answers with the fd it opened (SECCOMP_IOCTL_NOTIF_ADDFD with
 *      SECCOMP_ADDFD_FLAG_SEND), with a result it wrote into the box's
 *      memory (stat, readlink), or with an errno.
 * It never answers an open or a stat with SECCOMP_USER_NOTIF_FLAG_CONTINUE:
 * the kernel would read the path again from memory the box can change
 * between our check and its use (TOCTOU). The one exception is execve:
 * there is no way to exec on the box's behalf, so the broker audits it
 * (and refuses what it can tell will fail, an exec outside the exec list
 * included: see exec_check) and then lets the kernel decide with the
 * static layers (mount namespace, Landlock, permissions)
 * — the broker never widens what they allow.
 *
 * /proc is the exception: see LEAVE_TO_KERNEL.
 *
 * Stat-like calls are answered by fstat()ing the O_PATH fd the broker
 * resolved and writing the struct into the caller's buffer through
 * /proc/PID/mem, opened before the notification is checked (write_box);
 * readlink the same way; access by faccessat2 on that
 * fd with the box's fsuid. openat2 is answered ENOSYS (its RESOLVE_*
 * flags are relative to the box's dirfd): libcs and runtimes fall back to
 * openat.
 *
 * mkdir, rmdir/unlink and rename are done by the broker itself on the
 * parent directories it resolved (mkdirat/unlinkat/renameat2 on those
 * fds), refusing to touch a mount point (see check_not_mountpoint).
 * An O_PATH open is checked, then left to the kernel (see handle_open).
 *
 * connect/bind on unix sockets with a path: see handle_sock.
 *
 * link/linkat: done by the broker too (see handle_link): a hard link is a
 * second name for a file, and the box must not make one outside an ask
 * prefix for a file inside it without asking.
 *
 * Not mediated yet: the other path-taking calls (chdir, truncate, chmod,
 * symlink, xattrs, ...). A symlink grants nothing by itself: what opens
 * through it is resolved (and asked about) by the broker.
 * The static layers alone govern them. */
#include "broker.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <sys/uio.h>

#include "box.h"

/* memfd_create flag (Linux 6.3; Debian 12's headers predate it): the
 * memfd is not executable and cannot be made so (F_SEAL_EXEC). */
#define WARD_MFD_NOEXEC_SEAL 0x0008U

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/* Caps: the biggest virtual file, how many the policy may hold. */
#define MAX_VFILE_SIZE (64u << 20)

enum op {
	OP_OPEN, OP_OPEN2, OP_STAT, OP_STATX, OP_ACCESS, OP_READLINK, OP_EXEC,
	OP_MKDIR, OP_UNLINK, OP_RENAME, OP_LINK, OP_CONNECT, OP_BIND,
};

/* The calls the filter sends to the broker, and where their arguments
 * are. dir < 0: relative to the cwd. */
static const struct call {
	int nr;
	const char *name; /* the family name used in denial records */
	enum op op;
	signed char dir, path, flags; /* argument indices, -1 = none */
} calls[] = {
	{__NR_open, "open", OP_OPEN, -1, 0, 1},
	{__NR_creat, "open", OP_OPEN, -1, 0, -1},
	{__NR_openat, "open", OP_OPEN, 0, 1, 2},
	{__NR_openat2, "open", OP_OPEN2, 0, 1, -1},
	{__NR_stat, "stat", OP_STAT, -1, 0, -1},
	{__NR_lstat, "stat", OP_STAT, -1, 0, -1},
	{__NR_newfstatat, "stat", OP_STAT, 0, 1, 3},
	{__NR_statx, "stat", OP_STATX, 0, 1, 2},
	{__NR_access, "access", OP_ACCESS, -1, 0, -1},
	{__NR_faccessat, "access", OP_ACCESS, 0, 1, -1},
	{__NR_faccessat2, "access", OP_ACCESS, 0, 1, 3},
	{__NR_readlink, "readlink", OP_READLINK, -1, 0, -1},
	{__NR_readlinkat, "readlink", OP_READLINK, 0, 1, -1},
	{__NR_execve, "exec", OP_EXEC, -1, 0, -1},
	{__NR_execveat, "exec", OP_EXEC, 0, 1, 4},
	{__NR_mkdir, "mkdir", OP_MKDIR, -1, 0, -1},
	{__NR_mkdirat, "mkdir", OP_MKDIR, 0, 1, -1},
	{__NR_rmdir, "unlink", OP_UNLINK, -1, 0, -1},
	{__NR_unlink, "unlink", OP_UNLINK, -1, 0, -1},
	{__NR_unlinkat, "unlink", OP_UNLINK, 0, 1, 2},
	/* rename: the second path is the next argument (after its dirfd) */
	{__NR_rename, "rename", OP_RENAME, -1, 0, -1},
	{__NR_renameat, "rename", OP_RENAME, 0, 1, -1},
	{__NR_renameat2, "rename", OP_RENAME, 0, 1, 4},
	/* link: the new name as for rename; linkat's flags are argument 4 */
	{__NR_link, "link", OP_LINK, -1, 0, -1},
	{__NR_linkat, "link", OP_LINK, 0, 1, 4},
	/* the path is in the sockaddr (argument 1), not a string */
	{__NR_connect, "connect", OP_CONNECT, -1, 1, -1},
	{__NR_bind, "bind", OP_BIND, -1, 1, -1},
};

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
	/* what goes to the run result */
	struct denial denials[RUN_MAX_DENIALS];
	unsigned n_denials;
	uint64_t dropped;
	/* scratch for one request */
	char path[PATH_MAX];
	char path2[PATH_MAX]; /* rename's and link's new name */
	char abs[2 * PATH_MAX];
};

bool broker_needed(const struct policy *p, const struct run_options *o)
{
	return p->audit || p->n_files || p->ask.n || o->on_access;
}

int broker_box_fd(const struct broker *b)
{
	return b->sock[1];
}

/* ---- the box's side ------------------------------------------------ */

int broker_install(int sock, struct err *e)
{
	/* open* ... → USER_NOTIF, except newfstatat/statx with AT_EMPTY_PATH:
	 * that is fstat() (glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH),
	 * a third of a python start's stat calls), which names no path. A box
	 * passing a path with that flag stats it unaudited, within the static
	 * layers: an audit gap, not a boundary. BPF jumps only forward, hence
	 * the layout:
	 *   0 ld arch; 1 jeq x86_64; 2 ret allow; 3 ld nr;
	 *   4 jeq newfstatat → F; 5 jeq statx → S; 6.. jeq call → notify;
	 *   A ret allow; F: ld args[3]; jset AT_EMPTY_PATH → allow2 : notify;
	 *   S: ld args[2]; jset AT_EMPTY_PATH → allow2 : notify;
	 *   notify: ret user_notif; allow2: ret allow */
	struct sock_filter insns[4 + 2 + ELEMENTSOF(calls) + 7];
	size_t n = 0, nc = ELEMENTSOF(calls);
	size_t a = 4 + 2 + (nc - 2); /* index of the first ret allow */
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						  offsetof(struct seccomp_data, arch));
	/* Foreign ABIs are the allowlist's business (it kills them). */
	insns[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						  offsetof(struct seccomp_data, nr));
	insns[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_newfstatat,
						(uint8_t)(a + 1 - (n + 1)), 0);
	n++;
	insns[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_statx,
						(uint8_t)(a + 3 - (n + 1)), 0);
	n++;
	for (size_t i = 0; i < nc; i++) {
		if (calls[i].nr == __NR_newfstatat || calls[i].nr == __NR_statx)
			continue;
		insns[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)calls[i].nr,
							(uint8_t)(a + 5 - (n + 1)), 0);
		n++;
	}
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						  offsetof(struct seccomp_data, args[3]));
	insns[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, AT_EMPTY_PATH, 3, 2);
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						  offsetof(struct seccomp_data, args[2]));
	insns[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, AT_EMPTY_PATH, 1, 0);
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = {.len = (unsigned short)n, .filter = insns};
	int lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			       SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (lfd < 0)
		return err_errno(e, errno, "cannot load the broker's notification filter");

	char byte = 'L';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &lfd, sizeof(int));
	ssize_t k = sendmsg(sock, &msg, MSG_NOSIGNAL);
	int er = errno;
	close(lfd);
	close(sock);
	if (k != 1)
		return err_errno(e, er, "cannot pass the broker's listener to the controller");
	return 0;
}

/* ---- the controller's side: set-up ---------------------------------- */

/* A sealed, read-only memfd holding the virtual file's content. */
static int vfile_memfd(const struct vfile *v, struct err *e)
{
	_cleanup_free_ char *content = NULL;
	const char *data = v->text;
	size_t len = v->len;
	if (v->host) {
		int r = read_file(v->host, MAX_VFILE_SIZE, &content, &len);
		if (r == -EFBIG)
			return err_set(e, EFBIG, "virtual file '%s': '%s' is larger than %u MiB",
				       v->box, v->host, MAX_VFILE_SIZE >> 20);
		if (r < 0)
			return err_errno(e, -r, "virtual file '%s': cannot read '%s'", v->box, v->host);
		data = content;
	}
	/* Never executable: Landlock does not govern memfds, so an exec
	 * allowlist could otherwise be bypassed with execveat() on one. */
	int fd = (int)syscall(SYS_memfd_create, "ward-file",
			      MFD_CLOEXEC | MFD_ALLOW_SEALING | WARD_MFD_NOEXEC_SEAL);
	if (fd < 0 && errno == EINVAL) /* before Linux 6.3 */
		fd = (int)syscall(SYS_memfd_create, "ward-file", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return err_errno(e, errno, "virtual file '%s': cannot create a memfd", v->box);
	int r = write_all(fd, data, len);
	if (r == 0 && (fchmod(fd, 0444) < 0 ||
		       fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0))
		r = -errno;
	if (r < 0) {
		close(fd);
		return err_errno(e, -r, "virtual file '%s': cannot fill its memfd", v->box);
	}
	return fd;
}

int broker_new(struct broker **ret, const struct policy *p, const struct run_options *o,
	       const struct mnt_plan *mp, uid_t fsuid, gid_t fsgid, struct err *e)
{
	struct broker *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	*b = (struct broker){.sock = {-1, -1}, .stop = {-1, -1}, .listener = -1, .rootfd = -1,
			     .fsuid = fsuid, .fsgid = fsgid, .on_access = o->on_access,
			     .access_ctx = o->access_ctx, .ask_fn = o->ask, .ask_ctx = o->ask_ctx};
	int r = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, b->sock) < 0 ||
	    pipe2(b->stop, O_CLOEXEC) < 0) {
		r = err_errno(e, errno, "cannot create the broker's socket");
		goto fail;
	}
	/* The box's end must survive box_exec moving its stdio to 0-2 and
	 * the error pipe to 3 (a caller with stdin closed would otherwise
	 * get it at 3): keep it above them. */
	int high = fcntl(b->sock[1], F_DUPFD_CLOEXEC, 10);
	if (high < 0) {
		r = err_errno(e, errno, "cannot create the broker's socket");
		goto fail;
	}
	close(b->sock[1]);
	b->sock[1] = high;
	for (size_t i = 0; i < mp->n; i++)
		if ((r = strv_push(&b->granted, mp->e[i].dst)) < 0)
			goto fail;
	for (size_t i = 0; i < p->ask.n; i++)
		if ((r = strv_push(&b->ask, p->ask.v[i])) < 0)
			goto fail;
	if ((r = strv_copy(&b->exec, &p->exec)) < 0)
		goto fail;
	b->files = calloc(p->n_files ? p->n_files : 1, sizeof(*b->files));
	if (!b->files) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < p->n_files; i++) {
		b->files[i].memfd = -1;
		if (!(b->files[i].box = strdup(p->files[i].box))) {
			b->n_files = i + 1;
			r = -ENOMEM;
			goto fail;
		}
		b->n_files = i + 1;
		if ((r = vfile_memfd(&p->files[i], e)) < 0)
			goto fail;
		b->files[i].memfd = r;
	}
	*ret = b;
	return 0;
fail:
	broker_free(b);
	return r;
}

/* Ends the thread. The box is gone by now, so the thread is in poll()
 * and sees the stop byte at once; should a call ever hold it (a host
 * path that hangs), it is cancelled after 2 s rather than hang the
 * caller: the run is over, only its fds leak. */
static void broker_join(struct broker *b)
{
	if (!b->started)
		return;
	(void)write_all(b->stop[1], "x", 1);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	if (pthread_timedjoin_np(b->thread, NULL, &until) != 0) {
		pthread_cancel(b->thread);
		pthread_join(b->thread, NULL);
	}
	b->started = false;
}

void broker_free(struct broker *b)
{
	if (!b)
		return;
	broker_join(b);
	int *fds[] = {&b->sock[0], &b->sock[1], &b->stop[0], &b->stop[1], &b->listener, &b->rootfd};
	for (size_t i = 0; i < ELEMENTSOF(fds); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	for (size_t i = 0; i < b->n_files; i++) {
		free(b->files[i].box);
		if (b->files[i].memfd >= 0)
			close(b->files[i].memfd);
	}
	free(b->files);
	strv_clear(&b->granted);
	strv_clear(&b->ask);
	strv_clear(&b->exec);
	free(b->exec_ids);
	free(b);
}

/* ---- one request ------------------------------------------------------ */

struct req {
	struct broker *b;
	const struct seccomp_notif *n;
	const struct call *c;
	pid_t pid;	    /* the calling thread, in our pid namespace */
	int flags;	    /* open flags / AT_* flags / access mode */
	char flagstr[64];
	unsigned how;	    /* ACCESS_* bits of the call, for ask rules */
	const char *reason; /* set when an ask rule refused the call */
	bool is_vfile;
	int vfile;
	bool first;	    /* the run's first notification */
};

static bool id_valid(const struct broker *b, uint64_t id)
{
	return ioctl(b->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* Reads a NUL-terminated string from the caller's memory, once, a page
 * at a time (the string may end just before an unmapped page). */
static int read_box_string(pid_t pid, uint64_t addr, char *buf, size_t cap)
{
	size_t got = 0;
	if (!addr)
		return -EFAULT;
	while (got < cap) {
		size_t page_left = 4096 - ((addr + got) & 4095);
		size_t want = page_left < cap - got ? page_left : cap - got;
		struct iovec local = {buf + got, want};
		struct iovec remote = {(void *)(uintptr_t)(addr + got), want};
		ssize_t k = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		if (k <= 0)
			return k < 0 && errno != EFAULT ? -errno : -EFAULT;
		char *nul = memchr(buf + got, 0, (size_t)k);
		if (nul)
			return 0;
		got += (size_t)k;
	}
	return -ENAMETOOLONG;
}

/* Writes an answer into the caller's memory. The memory is opened first
 * and the notification checked after (seccomp_unotify(2)): once the open
 * succeeded, the fd is bound to that process, so if the caller died and
 * its pid went to another process meanwhile, the check fails and nothing
 * is written. A write by pid (process_vm_writev) could land in whatever
 * process holds the pid by then, a host process included. */
static int write_box(const struct req *q, uint64_t addr, const void *data, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", q->pid);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -EFAULT;
	ssize_t k = -1;
	if (id_valid(q->b, q->n->id))
		k = pwrite(fd, data, len, (off_t)addr);
	close(fd);
	return k == (ssize_t)len ? 0 : -EFAULT;
}

/* One field ("NStgid:", "Umask:") of /proc/PID/status: the last number
 * on its line (the innermost pid namespace's view). */
static long status_field(pid_t pid, const char *key, int base)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k <= 0)
		return -1;
	buf[k] = 0;
	char *p = strstr(buf, key);
	if (!p)
		return -1;
	p += strlen(key);
	char *eol = strchrnul(p, '\n');
	*eol = 0;
	char *last = strrchr(p, '\t');
	return strtol(last ? last + 1 : p, NULL, base);
}

/* The box's umask, applied by hand: the broker thread's own is 0. */
static mode_t box_umask(pid_t pid)
{
	long um = status_field(pid, "\nUmask:", 8);
	return (mode_t)(um < 0 ? 022 : um);
}

/* The directory a relative path starts from, as the box names it. */
static int box_base(struct req *q, int dirfd, char *out, size_t cap)
{
	char link[64];
	if (dirfd == AT_FDCWD)
		snprintf(link, sizeof(link), "/proc/%d/cwd", q->pid);
	else
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", q->pid, dirfd);
	ssize_t k = readlink(link, out, cap - 1);
	if (k < 0)
		return dirfd == AT_FDCWD ? -ENOENT : -EBADF;
	out[k] = 0;
	/* Not a directory of the box's tree ("pipe:[..]", "anon_inode:"). */
	if (out[0] != '/')
		return -ENOTDIR;
	/* A removed directory reads as "/x (deleted)", which could name
	 * another directory: the kernel answers ENOENT there, so do we. */
	struct stat st;
	if (stat(link, &st) < 0 || st.st_nlink == 0)
		return -ENOENT;
	return 0;
}

/* The box's own processes: /proc (and /dev/fd, /dev/std*, which point
 * into it). The controller must not act there with its own privileges:
 * as root it keeps CAP_SYS_PTRACE (it needs it to read the box's
 * memory), which would readlink /proc/1/exe of the box's init (a host
 * path) or open what the box itself may not (init is not dumpable); and
 * /proc/self names the controller there, not the caller. So calls on
 * these paths are left to the kernel, in the box's own context
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE): that grants nothing beyond the
 * static layers, and a box racing to rewrite the path meanwhile only
 * loses its audit record. */
#define LEAVE_TO_KERNEL (-4096)

static bool kernel_path(const char *norm)
{
	return path_is_under(norm, "/proc") || path_is_under(norm, "/dev/fd") ||
	       !strcmp(norm, "/dev/stdin") || !strcmp(norm, "/dev/stdout") ||
	       !strcmp(norm, "/dev/stderr");
}

/* The same for a path that reached /proc through a symlink the box made. */
static bool on_procfs(int fd)
{
	struct statfs sf;
	return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

static int open_in_box(struct broker *b, const char *path, uint64_t flags, uint64_t mode,
		       uint64_t resolve)
{
	struct open_how how = {.flags = flags | O_CLOEXEC, .mode = mode,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve};
	int fd = (int)syscall(SYS_openat2, b->rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* "O_RDONLY|O_CREAT" for the records. */
static void open_flags_str(int fl, char *buf, size_t len)
{
	static const struct {
		int bit;
		const char *name;
	} names[] = {{O_CREAT, "O_CREAT"}, {O_EXCL, "O_EXCL"}, {O_TRUNC, "O_TRUNC"},
		     {O_APPEND, "O_APPEND"}, {O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"},
		     {O_PATH, "O_PATH"}};
	const char *acc = (fl & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
			  : (fl & O_ACCMODE) == O_RDWR ? "O_RDWR" : "O_RDONLY";
	size_t off = (size_t)snprintf(buf, len, "%s", acc);
	for (size_t i = 0; i < ELEMENTSOF(names) && off < len; i++)
		if ((fl & names[i].bit) == names[i].bit)
			off += (size_t)snprintf(buf + off, len - off, "|%s", names[i].name);
}

static void access_mode_str(int mode, char *buf, size_t len)
{
	if (!(mode & 7)) {
		snprintf(buf, len, "F_OK");
		return;
	}
	snprintf(buf, len, "%s%s%s%s%s", mode & R_OK ? "R_OK" : "",
		 (mode & R_OK) && (mode & (W_OK | X_OK)) ? "|" : "", mode & W_OK ? "W_OK" : "",
		 (mode & W_OK) && (mode & X_OK) ? "|" : "", mode & X_OK ? "X_OK" : "");
}

/* Is the box path under something the mount plan put there? */
static bool granted(const struct broker *b, const char *norm)
{
	for (size_t i = 0; i < b->granted.n; i++)
		if (path_is_under(norm, b->granted.v[i]))
			return true;
	return false;
}

/* Records a refusal worth reporting: a permission refused, or a path
 * outside everything the box was given. A missing file inside a grant
 * (a module search probing for foo.so) is ordinary and not recorded. */
static void record(struct req *q, const char *norm, int error)
{
	struct broker *b = q->b;
	const char *reason = q->reason; /* an ask rule's; else by errno */
	switch (reason ? 0 : error) {
	case 0: break;
	case EACCES: reason = "permission denied"; break;
	case EPERM: reason = "not permitted"; break;
	case EROFS: reason = "read-only"; break;
	case EBUSY: reason = "a mount point"; break;
	case ELOOP: reason = "symbolic link loop or magic link"; break;
	case ENOENT:
	case ENOTDIR:
		/* Every glibc program probes /etc/ld.so.preload. */
		if (!norm || !norm[0] || granted(b, norm) || q->is_vfile ||
		    !strcmp(norm, "/etc/ld.so.preload"))
			return;
		reason = "not granted";
		break;
	default: return;
	}
	if (b->n_denials >= RUN_MAX_DENIALS) {
		b->dropped++;
		return;
	}
	struct denial *d = &b->denials[b->n_denials++];
	snprintf(d->call, sizeof(d->call), "%s", q->c->name);
	snprintf(d->path, sizeof(d->path), "%s", b->path);
	snprintf(d->flags, sizeof(d->flags), "%s", q->flagstr);
	d->error = error;
	d->reason = reason;
}

/* The box path of an fd the broker opened in the box's root. The box's
 * mount tree is unreachable from the controller's root, so the kernel
 * prints the fd's path from the box's root (what box_base relies on for
 * /proc/PID/cwd as well). */
static bool fd_box_path(int fd, char *out, size_t cap)
{
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t k = readlink(link, out, cap - 1);
	if (k <= 0 || out[0] != '/')
		return false;
	out[k] = 0;
	return true;
}

/* Tells the caller (--learn) about an access the broker allowed: the
 * file fd names, or name `last` in directory fd. The path is the one the
 * broker resolved (what the kernel names fd), never the one the box
 * spelled: "other/lnk/../a.c" (lnk a symlink into src/) is src/a.c, and a
 * learned grant of other/ would be one of a directory the program never
 * wrote in. The box's own /proc and /dev are ward's, never a grant: not
 * reported; nor is a file already removed (its name is gone). */
static void allowed(struct req *q, int fd, const char *last, unsigned how)
{
	struct broker *b = q->b;
	char path[PATH_MAX];
	struct stat st;
	if (!b->on_access || q->is_vfile || fd < 0 || !fd_box_path(fd, path, sizeof(path)))
		return;
	if (last) {
		size_t n = strlen(last);
		while (n > 1 && last[n - 1] == '/')
			n--;
		size_t k = strlen(path);
		if ((size_t)snprintf(path + k, sizeof(path) - k, "%s%.*s", k > 1 ? "/" : "", (int)n, last) >=
		    sizeof(path) - k)
			return;
	} else if (fstat(fd, &st) < 0 || (st.st_nlink == 0 && !(how & ACCESS_CREATE))) {
		return;
	}
	if (path_is_under(path, "/proc") || path_is_under(path, "/dev"))
		return;
	b->on_access(b->access_ctx, path, how);
}

/* ---- ask rules ---------------------------------------------------------
 *
 * The broker only narrows: an access under an ask prefix that the static
 * layers allow is put to the run's access handler, with the box path it
 * resolved to (not the path as the box spelled it: a symlink outside a
 * prefix that leads into one is asked, one inside that leads out is not).
 * Nothing is created, truncated, removed or connected before the answer.
 * Without a handler nobody can say yes: the access is refused. */

/* 0 when box path `path` is under no ask prefix or the handler allows
 * the access q->how; else -EACCES with the reason in q. */
static int ask_check(struct req *q, const char *path)
{
	struct broker *b = q->b;
	bool under = false;
	for (size_t i = 0; i < b->ask.n && !under; i++)
		under = path_is_under(path, b->ask.v[i]);
	if (!under)
		return 0;
	if (b->ask_fn && b->ask_fn(b->ask_ctx, path, q->how, q->c->name))
		return 0;
	q->reason = b->ask_fn ? "denied by the application" : "no application to ask";
	return -EACCES;
}

/* ask_check for what fd names; norm (the lexical path) when the kernel
 * cannot name it. ACCESS_DIR is added for a directory. */
static int ask_fd(struct req *q, int fd, const char *norm)
{
	if (!q->b->ask.n)
		return 0;
	char path[PATH_MAX];
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		q->how |= ACCESS_DIR;
	return ask_check(q, fd_box_path(fd, path, sizeof(path)) ? path : norm);
}

/* ask_check for name `last` in directory pfd (mkdir, unlink, rename,
 * bind, a file about to be created). */
static int ask_at(struct req *q, int pfd, const char *last, const char *norm)
{
	if (!q->b->ask.n)
		return 0;
	char dir[PATH_MAX], path[2 * PATH_MAX];
	if (!fd_box_path(pfd, dir, sizeof(dir)))
		return ask_check(q, norm);
	snprintf(path, sizeof(path), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", last);
	_cleanup_free_ char *n = path_normalize(path);
	if (!n)
		return -ENOMEM;
	return ask_check(q, n);
}

/* ask_fd for an fd resolve() returned: the fd, or -EACCES (closed). */
static int ask_or_close(struct req *q, int fd, const char *norm)
{
	if (fd < 0)
		return fd;
	int r = ask_fd(q, fd, norm);
	if (r < 0)
		close(fd);
	return r < 0 ? r : fd;
}

/* With ask rules, the box's /proc links are a way around them: the
 * kernel, not the broker, follows /proc/self/root/data/x or reopens
 * /proc/self/fd/N (an O_PATH fd, or a read-only one for writing). So a
 * path left to the kernel (see LEAVE_TO_KERNEL) may end on a link of the
 * caller's own fd table (/proc/self/fd/N, /dev/fd/N, /dev/stdin, exe,
 * cwd, root), which is asked about as its target; going on below such a
 * link, through another process's, or with ".." is refused. raw is the
 * absolute path before normalisation. */
static int proc_check(struct req *q, const char *raw, const char *norm)
{
	if (!q->b->ask.n)
		return LEAVE_TO_KERNEL;
	if (strstr(raw, "/.."))
		goto refuse;
	char link[PATH_MAX], target[PATH_MAX];
	const char *s = NULL;
	if (!strcmp(norm, "/dev/stdin") || !strcmp(norm, "/dev/stdout") || !strcmp(norm, "/dev/stderr")) {
		int fd = norm[8] == 'i' ? 0 : norm[8] == 'o' ? 1 : 2; /* "/dev/std?" */
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", q->pid, fd);
	} else if (path_is_under(norm, "/dev/fd")) {
		s = norm + strlen("/dev/fd");
		if (!s[0])
			return LEAVE_TO_KERNEL; /* the directory itself */
		if (strchr(s + 1, '/'))
			goto refuse;
		snprintf(link, sizeof(link), "/proc/%d/fd%s", q->pid, s);
	} else {
		/* /proc/PID[/task/TID]/LINK[/...] */
		s = norm + strlen("/proc");
		if (!s[0])
			return LEAVE_TO_KERNEL;
		s++;
		size_t n = strcspn(s, "/");
		bool own = (n == 4 && !strncmp(s, "self", 4)) || (n == 11 && !strncmp(s, "thread-self", 11));
		bool pid = n > 0 && strspn(s, "0123456789") == n;
		if (!own && !pid)
			return LEAVE_TO_KERNEL; /* /proc/meminfo, /proc/sys/... */
		const char *rest = s + n;
		if (!strncmp(rest, "/task/", 6)) {
			rest += 6;
			size_t t = strcspn(rest, "/");
			if (strspn(rest, "0123456789") != t)
				return LEAVE_TO_KERNEL;
			rest += t;
		}
		static const char *const links[] = {"/root", "/cwd", "/exe", "/fd/", "/map_files/"};
		const char *l = NULL;
		for (size_t i = 0; i < ELEMENTSOF(links) && !l; i++) {
			size_t k = strlen(links[i]);
			if (!strncmp(rest, links[i], k) && (links[i][k - 1] == '/' || !rest[k] || rest[k] == '/'))
				l = links[i];
		}
		if (!l)
			return LEAVE_TO_KERNEL; /* /proc/self/status, /proc/1/fd */
		if (!own)
			goto refuse;
		/* The link itself, and nothing below it. */
		const char *after = rest + strlen(l);
		if (l[strlen(l) - 1] == '/')
			after += strcspn(after, "/");
		if (after[0] || !strcmp(l, "/map_files/"))
			goto refuse;
		snprintf(link, sizeof(link), "/proc/%d%s", q->pid, rest);
	}
	if (q->c->op == OP_READLINK)
		return LEAVE_TO_KERNEL; /* names the target, opens nothing */
	ssize_t k = readlink(link, target, sizeof(target) - 1);
	if (k <= 0)
		return LEAVE_TO_KERNEL; /* no such fd: the kernel says so */
	target[k] = 0;
	if (target[0] != '/')
		return LEAVE_TO_KERNEL; /* "pipe:[..]", "socket:[..]" */
	int r = ask_check(q, target);
	return r < 0 ? r : LEAVE_TO_KERNEL;
refuse:
	q->reason = "a /proc link under ask rules";
	return -EACCES;
}

static int send_resp(struct broker *b, uint64_t id, int64_t val, int error, uint32_t flags)
{
	struct seccomp_notif_resp resp = {.id = id, .val = val, .error = error ? -error : 0,
					  .flags = flags};
	return ioctl(b->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 ? -errno : 0;
}

/* Answers "let the kernel do it" (see LEAVE_TO_KERNEL). */
static void leave_to_kernel(struct broker *b, uint64_t id)
{
	(void)send_resp(b, id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

/* A refusal: recorded (with the path as the box named it) and answered
 * with errno error. */
static void refuse(struct req *q, uint64_t id, const char *norm, int error)
{
	record(q, norm, error);
	(void)send_resp(q->b, id, 0, error, 0);
}

static void send_fd(struct broker *b, uint64_t id, int fd, bool cloexec)
{
	struct seccomp_notif_addfd a = {.id = id, .flags = SECCOMP_ADDFD_FLAG_SEND, .srcfd = (uint32_t)fd,
					.newfd_flags = cloexec ? O_CLOEXEC : 0};
	if (ioctl(b->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0 && errno != ENOENT)
		(void)send_resp(b, id, 0, errno == EMFILE ? EMFILE : EIO, 0);
}

/* Makes a box path absolute (into abs: a relative one is joined to the
 * caller's cwd or dirfd) and normalises it lexically (into norm, for
 * records and virtual files; the kernel resolves abs itself). Marks the
 * request when norm is a virtual file. */
static int absolute(struct req *q, int dirfd, const char *path, char *abs, size_t abscap,
		    char *norm, size_t cap)
{
	struct broker *b = q->b;
	if (path[0] == '/') {
		snprintf(abs, abscap, "%s", path);
	} else {
		char base[PATH_MAX];
		int r = box_base(q, dirfd, base, sizeof(base));
		if (r < 0)
			return r;
		int k = snprintf(abs, abscap, "%s/%s", base, path);
		if (k < 0 || (size_t)k >= PATH_MAX)
			return -ENAMETOOLONG;
	}
	_cleanup_free_ char *n = path_normalize(abs);
	if (!n)
		return -ENOMEM;
	snprintf(norm, cap, "%s", n);
	for (size_t i = 0; i < b->n_files; i++)
		if (!strcmp(norm, b->files[i].box)) {
			q->is_vfile = true;
			q->vfile = (int)i;
		}
	return 0;
}

/* For the calls that act on a name in a directory (mkdir, unlink,
 * rename): opens the parent directory in the box's root and copies the
 * last component (with any trailing slashes) into last. The operation
 * then runs on that fd: nothing the box does to the path meanwhile can
 * redirect it. Returns an O_PATH fd or -errno. */
static int resolve_parent(struct req *q, int dirfd, const char *path, char *norm, size_t cap,
			  char *last, size_t lastcap)
{
	char abs[2 * PATH_MAX];
	norm[0] = 0; /* what refuse() records when we fail before absolute() */
	if (!path[0])
		return -ENOENT;
	int r = absolute(q, dirfd, path, abs, sizeof(abs), norm, cap);
	if (r < 0)
		return r;
	if (q->is_vfile)
		return -EROFS;
	size_t n = strlen(abs);
	while (n > 1 && abs[n - 1] == '/')
		n--;
	char *s = abs + n;
	while (s > abs && s[-1] != '/')
		s--;
	size_t clen = (size_t)(abs + n - s);
	if (clen == 0)
		return -EBUSY; /* "/" itself */
	if ((clen == 1 && s[0] == '.') || (clen == 2 && s[0] == '.' && s[1] == '.'))
		return -EINVAL;
	if (kernel_path(norm))
		return proc_check(q, abs, norm);
	snprintf(last, lastcap, "%s", s);
	if (s == abs + 1)
		s[0] = 0, abs[1] = 0; /* the parent is "/" */
	else
		s[-1] = 0;
	int fd = open_in_box(q->b, abs, O_PATH | O_DIRECTORY, 0, 0);
	if (fd >= 0 && on_procfs(fd)) {
		close(fd);
		return LEAVE_TO_KERNEL;
	}
	return fd;
}

/* Opens what the request names, the way the call asks: a full open for
 * OP_OPEN, an O_PATH fd for the others. Returns an fd or -errno; *norm
 * is the normalised absolute box path (for records), or "". */
static int resolve(struct req *q, int dirfd, bool empty_ok, uint64_t oflags, uint64_t mode,
		   char *norm, size_t cap)
{
	struct broker *b = q->b;
	char *path = b->path;
	norm[0] = 0;
	if (!path[0]) {
		if (!empty_ok)
			return -ENOENT;
		/* An fd-based call (fstat is newfstatat(fd, "", AT_EMPTY_PATH)):
		 * the caller's own fd, opened through our /proc. */
		char link[64];
		if (dirfd == AT_FDCWD)
			snprintf(link, sizeof(link), "/proc/%d/cwd", q->pid);
		else
			snprintf(link, sizeof(link), "/proc/%d/fd/%d", q->pid, dirfd);
		int fd = open(link, O_PATH | O_CLOEXEC);
		if (fd >= 0 && on_procfs(fd)) {
			close(fd);
			return LEAVE_TO_KERNEL;
		}
		return fd < 0 ? (dirfd == AT_FDCWD ? -ENOENT : -EBADF) : fd;
	}
	int r = absolute(q, dirfd, path, b->abs, sizeof(b->abs), norm, cap);
	if (r < 0)
		return r;
	if (q->is_vfile)
		return -EEXIST; /* the caller serves it */
	if (kernel_path(norm))
		return proc_check(q, b->abs, norm);
	/* The path as given, not norm: a lexical "a/../b" is not the
	 * kernel's when a is a symlink. */
	int fd = open_in_box(b, b->abs, oflags, mode, 0);
	if (fd >= 0 && on_procfs(fd)) {
		close(fd);
		return LEAVE_TO_KERNEL;
	}
	return fd;
}

/* resolve(), then ask_or_close(). A path left to the kernel is answered
 * here (CONTINUE) and LEAVE_TO_KERNEL returned: the caller is done. */
static int resolve_asked(struct req *q, uint64_t id, int dirfd, bool empty_ok, uint64_t flags,
			 uint64_t mode, char *norm, size_t cap)
{
	int fd = resolve(q, dirfd, empty_ok, flags, mode, norm, cap);
	if (fd == LEAVE_TO_KERNEL) {
		leave_to_kernel(q->b, id);
		return LEAVE_TO_KERNEL;
	}
	return ask_or_close(q, fd, norm);
}

/* Box memory is read once; after that, the pid must still be the caller
 * (and the answer goes by notification id, never by pid). */
static int fetch(struct req *q)
{
	const struct seccomp_notif *n = q->n;
	int r = read_box_string(q->pid, n->data.args[q->c->path], q->b->path, sizeof(q->b->path));
	if (r == 0 && (q->c->op == OP_RENAME || q->c->op == OP_LINK))
		r = read_box_string(q->pid, n->data.args[n->data.nr == __NR_rename || n->data.nr == __NR_link ? 1 : 3],
				    q->b->path2,
				    sizeof(q->b->path2));
	if (!id_valid(q->b, n->id))
		return -ESRCH;
	return r;
}

/* The open of a run with ask rules: asked before anything happens. An
 * open that may create or truncate first resolves what is there with
 * O_PATH and asks; then it reopens that very inode (through
 * /proc/self/fd, so a swapped name cannot redirect it) or, for a new
 * file, asks for the name in the parent it resolved and creates it there
 * with O_NOFOLLOW. Returns what resolve() returns. */
static int open_asked(struct req *q, int dirfd, int fl, uint64_t of, uint64_t mode, char *norm,
		      size_t cap)
{
	if (!(fl & (O_CREAT | O_TRUNC))) {
		int fd = resolve(q, dirfd, false, of, mode, norm, cap);
		int r = fd >= 0 ? ask_fd(q, fd, norm) : 0;
		if (r < 0) {
			close(fd);
			return r;
		}
		return fd;
	}
	uint64_t pf = O_PATH | (uint64_t)(fl & (O_NOFOLLOW | O_DIRECTORY)) |
		      (fl & O_EXCL ? O_NOFOLLOW : 0);
	int probe = resolve(q, dirfd, false, pf, 0, norm, cap);
	if (probe >= 0) {
		struct stat st;
		int r = 0;
		q->how &= ~(unsigned)ACCESS_CREATE; /* it is there already */
		if ((fl & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
			r = -EEXIST;
		else if (fstat(probe, &st) < 0)
			r = -errno;
		else if (S_ISLNK(st.st_mode))
			r = -ELOOP; /* O_NOFOLLOW on a symlink */
		if (r == 0)
			r = ask_fd(q, probe, norm);
		if (r == 0) {
			char link[64];
			snprintf(link, sizeof(link), "/proc/self/fd/%d", probe);
			r = open(link, (int)(of & ~(uint64_t)(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC);
			if (r < 0)
				r = -errno;
		}
		close(probe);
		return r;
	}
	if (probe != -ENOENT || !(fl & O_CREAT))
		return probe;
	char last[PATH_MAX];
	int pfd = resolve_parent(q, dirfd, q->b->path, norm, cap, last, sizeof(last));
	if (pfd < 0)
		return pfd;
	struct stat st;
	int r = 0;
	if (fstatat(pfd, last, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
		/* A dangling symlink: the kernel would create its target,
		 * a name the broker cannot tell before it exists. */
		q->reason = "creating through a symbolic link under ask rules";
		r = -EACCES;
	}
	if (r == 0)
		r = ask_at(q, pfd, last, norm);
	if (r == 0) {
		r = openat(pfd, last, (int)of | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
		if (r < 0)
			r = -errno;
	}
	close(pfd);
	return r;
}

/* Does an open with flags fl create a file? O_TMPFILE includes O_DIRECTORY
 * (it is "a directory, and an unnamed file in it"), so `fl & O_TMPFILE` is
 * true for every directory open: test all its bits. */
static bool open_creates(int fl)
{
	return (fl & O_CREAT) || (fl & O_TMPFILE) == O_TMPFILE;
}

static void handle_open(struct req *q, uint64_t id)
{
	const struct seccomp_notif *n = q->n;
	struct broker *b = q->b;
	int fl = n->data.nr == __NR_creat ? O_CREAT | O_WRONLY | O_TRUNC : (int)n->data.args[q->c->flags];
	uint64_t mode = n->data.args[n->data.nr == __NR_creat ? 1 : q->c->flags + 1] & 07777;
	/* openat2 refuses what open ignores: unknown flags, a mode without
	 * O_CREAT, O_PATH with other flags. */
	fl &= O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |
	      FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC |
	      O_SYNC | O_PATH | O_TMPFILE;
	if (fl & O_PATH)
		fl &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	if (!open_creates(fl))
		mode = 0;
	int dirfd = q->c->dir >= 0 ? (int)n->data.args[q->c->dir] : AT_FDCWD;
	char norm[PATH_MAX];
	open_flags_str(fl, q->flagstr, sizeof(q->flagstr));

	if (open_creates(fl))
		mode &= ~(uint64_t)box_umask(q->pid);
	/* O_NONBLOCK: a FIFO with no writer must not stall the broker; the
	 * flag is cleared again below unless the box asked for it. */
	uint64_t of = (uint64_t)(fl & ~O_CLOEXEC) | (fl & O_PATH ? 0 : O_NOCTTY | O_NONBLOCK);
	q->how = (fl & O_ACCMODE) == O_RDONLY ? ACCESS_READ
		 : (fl & O_ACCMODE) == O_WRONLY ? ACCESS_WRITE : ACCESS_READ | ACCESS_WRITE;
	if (open_creates(fl))
		q->how |= ACCESS_CREATE;
	if (fl & O_TRUNC)
		q->how |= ACCESS_WRITE;
	int fd = b->ask.n ? open_asked(q, dirfd, fl, of, mode, norm, sizeof(norm))
			  : resolve(q, dirfd, false, of, mode, norm, sizeof(norm));
	if (fd == LEAVE_TO_KERNEL) {
		leave_to_kernel(b, id);
		return;
	}
	if (fd == -EEXIST && q->is_vfile && (fl & O_DIRECTORY)) {
		fd = -ENOTDIR;
	} else if (fd == -EEXIST && q->is_vfile) {
		if ((fl & O_ACCMODE) != O_RDONLY || (fl & O_TRUNC) ||
		    (fl & O_TMPFILE) == O_TMPFILE ||
		    (fl & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
			refuse(q, id, norm, EROFS);
			return;
		}
		char link[64];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", b->files[q->vfile].memfd);
		fd = open(link, O_RDONLY | O_CLOEXEC | (fl & O_NONBLOCK)); /* O_PATH too */
		if (fd < 0)
			fd = -errno;
	} else if (fd >= 0 && !(fl & (O_NONBLOCK | O_PATH))) {
		/* One call, not F_GETFL first: every syscall here is on the
		 * box's clock. F_SETFL changes only these flags. */
		(void)fcntl(fd, F_SETFL, fl & (O_APPEND | FASYNC | O_DIRECT | O_NOATIME));
	}
	if (fd < 0) {
		refuse(q, id, norm, -fd);
		return;
	}
	if ((fl & O_PATH) && !q->is_vfile) {
		/* The kernel cannot inject an O_PATH fd (ADDFD's fget skips
		 * them: EBADF). An O_PATH fd carries no access of its own:
		 * every use of it (a lookup below it, fstat, a reopen through
		 * /proc/self/fd, execveat) is brokered or checked by the kernel
		 * again, so the kernel may make this one itself. */
		allowed(q, fd, NULL, ACCESS_READ);
		close(fd);
		(void)send_resp(b, id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
		return;
	}
	if (b->on_access) {
		struct stat st;
		unsigned how = (fl & O_ACCMODE) == O_RDONLY ? ACCESS_READ
			       : (fl & O_ACCMODE) == O_WRONLY ? ACCESS_WRITE : ACCESS_READ | ACCESS_WRITE;
		if (open_creates(fl))
			how |= ACCESS_CREATE;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
			how |= ACCESS_DIR;
		allowed(q, fd, NULL, how);
	}
	send_fd(b, id, fd, fl & O_CLOEXEC);
	close(fd);
}

static void handle_stat(struct req *q, uint64_t id)
{
	const struct seccomp_notif *n = q->n;
	struct broker *b = q->b;
	int nr = n->data.nr;
	int dirfd = q->c->dir >= 0 ? (int)n->data.args[q->c->dir] : AT_FDCWD;
	int atfl = q->c->flags >= 0 ? (int)n->data.args[q->c->flags] : 0;
	bool nofollow = nr == __NR_lstat || (atfl & AT_SYMLINK_NOFOLLOW);
	char norm[PATH_MAX];
	q->how = ACCESS_READ;
	int fd = resolve_asked(q, id, dirfd, atfl & AT_EMPTY_PATH,
			       O_PATH | (nofollow ? O_NOFOLLOW : 0), 0, norm, sizeof(norm));
	if (fd == LEAVE_TO_KERNEL)
		return;
	if (fd == -EEXIST && q->is_vfile)
		fd = fcntl(b->files[q->vfile].memfd, F_DUPFD_CLOEXEC, 0);
	/* A virtual file is always reported 0444: an unprivileged box owns
	 * the memfd's inode (its uid is the caller's) and may fchmod it; its
	 * seals, not its mode, keep it read-only. */
	bool vfile = q->is_vfile;
	if (fd < 0) {
		refuse(q, id, norm, -fd);
		return;
	}
	/* Owners as the box's user namespace shows them: its one mapped
	 * uid/gid, everything else the overflow id. */
	int r;
	if (q->c->op == OP_STATX) {
		struct statx sx;
		unsigned mask = (unsigned)n->data.args[3];
		r = statx(fd, "", AT_EMPTY_PATH | (atfl & AT_STATX_SYNC_TYPE), mask, &sx) < 0 ? -errno : 0;
		if (vfile)
			sx.stx_mode = S_IFREG | 0444;
		sx.stx_uid = sx.stx_uid == b->fsuid ? BOX_UID : NOBODY_UID;
		sx.stx_gid = sx.stx_gid == b->fsgid ? BOX_GID : NOBODY_GID;
		if (r == 0)
			r = write_box(q, n->data.args[4], &sx, sizeof(sx));
		if (r == 0)
			allowed(q, fd, NULL, ACCESS_READ | (S_ISDIR(sx.stx_mode) ? ACCESS_DIR : 0));
	} else {
		struct stat st;
		uint64_t buf = n->data.args[q->c->dir >= 0 ? 2 : 1];
		r = fstat(fd, &st) < 0 ? -errno : 0;
		if (vfile)
			st.st_mode = S_IFREG | 0444;
		st.st_uid = st.st_uid == b->fsuid ? BOX_UID : NOBODY_UID;
		st.st_gid = st.st_gid == b->fsgid ? BOX_GID : NOBODY_GID;
		if (r == 0)
			r = write_box(q, buf, &st, sizeof(st));
		if (r == 0)
			allowed(q, fd, NULL, ACCESS_READ | (S_ISDIR(st.st_mode) ? ACCESS_DIR : 0));
	}
	close(fd);
	(void)send_resp(b, id, 0, r < 0 ? -r : 0, 0);
}

static void handle_access(struct req *q, uint64_t id)
{
	const struct seccomp_notif *n = q->n;
	struct broker *b = q->b;
	int dirfd = q->c->dir >= 0 ? (int)n->data.args[q->c->dir] : AT_FDCWD;
	int mode = (int)n->data.args[q->c->dir >= 0 ? 2 : 1];
	int atfl = q->c->flags >= 0 ? (int)n->data.args[q->c->flags] : 0;
	char norm[PATH_MAX];
	access_mode_str(mode, q->flagstr, sizeof(q->flagstr));
	if (mode & ~7) {
		(void)send_resp(b, id, 0, EINVAL, 0);
		return;
	}
	q->how = (mode & W_OK ? ACCESS_WRITE : 0) | (mode & X_OK ? ACCESS_EXEC : 0);
	if (!q->how || (mode & R_OK))
		q->how |= ACCESS_READ;
	int fd = resolve_asked(q, id, dirfd, atfl & AT_EMPTY_PATH,
			       O_PATH | (atfl & AT_SYMLINK_NOFOLLOW ? O_NOFOLLOW : 0), 0, norm, sizeof(norm));
	int r = 0;
	if (fd == LEAVE_TO_KERNEL)
		return;
	if (fd == -EEXIST && q->is_vfile) {
		r = mode & W_OK ? -EROFS : mode & X_OK ? -EACCES : 0;
	} else if (fd < 0) {
		r = fd;
	} else {
		/* AT_EACCESS: our fsuid (the box's uid), not our real uid. */
		r = syscall(SYS_faccessat2, fd, "", mode, AT_EMPTY_PATH | AT_EACCESS) < 0 ? -errno : 0;
	}
	if (r < 0)
		record(q, norm, -r);
	else
		allowed(q, fd, NULL, ACCESS_READ);
	if (fd >= 0)
		close(fd);
	(void)send_resp(b, id, 0, r < 0 ? -r : 0, 0);
}

static void handle_readlink(struct req *q, uint64_t id)
{
	const struct seccomp_notif *n = q->n;
	struct broker *b = q->b;
	int dirfd = q->c->dir >= 0 ? (int)n->data.args[q->c->dir] : AT_FDCWD;
	uint64_t buf = n->data.args[q->c->path + 1];
	int size = (int)n->data.args[q->c->path + 2]; /* an int, as the kernel reads it */
	char norm[PATH_MAX];
	if (size <= 0) {
		(void)send_resp(b, id, 0, EINVAL, 0);
		return;
	}
	q->how = ACCESS_READ;
	int fd = resolve_asked(q, id, dirfd, true, O_PATH | O_NOFOLLOW, 0, norm, sizeof(norm));
	if (fd == LEAVE_TO_KERNEL)
		return;
	if (fd == -EEXIST && q->is_vfile)
		fd = -EINVAL;
	if (fd < 0) {
		refuse(q, id, norm, -fd);
		return;
	}
	char target[PATH_MAX];
	ssize_t k = readlinkat(fd, "", target, sizeof(target));
	int er = errno;
	if (k < 0) {
		close(fd);
		(void)send_resp(b, id, 0, er, 0);
		return;
	}
	if (k > size)
		k = size;
	int r = write_box(q, buf, target, (size_t)k);
	if (r == 0)
		allowed(q, fd, NULL, ACCESS_READ);
	close(fd);
	(void)send_resp(b, id, r < 0 ? 0 : k, r < 0 ? -r : 0, 0);
}

/* The first bytes of the file that O_PATH fd names, read with the box's
 * ids (a file the box may not read is not looked into). */
static ssize_t read_head(int fd, char *buf, size_t cap)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	_cleanup_close_ int rfd = open(link, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	return rfd < 0 ? -1 : pread(rfd, buf, cap, 0);
}

static int exec_id_add(struct broker *b, int fd)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	b->exec_ids[b->n_exec_ids++] = (struct file_id){st.st_dev, st.st_ino};
	return 0;
}

/* The exec list as the launcher gave it to Landlock (run.c, box_exec):
 * the listed paths, the program (fd), its #! interpreter and the ELF
 * interpreter, each resolved in the box as Landlock opened it. */
static void exec_ids_build(struct broker *b, int fd)
{
	b->exec_ids = calloc(b->exec.n + 3, sizeof(*b->exec_ids));
	if (!b->exec_ids)
		return;
	const char *fixed[] = {BOX_ELF_INTERP, NULL};
	char head[512];
	ssize_t k = read_head(fd, head, sizeof(head) - 1);
	fixed[1] = k > 0 ? script_interp(head, (size_t)k) : NULL;
	for (size_t i = 0; i < b->exec.n + 2; i++) {
		const char *path = i < b->exec.n ? b->exec.v[i] : fixed[i - b->exec.n];
		if (!path)
			continue;
		int pfd = open_in_box(b, path, O_PATH, 0, 0);
		(void)exec_id_add(b, pfd);
		if (pfd >= 0)
			close(pfd);
	}
	(void)exec_id_add(b, fd);
}

static bool exec_id_known(const struct broker *b, const struct stat *st)
{
	for (size_t i = 0; i < b->n_exec_ids; i++)
		if (b->exec_ids[i].dev == st->st_dev && b->exec_ids[i].ino == st->st_ino)
			return true;
	return false;
}

/* Does Landlock's exec list hold the file fd names: that very inode
 * (rules are on inodes), or a directory above it in the box's tree? The
 * directories are walked from the root down, each opened from the one
 * before: linear in the depth. (Opening each parent again from the root
 * was quadratic: a file 2000 directories deep cost ~0.3 s of the
 * controller's CPU per refused exec, outside the box's cgroup and
 * --cpu-time.) The depth is bounded by PATH_MAX, fd_box_path's buffer. */
static bool exec_listed(struct broker *b, int fd)
{
	struct stat st;
	char path[PATH_MAX];
	if (fstat(fd, &st) < 0)
		return false;
	if (exec_id_known(b, &st))
		return true;
	if (!fd_box_path(fd, path, sizeof(path)))
		return false;
	/* The root is never listed (policy.c refuses it); the file itself
	 * (the last component) was checked above. */
	int dfd = fcntl(b->rootfd, F_DUPFD_CLOEXEC, 0);
	bool known = false;
	for (char *s = path + 1, *slash; dfd >= 0 && !known && (slash = strchr(s, '/')); s = slash + 1) {
		*slash = 0;
		struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
				       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
		int next = (int)syscall(SYS_openat2, dfd, s, &how, sizeof(how));
		close(dfd);
		dfd = next;
		known = dfd >= 0 && fstat(dfd, &st) == 0 && exec_id_known(b, &st);
	}
	if (dfd >= 0)
		close(dfd);
	return known;
}

/* With an exec list, Landlock refuses every other exec, and the kernel's
 * refusal reaches nobody: the broker refuses what Landlock would (and so
 * records it) before the kernel sees the call. The list is resolved at
 * the program's own execve, the run's first notification, made by the
 * launcher before any of the box's code ran (exec_ids_build). A script's
 * interpreter is executed too (binfmt_script) and checked by Landlock the
 * same way: checked here one level deep. This only narrows: Landlock
 * still decides whatever passes. Returns 0 or -EACCES (reason in q). */
static int exec_check(struct req *q, int fd)
{
	struct broker *b = q->b;
	if (!b->exec.n)
		return 0;
	if (q->first) {
		exec_ids_build(b, fd);
		return 0;
	}
	if (!b->exec_ids)
		return 0; /* not known: Landlock alone decides */
	if (!exec_listed(b, fd)) {
		q->reason = "not in the exec list";
		return -EACCES;
	}
	char head[512];
	ssize_t k = read_head(fd, head, sizeof(head) - 1);
	const char *interp = k > 0 ? script_interp(head, (size_t)k) : NULL;
	int ifd = interp ? open_in_box(b, interp, O_PATH, 0, 0) : -1;
	bool listed = ifd < 0 || exec_listed(b, ifd);
	if (ifd >= 0)
		close(ifd);
	if (!listed) {
		q->reason = "its interpreter is not in the exec list";
		return -EACCES;
	}
	return 0;
}

/* execve cannot be done on the box's behalf: refuse what would fail,
 * then let the kernel (mount namespace, Landlock, permissions) decide.
 * CONTINUE here grants nothing the static layers do not. */
static void handle_exec(struct req *q, uint64_t id)
{
	const struct seccomp_notif *n = q->n;
	struct broker *b = q->b;
	int dirfd = q->c->dir >= 0 ? (int)n->data.args[q->c->dir] : AT_FDCWD;
	int atfl = q->c->flags >= 0 ? (int)n->data.args[q->c->flags] : 0;
	char norm[PATH_MAX];
	q->how = ACCESS_EXEC;
	int fd = resolve_asked(q, id, dirfd, atfl & AT_EMPTY_PATH,
			       O_PATH | (atfl & AT_SYMLINK_NOFOLLOW ? O_NOFOLLOW : 0), 0, norm, sizeof(norm));
	int r = 0;
	if (fd == LEAVE_TO_KERNEL)
		return;
	if (fd == -EEXIST && q->is_vfile) {
		r = -EACCES;
	} else if (fd < 0) {
		r = fd;
	} else {
		r = syscall(SYS_faccessat2, fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS) < 0 ? -errno : 0;
		if (r == 0)
			r = exec_check(q, fd);
		if (r == 0)
			allowed(q, fd, NULL, ACCESS_EXEC);
		close(fd);
	}
	if (r < 0) {
		refuse(q, id, norm, -r);
		return;
	}
	(void)send_resp(b, id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

/* The kernel refuses to unlink or rename a mount point (EBUSY) only in
 * the caller's own mount namespace: from the controller's, it would
 * detach the box's mount and act on the directory or file beneath. A
 * read-only grant nested in a read-write one (`--rw /p --ro /p/.git`)
 * would become writable. So the broker checks first; only the broker
 * renames or unlinks in the box (every such call is brokered, one at a
 * time), so nothing can swap the name between the check and the act. */
static int check_not_mountpoint(int pfd, const char *last)
{
	struct statx sx;
	if (statx(pfd, last, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, 0, &sx) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return -EBUSY; /* cannot tell: refuse */
	return sx.stx_attributes & STATX_ATTR_MOUNT_ROOT ? -EBUSY : 0;
}

/* mkdir, rmdir/unlink, rename: done by the broker on the parent
 * directories it resolved, with the box's ids; the answer is the result. */
static void handle_dirop(struct req *q, uint64_t id)
{
	const struct seccomp_notif *n = q->n;
	struct broker *b = q->b;
	int nr = n->data.nr;
	int dirfd = q->c->dir >= 0 ? (int)n->data.args[q->c->dir] : AT_FDCWD;
	char norm[PATH_MAX], norm2[PATH_MAX], last[PATH_MAX], last2[PATH_MAX];
	q->how = ACCESS_CREATE | (q->c->op == OP_MKDIR ? ACCESS_DIR : 0);
	int pfd = resolve_parent(q, dirfd, b->path, norm, sizeof(norm), last, sizeof(last));
	if (pfd == LEAVE_TO_KERNEL) {
		leave_to_kernel(b, id);
		return;
	}
	int r = pfd < 0 ? pfd : ask_at(q, pfd, last, norm);
	if (r == 0 && q->c->op == OP_MKDIR) {
		mode_t mode = (mode_t)n->data.args[nr == __NR_mkdir ? 1 : 2] & 07777;
		r = mkdirat(pfd, last, mode & ~box_umask(q->pid)) < 0 ? -errno : 0;
		if (r == 0)
			allowed(q, pfd, last, ACCESS_CREATE | ACCESS_DIR);
	} else if (r == 0 && q->c->op == OP_UNLINK) {
		int fl = nr == __NR_rmdir ? AT_REMOVEDIR
			 : nr == __NR_unlinkat ? (int)n->data.args[2] : 0;
		r = check_not_mountpoint(pfd, last);
		if (r == 0)
			r = unlinkat(pfd, last, fl) < 0 ? -errno : 0;
		if (r == 0)
			allowed(q, pfd, last, ACCESS_CREATE);
	} else if (r == 0) {
		/* rename(old, new), renameat(od, old, nd, new[, flags]) */
		int newdir = nr == __NR_rename ? AT_FDCWD : (int)n->data.args[2];
		unsigned fl = nr == __NR_renameat2 ? (unsigned)n->data.args[4] : 0;
		bool was_vfile = q->is_vfile;
		int pfd2 = resolve_parent(q, newdir, b->path2, norm2, sizeof(norm2), last2, sizeof(last2));
		if (pfd2 == LEAVE_TO_KERNEL) {
			close(pfd);
			leave_to_kernel(b, id);
			return;
		}
		if (pfd2 < 0) {
			r = pfd2;
		} else {
			/* In the kernel's order: EXDEV, then EEXIST for
			 * RENAME_NOREPLACE (mv relies on it), then EBUSY. */
			struct statx m1, m2, t;
			if (statx(pfd, "", AT_EMPTY_PATH, STATX_MNT_ID, &m1) < 0 ||
			    statx(pfd2, "", AT_EMPTY_PATH, STATX_MNT_ID, &m2) < 0)
				r = -errno;
			else if (m1.stx_mnt_id != m2.stx_mnt_id)
				r = -EXDEV;
			else if ((fl & RENAME_NOREPLACE) &&
				 statx(pfd2, last2, AT_SYMLINK_NOFOLLOW, 0, &t) == 0)
				r = -EEXIST;
			if (r == 0)
				r = check_not_mountpoint(pfd, last);
			if (r == 0)
				r = check_not_mountpoint(pfd2, last2);
			if (r == 0)
				r = ask_at(q, pfd2, last2, norm2);
			if (r == 0)
				r = syscall(SYS_renameat2, pfd, last, pfd2, last2, fl) < 0 ? -errno : 0;
			if (r == 0) {
				allowed(q, pfd, last, ACCESS_CREATE);
				allowed(q, pfd2, last2, ACCESS_CREATE);
			}
			close(pfd2);
		}
		if (!was_vfile && q->is_vfile)
			r = -EROFS;
	}
	if (pfd >= 0)
		close(pfd);
	if (r < 0)
		record(q, norm, -r);
	(void)send_resp(b, id, 0, r < 0 ? -r : 0, 0);
}

/* link(old, new), linkat(od, old, nd, new, flags): a new name for a
 * file is a read of the file (the box may open it by the new name) and a
 * create of the name. Under ask rules both are asked, the file as the
 * broker resolved it: without this, `ln /p/private/key /p/key; cat
 * /p/key` read a file under `ask /p/private` without asking. The broker
 * links the very inode it resolved into the parent it resolved (the
 * kernel resolving the path again would let the box swap it after the
 * check), with the box's ids, through /proc/self/fd (AT_EMPTY_PATH needs
 * CAP_DAC_READ_SEARCH). The kernel's own checks (protected_hardlinks,
 * EXDEV across mounts, read-only mounts) apply as to any link. */
static void handle_link(struct req *q, uint64_t id)
{
	const struct seccomp_notif *n = q->n;
	struct broker *b = q->b;
	bool at = n->data.nr == __NR_linkat;
	int olddir = at ? (int)n->data.args[0] : AT_FDCWD;
	int newdir = at ? (int)n->data.args[2] : AT_FDCWD;
	int fl = at ? (int)n->data.args[4] : 0;
	char norm[PATH_MAX], norm2[PATH_MAX], last2[PATH_MAX];
	if (fl & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) {
		(void)send_resp(b, id, 0, EINVAL, 0);
		return;
	}
	/* linkat(fd, "", ..., AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH in the
	 * initial user namespace, which a box never has. */
	if (!b->path[0]) {
		(void)send_resp(b, id, 0, ENOENT, 0);
		return;
	}
	q->how = ACCESS_READ;
	int fd = resolve_asked(q, id, olddir, false, O_PATH | (fl & AT_SYMLINK_FOLLOW ? 0 : O_NOFOLLOW), 0,
			       norm, sizeof(norm));
	if (fd == LEAVE_TO_KERNEL)
		return;
	if (fd == -EEXIST && q->is_vfile)
		fd = -EXDEV; /* a memfd: on no mount of the box */
	if (fd < 0) {
		refuse(q, id, norm, -fd);
		return;
	}
	q->how = ACCESS_CREATE;
	int pfd = resolve_parent(q, newdir, b->path2, norm2, sizeof(norm2), last2, sizeof(last2));
	if (pfd == LEAVE_TO_KERNEL) {
		close(fd);
		leave_to_kernel(b, id);
		return;
	}
	int r = pfd < 0 ? pfd : ask_at(q, pfd, last2, norm2);
	if (r == 0) {
		char link[64];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		r = linkat(AT_FDCWD, link, pfd, last2, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
	}
	if (r == 0) {
		allowed(q, fd, NULL, ACCESS_READ);
		allowed(q, pfd, last2, ACCESS_CREATE);
	}
	close(fd);
	if (pfd >= 0)
		close(pfd);
	if (r < 0)
		record(q, norm2, -r);
	(void)send_resp(b, id, 0, r < 0 ? -r : 0, 0);
}

/* connect/bind. Only a unix socket with a path names a file: the broker
 * reads the address once and resolves the path in the box (and asks,
 * under ask rules). Both are then left to the kernel in the box's own
 * context: a connect made by the broker would carry the controller's
 * credentials to the peer (SO_PEERCRED: ward's pid, and uid 0 as root),
 * and a bind made here would give the socket a /proc name. Every other
 * address (inet, abstract unix) is the network namespace's and Landlock's
 * business, not a file: left to the kernel as well. A box racing to
 * rewrite its address after the check loses only the audit record: the
 * kernel's own checks still decide. */
static void handle_sock(struct req *q, uint64_t id)
{
	const struct seccomp_notif *n = q->n;
	struct broker *b = q->b;
	int len = (int)n->data.args[2];
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	size_t want = len > 0 && (size_t)len < sizeof(sun) ? (size_t)len : sizeof(sun);
	struct iovec local = {&sun, want};
	struct iovec remote = {(void *)(uintptr_t)n->data.args[1], want};
	bool got = len > (int)offsetof(struct sockaddr_un, sun_path) &&
		   process_vm_readv(q->pid, &local, 1, &remote, 1, 0) == (ssize_t)want;
	if (!id_valid(b, n->id))
		return;
	if (!got || sun.sun_family != AF_UNIX || !sun.sun_path[0]) {
		(void)send_resp(b, id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
		return;
	}
	size_t plen = strnlen(sun.sun_path, want - offsetof(struct sockaddr_un, sun_path));
	memcpy(b->path, sun.sun_path, plen);
	b->path[plen] = 0;

	char norm[PATH_MAX], last[PATH_MAX];
	if (q->c->op == OP_BIND) {
		q->how = ACCESS_CREATE;
		int pfd = resolve_parent(q, AT_FDCWD, b->path, norm, sizeof(norm), last, sizeof(last));
		if (pfd == LEAVE_TO_KERNEL) {
			leave_to_kernel(b, id);
			return;
		}
		int r = pfd < 0 ? pfd : ask_at(q, pfd, last, norm);
		if (r == 0)
			allowed(q, pfd, last, ACCESS_CREATE);
		if (pfd >= 0)
			close(pfd);
		if (r < 0) {
			refuse(q, id, norm, -r);
			return;
		}
		(void)send_resp(b, id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
		return;
	}

	q->how = ACCESS_WRITE;
	int fd = resolve_asked(q, id, AT_FDCWD, false, O_PATH, 0, norm, sizeof(norm));
	if (fd == LEAVE_TO_KERNEL)
		return;
	if (fd == -EEXIST && q->is_vfile)
		fd = -ECONNREFUSED;
	if (fd < 0) {
		refuse(q, id, norm, -fd);
		return;
	}
	/* The connect itself is the kernel's, in the box's context: made by
	 * the broker, it would carry the controller's credentials
	 * (SO_PEERCRED: ward's pid and, as root, uid 0), which a daemon
	 * behind a granted socket could trust. The static layers decide it;
	 * a box racing to rewrite the address after this check only loses its
	 * audit record (as for bind). */
	/* Connecting needs write permission on the socket file: refuse (and
	 * record) what the kernel would refuse, with the box's fsuid. */
	int r = syscall(SYS_faccessat2, fd, "", W_OK, AT_EMPTY_PATH | AT_EACCESS) < 0 ? -errno : 0;
	if (r == 0)
		allowed(q, fd, NULL, ACCESS_WRITE);
	close(fd);
	if (r < 0) {
		refuse(q, id, norm, -r);
		return;
	}
	(void)send_resp(b, id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

static void handle(struct broker *b, const struct seccomp_notif *n)
{
	const struct call *c = NULL;
	for (size_t i = 0; i < ELEMENTSOF(calls) && !c; i++)
		if (calls[i].nr == n->data.nr)
			c = &calls[i];
	if (!c || n->data.arch != AUDIT_ARCH_X86_64) {
		(void)send_resp(b, n->id, 0, ENOSYS, 0);
		return;
	}
	struct req q = {.b = b, .n = n, .c = c, .pid = (pid_t)n->pid, .first = !b->seen_first};
	b->seen_first = true;
	if (c->op == OP_OPEN2) {
		(void)send_resp(b, n->id, 0, ENOSYS, 0);
		return;
	}
	if (b->rootfd < 0) {
		char link[64];
		snprintf(link, sizeof(link), "/proc/%d/root", q.pid);
		b->rootfd = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (b->rootfd >= 0 && !id_valid(b, n->id)) {
			close(b->rootfd);
			b->rootfd = -1;
		}
		if (b->rootfd < 0) {
			(void)send_resp(b, n->id, 0, EIO, 0);
			return;
		}
	}
	if (c->op == OP_CONNECT || c->op == OP_BIND) {
		handle_sock(&q, n->id);
		return;
	}
	int r = fetch(&q);
	if (r == -ESRCH)
		return; /* the caller is gone */
	if (r < 0) {
		(void)send_resp(b, n->id, 0, -r, 0);
		return;
	}
	switch (c->op) {
	case OP_OPEN: handle_open(&q, n->id); break;
	case OP_STAT:
	case OP_STATX: handle_stat(&q, n->id); break;
	case OP_ACCESS: handle_access(&q, n->id); break;
	case OP_READLINK: handle_readlink(&q, n->id); break;
	case OP_EXEC: handle_exec(&q, n->id); break;
	case OP_MKDIR:
	case OP_UNLINK:
	case OP_RENAME: handle_dirop(&q, n->id); break;
	case OP_LINK: handle_link(&q, n->id); break;
	case OP_CONNECT:
	case OP_BIND: break;
	case OP_OPEN2: break;
	}
}

/* ---- the thread -------------------------------------------------------- */

static int recv_listener(struct broker *b)
{
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	ssize_t k = recvmsg(b->sock[0], &msg, MSG_CMSG_CLOEXEC);
	struct cmsghdr *c = k == 1 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EPROTO;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static void *broker_thread(void *arg)
{
	struct broker *b = arg;
	/* Files are opened with the box's ids: as root, fsuid/fsgid of the
	 * box's host uid and no supplementary groups (this thread only: the
	 * raw syscalls, not glibc's process-wide wrappers). setfsuid away
	 * from 0 also drops CAP_DAC_OVERRIDE and the other file caps. A
	 * private umask: the box's own is applied by hand on create. */
	if (geteuid() == 0) {
		syscall(SYS_setgroups, 0, NULL);
		syscall(SYS_setfsgid, b->fsgid);
		syscall(SYS_setfsuid, b->fsuid);
		/* And of root's capabilities only CAP_SYS_PTRACE stays
		 * effective in this thread (capset is per thread): it reads and
		 * writes the box's memory (process_vm_readv, /proc/PID/mem) and
		 * reads its /proc/PID/{cwd,fd}. Nothing
		 * else may help a file call succeed that the box's own would
		 * not (and /proc is left to the kernel, see LEAVE_TO_KERNEL). */
		struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
		struct __user_cap_data_struct d[2];
		if (syscall(SYS_capget, &h, d) == 0) {
			d[0].effective = 1u << CAP_SYS_PTRACE;
			d[1].effective = 0;
			(void)syscall(SYS_capset, &h, d);
		}
	}
	if (unshare(CLONE_FS) == 0)
		umask(0);

	struct pollfd pf[2] = {{b->sock[0], POLLIN, 0}, {b->stop[0], POLLIN, 0}};
	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (pf[1].revents)
			return NULL;
		if (pf[0].revents) {
			int fd = recv_listener(b);
			if (fd < 0)
				return NULL; /* the box died before sending it */
			b->listener = fd;
			break;
		}
	}
	/* Wake this thread on the CPU of the box's calling thread (6.6+):
	 * the round trip then costs a few microseconds instead of a
	 * cross-CPU wake-up (bench/README.md). Older kernels: ignored. */
	(void)ioctl(b->listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);

	struct seccomp_notif n;
	pf[0] = (struct pollfd){b->listener, POLLIN, 0};
	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (pf[1].revents)
			return NULL;
		if (pf[0].revents & POLLIN) {
			memset(&n, 0, sizeof(n));
			if (ioctl(b->listener, SECCOMP_IOCTL_NOTIF_RECV, &n) == 0)
				handle(b, &n);
			continue;
		}
		/* POLLHUP: every process of the box is gone. */
		if (pf[0].revents)
			return NULL;
	}
}

int broker_start(struct broker *b, struct err *e)
{
	close(b->sock[1]);
	b->sock[1] = -1;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(&b->thread, NULL, broker_thread, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return err_errno(e, r, "cannot start the broker thread");
	b->started = true;
	return 0;
}

void broker_stop(struct broker *b, struct run_result *ret)
{
	broker_join(b);
	memcpy(ret->denials, b->denials, sizeof(b->denials[0]) * b->n_denials);
	ret->n_denials = b->n_denials;
	ret->denials_dropped = b->dropped;
	ret->layers |= LAYER_BROKER;
}
