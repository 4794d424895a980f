/* serve.h — `ward serve` (the ward-serve program): a code-execution HTTP
 * service speaking Piston's v2 API over libward boxes.
 *
 *   serve-main.c     options, configuration, signals, the worker pool
 *   serve-http.c     libmicrohttpd: routing, body caps, auth, 503s, logs
 *   serve-piston.c   Piston v2: the runtimes, request decoding, responses
 *   serve-native.c   /api/v1/run: ward's report, profiles, checked policy text
 *   serve-stage.c    one stage (compile or run) in one box: the only
 *                    place that builds a box, so that a pooled or zygote
 *                    box source can replace it later
 *   serve-capture.c  a stage's stdout, stderr and their interleaving
 *   serve-metrics.c  counters and the Prometheus text
 *   serve-mem.c      memory a box's init never holds a copy of
 *
 * Data flows one way: the HTTP body is decoded once into a struct
 * exec_request (serve-piston.c), turned into stage plans, each plan run
 * by stage_run into a stage_result, and the results encoded once. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/socket.h>

#include <jansson.h>

#include "ward.h"

/* ---- configuration (serve-main.c) ------------------------------------ */

/* The limits of one stage: milliseconds and bytes. */
struct stage_limits {
	uint64_t timeout;	/* wall time, ms */
	uint64_t cpu_time;	/* ms */
	uint64_t memory;	/* bytes */
};


/* Plain values only: a request takes a copy (config_snapshot), so that a
 * reload (SIGHUP) never changes a request half way. */
struct serve_config {
	char listen[128];		/* ADDR:PORT */
	size_t max_body;		/* bytes of a request body (413 above) */
	unsigned workers;		/* requests run at the same time */
	unsigned queue;			/* requests waiting for a worker (503 above) */
	unsigned retry_after;		/* seconds, the 503's Retry-After */
	unsigned connection_timeout;	/* seconds a connection may idle (slow clients) */
	unsigned max_connections;
	unsigned max_connections_per_ip;	/* 0 = no limit */
	size_t output_max;		/* bytes of stdout, and of stderr, per stage */
	size_t stdout_max, stderr_max;	/* the same for one stream; 0 = output_max */
	size_t binary_max;		/* bytes of a compiled program */
	size_t max_files;		/* files per request */
	size_t max_name;		/* bytes of a file name */
	uint64_t procs;			/* processes per box */
	struct stage_limits compile_default, compile_max;
	struct stage_limits run_default, run_max;
	char token_file[512];		/* "" = no authentication */
	bool allow_policy;		/* /api/v1/run takes policy text */
	unsigned warm_boxes;		/* boxes kept ready per pool; 0 = fresh boxes only */
	unsigned warm_pools;		/* distinct box policies with a pool */
	bool zygote;			/* python3's pools fork from a zygote */
	/* The zygote's preload: n_preload NUL-terminated names (0: ward's
	 * default list). */
	unsigned n_preload;
	char preload_buf[2048];
	/* Host path prefixes (resolved) a policy text's ro/rw may grant. */
};

/* The token's buffer: its bytes and a NUL. */
#define TOKEN_MAX 256

/* Loads path (NULL: the defaults) into c and the token into token (a
 * TOKEN_MAX buffer, "" when none); false after a message in err. */
bool config_load(const char *path, struct serve_config *c, char *token, char *err,
		 size_t errlen);
/* A copy of the configuration in force. */
void config_snapshot(struct serve_config *ret);
/* Whether given (NULL: none) is the token in force, or none is set. */
bool token_check(const char *given);

/* ---- runtimes and requests (serve-piston.c) ------------------------- */

struct runtime {
	const char *language;
	const char *aliases[4];
	const char *runtime;		/* Piston's `runtime` field, or NULL */
	const char *profile;		/* ward profile of its boxes */
	const char *const *version_cmd;	/* prints the version */
	bool compiled;
	char version[32];		/* "" = not installed */
};

/* Finds the installed versions (each in a box); returns how many. */
size_t runtimes_detect(const struct serve_config *c);
/* How many runtimes runtimes_detect found: none means no request can run
 * (no interpreter, or no box can be built here), and /readyz says 503. */
size_t runtimes_found(void);
json_t *runtimes_json(void);

struct exec_file {
	char *name;
	char *data;		/* the content, decoded */
	size_t len;
	bool utf8;		/* given as utf8 (Piston compiles and runs these) */
};

/* A decoded /api/v2/execute body. */
struct exec_request {
	const struct runtime *rt;
	struct exec_file *files;
	size_t n_files;
	size_t entry;		/* index of the entry point: the first utf8 file */
	char **args;		/* NULL-terminated */
	size_t n_args;
	char *stdin_data;
	size_t stdin_len;
	struct stage_limits compile, run;
	/* /api/v1/run (serve-native.c): the report, a profile, policy text. */
	bool native;
	bool audit;
	const char *profile;	/* a built-in profile, NULL = the runtime's */
	char *policy;		/* checked policy text, NULL = none */
	size_t policy_len;
};

/* Decodes body into req; on a client error returns the HTTP status (400,
 * 404) and a message in err. */
int exec_request_decode(const json_t *body, const struct serve_config *c,
			struct exec_request *req, char *err, size_t errlen);
void exec_request_clear(struct exec_request *req);
/* Decodes a /api/v1/run body: exec_request_decode's fields, and audit,
 * profile and policy (only when c->allow_policy; checked here). */
int native_request_decode(const json_t *body, const struct serve_config *c,
			  struct exec_request *req, char *err, size_t errlen);
