/* test-channel.c — the host-function channel: the codec (framing, request
 * parsing, reply encoding) and the controller's server over a real
 * socketpair, played by a hostile box: split and merged messages,
 * malformed JSON, unknown functions, an oversized length, a flood, a box
 * that never reads its replies. */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "channel.h"
#include "check.h"

static void test_frame(void)
{
	size_t len = 99;
	const uint8_t ok[] = {0, 0, 0, 2, '{', '}'};
	CHECK_INT(channel_frame(ok, 0, 100, &len), 0);
	CHECK_INT(channel_frame(ok, 3, 100, &len), 0);
	CHECK_INT(channel_frame(ok, 5, 100, &len), 0);
	CHECK_INT(len, 99); /* untouched until complete */
	CHECK_INT(channel_frame(ok, 6, 100, &len), 1);
	CHECK_INT(len, 2);
	const uint8_t big[] = {0x80, 0, 0, 0};
	CHECK_INT(channel_frame(big, 4, 100, &len), -EMSGSIZE);
	const uint8_t edge[] = {0, 0, 0, 100};
	CHECK_INT(channel_frame(edge, 4, 100, &len), 0);
	CHECK_INT(channel_frame(edge, 4, 99, &len), -EMSGSIZE);
	const uint8_t empty[] = {0, 0, 0, 0};
	CHECK_INT(channel_frame(empty, 4, 100, &len), 1);
	CHECK_INT(len, 0);
}

/* Parses text; returns r, and the id's JSON in id_out. */
static int parse(const char *text, char *id_out, size_t idlen, const char **fn_out)
{
	json_t *req = NULL, *id = NULL, *args = NULL;
	const char *fn = NULL;
	struct err e = {{0}};
	int r = channel_parse_request(text, strlen(text), &req, &id, &fn, &args, &e);
	id_out[0] = 0;
	if (id) {
		char *s = json_dumps(id, JSON_ENCODE_ANY);
		snprintf(id_out, idlen, "%s", s);
		free(s);
	}
	if (r == 0) {
		CHECK(json_is_array(args));
		static char fnbuf[64];
		snprintf(fnbuf, sizeof(fnbuf), "%s", fn);
		*fn_out = fnbuf;
	} else {
		CHECK(strstr(e.msg, "malformed request") == e.msg);
	}
	json_decref(id);
	json_decref(req);
	return r;
}

static void test_parse(void)
{
	char id[300];
	const char *fn = NULL;
	CHECK_INT(parse("{\"id\":1,\"fn\":\"get_post\",\"args\":[3]}", id, sizeof(id), &fn), 0);
	CHECK_STR(id, "1");
	CHECK_STR(fn, "get_post");
	CHECK_INT(parse("{\"id\":\"a\",\"fn\":\"f\"}", id, sizeof(id), &fn), 0); /* args optional */
	CHECK_STR(id, "\"a\"");
	CHECK_INT(parse("", id, sizeof(id), &fn), -EBADMSG);
	CHECK_STR(id, "null");
	CHECK_INT(parse("[1,2]", id, sizeof(id), &fn), -EBADMSG);
	CHECK_INT(parse("{\"id\":1,\"fn\":\"f\"} trailing", id, sizeof(id), &fn), -EBADMSG);
	CHECK_INT(parse("{\"id\":7,\"fn\":3}", id, sizeof(id), &fn), -EBADMSG);
	CHECK_STR(id, "7"); /* the error reply can still name the call */
	CHECK_INT(parse("{\"id\":7,\"fn\":\"\"}", id, sizeof(id), &fn), -EBADMSG);
	CHECK_INT(parse("{\"id\":7,\"fn\":\"a\\u0000b\"}", id, sizeof(id), &fn), -EBADMSG);
	CHECK_INT(parse("{\"id\":7,\"fn\":\"f\",\"args\":{}}", id, sizeof(id), &fn), -EBADMSG);
	CHECK_INT(parse("{\"id\":7,\"fn\":\"f\",\"extra\":1}", id, sizeof(id), &fn), -EBADMSG);
	CHECK_INT(parse("{\"id\":1,\"fn\":\"f\",\"fn\":\"g\"}", id, sizeof(id), &fn), -EBADMSG);
	CHECK_INT(parse("{\"id\":[1],\"fn\":\"f\"}", id, sizeof(id), &fn), -EBADMSG);
	CHECK_STR(id, "null"); /* not echoed: not an integer or string */
	CHECK_INT(parse("{\"id\":1.5,\"fn\":\"f\"}", id, sizeof(id), &fn), -EBADMSG);
	CHECK_INT(parse("{\"fn\":\"f\"}", id, sizeof(id), &fn), -EBADMSG);
	CHECK_INT(parse("{\"id\":1,\"fn\":\"\xff\"}", id, sizeof(id), &fn), -EBADMSG); /* not UTF-8 */
}

