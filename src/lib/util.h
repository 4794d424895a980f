/* util.h — small helpers shared by every module: cleanup attributes,
 * the error record the library reports through, string vectors and the
 * size/duration parsers used by both the policy file and the CLI. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "libc-compat.h"

#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
/* Code that runs on a stack ASan does not know (the program's vfork-style
 * start in init.c): uninstrumented, since ASan would take the foreign stack
 * for a corrupt one at each call of a noreturn function and print a
 * warning into the box's stderr. */
#if defined(__SANITIZE_ADDRESS__)
#define _no_asan_ __attribute__((no_sanitize_address))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define _no_asan_ __attribute__((no_sanitize_address))
#endif
#endif
#ifndef _no_asan_
#define _no_asan_
#endif
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))

/* Hand ownership on: returns the value and leaves NULL / -1 behind so the
 * cleanup attribute does nothing. */
#define TAKE_PTR(p)                                                            \
	({                                                                     \
		__typeof__(p) _p = (p);                                        \
		(p) = NULL;                                                    \
		_p;                                                            \
	})
#define TAKE_FD(fd)                                                            \
	({                                                                     \
		int _fd = (fd);                                                \
		(fd) = -1;                                                     \
		_fd;                                                           \
	})

/* The library never prints: a failing call fills one of these with a
 * complete, lowercase message naming the thing and the reason, and
 * returns a negative errno. */
struct err {
	char msg[1024];
};

/* Formats the message into e (if non-NULL) and returns -errnum (errnum > 0). */
int err_set(struct err *e, int errnum, const char *fmt, ...) _printf_(3, 4);
/* Like err_set, and appends ": strerror(errnum)". */
int err_errno(struct err *e, int errnum, const char *fmt, ...) _printf_(3, 4);

/* NULL-terminated vectors of heap strings. */
struct strv {
	char **v;
	size_t n, cap;
};
int strv_push(struct strv *s, const char *str);      /* copies str; -ENOMEM */
int strv_push_take(struct strv *s, char *str);       /* takes ownership */
void strv_clear(struct strv *s);
int strv_copy(struct strv *dst, const struct strv *src);

/* "64M", "1G", "512", "4096K" -> bytes. Units K/M/G/T are powers of 1024,
 * an optional trailing B/iB is accepted. 0 and overflow are errors.
 * Returns 0 or -EINVAL / -ERANGE. */
int parse_size(const char *s, uint64_t *ret_bytes);
/* "500ms", "5s", "2m", "1h", "1.5s" -> milliseconds. A bare number is
 * seconds. 0 is an error. Returns 0 or -EINVAL / -ERANGE. */
int parse_duration(const char *s, uint64_t *ret_ms);
/* Positive decimal integer within [1, max]. Returns 0 or -EINVAL / -ERANGE. */
int parse_count(const char *s, uint64_t max, uint64_t *ret);

/* Formats bytes as the shortest exact "64M"/"1G"/"1234" form. */
void format_size(uint64_t bytes, char *buf, size_t len);
void format_duration(uint64_t ms, char *buf, size_t len);

/* Lexically normalises an absolute path: collapses "//", removes "." and
 * resolves ".." against the preceding components (never above "/").
 * Returns a heap string, or NULL with errno (EINVAL if not absolute). */
char *path_normalize(const char *path);
/* true if child equals parent or lies below it (both normalised). */
bool path_is_under(const char *child, const char *parent);
/* The interpreter of a script whose first n bytes are in buf (cap > n):
 * the absolute path on its #! line, cut out in place; NULL if none. The
 * same reading as the launcher's exec list and the broker's check. */
char *script_interp(char *buf, size_t n);
/* Number of components: "/" = 0, "/usr" = 1, "/usr/lib" = 2. */
size_t path_depth(const char *path);

/* write(2) until done, retrying EINTR. Returns 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);
/* Until len bytes are moved or the file ends, retrying EINTR: read(2)
 * from fd into buf, or with buf NULL sendfile(2) from fd at *pos (which
 * it advances) to out. The count moved, or -errno. */
ssize_t io_full(int fd, char *buf, int out, off_t *pos, size_t len);
/* Reads a whole small file (capped at max bytes) into a NUL-terminated
 * heap buffer. Returns 0 or -errno (-EFBIG past the cap). */
int read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len);
int read_file_at(int dirfd, const char *path, size_t max, char **ret_buf,
		 size_t *ret_len);
/* Writes a string to a file relative to dirfd (O_WRONLY|O_CLOEXEC, no
 * O_CREAT), as used for /proc and cgroup control files. */
int write_file_at(int dirfd, const char *path, const char *s);

/* Monotonic time in nanoseconds. */
uint64_t now_ns(void);

/* Copies src into dst (always NUL-terminated, cut to fit) with every byte
 * that is not part of valid UTF-8, and every control character, written
 * as \xNN: a message that quotes a file's or an argument's bytes stays one
 * printable line. Text without such bytes is copied unchanged, so
 * escaping twice changes nothing. */
void escape_text(char *dst, size_t len, const char *src);

/* The signal's abbreviation without "SIG" ("SEGV") and the errno's
 * symbolic name ("EACCES"), or NULL for a number without one; the errno's
 * text ("Permission denied", strerror(3) for a number ward does not know):
 * ward's own tables (names.c), the same whatever the C library. */
const char *signal_abbrev(int sig);
const char *errno_name(int errnum);
const char *errno_text(int errnum);
