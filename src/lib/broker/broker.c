/* broker/broker.c — the controller as broker (seccomp user notification):
 * its set-up before the box is cloned, and its tear-down.
 *
 * When the policy asks for it (audit, virtual files, ask rules), the program's
 * process stacks a second seccomp filter over the precompiled allowlist
 * (which stays as it is): the path-taking calls of calls.h go to the
 * controller (SECCOMP_RET_USER_NOTIF) instead of the kernel. The filter
 * is made with SECCOMP_FILTER_FLAG_NEW_LISTENER in box_exec (filter.c);
 * its listener travels to the controller over a socketpair (SCM_RIGHTS)
 * before execve, so the box never holds it while untrusted code runs.
 *
 * A thread of the controller (thread.c) answers each notification:
 *   1. reads the path from the box's memory once (process_vm_readv), then
 *      checks SECCOMP_IOCTL_NOTIF_ID_VALID: the pid still is the caller
 *      (calls.c, which decodes the whole notification there, once);
 *   2. makes it absolute in the box (a relative path is joined to the
 *      caller's cwd or dirfd as /proc/PID/{cwd,fd/N} names them in the
 *      box), and resolves it itself in the box's root with openat2
 *      (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): the same mount tree the
 *      box sees, so every grant, bind and read-only flag applies, and a
 *      symlink the box planted cannot lead the controller out of it
 *      (CVE-2024-28185: a privileged supervisor following a box symlink).
 *      It opens with the box's host uid/gid as fsuid/fsgid, never with the
 *      controller's own (root would pass every permission check) (path.c);
 *   3. answers with the fd it opened (SECCOMP_IOCTL_NOTIF_ADDFD with
 *      SECCOMP_ADDFD_FLAG_SEND), with a result it wrote into the box's
 *      memory (stat, readlink), or with an errno (reply.c).
 * It never answers an open or a stat with SECCOMP_USER_NOTIF_FLAG_CONTINUE:
 * the kernel would read the path again from memory the box can change
 * between our check and its use (TOCTOU). The one exception is execve:
 * there is no way to exec on the box's behalf, so the broker audits it
 * (and refuses what it can tell will fail, an exec outside the exec list
 * included: see exec.c) and then lets the kernel decide with the
 * static layers (mount namespace, Landlock, permissions)
 * — the broker never widens what they allow.
 *
 * /proc is the exception: see LEAVE_TO_KERNEL in path.c.
 *
 * Stat-like calls are answered by fstat()ing the O_PATH fd the broker
 * resolved and writing the struct into the caller's buffer through
 * /proc/PID/mem, opened before the notification is checked
 * (broker_write_box); readlink the same way; access by faccessat2 on that
 * fd with the box's fsuid (stat.c). openat2 is answered ENOSYS (its
 * RESOLVE_* flags are relative to the box's dirfd): libcs and runtimes
 * fall back to openat.
 *
 * mkdir, rmdir/unlink, rename and link are done by the broker itself on
 * the parent directories it resolved (names.c). An O_PATH open is
 * checked, then left to the kernel (open.c). connect/bind on unix sockets
 * with a path: sock.c.
 *
 * Not mediated yet: the other path-taking calls (chdir, truncate, chmod,
 * symlink, xattrs, ...). A symlink grants nothing by itself: what opens
 * through it is resolved (and asked about) by the broker.
 * The static layers alone govern them. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "internal.h"

/* memfd_create flag (Linux 6.3; Debian 12's headers predate it): the
 * memfd is not executable and cannot be made so (F_SEAL_EXEC). */
#define WARD_MFD_NOEXEC_SEAL 0x0008U

/* The biggest virtual file. */
#define MAX_VFILE_SIZE (64u << 20)

bool broker_needed(const struct policy *p, bool on_access)
{
	return p->audit || p->n_files || p->ask.n || on_access;
}

int broker_box_fd(const struct broker *b)
{
	return b->sock[1];
}

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

/* The socket the box's listener comes over, and the stop pipe. */
static int open_socket(struct broker *b, struct err *e)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, b->sock) < 0 ||
	    pipe2(b->stop, O_CLOEXEC) < 0)
		return err_errno(e, errno, "cannot create the broker's socket");
	/* The box's end must survive box_exec moving its stdio to 0-2 and
	 * the error pipe to 3 (a caller with stdin closed would otherwise
	 * get it at 3): keep it above them. */
	int high = fcntl(b->sock[1], F_DUPFD_CLOEXEC, 10);
	if (high < 0)
		return err_errno(e, errno, "cannot create the broker's socket");
	close(b->sock[1]);
	b->sock[1] = high;
	return 0;
}

/* The virtual files' box paths and memfds. */
static int open_files(struct broker *b, const struct vfile *files, size_t n, struct err *e)
{
	b->files = calloc(n ? n : 1, sizeof(*b->files));
	if (!b->files)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		b->files[i].memfd = -1;
		b->n_files = i + 1;
		/* analyzer: the copy is b's (n_files counts it): broker_free frees it */
		if (!(b->files[i].box = strdup(files[i].box)))
			return -ENOMEM;
		int r = vfile_memfd(&files[i], e);
		if (r < 0)
			return r;
		b->files[i].memfd = r;
	}
	return 0;
}

int broker_new(struct broker **ret, const struct broker_config *c, struct err *e)
{
	struct broker *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	*b = (struct broker){.sock = {-1, -1}, .stop = {-1, -1}, .listener = -1, .rootfd = -1,
			     .fsuid = c->fsuid, .fsgid = c->fsgid, .on_access = c->on_access,
			     .access_ctx = c->access_ctx, .ask_fn = c->ask_fn, .ask_ctx = c->ask_ctx};
	int r = open_socket(b, e);
	for (size_t i = 0; r == 0 && i < c->mounts->n; i++)
		r = strv_push(&b->granted, c->mounts->e[i].dst);
	if (r == 0)
		r = strv_copy(&b->ask, c->ask);
	if (r == 0)
		r = strv_copy(&b->exec, c->exec);
	if (r == 0)
		r = open_files(b, c->files, c->n_files, e);
	if (r < 0) {
		broker_free(b);
		return r;
	}
	*ret = b;
	return 0;
}

void broker_free(struct broker *b)
{
	if (!b)
		return;
	broker_stop(b);
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

const struct denial *broker_denials(const struct broker *b, unsigned *ret_n, uint64_t *ret_dropped)
{
	*ret_n = b->n_denials;
	*ret_dropped = b->dropped;
	return b->denials;
}
