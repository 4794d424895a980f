/* serve-main.c — the ward-serve program (`ward serve` execs it): options,
 * the configuration file, the signals (SIGTERM drains, SIGHUP reloads).
 *
 * A program of its own because libmicrohttpd has no static archive to
 * link into the static ward command: ward-serve links it (and glibc)
 * dynamically, libward statically, and the ward command stays static
 * and free of an HTTP stack it does not use for `ward run`. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"
#include "serve.h"
#include "banned.h"

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static struct serve_config config;
/* TOKEN_MAX bytes of wipe_alloc memory (a box's init never holds the
 * token), under config_lock. */
static char *token;

void config_snapshot(struct serve_config *ret)
{
	pthread_mutex_lock(&config_lock);
	*ret = config;
	pthread_mutex_unlock(&config_lock);
}

static void config_defaults(struct serve_config *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	*c = (struct serve_config){
		.listen = "127.0.0.1:2000",
		.max_body = 1 << 20,
		.workers = cpus > 0 ? (unsigned)cpus : 1,
		.retry_after = 1,
		.connection_timeout = 30,
		.max_connections = 1024,
		.max_connections_per_ip = 64,
		.output_max = 64 << 10,
		.binary_max = 16 << 20,
		.max_files = 64,
		.max_name = 255,
		.procs = 64,
		.compile_default = {10000, 10000, 1u << 30},
		.run_default = {3000, 3000, 512u << 20},
		.warm_boxes = 2,
		.warm_pools = 8,
		.zygote = true,
	};
	c->queue = 4 * c->workers;
}

/* Compares in time independent of where the strings differ. */
static bool token_equal(const char *given, const char *want)
{
	size_t gl = strlen(given), wl = strlen(want);
	unsigned char d = gl != wl;
	for (size_t i = 0; i < wl; i++)
		d |= (unsigned char)(want[i] ^ (i < gl ? given[i] : 0));
	return !d;
}

bool token_check(const char *given)
{
	pthread_mutex_lock(&config_lock);
	bool ok = !token[0] || (given && token_equal(given, token));
	pthread_mutex_unlock(&config_lock);
	return ok;
}

/* The token: the file's first line, 1 to TOKEN_MAX - 1 bytes, into tok. */
static bool read_token(const struct serve_config *c, char *tok, char *err, size_t errlen)
{
	int fd = open(c->token_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "token file '%s': %s", c->token_file, strerror_lc(errno));
		return false;
	}
	ssize_t n = read(fd, tok, TOKEN_MAX);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "token file '%s': %s", c->token_file, strerror_lc(errno));
		return false;
	}
	if (n >= 0 && n < TOKEN_MAX)
		tok[n] = '\0';
	size_t len = (size_t)n < TOKEN_MAX ? strcspn(tok, "\r\n") : 0;
	if ((size_t)n >= TOKEN_MAX || len == 0 || len > (size_t)n) {
		snprintf(err, errlen, "token file '%s': needs a token of 1 to %d bytes on its first line",
			 c->token_file, TOKEN_MAX - 1);
		explicit_bzero(tok, TOKEN_MAX);
		return false;
	}
	tok[len] = '\0';
	return true;
}

/* The keys of a configuration file, each a number but listen and
 * token_file. */
static const struct key {
	const char *name;
	size_t off, size;
	uint64_t min, max;
} keys[] = {
#define K(f, lo, hi) {#f, offsetof(struct serve_config, f), sizeof(((struct serve_config *)0)->f), lo, hi}
	K(max_body, 1, 1u << 30),
	K(workers, 1, 1024),
	K(queue, 0, 100000),
	K(retry_after, 1, 3600),
	K(connection_timeout, 1, 3600),
	K(max_connections, 1, 100000),
	K(max_connections_per_ip, 0, 100000),
	K(output_max, 1, 1u << 30),
	K(stdout_max, 1, 1u << 30),
	K(stderr_max, 1, 1u << 30),
	K(binary_max, 1024, 1u << 30),
	K(max_files, 1, 10000),
	K(max_name, 1, 4096),
	K(procs, 2, 4194304),
	K(warm_boxes, 0, 64),
	K(warm_pools, 0, 64),
#undef K
/* libward's ranges: times to 30 days (ms), memory 1 MiB to 16 TiB; all
 * exact as doubles, which requests are compared with. */
#define L(name, f, lo, hi) {name, offsetof(struct serve_config, f), sizeof(uint64_t), lo, hi}
	L("compile_timeout", compile_default.timeout, 1, 2592000000),
	L("compile_cpu_time", compile_default.cpu_time, 1, 2592000000),
	L("compile_memory_limit", compile_default.memory, 1 << 20, 1ull << 44),
	L("run_timeout", run_default.timeout, 1, 2592000000),
	L("run_cpu_time", run_default.cpu_time, 1, 2592000000),
	L("run_memory_limit", run_default.memory, 1 << 20, 1ull << 44),
#undef L
};

