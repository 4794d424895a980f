/* attack-read — try to read the canary file, which is not granted.
 *
 * usage: attack-read BASE
 * Host layout prepared by the driver (box paths equal host paths):
 *   BASE/secret/canary   the canary (never granted)
 *   BASE/granted/        --ro, holds host-planted symlinks abs-link and
 *                        rel-link pointing at the canary
 *   BASE/rw/             --rw
 *   BASE/cwd/            the working directory (implicit read-only grant)
 * The driver also leaves the canary open on some inherited descriptors. */
#include <limits.h>
#include <stdint.h>

#include "attack.h"

static char base[PATH_MAX], canary[PATH_MAX + 64];

static void read_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void read_fmt(const char *fmt, ...)
{
	char path[PATH_MAX * 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	try_read(path);
}

static void direct_and_dotdot(void)
{
	say("== direct path and '..' traversal");
	read_fmt("%s", canary);
	read_fmt("%s/granted/../secret/canary", base);
	read_fmt("%s/rw/../secret/canary", base);
	read_fmt("%s/cwd/../secret/canary", base);
	read_fmt("../secret/canary");
	read_fmt("../../../../../../../../..%s", canary);
	read_fmt("/..%s", canary);
	read_fmt("/usr/..%s", canary);
	int dfd = open(base, O_PATH | O_DIRECTORY);
	show("open(BASE, O_PATH)", dfd);
	if (dfd >= 0) {
		int fd = openat(dfd, "secret/canary", O_RDONLY);
		show("openat(BASE, secret/canary)", fd);
		if (fd >= 0)
			dump_fd("openat", fd);
	}
	char g[PATH_MAX + 16];
	snprintf(g, sizeof(g), "%s/granted", base);
	int gfd = open(g, O_PATH | O_DIRECTORY);
	show("open(granted, O_PATH)", gfd);
	if (gfd >= 0) {
		int fd = openat(gfd, "../secret/canary", O_RDONLY);
		show("openat(granted, ../secret/canary)", fd);
		if (fd >= 0)
			dump_fd("openat ..", fd);
		/* fchdir into the granted dir and climb. */
		if (fchdir(gfd) == 0) {
			for (int i = 0; i < 8; i++)
				(void)!chdir("..");
			char cwd[PATH_MAX];
			say("after fchdir(granted) + chdir('..') x8, cwd = %s",
			    getcwd(cwd, sizeof(cwd)) ? cwd : "?");
			list_dir(".");
			read_fmt(".%s", canary);
		}
		char cwd[PATH_MAX + 16];
		snprintf(cwd, sizeof(cwd), "%s/cwd", base);
		(void)!chdir(cwd);
	}
}

static void symlinks(void)
{
	char p[PATH_MAX * 2];
	say("== symlinks planted inside the --rw dir");
	snprintf(p, sizeof(p), "%s/rw/abs", base);
	unlink(p);
	show("symlink(canary, rw/abs)", symlink(canary, p));
	read_fmt("%s", p);
	snprintf(p, sizeof(p), "%s/rw/rel", base);
	unlink(p);
	show("symlink(../secret/canary, rw/rel)", symlink("../secret/canary", p));
	read_fmt("%s", p);
	snprintf(p, sizeof(p), "%s/rw/root", base);
	unlink(p);
	show("symlink(/, rw/root)", symlink("/", p));
	read_fmt("%s/rw/root%s", base, canary);
	snprintf(p, sizeof(p), "%s/rw/procroot", base);
	unlink(p);
	show("symlink(/proc/1/root, rw/procroot)", symlink("/proc/1/root", p));
	read_fmt("%s/rw/procroot%s", base, canary);
	snprintf(p, sizeof(p), "%s/rw/up", base);
	unlink(p);
	show("symlink(../../../.., rw/up)", symlink("../../../../../../..", p));
	read_fmt("%s/rw/up%s", base, canary);

	say("== symlinks planted by the host inside the --ro dir");
	read_fmt("%s/granted/abs-link", base);
	read_fmt("%s/granted/rel-link", base);
	read_fmt("%s/granted/dir-link/canary", base);
}

static void procfs(void)
{
	say("== /proc magic links");
	read_fmt("/proc/self/root%s", canary);
	read_fmt("/proc/1/root%s", canary);
	read_fmt("/proc/2/root%s", canary);
	read_fmt("/proc/1/cwd/../secret/canary");
	read_fmt("/proc/self/cwd/../secret/canary");
	read_fmt("/proc/thread-self/root%s", canary);
	list_dir("/proc/1/root");
	list_dir("/proc/1/cwd");
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		read_fmt("/proc/%s/root%s", de->d_name, canary);
		read_fmt("/proc/%s/cwd/../secret/canary", de->d_name);
	}
	if (d)
		closedir(d);
	read_fmt("/proc/self/mountinfo");
}

