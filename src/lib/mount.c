/* mount.c — the box's file system: a tmpfs root holding exactly the
 * granted trees, pivoted into, with the host's root detached.
 *
 * Two phases, both in the box's first process after it entered its own
 * mount namespace:
 *  1. capture: every host path is cloned into a detached mount
 *     (open_tree(OPEN_TREE_CLONE)) before anything is mounted, so the
 *     staging mount cannot hide a host path and every later step works on
 *     file descriptors;
 *  2. assemble: mount points are created and resolved inside the new root
 *     with RESOLVE_IN_ROOT, so a symlink that an earlier box planted in a
 *     read-write tree can never point a mount outside the new root
 *     (the Judge0 class of bugs, CVE-2024-28185).
 * The read-write grants the controller clones and idmaps before the box
 * exists are grant.c's. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "box.h"
#include "mountapi.h"

int mnt_plan_add(struct mnt_plan *mp, enum mnt_kind kind, const char *src,
		 const char *dst)
{
	if (mp->n == mp->cap) {
		size_t cap = mp->cap ? mp->cap * 2 : 32;
		struct mnt_entry *ne = realloc(mp->e, cap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		mp->e = ne;
		mp->cap = cap;
	}
	mp->e[mp->n++] = (struct mnt_entry){
		.kind = kind, .src = src, .dst = dst, .tree_fd = -1,
		.host_fd = -1, .upper_fd = -1, .mode = 0755,
	};
	return 0;
}

struct mnt_entry *mnt_plan_last(struct mnt_plan *mp)
{
	return mp->n ? &mp->e[mp->n - 1] : NULL;
}

/* Parents before children: a stable insertion sort on path depth (plans are
 * short, and stability keeps "later grant wins" among equal depths). */
void mnt_plan_sort(struct mnt_plan *mp)
{
	for (size_t i = 1; i < mp->n; i++) {
		struct mnt_entry x = mp->e[i];
		size_t d = path_depth(x.dst), j = i;
		while (j > 0 && path_depth(mp->e[j - 1].dst) > d) {
			mp->e[j] = mp->e[j - 1];
			j--;
		}
		mp->e[j] = x;
	}
}

void mnt_plan_free(struct mnt_plan *mp)
{
	free(mp->e);
	*mp = (struct mnt_plan){0};
}

/* Opens `path` (absolute box path) inside the new root, never leaving it:
 * ".." and symlinks, absolute or relative, resolve against rootfd. */
static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	return sys_openat2(rootfd, *path ? path : ".", &how);
}

/* The directories of the new root the assembly works in, kept open from
 * one entry to the next: most entries share a parent (/, /etc, /dev), and
 * opening it again for each costs an openat2 and a close. A descriptor
 * names the directory its path led to when it was opened; a mount
 * attached at or above that path later hides it. So a directory is kept
 * by its path only when the path is plain (absolute, no ".", ".." or
 * empty component) and was resolved without following any symlink
 * (RESOLVE_NO_SYMLINKS): the lookup then passed exactly the directories
 * its string prefixes name, and an attach at a plain path X reached
 * without symlinks changes the lookup of exactly the paths X is a prefix
 * of (root_dirs_attached drops those). A directory reached otherwise is
 * still opened inside the root (RESOLVE_IN_ROOT), but never found again
 * by its path, and any attach not known to be plain drops every kept
 * directory. The paths are the plan's own strings (prefixes of m->dst),
 * which live as long as the plan. */
#define ROOT_DIRS 4

struct root_dirs {
	int rootfd;
	/* The caller's umask: the process runs with 0 while the root is
	 * built (ward's own files get their modes in one step), but the
	 * directories and mount points it makes honour this one, as before:
	 * inside a read-write grant they reach the host. */
	mode_t umask;
	struct {
		const char *path; /* NULL: not to be found again by path */
		size_t len;
		int fd;
	} d[ROOT_DIRS];
	unsigned next;
};