static void test_encode(void)
{
	char *buf = NULL;
	size_t len = 0;
	json_t *id = json_integer(5), *res = json_pack("{s:i}", "a", 1);
	CHECK_INT(channel_encode_reply(id, res, NULL, NULL, 1000, &buf, &len), 0);
	CHECK_INT(len, 4 + strlen("{\"id\":5,\"result\":{\"a\":1}}"));
	CHECK(buf && buf[3] == (char)(len - 4) && !memcmp(buf + 4, "{\"id\":5,\"result\":{\"a\":1}}", len - 4));
	free(buf);
	CHECK_INT(channel_encode_reply(id, NULL, NULL, NULL, 1000, &buf, &len), 0);
	CHECK(!memcmp(buf + 4, "{\"id\":5,\"result\":null}", len - 4));
	free(buf);
	CHECK_INT(channel_encode_reply(id, NULL, "host-error", "no post 3", 1000, &buf, &len), 0);
	CHECK(!memcmp(buf + 4, "{\"id\":5,\"error\":{\"code\":\"host-error\",\"message\":\"no post 3\"}}", len - 4));
	free(buf);
	buf = NULL;
	CHECK_INT(channel_encode_reply(id, res, NULL, NULL, 10, &buf, &len), -EMSGSIZE);
	CHECK(buf == NULL);
	json_decref(id);
	json_decref(res);
}

/* ---- the server --------------------------------------------------- */

/* The call time limit: "slow" sleeps past it; the other functions must
 * stay under it however loaded the machine (20 ms was exceeded by a plain
 * call under ASan on a busy host). */
#define CALL_TIMEOUT_MS 1000

static int dispatch(void *ctx, const char *fn, json_t *args, json_t **ret, struct err *e)
{
	int *calls = ctx;
	(*calls)++;
	if (!strcmp(fn, "echo")) {
		*ret = json_incref(args);
		return 0;
	}
	if (!strcmp(fn, "fail"))
		return err_set(e, ECANCELED, "failed on purpose");
	if (!strcmp(fn, "big")) {
		*ret = json_string_nocheck("................................................................................................................................................................................................................................................................................................................................");
		return 0;
	}
	if (!strcmp(fn, "slow")) {
		usleep((CALL_TIMEOUT_MS + 10) * 1000); /* always past the limit */
		return 0;
	}
	return -ENOENT;
}

struct pair {
	struct channel ch;
	struct channel_config cfg;
	int box; /* the box's end */
	int calls;
};

static void pair_open(struct pair *p, uint32_t max_message, uint64_t max_calls)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	p->calls = 0;
	p->cfg = (struct channel_config){.lim = {max_message, max_calls, CALL_TIMEOUT_MS}, .dispatch = dispatch, .ctx = &p->calls};
	channel_init(&p->ch, sv[0], &p->cfg);
	p->box = sv[1];
}

static void pair_close(struct pair *p)
{
	channel_close(&p->ch);
	close(p->box);
}

/* Runs the server until it waits for input that is not there. */
static void serve(struct pair *p)
{
	for (int i = 0; i < 100 && channel_events(&p->ch); i++) {
		struct pollfd pf = {p->ch.fd, channel_events(&p->ch), 0};
		if (poll(&pf, 1, 0) <= 0)
			return;
		channel_handle(&p->ch, pf.revents);
	}
}

static void box_send(struct pair *p, const char *json)
{
	uint32_t n = (uint32_t)strlen(json);
	uint8_t h[4] = {n >> 24, n >> 16, n >> 8, n};
	CHECK(write(p->box, h, 4) == 4);
	CHECK(write(p->box, json, n) == (ssize_t)n);
}

