/* broker/names.c — the calls that act on a name in a directory: mkdir,
 * rmdir/unlink, rename and link, done by the broker itself on the parent
 * directories it resolved (mkdirat/unlinkat/renameat2/linkat on those
 * fds), with the box's ids; the answer is the result. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>

#include "internal.h"

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

/* The parent directory of (dirfd, path), its last name into last: an
 * O_PATH fd, or -errno, or LEAVE_TO_KERNEL (answered). */
static int parent(struct req *q, int dirfd, const char *path, char *norm, char *last)
{
	int pfd = broker_resolve_parent(q, dirfd, path, norm, PATH_MAX, last, PATH_MAX);
	if (pfd == LEAVE_TO_KERNEL)
		broker_continue(q);
	return pfd;
}

/* Closes pfd (if open) and answers r. */
static void done(struct req *q, int pfd, const char *norm, int r)
{
	if (pfd >= 0)
		close(pfd);
	broker_answer(q, norm, r);
}

void broker_on_mkdir(struct req *q)
{
	char norm[PATH_MAX], last[PATH_MAX];
	q->how = ACCESS_CREATE | ACCESS_DIR;
	int pfd = parent(q, q->dirfd, q->path, norm, last);
	if (pfd == LEAVE_TO_KERNEL)
		return;
	int r = pfd < 0 ? pfd : broker_ask_at(q, pfd, last, norm);
	if (r == 0) {
		mode_t mode = (mode_t)q->mode & 07777;
		r = mkdirat(pfd, last, mode & ~broker_box_umask(q->pid)) < 0 ? -errno : 0;
	}
	if (r == 0)
		broker_allowed(q, pfd, last, ACCESS_CREATE | ACCESS_DIR);
	done(q, pfd, norm, r);
}

/* unlink, rmdir (q->flags AT_REMOVEDIR), unlinkat. */
void broker_on_unlink(struct req *q)
{
	char norm[PATH_MAX], last[PATH_MAX];
	q->how = ACCESS_CREATE;
	int pfd = parent(q, q->dirfd, q->path, norm, last);
	if (pfd == LEAVE_TO_KERNEL)
		return;
	int r = pfd < 0 ? pfd : broker_ask_at(q, pfd, last, norm);
	if (r == 0)
		r = check_not_mountpoint(pfd, last);
	if (r == 0)
		r = unlinkat(pfd, last, q->flags) < 0 ? -errno : 0;
	if (r == 0)
		broker_allowed(q, pfd, last, ACCESS_CREATE);
	done(q, pfd, norm, r);
}

/* renameat2 from (pfd, last) to (pfd2, last2), with the kernel's checks
 * in the kernel's order: EXDEV, then EEXIST for RENAME_NOREPLACE (mv
 * relies on it), then EBUSY; the new name asked about last. */
static int rename_at(struct req *q, int pfd, const char *last, int pfd2, const char *last2,
		     const char *norm2)
{
	unsigned fl = (unsigned)q->flags;
	struct statx m1, m2, t;
	int r = 0;
	if (statx(pfd, "", AT_EMPTY_PATH, STATX_MNT_ID, &m1) < 0 ||
	    statx(pfd2, "", AT_EMPTY_PATH, STATX_MNT_ID, &m2) < 0)
		r = -errno;
	else if (m1.stx_mnt_id != m2.stx_mnt_id)
		r = -EXDEV;
	else if ((fl & RENAME_NOREPLACE) && statx(pfd2, last2, AT_SYMLINK_NOFOLLOW, 0, &t) == 0)
		r = -EEXIST;
	if (r == 0)
		r = check_not_mountpoint(pfd, last);
	if (r == 0)
		r = check_not_mountpoint(pfd2, last2);
	if (r == 0)
		r = broker_ask_at(q, pfd2, last2, norm2);
	if (r == 0)
		r = syscall(SYS_renameat2, pfd, last, pfd2, last2, fl) < 0 ? -errno : 0;
	if (r == 0) {
		broker_allowed(q, pfd, last, ACCESS_CREATE);
		broker_allowed(q, pfd2, last2, ACCESS_CREATE);
	}
	return r;
}

