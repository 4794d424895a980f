/* common.c — messages and exits shared by the subcommands. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "banned.h"

_printf_(1, 0) static void vmessage(const char *fmt, va_list ap, int errnum)
{
	/* One fprintf per line: stderr is unbuffered, and a line written in
	 * pieces can interleave with the box's own stderr. */
	char raw[2048], buf[4096];
	int n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		raw[0] = 0;
	/* Paths and values quoted from the command line or a file may hold
	 * any bytes: never echo a terminal control sequence or invalid
	 * UTF-8 raw. */
	escape_text(buf, sizeof(buf), raw);
	if (errnum)
		fprintf(stderr, "ward: %s: %s\n", buf, strerror_lc(errnum));
	else
		fprintf(stderr, "ward: %s\n", buf);
}

void die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap, 0);
	va_end(ap);
	exit(status);
}

void die_errno(int status, const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap, errnum ? errnum : EIO);
	va_end(ap);
	exit(status);
}

void die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap, 0);
	va_end(ap);
	fputs("try 'ward --help'\n", stderr);
	exit(EXIT_USAGE);
}

void die_oom(void)
{
	die(EXIT_SETUP, "out of memory");
}

void warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap, 0);
	va_end(ap);
	errno = saved;
}

const char *strerror_lc(int errnum)
{
	static char buf[256];
	snprintf(buf, sizeof(buf), "%s", errno_text(errnum));
	/* "No such file" -> "no such file", but leave "RPC ..." alone. */
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

bool is_help_arg(const char *arg)
{
	return arg && (!strcmp(arg, "-h") || !strcmp(arg, "--help"));
}

int finish_stdout(int status)
{
	/* fflush to learn why a write failed (errno), fclose too: on some file
	 * systems a write error is only known at close. */
	int err = 0, last = errno;
	if (ferror(stdout)) /* errno still tells why, unless something reset it */
		err = last ? last : EIO;
	else if (fflush(stdout) != 0)
		err = errno ? errno : EIO;
	if (fclose(stdout) != 0 && !err)
		err = errno ? errno : EIO;
	if (!err)
		return status;
	/* A closed pipe (`ward profiles | head -1`) is not worth a message. */
	if (err != EPIPE)
		warn("cannot write to standard output: %s", strerror_lc(err));
	return status ? status : EXIT_SETUP;
}

struct out_file out_file_check(const char *opt, const char *path)
{
	struct out_file f = {opt, path, NULL, -1};
	if (!path || !strcmp(path, "-"))
		return f;
	struct stat st;
	size_t len = strlen(path);
	if (path[len - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
		die(EXIT_USAGE, "--%s: '%s' is a directory (expected a file name)", opt, path);
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *dir = slash == path ? strdup("/")
				 : slash      ? strndup(path, (size_t)(slash - path))
					      : strdup(".");
	if (!dir)
		die_oom();
	f.base = slash ? slash + 1 : path;
	f.dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (f.dirfd < 0 && errno == ENOTDIR)
		die(EXIT_USAGE, "--%s: cannot write '%s': '%s' is not a directory", opt, path, dir);
	if (f.dirfd < 0)
		die_errno(EXIT_USAGE, "--%s: cannot write '%s': '%s'", opt, path, dir);
	if (access(dir, W_OK | X_OK) < 0)
		die_errno(EXIT_USAGE, "--%s: cannot write '%s': '%s'", opt, path, dir);
	return f;
}

void out_file_check_distinct(const struct out_file *a, const struct out_file *b)
{
	struct stat da, db, fa, fb;
	if (a->dirfd < 0 || b->dirfd < 0 || fstat(a->dirfd, &da) < 0 || fstat(b->dirfd, &db) < 0)
		return;
	bool same = da.st_dev == db.st_dev && da.st_ino == db.st_ino && !strcmp(a->base, b->base);
	if (!same && fstatat(a->dirfd, a->base, &fa, 0) == 0 && fstatat(b->dirfd, b->base, &fb, 0) == 0)
		same = fa.st_dev == fb.st_dev && fa.st_ino == fb.st_ino;
	if (same)
		die(EXIT_USAGE, "--%s '%s' and --%s '%s' are the same file (one would replace the other)",
		    a->opt, a->path, b->opt, b->path);
}

bool out_file_write(const struct out_file *f, const char *data, size_t len)
{
	char tmp[300];
	int fd = -1;
	for (int i = 0; i < 100 && fd < 0; i++) {
		uint64_t rnd = 0;
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)i;
		snprintf(tmp, sizeof(tmp), ".%.200s.%016llx", f->base, (unsigned long long)rnd);
		fd = openat(f->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		warn("--%s: cannot write '%s': %s", f->opt, f->path, strerror_lc(errno));
		return false;
	}
	int ret = write_all(fd, data, len);
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && renameat(f->dirfd, tmp, f->dirfd, f->base) < 0)
		ret = -errno;
	if (ret < 0) {
		warn("--%s: cannot write '%s': %s", f->opt, f->path, strerror_lc(-ret));
		unlinkat(f->dirfd, tmp, 0);
	}
	return ret == 0;
}