static bool plain_name(const char *s, size_t n)
{
	return n && !(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' && s[1] == '.');
}

static bool plain_path(const char *p, size_t len)
{
	if (!len || p[0] != '/')
		return false;
	for (size_t i = 1, start = 1; i <= len; i++)
		if (i == len || p[i] == '/') {
			if (!plain_name(p + start, i - start))
				return false;
			start = i + 1;
		}
	return true;
}

static void root_dirs_close(struct root_dirs *rd)
{
	for (size_t i = 0; i < ROOT_DIRS; i++)
		if (rd->d[i].fd >= 0) {
			close(rd->d[i].fd);
			rd->d[i].fd = -1;
			rd->d[i].path = NULL;
		}
}

/* A mount was attached at box path x; plain: x is a plain path reached
 * without following a symlink. */
static void root_dirs_attached(struct root_dirs *rd, const char *x, bool plain)
{
	size_t xl = strlen(x);
	if (!plain || !plain_path(x, xl)) {
		root_dirs_close(rd);
		return;
	}
	for (size_t i = 0; i < ROOT_DIRS; i++) {
		const char *p = rd->d[i].path;
		size_t l = rd->d[i].len;
		if (rd->d[i].fd >= 0 && (!p || (l >= xl && !memcmp(p, x, xl) && (l == xl || p[xl] == '/')))) {
			close(rd->d[i].fd);
			rd->d[i].fd = -1;
			rd->d[i].path = NULL;
		}
	}
}

/* The directory at box path path[0..len) in the new root, "" being the
 * root itself: a descriptor borrowed from rd, good until the next call.
 * *ret_plain: reached by a plain path without symlinks. -1 with errno. */
static int root_dir(struct root_dirs *rd, const char *path, size_t len, bool *ret_plain)
{
	*ret_plain = true;
	if (len == 0)
		return rd->rootfd;
	for (size_t i = 0; i < ROOT_DIRS; i++)
		if (rd->d[i].fd >= 0 && rd->d[i].path && rd->d[i].len == len &&
		    !memcmp(rd->d[i].path, path, len))
			return rd->d[i].fd;
	char buf[4096];
	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len);
	buf[len] = 0;
	bool plain = plain_path(path, len);
	int fd = -1;
	if (plain) {
		struct open_how how = {
			.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
		};
		fd = sys_openat2(rd->rootfd, buf + 1, &how);
		if (fd < 0 && errno != ELOOP)
			return -1;
		plain = fd >= 0;
	}
	if (fd < 0 && (fd = open_in_root(rd->rootfd, buf, O_PATH | O_DIRECTORY)) < 0)
		return -1;
	unsigned slot = rd->next++ % ROOT_DIRS;
	if (rd->d[slot].fd >= 0)
		close(rd->d[slot].fd);
	rd->d[slot].path = plain ? path : NULL;
	rd->d[slot].len = len;
	rd->d[slot].fd = fd;
	*ret_plain = plain;
	return fd;
}

static int make_dir(struct root_dirs *rd, const char *path, size_t len, unsigned mode,
		    struct err *e);

/* The directory holding the last component of path[0..len) (borrowed
 * from rd), the missing ones on the way made (mkdir -p), each resolved
 * inside the root: a component may be a symlink planted in a read-write
 * tree. *ret_last: the last component (may be empty: a trailing slash). */
static int parent_dir(struct root_dirs *rd, const char *path, size_t len, size_t *ret_last,
		      bool *ret_plain, struct err *e)
{
	size_t n = len;
	while (n > 0 && path[n - 1] != '/')
		n--;
	size_t plen = n ? n - 1 : 0;
	*ret_last = n;
	int dfd = root_dir(rd, path, plen, ret_plain);
	if (dfd < 0 && errno == ENOENT) {
		int r = make_dir(rd, path, plen, 0755, e);
		if (r < 0)
			return r;
		dfd = root_dir(rd, path, plen, ret_plain);
	}
	if (dfd < 0)
		return err_errno(e, errno, "cannot open '%.*s' in the box", plen ? (int)plen : 1,
				 plen ? path : "/");
	return dfd;
}

static int node_error(int r, const char *path, size_t len, struct err *e)
{
	if (r == EROFS)
		return err_set(e, r, "cannot create mount point '%.*s': its parent is read-only in the box (grant the parent, or a path that exists there)",
			       (int)len, path);
	return err_errno(e, r, "cannot create mount point '%.*s'", (int)len, path);
}

/* mkdir -p inside the new root: path[0..len) becomes a directory. */
static int make_dir(struct root_dirs *rd, const char *path, size_t len, unsigned mode,
		    struct err *e)
{
	size_t last;
	bool plain;
	int dfd = parent_dir(rd, path, len, &last, &plain, e);
	if (dfd < 0)
		return dfd;
	if (last == len)
		return 0; /* "/" or a trailing slash: nothing to make */
	char name[256];
	if (len - last >= sizeof(name))
		return err_set(e, ENAMETOOLONG, "box path '%.*s' is too long", (int)len, path);
	memcpy(name, path + last, len - last);
	name[len - last] = 0;
	if (mkdirat(dfd, name, mode & ~rd->umask) < 0 && errno != EEXIST)
		return node_error(errno, path, len, e);
	return 0;
}

