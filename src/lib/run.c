/* run.c — the launch sequence and the controller.
 *
 * Process model (docs/ARCHITECTURE.md):
 *
 *   controller (the caller)  ── clone3(all namespaces) ──▶  box init (pid 1)
 *     pumps stdin/stdout/stderr,                               builds the root,
 *     counts output, wall clock,                               forks ──▶ program (pid 2)
 *     cgroup, report                                           reaps, reports     setsid, rlimits,
 *                                                                                 no_new_privs, caps,
 *                                                                                 Landlock, seccomp,
 *                                                                                 execve
 *
 * Everything the box's processes need is prepared in `struct launch`
 * before clone, so no code after clone allocates memory. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "broker.h"
#include "launch.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0) {
			close(p[i]);
			p[i] = -1;
		}
}

static void launch_free(struct launch *L)
{
	mnt_close_trees(&L->mp);
	mnt_plan_free(&L->mp);
	strv_clear(&L->env);
	strv_clear(&L->exec);
	strv_clear(&L->owned);
	close_pair(L->sync);
	close_pair(L->status);
	close_pair(L->errp);
	close_pair(L->out);
	close_pair(L->err);
	close_pair(L->in);
	if (L->stdin_direct >= 0)
		close(L->stdin_direct);
	close_pair(L->chan);
	close_pair(L->disk);
	for (size_t i = 0; i < L->mp.n; i++)
		if (L->mp.e[i].host_fd >= 0) {
			close(L->mp.e[i].host_fd);
			L->mp.e[i].host_fd = -1;
		}
	if (L->have_cg)
		cgroup_destroy(&L->cg);
	broker_free(L->broker);
}


/* After the run, in the controller: receives the upper layers and applies
 * each to its host directory (disk.c). A failure is the run's io-error
 * (or, after a limit, its notice) and its disk_error: the box's output to
 * a directory must not be lost without a word. */
static void apply_upper_layers(struct launch *L, struct run_result *ret)
{
	for (;;) {
		uint32_t idx;
		struct iovec iov = {&idx, sizeof(idx)};
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
		ssize_t n = recvmsg(L->disk[0], &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
			continue;
		int fd;
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
		struct mnt_entry *m = n == sizeof(idx) && idx < L->mp.n ? &L->mp.e[idx] : NULL;
		struct err e = {{0}};
		if (m && m->overlay && m->host_fd >= 0 &&
		    disk_apply(fd, m->host_fd, m->src, m->size, L->root,
			       m->idmap ? m->idmap_uid : L->host_uid,
			       m->idmap ? m->idmap_gid : L->host_gid, &e) < 0 &&
		    !ret->disk_error[0]) {
			snprintf(ret->disk_error, sizeof(ret->disk_error), "%s", e.msg);
			/* The program's own outcome becomes an io-error: the
			 * run's output (to the directory) is incomplete, and a
			 * caller checking only the exit status must see it. A
			 * limit's status stays (it is not 0 either). */
			if (ret->status == STATUS_EXITED || ret->status == STATUS_SIGNALED) {
				ret->status = STATUS_IO_ERROR;
				snprintf(ret->error.msg, sizeof(ret->error.msg), "%s", e.msg);
			} else {
				snprintf(ret->notice, sizeof(ret->notice), "%s", e.msg);
			}
		}
		close(fd);
	}
}


static int make_pipe(int p[2], bool nonblock_read)
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if (nonblock_read)
		fcntl(p[0], F_SETFL, O_NONBLOCK);
	return 0;
}