/* 0 when text may be applied to a box under c, else 400 and a message
 * naming the line. */
int native_policy_check(const char *text, size_t len, const struct serve_config *c, char *err,
			size_t errlen);
/* Runs the request's stages; the Piston response object. *ret_status is
 * the run stage's Piston status ("" when it succeeded), for logs and
 * metrics. */
json_t *exec_request_run(const struct exec_request *req, const struct serve_config *c,
			 const char **ret_status);

/* ---- one stage in one box (serve-stage.c) --------------------------- */

struct stage_file {
	const char *name;	/* relative, checked */
	const char *data;	/* content */
	size_t len;
	bool executable;
};

struct stage_plan {
	const char *profile;
	char *const *argv;	/* run in /tmp once the files are there */
	const struct stage_file *files;
	size_t n_files;
	const void *stdin_data;
	size_t stdin_len;
	struct stage_limits limits;
	uint64_t procs;
	size_t stdout_max;	/* bytes kept of stdout; more is cut (dropped) */
	size_t stderr_max;	/* the same for stderr */
	bool want_output;	/* both streams, interleaved (Piston's output) */
	uint64_t output_limit;	/* bytes of stdout + stderr before the kill */
	const char *policy;	/* checked policy text applied after the profile */
	size_t policy_len;
	bool audit;
	bool want_report;
	bool fresh;		/* a fresh box, never a pool's (a one-off: the version probe) */
};

struct stage_result {
	enum ward_status status;
	int code;		/* exit code, -1 if none */
	int sig;		/* 0 if none */
	char *out, *err;	/* captured (wipe_alloc) */
	size_t out_len, err_len;
	bool out_cut, err_cut;	/* passed stdout_max, stderr_max */
	char *output;		/* want_output: both, in arrival order, or NULL */
	size_t output_len;
	double cpu_ms, wall_ms;
	uint64_t memory;
	char message[256];	/* setup error and the like, "" if none */
	char *report;		/* ward_result_report's JSON (want_report), or NULL */
};

/* Runs plan in a fresh box. 0, or a negative errno when no box could be
 * asked for (ret->message says why). */
int stage_run(const struct stage_plan *plan, struct stage_result *ret);
void stage_result_clear(struct stage_result *r);

/* ---- a stage's output (serve-capture.c) ----------------------------- */

struct capture_stream {
	int rfd, wfd;		/* a pipe: the box's stream arrives at wfd */
	char *buf;		/* wipe_alloc, max + 1 bytes */
	size_t len, max;
	bool cut;		/* more than max came (and was dropped) */
};

struct capture {
	struct capture_stream s[2];	/* stdout, stderr */
	char *both;		/* the kept bytes of both, in arrival order */
	size_t both_len;
	char *scratch;		/* where dropped bytes are read to */
	int done;		/* eventfd: the run is over */
	int error;		/* errno of a failed read, 0 if none */
	pthread_t thread;
	bool running;
};

/* Pipes for a box's stdout (c->s[0].wfd) and stderr (c->s[1].wfd), and
 * a thread reading them; with want_both, their interleaving too. 0 or a
 * negative errno. */
int capture_start(struct capture *c, size_t out_max, size_t err_max, bool want_both);
/* After the run: what is left read, the thread joined, the pipes closed;
 * the buffers stay in c. 0 or the negative errno of a failed read. */
int capture_finish(struct capture *c);
/* Frees what c holds (finishing it first if needed). */
void capture_clear(struct capture *c);

/* base64 (RFC 4648): false for text that is not base64 (whitespace
 * is skipped). */
bool b64_decode(const char *text, size_t len, char **ret, size_t *ret_len);

/* ---- warm boxes (serve-warm.c) --------------------------------------- */

/* Runs argv as ward_run would, in a box from the pool for p's policy
 * (made on first use, the python3 profile's with a zygote) when there is
 * one. */
int warm_run(const ward_policy *p, const char *profile, char *const argv[],
	     const struct ward_options *o, ward_result **ret);
struct warm_stats {
	unsigned pools, zygotes, ready;
	uint64_t warm, cold; /* requests served from a ready box / not */
};
void warm_stats(struct warm_stats *ret);
void warm_free(void);

/* ---- memory kept from the boxes (serve-mem.c) ----------------------- */

/* len zeroed bytes in a mapping of their own marked MADV_WIPEONFORK (a
 * box's init, a fork of this process, sees zeros there); NULL on
 * failure. For the token and every request's code, stdin and output. */
void *wipe_alloc(size_t len);
/* data and a NUL, in wipe_alloc memory. */
char *wipe_dup(const char *data, size_t len);
void wipe_free(void *mem);
/* free(3) that zeroes the block first (jansson's and the responses'). */
void zfree(void *mem);

/* ---- metrics (serve-metrics.c) -------------------------------------- */

void metrics_request(const char *language, const char *status, double seconds);
void metrics_http(unsigned code);
void metrics_limit_hit(const char *limit);
void metrics_boxes(int delta);
void metrics_queue(unsigned depth);
/* The Prometheus text (heap). */
char *metrics_text(void);

/* ---- the service (serve-http.c, serve-main.c) ------------------------ */

/* Starts the workers and the HTTP daemon on addr; the port bound. */
int http_start(const struct serve_config *c, const struct sockaddr *addr, unsigned *ret_port);
/* Stops accepting, answers every admitted request, stops. */
void http_drain(void);
/* The layers this host gives a box ({"landlock_abi": 7, ...}). */
json_t *layers_json(void);
