/* disk.c — applying a read-write grant's size-capped layer to the host.
 *
 * A box's writes into a read-write directory grant land in the upper
 * layer of an overlay, a tmpfs of the `disk` limit's size (mount.c,
 * overlay_at): filling it with many small files or with fallocate ends in
 * ENOSPC there, and the host directory does not grow during the run. When
 * the run has ended (every process of the box is gone: init is reaped)
 * the controller replays the upper layer onto the host directory:
 * whiteouts (character device 0/0) remove, opaque directories
 * (user.overlay.opaque) replace, directories are made, files are written
 * anew (never into an existing inode, which may have other links), and
 * symbolic links are made, never followed.
 *
 * The replay runs on a thread of its own whose credentials are the box's
 * host uid/gid with no supplementary groups (raw setfsuid/setfsgid and
 * setgroups change the calling thread only), and every host-side
 * operation is relative to a descriptor of the grant opened before the run
 * (the idmapped clone as root): the kernel checks each change exactly as
 * it would have checked the box making it, at the moment it is made, so a
 * change the overlay let through that the host would not (an entry a
 * sticky directory protects, a directory the host changed meanwhile) is
 * refused and counted. Every lookup is one name in a directory descriptor
 * with O_NOFOLLOW: a symlink the box made (or a host process raced in) is
 * never followed (CVE-2024-28185, CVE-2024-28189: Judge0's supervisor
 * followed a box's symlink as root). Modes lose every bit but 0777 (no
 * set-user-ID, set-group-ID or sticky file reaches the host this way), and
 * extended attributes are never copied (no file capability, no ACL).
 * Holes are kept (SEEK_DATA): a sparse file does not become a dense one,
 * and the bytes written are capped at the layer's size. As root, reading
 * the upper layer uses the controller's own fsuid (the box may have made a
 * file it cannot read itself); each host operation is made as the box. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "box.h"

#define APPLY_MAX_DEPTH 128

struct apply {
	int upper, host;
	bool root;
	uid_t uid; /* who writes on the host: the grant's owner or the box */
	gid_t gid;
	uint64_t budget; /* bytes the layer may still write to the host */
	unsigned long temps; /* temporary names made */
	struct __user_cap_header_struct cap_hdr;
	struct __user_cap_data_struct caps[2], no_caps[2];
	unsigned errors;
	char path[4096]; /* the current entry, relative, for messages */
	char first[600]; /* the first error */
	bool dropped;	 /* root: the capabilities could be dropped */
};

static void failed(struct apply *a, const char *what, int errnum)
{
	if (!a->errors++)
		snprintf(a->first, sizeof(a->first), "cannot %s '%s': %s", what,
			 a->path[0] ? a->path : ".", errno_text(errnum));
}

/* The thread's fsuid and capabilities: the controller's own (reading
 * the upper layer: the box may have made a file it cannot read itself),
 * or the writer's, the grant's owner or the box, with no capability at
 * all (every host operation: even as the owner root, the kernel checks
 * it as it would check the owner, without CAP_DAC_OVERRIDE, CAP_FOWNER,
 * CAP_CHOWN, CAP_FSETID or CAP_SYS_RESOURCE, so the owner's permission
 * bits, the sticky bit, quotas and reserved blocks all hold). The raw
 * capset changes the calling thread only. Unprivileged nothing changes.
 * False (and the apply ends) when they could not be dropped. */
static bool as_box(struct apply *a, bool box)
{
	if (!a->root)
		return true;
	if (box) {
		/* setfsuid first: it needs CAP_SETUID. */
		(void)syscall(SYS_setfsuid, a->uid);
		if (syscall(SYS_capset, &a->cap_hdr, a->no_caps) < 0)
			a->dropped = false;
		if (!a->dropped)
			failed(a, "apply without capabilities", EPERM);
		return a->dropped;
	}
	(void)syscall(SYS_setfsuid, 0);
	(void)syscall(SYS_capset, &a->cap_hdr, a->caps);
	return true;
}

/* Appends "/name" to a->path; returns the old length (to cut back). */
static size_t path_push(struct apply *a, const char *name)
{
	size_t n = strlen(a->path);
	snprintf(a->path + n, sizeof(a->path) - n, "%s%s", n ? "/" : "", name);
	return n;
}

static void remove_children(struct apply *a, int dir, int depth);

