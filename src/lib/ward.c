/* ward.c — libward's public API (include/ward.h) over the internals:
 * struct policy and its setters (policy.c), the run in steps (run.c), the
 * host-function channel (channel.c) and the feature probe (features.c).
 * Validation lives in the internals; this file maps types and handles. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include "ward.h"

#include "channel.h"
#include "config.h"
#include "host_features.h"
#include "run.h"

_Static_assert(WARD_LIMIT_MEMORY == (int)LIMIT_MEMORY && WARD_LIMIT_CPU_TIME == (int)LIMIT_CPU_TIME &&
		       WARD_LIMIT_WALL_TIME == (int)LIMIT_WALL_TIME &&
		       WARD_LIMIT_PROCS == (int)LIMIT_PROCS && WARD_LIMIT_OUTPUT == (int)LIMIT_OUTPUT &&
		       WARD_LIMIT_FILE_SIZE == (int)LIMIT_FILE_SIZE &&
		       WARD_LIMIT_OPEN_FILES == (int)LIMIT_OPEN_FILES &&
		       WARD_LIMIT_TMP_SIZE == (int)LIMIT_TMP_SIZE &&
		       WARD_LIMIT_DISK == (int)LIMIT_DISK && _LIMIT_MAX == 9,
	       "enum ward_limit mirrors enum limit_id");
_Static_assert(WARD_STATUS_EXITED == (int)STATUS_EXITED &&
		       WARD_STATUS_SETUP_ERROR == (int)STATUS_SETUP_ERROR &&
		       WARD_STATUS_VIOLATION == (int)STATUS_VIOLATION &&
		       WARD_STATUS_IO_ERROR == (int)STATUS_IO_ERROR && _STATUS_MAX == 11,
	       "enum ward_status mirrors enum run_status");
_Static_assert((int)WARD_ACCESS_READ == (int)ACCESS_READ &&
		       (int)WARD_ACCESS_WRITE == (int)ACCESS_WRITE &&
		       (int)WARD_ACCESS_CREATE == (int)ACCESS_CREATE &&
		       (int)WARD_ACCESS_EXEC == (int)ACCESS_EXEC && (int)WARD_ACCESS_DIR == (int)ACCESS_DIR,
	       "WARD_ACCESS_* mirror ACCESS_*");

#define MAX_FUNCTIONS 256
#define MAX_FUNCTION_NAME 64
#define DEFAULT_CAPTURE (1u << 20)

struct function {
	char *name;
	ward_function fn;
	void *userdata;
};

struct ward_policy {
	struct policy *core;
	struct function *fns;
	size_t n_fns;
	struct channel_limits lim;
	char *client_dir;
	ward_access_handler ask;
	void *ask_userdata;
	struct err err;
};

struct ward_call {
	const struct function *f;
	struct err *e;
};

struct ward_result {
	struct run_result r;
	char *out, *err;
	size_t out_len, err_len;
};

struct ward_box {
	const ward_policy *p;
	struct box_run *run;
	ward_result *res;
	struct channel_config chan;
	struct strv argv;
	int in_fd, out_fd, err_fd; /* memfds we own, or -1 */
	size_t capture_max;
	/* ward_box_fd: an epoll set holding the timer and `inner`, an epoll
	 * set of what the run waits for, made afresh at each step: a closed fd
	 * stays registered in an epoll set while any copy of it lives on (in
	 * a process the application forked, say), and would report forever. */
	int epfd, timerfd, inner;
	bool finished;
	/* ward_options.on_access, called through access_observed() */
	ward_access_observer on_access;
	void *access_userdata;
};

/* Records the message of a failed call on p (an internal setter already
 * formatted it) and passes r on. */
static int fail(ward_policy *p, int r, const struct err *e)
{
	if (e && e->msg[0])
		snprintf(p->err.msg, sizeof(p->err.msg), "%s", e->msg);
	else /* "out of memory", lowercase like every message */
		err_errno(&p->err, -r, "failed");
	return r;
}

