/* broker/ask.c — ask rules.
 *
 * The broker only narrows: an access under an ask prefix that the static
 * layers allow is put to the run's access handler, with the box path it
 * resolved to (not the path as the box spelled it: a symlink outside a
 * prefix that leads into one is asked, one inside that leads out is not).
 * Nothing is created, truncated, removed or connected before the answer.
 * Without a handler nobody can say yes: the access is refused. */
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>

#include <sys/stat.h>

#include "internal.h"

/* 0 when box path `path` is under no ask prefix or the handler allows
 * the access q->how; else -EACCES with the reason in q. A call that
 * moves a whole tree (q->tree: rename) also asks when a prefix lies
 * below the name: renaming /s/a to /s/b moves what `ask /s/a/secret`
 * guards out from under it (and the reverse moves content in), so it is
 * asked as a create of a directory. */
static int ask_check(struct req *q, const char *path)
{
	struct broker *b = q->b;
	bool under = false, above = false;
	for (size_t i = 0; i < b->ask.n && !under; i++) {
		under = path_is_under(path, b->ask.v[i]);
		above = above || (q->tree && path_is_under(b->ask.v[i], path));
	}
	if (!under && !above)
		return 0;
	if (!under)
		q->how |= ACCESS_CREATE | ACCESS_DIR;
	if (b->ask_fn && b->ask_fn(b->ask_ctx, path, q->how, q->call))
		return 0;
	q->reason = b->ask_fn ? "denied by the application" : "no application to ask";
	return -EACCES;
}

/* ask_check for what fd names; norm (the lexical path) when the kernel
 * cannot name it. ACCESS_DIR is added for a directory. */
int broker_ask_fd(struct req *q, int fd, const char *norm)
{
	if (!q->b->ask.n)
		return 0;
	char path[PATH_MAX];
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		q->how |= ACCESS_DIR;
	return ask_check(q, broker_fd_box_path(fd, path, sizeof(path)) ? path : norm);
}

/* ask_check for name `last` in directory pfd (mkdir, unlink, rename,
 * bind, a file about to be created). */
