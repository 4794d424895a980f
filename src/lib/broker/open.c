/* broker/open.c — open, creat, openat: the broker opens the file itself
 * in the box's root, with the box's ids, and puts the fd into the
 * caller's table (SECCOMP_ADDFD_FLAG_SEND); a virtual file is a read-only
 * reopen of its memfd. */
#include <fcntl.h>
#include <stdio.h>

#include "internal.h"

/* Does an open with flags fl create a file? O_TMPFILE includes
 * O_DIRECTORY (O_TMPFILE is "a directory, and an unnamed file in it"), so
 * `fl & O_TMPFILE` is true for every directory open: test all its bits. */
static bool open_creates(int fl)
{
	return (fl & O_CREAT) || (fl & O_TMPFILE) == O_TMPFILE;
}

/* The ACCESS_* bits of an open with flags fl, ACCESS_DIR aside. */
static unsigned open_access(int fl)
{
	unsigned how = (fl & O_ACCMODE) == O_RDONLY ? ACCESS_READ
		       : (fl & O_ACCMODE) == O_WRONLY ? ACCESS_WRITE : ACCESS_READ | ACCESS_WRITE;
	return how | (open_creates(fl) ? ACCESS_CREATE : 0);
}

/* open_asked for a file that is not there yet: asked as the name in the
 * parent the broker resolved, and created there. */