static bool is_pipe(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* Writes to a closed reader must fail with EPIPE, not kill the caller's
 * process: SIGPIPE is blocked for this thread while ward works, and one
 * that our writes raised is consumed before the caller's mask returns. */
static void pipe_guard_begin(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

static void pipe_guard_end(const sigset_t *old)
{
	if (!sigismember(old, SIGPIPE)) {
		sigset_t set;
		struct timespec zero = {0, 0};
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		while (sigtimedwait(&set, NULL, &zero) > 0)
			;
	}
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

struct box_run {
	struct launch L;
	struct supervisor s;
	struct run_options o;
	struct run_result *ret;
	pid_t pid;
	bool running; /* the box was started: there is something to reap */
	bool done;
};

int box_start(const struct policy *p, char *const argv[],
	      const struct run_options *o, struct run_result *ret,
	      struct box_run **ret_run)
{
	if (!p || !argv || !argv[0] || !argv[0][0] || !o || !ret || !ret_run)
		return -EINVAL;
	struct box_run *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	*ret = (struct run_result){.status = STATUS_SETUP_ERROR, .exit_code = -1};
	b->o = *o;
	b->ret = ret;
	b->L = (struct launch){
		.argv = argv,
		.hostname = p->hostname ? p->hostname : "ward",
		.net = p->net,
		.root = geteuid() == 0,
		.sync = {-1, -1}, .status = {-1, -1}, .errp = {-1, -1},
		.out = {-1, -1}, .err = {-1, -1}, .in = {-1, -1}, .chan = {-1, -1},
		.disk = {-1, -1},
		.stdin_direct = -1,
		.broker_fd = -1,
	};
	b->s = (struct supervisor){.L = &b->L, .ret = ret, .o = &b->o, .pidfd = -1,
				   .status_fd = -1, .err_fd = -1, .in_src = -1, .in_dst = -1,
				   .ch = {.fd = -1}};
	struct launch *L = &b->L;
	struct supervisor *s = &b->s;
	struct err *e = &ret->error;
	sigset_t old_mask;
	int r;

	/* The box runs as an unprivileged host uid: as root, nobody (never
	 * host root); otherwise the caller itself. */
	L->host_uid = L->root ? NOBODY_UID : geteuid();
	L->host_gid = L->root ? NOBODY_GID : getegid();

	/* The launch sequence, one step per line. */
	if ((r = plan_limits(L, p, o, ret)) < 0 ||
	    (r = plan_filesystem(L, p, o, ret)) < 0 ||
	    (r = mnt_prepare_writable(&L->mp, L->root, L->host_uid, L->host_gid, e)) < 0 ||
	    (r = plan_environment(L, p)) < 0 ||
	    (o->channel && (r = plan_channel_environment(L, p, o)) < 0) ||
	    (r = strv_copy(&L->exec, &p->exec)) < 0 ||
	    (r = check_exec_paths(L, p, e)) < 0 ||
	    (broker_needed(p, o) &&
	     (r = broker_new(&L->broker, p, o, &L->mp, L->host_uid, L->host_gid, e)) < 0))
		goto fail;
	if (L->broker)
		L->broker_fd = broker_box_fd(L->broker);
	L->landlock_abi = landlock_abi();
	if (L->landlock_abi < 1) {
		r = err_set(e, EOPNOTSUPP, "landlock is not available on this kernel (%s): ward requires it",
			    L->landlock_abi == -EOPNOTSUPP ? "disabled at boot: add landlock to the lsm= kernel parameter"
							   : "not built in");
		goto fail;
	}
	/* A pipe on stdin is handed to the box directly (no copy), but as a
	 * new open file description of it: the box setting O_NONBLOCK on its
	 * fd 0 must not change the caller's. Anything else (a tty, a file, a
	 * socket the box could write to) goes through the controller's pump. */
	bool pump_stdin = true;
	if (o->stdin_fd >= 0 && is_pipe(o->stdin_fd)) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", o->stdin_fd);
		L->stdin_direct = open(path, O_RDONLY | O_CLOEXEC);
		pump_stdin = L->stdin_direct < 0;
	}
	if ((r = make_pipe(L->sync, false)) < 0 || (r = make_pipe(L->status, true)) < 0 ||
	    (r = make_pipe(L->errp, true)) < 0 || (r = make_pipe(L->out, true)) < 0 ||
	    (r = make_pipe(L->err, true)) < 0 || (pump_stdin && (r = make_pipe(L->in, false)) < 0) ||
	    (o->channel && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, L->chan) < 0 &&
	     (r = -errno) < 0) ||
	    (L->n_overlay && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, L->disk) < 0 &&
	     (r = -errno) < 0)) {
		err_errno(e, -r, "cannot create pipes");
		goto fail;
	}
	if (pump_stdin)
		fcntl(L->in[1], F_SETFL, O_NONBLOCK);

	pipe_guard_begin(&old_mask);
	pid_t pid = ns_clone_box(L->have_cg && L->cg.version == 2 ? L->cg.v2_fd : -1,
				 !(L->have_cg && L->cg.version == 1), L->root, &s->pidfd);
	if (pid < 0) {
		pipe_guard_end(&old_mask);
		r = err_errno(e, -pid, "cannot create the box's namespaces%s",
			      -pid == EPERM || -pid == ENOSPC
				      ? " (are unprivileged user namespaces disabled? see 'ward doctor')" : "");
		goto fail;
	}
	if (pid == 0)
		box_init(L);
	s->start_ns = now_ns();

	close(L->sync[0]);
	L->sync[0] = -1;
	mnt_close_trees(&L->mp); /* the box has its own copies */
	if (L->disk[1] >= 0) {
		close(L->disk[1]);
		L->disk[1] = -1;
	}
	if (L->stdin_direct >= 0) {
		close(L->stdin_direct); /* the box has its own */
		L->stdin_direct = -1;
	}
	/* The box joins its v1 cgroups itself: the controller's copies of
	 * the `tasks` files go. */
	if (L->have_cg)
		cgroup_close_tasks(&L->cg);
	if ((r = ns_write_id_maps(pid, L->host_uid, L->host_gid, L->root, e)) < 0) {
		syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
		waitpid(pid, NULL, 0);
		close(s->pidfd);
		s->pidfd = -1;
		pipe_guard_end(&old_mask);
		goto fail;
	}
	if (L->broker && (r = broker_start(L->broker, e)) < 0) {
		syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
		waitpid(pid, NULL, 0);
		close(s->pidfd);
		s->pidfd = -1;
		pipe_guard_end(&old_mask);
		goto fail;
	}
	L->broker_fd = -1; /* the broker closed the box's end on our side */
	/* Go: the box builds itself and starts the program. */
	(void)write_all(L->sync[1], "x", 1);
	pipe_guard_end(&old_mask);
	b->pid = pid;
	b->running = true;
	/* sync[1] stays open until the run ends: init's check that the
	 * controller lives (box_init). */
	close(L->status[1]);
	close(L->errp[1]);
	close(L->out[1]);
	close(L->err[1]);
	L->status[1] = L->errp[1] = L->out[1] = L->err[1] = -1;
	if (L->in[0] >= 0) {
		close(L->in[0]);
		L->in[0] = -1;
	}
	s->out = (struct stream){.src = TAKE_FD(L->out[0]), .dst = o->stdout_fd};
	s->err = (struct stream){.src = TAKE_FD(L->err[0]), .dst = o->stderr_fd};
	s->status_fd = TAKE_FD(L->status[0]);
	s->err_fd = TAKE_FD(L->errp[0]);
	if (pump_stdin) {
		s->in_dst = TAKE_FD(L->in[1]);
		s->in_src = o->stdin_fd;
		if (s->in_src < 0) { /* no stdin: the box reads EOF */
			close(s->in_dst);
			s->in_dst = -1;
		}
	}
	if (o->channel) {
		close(L->chan[1]);
		L->chan[1] = -1;
		fcntl(L->chan[0], F_SETFL, O_NONBLOCK);
		channel_init(&s->ch, TAKE_FD(L->chan[0]), o->channel);
	}
	if (L->lim.v[LIMIT_WALL_TIME])
		s->deadline_ns = s->start_ns + L->lim.v[LIMIT_WALL_TIME] * 1000000ull;
	if (L->lim.procs_by_cgroup)
		s->pids_next_ns = s->start_ns + 1000000000ull;
	*ret_run = b;
	return 0;

fail:
	ret->status = STATUS_SETUP_ERROR;
	if (r == -ENOMEM && !ret->error.msg[0])
		err_set(e, ENOMEM, "out of memory");
	launch_free(L);
	b->done = true;
	*ret_run = b;
	return 0;
}

