/* attack-write — try to create files outside the writable grants and to
 * change files that are granted read-only.
 *
 * usage: attack-write [--create PATH | --try PATH | --modify FILE]...
 *   --create PATH   creating PATH (and PATH.d, PATH.l, PATH.n, PATH.r)
 *                   must fail in the box
 *   --try PATH      the same attempts, but they may work in the box (its
 *                   private /tmp): the driver checks the host side only
 *   --modify FILE   an existing read-only file: truncate, write, chmod,
 *                   utimes, rename and unlink it */
#include <limits.h>
#include <sys/time.h>

#include "attack.h"

static void create(const char *path, bool must_fail)
{
	long (*judge)(const char *, long) = must_fail ? deny : show;
	char p[PATH_MAX + 16], what[PATH_MAX + 64];

	snprintf(what, sizeof(what), "open(%s, O_CREAT|O_WRONLY)", path);
	int fd = (int)judge(what, open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
	if (fd >= 0) {
		(void)!write(fd, "ward-escape marker\n", 19);
		close(fd);
	}
	snprintf(p, sizeof(p), "%s.d", path);
	snprintf(what, sizeof(what), "mkdir(%s)", p);
	judge(what, mkdir(p, 0755));
	snprintf(p, sizeof(p), "%s.l", path);
	snprintf(what, sizeof(what), "symlink(%s)", p);
	judge(what, symlink("/ward-escape", p));
	snprintf(p, sizeof(p), "%s.n", path);
	snprintf(what, sizeof(what), "mknod(%s, S_IFREG)", p);
	judge(what, mknod(p, S_IFREG | 0644, 0));
	/* rename of a file we own in the box's /tmp onto the target. */
	const char *tmp = "/tmp/ward-escape-rename-src";
	int t = open(tmp, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (t >= 0)
		close(t);
	snprintf(p, sizeof(p), "%s.r", path);
	snprintf(what, sizeof(what), "rename(/tmp/..., %s)", p);
	judge(what, rename(tmp, p));
	unlink(tmp);
}

static void modify(const char *path)
{
	char what[PATH_MAX + 64], p[PATH_MAX + 16];

	snprintf(what, sizeof(what), "open(%s, O_WRONLY|O_TRUNC)", path);
	int fd = (int)deny(what, open(path, O_WRONLY | O_TRUNC | O_CLOEXEC));
	if (fd >= 0) {
		(void)!write(fd, "pwned\n", 6);
		close(fd);
	}
	snprintf(what, sizeof(what), "open(%s, O_RDWR|O_APPEND)", path);
	fd = (int)deny(what, open(path, O_RDWR | O_APPEND | O_CLOEXEC));
	if (fd >= 0) {
		(void)!write(fd, "pwned\n", 6);
		close(fd);
	}
	snprintf(what, sizeof(what), "truncate(%s, 0)", path);
	deny(what, truncate(path, 0));
	snprintf(what, sizeof(what), "chmod(%s, 04777)", path);
	deny(what, chmod(path, 04777));
	snprintf(what, sizeof(what), "chown(%s, 1000, 1000)", path);
	deny(what, chown(path, 1000, 1000));
	struct timeval tv[2] = {{1, 0}, {1, 0}};
	snprintf(what, sizeof(what), "utimes(%s, 1970)", path);
	deny(what, utimes(path, tv));
	snprintf(p, sizeof(p), "%s.moved", path);
	snprintf(what, sizeof(what), "rename(%s, %s)", path, p);
	deny(what, rename(path, p));
	snprintf(what, sizeof(what), "unlink(%s)", path);
	deny(what, unlink(path));
	/* Through a descriptor opened read-only, then reopened via /proc. */
	int ro = open(path, O_RDONLY | O_CLOEXEC);
	if (ro >= 0) {
		snprintf(p, sizeof(p), "/proc/self/fd/%d", ro);
		snprintf(what, sizeof(what), "reopen %s O_WRONLY via %s", path, p);
		fd = (int)deny(what, open(p, O_WRONLY | O_CLOEXEC));
		if (fd >= 0) {
			(void)!write(fd, "pwned\n", 6);
			close(fd);
		}
		deny("fchmod(ro fd, 04777)", fchmod(ro, 04777));
		close(ro);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--create"))
			create(argv[i + 1], true);
		else if (!strcmp(argv[i], "--try"))
			create(argv[i + 1], false);
		else if (!strcmp(argv[i], "--modify"))
			modify(argv[i + 1]);
		else {
			fprintf(stderr, "attack-write: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}
	return attack_exit();
}