static int open_asked_new(struct req *q, uint64_t of, uint64_t mode, char *norm, size_t cap)
{
	char last[PATH_MAX];
	int pfd = broker_resolve_parent(q, q->dirfd, q->path, norm, cap, last, sizeof(last));
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
		r = broker_ask_at(q, pfd, last, norm);
	if (r == 0) {
		r = openat(pfd, last, (int)of | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
		if (r < 0)
			r = -errno;
	}
	close(pfd);
	return r;
}

/* open_asked for O_TMPFILE: the kernel would make the unnamed inode in
 * the directory before the broker could ask, so the directory is
 * resolved with O_PATH and asked about (a create in it), and the file is
 * made in that very directory only after a yes. */
static int open_asked_tmpfile(struct req *q, int fl, uint64_t of, uint64_t mode, char *norm,
			      size_t cap)
{
	uint64_t pf = O_PATH | O_DIRECTORY | (uint64_t)(fl & O_NOFOLLOW);
	int dir = broker_resolve(q, false, pf, 0, norm, cap);
	if (dir < 0)
		return dir;
	int r = broker_ask_fd(q, dir, norm);
	if (r == 0) {
		r = openat(dir, ".", (int)(of & ~(uint64_t)O_NOFOLLOW) | O_CLOEXEC, (mode_t)mode);
		if (r < 0)
			r = -errno;
	}
	close(dir);
	return r;
}

/* The open of a run with ask rules: asked before anything happens. An
 * open that may create or truncate first resolves what is there with
 * O_PATH and asks; then it reopens that very inode (through
 * /proc/self/fd, so a swapped name cannot redirect it) or, for a new
 * file, asks for the name in the parent it resolved and creates it there
 * with O_NOFOLLOW. Returns what broker_resolve returns. */
static int open_asked(struct req *q, int fl, uint64_t of, uint64_t mode, char *norm, size_t cap)
{
	if ((fl & O_TMPFILE) == O_TMPFILE)
		return open_asked_tmpfile(q, fl, of, mode, norm, cap);
	if (!(fl & (O_CREAT | O_TRUNC))) {
		int fd = broker_resolve(q, false, of, mode, norm, cap);
		int r = fd >= 0 ? broker_ask_fd(q, fd, norm) : 0;
		if (r < 0) {
			close(fd);
			return r;
		}
		return fd;
	}
	uint64_t pf = O_PATH | (uint64_t)(fl & (O_NOFOLLOW | O_DIRECTORY)) |
		      (fl & O_EXCL ? O_NOFOLLOW : 0);
	int probe = broker_resolve(q, false, pf, 0, norm, cap);
	if (probe == -ENOENT && (fl & O_CREAT))
		return open_asked_new(q, of, mode, norm, cap);
	if (probe < 0)
		return probe;
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
		r = broker_ask_fd(q, probe, norm);
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

/* The flags as openat2 takes them: it refuses what open ignores (unknown
 * flags, O_PATH with other flags). */
static int open_flags(int fl)
{
	fl &= O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |
	      FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC |
	      O_SYNC | O_PATH | O_TMPFILE;
	if (fl & O_PATH)
		fl &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	return fl;
}

/* What the resolution fd becomes: a virtual file's memfd reopened
 * read-only (-EROFS for anything else), or the file with the flags
 * openat2 was not given. */
static int open_finish(struct req *q, int fd, int fl)
{
	if (fd == -EEXIST && q->is_vfile && (fl & O_DIRECTORY))
		return -ENOTDIR;
	if (fd == -EEXIST && q->is_vfile) {
		if ((fl & O_ACCMODE) != O_RDONLY || (fl & O_TRUNC) ||
		    (fl & O_TMPFILE) == O_TMPFILE ||
		    (fl & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
			return -EROFS;
		char link[64];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", q->b->files[q->vfile].memfd);
		fd = open(link, O_RDONLY | O_CLOEXEC | (fl & O_NONBLOCK)); /* O_PATH too */
		return fd < 0 ? -errno : fd;
	}
	if (fd >= 0 && !(fl & (O_NONBLOCK | O_PATH))) {
		/* One call, not F_GETFL first: every syscall here is on the
		 * box's clock. F_SETFL changes only these flags. */
		(void)fcntl(fd, F_SETFL, fl & (O_APPEND | FASYNC | O_DIRECT | O_NOATIME));
	}
	return fd;
}

void broker_on_open(struct req *q)
{
	int fl = open_flags(q->flags);
	uint64_t mode = 0;
	if (open_creates(fl))
		mode = (q->mode & 07777) & ~(uint64_t)broker_box_umask(q->pid);
	char norm[PATH_MAX];
	broker_open_flags_str(fl, q->flagstr, sizeof(q->flagstr));
	/* O_NONBLOCK: a FIFO with no writer must not stall the broker; the
	 * flag is cleared again (open_finish) unless the box asked for it. */
	uint64_t of = (uint64_t)(fl & ~O_CLOEXEC) | (fl & O_PATH ? 0 : O_NOCTTY | O_NONBLOCK);
	q->how = open_access(fl) | (fl & O_TRUNC ? ACCESS_WRITE : 0);
	int fd = q->b->ask.n ? open_asked(q, fl, of, mode, norm, sizeof(norm))
			     : broker_resolve(q, false, of, mode, norm, sizeof(norm));
	if (fd == LEAVE_TO_KERNEL) {
		broker_continue(q);
		return;
	}
	fd = open_finish(q, fd, fl);
	if (fd < 0) {
		broker_refuse(q, norm, -fd);
		return;
	}
	if ((fl & O_PATH) && !q->is_vfile) {
		/* The kernel cannot inject an O_PATH fd (ADDFD's fget skips
		 * them: EBADF). An O_PATH fd carries no access of its own:
		 * every use of it (a lookup below it, fstat, a reopen through
		 * /proc/self/fd, execveat) is brokered or checked by the kernel
		 * again, so the kernel may make this one itself. */
		broker_allowed(q, fd, NULL, ACCESS_READ);
		close(fd);
		broker_continue(q);
		return;
	}
	if (q->b->on_access) {
		struct stat st;
		unsigned dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) ? ACCESS_DIR : 0;
		broker_allowed(q, fd, NULL, open_access(fl) | dir);
	}
	broker_send_fd(q, fd, fl & O_CLOEXEC);
	close(fd);
}