/* Makes the mount point dst in the new root (a directory, or for a file an
 * empty file) and attaches mnt_fd there. The mount point is the file just
 * created, or else the node dst names (not followed if a symlink), found
 * from its parent. */
static int attach_new(struct root_dirs *rd, int mnt_fd, const char *dst, bool is_dir,
		      unsigned mode, struct err *e)
{
	size_t len = strlen(dst), last;
	bool plain;
	int dfd = parent_dir(rd, dst, len, &last, &plain, e);
	if (dfd < 0)
		return dfd;
	const char *name = dst + last;
	_cleanup_close_ int target = -1;
	if (*name && is_dir) {
		if (mkdirat(dfd, name, mode & ~rd->umask) < 0 && errno != EEXIST)
			return node_error(errno, dst, len, e);
	} else if (*name) {
		target = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				0644 & ~rd->umask);
		if (target < 0 && errno != EEXIST && errno != ELOOP && errno != EISDIR)
			return node_error(errno, dst, len, e);
	}
	plain = plain && plain_name(name, len - last);
	if (target < 0 && plain) {
		/* One name below the directory, never followed. */
		struct open_how how = {
			.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
		};
		target = sys_openat2(dfd, name, &how);
	} else if (target < 0) {
		target = open_in_root(rd->rootfd, dst, O_PATH | O_NOFOLLOW);
	}
	if (target < 0)
		return err_errno(e, errno, "cannot open mount point '%s'", dst);
	int r = 0;
	if (sys_move_mount(mnt_fd, "", target, "",
			   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		r = err_errno(e, errno, "cannot mount at '%s'", dst);
	root_dirs_attached(rd, dst, plain);
	return r;
}

static int attach_at(int rootfd, int mnt_fd, const char *dst, struct err *e)
{
	_cleanup_close_ int target = open_in_root(rootfd, dst, O_PATH | O_NOFOLLOW);
	if (target < 0)
		return err_errno(e, errno, "cannot open mount point '%s'", dst);
	if (sys_move_mount(mnt_fd, "", target, "",
			   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return err_errno(e, errno, "cannot mount at '%s'", dst);
	return 0;
}

/* A detached tmpfs (or proc) mount, ready to be attached. inodes: the
 * tmpfs's inode count, 0 for one per KiB of size. */
static int new_fs(const char *type, uint64_t size, uint64_t inodes, unsigned mode,
		  unsigned attrs, struct err *e)
{
	_cleanup_close_ int fs = sys_fsopen(type, FSOPEN_CLOEXEC);
	if (fs < 0)
		return err_errno(e, errno, "cannot create a %s file system", type);
	char val[32];
	if (size) {
		snprintf(val, sizeof(val), "%llu", (unsigned long long)size);
		if (sys_fsconfig(fs, FSCONFIG_SET_STRING, "size", val, 0) < 0)
			return err_errno(e, errno, "cannot set %s size", type);
	}
	if (!strcmp(type, "tmpfs")) {
		snprintf(val, sizeof(val), "%o", mode);
		if (sys_fsconfig(fs, FSCONFIG_SET_STRING, "mode", val, 0) < 0)
			return err_errno(e, errno, "cannot set %s mode", type);
		/* Bound the inode count too: a box must not fill host memory
		 * with empty files. */
		snprintf(val, sizeof(val), "%llu",
			 (unsigned long long)(inodes ? inodes : size ? size / 1024 + 64 : 4096));
		if (sys_fsconfig(fs, FSCONFIG_SET_STRING, "nr_inodes", val, 0) < 0)
			return err_errno(e, errno, "cannot set %s inode limit", type);
	}
	if (sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return err_errno(e, errno, "cannot create a %s file system", type);
	int m = sys_fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	if (m < 0)
		return err_errno(e, errno, "cannot mount a %s file system", type);
	return m;
}

/* A file of ward's (/etc/passwd...) with its content: created with its
 * mode in one step (the umask is 0 while the root is built); a path that
 * exists already (a later entry for the same file) is rewritten. */
static int write_content(struct root_dirs *rd, const struct mnt_entry *m, struct err *e)
{
	size_t len = strlen(m->dst), last;
	bool plain;
	int dfd = parent_dir(rd, m->dst, len, &last, &plain, e);
	if (dfd < 0)
		return dfd;
	_cleanup_close_ int fd = -1;
	if (m->dst[last])
		fd = openat(dfd, m->dst + last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    m->mode);
	if (fd < 0 && m->dst[last] && errno != EEXIST && errno != ELOOP && errno != EISDIR)
		return node_error(errno, m->dst, len, e);
	bool made = fd >= 0;
	if (!made && (fd = open_in_root(rd->rootfd, m->dst, O_WRONLY | O_TRUNC | O_NOFOLLOW)) < 0)
		return err_errno(e, errno, "cannot write '%s'", m->dst);
	int r = write_all(fd, m->src, strlen(m->src));
	if (r < 0)
		return err_errno(e, -r, "cannot write '%s'", m->dst);
	if (!made && fchmod(fd, m->mode) < 0)
		return err_errno(e, errno, "cannot chmod '%s'", m->dst);
	return 0;
}

static int make_symlink(struct root_dirs *rd, const struct mnt_entry *m, struct err *e)
{
	size_t len = strlen(m->dst), last;
	bool plain;
	int dfd = parent_dir(rd, m->dst, len, &last, &plain, e);
	if (dfd < 0)
		return dfd;
	if (symlinkat(m->src, dfd, m->dst + last) < 0 && errno != EEXIST)
		return err_errno(e, errno, "cannot create symlink '%s'", m->dst);
	return 0;
}

/* The size-capped layer of a read-write directory grant: an overlay at
 * m->dst whose lower layer is the grant just attached there (read-only to
 * the overlay) and whose upper layer is a fresh tmpfs of m->size bytes
 * (and a bounded inode count, new_fs). Every write of the box lands in the
 * tmpfs, so a box filling the grant with many small files or with
 * fallocate gets ENOSPC at the limit, and the host directory is untouched
 * until the controller applies the upper layer after the run (disk.c).
 * The tmpfs is attached for a moment at /.ward-disk in the new root
 * (overlayfs takes its own private clones of the layers, which must be
 * mounted in this namespace), then detached again. Every layer is named to
 * overlayfs as /proc/self/fd/N of a descriptor opened here, never as a
 * path: overlayfs resolves a path as any lookup does, from the host's
 * root (the box's is not pivoted into yet), so a symlink on the way to
 * m->dst (a host link in a read-only grant, or one an earlier box left in
 * a read-write one) would make a host directory the box's lower layer;
 * the descriptor is the grant attach_at just mounted, resolved inside the
 * new root. m->upper_fd keeps the upper directory for the controller.
 * redirect_dir (nofollow: userxattr allows no other), metacopy and index
 * stay off: the upper layer then holds whole files, whiteouts and opaque
 * directories only, which is all the controller has to understand. */
static int overlay_at(int rootfd, const struct mnt_plan *mp, struct mnt_entry *m,
		      struct err *e)
{
	char low[64], up[64], work[64];
	int r;
	_cleanup_close_ int lowfd = open_in_root(rootfd, m->dst, O_PATH | O_DIRECTORY | O_NOFOLLOW);
	struct stat st;
	if (lowfd < 0 || fstat(lowfd, &st) < 0)
		return err_errno(e, errno, "cannot open '%s' in the box", m->dst);
	_cleanup_close_ int upfd = -1, workfd = -1;
	if (mkdirat(rootfd, ".ward-disk", 0700) < 0 && errno != EEXIST)
		return err_errno(e, errno, "cannot create the disk layer of '%s'", m->dst);
	/* What the host may grow by, m->size, is split: file data gets 3/4
	 * of it (the tmpfs's pages), and the rest is one inode per 4 KiB
	 * block, because a directory or a symlink takes no page of the tmpfs
	 * but a block on the host (disk.c charges them). A quarter leaves
	 * the default 256M room for 16400 files, directories and links. */
	uint64_t data = m->size - m->size / 4;
	_cleanup_close_ int t = new_fs("tmpfs", data ? data : 1, m->size / 4 / 4096 + 16, 0700,
				       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, e);
	if (t < 0)
		return t;
	if ((r = attach_at(rootfd, t, "/.ward-disk", e)) < 0)
		return r;
	/* The overlay's root is the upper directory: give it the grant's
	 * mode (the owner is the box, as the grant's owner is through the
	 * idmap; where it is not, the kernel still checks every change as
	 * the box when the controller applies it). */
	_cleanup_close_ int ovl = -1;
	_cleanup_close_ int fs = -1;
	if (mkdirat(t, "upper", 0700) < 0 || fchmodat(t, "upper", st.st_mode & 01777, 0) < 0 ||
	    mkdirat(t, "work", 0700) < 0 ||
	    (upfd = openat(t, "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    (workfd = openat(t, "work", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = err_errno(e, errno, "cannot create the disk layer of '%s'", m->dst);
		goto out;
	}
	snprintf(low, sizeof(low), "/proc/self/fd/%d", lowfd);
	snprintf(up, sizeof(up), "/proc/self/fd/%d", upfd);
	snprintf(work, sizeof(work), "/proc/self/fd/%d", workfd);
	fs = sys_fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0) {
		r = err_errno(e, errno, "cannot create the disk layer of '%s': overlayfs", m->dst);
		goto out;
	}
	if (sys_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", low, 0) < 0 ||
	    sys_fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", up, 0) < 0 ||
	    sys_fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
	    sys_fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0 ||
	    sys_fsconfig(fs, FSCONFIG_SET_STRING, "redirect_dir", "nofollow", 0) < 0 ||
	    sys_fsconfig(fs, FSCONFIG_SET_STRING, "metacopy", "off", 0) < 0 ||
	    sys_fsconfig(fs, FSCONFIG_SET_STRING, "index", "off", 0) < 0 ||
	    sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		r = err_errno(e, errno, "cannot create the disk layer of '%s': overlayfs", m->dst);
		goto out;
	}
	ovl = sys_fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (ovl < 0) {
		r = err_errno(e, errno, "cannot mount the disk layer of '%s'", m->dst);
		goto out;
	}
	m->upper_fd = openat(t, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->upper_fd < 0) {
		r = err_errno(e, errno, "cannot open the disk layer of '%s'", m->dst);
		goto out;
	}
	r = attach_at(rootfd, ovl, m->dst, e);
out:;
	char at[64];
	snprintf(at, sizeof(at), "%s/.ward-disk", mp->staging);
	if (umount2(at, MNT_DETACH) < 0 && r == 0)
		r = err_errno(e, errno, "cannot detach the disk layer of '%s'", m->dst);
	if (unlinkat(rootfd, ".ward-disk", AT_REMOVEDIR) < 0 && r == 0)
		r = err_errno(e, errno, "cannot remove the disk layer's mount point");
	return r;
}

/* Phase 1: clone each host path while the host tree is still visible
 * (but those the controller already cloned, idmapped). */
static int capture(struct mnt_plan *mp, struct err *e)
{
	for (size_t i = 0; i < mp->n; i++) {
		struct mnt_entry *m = &mp->e[i];
		if (m->kind != MNT_BIND || m->tree_fd >= 0)
			continue;
		int fd = sys_open_tree(AT_FDCWD, m->src,
				       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (fd < 0) {
			if (errno == ENOENT && m->optional) {
				m->skipped = true;
				continue;
			}
			return err_errno(e, errno, "cannot bind '%s'", m->src);
		}
		/* Read-only binds stay read-only all the way down; nothing
		 * granted carries setuid or device semantics, except the few
		 * device nodes ward binds itself. */
		struct mount_attr attr = {
			.attr_set = MOUNT_ATTR_NOSUID |
				    (m->device ? 0 : MOUNT_ATTR_NODEV) |
				    (m->rdonly ? MOUNT_ATTR_RDONLY : 0),
		};
		if (sys_mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0) {
			int r = errno;
			close(fd);
			return err_errno(e, r, "cannot restrict bind of '%s'", m->src);
		}
		m->tree_fd = fd;
	}
	return 0;
}

int mnt_capture(struct mnt_plan *mp, struct err *e)
{
	/* Nothing done here may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_errno(e, errno, "cannot make the mount tree private");
	return capture(mp, e);
}

/* Phase 2: each entry of the plan made in the new root, in order. */
static int assemble(struct root_dirs *rd, struct mnt_plan *mp, int procfd, struct err *e)
{
	int r = 0;
	for (size_t i = 0; i < mp->n && r == 0; i++) {
		struct mnt_entry *m = &mp->e[i];
		int fd;
		switch (m->kind) {
		case MNT_BIND:
			if (m->skipped)
				continue;
			r = attach_new(rd, m->tree_fd, m->dst, m->src_is_dir, 0755, e);
			close(m->tree_fd);
			m->tree_fd = -1;
			if (r == 0 && m->overlay) {
				r = overlay_at(rd->rootfd, mp, m, e);
				root_dirs_close(rd);
			}
			break;
		case MNT_TMPFS:
			fd = new_fs("tmpfs", m->size, 0, m->mode, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, e);
			if (fd < 0)
				return fd;
			r = attach_new(rd, fd, m->dst, true, 0755, e);
			close(fd);
			break;
		case MNT_PROC:
			r = attach_new(rd, procfd, m->dst, true, 0555, e);
			break;
		case MNT_SYMLINK:
			r = make_symlink(rd, m, e);
			break;
		case MNT_FILE:
			r = write_content(rd, m, e);
			break;
		case MNT_DIR:
			r = make_dir(rd, m->dst, strlen(m->dst), m->mode, e);
			break;
		}
	}
	return r;
}

/* The tmpfs mounts the plan seals, read-only (this mount only: what is
 * mounted below, the device binds, keeps its own flags). */
static int seal_mounts(int rootfd, const struct mnt_plan *mp, struct err *e)
{
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	for (size_t i = 0; i < mp->n; i++) {
		const struct mnt_entry *m = &mp->e[i];
		if (!m->seal || m->kind != MNT_TMPFS)
			continue;
		_cleanup_close_ int fd = open_in_root(rootfd, m->dst, O_PATH | O_DIRECTORY | O_NOFOLLOW);
		if (fd < 0 || sys_mount_setattr(fd, "", AT_EMPTY_PATH, &ro) < 0)
			return err_errno(e, errno, "cannot make '%s' read-only in the box", m->dst);
	}
	return 0;
}

int mnt_build_root(struct mnt_plan *mp, struct err *e)
{
	int r;

	/* procfs must be created while the host's /proc is still fully
	 * visible in this namespace (the kernel's mount_too_revealing check). */
	int procfd = -1;
	for (size_t i = 0; i < mp->n && procfd < 0; i++)
		if (mp->e[i].kind == MNT_PROC) {
			procfd = new_fs("proc", 0, 0, 0, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, e);
			if (procfd < 0)
				return procfd;
		}

	_cleanup_close_ int rootfd = new_fs("tmpfs", mp->root_size, 0, 0755,
					    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, e);
	if (rootfd < 0) {
		if (procfd >= 0)
			close(procfd);
		return rootfd;
	}
	if (sys_move_mount(rootfd, "", AT_FDCWD, mp->staging, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		r = err_errno(e, errno, "cannot attach the new root at '%s'", mp->staging);
		goto out;
	}

	/* The umask would narrow the modes the plan gives ward's files
	 * (created with theirs in one step); directories and mount points
	 * still honour it (root_dirs.umask); the program gets it back. */
	mode_t umask_saved = umask(0);
	struct root_dirs rd = {.rootfd = rootfd, .umask = umask_saved};
	for (size_t i = 0; i < ROOT_DIRS; i++)
		rd.d[i].fd = -1;
	r = assemble(&rd, mp, procfd, e);
	root_dirs_close(&rd);
	umask(umask_saved);
	if (r < 0)
		goto out;

	/* The root itself holds only ward's skeleton: read-only from now on,
	 * and so are the tmpfs the plan seals (/dev), once populated. */
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	if (sys_mount_setattr(rootfd, "", AT_EMPTY_PATH, &ro) < 0) {
		r = err_errno(e, errno, "cannot make the box root read-only");
		goto out;
	}
	if ((r = seal_mounts(rootfd, mp, e)) < 0)
		goto out;

	/* pivot_root(".", ".") stacks the old root on top of the new one;
	 * detaching "." then drops the whole host tree from this namespace. */
	if (fchdir(rootfd) < 0 || sys_pivot_root(".", ".") < 0) {
		r = err_errno(e, errno, "cannot pivot_root into the box root");
		goto out;
	}
	if (umount2(".", MNT_DETACH) < 0) {
		r = err_errno(e, errno, "cannot detach the host root");
		goto out;
	}
	if (chdir("/") < 0) {
		r = err_errno(e, errno, "cannot enter the box root");
		goto out;
	}
	r = 0;
out:
	if (procfd >= 0)
		close(procfd);
	for (size_t i = 0; i < mp->n; i++)
		if (mp->e[i].tree_fd >= 0) {
			close(mp->e[i].tree_fd);
			mp->e[i].tree_fd = -1;
		}
	return r;
}
