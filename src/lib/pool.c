/* pool.c — warm boxes (include/ward.h: ward_pool_*): boxes of one policy
 * made ahead of time by the pool's thread, each waiting for one request
 * (run.c: box_prepare, box_ready, box_request), and replaced after it.
 *
 * One mutex guards the list of ready boxes and the graves; the thread
 * makes a box while the list is short, outside the lock (while a request
 * it served still runs, only when none is left ready: on two CPUs a box
 * made beside a pooled run slowed it from 3.5 to 5.6 ms, bench/README.md,
 * tailbench), buries the boxes
 * whose requests are answered (their init exiting, their cgroup to
 * remove: off the request's path), and otherwise sleeps on an eventfd. A
 * request takes the oldest ready box; with none ready it makes its own
 * (a pool never makes a request wait for another's box). Every box is
 * made by the pool's thread or by the requesting thread itself, and its
 * init dies with the thread that made it (PR_SET_PDEATHSIG): the pool's
 * thread lives until ward_pool_free. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#include "ward_internal.h"
#include "zygote.h"

/* A box made ahead of time; scratch holds its result (its setup error)
 * until a request hands it the caller's. */
struct warm {
	struct box_run *run;
	struct run_result scratch;
};

#define MAX_BOXES 64

struct ward_pool {
	const ward_policy *p;
	struct run_options o; /* how the boxes are made (no stdio yet) */
	struct channel_config chan;
	struct zygote *zygote; /* NULL: boxes exec the request's program */
	/* The zygote's interpreter and preload, until the pool's thread has
	 * started it (NULL: no zygote). */
	char *zygote_interp;
	char **preload;
	unsigned want;
	pthread_mutex_t mu;
	pthread_cond_t ready; /* ward_pool_wait: a box is ready, or failed */
	struct warm *boxes[MAX_BOXES];
	unsigned n_ready;
	/* Boxes whose requests are answered, their init still exiting: the
	 * thread buries them (box_bury) once their pidfd says so. */
	struct box_run **graves;
	size_t n_graves, cap_graves;
	int wake; /* eventfd: interrupts the thread's wait for a box */
	bool stop, thread_started;
	bool zygote_failed; /* it will not be retried: ward_pool_wait must not wait */
	pthread_t thread;
	uint64_t warm_served, cold_served, failures;
	unsigned in_flight; /* requests started from the pool, not yet complete */
	char error[sizeof(((struct err *)0)->msg)];
};

/* Starts a box: from the zygote once it runs (a request arriving before
 * gets a plain box, which executes the interpreter). */
static int make_box(ward_pool *pool, struct run_result *ret, struct box_run **ret_run)
{
	struct zygote *z = __atomic_load_n(&pool->zygote, __ATOMIC_ACQUIRE);
	return z ? zygote_prepare(z, pool->p, &pool->o, ret, ret_run)
		 : box_prepare(pool->p->core, &pool->o, ret, ret_run);
}

/* The pool's thread, first: starts the zygote. False when it cannot (the
 * reason in pool->error). */
static bool start_zygote(ward_pool *pool)
{
	struct err e = {{0}};
	struct zygote *z = NULL;
	int r = zygote_new(pool->p, pool->zygote_interp, (const char *const *)pool->preload, &z, &e);
	pthread_mutex_lock(&pool->mu);
	if (r < 0) {
		snprintf(pool->error, sizeof(pool->error), "%s",
			 e.msg[0] ? e.msg : "cannot start the zygote");
		pool->failures++;
		pool->zygote_failed = true;
		pthread_cond_broadcast(&pool->ready);
	}
	pthread_mutex_unlock(&pool->mu);
	if (r < 0)
		return false;
	__atomic_store_n(&pool->zygote, z, __ATOMIC_RELEASE);
	return true;
}

/* Makes one box and waits until it is ready; NULL when it cannot be made
 * (the reason in pool->error) or the pool stops meanwhile. */
