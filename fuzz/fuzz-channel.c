/* fuzz-channel.c — libFuzzer entry point for the host-function channel's
 * codec: the bytes a box writes to its channel.
 *
 * Any input is cut into messages with channel_frame() (limit 64 KiB) the
 * way the controller does. Each body goes through channel_parse_request():
 * it must either succeed, or fail with a "malformed request" message and
 * an id fit to echo (an integer, a short string, or null). An accepted
 * request's reply (its args echoed as the result) must encode, and decode
 * back to the same id and value: what the controller answers, a client
 * can read. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _noreturn_ void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-channel: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

static void check_body(const char *body, size_t len)
{
	json_t *req = NULL, *id = NULL, *args = NULL;
	const char *fn = NULL;
	struct err e = {{0}};
	int r = channel_parse_request(body, len, &req, &id, &fn, &args, &e);
	if (r == -ENOMEM)
		return;
	if (!id || !(json_is_integer(id) || json_is_null(id) ||
		     (json_is_string(id) && json_string_length(id) <= 256)))
		fail("the id to echo is not an integer, a short string or null", NULL);
	if (r < 0) {
		if (r != -EBADMSG || strncmp(e.msg, "malformed request", 17) != 0)
			fail("a refusal without its message", e.msg);
		json_decref(id);
		return;
	}
	if (!fn || !*fn || !json_is_array(args))
		fail("an accepted request without a name or an args array", fn);

	char *buf = NULL;
	size_t n = 0;
	r = channel_encode_reply(id, args, NULL, NULL, CHANNEL_MAX_MESSAGE_LIMIT, &buf, &n);
	if (r == 0) {
		size_t blen = 0;
		if (channel_frame((const uint8_t *)buf, n, CHANNEL_MAX_MESSAGE_LIMIT, &blen) != 1 ||
		    blen + CHANNEL_HEADER_LEN != n)
			fail("a reply that does not frame", NULL);
		json_t *back = json_loadb(buf + CHANNEL_HEADER_LEN, blen, 0, NULL);
		if (!back)
			fail("a reply that does not parse", NULL);
		if (!json_equal(json_object_get(back, "id"), id) ||
		    !json_equal(json_object_get(back, "result"), args))
			fail("a reply that does not read back the same", NULL);
		json_decref(back);
		free(buf);
	} else if (r != -ENOMEM && r != -EMSGSIZE) {
		fail("a reply that does not encode", NULL);
	}
	json_decref(id);
	json_decref(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0, len = 0;
	for (;;) {
		int r = channel_frame(data + off, size - off, 65536, &len);
		if (r == -EMSGSIZE || r == 0)
			break;
		if (r != 1 || len > size - off - CHANNEL_HEADER_LEN)
			fail("channel_frame claims more than there is", NULL);
		check_body((const char *)data + off + CHANNEL_HEADER_LEN, len);
		off += CHANNEL_HEADER_LEN + len;
	}
	return 0;
}