/* "preload": the python modules the zygote imports, an array of names. */
static bool set_preload(struct serve_config *c, json_t *v, char *err, size_t errlen)
{
	size_t i, off = 0;
	json_t *m;
	if (!json_is_array(v) || json_array_size(v) > 64) {
		snprintf(err, errlen, "'preload' must be an array of at most 64 module names");
		return false;
	}
	json_array_foreach(v, i, m) {
		const char *name = json_string_value(m);
		size_t len = name ? strlen(name) : 0;
		if (!len || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789_.") != len || off + len + 1 > sizeof(c->preload_buf)) {
			snprintf(err, errlen, "'preload': entry %zu is not a module name", i);
			return false;
		}
		memcpy(c->preload_buf + off, name, len + 1);
		off += len + 1;
	}
	c->n_preload = (unsigned)json_array_size(v);
	return true;
}

static bool set_key(struct serve_config *c, const char *name, json_t *v, char *err, size_t errlen)
{
	if (!strcmp(name, "allow_policy") || !strcmp(name, "zygote")) {
		if (!json_is_boolean(v)) {
			snprintf(err, errlen, "'%s' must be true or false", name);
			return false;
		}
		*(!strcmp(name, "zygote") ? &c->zygote : &c->allow_policy) = json_is_true(v);
		return true;
	}
	if (!strcmp(name, "preload"))
		return set_preload(c, v, err, errlen);
	if (!strcmp(name, "listen") || !strcmp(name, "token_file")) {
		char *dst = !strcmp(name, "listen") ? c->listen : c->token_file;
		size_t cap = !strcmp(name, "listen") ? sizeof(c->listen) : sizeof(c->token_file);
		if (!json_is_string(v) || json_string_length(v) >= cap) {
			snprintf(err, errlen, "'%s' must be a string of less than %zu bytes", name, cap);
			return false;
		}
		snprintf(dst, cap, "%s", json_string_value(v));
		return true;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key *k = &keys[i];
		if (strcmp(name, k->name))
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)k->min ||
		    (uint64_t)json_integer_value(v) > k->max) {
			snprintf(err, errlen, "'%s' must be an integer from %" PRIu64 " to %" PRIu64,
				 name, k->min, k->max);
			return false;
		}
		uint64_t val = (uint64_t)json_integer_value(v);
		char *field = (char *)c + k->off;
		if (k->size == sizeof(unsigned))
			*(unsigned *)(void *)field = (unsigned)val;
		else
			*(uint64_t *)(void *)field = val; /* size_t and uint64_t: 8 bytes here */
		return true;
	}
	snprintf(err, errlen, "unknown key '%s'", name);
	return false;
}

bool config_load(const char *path, struct serve_config *c, char *tok, char *err,
		 size_t errlen)
{
	config_defaults(c);
	tok[0] = '\0';
	char why[300];
	if (path) {
		json_error_t jerr;
		json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
		if (!j) {
			snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
			return false;
		}
		const char *name;
		json_t *v;
		bool ok = json_is_object(j);
		if (!ok)
			snprintf(why, sizeof(why), "not a JSON object");
		json_object_foreach(j, name, v) {
			if (ok && !set_key(c, name, v, why, sizeof(why)))
				ok = false;
		}
		json_decref(j);
		if (!ok) {
			snprintf(err, errlen, "%s: %s", path, why);
			return false;
		}
	}
	/* The configured values are the defaults and the maxima (Piston's
	 * rule): a request may ask for less, or -1 for all of it. */
	c->compile_max = c->compile_default;
	c->run_max = c->run_default;
	if (c->token_file[0] && !read_token(c, tok, why, sizeof(why))) {
		snprintf(err, errlen, "%s", why);
		return false;
	}
	return true;
}