/* Removes host entry `name` in `dir`, a directory with all it holds. As
 * the box; a missing entry is not an error. */
static void remove_entry(struct apply *a, int dir, const char *name, int depth)
{
	if (unlinkat(dir, name, 0) == 0 || errno == ENOENT)
		return;
	if (errno != EISDIR && errno != EPERM) {
		failed(a, "remove", errno);
		return;
	}
	int sub = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0) {
		failed(a, "remove", errno == ENOTDIR ? EPERM : errno);
		return;
	}
	remove_children(a, sub, depth + 1);
	if (unlinkat(dir, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		failed(a, "remove", errno);
}

/* Takes dir. */
static void remove_children(struct apply *a, int dir, int depth)
{
	if (depth > APPLY_MAX_DEPTH) {
		close(dir);
		failed(a, "remove (too deep)", ELOOP);
		return;
	}
	DIR *d = fdopendir(dir);
	if (!d) {
		close(dir);
		failed(a, "read", errno);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			remove_entry(a, dirfd(d), de->d_name, depth);
	closedir(d);
}

/* Charges `bytes` (rounded up to a 4 KiB block) to the budget: false when
 * the host would grow by more than the limit. A file's data is charged
 * before the host entry is touched, as the tmpfs counted it (its blocks),
 * so what the box wrote within the limit is applied. A new directory or
 * symbolic link is charged a block: the tmpfs gives file data 3/4 of the
 * limit and has one inode per 4 KiB of the rest (mount.c), so what the
 * box made fits; the budget runs out only on a file with several hard
 * links (each applied as a copy of its own) or the last of the tmpfs's
 * 16 spare inodes. */
static bool charge(struct apply *a, uint64_t bytes)
{
	bytes = (bytes + 4095) & ~(uint64_t)4095;
	if (bytes > a->budget)
		return false;
	a->budget -= bytes;
	return true;
}

/* Copies the data of `in` (its holes stay holes) into `out`: at most
 * `allowed` bytes, what was charged for it. */
static int copy_data(int in, int out, off_t size, uint64_t allowed)
{
	off_t off = 0;
	while (off < size) {
		off_t data = lseek(in, off, SEEK_DATA);
		if (data < 0)
			break; /* ENXIO: only a hole is left */
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		if ((uint64_t)(hole - data) > allowed)
			return -EFBIG;
		allowed -= (uint64_t)(hole - data);
		if (lseek(out, data, SEEK_SET) < 0)
			return -errno;
		off_t pos = data;
		ssize_t n = io_full(in, NULL, out, &pos, (size_t)(hole - data));
		if (n < 0)
			return (int)n;
		off = hole;
	}
	return ftruncate(out, size) < 0 ? -errno : 0;
}

/* A new file's temporary name in host directory `host`, made with
 * O_EXCL (never an entry that exists, never through a link), the file
 * open for writing in *ret_fd. 0, or -errno. */
static int make_temp(struct apply *a, int host, mode_t mode, char *name, size_t len, int *ret_fd)
{
	for (int tries = 0; tries < 100; tries++) {
		snprintf(name, len, ".ward-apply-%ld-%lu", (long)getpid(), a->temps++);
		int fd = openat(host, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0) {
			*ret_fd = fd;
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* Writes a file anew (never into the host's inode, which may have other
 * links) under a temporary name, and renames it over the host entry only
 * once complete: a file that does not fit, or a host that runs out of
 * space, leaves the host's entry as it was. */
/* Opens entry `name` of the upper layer for reading. Unprivileged, the
 * controller is the box's uid and owns the layer: an entry the box left
 * unreadable (a directory chmod 000) is made readable first. The box is
 * gone and nothing else reaches the layer, so the entry stat'ed is the one
 * changed (fchmodat follows a symlink, but this is a file or a directory). */
static int open_upper(struct apply *a, int up, const char *name, const struct stat *st, int flags)
{
	int fd = openat(up, name, flags | O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && !a->root &&
	    fchmodat(up, name, (st->st_mode & 0777) | (S_ISDIR(st->st_mode) ? 0500 : 0400), 0) == 0)
		fd = openat(up, name, flags | O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	return fd;
}

static void apply_file(struct apply *a, int up, int host, const char *name,
		       const struct stat *st, int depth)
{
	as_box(a, false);
	_cleanup_close_ int in = open_upper(a, up, name, st, 0);
	if (!as_box(a, true)) {
		return;
	}
	if (in < 0) {
		failed(a, "read", errno);
		return;
	}
	uint64_t need = (uint64_t)st->st_blocks * 512;
	if (!charge(a, need)) {
		failed(a, "write (more than the disk limit)", EFBIG);
		return;
	}
	char tmp[64];
	_cleanup_close_ int out = -1;
	int r = make_temp(a, host, st->st_mode & 0777, tmp, sizeof(tmp), &out);
	if (r < 0) {
		failed(a, "create", -r);
		return;
	}
	r = copy_data(in, out, st->st_size, (need + 4095) & ~(uint64_t)4095);
	/* The umask narrowed the mode given to openat; set it as the box
	 * left it, without its set-user-ID, set-group-ID and sticky bits. */
	if (r == 0 && fchmod(out, st->st_mode & 0777) < 0)
		r = -errno;
	if (r == 0) {
		struct timespec ts[2] = {st->st_atim, st->st_mtim};
		(void)futimens(out, ts);
		if (renameat(host, tmp, host, name) < 0) {
			r = -errno;
			/* A directory (or something else rename cannot
			 * replace) where the box left a file: removed first. */
			if (r == -EISDIR || r == -ENOTEMPTY || r == -EEXIST || r == -ENOTDIR) {
				remove_entry(a, host, name, depth);
				r = renameat(host, tmp, host, name) < 0 ? -errno : 0;
			}
		}
	}
	if (r < 0) {
		(void)unlinkat(host, tmp, 0);
		failed(a, r == -EFBIG ? "write (more than the disk limit)" : "write", -r);
	}
}

static void apply_symlink(struct apply *a, int up, int host, const char *name, int depth)
{
	char target[4096];
	as_box(a, false);
	ssize_t n = readlinkat(up, name, target, sizeof(target) - 1);
	if (!as_box(a, true)) {
		return;
	}
	if (n < 0) {
		failed(a, "read", errno);
		return;
	}
	target[n] = 0;
	if (!charge(a, (uint64_t)n)) {
		failed(a, "create (more than the disk limit)", EFBIG);
		return;
	}
	remove_entry(a, host, name, depth);
	if (symlinkat(target, host, name) < 0)
		failed(a, "create", errno);
}

static void apply_dir(struct apply *a, int up, int host, int depth);

static void apply_subdir(struct apply *a, int up, int host, const char *name,
			 const struct stat *st, int depth)
{
	as_box(a, false);
	int sub = open_upper(a, up, name, st, O_DIRECTORY);
	char v = 0;
	bool opaque = sub >= 0 && fgetxattr(sub, "user.overlay.opaque", &v, 1) == 1 && v == 'y';
	if (!as_box(a, true)) {
		close(sub);
		return;
	}
	if (sub < 0) {
		failed(a, "read", errno);
		return;
	}
	struct stat hs;
	bool have = fstatat(host, name, &hs, AT_SYMLINK_NOFOLLOW) == 0;
	if (have && !S_ISDIR(hs.st_mode)) {
		remove_entry(a, host, name, depth);
		have = false;
	}
	/* Made (or, when the owner's, opened) writable while it is filled:
	 * the box may have left it read-only (chmod 555, as Go's module
	 * cache does) or without search permission; its mode is set after. */
	if (!have && !charge(a, 1)) {
		failed(a, "create (more than the disk limit)", EFBIG);
		close(sub);
		return;
	}
	if (!have && mkdirat(host, name, 0700) < 0 && errno != EEXIST) {
		failed(a, "create", errno);
		close(sub);
		return;
	}
	int hsub = openat(host, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (hsub < 0) {
		failed(a, "open", errno);
		close(sub);
		return;
	}
	bool have_mode = fstat(hsub, &hs) == 0;
	if (have_mode && (hs.st_mode & 0700) != 0700)
		(void)fchmod(hsub, (hs.st_mode & 07777) | 0700);
	if (opaque && have)
		remove_children(a, fcntl(hsub, F_DUPFD_CLOEXEC, 3), depth + 1);
	apply_dir(a, sub, hsub, depth + 1);
	/* apply_dir may return with the controller's capabilities up (it
	 * reads the upper layer with them): down again before the host's
	 * directory is touched, or its chmod would have CAP_FOWNER. */
	if (!as_box(a, true)) {
		close(sub);
		close(hsub);
		return;
	}
	/* The permission bits as the box left them; the host's own sticky
	 * and set-group-ID bits stay (the box cannot set them: the copy in
	 * its layer has them from the host). */
	if (have_mode && fchmod(hsub, (hs.st_mode & (S_ISVTX | S_ISGID)) | (st->st_mode & 0777)) < 0)
		failed(a, "chmod", errno);
	close(sub);
	close(hsub);
}

/* Replays upper directory `up` onto host directory `host` (both kept). */
static void apply_dir(struct apply *a, int up, int host, int depth)
{
	if (depth > APPLY_MAX_DEPTH) {
		failed(a, "apply (too deep)", ELOOP);
		return;
	}
	if (!a->dropped)
		return;
	as_box(a, false);
	int dup_fd = fcntl(up, F_DUPFD_CLOEXEC, 3);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		int err = errno;
		if (dup_fd >= 0)
			close(dup_fd);
		(void)as_box(a, true);
		failed(a, "read", err);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		as_box(a, false);
		if (fstatat(up, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		size_t cut = path_push(a, de->d_name);
		if (!as_box(a, true))
			break;
		if (S_ISCHR(st.st_mode) && st.st_rdev == 0)
			remove_entry(a, host, de->d_name, depth); /* a whiteout */
		else if (S_ISDIR(st.st_mode))
			apply_subdir(a, up, host, de->d_name, &st, depth);
		else if (S_ISREG(st.st_mode))
			apply_file(a, up, host, de->d_name, &st, depth);
		else if (S_ISLNK(st.st_mode))
			apply_symlink(a, up, host, de->d_name, depth);
		/* Sockets the box bound: nothing to carry over. */
		a->path[cut] = 0;
	}
	closedir(d);
	/* Never return with the capabilities up (the loop's `continue` and
	 * an empty directory leave them so). */
	(void)as_box(a, true);
}

static void *apply_thread(void *arg)
{
	struct apply *a = arg;
	/* This thread only: no supplementary groups, the writer's fsgid,
	 * and (checked) no capability while it writes. */
	a->dropped = true;
	if (a->root) {
		a->cap_hdr = (struct __user_cap_header_struct){.version = _LINUX_CAPABILITY_VERSION_3};
		if (syscall(SYS_capget, &a->cap_hdr, a->caps) < 0) {
			failed(a, "apply as the grant's owner", errno);
			return NULL;
		}
		a->no_caps[0] = (struct __user_cap_data_struct){.permitted = a->caps[0].permitted};
		a->no_caps[1] = (struct __user_cap_data_struct){.permitted = a->caps[1].permitted};
		if (syscall(SYS_setgroups, 0, NULL) < 0) {
			failed(a, "apply as the grant's owner", errno);
			return NULL;
		}
		(void)syscall(SYS_setfsgid, a->gid);
		(void)as_box(a, true);
		struct __user_cap_data_struct now[2];
		/* setfs[ug]id(-1) changes nothing and returns the current id. */
		if ((gid_t)syscall(SYS_setfsgid, -1) != a->gid ||
		    (uid_t)syscall(SYS_setfsuid, -1) != a->uid ||
		    syscall(SYS_capget, &a->cap_hdr, now) < 0 || now[0].effective || now[1].effective ||
		    !a->dropped) {
			failed(a, "apply as the grant's owner", EPERM);
			return NULL;
		}
	}
	apply_dir(a, a->upper, a->host, 0);
	return NULL;
}

int disk_apply(int upper_fd, int host_fd, const char *host_path, uint64_t limit, bool root,
	       uid_t box_uid, gid_t box_gid, struct err *e)
{
	struct apply *a = calloc(1, sizeof(*a));
	if (!a)
		return err_set(e, ENOMEM, "out of memory");
	*a = (struct apply){.upper = upper_fd, .host = host_fd, .root = root,
			    .uid = box_uid, .gid = box_gid, .budget = limit};
	pthread_t t;
	int r = pthread_create(&t, NULL, apply_thread, a);
	if (r != 0) {
		free(a);
		return err_errno(e, r, "cannot apply the box's writes to '%s'", host_path);
	}
	pthread_join(t, NULL);
	r = 0;
	if (a->errors)
		r = err_set(e, EIO, "%u of the box's writes to '%s' were not applied: %s", a->errors,
			    host_path, a->first);
	free(a);
	return r;
}
