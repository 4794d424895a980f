/* serve-http.c — the HTTP side of `ward serve`, on libmicrohttpd.
 *
 * One polling thread (libmicrohttpd's, epoll) reads requests and never
 * blocks on a box: a complete /api/v2/execute is decoded there, admitted
 * to a bounded pool (workers running + a bounded queue) or answered 503
 * with Retry-After at once, and its connection suspended. A worker runs
 * the stages, stores the response and resumes the connection; the polling
 * thread then sends it. Every request ends in the completion callback,
 * which writes the access-log line, so that draining (SIGTERM) can wait
 * for exactly the requests it accepted. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "serve.h"
#include "banned.h"

/* The most of a body over the cap that is read (and dropped) to answer
 * 413 at its end. */
#define DISCARD_MAX(rq) (16 * (uint64_t)(rq)->cfg.max_body)
/* Bodies being read or decoded at once, over what the pool holds: beyond
 * (workers + queue + BODY_SLACK) bodies of max_body a request is answered
 * 503 before its body is read, so that clients cannot make the server
 * hold more than that (the per-address connection limit aside). */
#define BODY_SLACK 8
/* Seconds a drain waits for requests not admitted yet (a body still
 * arriving); admitted ones are always waited for. */
#define DRAIN_GRACE 5

enum rq_state { RQ_READING, RQ_RUNNING, RQ_DONE };

/* One HTTP request, from its headers to its completion. */
struct request {
	struct timespec start;
	struct MHD_Connection *conn;
	struct serve_config cfg; /* the configuration it was admitted under */
	enum rq_state state;
	char *body;
	size_t len;
	size_t discarded; /* bytes past max_body, read and dropped */
	size_t reserved;  /* bytes of the body budget held (pool.buffered) */
	bool execute;	  /* POST /api/v2/execute, authorised, its body read */
	bool text_type;	  /* sent as text/plain */
	bool native;	  /* POST /api/v1/run (serve-native.c) */
	struct exec_request req;
	json_t *result;
	char method[8], path[80];
	unsigned code;	  /* the HTTP status answered */
	size_t bytes;
	char language[16], status[4];
	struct request *next; /* the queue */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work, idle;
	struct request *head, *tail;
	unsigned queued, running, workers;
	unsigned long inflight; /* requests begun and not completed */
	unsigned long admitted; /* of which admitted to the pool */
	size_t buffered;	/* bytes of bodies reserved by requests reading one */
	bool stop, draining;
	pthread_t *threads;
	struct MHD_Daemon *daemon;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
	  .work = PTHREAD_COND_INITIALIZER,
	  .idle = PTHREAD_COND_INITIALIZER};

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- responses ------------------------------------------------------- */