/* rename, renameat, renameat2: both names asked about as creates. */
void broker_on_rename(struct req *q)
{
	char norm[PATH_MAX], norm2[PATH_MAX], last[PATH_MAX], last2[PATH_MAX];
	q->how = ACCESS_CREATE;
	q->tree = true;
	int pfd = parent(q, q->dirfd, q->path, norm, last);
	if (pfd == LEAVE_TO_KERNEL)
		return;
	int r = pfd < 0 ? pfd : broker_ask_at(q, pfd, last, norm);
	if (r == 0) {
		int pfd2 = parent(q, q->dirfd2, q->path2, norm2, last2);
		if (pfd2 == LEAVE_TO_KERNEL) {
			close(pfd);
			return;
		}
		r = pfd2 < 0 ? pfd2 : rename_at(q, pfd, last, pfd2, last2, norm2);
		if (pfd2 >= 0)
			close(pfd2);
	}
	done(q, pfd, norm, r);
}

/* The file a link names, asked about as a read: an O_PATH fd, or -errno,
 * or LEAVE_TO_KERNEL (answered). Under ask rules nothing is left to the
 * kernel, which would make the new name unasked: the caller's own fd
 * link followed (`linkat(AT_FDCWD, "/proc/self/fd/3", ..., new,
 * AT_SYMLINK_FOLLOW)`, the way to name an O_TMPFILE file) is opened and
 * linked by the broker like any file; any other /proc path (no file of
 * the box's tree, or the link itself without AT_SYMLINK_FOLLOW, which
 * the kernel refuses anyway) is refused. */
static int link_source(struct req *q, char *norm, size_t cap)
{
	bool follow = q->flags & AT_SYMLINK_FOLLOW;
	q->own_fd = q->b->ask.n && follow;
	int fd = broker_resolve(q, false, O_PATH | (follow ? 0 : O_NOFOLLOW), 0, norm, cap);
	q->own_fd = false;
	if (fd == LEAVE_TO_KERNEL && !q->b->ask.n) {
		broker_continue(q);
		return LEAVE_TO_KERNEL;
	}
	if (fd == LEAVE_TO_KERNEL) {
		q->reason = "a link from /proc under ask rules";
		return -EACCES;
	}
	return broker_ask_fd_or_close(q, fd, norm);
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
void broker_on_link(struct req *q)
{
	char norm[PATH_MAX], norm2[PATH_MAX], last2[PATH_MAX];
	if (q->flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) {
		(void)broker_reply(q->b, q->id, 0, EINVAL, 0);
		return;
	}
	/* linkat(fd, "", ..., AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH in the
	 * initial user namespace, which a box never has. */
	if (!q->path[0]) {
		(void)broker_reply(q->b, q->id, 0, ENOENT, 0);
		return;
	}
	q->how = ACCESS_READ;
	int fd = link_source(q, norm, sizeof(norm));
	if (fd == LEAVE_TO_KERNEL)
		return;
	if (fd == -EEXIST && q->is_vfile)
		fd = -EXDEV; /* a memfd: on no mount of the box */
	if (fd < 0) {
		broker_refuse(q, norm, -fd);
		return;
	}
	q->how = ACCESS_CREATE;
	int pfd = parent(q, q->dirfd2, q->path2, norm2, last2);
	if (pfd == LEAVE_TO_KERNEL) {
		close(fd);
		return;
	}
	int r = pfd < 0 ? pfd : broker_ask_at(q, pfd, last2, norm2);
	if (r == 0) {
		char link[64];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		r = linkat(AT_FDCWD, link, pfd, last2, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
	}
	if (r == 0) {
		broker_allowed(q, fd, NULL, ACCESS_READ);
		broker_allowed(q, pfd, last2, ACCESS_CREATE);
	}
	close(fd);
	done(q, pfd, norm2, r);
}