static struct warm *warm_make(ward_pool *pool)
{
	struct warm *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	int r = make_box(pool, &w->scratch, &w->run);
	uint64_t deadline = now_ns() + BOX_READY_TIMEOUT_MS * 1000000ull;
	while (r == 0) {
		struct pollfd pf[] = {{box_ready_fd(w->run), POLLIN, 0}, {pool->wake, POLLIN, 0}};
		if ((r = box_ready(w->run, 0)) != 0)
			break;
		if (now_ns() >= deadline) {
			r = box_await_ready(w->run, 0); /* fails it: -ETIMEDOUT */
			break;
		}
		(void)poll(pf, ELEMENTSOF(pf), 1000);
		if (pf[1].revents & POLLIN) {
			if (__atomic_load_n(&pool->stop, __ATOMIC_ACQUIRE)) {
				box_discard(w->run);
				free(w);
				return NULL;
			}
			uint64_t ticks; /* a grave or a taken box: seen after this one */
			(void)!read(pool->wake, &ticks, sizeof(ticks));
		}
	}
	if (r == 1)
		return w;
	pthread_mutex_lock(&pool->mu);
	snprintf(pool->error, sizeof(pool->error), "%s",
		 w->scratch.error.msg[0] ? w->scratch.error.msg : "cannot make a box");
	pool->failures++;
	pthread_cond_broadcast(&pool->ready);
	pthread_mutex_unlock(&pool->mu);
	if (r == 0 || r == -EIO || r == -ETIMEDOUT)
		box_discard(w->run);
	free(w);
	return NULL;
}

static void wake(ward_pool *pool)
{
	uint64_t one = 1;
	(void)!write(pool->wake, &one, sizeof(one));
}

/* A request of the pool's is complete (ward_box.c): its box, when its
 * init is still exiting (left, from box_finish_early), goes to the graves
 * for the thread to bury, and the thread may refill. */
void pool_request_done(ward_pool *pool, struct box_run *left)
{
	pthread_mutex_lock(&pool->mu);
	if (pool->in_flight)
		pool->in_flight--;
	if (left && pool->n_graves == pool->cap_graves) {
		size_t cap = pool->cap_graves ? 2 * pool->cap_graves : 16;
		struct box_run **g = realloc(pool->graves, cap * sizeof(*g));
		if (g) {
			pool->graves = g;
			pool->cap_graves = cap;
		}
	}
	bool graved = left && pool->n_graves < pool->cap_graves;
	if (graved)
		pool->graves[pool->n_graves++] = left;
	pthread_mutex_unlock(&pool->mu);
	if (left && !graved)
		box_bury(left); /* no room for it: here and now, then */
	wake(pool);
}

/* Buries the boxes whose init is gone (all of them when all is set). */
static void bury_ready(ward_pool *pool, bool all)
{
	for (;;) {
		struct box_run *run = NULL;
		pthread_mutex_lock(&pool->mu);
		for (size_t i = 0; i < pool->n_graves && !run; i++) {
			struct pollfd pf = {box_bury_fd(pool->graves[i]), POLLIN, 0};
			if (all || poll(&pf, 1, 0) == 1) {
				run = pool->graves[i];
				pool->graves[i] = pool->graves[--pool->n_graves];
			}
		}
		pthread_mutex_unlock(&pool->mu);
		if (!run)
			return;
		box_bury(run);
	}
}

/* The pool's thread: buries, refills, and otherwise sleeps until a box is
 * taken, a grave is dug, or a buried box's init exits. */
static void *pool_thread(void *arg)
{
	ward_pool *pool = arg;
	bool have_zygote = !pool->zygote_interp || start_zygote(pool);
	int retry_ms = -1;
	for (;;) {
		bury_ready(pool, false);
		pthread_mutex_lock(&pool->mu);
		bool stop = pool->stop;
		bool short_of = have_zygote && pool->n_ready < pool->want && retry_ms < 0 &&
				(!pool->n_ready || !pool->in_flight);
		uint64_t failures = pool->failures;
		pthread_mutex_unlock(&pool->mu);
		if (stop)
			break;
		if (short_of) {
			struct warm *w = warm_make(pool);
			pthread_mutex_lock(&pool->mu);
			if (w) {
				pool->boxes[pool->n_ready++] = w;
				pthread_cond_broadcast(&pool->ready);
			} else if (pool->failures != failures) {
				/* The policy cannot make a box now (a full disk,
				 * a process limit): try again in a second. */
				retry_ms = 1000;
			}
			pthread_mutex_unlock(&pool->mu);
			continue;
		}
		/* Without the zygote the caller asked for there are no warm
		 * boxes: requests make their own (plain boxes) and
		 * ward_pool_wait says why. */
		struct pollfd pf[1 + 64];
		nfds_t n = 0;
		pf[n++] = (struct pollfd){pool->wake, POLLIN, 0};
		pthread_mutex_lock(&pool->mu);
		for (size_t i = 0; i < pool->n_graves && n < ELEMENTSOF(pf); i++)
			pf[n++] = (struct pollfd){box_bury_fd(pool->graves[i]), POLLIN, 0};
		bool more_graves = pool->n_graves >= ELEMENTSOF(pf) - 1;
		pthread_mutex_unlock(&pool->mu);
		int timeout = more_graves ? 10 : retry_ms;
		uint64_t t0 = now_ns();
		(void)poll(pf, n, timeout);
		uint64_t ticks;
		(void)!read(pool->wake, &ticks, sizeof(ticks));
		if (retry_ms >= 0 && now_ns() - t0 >= (uint64_t)retry_ms * 1000000)
			retry_ms = -1;
	}
	bury_ready(pool, true);
	return NULL;
}

