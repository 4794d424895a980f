/* ward-call — call a host function from a shell script in a ward box.
 *
 *   ward-call get_post 3            -> prints the result as JSON
 *   ward-call greet '"bob"' '[1,2]' -> each argument is JSON...
 *   ward-call greet bob             -> ...or, when it is not, a string
 *
 * A string result is printed as is (no quotes), anything else as compact
 * JSON, followed by a newline. A failed call prints "ward-call: CODE:
 * MESSAGE" on stderr and exits 1; usage and channel errors exit 2. The
 * protocol is in docs/PROTOCOL.md. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ward-call: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 2;
}

static int write_all_fd(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int read_all_fd(int fd, char *p, size_t n)
{
	while (n) {
		ssize_t k = read(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help"))
		return fail("usage: ward-call FUNCTION [ARG...] (each ARG is JSON, or else a string)");
	const char *fdv = getenv("WARD_CHANNEL_FD");
	if (!fdv || !*fdv)
		return fail("WARD_CHANNEL_FD is not set: this box has no host functions");
	int fd = (int)strtol(fdv, NULL, 10);

	json_t *args = json_array();
	for (int i = 2; i < argc; i++) {
		json_t *v = json_loads(argv[i], JSON_DECODE_ANY, NULL);
		json_array_append_new(args, v ? v : json_string(argv[i]));
	}
	json_t *req = json_pack("{s:i,s:s,s:o}", "id", 1, "fn", argv[1], "args", args);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!body)
		return fail("cannot encode the call to '%s'", argv[1]);
	size_t n = strlen(body);
	unsigned char h[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
			      (unsigned char)(n >> 8), (unsigned char)n};
	if (write_all_fd(fd, (char *)h, 4) < 0 || write_all_fd(fd, body, n) < 0)
		return fail("cannot write to the channel: %s", strerror(errno));
	if (read_all_fd(fd, (char *)h, 4) < 0)
		return fail("cannot read the reply: %s", errno ? strerror(errno) : "the host closed the channel");
	n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	char *buf = malloc(n + 1);
	if (!buf || read_all_fd(fd, buf, n) < 0)
		return fail("cannot read the reply");
	json_t *reply = json_loadb(buf, n, 0, NULL);
	if (!json_is_object(reply))
		return fail("malformed reply from the host");
	json_t *err = json_object_get(reply, "error");
	if (err) {
		fprintf(stderr, "ward-call: %s: %s\n", json_string_value(json_object_get(err, "code")),
			json_string_value(json_object_get(err, "message")));
		return 1;
	}
	json_t *res = json_object_get(reply, "result");
	if (json_is_string(res)) {
		fwrite(json_string_value(res), 1, json_string_length(res), stdout);
		putchar('\n');
	} else {
		char *s = json_dumps(res ? res : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%s\n", s ? s : "null");
	}
	return fflush(stdout) == 0 ? 0 : 2;
}
