/* request.h — a warm box's request: the program's arguments, extra
 * environment and files, which reach a box prepared ahead of time (a pool's
 * or a zygote's) at the last moment. The controller encodes it into a
 * memfd (request_encode); the box's own program process, already without
 * capabilities, maps it and decodes it once (request_decode) into struct
 * box_request, which points into the mapping. Not part of any API. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Caps, checked on both sides: a request over them is refused whole. */
#define REQUEST_MAX_ARGS 4096
#define REQUEST_MAX_ENV 1024
#define REQUEST_MAX_FILES 256
#define REQUEST_MAX_NAME 1024
#define REQUEST_MAX_BYTES (256ULL << 20)

struct request_file {
	const char *path;	/* box path, absolute or relative to the cwd */
	const void *data;
	uint64_t len;
	uint32_t mode;		/* permission bits only (0777) */
};

/* What the caller gives (request_encode) and what the box decodes. */
struct box_request {
	char *const *argv;	/* NULL-terminated */
	char *const *env;	/* NAME=VALUE added to the policy's, NULL-terminated or NULL */
	const struct request_file *files;
	size_t n_files;
};

/* Validates r and writes it into a new memfd (close-on-exec, sealed
 * against writes), returned as its fd, or -errno with a message in e. */
int request_encode(const struct box_request *r, struct err *e);

/* Decodes the n bytes at buf (the memfd, mapped). The pointer arrays go
 * into arena (room for arena_len bytes: no allocation, the caller maps
 * it); strings and data point into buf. 0 or -errno with e. */
int request_decode(const void *buf, size_t n, void *arena, size_t arena_len,
		   struct box_request *ret, struct err *e);

/* How many arena bytes request_decode may need at most. */
#define REQUEST_ARENA_BYTES                                                    \
	((REQUEST_MAX_ARGS + REQUEST_MAX_ENV + 2) * sizeof(char *) +          \
	 REQUEST_MAX_FILES * sizeof(struct request_file))

/* Whether a request file's path is acceptable: non-empty, at most
 * REQUEST_MAX_NAME bytes, no "." or ".." component, no control characters. */
bool request_path_ok(const char *path);
