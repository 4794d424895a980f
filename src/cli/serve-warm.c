/* serve-warm.c — warm boxes for ward serve: one libward pool per distinct
 * box policy (the profile, the limits, the request's policy text), made the
 * first time a request needs that policy, at most warm_pools of them; the
 * python3 profile's pool forks its boxes from a zygote with the configured
 * preload imported. A request whose policy has no pool (all taken, or
 * warm_boxes is 0) gets a fresh box, as before. Pools live until ward
 * serve exits: a reload (SIGHUP) changes only what new pools get. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "banned.h"

#define MAX_POOLS 64

struct warm_pool {
	char *text;	  /* the policy, formatted: the key */
	ward_policy *p;	  /* the pool's own copy (it must outlive the pool) */
	ward_pool *pool;
	bool zygote;
};

static pthread_mutex_t warm_lock = PTHREAD_MUTEX_INITIALIZER;
static struct warm_pool pools[MAX_POOLS];
static size_t n_pools;

/* python3's modules most snippets import, ready in the zygote. */
static const char *const default_preload[] = {
	"json", "re", "math", "random", "collections", "itertools", "functools", "string",
	"datetime", "decimal", "fractions", "heapq", "bisect", "statistics", "typing", NULL,
};

/* The pool for p's policy, made now if there is room; NULL: a fresh box. */
static ward_pool *pool_for(const ward_policy *p, const char *profile)
{
	struct serve_config c;
	config_snapshot(&c);
	if (!c.warm_boxes)
		return NULL;
	char *text = NULL;
	if (ward_policy_format(p, &text) < 0)
		return NULL;
	ward_pool *found = NULL;
	pthread_mutex_lock(&warm_lock);
	for (size_t i = 0; i < n_pools && !found; i++)
		if (!strcmp(pools[i].text, text))
			found = pools[i].pool;
	if (!found && n_pools < c.warm_pools && n_pools < MAX_POOLS) {
		struct warm_pool *w = &pools[n_pools];
		struct ward_pool_options po = WARD_POOL_OPTIONS_INIT;
		po.boxes = c.warm_boxes;
		po.cgroup = WARD_CGROUP_AUTO;
		w->zygote = c.zygote && !strcmp(profile, "python3");
		const char *preload[65];
		const char *name = c.preload_buf;
		for (unsigned i = 0; i < c.n_preload && i < 64; i++, name += strlen(name) + 1)
			preload[i] = name;
		preload[c.n_preload < 64 ? c.n_preload : 64] = NULL;
		if (w->zygote) {
			po.zygote = "python3";
			po.preload = c.n_preload ? preload : default_preload;
		}
		if (ward_policy_new(&w->p) == 0 &&
		    ward_policy_load_text(w->p, "pool", text, strlen(text)) == 0 &&
		    ward_policy_set_expose_cwd(w->p, false) == 0 &&
		    ward_pool_new(w->p, &po, &w->pool) == 0) {
			w->text = text;
			text = NULL;
			found = w->pool;
			n_pools++;
		} else {
			ward_policy_free(w->p);
			w->p = NULL;
		}
	}
	pthread_mutex_unlock(&warm_lock);
	free(text);
	return found;
}

int warm_run(const ward_policy *p, const char *profile, char *const argv[],
	     const struct ward_options *o, ward_result **ret)
{
	ward_pool *pool = pool_for(p, profile);
	return pool ? ward_pool_run(pool, argv, o, ret) : ward_run(p, argv, o, ret);
}

void warm_stats(struct warm_stats *ret)
{
	*ret = (struct warm_stats){0};
	pthread_mutex_lock(&warm_lock);
	for (size_t i = 0; i < n_pools; i++) {
		uint64_t w = 0, c = 0;
		ward_pool_stats(pools[i].pool, &w, &c);
		ret->pools++;
		ret->zygotes += pools[i].zygote;
		ret->ready += ward_pool_ready(pools[i].pool);
		ret->warm += w;
		ret->cold += c;
	}
	pthread_mutex_unlock(&warm_lock);
}

void warm_free(void)
{
	pthread_mutex_lock(&warm_lock);
	for (size_t i = 0; i < n_pools; i++) {
		ward_pool_free(pools[i].pool);
		ward_policy_free(pools[i].p);
		free(pools[i].text);
	}
	n_pools = 0;
	pthread_mutex_unlock(&warm_lock);
}