json_t *layers_json(void)
{
	struct ward_features f;
	if (ward_features(&f) < 0)
		return json_object();
	return json_pack("{s:b, s:b, s:b, s:i, s:i}", "user_namespaces", f.user_namespaces,
			 "seccomp", f.seccomp, "seccomp_notify", f.seccomp_notify, "landlock_abi",
			 f.landlock_abi, "cgroup_version", f.cgroup_version);
}

/* "ADDR:PORT", "[V6ADDR]:PORT": a numeric address. */
static bool parse_listen(const char *s, struct sockaddr_storage *ret)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(host) || !colon[1])
		return false;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	char *h = host;
	if (h[0] == '[' && h[strlen(h) - 1] == ']') {
		h[strlen(h) - 1] = '\0';
		h++;
	}
	for (const char *p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	if (strtoul(colon + 1, NULL, 10) > 65535)
		return false;
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				 .ai_socktype = SOCK_STREAM},
			*ai = NULL;
	if (getaddrinfo(h, colon + 1, &hints, &ai) != 0)
		return false;
	memcpy(ret, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return true;
}

static void usage(FILE *f)
{
	fputs("usage: ward serve [--listen ADDR:PORT] [--config FILE]\n", f);
}

int main(int argc, char **argv)
{
	const char *listen_arg = NULL, *config_path = NULL;
	for (int i = 1; i < argc; i++) {
		if (is_help_arg(argv[i])) {
			usage(stdout);
			fputs("Serves Piston's v2 API (POST /api/v2/execute, GET /api/v2/runtimes),\n"
			      "/healthz, /readyz and /metrics; see ward-serve(1).\n",
			      stdout);
			return finish_stdout(0);
		}
		if (!strcmp(argv[i], "--listen") && i + 1 < argc)
			listen_arg = argv[++i];
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			config_path = argv[++i];
		else
			die_usage("serve: unknown or incomplete option '%s'", argv[i]);
	}
	char err[600];
	/* The parsed body and the responses are zeroed when freed. */
	json_set_alloc_funcs(malloc, zfree);
	if (!(token = wipe_alloc(TOKEN_MAX)))
		die(EXIT_SETUP, "serve: out of memory");
	if (!config_load(config_path, &config, token, err, sizeof(err)))
		die(EXIT_USAGE, "%s", err);
	if (listen_arg)
		snprintf(config.listen, sizeof(config.listen), "%s", listen_arg);
	struct sockaddr_storage addr;
	if (!parse_listen(config.listen, &addr))
		die_usage("serve: '%s' is not ADDR:PORT with a numeric address", config.listen);

	/* Many connections each hold an fd. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Every thread inherits the mask: the signals are taken by sigwait
	 * below only. Boxes start with an empty mask (libward resets it). */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	size_t found = runtimes_detect(&config);
	unsigned port = 0;
	int r = http_start(&config, (struct sockaddr *)&addr, &port);
	if (r < 0)
		die(EXIT_SETUP, "serve: cannot listen on '%s': %s", config.listen,
		    strerror_lc(-r));
	json_t *layers = layers_json();
	char *ltext = layers ? json_dumps(layers, JSON_COMPACT) : NULL;
	char host[128];
	snprintf(host, sizeof(host), "%.*s", (int)(strrchr(config.listen, ':') - config.listen),
		 config.listen);
	fprintf(stderr, "ward: serving on %s:%u, %zu runtimes, %u workers, layers %s\n", host, port,
		found, config.workers, ltext ? ltext : "{}");
	if (!found)
		fprintf(stderr,
			"ward: serve: no runtime runs in a box here: not ready (see 'ward doctor')\n");
	free(ltext);
	json_decref(layers);

	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			struct serve_config c;
			char *tok = wipe_alloc(TOKEN_MAX);
			if (!tok || !config_load(config_path, &c, tok, err, sizeof(err))) {
				warn("serve: configuration not reloaded: %s",
				     tok ? err : "out of memory");
				wipe_free(tok);
				continue;
			}
			c.workers = config.workers; /* threads are made once */
			snprintf(c.listen, sizeof(c.listen), "%s", config.listen);
			pthread_mutex_lock(&config_lock);
			config = c;
			memcpy(token, tok, TOKEN_MAX);
			pthread_mutex_unlock(&config_lock);
			wipe_free(tok);
			warn("serve: configuration reloaded");
			continue;
		}
		warn("serve: draining (signal %d)", sig);
		http_drain();
		warm_free(); /* the ready boxes and the zygotes */
		warn("serve: stopped");
		return 0;
	}
}