#define MAX_POOL_OPTIONS_SIZE 4096

static int copy_zygote_options(ward_pool *pool, const struct ward_pool_options *o)
{
	size_t n = 0;
	while (o->preload && o->preload[n])
		n++;
	if (!o->zygote[0] || n > 256)
		return -EINVAL;
	if (!(pool->zygote_interp = strdup(o->zygote)) ||
	    !(pool->preload = calloc(n + 1, sizeof(char *))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		/* analyzer: pool->preload owns each copy (ward_pool_free frees them) */
		if (!(pool->preload[i] = strdup(o->preload[i])))
			return -ENOMEM;
	return 0;
}

WARD_API int ward_pool_new(const ward_policy *p, const struct ward_pool_options *opts,
			   ward_pool **ret_pool)
{
	struct ward_pool_options o = WARD_POOL_OPTIONS_INIT;
	if (!p || !ret_pool || (opts && opts->size < sizeof(size_t) * 2))
		return -EINVAL;
	if (opts) {
		if (opts->size > MAX_POOL_OPTIONS_SIZE)
			return -E2BIG;
		for (size_t i = sizeof(o); i < opts->size; i++)
			if (((const unsigned char *)opts)[i])
				return -E2BIG;
		memcpy(&o, opts, opts->size < sizeof(o) ? opts->size : sizeof(o));
	}
	if (!o.boxes)
		o.boxes = 2;
	if (o.boxes > MAX_BOXES || (unsigned)o.cgroup > WARD_CGROUP_REQUIRE)
		return -EINVAL;
	ward_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pool->p = p;
	pool->want = o.boxes;
	pool->o = (struct run_options){.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
				       .cgroup_mode = (int)o.cgroup};
	policy_run_options(p, &pool->chan, &pool->o);
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->ready, NULL);
	int r = 0;
	if ((pool->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		r = -errno;
	if (r == 0 && o.zygote)
		r = copy_zygote_options(pool, &o);
	if (r == 0 && (r = -pthread_create(&pool->thread, NULL, pool_thread, pool)) == 0)
		pool->thread_started = true;
	if (r < 0) {
		ward_pool_free(pool);
		return r;
	}
	*ret_pool = pool;
	return 0;
}

WARD_API int ward_pool_wait(ward_pool *pool)
{
	if (!pool)
		return -EINVAL;
	pthread_mutex_lock(&pool->mu);
	uint64_t failures = pool->failures;
	while (pool->n_ready < pool->want && pool->failures == failures && !pool->zygote_failed)
		pthread_cond_wait(&pool->ready, &pool->mu);
	int r = pool->n_ready >= pool->want ? 0 : -EIO;
	pthread_mutex_unlock(&pool->mu);
	return r;
}

WARD_API const char *ward_pool_error(const ward_pool *pool)
{
	return pool ? pool->error : "";
}

WARD_API unsigned ward_pool_ready(const ward_pool *pool)
{
	if (!pool)
		return 0;
	pthread_mutex_lock((pthread_mutex_t *)&pool->mu);
	unsigned n = pool->n_ready;
	pthread_mutex_unlock((pthread_mutex_t *)&pool->mu);
	return n;
}

WARD_API void ward_pool_stats(const ward_pool *pool, uint64_t *ret_warm, uint64_t *ret_cold)
{
	if (!pool)
		return;
	pthread_mutex_lock((pthread_mutex_t *)&pool->mu);
	if (ret_warm)
		*ret_warm = pool->warm_served;
	if (ret_cold)
		*ret_cold = pool->cold_served;
	pthread_mutex_unlock((pthread_mutex_t *)&pool->mu);
}

/* The oldest ready box, or NULL. Its request counts as in flight from
 * here, under the same lock as the take: the thread, which refills while
 * a request runs only when no box is left, must never see the box gone
 * and the request not yet counted (it would build a box beside the
 * request). It is woken only when the pool is then empty; otherwise the
 * request's end wakes it (pool_request_done). */
static struct warm *take_ready(ward_pool *pool)
{
	pthread_mutex_lock(&pool->mu);
	struct warm *w = NULL;
	if (pool->n_ready) {
		w = pool->boxes[0];
		memmove(pool->boxes, pool->boxes + 1, --pool->n_ready * sizeof(pool->boxes[0]));
		pool->in_flight++;
	}
	bool empty = w && !pool->n_ready;
	pthread_mutex_unlock(&pool->mu);
	if (empty)
		wake(pool);
	return w;
}

int pool_start(ward_pool *pool, const struct run_options *o, int req_fd,
	       struct run_result *ret, struct box_run **ret_run)
{
	/* A ready box that died meanwhile (killed from outside) is dropped
	 * and the next one tried. */
	struct warm *w;
	while ((w = take_ready(pool))) {
		struct box_run *run = w->run;
		free(w);
		int r = box_request(run, req_fd, o, ret);
		pthread_mutex_lock(&pool->mu);
		if (r == 0)
			pool->warm_served++;
		else
			pool->in_flight--;
		pthread_mutex_unlock(&pool->mu);
		if (r == 0) {
			*ret_run = run;
			return 0;
		}
		box_discard(run);
		wake(pool);
	}
	/* None ready: a box of our own, made on this thread. */
	struct warm own = {0};
	int r = make_box(pool, ret, &own.run);
	if (r < 0)
		return r;
	r = box_await_ready(own.run, BOX_READY_TIMEOUT_MS);
	if (r == 1 && (r = box_request(own.run, req_fd, o, ret)) < 0) {
		box_discard(own.run);
		return r;
	}
	pthread_mutex_lock(&pool->mu);
	pool->in_flight++;
	pool->cold_served++;
	pthread_mutex_unlock(&pool->mu);
	*ret_run = own.run;
	return 0;
}

WARD_API int ward_pool_spawn(ward_pool *pool, char *const argv[], const struct ward_options *opts,
			     ward_box **ret_box)
{
	if (!pool)
		return -EINVAL;
	return spawn_box(pool->p, argv, opts, pool, ret_box);
}

WARD_API int ward_pool_run(ward_pool *pool, char *const argv[], const struct ward_options *opts,
			   ward_result **ret_result)
{
	if (!pool || !ret_result)
		return -EINVAL;
	ward_box *b;
	int r = ward_pool_spawn(pool, argv, opts, &b);
	if (r < 0)
		return r;
	r = ward_box_wait(b, ret_result);
	ward_box_free(b);
	return r;
}

WARD_API void ward_pool_free(ward_pool *pool)
{
	if (!pool)
		return;
	if (pool->thread_started) {
		pthread_mutex_lock(&pool->mu);
		__atomic_store_n(&pool->stop, true, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&pool->mu);
		wake(pool);
		pthread_join(pool->thread, NULL);
	}
	for (unsigned i = 0; i < pool->n_ready; i++) {
		box_discard(pool->boxes[i]->run);
		free(pool->boxes[i]);
	}
	for (size_t i = 0; i < pool->n_graves; i++)
		box_bury(pool->graves[i]);
	free(pool->graves);
	zygote_free(pool->zygote);
	free(pool->zygote_interp);
	for (size_t i = 0; pool->preload && pool->preload[i]; i++)
		free(pool->preload[i]);
	free(pool->preload);
	if (pool->wake >= 0)
		close(pool->wake);
	pthread_cond_destroy(&pool->ready);
	pthread_mutex_destroy(&pool->mu);
	free(pool);
}