/* Reads one reply from the box's end (blocking, with a bound). */
static void box_recv(struct pair *p, char *out, size_t cap)
{
	uint8_t h[4];
	out[0] = 0;
	struct pollfd pf = {p->box, POLLIN, 0};
	if (poll(&pf, 1, 1000) <= 0 || read(p->box, h, 4) != 4) {
		CHECK(!"a reply");
		return;
	}
	size_t n = (size_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
	CHECK(n < cap);
	size_t got = 0;
	while (got < n && got < cap - 1) {
		ssize_t k = read(p->box, out + got, n - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	out[got] = 0;
}

static void test_server(void)
{
	struct pair p;
	char reply[1024];
	pair_open(&p, 1024, 100);
	box_send(&p, "{\"id\":1,\"fn\":\"echo\",\"args\":[1,\"two\",[3.5],{\"x\":null},true]}");
	serve(&p);
	box_recv(&p, reply, sizeof(reply));
	CHECK_STR(reply, "{\"id\":1,\"result\":[1,\"two\",[3.5],{\"x\":null},true]}");
	box_send(&p, "{\"id\":\"q\",\"fn\":\"nope\",\"args\":[]}");
	serve(&p);
	box_recv(&p, reply, sizeof(reply));
	CHECK_STR(reply, "{\"id\":\"q\",\"error\":{\"code\":\"unknown-function\",\"message\":\"no host function 'nope'\"}}");
	box_send(&p, "{\"id\":2,\"fn\":\"fail\"}");
	serve(&p);
	box_recv(&p, reply, sizeof(reply));
	CHECK_STR(reply, "{\"id\":2,\"error\":{\"code\":\"host-error\",\"message\":\"failed on purpose\"}}");
	box_send(&p, "{not json");
	serve(&p);
	box_recv(&p, reply, sizeof(reply));
	CHECK(strstr(reply, "{\"id\":null,\"error\":{\"code\":\"bad-request\",\"message\":\"malformed request") == reply);
	box_send(&p, "{\"id\":3,\"fn\":\"big\"}");
	serve(&p);
	box_recv(&p, reply, sizeof(reply));
	CHECK_STR(reply, "{\"id\":3,\"result\":\"................................................................................................................................................................................................................................................................................................................................\"}");
	box_send(&p, "{\"id\":4,\"fn\":\"slow\"}");
	serve(&p);
	box_recv(&p, reply, sizeof(reply));
	CHECK(strstr(reply, "{\"id\":4,\"error\":{\"code\":\"timeout\"") == reply);

	/* Two requests in one write, then one split byte by byte. */
	const char *a = "{\"id\":5,\"fn\":\"echo\",\"args\":[5]}";
	uint8_t buf[128];
	size_t n = strlen(a);
	for (int k = 0; k < 2; k++) {
		uint8_t *q = buf + k * (4 + n);
		q[0] = q[1] = q[2] = 0;
		q[3] = (uint8_t)n;
		memcpy(q + 4, a, n);
	}
	CHECK(write(p.box, buf, 2 * (4 + n)) == (ssize_t)(2 * (4 + n)));
	serve(&p);
	box_recv(&p, reply, sizeof(reply));
	CHECK_STR(reply, "{\"id\":5,\"result\":[5]}");
	serve(&p);
	box_recv(&p, reply, sizeof(reply));
	CHECK_STR(reply, "{\"id\":5,\"result\":[5]}");
	for (size_t i = 0; i < 4 + n; i++) {
		CHECK(write(p.box, buf + i, 1) == 1);
		serve(&p);
	}
	box_recv(&p, reply, sizeof(reply));
	CHECK_STR(reply, "{\"id\":5,\"result\":[5]}");
	CHECK(!p.ch.violation);
	pair_close(&p);
}

static void test_hostile(void)
{
	struct pair p;
	/* A length beyond the limit: a violation, before any byte of body. */
	pair_open(&p, 1024, 100);
	const uint8_t h[4] = {0, 0, 4, 1}; /* 1025 */
	CHECK(write(p.box, h, 4) == 4);
	serve(&p);
	CHECK(p.ch.violation);
	CHECK(strstr(p.ch.why, "larger than 1024 bytes") != NULL);
	CHECK_INT(p.calls, 0);
	CHECK_INT(channel_events(&p.ch), 0);
	pair_close(&p);

	/* A flood: the call past the limit is a violation, and never runs. */
	pair_open(&p, 1024, 3);
	for (int i = 0; i < 5; i++)
		box_send(&p, "{\"id\":1,\"fn\":\"echo\"}");
	for (int i = 0; i < 10; i++) {
		serve(&p);
		char reply[256];
		if (p.ch.violation)
			break;
		box_recv(&p, reply, sizeof(reply));
	}
	CHECK(p.ch.violation);
	CHECK_INT(p.calls, 3);
	pair_close(&p);

	/* A box that never reads its replies: the server stops reading
	 * requests, and holds at most one reply. */
	pair_open(&p, 65536, 1000000);
	char req[4096];
	int len = snprintf(req, sizeof(req), "{\"id\":1,\"fn\":\"echo\",\"args\":[\"%0*d\"]}", 3000, 0);
	CHECK(len > 3000);
	fcntl(p.box, F_SETFL, O_NONBLOCK);
	size_t sent = 0;
	for (int i = 0; i < 2000; i++) {
		uint8_t hh[4] = {0, 0, (uint8_t)(len >> 8), (uint8_t)len};
		if (write(p.box, hh, 4) != 4)
			break;
		ssize_t k = write(p.box, req, (size_t)len);
		if (k > 0)
			sent += (size_t)k;
		serve(&p);
		if (k != len)
			break;
	}
	CHECK(sent > 100000); /* the box's writes did stall in the end */
	CHECK(p.ch.wlen - p.ch.woff <= (size_t)len + 64);
	CHECK(p.ch.rcap <= 4 + 65536);
	CHECK(!p.ch.violation);
	pair_close(&p);

	/* The box closes its end mid-message: the server closes quietly. */
	pair_open(&p, 1024, 100);
	const uint8_t part[6] = {0, 0, 0, 50, '{', '"'};
	CHECK(write(p.box, part, 6) == 6);
	serve(&p);
	close(p.box);
	p.box = -1;
	serve(&p);
	CHECK(p.ch.fd < 0);
	CHECK(!p.ch.violation);
	channel_close(&p.ch);
}

int main(void)
{
	static const struct test tests[] = {
		TEST(test_frame),  TEST(test_parse),   TEST(test_encode),
		TEST(test_server), TEST(test_hostile),
	};
	return run_tests(tests, ELEMENTSOF(tests));
}
