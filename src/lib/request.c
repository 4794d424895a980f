/* request.c — a warm box's request on the wire (request.h).
 *
 * Layout (native byte order: both ends are on one machine):
 *   struct wire_head
 *   argc strings, then envc strings, each NUL-terminated
 *   nfiles times: struct wire_file, the path (NUL-terminated), the data
 * The decoder trusts nothing: every count is capped, every string must end
 * inside the buffer, and the lengths must add up to the buffer exactly. */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "request.h"

#define WIRE_MAGIC 0x77617271u /* "qraw" */

struct wire_head {
	uint32_t magic;
	uint32_t argc, envc, nfiles;
	uint64_t len; /* the whole request, this header included */
};

struct wire_file {
	uint32_t mode;
	uint32_t path_len; /* with its NUL */
	uint64_t len;
};

bool request_path_ok(const char *path)
{
	size_t n = strnlen(path, REQUEST_MAX_NAME + 1);
	if (n == 0 || n > REQUEST_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			return false;
	/* Every component: not empty past the first '/', not "." or "..". */
	for (const char *c = path; *c;) {
		while (*c == '/')
			c++;
		const char *end = strchrnul(c, '/');
		size_t len = (size_t)(end - c);
		if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c = end;
	}
	return path[n - 1] != '/';
}

static size_t count(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* Appends len bytes to the memfd; 0 or -errno. */
static int put(int fd, const void *p, size_t len)
{
	return len && write_all(fd, p, len) < 0 ? -(errno ? errno : EIO) : 0;
}

int request_encode(const struct box_request *r, struct err *e)
{
	size_t argc = count(r->argv), envc = count(r->env);
	if (!argc || !r->argv[0][0])
		return err_set(e, EINVAL, "the request has no program");
	if (argc > REQUEST_MAX_ARGS || envc > REQUEST_MAX_ENV || r->n_files > REQUEST_MAX_FILES)
		return err_set(e, E2BIG, "the request has too many arguments, variables or files "
					 "(at most %d, %d and %d)",
			       REQUEST_MAX_ARGS, REQUEST_MAX_ENV, REQUEST_MAX_FILES);
	uint64_t len = sizeof(struct wire_head);
	for (size_t i = 0; i < argc; i++)
		len += strlen(r->argv[i]) + 1;
	for (size_t i = 0; i < envc; i++) {
		const char *eq = strchr(r->env[i], '=');
		if (!eq || eq == r->env[i])
			return err_set(e, EINVAL, "request variable '%s' is not NAME=VALUE", r->env[i]);
		len += strlen(r->env[i]) + 1;
	}
	for (size_t i = 0; i < r->n_files; i++) {
		const struct request_file *f = &r->files[i];
		if (!f->path || !request_path_ok(f->path))
			return err_set(e, EINVAL, "request file name '%.64s' is not acceptable "
						  "(empty, too long, '.' or '..', or control characters)",
				       f->path ? f->path : "");
		if (f->mode & ~0777u)
			return err_set(e, EINVAL, "request file '%s': mode %o is not permission bits",
				       f->path, f->mode);
		if (f->len && !f->data)
			return err_set(e, EINVAL, "request file '%s' has no data", f->path);
		len += sizeof(struct wire_file) + strlen(f->path) + 1 + f->len;
	}
	if (len > REQUEST_MAX_BYTES)
		return err_set(e, E2BIG, "the request is %llu bytes, over the %llu a box takes",
			       (unsigned long long)len, (unsigned long long)REQUEST_MAX_BYTES);

	int fd = memfd_create("ward-request", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return err_errno(e, errno, "cannot create the request's memfd");
	struct wire_head h = {.magic = WIRE_MAGIC, .argc = (uint32_t)argc, .envc = (uint32_t)envc,
			      .nfiles = (uint32_t)r->n_files, .len = len};
	int rc = put(fd, &h, sizeof(h));
	for (size_t i = 0; rc == 0 && i < argc; i++)
		rc = put(fd, r->argv[i], strlen(r->argv[i]) + 1);
	for (size_t i = 0; rc == 0 && i < envc; i++)
		rc = put(fd, r->env[i], strlen(r->env[i]) + 1);
	for (size_t i = 0; rc == 0 && i < r->n_files; i++) {
		const struct request_file *f = &r->files[i];
		struct wire_file w = {.mode = f->mode, .path_len = (uint32_t)strlen(f->path) + 1,
				      .len = f->len};
		if ((rc = put(fd, &w, sizeof(w))) == 0 && (rc = put(fd, f->path, w.path_len)) == 0)
			rc = put(fd, f->data, f->len);
	}
	if (rc == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK |
						 F_SEAL_SEAL) < 0)
		rc = -errno;
	if (rc < 0) {
		close(fd);
		return err_errno(e, -rc, "cannot write the request");
	}
	return fd;
}

/* The next NUL-terminated string at *off, or NULL when it does not end
 * inside the buffer. */
static const char *take_string(const char *buf, size_t n, size_t *off, size_t max)
{
	if (*off >= n)
		return NULL;
	size_t room = n - *off < max + 1 ? n - *off : max + 1;
	const char *s = buf + *off;
	const char *nul = memchr(s, 0, room);
	if (!nul)
		return NULL;
	*off += (size_t)(nul - s) + 1;
	return s;
}

int request_decode(const void *raw, size_t n, void *arena, size_t arena_len,
		   struct box_request *ret, struct err *e)
{
	const char *buf = raw;
	struct wire_head h;
	if (n < sizeof(h))
		return err_set(e, EINVAL, "the request is truncated");
	memcpy(&h, buf, sizeof(h));
	if (h.magic != WIRE_MAGIC || h.len != n)
		return err_set(e, EINVAL, "the request is malformed");
	if (h.argc == 0 || h.argc > REQUEST_MAX_ARGS || h.envc > REQUEST_MAX_ENV ||
	    h.nfiles > REQUEST_MAX_FILES)
		return err_set(e, E2BIG, "the request has too many arguments, variables or files");
	size_t need = (h.argc + 1 + h.envc + 1) * sizeof(char *) +
		      h.nfiles * sizeof(struct request_file);
	if (need > arena_len)
		return err_set(e, E2BIG, "the request is too large");
	char **argv = arena;
	char **env = argv + h.argc + 1;
	struct request_file *files = (struct request_file *)(env + h.envc + 1);
	size_t off = sizeof(h);
	for (uint32_t i = 0; i < h.argc; i++)
		if (!(argv[i] = (char *)take_string(buf, n, &off, n)))
			return err_set(e, EINVAL, "the request's arguments are malformed");
	argv[h.argc] = NULL;
	if (!argv[0][0])
		return err_set(e, EINVAL, "the request has no program");
	for (uint32_t i = 0; i < h.envc; i++) {
		if (!(env[i] = (char *)take_string(buf, n, &off, n)))
			return err_set(e, EINVAL, "the request's environment is malformed");
		const char *eq = strchr(env[i], '=');
		if (!eq || eq == env[i])
			return err_set(e, EINVAL, "request variable '%.64s' is not NAME=VALUE", env[i]);
	}
	env[h.envc] = NULL;
	for (uint32_t i = 0; i < h.nfiles; i++) {
		struct wire_file w;
		if (n - off < sizeof(w))
			return err_set(e, EINVAL, "the request's files are malformed");
		memcpy(&w, buf + off, sizeof(w));
		off += sizeof(w);
		const char *path = take_string(buf, n, &off, REQUEST_MAX_NAME);
		if (!path || (size_t)w.path_len != strlen(path) + 1 || !request_path_ok(path) ||
		    (w.mode & ~0777u) || w.len > n - off)
			return err_set(e, EINVAL, "the request's files are malformed");
		files[i] = (struct request_file){.path = path, .data = buf + off, .len = w.len,
						 .mode = w.mode};
		off += w.len;
	}
	if (off != n)
		return err_set(e, EINVAL, "the request has trailing bytes");
	*ret = (struct box_request){.argv = argv, .env = env, .files = files, .n_files = h.nfiles};
	return 0;
}
