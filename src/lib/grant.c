/* grant.c — what the controller prepares of the box's file system before
 * the box exists: as root, each read-write grant cloned with open_tree and
 * idmapped so that the box writes as the directory's owner (only the
 * controller, root in the host's user namespace, may idmap a host file
 * system), after checking that nothing below it is set-user-ID,
 * set-group-ID or holds a file capability; every read-write grant the box
 * could not write is refused here, before the run. mount.c attaches these
 * clones in the box. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>

#include "box.h"
#include "mountapi.h"

/* A file system's name for messages, from statfs(2)'s f_type. */
static const char *fs_name(long type, char *buf, size_t len)
{
	static const struct {
		long magic;
		const char *name;
	} names[] = {
		{0xEF53, "ext4"},	{0x58465342, "xfs"},	{0x9123683E, "btrfs"},
		{0x01021994, "tmpfs"},	{0x794c7630, "overlay"}, {0x65735546, "fuse"},
		{0x6969, "nfs"},	{0xFF534D42, "cifs"},	{0x01021997, "9p"},
		{0x19800202, "mqueue"}, {0x9fa0, "proc"},	{0x62656572, "sysfs"},
		{0x1373, "devtmpfs"},	{0x1cd1, "devpts"},	{0x4d44, "vfat"},	{0x5346544e, "ntfs"},
		{0x73717368, "squashfs"}, {0xF2F52010, "f2fs"},	{0x2fc12fc1, "zfs"},
	};
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (names[i].magic == type)
			return names[i].name;
	snprintf(buf, len, "type 0x%lx", (unsigned long)type);
	return buf;
}

/* Can uid/gid write the path as it is (without an idmap)? The owner's,
 * group's or others' write bit, as the kernel would pick it. */
static bool writable_by(const struct stat *st, uid_t uid, gid_t gid)
{
	if (st->st_uid == uid)
		return st->st_mode & S_IWUSR;
	if (st->st_gid == gid)
		return st->st_mode & S_IWGRP;
	return st->st_mode & S_IWOTH;
}

/* Is there, at or below fd (taken), a file that a box writing as the
 * owner must not be able to rewrite: set-user-ID, executable
 * set-group-ID, or holding a file capability? The kernel strips those on
 * write(2) and truncate, but not when the file is changed through a
 * shared writable mapping, so a box that owns such a file could rewrite
 * it and keep the bit. 1 (path names it, relative), 0, or -errno. The
 * box does not run yet, and cannot make one (the seccomp filter refuses
 * the bits and every xattr), so checking once before it starts holds. */