static int step(struct box_run *b, int timeout_ms)
{
	if (!b->done && supervise_once(&b->s, timeout_ms))
		b->done = true;
	return b->done;
}

int box_step(struct box_run *b, int timeout_ms)
{
	sigset_t old_mask;
	pipe_guard_begin(&old_mask);
	int r = step(b, timeout_ms);
	pipe_guard_end(&old_mask);
	return r;
}

size_t box_wait_set(struct box_run *b, struct pollfd *pf, size_t cap,
		    uint64_t *ret_deadline_ns)
{
	struct pollfd all[9];
	struct poll_index ix;
	size_t n = b->done ? 0 : supervise_fds(&b->s, all, &ix);
	if (n > cap)
		n = cap;
	memcpy(pf, all, n * sizeof(*pf));
	uint64_t d = b->s.deadline_ns, p = b->s.pids_next_ns;
	if (p && (!d || p < d))
		d = p;
	*ret_deadline_ns = b->done || b->s.killed ? 0 : d;
	/* Nothing to wait for but the run is over: box_step says so at once. */
	if (!b->done && supervise_done(&b->s))
		*ret_deadline_ns = 1;
	return n;
}

void box_kill(struct box_run *b)
{
	if (b->done || !b->running || b->s.killed)
		return;
	b->s.cancelled = true;
	kill_box(&b->s);
}

