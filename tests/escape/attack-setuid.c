/* attack-setuid — leave a set-user-ID or set-group-ID file, a file
 * capability or an ACL in a read-write grant, for a host user to run later.
 * As root the box writes into a grant as the directory's owner (often
 * root), so such a file would be a way out of every box.
 *
 * usage: attack-setuid DIR
 * Tries every call that sets a mode (chmod, fchmod, fchmodat, fchmodat2,
 * open, openat, openat2, creat, mkdir, mkdirat, mknod, mknodat, with
 * S_ISUID, S_ISGID and high bits the kernel ignores), every xattr call
 * with security.capability and POSIX ACLs, hard links to the host's setuid
 * programs, a setuid file made in /tmp and renamed in. The driver judges
 * DIR from outside. */
#include "attack.h"

#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

static char dir[4096];

static const char *at(const char *name, int i)
{
	static char p[2][4352];
	static int k;
	k ^= 1;
	snprintf(p[k], sizeof(p[k]), "%s/%s%d", dir, name, i);
	return p[k];
}

static void fresh(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd >= 0) {
		(void)!write(fd, "#!/bin/sh\nid\n", 13);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: attack-setuid DIR\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	const unsigned long modes[] = {04755, 02755, 06755, 0x100000000UL | 04755, 0x10000 | 02755};
	char what[8192];
	for (int i = 0; i < (int)(sizeof(modes) / sizeof(*modes)); i++) {
		unsigned long m = modes[i];
		const char *f = at("file", i);
		fresh(f);
#define TRY(fmt, call)                                        \
	do {                                                  \
		snprintf(what, sizeof(what), fmt " %#lo", m); \
		long rc_ = (call);                            \
		if (rc_ >= 0 && rc_ < 1024 && strstr(fmt, "open"))  \
			close((int)rc_);                      \
		deny(what, rc_);                              \
	} while (0)
		TRY("chmod", syscall(SYS_chmod, f, m));
		TRY("fchmodat", syscall(SYS_fchmodat, AT_FDCWD, f, m));
		TRY("fchmodat2", syscall(452, AT_FDCWD, f, m, 0));
		int fd = open(f, O_RDONLY);
		TRY("fchmod", syscall(SYS_fchmod, fd, m));
		close(fd);
		TRY("open O_CREAT", syscall(SYS_open, at("open", i), O_CREAT | O_WRONLY, m));
		TRY("openat O_CREAT", syscall(SYS_openat, AT_FDCWD, at("openat", i), O_CREAT | O_WRONLY, m));
		TRY("openat O_TMPFILE", syscall(SYS_openat, AT_FDCWD, dir, O_TMPFILE | O_WRONLY, m));
		struct open_how how = {.flags = O_CREAT | O_WRONLY, .mode = m & 07777};
		TRY("openat2 O_CREAT", syscall(SYS_openat2, AT_FDCWD, at("openat2", i), &how, sizeof(how)));
		TRY("creat", syscall(SYS_creat, at("creat", i), m));
		TRY("mkdir", syscall(SYS_mkdir, at("mkdir", i), m));
		TRY("mkdirat", syscall(SYS_mkdirat, AT_FDCWD, at("mkdirat", i), m));
		TRY("mknod S_IFREG", syscall(SYS_mknod, at("mknod", i), S_IFREG | m, 0));
		TRY("mknodat S_IFREG", syscall(SYS_mknodat, AT_FDCWD, at("mknodat", i), S_IFREG | m, 0));
	}
	/* cap_setuid+ep (VFS_CAP_REVISION_2), and an ACL granting a group. */
	static const unsigned char cap[20] = {0x01, 0x00, 0x00, 0x02, 0x80, 0, 0, 0, 0x80};
	static const unsigned char acl[28] = {2, 0, 0, 0, 1, 0, 7, 0, 0, 0, 0, 0, 4, 0, 5, 0,
					      0, 0, 0, 0, 0x20, 0, 5, 0, 0, 0, 0, 0};
	const char *f = at("file", 0);
	const struct {
		const char *name;
		const void *v;
		size_t n;
	} xs[] = {{"security.capability", cap, sizeof(cap)},
		  {"system.posix_acl_access", acl, sizeof(acl)},
		  {"trusted.overlay.origin", "x", 1}};
	for (size_t i = 0; i < sizeof(xs) / sizeof(*xs); i++) {
		snprintf(what, sizeof(what), "setxattr %s", xs[i].name);
		deny(what, setxattr(f, xs[i].name, xs[i].v, xs[i].n, 0));
		snprintf(what, sizeof(what), "lsetxattr %s", xs[i].name);
		deny(what, lsetxattr(f, xs[i].name, xs[i].v, xs[i].n, 0));
		int fd = open(f, O_RDONLY);
		snprintf(what, sizeof(what), "fsetxattr %s", xs[i].name);
		deny(what, fsetxattr(fd, xs[i].name, xs[i].v, xs[i].n, 0));
		close(fd);
	}
	deny("setxattr system.posix_acl_default on the grant",
	     setxattr(dir, "system.posix_acl_default", acl, sizeof(acl), 0));
	/* The host's own setuid programs, linked in (another mount: EXDEV). */
	const char *suid[] = {"/usr/bin/passwd", "/usr/bin/su", "/usr/bin/mount", "/usr/bin/newgrp"};
	for (size_t i = 0; i < sizeof(suid) / sizeof(*suid); i++) {
		snprintf(what, sizeof(what), "link %s", suid[i]);
		deny(what, link(suid[i], at("link", (int)i)));
	}
	/* Made in the box's /tmp, then moved in. */
	fresh("/tmp/suid");
	show("chmod /tmp/suid 04755", chmod("/tmp/suid", 04755));
	show("rename /tmp/suid into the grant", rename("/tmp/suid", at("moved", 0)));
	return attack_exit();
}
