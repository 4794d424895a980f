/* ward_internal.h — what the public API's two files share (ward.c: the
 * policy, host functions, profiles and limits; ward_box.c: runs, boxes
 * and results): the handles behind the opaque types of include/ward.h.
 * Not installed. */
#pragma once

#include "ward.h"

#include "channel.h"
#include "run.h"

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
	ward_pool *pool; /* the box's pool, which buries it (pool_request_done), or NULL */
	/* ward_options.on_access, called through access_observed() */
	ward_access_observer on_access;
	void *access_userdata;
};

/* ward_box.c: ward_spawn, and ward_pool_spawn when pool is non-NULL. */
int spawn_box(const ward_policy *p, char *const argv[], const struct ward_options *opts,
	      ward_pool *pool, ward_box **ret_box);

/* pool.c: the run of a request (req_fd: request_encode's memfd) in one of
 * the pool's ready boxes, or in a box made for it when none is ready; o
 * holds the request's stdio. As box_start: a box that cannot be made is a
 * run that is done, with the setup error in ret. */
int pool_start(ward_pool *pool, const struct run_options *o, int req_fd,
	       struct run_result *ret, struct box_run **ret_run);

/* What the policy adds to a run's options: its host functions' channel
 * (configured in *chan, which must live as long as the run) and its ask
 * handler. */
void policy_run_options(const ward_policy *p, struct channel_config *chan, struct run_options *o);

/* pool.c: a request of the pool's is complete; takes its box's teardown
 * (box_finish_early's remainder, or NULL) off the caller's path: the
 * pool's thread buries it, and may refill. */
void pool_request_done(ward_pool *pool, struct box_run *left);