void box_finish(struct box_run *b)
{
	if (!b)
		return;
	if (!b->running) {
		free(b);
		return;
	}
	/* Serve the box to its end, with SIGPIPE blocked once for all the
	 * steps (three system calls fewer per host-function call). */
	sigset_t old_mask;
	pipe_guard_begin(&old_mask);
	while (!step(b, -1))
		;
	pipe_guard_end(&old_mask);
	struct launch *L = &b->L;
	struct supervisor *s = &b->s;
	struct run_result *ret = b->ret;
	const struct run_options *o = &b->o;

	/* Reap init. Its exit tears the box's namespaces down (the mount
	 * namespace waits for an RCU grace period, ~0.5 ms here); a caller that
	 * is about to exit anyway may leave that to the kernel, unless a
	 * cgroup must be removed afterwards. Box code cannot run any more:
	 * init killed everything before it reported. */
	int init_status = 0;
	struct rusage ru = {0};
	bool reaped = true;
	if (o->reap_lazily && s->have_prog_status && !L->have_cg && !L->n_overlay) {
		siginfo_t si = {0};
		reaped = waitid(P_PIDFD, (id_t)s->pidfd, &si, WEXITED | WNOHANG | __WALL) == 0 &&
			 si.si_pid != 0;
	} else {
		while (wait4(b->pid, &init_status, __WALL, &ru) < 0 && errno == EINTR)
			;
	}
	if (s->have_prog_status || !reaped)
		ru = s->prog_ru;
	ret->wall_time_s = (double)(now_ns() - s->start_ns) / 1e9;
	ret->cpu_time_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			  (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	ret->peak_memory_bytes = (uint64_t)ru.ru_maxrss * 1024;
	/* Without a memory cgroup, init's count (anonymous, shared, page
	 * tables) is the better peak: ru_maxrss includes file pages. */
	if (s->sampled_peak)
		ret->peak_memory_bytes = s->sampled_peak;
	ret->output_bytes = s->output_total;
	if (L->broker)
		broker_stop(L->broker, ret);
	close(s->pidfd);
	if (s->in_dst >= 0)
		close(s->in_dst);

	struct cgroup_usage cu = {0};
	if (L->have_cg) {
		cgroup_read_usage(&L->cg, &cu);
		if (cu.have_peak)
			ret->peak_memory_bytes = cu.peak_memory;
	}

	ret->layers |= LAYER_USERNS | LAYER_MNTNS | LAYER_PIDNS | LAYER_NETNS |
		       LAYER_IPCNS | LAYER_UTSNS | LAYER_CGROUPNS;
	ret->landlock_abi = L->landlock_abi;
	if (s->cerr_len >= sizeof(int)) {
		/* The box could not be built, or the program not started. */
		ret->status = STATUS_SETUP_ERROR;
		ret->not_found = s->cerr.code == EXIT_NOT_FOUND;
		ret->not_executable = s->cerr.code == EXIT_NOT_EXECUTABLE;
		s->cerr.msg[sizeof(s->cerr.msg) - 1] = 0;
		snprintf(ret->error.msg, sizeof(ret->error.msg), "%s", s->cerr.msg);
	} else if (!s->have_prog_status && !s->killed && cu.oom_kills == 0) {
		/* (A memory cgroup's OOM killer may pick init itself when the
		 * program's memory is not in its resident set, e.g. in socket
		 * buffers: that is a memory-limit, attributed below.) */
		ret->status = STATUS_SETUP_ERROR;
		snprintf(ret->error.msg, sizeof(ret->error.msg),
			 "the box exited before starting the program (status %d)", init_status);
	} else {
		ret->layers |= LAYER_PIVOT_ROOT | LAYER_NO_NEW_PRIVS | LAYER_CAPS_DROPPED |
			       LAYER_SECCOMP | LAYER_LANDLOCK | LAYER_RLIMITS | LAYER_SETSID;
		attribute(s, init_status, &cu);
	}
	/* Every process of the box is gone (init is reaped, and the kernel
	 * reaps a pid namespace before its init): the upper layers are still. */
	if (L->n_overlay && reaped)
		apply_upper_layers(L, ret);
	channel_close(&s->ch);
	launch_free(L);
	free(b);
}

int box_run(const struct policy *p, char *const argv[],
	    const struct run_options *o, struct run_result *ret)
{
	struct box_run *b;
	int r = box_start(p, argv, o, ret, &b);
	if (r < 0) {
		if (r == -ENOMEM && ret) {
			*ret = (struct run_result){.status = STATUS_SETUP_ERROR, .exit_code = -1};
			err_set(&ret->error, ENOMEM, "out of memory");
			return 0;
		}
		return r;
	}
	box_finish(b);
	return 0;
}