static enum MHD_Result respond(struct request *rq, unsigned code, const char *type, char *text,
			       bool retry)
{
	size_t len = strlen(text);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer_with_free_callback(len, text, zfree);
	if (!resp) {
		zfree(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	if (retry) {
		char secs[16];
		snprintf(secs, sizeof(secs), "%u", rq->cfg.retry_after);
		MHD_add_response_header(resp, "Retry-After", secs);
	}
	if (code == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
	rq->code = code;
	rq->bytes = len;
	enum MHD_Result r = MHD_queue_response(rq->conn, code, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result respond_json(struct request *rq, unsigned code, json_t *j, bool retry)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return MHD_NO;
	return respond(rq, code, "application/json", text, retry);
}

/* msg may quote the request (a language name) and have been cut short
 * by snprintf inside a UTF-8 sequence: the cut sequence is dropped, so
 * that the message stays a JSON string. */
static enum MHD_Result respond_message(struct request *rq, unsigned code, const char *msg,
				       bool retry)
{
	char text[400];
	snprintf(text, sizeof(text), "%s", msg);
	size_t n = strlen(text), lead = n;
	while (lead > 0 && ((unsigned char)text[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead > 0 && (unsigned char)text[lead - 1] >= 0xc0) {
		unsigned char c = (unsigned char)text[lead - 1];
		size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (n - (lead - 1) < need)
			text[lead - 1] = '\0';
	}
	return respond_json(rq, code, json_pack("{s:s}", "message", text), retry);
}

static bool draining(void)
{
	pthread_mutex_lock(&pool.lock);
	bool d = pool.draining;
	pthread_mutex_unlock(&pool.lock);
	return d;
}

/* ---- the pool -------------------------------------------------------- */

static void *worker(void *arg)
{
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (!pool.head && !pool.stop)
			pthread_cond_wait(&pool.work, &pool.lock);
		if (!pool.head)
			break;
		struct request *rq = pool.head;
		pool.head = rq->next;
		if (!pool.head)
			pool.tail = NULL;
		pool.queued--;
		pool.running++;
		metrics_queue(pool.queued);
		pthread_mutex_unlock(&pool.lock);

		const char *status = "";
		rq->result = exec_request_run(&rq->req, &rq->cfg, &status);
		snprintf(rq->status, sizeof(rq->status), "%s", status);
		rq->state = RQ_DONE;

		/* The worker is free before the answer leaves (a client's next
		 * request is not refused). Resumed outside pool.lock:
		 * libmicrohttpd's thread takes its own lock inside ours
		 * (pool_admit), never the other way round. The drain waits for
		 * the completion, which follows the resume. */
		pthread_mutex_lock(&pool.lock);
		pool.running--;
		pthread_mutex_unlock(&pool.lock);
		MHD_resume_connection(rq->conn);
		pthread_mutex_lock(&pool.lock);
	}
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

/* Admits rq (suspending its connection) or returns false: the pool is
 * full or draining. */
static bool pool_admit(struct request *rq)
{
	pthread_mutex_lock(&pool.lock);
	bool ok = !pool.draining && pool.running + pool.queued < pool.workers + rq->cfg.queue;
	if (ok) {
		rq->state = RQ_RUNNING;
		pool.admitted++;
		MHD_suspend_connection(rq->conn);
		if (pool.tail)
			pool.tail->next = rq;
		else
			pool.head = rq;
		pool.tail = rq;
		pool.queued++;
		metrics_queue(pool.queued);
		pthread_cond_signal(&pool.work);
	}
	pthread_mutex_unlock(&pool.lock);
	return ok;
}

/* ---- routes ---------------------------------------------------------- */

static bool authorized(struct request *rq)
{
	const char *h = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Authorization");
	/* The scheme is case-insensitive (RFC 7235), then one or more spaces. */
	if (!h || strncasecmp(h, "Bearer ", 7))
		return token_check(NULL);
	const char *given = h + 7;
	while (*given == ' ')
		given++;
	bool ok = token_check(given);
	/* libmicrohttpd parsed the header in place, in the connection's read
	 * buffer, and nothing reads it again: zeroed there, so that a box's
	 * init (a fork of this process) holds no copy of the token. */
	explicit_bzero((char *)h, strlen(h));
	return ok;
}

/* Holds max_body bytes of the body budget for rq, or returns false: the
 * budget is spent. */
static bool budget_take(struct request *rq)
{
	size_t want = rq->cfg.max_body;
	pthread_mutex_lock(&pool.lock);
	size_t cap = (size_t)(pool.workers + rq->cfg.queue + BODY_SLACK) * rq->cfg.max_body;
	bool ok = pool.buffered + want <= cap;
	if (ok) {
		pool.buffered += want;
		rq->reserved = want;
	}
	pthread_mutex_unlock(&pool.lock);
	return ok;
}

/* Frees rq's body and gives back its part of the budget. */
static void body_release(struct request *rq)
{
	wipe_free(rq->body);
	rq->body = NULL;
	pthread_mutex_lock(&pool.lock);
	pool.buffered -= rq->reserved;
	rq->reserved = 0;
	pthread_mutex_unlock(&pool.lock);
}

static enum MHD_Result route_execute(struct request *rq)
{
	if (rq->discarded)
		return respond_message(rq, 413, "the request body is too large", false);
	json_error_t jerr;
	json_t *body = json_loadb(rq->body ? rq->body : "", rq->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!body && rq->text_type)
		return respond_message(rq, 415, "requests must be of type application/json", false);
	if (!body) {
		char msg[200];
		snprintf(msg, sizeof(msg), "the request body is not JSON: %s", jerr.text);
		return respond_message(rq, 400, msg, false);
	}
	char err[300];
	int code = rq->native ? native_request_decode(body, &rq->cfg, &rq->req, err, sizeof(err))
			      : exec_request_decode(body, &rq->cfg, &rq->req, err, sizeof(err));
	json_decref(body);
	body_release(rq);
	if (code)
		return respond_message(rq, (unsigned)code, err, false);
	snprintf(rq->language, sizeof(rq->language), "%s", rq->req.rt->language);
	if (!pool_admit(rq))
		return respond_message(rq, 503, draining() ? "the server is shutting down"
							     : "the server is busy, retry later",
				       true);
	return MHD_YES;
}

static enum MHD_Result route(struct request *rq, const char *url, const char *method)
{
	bool get = !strcmp(method, "GET");
	if (get && !strcmp(url, "/healthz"))
		return respond_json(rq, 200, json_pack("{s:s}", "status", "ok"), false);
	if (get && !strcmp(url, "/readyz")) {
		/* Not ready while draining, nor when no runtime ran in a box
		 * at start (a host that refuses boxes: 'ward doctor' says why). */
		bool ready = !draining() && runtimes_found() > 0;
		json_t *j = json_pack("{s:b, s:o}", "ready", ready, "layers", layers_json());
		if (j && !ready)
			json_object_set_new(
				j, "why",
				json_string(
					draining()
						? "draining"
						: "no runtime runs in a box here (see 'ward doctor')"));
		return respond_json(rq, ready ? 200 : 503, j, false);
	}
	bool api = !strncmp(url, "/api/", 5);
	if ((api || !strcmp(url, "/metrics")) && !authorized(rq))
		return respond_message(rq, 401, "a bearer token is required", false);
	if (get && !strcmp(url, "/metrics")) {
		char *text = metrics_text();
		return text ? respond(rq, 200, "text/plain; version=0.0.4", text, false) : MHD_NO;
	}
	if (get && !strcmp(url, "/api/v2/runtimes"))
		return respond_json(rq, 200, runtimes_json(), false);
	return respond_message(rq, 404, "not found", false);
}

struct framing {
	unsigned lengths;	/* Content-Length headers */
	bool differ;		/* with different values */
	bool chunked;		/* a Transfer-Encoding header */
	const char *first;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct framing *f = cls;
	if (!strcasecmp(key, "Transfer-Encoding"))
		f->chunked = true;
	if (strcasecmp(key, "Content-Length"))
		return MHD_YES;
	if (f->lengths++ && strcmp(f->first, value ? value : ""))
		f->differ = true;
	if (!f->first)
		f->first = value ? value : "";
	return MHD_YES;
}

/* The first call, on the headers alone: every route but an authorised
 * POST /api/v2/execute of JSON is answered here, before any of a body
 * is read, and an execute's body is admitted to the body budget. */
static enum MHD_Result route_headers(struct request *rq, const char *url, const char *method)
{
	rq->native = !strcmp(url, "/api/v1/run");
	if (strcmp(method, "POST") || (strcmp(url, "/api/v2/execute") && !rq->native))
		return route(rq, url, method);
	struct framing f = {0};
	MHD_get_connection_values(rq->conn, MHD_HEADER_KIND, count_framing, &f);
	if (f.differ || (f.lengths && f.chunked))
		return respond_message(rq, 400, "conflicting Content-Length or Transfer-Encoding "
						"headers", false);
	if (!authorized(rq))
		return respond_message(rq, 401, "a bearer token is required", false);
	/* application/json, as Piston wants; also text/plain, which the npm
	 * piston-client sends (node-fetch's type for a string body), when
	 * the body is JSON. */
	const char *type =
		MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Content-Type");
	bool is_json = type && !strncasecmp(type, "application/json", 16);
	rq->text_type = type && !strncasecmp(type, "text/plain", 10);
	if (!is_json && !rq->text_type)
		return respond_message(rq, 415, "requests must be of type application/json", false);
	/* A body over the cap is read and dropped, then answered 413, so
	 * that a client still sending reads the answer; one far over it is
	 * refused before it is read (libmicrohttpd then closes the
	 * connection). */
	if (f.first && strtoull(f.first, NULL, 10) > DISCARD_MAX(rq))
		return respond_message(rq, 413, "the request body is too large", false);
	if (draining())
		return respond_message(rq, 503, "the server is shutting down", true);
	if (!budget_take(rq))
		return respond_message(rq, 503, "the server is busy, retry later", true);
	rq->execute = true;
	return MHD_YES;
}

static void copy_printable(char *dst, size_t len, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < len; i++)
		dst[i] = src[i] > 0x20 && src[i] < 0x7f && src[i] != '"' && src[i] != '\\' ? src[i]
											  : '?';
	dst[i] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct request *rq = *con_cls;
	if (!rq) {
		if (!(rq = calloc(1, sizeof(*rq))))
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &rq->start);
		rq->conn = conn;
		config_snapshot(&rq->cfg);
		copy_printable(rq->method, sizeof(rq->method), method);
		copy_printable(rq->path, sizeof(rq->path), url);
		*con_cls = rq;
		pthread_mutex_lock(&pool.lock);
		pool.inflight++;
		pthread_mutex_unlock(&pool.lock);
		return route_headers(rq, url, method);
	}
	if (rq->state == RQ_DONE) {
		if (!rq->result)
			return respond_message(rq, 500, "internal error", false);
		json_t *res = rq->result;
		rq->result = NULL;
		return respond_json(rq, 200, res, false);
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		/* A drain reads no more bodies: a slow client would hold it. */
		if (draining())
			return respond_message(rq, 503, "the server is shutting down", true);
		if (rq->discarded || rq->len + n > rq->cfg.max_body) {
			/* A chunked body gives no length first: read on and
			 * answer 413 at its end, but not for ever. */
			rq->discarded += n;
			return rq->discarded > DISCARD_MAX(rq) ? MHD_NO : MHD_YES;
		}
		/* The whole reserved size at once: pages not written stay
		 * unused, and the body is kept from the boxes (wipe_alloc). */
		if (!rq->body && !(rq->body = wipe_alloc(rq->cfg.max_body + 1)))
			return MHD_NO;
		memcpy(rq->body + rq->len, upload, n);
		rq->len += n;
		return MHD_YES;
	}
	return route_execute(rq);
}

/* The access-log line, one write(2) to stderr. */
static void access_log(struct request *rq, double secs)
{
	char remote[64] = "-";
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr)
		getnameinfo(ci->client_addr,
			    ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								   : sizeof(struct sockaddr_in),
			    remote, sizeof(remote), NULL, 0, NI_NUMERICHOST);
	struct timespec now;
	struct tm tm;
	char ts[32];
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	char line[512];
	int n = snprintf(line, sizeof(line),
			 "{\"time\":\"%s\",\"remote\":\"%s\",\"method\":\"%s\",\"path\":\"%s\","
			 "\"code\":%u,\"bytes\":%zu,\"ms\":%.1f,\"language\":%s%s%s,"
			 "\"status\":%s%s%s}\n",
			 ts, remote, rq->method, rq->path, rq->code, rq->bytes, secs * 1000,
			 rq->language[0] ? "\"" : "", rq->language[0] ? rq->language : "null",
			 rq->language[0] ? "\"" : "", rq->status[0] ? "\"" : "",
			 rq->status[0] ? rq->status : "null", rq->status[0] ? "\"" : "");
	if (n > 0 && write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
		return; /* nowhere to say it */
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	struct request *rq = *con_cls;
	if (!rq)
		return;
	double secs = since(&rq->start);
	if (!rq->code)
		rq->code = 499; /* the client left before an answer (nginx's code) */
	access_log(rq, secs);
	metrics_http(rq->code);
	if (rq->state == RQ_DONE)
		metrics_request(rq->language, rq->status, secs);
	bool admitted = rq->state != RQ_READING;
	exec_request_clear(&rq->req);
	json_decref(rq->result);
	body_release(rq);
	free(rq);
	*con_cls = NULL;
	pthread_mutex_lock(&pool.lock);
	pool.inflight--;
	if (admitted)
		pool.admitted--;
	pthread_cond_broadcast(&pool.idle);
	pthread_mutex_unlock(&pool.lock);
}

/* ---- the daemon ------------------------------------------------------ */

int http_start(const struct serve_config *c, const struct sockaddr *addr, unsigned *ret_port)
{
	pool.workers = c->workers;
	pool.threads = calloc(c->workers, sizeof(pthread_t));
	if (!pool.threads)
		return -ENOMEM;
	for (unsigned i = 0; i < c->workers; i++) {
		int r = pthread_create(&pool.threads[i], NULL, worker, NULL);
		if (r)
			return -r;
	}
	pool.daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			(addr->sa_family == AF_INET6 ? MHD_USE_IPv6 : 0),
		0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, addr,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
		c->connection_timeout, MHD_OPTION_CONNECTION_LIMIT, c->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->max_connections_per_ip,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, MHD_OPTION_END);
	if (!pool.daemon)
		return -EADDRNOTAVAIL;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(pool.daemon, MHD_DAEMON_INFO_BIND_PORT);
	*ret_port = di ? di->port : 0;
	return 0;
}

/* Stops accepting, lets every admitted request finish and be answered
 * (and the others DRAIN_GRACE seconds to end), then stops the daemon,
 * which closes what is left, and the workers. */
void http_drain(void)
{
	pthread_mutex_lock(&pool.lock);
	pool.draining = true;
	pthread_mutex_unlock(&pool.lock);
	MHD_socket s = MHD_quiesce_daemon(pool.daemon);
	if (s != MHD_INVALID_SOCKET)
		close(s);
	struct timespec grace;
	clock_gettime(CLOCK_REALTIME, &grace);
	grace.tv_sec += DRAIN_GRACE;
	pthread_mutex_lock(&pool.lock);
	bool late = false;
	while (pool.admitted || pool.queued || pool.running || (pool.inflight && !late)) {
		if (late)
			pthread_cond_wait(&pool.idle, &pool.lock);
		else if (pthread_cond_timedwait(&pool.idle, &pool.lock, &grace) == ETIMEDOUT)
			late = true;
	}
	pool.stop = true;
	pthread_cond_broadcast(&pool.work);
	pthread_mutex_unlock(&pool.lock);
	MHD_stop_daemon(pool.daemon);
	for (unsigned i = 0; i < pool.workers; i++)
		pthread_join(pool.threads[i], NULL);
	free(pool.threads);
}
