/* serve-metrics.c — the service's counters, as Prometheus text
 * (GET /metrics). Label values come from fixed sets (the runtime table,
 * Piston's statuses, ward's limit names, HTTP codes), never from a
 * request's bytes, so that a client cannot grow the table. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "banned.h"

#define MAX_SERIES 64

struct series {
	char label[96];
	unsigned long long n;
};

static const double buckets[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct series requests[MAX_SERIES], http[MAX_SERIES], limits[MAX_SERIES];
static unsigned long long hist[N_BUCKETS + 1], hist_count;
static double hist_sum;
static long boxes;
static unsigned queue_depth;

static void bump(struct series *s, const char *label)
{
	for (size_t i = 0; i < MAX_SERIES; i++) {
		if (!s[i].label[0])
			snprintf(s[i].label, sizeof(s[i].label), "%s", label);
		if (!strcmp(s[i].label, label)) {
			s[i].n++;
			return;
		}
	}
}

void metrics_request(const char *language, const char *status, double seconds)
{
	char label[96];
	snprintf(label, sizeof(label), "language=\"%s\",status=\"%s\"", language,
		 status && *status ? status : "OK");
	pthread_mutex_lock(&lock);
	bump(requests, label);
	size_t b = 0;
	while (b < N_BUCKETS && seconds > buckets[b])
		b++;
	hist[b]++;
	hist_count++;
	hist_sum += seconds;
	pthread_mutex_unlock(&lock);
}

void metrics_http(unsigned code)
{
	char label[32];
	snprintf(label, sizeof(label), "code=\"%u\"", code);
	pthread_mutex_lock(&lock);
	bump(http, label);
	pthread_mutex_unlock(&lock);
}

void metrics_limit_hit(const char *limit)
{
	char label[64];
	snprintf(label, sizeof(label), "limit=\"%s\"", limit);
	pthread_mutex_lock(&lock);
	bump(limits, label);
	pthread_mutex_unlock(&lock);
}

void metrics_boxes(int delta)
{
	pthread_mutex_lock(&lock);
	boxes += delta;
	pthread_mutex_unlock(&lock);
}

void metrics_queue(unsigned depth)
{
	pthread_mutex_lock(&lock);
	queue_depth = depth;
	pthread_mutex_unlock(&lock);
}

static void put_series(FILE *f, const char *name, const char *help, const struct series *s)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (size_t i = 0; i < MAX_SERIES && s[i].label[0]; i++)
		fprintf(f, "%s{%s} %llu\n", name, s[i].label, s[i].n);
}

char *metrics_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	pthread_mutex_lock(&lock);
	put_series(f, "ward_requests_total",
		   "executions by language and Piston status of the run stage (OK: none)", requests);
	put_series(f, "ward_http_responses_total", "HTTP responses by status code", http);
	put_series(f, "ward_limit_hits_total", "stages ended by a limit, by limit", limits);
	fputs("# HELP ward_request_duration_seconds time to answer an execution\n"
	      "# TYPE ward_request_duration_seconds histogram\n",
	      f);
	unsigned long long cum = 0;
	for (size_t b = 0; b < N_BUCKETS; b++) {
		cum += hist[b];
		fprintf(f, "ward_request_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[b], cum);
	}
	fprintf(f,
		"ward_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
		"ward_request_duration_seconds_sum %.6f\n"
		"ward_request_duration_seconds_count %llu\n",
		hist_count, hist_sum, hist_count);
	fprintf(f,
		"# HELP ward_queue_depth executions waiting for a worker\n"
		"# TYPE ward_queue_depth gauge\nward_queue_depth %u\n"
		"# HELP ward_boxes_running boxes running now\n"
		"# TYPE ward_boxes_running gauge\nward_boxes_running %ld\n",
		queue_depth, boxes);
	struct warm_stats w;
	warm_stats(&w);
	fprintf(f,
		"# HELP ward_pools pools of warm boxes (one per box policy in use)\n"
		"# TYPE ward_pools gauge\nward_pools %u\n"
		"# HELP ward_zygotes pools whose boxes fork from a python zygote\n"
		"# TYPE ward_zygotes gauge\nward_zygotes %u\n"
		"# HELP ward_pool_boxes_ready warm boxes ready now\n"
		"# TYPE ward_pool_boxes_ready gauge\nward_pool_boxes_ready %u\n"
		"# HELP ward_pool_requests_total requests of a pooled policy, by whether a box was ready\n"
		"# TYPE ward_pool_requests_total counter\n"
		"ward_pool_requests_total{box=\"warm\"} %llu\n"
		"ward_pool_requests_total{box=\"cold\"} %llu\n",
		w.pools, w.zygotes, w.ready, (unsigned long long)w.warm, (unsigned long long)w.cold);
	pthread_mutex_unlock(&lock);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