/* Runs an internal setter: clears the last message, records a new one. */
#define SET(p, call)                                                           \
	({                                                                     \
		struct err e_ = {{0}};                                         \
		(p)->err.msg[0] = 0;                                           \
		int r_ = (call);                                               \
		r_ < 0 ? fail((p), r_, &e_) : 0;                               \
	})

/* ---- policies ------------------------------------------------------ */

WARD_API int ward_policy_new(ward_policy **ret_policy)
{
	if (!ret_policy)
		return -EINVAL;
	ward_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int r = policy_new(&p->core);
	if (r < 0) {
		free(p);
		return r;
	}
	p->lim = (struct channel_limits){
		.max_message = CHANNEL_DEFAULT_MAX_MESSAGE,
		.max_calls = CHANNEL_DEFAULT_MAX_CALLS,
		.call_timeout_ms = CHANNEL_DEFAULT_CALL_TIMEOUT_MS,
	};
	*ret_policy = p;
	return 0;
}

WARD_API void ward_policy_free(ward_policy *p)
{
	if (!p)
		return;
	policy_free(p->core);
	for (size_t i = 0; i < p->n_fns; i++)
		free(p->fns[i].name);
	free(p->fns);
	free(p->client_dir);
	free(p);
}

WARD_API const char *ward_policy_error(const ward_policy *p)
{
	return p ? p->err.msg : "";
}

WARD_API int ward_policy_load_file(ward_policy *p, const char *path)
{
	if (!p || !path)
		return -EINVAL;
	return SET(p, policy_load_file(p->core, path, &e_));
}

WARD_API int ward_policy_load_profile(ward_policy *p, const char *name)
{
	if (!p || !name)
		return -EINVAL;
	return SET(p, policy_load_profile(p->core, name, &e_));
}

WARD_API int ward_policy_grant_ro(ward_policy *p, const char *host_path, const char *box_path)
{
	if (!p || !host_path)
		return -EINVAL;
	return SET(p, policy_add_grant(p->core, GRANT_RO, host_path, box_path, 0, false, &e_));
}

WARD_API int ward_policy_grant_rw(ward_policy *p, const char *host_path, const char *box_path)
{
	if (!p || !host_path)
		return -EINVAL;
	return SET(p, policy_add_grant(p->core, GRANT_RW, host_path, box_path, 0, false, &e_));
}

WARD_API int ward_policy_grant_tmpfs(ward_policy *p, const char *box_path, uint64_t size)
{
	if (!p || !box_path)
		return -EINVAL;
	return SET(p, policy_add_grant(p->core, GRANT_TMPFS, NULL, box_path, size, false, &e_));
}

WARD_API int ward_policy_allow_exec(ward_policy *p, const char *box_path)
{
	if (!p || !box_path)
		return -EINVAL;
	return SET(p, policy_add_exec(p->core, box_path, &e_));
}

WARD_API int ward_policy_set_env(ward_policy *p, const char *name_value)
{
	if (!p || !name_value)
		return -EINVAL;
	/* The policy file's "env NAME" copies the caller's variable; a
	 * library call says what it means. */
	if (!strchr(name_value, '=')) {
		struct err e = {{0}};
		return fail(p, err_set(&e, EINVAL, "environment entry '%s' must be NAME=VALUE", name_value), &e);
	}
	return SET(p, policy_add_env(p->core, name_value, &e_));
}

WARD_API int ward_policy_set_cwd(ward_policy *p, const char *box_path)
{
	if (!p || !box_path)
		return -EINVAL;
	return SET(p, policy_set_cwd(p->core, box_path, &e_));
}

WARD_API int ward_policy_set_expose_cwd(ward_policy *p, bool expose)
{
	if (!p)
		return -EINVAL;
	return policy_set_hide_cwd(p->core, !expose);
}

WARD_API bool ward_policy_get_expose_cwd(const ward_policy *p)
{
	return p && !p->core->hide_cwd;
}