static int find_privileged(int fd, char *path, size_t len, size_t plen, int depth)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	if (S_ISREG(st.st_mode)) {
		bool bad = (st.st_mode & S_ISUID) ||
			   (st.st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) ||
			   fgetxattr(fd, "security.capability", NULL, 0) >= 0;
		close(fd);
		return bad;
	}
	if (!S_ISDIR(st.st_mode)) {
		close(fd);
		return 0;
	}
	if (depth > 128) {
		close(fd);
		return -ELOOP;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	struct dirent *de;
	int r = 0;
	while (r == 0 && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		unsigned char type = de->d_type;
		struct stat sst;
		if (type == DT_UNKNOWN && fstatat(dirfd(d), de->d_name, &sst, AT_SYMLINK_NOFOLLOW) == 0)
			type = S_ISREG(sst.st_mode) ? DT_REG : S_ISDIR(sst.st_mode) ? DT_DIR : DT_UNKNOWN;
		/* Only files and directories are opened: opening a device
		 * node (a ptmx, a tape) may do something. */
		if (type != DT_REG && type != DT_DIR)
			continue;
		int n = snprintf(path + plen, len - plen, "/%s", de->d_name);
		if (n < 0 || (size_t)n >= len - plen) {
			r = -ENAMETOOLONG;
			break;
		}
		/* O_NONBLOCK: a FIFO must not stall; O_NOFOLLOW: a symlink
		 * leads elsewhere (and is not followed by a write either). */
		int sub = openat(dirfd(d), de->d_name,
				 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (sub < 0) {
			if (errno == ELOOP || errno == ENOENT || errno == ENXIO)
				continue;
			r = -errno;
			break;
		}
		r = find_privileged(sub, path, len, plen + (size_t)n, depth + 1);
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(d);
	if (r == 0)
		path[plen] = 0;
	return r;
}

/* A detached clone of the grant behind path descriptor pfd: nosuid and
 * nodev on every mount in it, read-only when asked, and idmapped through
 * userns when one is given (the kernel allows that only on a clone not
 * yet attached). recursive: with the mounts below it. Returns the tree,
 * or -errno with e set, or -errno with *ret_unsupported set when the
 * file system (or kernel) cannot idmap. */
static int clone_grant(const struct mnt_entry *m, int pfd, bool recursive, bool rdonly,
		       int userns, bool *ret_unsupported, struct err *e)
{
	unsigned rec = recursive ? AT_RECURSIVE : 0;
	_cleanup_close_ int fd = sys_open_tree(pfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
							    AT_EMPTY_PATH | rec);
	if (fd < 0)
		return err_errno(e, errno, "cannot bind '%s'", m->src);
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					      (rdonly ? MOUNT_ATTR_RDONLY : 0)};
	if (sys_mount_setattr(fd, "", AT_EMPTY_PATH | rec, &attr) < 0)
		return err_errno(e, errno, "cannot restrict bind of '%s'", m->src);
	if (userns < 0)
		return TAKE_FD(fd);
	attr = (struct mount_attr){.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
	if (sys_mount_setattr(fd, "", AT_EMPTY_PATH | rec, &attr) < 0) {
		int r = errno;
		*ret_unsupported = r == EINVAL || r == EOPNOTSUPP || r == EPERM;
		return *ret_unsupported ? -r : err_errno(e, r, "cannot idmap '%s'", m->src);
	}
	return TAKE_FD(fd);
}

int mnt_idmap_probe(const char *path, char *why, size_t len)
{
	struct err e = {{0}};
	int userns = ns_idmap_userns(0, NOBODY_UID, 0, NOBODY_GID, &e);
	if (userns < 0) {
		snprintf(why, len, "%s", e.msg);
		return 0;
	}
	_cleanup_close_ int ns = userns;
	_cleanup_close_ int fd = sys_open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "cannot clone the mount of '%s' (errno %d)", path, errno);
		return 0;
	}
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns};
	if (sys_mount_setattr(fd, "", AT_EMPTY_PATH, &attr) < 0) {
		char buf[32];
		struct statfs sf;
		snprintf(why, len, "the file system of '%s' (%s) cannot be idmapped on this kernel", path,
			 statfs(path, &sf) == 0 ? fs_name((long)sf.f_type, buf, sizeof(buf)) : "?");
		return 0;
	}
	return 1;
}

/* Is there a file at or below path descriptor pfd (a file or a
 * directory) that a box writing as the owner must not be able to rewrite?
 * find_privileged on a readable descriptor of the same inode. */
