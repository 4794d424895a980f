/* channel.c — the host-function channel: the message codec and the
 * controller's server for one run (see channel.h, docs/PROTOCOL.md). */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "channel.h"

int channel_frame(const uint8_t *buf, size_t len, uint32_t max, size_t *ret_len)
{
	if (len < CHANNEL_HEADER_LEN)
		return 0;
	uint32_t n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
		     (uint32_t)buf[2] << 8 | buf[3];
	if (n > max)
		return -EMSGSIZE;
	if (len - CHANNEL_HEADER_LEN < n)
		return 0;
	*ret_len = n;
	return 1;
}

/* An id is echoed back as is: only integers and short strings, so that a
 * box cannot make the controller copy a large value into every reply. */
static bool id_usable(const json_t *id)
{
	return json_is_integer(id) || (json_is_string(id) && json_string_length(id) <= 256);
}

int channel_parse_request(const char *body, size_t len, json_t **ret_request,
			  json_t **ret_id, const char **ret_fn, json_t **ret_args,
			  struct err *e)
{
	json_error_t je;
	*ret_id = NULL;
	/* JSON_DISABLE_EOF_CHECK off: the body is exactly one value;
	 * JSON_REJECT_DUPLICATES: "fn" must not mean two things. */
	json_t *req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!req) {
		*ret_id = json_null();
		return err_set(e, EBADMSG, "malformed request: %s at byte %d", je.text, je.position);
	}
	json_t *id = json_object_get(req, "id");
	if (json_is_object(req) && id && id_usable(id))
		*ret_id = json_incref(id);
	int r;
	json_t *fn = json_object_get(req, "fn");
	json_t *args = json_object_get(req, "args");
	if (!json_is_object(req))
		r = err_set(e, EBADMSG, "malformed request: not a JSON object");
	else if (!id || !id_usable(id))
		r = err_set(e, EBADMSG, "malformed request: 'id' must be an integer or a string of at most 256 bytes");
	else if (!json_is_string(fn) || !json_string_length(fn) ||
		 strlen(json_string_value(fn)) != json_string_length(fn))
		r = err_set(e, EBADMSG, "malformed request: 'fn' must be a non-empty string");
	else if (args && !json_is_array(args))
		r = err_set(e, EBADMSG, "malformed request: 'args' must be an array");
	else if (json_object_size(req) != 2u + (args != NULL))
		r = err_set(e, EBADMSG, "malformed request: only 'id', 'fn' and 'args' are allowed");
	else
		r = 0;
	if (r < 0) {
		json_decref(req);
		if (!*ret_id)
			*ret_id = json_null();
		return r;
	}
	if (!args) {
		args = json_array();
		if (!args || json_object_set_new(req, "args", args) < 0) {
			json_decref(req);
			json_decref(*ret_id);
			*ret_id = NULL;
			return -ENOMEM;
		}
	}
	*ret_request = req;
	*ret_fn = json_string_value(fn);
	*ret_args = args;
	return 0;
}

/* Frames a JSON value: header + compact text. */
static int frame_json(json_t *v, uint32_t max, char **ret_buf, size_t *ret_len)
{
	size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!n)
		return -ENOMEM;
	if (n > max)
		return -EMSGSIZE;
	char *buf = malloc(CHANNEL_HEADER_LEN + n);
	if (!buf)
		return -ENOMEM;
	if (json_dumpb(v, buf + CHANNEL_HEADER_LEN, n, JSON_COMPACT | JSON_ENCODE_ANY) != n) {
		free(buf);
		return -ENOMEM;
	}
	buf[0] = (char)(n >> 24);
	buf[1] = (char)(n >> 16);
	buf[2] = (char)(n >> 8);
	buf[3] = (char)n;
	*ret_buf = buf;
	*ret_len = CHANNEL_HEADER_LEN + n;
	return 0;
}

int channel_encode_reply(json_t *id, json_t *result, const char *code,
			 const char *message, uint32_t max, char **ret_buf,
			 size_t *ret_len)
{
	json_t *v;
	if (code)
		v = json_pack("{s:O?,s:{s:s,s:s}}", "id", id, "error", "code", code,
			      "message", message ? message : "");
	else
		v = json_pack("{s:O?,s:O?}", "id", id, "result", result);
	if (!v)
		return -ENOMEM;
	int r = frame_json(v, max, ret_buf, ret_len);
	json_decref(v);
	return r;
}

int channel_encode_request(json_t *id, const char *fn, json_t *args,
			   uint32_t max, char **ret_buf, size_t *ret_len)
{
	json_t *v = json_pack("{s:O?,s:s,s:O?}", "id", id, "fn", fn, "args", args);
	if (!v)
		return -ENOMEM;
	int r = frame_json(v, max, ret_buf, ret_len);
	json_decref(v);
	return r;
}

/* ---- the server ----------------------------------------------------- */

void channel_init(struct channel *ch, int fd, const struct channel_config *cfg)
{
	*ch = (struct channel){.fd = fd, .cfg = cfg};
}

void channel_close(struct channel *ch)
{
	if (ch->fd >= 0)
		close(ch->fd);
	ch->fd = -1;
	free(ch->rbuf);
	free(ch->wbuf);
	ch->rbuf = NULL;
	ch->wbuf = NULL;
	ch->rlen = ch->rcap = ch->wlen = ch->woff = 0;
}

