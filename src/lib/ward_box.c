/* ward_box.c — libward's runs (include/ward.h): ward_spawn, a box's
 * steps for an application's event loop (ward_box_*), ward_run, and the
 * results they give. Over the run in steps (run.c) and the host-function
 * channel (channel.c); the handles are in ward_internal.h. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include "ward_internal.h"
#include "request.h"

#include "config.h"

_Static_assert(WARD_STATUS_EXITED == (int)STATUS_EXITED &&
		       WARD_STATUS_SETUP_ERROR == (int)STATUS_SETUP_ERROR &&
		       WARD_STATUS_VIOLATION == (int)STATUS_VIOLATION &&
		       WARD_STATUS_IO_ERROR == (int)STATUS_IO_ERROR && _STATUS_MAX == 11,
	       "enum ward_status mirrors enum run_status");

#define DEFAULT_CAPTURE (1u << 20)

/* The broker's question, on its thread (run_options.ask). */
static bool ask_handler(void *ctx, const char *box_path, unsigned how, const char *call)
{
	const ward_policy *p = ctx;
	return p->ask(box_path, how, call, p->ask_userdata);
}

/* The channel's dispatch: only registered names exist. */
static int dispatch(void *ctx, const char *fn, json_t *args, json_t **ret_result, struct err *e)
{
	const ward_policy *p = ctx;
	for (size_t i = 0; i < p->n_fns; i++) {
		if (strcmp(p->fns[i].name, fn))
			continue;
		struct ward_call call = {.f = &p->fns[i], .e = e};
		json_t *result = NULL;
		int r = p->fns[i].fn(&call, args, &result, p->fns[i].userdata);
		if (r < 0) {
			json_decref(result);
			if (!e->msg[0])
				err_errno(e, -r, "host function '%s' failed", fn);
			return r == -ENOENT ? -EIO : r; /* -ENOENT means "no such function" */
		}
		*ret_result = result;
		return 0;
	}
	return -ENOENT;
}
/* ---- running --------------------------------------------------------- */

void policy_run_options(const ward_policy *p, struct channel_config *chan, struct run_options *o)
{
	if (p->n_fns) {
		*chan = (struct channel_config){.lim = p->lim, .dispatch = dispatch, .ctx = (void *)p};
		o->channel = chan;
		o->client_dir = p->client_dir ? p->client_dir : WARD_CLIENT_DIR;
	}
	if (p->ask) {
		o->ask = ask_handler;
		o->ask_ctx = (void *)p;
	}
}

static int front_end_options(const struct ward_options *opts, ward_box *b, struct run_options *o);

/* The largest struct ward_options a caller may pass: a page, as clone3(2)
 * caps struct clone_args; more is no struct but a wrong size. */
#define MAX_OPTIONS_SIZE 4096

/* Copies the caller's options (opts->size bytes of them, NULL for the
 * defaults) into *ret, this library's struct: a smaller, older struct
 * gets zero for the fields it lacks; a larger, newer one is refused with
 * -E2BIG when it sets a field past ours (clone3(2), openat2(2)). */
static int options_copy(const struct ward_options *opts, struct ward_options *ret)
{
	if (!opts) {
		ward_options_init(ret);
		return 0;
	}
	if (opts->size < WARD_OPTIONS_SIZE_VER0)
		return -EINVAL;
	if (opts->size > MAX_OPTIONS_SIZE)
		return -E2BIG;
	const unsigned char *raw = (const unsigned char *)opts;
	for (size_t i = sizeof(*ret); i < opts->size; i++)
		if (raw[i])
			return -E2BIG;
	memset(ret, 0, sizeof(*ret));
	memcpy(ret, opts, opts->size < sizeof(*ret) ? opts->size : sizeof(*ret));
	ret->size = sizeof(*ret);
	return 0;
}