static int find_privileged_at(int pfd, const struct stat *st, char *found, size_t len)
{
	int fd;
	if (S_ISDIR(st->st_mode)) {
		fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else if (S_ISREG(st->st_mode)) {
		/* Reopened through the descriptor, not the path: the file
		 * checked is the one granted. */
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
		fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	} else {
		return 0;
	}
	return fd < 0 ? -errno : find_privileged(fd, found, len, 0, 0);
}

/* The user namespace that maps a grant's owner to the box's ids, for the
 * idmapped clones: made once, and again only when the next grant has
 * another owner. */
struct idmap_ns {
	int fd; /* -1 until made */
	uid_t uid;
	gid_t gid;
};

/* Makes ns map uid:gid (the owner) to box_uid:box_gid, unless it does. */
static int idmap_ns_for(struct idmap_ns *ns, uid_t uid, gid_t gid, uid_t box_uid, gid_t box_gid,
			struct err *e)
{
	if (ns->fd >= 0 && ns->uid == uid && ns->gid == gid)
		return 0;
	if (ns->fd >= 0)
		close(ns->fd);
	ns->fd = ns_idmap_userns(uid, box_uid, gid, box_gid, e);
	if (ns->fd < 0)
		return ns->fd;
	ns->uid = uid;
	ns->gid = gid;
	return 0;
}

/* Opens read-write grant m's host path into *ret_fd, with its stat in st
 * and whether a symlink is on the way in *ret_via_link. Returns 0, 1 when
 * the path of an optional grant is missing (skipped), or a negative errno.
 *
 * Resolved once, the last component not followed; the stat, the checks
 * and the clones all use this one descriptor, so what is checked is what
 * the box gets (no race between them). A symlink is refused: one an
 * earlier box left in a read-write tree would make the grant whatever it
 * points to (Judge0, CVE-2024-28185). */
static int grant_open(const struct mnt_entry *m, int *ret_fd, struct stat *st, bool *ret_via_link,
		      struct err *e)
{
	struct open_how how = {.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	_cleanup_close_ int pfd = (int)syscall(SYS_openat2, AT_FDCWD, m->src, &how, sizeof(how));
	/* A symlink on the way (/var/run, a home directory...) is allowed,
	 * but then the grant is not idmapped: a link an earlier box planted
	 * must not make the box write as the owner of where it leads
	 * (jobs/out -> /etc, then --rw jobs/out/sub). */
	bool via_link = pfd < 0 && errno == ELOOP;
	if (via_link)
		pfd = open(m->src, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0) {
		if (errno == ENOENT && m->optional)
			return 1;
		return err_errno(e, errno, "cannot bind '%s'", m->src);
	}
	if (fstat(pfd, st) < 0)
		return err_errno(e, errno, "cannot bind '%s'", m->src);
	if (S_ISLNK(st->st_mode))
		return err_set(e, ELOOP,
			       "'%s' is granted read-write but is a symbolic link (an earlier box may have left it): grant the path it leads to, or remove it",
			       m->src);
	if (S_ISDIR(st->st_mode) != m->overlay)
		return err_set(e, EAGAIN, "'%s' changed while the box was being set up", m->src);
	*ret_via_link = via_link;
	*ret_fd = TAKE_FD(pfd);
	return 0;
}

/* As root the box writes as the owner (an idmapped mount), but not where
 * others may write too (a shared directory such as /tmp: the owner's
 * powers there, removing anyone's files despite the sticky bit, are more
 * than the box needs), not when the owner is the box's uid already, and
 * never as root: a root-owned file is written as the box's own uid or not
 * at all. A root-owned directory is overlaid: the box writes only into its
 * tmpfs, through a read-only lower layer, and the controller applies the
 * writes as the owner without any capability (disk.c). */
static bool idmap_wanted(const struct mnt_entry *m, const struct stat *st, bool root,
			 bool via_link, uid_t box_uid, gid_t box_gid)
{
	return root && !via_link && !(st->st_mode & S_IWOTH) &&
	       !(st->st_uid == box_uid && st->st_gid == box_gid) &&
	       (m->overlay || (st->st_uid != 0 && st->st_gid != 0));
}

/* Clones grant m (descriptor pfd) idmapped to its owner. Returns 0 when
 * done, 1 when its file system cannot be idmapped (*unsupported set: the
 * caller falls back to the box's own uid), or a negative errno. */
static int grant_idmapped(struct mnt_entry *m, int pfd, const struct stat *st,
			  struct idmap_ns *ns, uid_t box_uid, gid_t box_gid, bool *unsupported,
			  struct err *e)
{
	/* (Behind an overlay the box changes only copies: the controller
	 * writes new files, without those bits.) */
	char found[4096] = "";
	int r = m->overlay ? 0 : find_privileged_at(pfd, st, found, sizeof(found));
	if (r == 1)
		return err_set(e, EPERM,
			       "'%s' is granted read-write but holds '%s%s', a set-user-ID, set-group-ID or file-capability program: a box writing as its owner could rewrite it; remove the bit, or grant it --ro",
			       m->src, m->src, found);
	if (r < 0)
		return err_errno(e, -r, "cannot check '%s%s' before granting it read-write", m->src,
				 found);
	r = idmap_ns_for(ns, m->idmap_uid, m->idmap_gid, box_uid, box_gid, e);
	if (r < 0)
		return r;
	/* An overlay's lower layer is read-only: the box reads the owner's
	 * files as its own but writes only into its tmpfs. */
	int fd = clone_grant(m, pfd, true, m->overlay, ns->fd, unsupported, e);
	if (fd < 0)
		return *unsupported ? 1 : fd;
	m->tree_fd = fd;
	/* The controller's own clone, where it applies the overlay after the
	 * run, as the owner: without the mounts below it, which the box
	 * never saw (an overlay layer does not cross mounts). */
	if (m->overlay && (m->host_fd = clone_grant(m, pfd, false, false, -1, NULL, e)) < 0)
		return m->host_fd;
	return 0;
}

/* Not idmapped: the box writes as box_uid itself. Returns 0 when it can
 * (the clones made, or as a user the descriptor *pfd kept for an
 * overlay), 1 when it cannot, or a negative errno. */
static int grant_as_box(struct mnt_entry *m, int *pfd, const struct stat *st, bool root,
			uid_t box_uid, gid_t box_gid, struct err *e)
{
	bool w = root ? writable_by(st, box_uid, box_gid)
		      : faccessat(*pfd, "", W_OK, AT_EMPTY_PATH | AT_EACCESS) == 0;
	if (!w)
		return 1;
	if (root) {
		/* Cloned here, from the descriptor checked, not by path in
		 * the box. */
		m->tree_fd = clone_grant(m, *pfd, true, false, -1, NULL, e);
		if (m->tree_fd < 0)
			return m->tree_fd;
		if (m->overlay && (m->host_fd = clone_grant(m, *pfd, false, false, -1, NULL, e)) < 0)
			return m->host_fd;
	} else if (m->overlay) {
		m->host_fd = TAKE_FD(*pfd);
	}
	return 0;
}

/* Why the box cannot write to grant m, and what to do about it. */
static int not_writable(const struct mnt_entry *m, int pfd, const struct stat *st, bool root,
			uid_t box_uid, bool unsupported, bool via_link, struct err *e)
{
	char buf[32];
	struct statfs sf;
	const char *fs = fstatfs(pfd, &sf) == 0 ? fs_name((long)sf.f_type, buf, sizeof(buf)) : "?";
	if (unsupported)
		return err_set(e, EACCES,
			       "'%s' is granted read-write but the box cannot write to it: its file system (%s) cannot be idmapped on this kernel, so the box would write as uid %u, not as its owner (uid %u); grant a directory on ext4, xfs, btrfs or tmpfs (linux 6.3 or later), or chown it to %u",
			       m->src, fs, (unsigned)box_uid, (unsigned)st->st_uid, (unsigned)box_uid);
	if (via_link)
		return err_set(e, EACCES,
			       "'%s' is granted read-write but the box cannot write to it: its path passes through a symbolic link, so the box writes as uid %u, not as its owner (uid %u); grant its real path",
			       m->src, (unsigned)box_uid, (unsigned)st->st_uid);
	if (root && (st->st_uid == 0 || st->st_gid == 0))
		return err_set(e, EACCES,
			       "'%s' is granted read-write but the box cannot write to it: it is owned by root (%u:%u, mode %04o) and the box never writes a file as root; chown it to the user the box should write as, or make it writable by uid %u, or grant it --ro",
			       m->src, (unsigned)st->st_uid, (unsigned)st->st_gid,
			       (unsigned)(st->st_mode & 07777), (unsigned)box_uid);
	return err_set(e, EACCES,
		       "'%s' is granted read-write but the box cannot write to it: the box writes as uid %u and it is owned by uid %u with mode %04o; make it writable for uid %u, or grant it --ro",
		       m->src, (unsigned)box_uid, (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777),
		       (unsigned)box_uid);
}

/* One read-write bind grant: opened and checked once, then cloned
 * idmapped to its owner, or as the box's own uid, or refused. */
static int prepare_one(struct mnt_entry *m, bool root, uid_t box_uid, gid_t box_gid,
		       struct idmap_ns *ns, struct err *e)
{
	_cleanup_close_ int pfd = -1;
	struct stat st;
	bool via_link = false, unsupported = false;
	int r = grant_open(m, &pfd, &st, &via_link, e);
	if (r != 0)
		return r < 0 ? r : 0; /* 1: an optional grant's path is missing */
	m->idmap = idmap_wanted(m, &st, root, via_link, box_uid, box_gid);
	m->idmap_uid = st.st_uid;
	m->idmap_gid = st.st_gid;
	if (m->idmap) {
		r = grant_idmapped(m, pfd, &st, ns, box_uid, box_gid, &unsupported, e);
		if (r <= 0)
			return r;
		m->idmap = false;
	}
	r = grant_as_box(m, &pfd, &st, root, box_uid, box_gid, e);
	if (r <= 0)
		return r;
	return not_writable(m, pfd, &st, root, box_uid, unsupported, via_link, e);
}

int mnt_prepare_writable(struct mnt_plan *mp, bool root, uid_t box_uid,
			 gid_t box_gid, struct err *e)
{
	struct idmap_ns ns = {.fd = -1};
	int r = 0;
	for (size_t i = 0; i < mp->n && r == 0; i++) {
		struct mnt_entry *m = &mp->e[i];
		if (m->kind == MNT_BIND && m->writable)
			r = prepare_one(m, root, box_uid, box_gid, &ns, e);
	}
	if (ns.fd >= 0)
		close(ns.fd);
	return r;
}

void mnt_close_trees(struct mnt_plan *mp)
{
	for (size_t i = 0; i < mp->n; i++)
		if (mp->e[i].tree_fd >= 0) {
			close(mp->e[i].tree_fd);
			mp->e[i].tree_fd = -1;
		}
}
