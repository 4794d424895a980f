/* channel.h — host functions: the box's channel to the controller.
 *
 * One SOCK_STREAM socketpair per run; the box holds its end at
 * CHANNEL_BOX_FD. Messages are a 4-byte big-endian length followed by that
 * many bytes of JSON (docs/PROTOCOL.md):
 *   request {"id": ID, "fn": "name", "args": [...]}
 *   reply   {"id": ID, "result": VALUE} or
 *           {"id": ID, "error": {"code": "...", "message": "..."}}
 * The controller serves the channel from its poll loop (supervise.c). It reads
 * the next request only when the previous reply is fully written, so a box
 * that never reads its replies cannot make the controller buffer more than
 * one reply. */
#pragma once

#include <jansson.h>

#include "util.h"

#define CHANNEL_HEADER_LEN 4

struct channel_limits {
	uint32_t max_message;	  /* bytes of JSON per message, either way */
	uint64_t max_calls;	  /* requests per run, malformed ones included */
	uint64_t call_timeout_ms; /* a callback slower than this fails the call */
};
#define CHANNEL_DEFAULT_MAX_MESSAGE (1u << 20)
#define CHANNEL_DEFAULT_MAX_CALLS 1000000u
#define CHANNEL_DEFAULT_CALL_TIMEOUT_MS 10000u
#define CHANNEL_MAX_MESSAGE_LIMIT (64u << 20)

/* Runs one call. Returns 0 with *ret_result (a new reference, NULL for
 * null), -ENOENT when no function has that name, or another negative errno
 * with a message in e (the call fails with it). */
typedef int (*channel_dispatch_fn)(void *ctx, const char *fn, json_t *args,
				   json_t **ret_result, struct err *e);

struct channel_config {
	struct channel_limits lim;
	channel_dispatch_fn dispatch;
	void *ctx;
};

/* --- the codec (pure functions, fuzzed by fuzz/fuzz-channel.c) --- */

/* Looks at the start of a byte stream. Returns 1 with *ret_len (the JSON
 * body's length) when buf holds a complete message, 0 when more bytes are
 * needed, -EMSGSIZE when the announced length exceeds max. */
int channel_frame(const uint8_t *buf, size_t len, uint32_t max, size_t *ret_len);

/* Parses a request body. Returns 0 with the id (a new reference: an
 * integer, a string or null), the function name (pointing into
 * *ret_request, which the caller frees with json_decref) and the args
 * array; or -EBADMSG with a message in e and *ret_id set to the request's
 * id when it had a usable one (else json null), so the error reply can
 * name it. */
int channel_parse_request(const char *body, size_t len, json_t **ret_request,
			  json_t **ret_id, const char **ret_fn, json_t **ret_args,
			  struct err *e);

/* Encodes a framed reply: a result when code is NULL, else an error.
 * Returns 0 with a heap buffer, -EMSGSIZE when the JSON exceeds max,
 * -ENOMEM. */
int channel_encode_reply(json_t *id, json_t *result, const char *code,
			 const char *message, uint32_t max, char **ret_buf,
			 size_t *ret_len);

/* Encodes a framed request (used by the tests and the fuzz seeds). */
int channel_encode_request(json_t *id, const char *fn, json_t *args,
			   uint32_t max, char **ret_buf, size_t *ret_len);

/* --- the controller's side of one run --- */

struct channel {
	int fd;	/* controller's end, non-blocking; -1 when closed */
	const struct channel_config *cfg;
	uint8_t *rbuf;
	size_t rlen, rcap;
	char *wbuf;
	size_t wlen, woff;
	uint64_t calls;
	bool violation; /* the box broke a rule: kill it */
	char why[256];	/* what the violation was */
};

void channel_init(struct channel *ch, int fd, const struct channel_config *cfg);
/* The poll events the channel waits for (0 when closed). */
short channel_events(const struct channel *ch);
/* Reads, runs and answers what is ready. Sets ch->violation when the box
 * must be stopped. */
void channel_handle(struct channel *ch, short revents);
void channel_close(struct channel *ch);
