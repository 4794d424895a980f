/* broker/path.c — a box path as the broker resolves it: made absolute in
 * the box (a relative one is joined to the caller's cwd or dirfd, as
 * /proc/PID/{cwd,fd/N} names them), then opened in the box's root with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) and the box's ids, so
 * that every grant, bind and read-only flag applies and a symlink the box
 * planted cannot lead out of it (CVE-2024-28185). */
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "internal.h"

/* The box's root, opened once from /proc/PID/root of the first caller
 * (the box cannot chroot or pivot_root). 0, or -EIO. */
int broker_open_root(struct broker *b, pid_t pid, uint64_t id)
{
	if (b->rootfd >= 0)
		return 0;
	char link[64];
	snprintf(link, sizeof(link), "/proc/%d/root", pid);
	b->rootfd = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (b->rootfd >= 0 && !broker_id_valid(b, id)) {
		close(b->rootfd);
		b->rootfd = -1;
	}
	return b->rootfd < 0 ? -EIO : 0;
}

/* One field ("Tgid:", "Umask:") of /proc/PID/status: the last number
 * on its line (for NStgid: the innermost pid namespace's view; Tgid is
 * our /proc's, the host's). */
long broker_status_field(pid_t pid, const char *key, int base)
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
mode_t broker_box_umask(pid_t pid)
{
	long um = broker_status_field(pid, "\nUmask:", 8);
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
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE, resolutions return LEAVE_TO_KERNEL):
 * that grants nothing beyond the static layers, and a box racing to
 * rewrite the path meanwhile only loses its audit record. Under ask
 * rules they go through broker_proc_check first (ask.c). */
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

/* openat2 in the box's root. With RESOLVE_IN_ROOT the kernel fails a
 * resolution through ".." with EAGAIN when any rename or mount anywhere
 * on the host (rename_lock, mount_lock) moved meanwhile (openat2(2),
 * ERRORS), which plain open never does: under concurrent runs a
 * compiler's "/usr/lib/gcc/../../include/x.h" failed with EAGAIN instead
 * of ENOENT. So retry, a bounded number of times (each try is a fresh
 * resolution; the kernel's own answer after that). */
#define OPENAT2_TRIES 8

int broker_open_in_box(struct broker *b, const char *path, uint64_t flags, uint64_t mode)
{
	struct open_how how = {.flags = flags | O_CLOEXEC, .mode = mode,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = -1;
	for (int i = 0; i < OPENAT2_TRIES; i++) {
		fd = (int)syscall(SYS_openat2, b->rootfd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd < 0 ? -errno : fd;
}

/* May the box access what fd names with mode (R_OK, W_OK, X_OK)? 0 or
 * -errno: faccessat2 with AT_EACCESS, that is with our fsuid (the box's
 * uid), not our real uid. */
int broker_may(int fd, int mode)
{
	return syscall(SYS_faccessat2, fd, "", mode, AT_EMPTY_PATH | AT_EACCESS) < 0 ? -errno : 0;
}

/* broker_may for the fd a call resolved, which is closed; --learn hears
 * of it (how) when the box may. */
int broker_may_close(struct req *q, int fd, int mode, unsigned how)
{
	int r = broker_may(fd, mode);
	if (r == 0)
		broker_allowed(q, fd, NULL, how);
	close(fd);
	return r;
}

/* The box path of an fd the broker opened in the box's root. The box's
 * mount tree is unreachable from the controller's root, so the kernel
 * prints the fd's path from the box's root (what box_base relies on for
 * /proc/PID/cwd as well). */
bool broker_fd_box_path(int fd, char *out, size_t cap)
{
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t k = readlink(link, out, cap - 1);
	if (k <= 0 || out[0] != '/')
		return false;
	out[k] = 0;
	return true;
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

/* broker_open_in_box, unless what it opened is on procfs (a symlink the
 * box made led there): then LEAVE_TO_KERNEL. */
static int open_not_proc(struct broker *b, const char *path, uint64_t oflags, uint64_t mode)
{
	int fd = broker_open_in_box(b, path, oflags, mode);
	if (fd >= 0 && on_procfs(fd)) {
		close(fd);
		return LEAVE_TO_KERNEL;
	}
	return fd;
}

/* For the calls that act on a name in a directory (mkdir, unlink,
 * rename, link, bind): opens the parent directory in the box's root and
 * copies the last component (with any trailing slashes) into last. The
 * operation then runs on that fd: nothing the box does to the path
 * meanwhile can redirect it. Returns an O_PATH fd or -errno. */
int broker_resolve_parent(struct req *q, int dirfd, const char *path, char *norm, size_t cap,
			  char *last, size_t lastcap)
{
	char abs[2 * PATH_MAX];
	norm[0] = 0; /* what a refusal records when we fail before absolute() */
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
		return broker_proc_check(q, abs, norm);
	snprintf(last, lastcap, "%s", s);
	if (s == abs + 1)
		s[0] = 0, abs[1] = 0; /* the parent is "/" */
	else
		s[-1] = 0;
	return open_not_proc(q->b, abs, O_PATH | O_DIRECTORY, 0);
}

/* An fd-based call (fstat is newfstatat(fd, "", AT_EMPTY_PATH)): the
 * caller's own fd (or cwd), opened through our /proc. */
static int open_callers_fd(struct req *q)
{
	char link[64];
	if (q->dirfd == AT_FDCWD)
		snprintf(link, sizeof(link), "/proc/%d/cwd", q->pid);
	else
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", q->pid, q->dirfd);
	int fd = open(link, O_PATH | O_CLOEXEC);
	if (fd >= 0 && on_procfs(fd)) {
		close(fd);
		return LEAVE_TO_KERNEL;
	}
	return fd < 0 ? (q->dirfd == AT_FDCWD ? -ENOENT : -EBADF) : fd;
}

/* Opens what the request names (q->dirfd, q->path), with oflags: a full
 * open for open, an O_PATH fd for the others; "" is the caller's fd when
 * empty_ok. Returns an fd, -EEXIST for a virtual file (the caller serves
 * it), LEAVE_TO_KERNEL or -errno; norm is the normalised absolute box
 * path (for records), or "". */
int broker_resolve(struct req *q, bool empty_ok, uint64_t oflags, uint64_t mode, char *norm,
		   size_t cap)
{
	struct broker *b = q->b;
	norm[0] = 0;
	if (!q->path[0])
		return empty_ok ? open_callers_fd(q) : -ENOENT;
	int r = absolute(q, q->dirfd, q->path, b->abs, sizeof(b->abs), norm, cap);
	if (r < 0)
		return r;
	if (q->is_vfile)
		return -EEXIST; /* the caller serves it */
	if (kernel_path(norm))
		return broker_proc_check(q, b->abs, norm);
	/* The path as given, not norm: a lexical "a/../b" is not the
	 * kernel's when a is a symlink. */
	return open_not_proc(b, b->abs, oflags, mode);
}