static void inherited_fds(void)
{
	say("== inherited descriptors");
	list_dir("/proc/self/fd");
	for (int fd = 3; fd < 1024; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0)
			continue;
		char link[64], target[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
		say("fd %d is open: %s (mode %o)", fd, target, st.st_mode);
		dump_fd(link, fd);
		if (S_ISDIR(st.st_mode)) {
			list_dir(link);
			int c = openat(fd, "canary", O_RDONLY | O_CLOEXEC);
			show("openat(inherited dir fd, canary)", c);
			if (c >= 0)
				dump_fd("canary via dir fd", c);
		}
		/* Reopening through /proc gets a fresh file description. */
		read_fmt("/proc/self/fd/%d", fd);
	}
	for (int fd = 3; fd <= 64; fd++) {
		char p[64];
		snprintf(p, sizeof(p), "/dev/fd/%d", fd);
		if (access(p, F_OK) == 0)
			read_fmt("%s", p);
	}
	say("== descriptors of pid 1 (the box's init)");
	list_dir("/proc/1/fd");
	int last_err = 0;
	for (int fd = 0; fd <= 64; fd++) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/1/fd/%d", fd);
		char target[PATH_MAX];
		ssize_t n = readlink(p, target, sizeof(target) - 1);
		if (n < 0) {
			if (errno != ENOENT && (errno != last_err || fd == 0))
				say("readlink %s -> %s%s", p, errno_name(errno),
				    errno == EACCES ? " (and so on)" : "");
			last_err = errno;
			continue;
		}
		target[n] = 0;
		say("%s -> %s", p, target);
		read_fmt("%s", p);
	}
}

/* The "shocker" attack (Docker, 2014): open_by_handle_at with a handle for
 * the filesystem's root inode gives a descriptor outside any chroot or
 * mount namespace view. */
struct handle8 {
	unsigned int handle_bytes;
	int handle_type;
	unsigned char f_handle[8];
};

static void shocker(void)
{
	say("== open_by_handle_at (shocker)");
	char g[PATH_MAX + 16];
	snprintf(g, sizeof(g), "%s/granted", base);
	const char *dirs[] = {g, "/usr", "/", NULL};
	for (int i = 0; dirs[i]; i++) {
		int mfd = open(dirs[i], O_RDONLY | O_DIRECTORY);
		if (mfd < 0)
			continue;
		/* ext4: FILEID_INO32_GEN (1), inode 2 = the root directory. */
		struct handle8 h = {.handle_bytes = 8, .handle_type = 1};
		uint32_t ino = 2, gen = 0;
		memcpy(h.f_handle, &ino, 4);
		memcpy(h.f_handle + 4, &gen, 4);
		char what[PATH_MAX + 64];
		snprintf(what, sizeof(what), "open_by_handle_at(%s, ino 2)", dirs[i]);
		int rfd = (int)syscall(SYS_open_by_handle_at, mfd, &h, O_RDONLY | O_DIRECTORY);
		deny(what, rfd);
		if (rfd >= 0) {
			int fd = openat(rfd, canary + 1, O_RDONLY);
			show("openat(host root, canary)", fd);
			if (fd >= 0)
				dump_fd("via handle", fd);
		}
		/* A handle for the granted dir itself, then its parent. */
		struct {
			unsigned int handle_bytes;
			int handle_type;
			unsigned char f_handle[128];
		} own = {.handle_bytes = 128};
		int mnt_id;
		if (syscall(SYS_name_to_handle_at, AT_FDCWD, dirs[i], &own, &mnt_id, 0) == 0) {
			rfd = (int)syscall(SYS_open_by_handle_at, mfd, &own, O_RDONLY);
			snprintf(what, sizeof(what), "open_by_handle_at(own handle of %s)", dirs[i]);
			deny(what, rfd);
		}
		close(mfd);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: attack-read BASE\n");
		return 2;
	}
	snprintf(base, sizeof(base), "%s", argv[1]);
	snprintf(canary, sizeof(canary), "%s/secret/canary", base);
	setvbuf(stdout, NULL, _IOLBF, 0);
	inherited_fds();
	direct_and_dotdot();
	symlinks();
	procfs();
	shocker();
	return attack_exit();
}