static int memfd_with(const char *name, const void *data, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (len && write_all(fd, data, len) < 0) {
		int r = -errno;
		close(fd);
		return r ? r : -EIO;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Reads back what a capture memfd holds, up to cap bytes. */
static int capture_read(int fd, size_t cap, char **ret, size_t *ret_len)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	size_t n = (size_t)st.st_size < cap ? (size_t)st.st_size : cap;
	char *buf = malloc(n + 1);
	if (!buf)
		return -ENOMEM;
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, buf + got, n - got, (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	buf[got] = 0;
	*ret = buf;
	*ret_len = got;
	/* analyzer: buf is the result's now (gcc 12 loses it through ret) */
	return 0;
}

static void box_release(ward_box *b)
{
	const int fds[] = {b->in_fd, b->out_fd, b->err_fd, b->epfd, b->timerfd, b->inner};
	for (size_t i = 0; i < ELEMENTSOF(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	b->in_fd = b->out_fd = b->err_fd = b->epfd = b->timerfd = b->inner = -1;
	strv_clear(&b->argv);
}

/* Points the epoll set and the timer at what the run waits for now. */
static void box_watch(ward_box *b)
{
	struct pollfd pf[10];
	uint64_t deadline = 0;
	size_t n = box_wait_set(b->run, pf, ELEMENTSOF(pf), &deadline);
	if (b->inner >= 0) {
		epoll_ctl(b->epfd, EPOLL_CTL_DEL, b->inner, NULL);
		close(b->inner);
		b->inner = -1;
	}
	int inner = n ? epoll_create1(EPOLL_CLOEXEC) : -1;
	if (n && inner < 0)
		deadline = 1; /* cannot wait: let the caller poll */
	for (size_t i = 0; i < n && inner >= 0; i++) {
		struct epoll_event ev = {.events = (uint32_t)pf[i].events, .data.fd = pf[i].fd};
		/* One fd may be polled twice (stdout and stderr to the same
		 * caller fd): merge the events. */
		for (size_t j = 0; j < i; j++)
			if (pf[j].fd == pf[i].fd)
				ev.events |= (uint32_t)pf[j].events;
		if (epoll_ctl(inner, EPOLL_CTL_ADD, pf[i].fd, &ev) == 0)
			continue;
		if (errno == EEXIST)
			epoll_ctl(inner, EPOLL_CTL_MOD, pf[i].fd, &ev);
		else /* EPERM: a regular file, always ready */
			deadline = 1;
	}
	if (inner >= 0) {
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = inner};
		if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, inner, &ev) < 0)
			deadline = 1;
		b->inner = inner;
	}
	struct itimerspec its = {{0, 0}, {0, 0}};
	if (deadline) {
		its.it_value.tv_sec = (time_t)(deadline / 1000000000ull);
		its.it_value.tv_nsec = (long)(deadline % 1000000000ull);
	}
	timerfd_settime(b->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The run's request for a warm box (the pool's, or a fresh one when the
 * options carry variables or files), encoded: a memfd, or -errno. */
static int encode_request(char *const argv[], const struct ward_options *opts)
{
	struct request_file files[REQUEST_MAX_FILES];
	if (opts->n_files > REQUEST_MAX_FILES)
		return -E2BIG;
	if (opts->n_files && !opts->files)
		return -EINVAL;
	for (size_t i = 0; i < opts->n_files; i++)
		files[i] = (struct request_file){.path = opts->files[i].path,
						 .data = opts->files[i].data,
						 .len = opts->files[i].len,
						 .mode = opts->files[i].mode};
	struct box_request req = {.argv = argv, .env = opts->env, .files = files,
				  .n_files = opts->n_files};
	struct err e = {{0}};
	return request_encode(&req, &e);
}

/* A fresh box that takes its program as a request: prepared, waited for,
 * handed the request. A box that could not be built is a run that is done,
 * with the setup error in ret. */
static int start_with_request(const struct policy *p, const struct run_options *o, int req_fd,
			      struct run_result *ret, struct box_run **ret_run)
{
	/* A box that dies between ready and request (killed from outside)
	 * gets one successor. */
	for (int attempt = 0; attempt < 2; attempt++) {
		struct box_run *run;
		int r = box_prepare(p, o, ret, &run);
		if (r < 0)
			return r;
		r = box_await_ready(run, BOX_READY_TIMEOUT_MS);
		if (r != 1 || box_request(run, req_fd, o, ret) == 0) {
			*ret_run = run; /* ready and requested, or done with the setup error */
			return 0;
		}
		box_discard(run);
	}
	return -EIO;
}

/* ward_spawn, and ward_pool_spawn (pool non-NULL): the box from the pool,
 * or fresh. */
int spawn_box(const ward_policy *p, char *const argv[], const struct ward_options *opts,
	      ward_pool *pool, ward_box **ret_box)
{
	if (!p || !argv || !argv[0] || !argv[0][0] || !ret_box)
		return -EINVAL;
	struct ward_options copy;
	int r = options_copy(opts, &copy);
	if (r < 0)
		return r;
	opts = &copy;
	if (opts->stdin_fd < -1 || opts->stdout_fd < -1 || opts->stderr_fd < -1 ||
	    (!opts->stdin_data && opts->stdin_len))
		return -EINVAL;
	if (pool && (opts->cgroup || opts->expose_cwd || opts->exit_after || opts->on_access))
		return -EINVAL;
	_cleanup_close_ int req_fd = -1;
	if (pool || opts->env || opts->n_files) {
		req_fd = encode_request(argv, opts);
		if (req_fd < 0)
			return req_fd;
	}
	ward_box *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	*b = (ward_box){.p = p,
			.in_fd = -1,
			.out_fd = -1,
			.err_fd = -1,
			.epfd = -1,
			.timerfd = -1,
			.inner = -1};
	b->capture_max = opts->capture_max ? opts->capture_max : DEFAULT_CAPTURE;
	for (size_t i = 0; argv[i] && r == 0; i++)
		r = strv_push(&b->argv, argv[i]);
	if (r < 0)
		goto fail;
	b->res = calloc(1, sizeof(*b->res));
	if (!b->res) {
		r = -ENOMEM;
		goto fail;
	}
	struct run_options o = {.stdin_fd = opts->stdin_fd,
				.stdout_fd = opts->stdout_fd,
				.stderr_fd = opts->stderr_fd};
	if ((r = front_end_options(opts, b, &o)) < 0)
		goto fail;
	if (opts->stdin_fd < 0 && opts->stdin_data) {
		b->in_fd = memfd_with("ward-stdin", opts->stdin_data, opts->stdin_len);
		if ((r = b->in_fd) < 0)
			goto fail;
		o.stdin_fd = b->in_fd;
	}
	if (opts->stdout_fd < 0) {
		if ((r = b->out_fd = memfd_with("ward-stdout", NULL, 0)) < 0)
			goto fail;
		o.stdout_fd = b->out_fd;
	}
	if (opts->stderr_fd < 0) {
		if ((r = b->err_fd = memfd_with("ward-stderr", NULL, 0)) < 0)
			goto fail;
		o.stderr_fd = b->err_fd;
	}
	policy_run_options(p, &b->chan, &o);
	if ((b->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (b->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0) {
		r = -errno;
		goto fail;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = b->timerfd};
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->timerfd, &ev) < 0) {
		r = -errno;
		goto fail;
	}
	if (pool) {
		b->pool = pool;
		r = pool_start(pool, &o, req_fd, &b->res->r, &b->run);
	}
	else if (req_fd >= 0)
		r = start_with_request(p->core, &o, req_fd, &b->res->r, &b->run);
	else
		r = box_start(p->core, b->argv.v, &o, &b->res->r, &b->run);
	if (r < 0)
		goto fail;
	box_watch(b);
	*ret_box = b;
	return 0;
fail:
	box_release(b);
	free(b->res);
	free(b);
	return r;
}

WARD_API int ward_spawn(const ward_policy *p, char *const argv[], const struct ward_options *opts,
			ward_box **ret_box)
{
	return spawn_box(p, argv, opts, NULL, ret_box);
}

WARD_API int ward_box_fd(const ward_box *b)
{
	return b && !b->finished ? b->epfd : -EINVAL;
}

WARD_API int ward_box_process(ward_box *b)
{
	if (!b)
		return -EINVAL;
	if (b->finished)
		return 1;
	uint64_t ticks;
	(void)!read(b->timerfd, &ticks, sizeof(ticks));
	int r = box_step(b->run, 0);
	box_watch(b);
	return r;
}

WARD_API int ward_box_kill(ward_box *b)
{
	if (!b)
		return -EINVAL;
	if (!b->finished)
		box_kill(b->run);
	return 0;
}

/* Serves the box to its end and fills in the result. */
static int box_complete(ward_box *b)
{
	if (b->pool) {
		pool_request_done(b->pool, box_finish_early(b->run));
	} else {
		box_finish(b->run);
	}
	b->run = NULL;
	b->finished = true;
	ward_result *res = b->res;
	int r = 0;
	if (b->out_fd >= 0)
		r = capture_read(b->out_fd, b->capture_max, &res->out, &res->out_len);
	if (r == 0 && b->err_fd >= 0)
		r = capture_read(b->err_fd, b->capture_max, &res->err, &res->err_len);
	box_release(b);
	return r;
}

WARD_API int ward_box_wait(ward_box *b, ward_result **ret_result)
{
	if (!b || !ret_result)
		return -EINVAL;
	if (!b->res)
		return -ECHILD; /* the result was already handed over */
	if (!b->finished) {
		int r = box_complete(b);
		if (r < 0)
			return r;
	}
	*ret_result = TAKE_PTR(b->res);
	return 0;
}

WARD_API void ward_box_free(ward_box *b)
{
	if (!b)
		return;
	if (!b->finished) {
		box_kill(b->run);
		(void)box_complete(b);
	}
	ward_result_free(b->res);
	box_release(b);
	free(b);
}

WARD_API int ward_run(const ward_policy *p, char *const argv[], const struct ward_options *opts,
		      ward_result **ret_result)
{
	if (!ret_result)
		return -EINVAL;
	ward_box *b;
	int r = ward_spawn(p, argv, opts, &b);
	if (r < 0)
		return r;
	r = ward_box_wait(b, ret_result);
	ward_box_free(b);
	return r;
}

/* ---- results --------------------------------------------------------- */

WARD_API const char *ward_status_name(enum ward_status s)
{
	return (unsigned)s < _STATUS_MAX ? run_status_name((enum run_status)s) : NULL;
}

WARD_API void ward_result_free(ward_result *r)
{
	if (!r)
		return;
	free(r->out);
	free(r->err);
	free(r);
}

WARD_API enum ward_status ward_result_status(const ward_result *r)
{
	return r ? (enum ward_status)r->r.status : WARD_STATUS_SETUP_ERROR;
}

WARD_API int ward_result_exit_code(const ward_result *r)
{
	return r && r->r.status == STATUS_EXITED ? r->r.exit_code : -1;
}

WARD_API int ward_result_signal(const ward_result *r)
{
	return r ? r->r.signal : 0;
}

WARD_API double ward_result_wall_time(const ward_result *r)
{
	return r ? r->r.wall_time_s : 0;
}

WARD_API double ward_result_cpu_time(const ward_result *r)
{
	return r ? r->r.cpu_time_s : 0;
}

WARD_API uint64_t ward_result_peak_memory(const ward_result *r)
{
	return r ? r->r.peak_memory_bytes : 0;
}

WARD_API uint64_t ward_result_output_bytes(const ward_result *r)
{
	return r ? r->r.output_bytes : 0;
}

WARD_API const char *ward_result_stdout(const ward_result *r, size_t *ret_len)
{
	if (ret_len)
		*ret_len = r && r->out ? r->out_len : 0;
	return r && r->out ? r->out : "";
}

WARD_API const char *ward_result_stderr(const ward_result *r, size_t *ret_len)
{
	if (ret_len)
		*ret_len = r && r->err ? r->err_len : 0;
	return r && r->err ? r->err : "";
}

WARD_API const char *ward_result_message(const ward_result *r)
{
	if (!r)
		return "";
	if (r->r.status == STATUS_SETUP_ERROR || r->r.status == STATUS_IO_ERROR)
		return r->r.error.msg;
	if (r->r.status == STATUS_VIOLATION)
		return r->r.notice;
	return "";
}

WARD_API char *ward_result_report(const ward_result *r)
{
	return r ? report_json(&r->r) : NULL;
}

/* ---- for front ends (ward(1)) ---------------------------------------- */

_Static_assert((int)WARD_CGROUP_AUTO == (int)CGROUP_AUTO &&
		       (int)WARD_CGROUP_OFF == (int)CGROUP_OFF &&
		       (int)WARD_CGROUP_REQUIRE == (int)CGROUP_REQUIRE,
	       "enum ward_cgroup mirrors the CGROUP_* modes");

/* The broker's report of an allowed access (run_options.on_access, whose
 * context comes first) handed to the application's observer, whose
 * userdata comes last like every callback of ward.h. */
static void access_observed(void *ctx, const char *box_path, unsigned how)
{
	const ward_box *b = ctx;
	b->on_access(box_path, how, b->access_userdata);
}

/* The options a front end adds to a run (ward_spawn); b keeps the access
 * observer for as long as the run goes on. */
static int front_end_options(const struct ward_options *opts, ward_box *b, struct run_options *o)
{
	if ((unsigned)opts->cgroup > WARD_CGROUP_REQUIRE)
		return -EINVAL;
	o->cgroup_mode = (int)opts->cgroup;
	o->bind_cwd = opts->expose_cwd;
	o->cancel = opts->cancel;
	o->reap_lazily = opts->exit_after;
	if (opts->on_access) {
		b->on_access = opts->on_access;
		b->access_userdata = opts->access_userdata;
		o->on_access = access_observed;
		o->access_ctx = b;
	}
	return 0;
}

WARD_API int ward_result_exit_status(const ward_result *r)
{
	return r ? run_exit_code(&r->r) : EXIT_SETUP;
}

WARD_API const char *ward_result_notice(const ward_result *r)
{
	return r ? r->r.notice : "";
}

WARD_API const char *ward_result_evidence(const ward_result *r)
{
	return r ? r->r.evidence : NULL;
}

WARD_API const char *ward_result_exposed_cwd(const ward_result *r)
{
	return r && r->r.exposed_cwd[0] ? r->r.exposed_cwd : NULL;
}

WARD_API uint64_t ward_result_limit(const ward_result *r, enum ward_limit limit)
{
	return r && (unsigned)limit < _LIMIT_MAX ? r->r.limits[limit] : 0;
}

WARD_API size_t ward_result_denial_count(const ward_result *r)
{
	return r ? r->r.n_denials : 0;
}

WARD_API int ward_result_denial(const ward_result *r, size_t i, char *buf, size_t len)
{
	if (!r || i >= r->r.n_denials || !buf || !len)
		return -EINVAL;
	denial_format(&r->r.denials[i], buf, len);
	return 0;
}

WARD_API uint64_t ward_result_denials_dropped(const ward_result *r)
{
	return r ? r->r.denials_dropped : 0;
}