short channel_events(const struct channel *ch)
{
	if (ch->fd < 0 || ch->violation)
		return 0;
	return ch->woff < ch->wlen ? POLLOUT : POLLIN;
}

static void violation(struct channel *ch, const char *fmt, ...) _printf_(2, 3);
static void violation(struct channel *ch, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ch->why, sizeof(ch->why), fmt, ap);
	va_end(ap);
	ch->violation = true;
}

/* Runs one request body and queues its reply in wbuf. */
static void serve(struct channel *ch, const char *body, size_t len)
{
	const struct channel_limits *lim = &ch->cfg->lim;
	struct err e = {{0}};
	json_t *req = NULL, *id = NULL, *args = NULL, *result = NULL;
	const char *fn = NULL, *code = NULL;

	if (++ch->calls > lim->max_calls) {
		violation(ch, "more than %llu host-function calls", (unsigned long long)lim->max_calls);
		return;
	}
	int r = channel_parse_request(body, len, &req, &id, &fn, &args, &e);
	if (r == -ENOMEM) {
		violation(ch, "out of memory parsing a host-function call");
		return;
	}
	if (r < 0) {
		code = "bad-request";
	} else {
		uint64_t t0 = now_ns();
		r = ch->cfg->dispatch(ch->cfg->ctx, fn, args, &result, &e);
		uint64_t ms = (now_ns() - t0) / 1000000;
		if (r == -ENOENT) {
			code = "unknown-function";
			snprintf(e.msg, sizeof(e.msg), "no host function '%.200s'", fn);
		} else if (r < 0) {
			code = "host-error";
			if (!e.msg[0])
				err_errno(&e, -r, "host function '%.200s' failed", fn);
		} else if (lim->call_timeout_ms && ms > lim->call_timeout_ms) {
			code = "timeout";
			snprintf(e.msg, sizeof(e.msg), "host function '%.200s' took %llu ms (limit %llu ms)",
				 fn, (unsigned long long)ms, (unsigned long long)lim->call_timeout_ms);
		}
	}
	r = channel_encode_reply(id, code ? NULL : result, code, e.msg, lim->max_message,
				 &ch->wbuf, &ch->wlen);
	if (r == -EMSGSIZE) {
		snprintf(e.msg, sizeof(e.msg), "the result of '%.200s' exceeds %u bytes",
			 fn ? fn : "?", lim->max_message);
		r = channel_encode_reply(id, NULL, "too-large", e.msg, lim->max_message,
					 &ch->wbuf, &ch->wlen);
	}
	if (r < 0) {
		err_errno(&e, -r, "cannot encode a host-function reply");
		violation(ch, "%s", e.msg);
	}
	ch->woff = 0;
	json_decref(result);
	json_decref(id);
	json_decref(req);
}

static void flush(struct channel *ch)
{
	while (ch->woff < ch->wlen) {
		ssize_t n = send(ch->fd, ch->wbuf + ch->woff, ch->wlen - ch->woff, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			channel_close(ch); /* the box closed its end */
			return;
		}
		ch->woff += (size_t)n;
	}
	free(ch->wbuf);
	ch->wbuf = NULL;
	ch->wlen = ch->woff = 0;
}

/* Serves every complete request in rbuf while no reply is pending. */
static void serve_buffered(struct channel *ch)
{
	size_t off = 0, len;
	while (ch->fd >= 0 && !ch->violation && ch->woff >= ch->wlen) {
		int r = channel_frame(ch->rbuf + off, ch->rlen - off, ch->cfg->lim.max_message, &len);
		if (r == -EMSGSIZE) {
			violation(ch, "a host-function message is larger than %u bytes",
				  ch->cfg->lim.max_message);
			return;
		}
		if (r == 0)
			break;
		serve(ch, (const char *)ch->rbuf + off + CHANNEL_HEADER_LEN, len);
		off += CHANNEL_HEADER_LEN + len;
		if (ch->wlen)
			flush(ch);
	}
	if (ch->fd >= 0 && off) {
		memmove(ch->rbuf, ch->rbuf + off, ch->rlen - off);
		ch->rlen -= off;
	}
}

void channel_handle(struct channel *ch, short revents)
{
	if (ch->fd < 0 || ch->violation)
		return;
	if (ch->woff < ch->wlen) {
		flush(ch);
		serve_buffered(ch);
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	/* Room for the largest message: the buffer grows to it on demand,
	 * never beyond (curl's dynbuf toobig). */
	size_t want = CHANNEL_HEADER_LEN + (size_t)ch->cfg->lim.max_message;
	if (ch->rlen == ch->rcap) {
		size_t cap = ch->rcap ? ch->rcap * 2 : 16384;
		if (cap > want)
			cap = want;
		if (cap <= ch->rcap) { /* full, and no complete message in it */
			violation(ch, "a host-function message is larger than %u bytes",
				  ch->cfg->lim.max_message);
			return;
		}
		uint8_t *n = realloc(ch->rbuf, cap);
		if (!n) {
			violation(ch, "out of memory reading a host-function call");
			return;
		}
		ch->rbuf = n;
		ch->rcap = cap;
	}
	ssize_t n = read(ch->fd, ch->rbuf + ch->rlen, ch->rcap - ch->rlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		channel_close(ch);
		return;
	}
	ch->rlen += (size_t)n;
	serve_buffered(ch);
}
