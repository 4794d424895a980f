/* broker/stat.c — the calls answered with what the broker found: stat,
 * lstat, newfstatat and statx (the struct written into the caller's
 * buffer), access (faccessat2 with the box's fsuid) and readlink (the
 * target written into the caller's buffer), each on the O_PATH fd the
 * broker resolved. */
#include <fcntl.h>

#include "internal.h"

/* Owners as the box's user namespace shows them: its one mapped uid/gid,
 * everything else the overflow id. */
static uid_t box_uid(const struct broker *b, uid_t uid)
{
	return uid == b->fsuid ? BOX_UID : NOBODY_UID;
}

static gid_t box_gid(const struct broker *b, gid_t gid)
{
	return gid == b->fsgid ? BOX_GID : NOBODY_GID;
}

/* The O_PATH fd a stat-like call names (a copy of a virtual file's
 * memfd), or -1 when the call is answered already. */
static int stat_open(struct req *q)
{
	char norm[PATH_MAX];
	q->how = ACCESS_READ;
	int fd = broker_resolve_at(q, norm, sizeof(norm));
	if (fd == LEAVE_TO_KERNEL)
		return -1;
	if (fd == -EEXIST && q->is_vfile)
		fd = fcntl(q->b->files[q->vfile].memfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		broker_refuse(q, norm, -fd);
		return -1;
	}
	return fd;
}

/* Writes len bytes at data into the caller's buffer unless r failed,
 * closes fd and answers. */
static void stat_reply(struct req *q, int fd, int r, const void *data, size_t len, bool dir)
{
	if (r == 0)
		r = broker_write_box(q, q->buf, data, len);
	if (r == 0)
		broker_allowed(q, fd, NULL, ACCESS_READ | (dir ? ACCESS_DIR : 0));
	close(fd);
	(void)broker_reply(q->b, q->id, 0, r < 0 ? -r : 0, 0);
}

/* A virtual file is always reported 0444: an unprivileged box owns the
 * memfd's inode (its uid is the caller's) and may fchmod it; its seals,
 * not its mode, keep it read-only. */
#define VFILE_MODE (S_IFREG | 0444)

/* stat, lstat, newfstatat: struct stat as the box sees it. */
void broker_on_stat(struct req *q)
{
	struct stat st;
	int fd = stat_open(q);
	if (fd < 0)
		return;
	int r = fstat(fd, &st) < 0 ? -errno : 0;
	st.st_mode = q->is_vfile ? VFILE_MODE : st.st_mode;
	st.st_uid = box_uid(q->b, st.st_uid);
	st.st_gid = box_gid(q->b, st.st_gid);
	stat_reply(q, fd, r, &st, sizeof(st), S_ISDIR(st.st_mode));
}

/* statx: the same, as struct statx, with the caller's mask and sync type. */
void broker_on_statx(struct req *q)
{
	struct statx sx;
	int fd = stat_open(q);
	if (fd < 0)
		return;
	int atfl = AT_EMPTY_PATH | (q->flags & AT_STATX_SYNC_TYPE);
	int r = statx(fd, "", atfl, q->mask, &sx) < 0 ? -errno : 0;
	sx.stx_mode = q->is_vfile ? VFILE_MODE : sx.stx_mode;
	sx.stx_uid = box_uid(q->b, sx.stx_uid);
	sx.stx_gid = box_gid(q->b, sx.stx_gid);
	stat_reply(q, fd, r, &sx, sizeof(sx), S_ISDIR(sx.stx_mode));
}

void broker_on_access(struct req *q)
{
	int mode = (int)q->mode;
	char norm[PATH_MAX];
	broker_access_mode_str(mode, q->flagstr, sizeof(q->flagstr));
	if (mode & ~7) {
		(void)broker_reply(q->b, q->id, 0, EINVAL, 0);
		return;
	}
	q->how = (mode & W_OK ? ACCESS_WRITE : 0) | (mode & X_OK ? ACCESS_EXEC : 0);
	if (!q->how || (mode & R_OK))
		q->how |= ACCESS_READ;
	int fd = broker_resolve_at(q, norm, sizeof(norm));
	if (fd == LEAVE_TO_KERNEL)
		return;
	int r = fd;
	if (fd == -EEXIST && q->is_vfile)
		r = mode & W_OK ? -EROFS : mode & X_OK ? -EACCES : 0;
	else if (fd >= 0)
		r = broker_may_close(q, fd, mode, ACCESS_READ);
	broker_answer(q, norm, r);
}

void broker_on_readlink(struct req *q)
{
	char norm[PATH_MAX];
	if (q->size <= 0) {
		(void)broker_reply(q->b, q->id, 0, EINVAL, 0);
		return;
	}
	q->how = ACCESS_READ;
	int fd = broker_resolve_asked(q, true, O_PATH | O_NOFOLLOW, norm, sizeof(norm));
	if (fd == LEAVE_TO_KERNEL)
		return;
	if (fd == -EEXIST && q->is_vfile)
		fd = -EINVAL;
	if (fd < 0) {
		broker_refuse(q, norm, -fd);
		return;
	}
	char target[PATH_MAX];
	ssize_t k = readlinkat(fd, "", target, sizeof(target));
	int er = errno;
	/* readlinkat(fd, "") says ENOENT for what is no symlink, readlink
	 * of a path naming one says EINVAL: realpath(3) takes EINVAL for
	 * "not a link" and goes on, ENOENT for a missing file. */
	if (k < 0 && er == ENOENT && q->path[0])
		er = EINVAL;
	if (k < 0) {
		close(fd);
		(void)broker_reply(q->b, q->id, 0, er, 0);
		return;
	}
	if (k > q->size)
		k = q->size;
	int r = broker_write_box(q, q->buf, target, (size_t)k);
	if (r == 0)
		broker_allowed(q, fd, NULL, ACCESS_READ);
	close(fd);
	(void)broker_reply(q->b, q->id, r < 0 ? 0 : k, r < 0 ? -r : 0, 0);
}