int broker_ask_at(struct req *q, int pfd, const char *last, const char *norm)
{
	if (!q->b->ask.n)
		return 0;
	char dir[PATH_MAX], path[2 * PATH_MAX];
	if (!broker_fd_box_path(pfd, dir, sizeof(dir)))
		return ask_check(q, norm);
	snprintf(path, sizeof(path), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", last);
	_cleanup_free_ char *n = path_normalize(path);
	if (!n)
		return -ENOMEM;
	return ask_check(q, n);
}

/* broker_resolve(), then broker_ask_fd(): the fd, or -EACCES (closed). A
 * path left to the kernel is answered here (CONTINUE) and LEAVE_TO_KERNEL
 * returned: the caller is done. */
int broker_resolve_asked(struct req *q, bool empty_ok, uint64_t flags, char *norm, size_t cap)
{
	int fd = broker_resolve(q, empty_ok, flags, 0, norm, cap);
	if (fd == LEAVE_TO_KERNEL) {
		broker_continue(q);
		return LEAVE_TO_KERNEL;
	}
	return broker_ask_fd_or_close(q, fd, norm);
}

/* broker_ask_fd() on a resolved fd (or an error, passed on): the fd, or
 * the refusal with the fd closed. */
int broker_ask_fd_or_close(struct req *q, int fd, const char *norm)
{
	if (fd < 0)
		return fd;
	int r = broker_ask_fd(q, fd, norm);
	if (r < 0)
		close(fd);
	return r < 0 ? r : fd;
}

/* broker_resolve_asked with an *at call's own flags: AT_EMPTY_PATH (the
 * dirfd itself), AT_SYMLINK_NOFOLLOW. An O_PATH fd. */
int broker_resolve_at(struct req *q, char *norm, size_t cap)
{
	return broker_resolve_asked(q, q->flags & AT_EMPTY_PATH,
				    O_PATH | (q->flags & AT_SYMLINK_NOFOLLOW ? O_NOFOLLOW : 0), norm, cap);
}

/* /proc/PID[/task/TID]/LINK[/...]: the caller's own link (root, cwd,
 * exe, fd/N) as our /proc names it, into link: 0; LEAVE_TO_KERNEL for
 * any other /proc path; -EACCES for another process's link or a path
 * below a link. */
/* The caller's process (its thread group) as our /proc numbers it:
 * /proc/self is the process, and q->pid the calling thread, whose fd
 * table and working directory may be its own (a thread cloned without
 * CLONE_FILES or CLONE_FS): asking about the thread's link while the
 * kernel follows the process's was a way around ask rules. -1 when the
 * caller is gone (its pid may be reused after that). */
static pid_t caller_process(struct req *q)
{
	long tgid = broker_status_field(q->pid, "\nTgid:", 10);
	if (tgid <= 0 || !broker_id_valid(q->b, q->id))
		return -1;
	return (pid_t)tgid;
}

static int proc_pid_link(struct req *q, const char *norm, char *link, size_t cap)
{
	const char *s = norm + strlen("/proc");
	if (!s[0])
		return LEAVE_TO_KERNEL;
	s++;
	size_t n = strcspn(s, "/");
	bool own = (n == 4 && !strncmp(s, "self", 4)) || (n == 11 && !strncmp(s, "thread-self", 11));
	bool pid = n > 0 && strspn(s, "0123456789") == n;
	if (!own && !pid)
		return LEAVE_TO_KERNEL; /* /proc/meminfo, /proc/sys/... */
	bool thread = n == 11; /* thread-self: the calling thread's own */
	const char *rest = s + n;
	bool task = false;
	if (!strncmp(rest, "/task/", 6)) {
		rest += 6;
		size_t t = strcspn(rest, "/");
		if (strspn(rest, "0123456789") != t)
			return LEAVE_TO_KERNEL;
		rest += t;
		task = true;
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
		return -EACCES;
	/* The link itself, and nothing below it. */
	const char *after = rest + strlen(l);
	if (l[strlen(l) - 1] == '/')
		after += strcspn(after, "/");
	/* task/TID names a thread by its number in the box's pid namespace,
	 * which our /proc does not share: refused rather than translated. */
	if (after[0] || !strcmp(l, "/map_files/") || task)
		return -EACCES;
	pid_t whose = thread ? q->pid : caller_process(q);
	if (whose < 0)
		return -ESRCH;
	snprintf(link, cap, "/proc/%d%s", whose, rest);
	return 0;
}

/* The same for /dev/std* and /dev/fd/N, and then /proc. */
static int own_link(struct req *q, const char *norm, char *link, size_t cap)
{
	/* /dev/std* and /dev/fd are links to /proc/self/fd: the process's. */
	if (!strcmp(norm, "/dev/stdin") || !strcmp(norm, "/dev/stdout") || !strcmp(norm, "/dev/stderr")) {
		int fd = norm[8] == 'i' ? 0 : norm[8] == 'o' ? 1 : 2; /* "/dev/std?" */
		pid_t pid = caller_process(q);
		if (pid < 0)
			return -ESRCH;
		snprintf(link, cap, "/proc/%d/fd/%d", pid, fd);
		return 0;
	}
	if (path_is_under(norm, "/dev/fd")) {
		const char *s = norm + strlen("/dev/fd");
		if (!s[0])
			return LEAVE_TO_KERNEL; /* the directory itself */
		if (strchr(s + 1, '/'))
			return -EACCES;
		pid_t pid = caller_process(q);
		if (pid < 0)
			return -ESRCH;
		snprintf(link, cap, "/proc/%d/fd%s", pid, s);
		return 0;
	}
	return proc_pid_link(q, norm, link, cap);
}

/* For link: what the caller's own link (/proc/PID/fd/N, ...) leads to,
 * opened O_PATH through our /proc as the other fd-based calls do: the
 * broker then asks about it and links that very inode itself. Where it
 * leads to no file of the box's tree (a pipe, a /proc file) the kernel
 * could not link it either: refused. */
static int open_own_fd(struct req *q, const char *link)
{
	int fd = open(link, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -EBADF;
	/* Still the caller's: its pid was not reused meanwhile. */
	if (!broker_id_valid(q->b, q->id)) {
		close(fd);
		return -ESRCH;
	}
	char path[PATH_MAX];
	struct statfs sf;
	if (!broker_fd_box_path(fd, path, sizeof(path)) ||
	    (fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC)) {
		close(fd);
		return -EXDEV;
	}
	return fd;
}

/* With ask rules, the box's /proc links are a way around them: the
 * kernel, not the broker, follows /proc/self/root/data/x or reopens
 * /proc/self/fd/N (an O_PATH fd, or a read-only one for writing). So a
 * path left to the kernel (see LEAVE_TO_KERNEL) may end on a link of the
 * caller's own fd table (/proc/self/fd/N, /dev/fd/N, /dev/stdin, exe,
 * cwd, root), which is asked about as its target; going on below such a
 * link, through another process's, or with ".." is refused. raw is the
 * absolute path before normalisation. */
int broker_proc_check(struct req *q, const char *raw, const char *norm)
{
	if (!q->b->ask.n)
		return LEAVE_TO_KERNEL;
	char link[PATH_MAX], target[PATH_MAX];
	int r = strstr(raw, "/..") ? -EACCES : own_link(q, norm, link, sizeof(link));
	if (r == -EACCES) {
		q->reason = "a /proc link under ask rules";
		return r;
	}
	if (r < 0 && r != LEAVE_TO_KERNEL)
		return r; /* the caller is gone (-ESRCH): never left to the kernel */
	if (r == 0 && q->own_fd)
		return open_own_fd(q, link);
	if (r == LEAVE_TO_KERNEL || q->readlink)
		return LEAVE_TO_KERNEL; /* readlink names the target, opens nothing */
	ssize_t k = readlink(link, target, sizeof(target));
	if (k < 0 && errno == ENOENT)
		return LEAVE_TO_KERNEL; /* no such fd: the kernel says so */
	/* A link the broker cannot name (a directory deeper than PATH_MAX:
	 * ENAMETOOLONG, or a name that fills the buffer) is one the kernel
	 * can still follow: refused, not left to it unasked. */
	if (k <= 0 || (size_t)k >= sizeof(target)) {
		q->reason = "a /proc link the broker cannot name under ask rules";
		return -EACCES;
	}
	target[k] = 0;
	if (target[0] != '/')
		return LEAVE_TO_KERNEL; /* "pipe:[..]", "socket:[..]" */
	/* A deleted file's link reads "PATH (deleted)": asked as PATH. Only
	 * when it is deleted: a live file may be named "x (deleted)". */
	static const char deleted[] = " (deleted)";
	size_t dl = sizeof(deleted) - 1;
	struct stat st;
	if ((size_t)k > dl && !strcmp(target + k - dl, deleted) && stat(link, &st) == 0 &&
	    st.st_nlink == 0)
		target[k - dl] = 0;
	r = ask_check(q, target);
	return r < 0 ? r : LEAVE_TO_KERNEL;
}
