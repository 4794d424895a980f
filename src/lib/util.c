/* util.c — see util.h. */
#include "util.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <time.h>

__attribute__((format(printf, 4, 0)))
static int err_vset(struct err *e, int errnum, bool with_errno,
		    const char *fmt, va_list ap)
{
	if (e) {
		int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		if (with_errno && n >= 0 && (size_t)n < sizeof(e->msg))
		{
			snprintf(e->msg + n, sizeof(e->msg) - n, ": %s",
				 errno_text(errnum));
			/* messages are lowercase: "no such file or directory" */
			char *c = e->msg + n + 2;
			if (*c >= 'A' && *c <= 'Z' && !(c[1] >= 'A' && c[1] <= 'Z'))
				*c = (char)(*c - 'A' + 'a');
		}
	}
	return -(errnum > 0 ? errnum : EINVAL);
}

int err_set(struct err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = err_vset(e, errnum, false, fmt, ap);
	va_end(ap);
	return r;
}

int err_errno(struct err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = err_vset(e, errnum, true, fmt, ap);
	va_end(ap);
	return r;
}

int strv_push_take(struct strv *s, char *str)
{
	if (!str)
		return -ENOMEM;
	/* analyzer: str is stored in s->v or freed below (gcc 12 loses it) */
	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		char **v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			free(str);
			return -ENOMEM;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
	return 0;
}

int strv_push(struct strv *s, const char *str)
{
	return strv_push_take(s, strdup(str));
}