WARD_API int ward_policy_set_hostname(ward_policy *p, const char *name)
{
	if (!p || !name)
		return -EINVAL;
	return SET(p, policy_set_hostname(p->core, name, &e_));
}

WARD_API int ward_policy_set_net(ward_policy *p, enum ward_net mode)
{
	if (!p)
		return -EINVAL;
	const char *name = mode == WARD_NET_NONE ? "none" : mode == WARD_NET_LOOPBACK ? "loopback" : NULL;
	if (!name) {
		struct err e = {{0}};
		return fail(p, err_set(&e, EINVAL, "unknown network mode %d", (int)mode), &e);
	}
	return SET(p, policy_set_net(p->core, name, &e_));
}

WARD_API int ward_policy_set_limit(ward_policy *p, enum ward_limit limit, uint64_t value)
{
	if (!p || (unsigned)limit >= _LIMIT_MAX)
		return -EINVAL;
	return SET(p, policy_set_limit(p->core, (enum limit_id)limit, value, &e_));
}

/* ---- host functions ------------------------------------------------ */

static bool function_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (!n || n > MAX_FUNCTION_NAME || (name[0] >= '0' && name[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

WARD_API int ward_policy_add_function(ward_policy *p, const char *name, ward_function fn,
				      void *userdata)
{
	if (!p || !name || !fn)
		return -EINVAL;
	struct err e = {{0}};
	p->err.msg[0] = 0;
	if (!function_name_ok(name))
		return fail(p, err_set(&e, EINVAL,
				       "invalid function name '%.100s' (expected [A-Za-z_][A-Za-z0-9_]*, at most %d bytes)",
				       name, MAX_FUNCTION_NAME), &e);
	for (size_t i = 0; i < p->n_fns; i++)
		if (!strcmp(p->fns[i].name, name))
			return fail(p, err_set(&e, EEXIST, "function '%s' is already registered", name), &e);
	if (p->n_fns >= MAX_FUNCTIONS)
		return fail(p, err_set(&e, E2BIG, "too many functions (at most %d)", MAX_FUNCTIONS), &e);
	struct function *n = realloc(p->fns, (p->n_fns + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->fns = n;
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	p->fns[p->n_fns++] = (struct function){copy, fn, userdata};
	return 0;
}

WARD_API int ward_call_fail(ward_call *call, const char *fmt, ...)
{
	if (!call || !fmt)
		return -EINVAL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(call->e->msg, sizeof(call->e->msg), fmt, ap);
	va_end(ap);
	return -ECANCELED;
}

WARD_API const char *ward_call_function(const ward_call *call)
{
	return call ? call->f->name : NULL;
}

WARD_API int ward_policy_set_channel_limit(ward_policy *p, enum ward_channel_limit limit,
					   uint64_t value)
{
	if (!p)
		return -EINVAL;
	struct err e = {{0}};
	p->err.msg[0] = 0;
	switch (limit) {
	case WARD_CHANNEL_MAX_MESSAGE:
		if (value < 64 || value > CHANNEL_MAX_MESSAGE_LIMIT)
			return fail(p, err_set(&e, ERANGE, "message size %llu out of range (expected 64 to %u bytes)",
					       (unsigned long long)value, CHANNEL_MAX_MESSAGE_LIMIT), &e);
		p->lim.max_message = (uint32_t)value;
		return 0;
	case WARD_CHANNEL_MAX_CALLS:
		if (!value)
			return fail(p, err_set(&e, ERANGE, "call count 0 out of range (expected at least 1)"), &e);
		p->lim.max_calls = value;
		return 0;
	case WARD_CHANNEL_CALL_TIMEOUT:
		if (!value || value > 24ull * 3600 * 1000)
			return fail(p, err_set(&e, ERANGE, "call timeout %llu ms out of range (expected 1 ms to 24 h)",
					       (unsigned long long)value), &e);
		p->lim.call_timeout_ms = value;
		return 0;
	}
	return fail(p, err_set(&e, EINVAL, "unknown channel limit %d", (int)limit), &e);
}

WARD_API int ward_policy_set_client_dir(ward_policy *p, const char *host_dir)
{
	if (!p || !host_dir)
		return -EINVAL;
	struct err e = {{0}};
	p->err.msg[0] = 0;
	struct stat st;
	if (host_dir[0] != '/')
		return fail(p, err_set(&e, EINVAL, "client directory '%s' must be absolute", host_dir), &e);
	if (stat(host_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return fail(p, err_errno(&e, errno ? errno : ENOTDIR, "client directory '%s'", host_dir), &e);
	char *copy = strdup(host_dir);
	if (!copy)
		return -ENOMEM;
	free(p->client_dir);
	p->client_dir = copy;
	return 0;
}

/* ---- ask rules --------------------------------------------------------- */

WARD_API int ward_policy_add_ask(ward_policy *p, const char *box_prefix)
{
	if (!p || !box_prefix)
		return -EINVAL;
	return SET(p, policy_add_ask(p->core, box_prefix, &e_));
}

WARD_API int ward_policy_set_access_handler(ward_policy *p, ward_access_handler fn,
					    void *userdata)
{
	if (!p)
		return -EINVAL;
	p->ask = fn;
	p->ask_userdata = fn ? userdata : NULL;
	return 0;
}

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

WARD_API int ward_spawn(const ward_policy *p, char *const argv[], const struct ward_options *opts,
			ward_box **ret_box)
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
	ward_box *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	*b = (ward_box){.p = p, .in_fd = -1, .out_fd = -1, .err_fd = -1, .epfd = -1, .timerfd = -1,
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
	struct run_options o = {.stdin_fd = opts->stdin_fd, .stdout_fd = opts->stdout_fd,
				.stderr_fd = opts->stderr_fd};
	if ((r = front_end_options(opts, b, &o)) < 0)
		goto fail;
	if (opts->stdin_fd < 0 && opts->stdin_data) {
		if ((r = b->in_fd = memfd_with("ward-stdin", opts->stdin_data, opts->stdin_len)) < 0)
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
	if (p->n_fns) {
		b->chan = (struct channel_config){.lim = p->lim, .dispatch = dispatch, .ctx = (void *)p};
		o.channel = &b->chan;
		o.client_dir = p->client_dir ? p->client_dir : WARD_CLIENT_DIR;
	}
	if (p->ask) {
		o.ask = ask_handler;
		o.ask_ctx = (void *)p;
	}
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
	box_finish(b->run);
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

/* ---- features -------------------------------------------------------- */

WARD_API int ward_features(struct ward_features *ret_features)
{
	if (!ret_features)
		return -EINVAL;
	struct features f;
	int r = features_probe(&f);
	if (r < 0)
		return r;
	*ret_features = (struct ward_features){
		.user_namespaces = f.userns && f.mntns && f.pidns && f.netns && f.ipcns &&
				   f.utsns && f.cgroupns,
		.seccomp = f.seccomp,
		.seccomp_notify = f.seccomp_notify,
		.landlock_abi = f.landlock_abi,
		.cgroup_version = f.cgroup_version,
	};
	return 0;
}

/* ---- for front ends (ward(1)) ---------------------------------------- */

_Static_assert((int)WARD_CGROUP_AUTO == (int)CGROUP_AUTO && (int)WARD_CGROUP_OFF == (int)CGROUP_OFF &&
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

WARD_API int ward_policy_set_limit_string(ward_policy *p, enum ward_limit limit,
					  const char *value)
{
	if (!p || !value || (unsigned)limit >= _LIMIT_MAX)
		return -EINVAL;
	return SET(p, policy_set_limit_str(p->core, (enum limit_id)limit, value, &e_));
}

WARD_API int ward_policy_add_file(ward_policy *p, const char *box_path, const char *host_path)
{
	if (!p || !box_path || !host_path)
		return -EINVAL;
	return SET(p, policy_add_file(p->core, box_path, host_path, NULL, &e_));
}

WARD_API int ward_policy_add_file_text(ward_policy *p, const char *box_path, const char *text)
{
	if (!p || !box_path || !text)
		return -EINVAL;
	return SET(p, policy_add_file(p->core, box_path, NULL, text, &e_));
}

WARD_API int ward_policy_set_audit(ward_policy *p, bool on)
{
	if (!p)
		return -EINVAL;
	return SET(p, policy_set_audit(p->core, on ? "on" : "off", &e_));
}

WARD_API bool ward_policy_get_audit(const ward_policy *p)
{
	return p && p->core->audit;
}

WARD_API size_t ward_policy_ask_count(const ward_policy *p)
{
	return p ? p->core->ask.n : 0;
}

_Static_assert((int)WARD_GRANT_RO == (int)GRANT_RO && (int)WARD_GRANT_RW == (int)GRANT_RW &&
		       (int)WARD_GRANT_TMPFS == (int)GRANT_TMPFS,
	       "enum ward_grant_kind mirrors enum grant_kind");

WARD_API size_t ward_policy_grant_count(const ward_policy *p)
{
	return p ? p->core->n_grants : 0;
}

WARD_API int ward_policy_get_grant(const ward_policy *p, size_t i, struct ward_grant *ret_grant)
{
	if (!p || !ret_grant || i >= p->core->n_grants)
		return -EINVAL;
	const struct grant *g = &p->core->grants[i];
	*ret_grant = (struct ward_grant){.kind = (enum ward_grant_kind)g->kind, .host = g->host,
					 .box = g->box, .size = g->size, .optional = g->optional};
	return 0;
}

WARD_API int ward_policy_add_grant(ward_policy *p, const struct ward_grant *grant)
{
	if (!p || !grant || (unsigned)grant->kind > WARD_GRANT_TMPFS)
		return -EINVAL;
	if (grant->kind == WARD_GRANT_TMPFS ? !grant->box || grant->host : !grant->host)
		return -EINVAL;
	return SET(p, policy_add_grant(p->core, (enum grant_kind)grant->kind, grant->host, grant->box,
				       grant->size, grant->optional, &e_));
}

WARD_API int ward_policy_format(const ward_policy *p, char **ret_text)
{
	if (!p || !ret_text)
		return -EINVAL;
	return policy_format(p->core, ret_text);
}

WARD_API const char *ward_limit_name(enum ward_limit limit)
{
	return (unsigned)limit < _LIMIT_MAX ? limit_info[limit].name : NULL;
}

WARD_API uint64_t ward_limit_default(enum ward_limit limit)
{
	return (unsigned)limit < _LIMIT_MAX ? limit_info[limit].def : 0;
}

WARD_API int ward_limit_format(enum ward_limit limit, uint64_t value, char *buf, size_t len)
{
	if ((unsigned)limit >= _LIMIT_MAX || !buf || !len)
		return -EINVAL;
	char out[32];
	if (limit_info[limit].type == LIMIT_TYPE_SIZE)
		format_size(value, out, sizeof(out));
	else if (limit_info[limit].type == LIMIT_TYPE_DURATION)
		format_duration(value, out, sizeof(out));
	else
		snprintf(out, sizeof(out), "%llu", (unsigned long long)value);
	if (strlen(out) >= len)
		return -ENOBUFS;
	memcpy(buf, out, strlen(out) + 1);
	return 0;
}

WARD_API const char *ward_profile_name(size_t i)
{
	return i < n_builtin_profiles ? builtin_profiles[i].name : NULL;
}

WARD_API const char *ward_profile_summary(const char *name)
{
	const struct profile *pr = name ? profile_find(name) : NULL;
	return pr ? (pr->summary ? pr->summary : "") : NULL;
}

WARD_API const char *ward_profile_text(const char *name)
{
	const struct profile *pr = name ? profile_find(name) : NULL;
	return pr ? (pr->text ? pr->text : "") : NULL;
}

WARD_API const char *ward_profile_for_program(const char *program)
{
	return profile_for_program(program);
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

