/* broker/exec.c — execve and execveat. The exec cannot be done on the
 * box's behalf: the broker refuses what would fail, the exec list
 * included, then lets the kernel (mount namespace, Landlock, permissions)
 * decide. CONTINUE here grants nothing the static layers do not. */
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "internal.h"

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
	/* analyzer: built once (the first notification only, seen_first); broker_free frees it */
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
		int pfd = broker_open_in_box(b, path, O_PATH, 0);
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
 * --cpu-time.) The depth is bounded by PATH_MAX, broker_fd_box_path's
 * buffer. */
static bool exec_listed(struct broker *b, int fd)
{
	struct stat st;
	char path[PATH_MAX];
	if (fstat(fd, &st) < 0)
		return false;
	if (exec_id_known(b, &st))
		return true;
	if (!broker_fd_box_path(fd, path, sizeof(path)))
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
	int ifd = interp ? broker_open_in_box(b, interp, O_PATH, 0) : -1;
	bool listed = ifd < 0 || exec_listed(b, ifd);
	if (ifd >= 0)
		close(ifd);
	if (!listed) {
		q->reason = "its interpreter is not in the exec list";
		return -EACCES;
	}
	return 0;
}

/* execve(path), execveat(dirfd, path, ..., flags): the file resolves, the
 * box may execute it, the exec list holds it; then the kernel's turn. */
void broker_on_exec(struct req *q)
{
	char norm[PATH_MAX];
	q->how = ACCESS_EXEC;
	int fd = broker_resolve_at(q, norm, sizeof(norm));
	if (fd == LEAVE_TO_KERNEL)
		return;
	int r = fd == -EEXIST && q->is_vfile ? -EACCES : fd;
	if (fd >= 0) {
		r = broker_may(fd, X_OK);
		if (r == 0)
			r = exec_check(q, fd);
		if (r == 0)
			broker_allowed(q, fd, NULL, ACCESS_EXEC);
		close(fd);
	}
	broker_pass(q, norm, r);
}
