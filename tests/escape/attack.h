/* attack.h — helpers shared by the escape attacks.
 *
 * Each attack runs inside the box and prints one line per attempt
 * ("what -> result") so that a failing run can be read. The verdict is
 * never the attack's: the driver (escape.py) judges from outside the box
 * (secrets absent from the output, host files unchanged, host processes
 * alive, listeners idle, ward's exit status and report). Where the only
 * outside trace of a forbidden call is whether it worked, the attack
 * exits with the number of forbidden calls that succeeded, which ward
 * passes through as its own exit status. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Forbidden operations that succeeded. */
static int escaped_count;

static inline const char *errno_name(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

/* Prints "what -> ok (rc)" or "what -> ENAME (message)" and returns rc
 * with errno preserved. */
static inline long show(const char *what, long rc)
{
	int e = errno;
	if (rc < 0)
		printf("%s -> %s (%s)\n", what, errno_name(e), strerror(e));
	else
		printf("%s -> ok (%ld)\n", what, rc);
	fflush(stdout);
	errno = e;
	return rc;
}

/* Like show(), for an operation the box must not be able to do: a
 * success is counted and flagged. */
static inline long deny(const char *what, long rc)
{
	int e = errno;
	if (rc < 0) {
		printf("%s -> denied %s (%s)\n", what, errno_name(e), strerror(e));
	} else {
		printf("%s -> SUCCEEDED (%ld): must have failed\n", what, rc);
		escaped_count++;
	}
	fflush(stdout);
	errno = e;
	return rc;
}

static inline void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* Prints up to 4 KiB of what fd yields from offset 0 (pread) or from
 * its current position: whatever was read goes to stdout, where the
 * driver looks for the secret. */
static inline void dump_fd(const char *what, int fd)
{
	char buf[4097];
	/* Never block: fds may be pipes or terminals shared with others. */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0 && (errno == ESPIPE || errno == EINVAL))
		n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		printf("  %s: read -> %s\n", what, errno_name(errno));
	} else {
		buf[n] = 0;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == 0)
				buf[i] = ' ';
		printf("  %s: read %zd bytes: %s\n", what, n, buf);
	}
	fflush(stdout);
}

/* Opens path read-only and dumps it. Returns true when it could be read. */
static inline bool try_read(const char *path)
{
	char what[4200];
	snprintf(what, sizeof(what), "open(%s, O_RDONLY)", path);
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	show(what, fd);
	if (fd < 0)
		return false;
	dump_fd(path, fd);
	close(fd);
	return true;
}

/* Lists a directory on one line. */
static inline void list_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		printf("ls %s -> %s\n", path, errno_name(errno));
		return;
	}
	printf("ls %s:", path);
	struct dirent *de;
	while ((de = readdir(d)))
		printf(" %s", de->d_name);
	printf("\n");
	fflush(stdout);
	closedir(d);
}

/* Process exit status: the number of forbidden operations that worked
 * (capped so that it never looks like 128+signal). */
static inline int attack_exit(void)
{
	printf("forbidden operations that succeeded: %d\n", escaped_count);
	fflush(stdout);
	return escaped_count > 100 ? 100 : escaped_count;
}