void strv_clear(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

int strv_copy(struct strv *dst, const struct strv *src)
{
	for (size_t i = 0; i < src->n; i++) {
		int r = strv_push(dst, src->v[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Parses the leading unsigned decimal (with optional fraction) of s.
 * Returns the value scaled by `scale` via ret, and the rest of s. */
static int parse_scaled(const char *s, const char **rest, long double *ret)
{
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	long double v = 0;
	const char *p = s;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (*p - '0');
		if (v > 1e30L)
			return -ERANGE;
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		long double f = 0.1L;
		for (; isdigit((unsigned char)*p); p++, f /= 10)
			v += (*p - '0') * f;
	}
	*rest = p;
	*ret = v;
	return 0;
}

/* The multiplier of a size's suffix: K, M, G or T (powers of 1024, any
 * case, an optional 'i'), then an optional B; none is bytes. */
static int size_unit(const char *u, long double *ret_mul)
{
	long double mul = 1;
	switch (toupper((unsigned char)*u)) {
	case 'K': mul = 1024.0L; u++; break;
	case 'M': mul = 1024.0L * 1024; u++; break;
	case 'G': mul = 1024.0L * 1024 * 1024; u++; break;
	case 'T': mul = 1024.0L * 1024 * 1024 * 1024; u++; break;
	default: break;
	}
	if (mul > 1 && *u == 'i')
		u++;
	if (*u == 'B' || *u == 'b')
		u++;
	if (*u)
		return -EINVAL;
	*ret_mul = mul;
	return 0;
}

/* The multiplier, in milliseconds, of a duration's suffix: ms, s (the
 * default), m or min, h. */
static int duration_unit(const char *u, long double *ret_mul)
{
	if (!*u || !strcmp(u, "s"))
		*ret_mul = 1000;
	else if (!strcmp(u, "ms"))
		*ret_mul = 1;
	else if (!strcmp(u, "m") || !strcmp(u, "min"))
		*ret_mul = 60 * 1000;
	else if (!strcmp(u, "h"))
		*ret_mul = 3600 * 1000;
	else
		return -EINVAL;
	return 0;
}

/* A number with a suffix that unit() turns into a multiplier: the value
 * in whole units, at least 1 and below max, plus `round` before the
 * fraction is cut (0.5 rounds to the nearest). */
static int parse_with_unit(const char *s, int (*unit)(const char *u, long double *ret_mul),
			   long double max, long double round, uint64_t *ret)
{
	long double v, mul;
	const char *u;
	int r = parse_scaled(s, &u, &v);
	if (r < 0)
		return r;
	r = unit(u, &mul);
	if (r < 0)
		return r;
	v *= mul;
	if (v >= max)
		return -ERANGE;
	if (v < 1)
		return -ERANGE;
	*ret = (uint64_t)(v + round);
	return 0;
}

int parse_size(const char *s, uint64_t *ret_bytes)
{
	return parse_with_unit(s, size_unit, 18446744073709551615.0L, 0, ret_bytes);
}

int parse_duration(const char *s, uint64_t *ret_ms)
{
	/* 1e15 ms is ~31000 years: nobody means that. */
	return parse_with_unit(s, duration_unit, 1e15L, 0.5L, ret_ms);
}

int parse_count(const char *s, uint64_t max, uint64_t *ret)
{
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < 1 || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

void format_size(uint64_t b, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;
	while (b >= 1024 && b % 1024 == 0 && u < 3) {
		b /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64, b);
	else
		snprintf(buf, len, "%" PRIu64 "%c", b, units[u]);
}

void format_duration(uint64_t ms, char *buf, size_t len)
{
	if (ms % 3600000 == 0)
		snprintf(buf, len, "%" PRIu64 "h", ms / 3600000);
	else if (ms % 60000 == 0)
		snprintf(buf, len, "%" PRIu64 "m", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%" PRIu64 "s", ms / 1000);
	else
		snprintf(buf, len, "%" PRIu64 "ms", ms);
}

char *path_normalize(const char *path)
{
	if (!path || path[0] != '/') {
		errno = EINVAL;
		return NULL;
	}
	size_t len = strlen(path);
	char *out = malloc(len + 2);
	if (!out)
		return NULL;
	size_t o = 0;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		if (n == 1 && p[0] == '.') {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--; /* drop the slash too */
		} else {
			out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = end;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	return out;
}

bool path_is_under(const char *child, const char *parent)
{
	if (!strcmp(parent, "/"))
		return child[0] == '/';
	size_t n = strlen(parent);
	return !strncmp(child, parent, n) && (child[n] == 0 || child[n] == '/');
}

size_t path_depth(const char *path)
{
	size_t d = 0;
	for (const char *p = path; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			d++;
	return d;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t io_full(int fd, char *buf, int out, off_t *pos, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = buf ? read(fd, buf + got, len - got) : sendfile(out, fd, pos, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret_buf,
		 size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* Most files read here (/proc, cgroup files, policies) fit in a page:
	 * read the first page onto the stack and allocate only what it holds.
	 * A page allocated and freed per file costs more than the copy: musl's
	 * allocator hands it back to the kernel at each free and faults it in
	 * again at the next read (bench/README.md, "ward linked statically"). */
	char first[4096];
	ssize_t n = io_full(fd, first, -1, NULL, sizeof(first));
	if (n < 0)
		return (int)n;
	size_t len = (size_t)n, cap = len;
	bool more = len == sizeof(first);
	_cleanup_free_ char *buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, first, len);
	while (more) {
		if (cap >= max)
			return -EFBIG;
		cap = cap * 2 > max ? max : cap * 2;
		char *nb = realloc(buf, cap + 1);
		if (!nb)
			return -ENOMEM;
		buf = nb;
		n = io_full(fd, buf + len, -1, NULL, cap - len);
		if (n < 0)
			return (int)n;
		len += (size_t)n;
		more = len == cap;
	}
	buf[len] = 0;
	if (ret_len)
		*ret_len = len;
	*ret_buf = TAKE_PTR(buf);
	return 0;
}

int read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
	return read_file_at(AT_FDCWD, path, max, ret_buf, ret_len);
}

int write_file_at(int dirfd, const char *path, const char *s)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	return write_all(fd, s, strlen(s));
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0. Overlong
 * forms, surrogates and code points above U+10FFFF are invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned min, cp;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		n = 2, min = 0x80, cp = c & 0x1f;
	else if ((c & 0xf0) == 0xe0)
		n = 3, min = 0x800, cp = c & 0x0f;
	else if ((c & 0xf8) == 0xf0)
		n = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void escape_text(char *dst, size_t len, const char *src)
{
	if (!len)
		return;
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0;
	while (*s) {
		size_t n = utf8_len(s);
		bool raw = n > 0 && !(n == 1 && (*s < 0x20 || *s == 0x7f));
		size_t need = raw ? n : 4;
		if (o + need >= len)
			break;
		if (raw) {
			memcpy(dst + o, s, n);
			s += n;
		} else {
			snprintf(dst + o, 5, "\\x%02x", *s);
			s++;
		}
		o += need;
	}
	dst[o] = 0;
}

char *script_interp(char *buf, size_t n)
{
	if (n <= 2 || buf[0] != '#' || buf[1] != '!')
		return NULL;
	buf[n] = 0;
	char *s = buf + 2;
	while (*s == ' ' || *s == '\t')
		s++;
	s[strcspn(s, " \t\n")] = 0;
	return *s == '/' ? s : NULL;
}
