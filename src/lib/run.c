/* run.c — the launch sequence (box_start), and the run's life after it:
 * served in steps, finished, its result assembled in one place.
 *
 * Process model and data flow (docs/ARCHITECTURE.md):
 *
 *   controller (the caller)  ── clone3(all namespaces) ──▶  box init (pid 1)
 *     plan.c: the plan                                         init.c: box_init
 *     run.c: plumbing, clone, go                               builds the root,
 *     supervise.c: pumps stdin/stdout/stderr,                  starts ──▶ program (box_exec)
 *       counts output, wall clock,                             reaps, reports     setsid, rlimits,
 *       attributes the outcome                                                    no_new_privs, caps,
 *     run.c: reaps, assembles the result                                          Landlock, seccomp,
 *                                                                                 execve
 *
 * plan → box → supervision → result: the plan (struct plan) is built
 * before clone and only read after it, so no code after clone allocates;
 * the plumbing (struct plumbing) connects the two sides; the supervisor
 * returns a verdict; result_assemble writes the caller's run_result. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "broker.h"
#include "fdpass.h"
#include "launch.h"
#include "request.h"

struct box_run {
	struct plan plan;
	struct plan_notes notes;
	struct plumbing io;
	struct broker *broker;	/* NULL unless the policy needs one */
	struct supervisor s;
	struct run_options o;
	struct run_result *ret;
	struct err setup_error; /* why box_start could not start the box */
	const struct launcher *launcher; /* NULL: the controller clones */
	pid_t pid;
	int pidfd;
	uint64_t start_ns;
	bool running; /* the box was started: there is something to reap */
	bool done;
	bool requested; /* a warm box: its request was sent (box_request) */
};

/* What the controller learns once the run is over (box_finish). */
struct ending {
	int init_status;
	struct rusage ru;	 /* the program's, or init's and all it reaped */
	bool reaped;		 /* init was reaped (not left to the kernel) */
	uint64_t end_ns;
	struct cgroup_usage cu;
	struct err disk_error;	 /* the first box write not applied, or "" */
};

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0) {
			close(p[i]);
			p[i] = -1;
		}
}

static void plumbing_close(struct plumbing *io)
{
	close_pair(io->sync);
	close_pair(io->status);
	close_pair(io->errp);
	close_pair(io->out);
	close_pair(io->err);
	close_pair(io->in);
	if (io->stdin_direct >= 0)
		close(io->stdin_direct);
	io->stdin_direct = -1;
	close_pair(io->chan);
	close_pair(io->disk);
	close_pair(io->req);
}

/* After the run, in the controller: receives the upper layers and applies
 * each to its host directory (disk.c). The first failure goes to
 * *ret_error (result_assemble tells it). */
static void apply_upper_layers(const struct plan *pl, int disk_fd, struct err *ret_error)
{
	for (;;) {
		uint32_t idx;
		int fd = fdpass_recv_one(disk_fd, MSG_DONTWAIT, &idx, sizeof(idx));
		if (fd == -EPROTO) {
			/* Its descriptors closed; most likely the controller
			 * had no descriptor free for the layer (MSG_CTRUNC).
			 * The box's writes there are lost: said, not silent. */
			if (!ret_error->msg[0])
				err_set(ret_error, EPROTO,
					"cannot receive a read-write directory's changes from the box "
					"(out of file descriptors?): they are lost");
			continue;
		}
		if (fd < 0)
			break;
		struct mnt_entry *m = idx < pl->mp.n ? &pl->mp.e[idx] : NULL;
		struct err e = {{0}};
		if (m && m->overlay && m->host_fd >= 0 &&
		    disk_apply(fd, m->host_fd, m->src, m->size, pl->root,
			       m->idmap ? m->idmap_uid : pl->host_uid,
			       m->idmap ? m->idmap_gid : pl->host_gid, &e) < 0 &&
		    !ret_error->msg[0])
			*ret_error = e;
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

/* The pipes and sockets between the controller and the box. A pipe on
 * stdin is handed to the box directly (no copy), but as a new open file
 * description of it: the box setting O_NONBLOCK on its fd 0 must not change
 * the caller's. Anything else (a tty, a file, a socket the box could write
 * to) goes through the controller's pump (in). */
static int plumbing_open(struct plumbing *io, const struct run_options *o, const struct plan *pl,
			 struct err *e)
{
	bool pump_stdin = true;
	int r;
	/* A warm box's stdin is the request's, not known yet: always pumped. */
	if (!pl->deferred && o->stdin_fd >= 0 && is_pipe(o->stdin_fd)) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", o->stdin_fd);
		io->stdin_direct = open(path, O_RDONLY | O_CLOEXEC);
		pump_stdin = io->stdin_direct < 0;
	}
	if ((r = make_pipe(io->sync, false)) < 0 || (r = make_pipe(io->status, true)) < 0 ||
	    (r = make_pipe(io->errp, true)) < 0 || (r = make_pipe(io->out, true)) < 0 ||
	    (r = make_pipe(io->err, true)) < 0 || (pump_stdin && (r = make_pipe(io->in, false)) < 0) ||
	    (o->channel && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, io->chan) < 0 &&
	     (r = -errno) < 0) ||
	    (pl->n_overlay && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, io->disk) < 0 &&
	     (r = -errno) < 0) ||
	    (pl->deferred && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, io->req) < 0 &&
	     (r = -errno) < 0))
		return err_errno(e, -r, "cannot create pipes");
	if (pump_stdin)
		fcntl(io->in[1], F_SETFL, O_NONBLOCK);
	return 0;
}

/* The broker, when the policy needs one: its socket's box end goes to the
 * box with the plumbing. */
static int open_broker(struct box_run *b, const struct policy *p, const struct run_options *o,
		       struct err *e)
{
	if (!broker_needed(p, o->on_access))
		return 0;
	int r = host_broker_usable(e);
	if (r < 0)
		return r;
	struct broker_config c = {
		.fsuid = b->plan.host_uid, .fsgid = b->plan.host_gid, .mounts = &b->plan.mp,
		.files = p->files, .n_files = p->n_files, .exec = &p->exec, .ask = &p->ask,
		.on_access = o->on_access, .access_ctx = o->access_ctx,
		.ask_fn = o->ask, .ask_ctx = o->ask_ctx,
	};
	r = broker_new(&b->broker, &c, e);
	if (r < 0)
		return r;
	b->io.broker_fd = broker_box_fd(b->broker);
	return 0;
}

/* Clones the box into its namespaces; the child becomes its init
 * (box_init, which never returns here). The controller then drops what the
 * box has its own copies of. */
static int clone_box(struct box_run *b, struct err *e)
{
	struct plan *pl = &b->plan;
	struct plumbing *io = &b->io;
	pid_t pid = b->launcher
			    ? b->launcher->clone(b->launcher->ctx, pl, io, &b->pidfd, e)
			    : ns_clone_box(pl->have_cg && pl->cg.version == 2 ? pl->cg.v2_fd : -1,
					   !(pl->have_cg && pl->cg.version == 1),
					   pl->root && !pl->root_owner, &b->pidfd);
	if (pid < 0 && b->launcher)
		return pid;
	if (pid < 0)
		return err_errno(e, -pid, "cannot create the box's namespaces%s",
				 -pid == EPERM || -pid == ENOSPC
					 ? " (are unprivileged user namespaces disabled? see 'ward doctor')" : "");
	if (pid == 0)
		box_init(pl, io);
	b->start_ns = now_ns();
	b->pid = pid;
	close(io->sync[0]);
	io->sync[0] = -1;
	mnt_close_trees(&pl->mp); /* the box has its own copies */
	if (io->disk[1] >= 0) {
		close(io->disk[1]);
		io->disk[1] = -1;
	}
	if (io->stdin_direct >= 0) {
		close(io->stdin_direct); /* the box has its own */
		io->stdin_direct = -1;
	}
	/* The box joins its v1 cgroups itself: the controller's copies of
	 * the `tasks` files go. */
	if (pl->have_cg)
		cgroup_close_tasks(&pl->cg);
	return 0;
}

static int start_broker(struct box_run *b, struct err *e)
{
	if (!b->broker)
		return 0;
	int r = broker_start(b->broker, e);
	if (r >= 0)
		b->io.broker_fd = -1; /* the broker closed the box's end on our side */
	return r;
}

/* A box that was cloned but will not be let go. */
/* Waits until the box's init is gone: reaped here, or for a box a zygote
 * cloned (its parent, which reaps it), seen exit through the pidfd. */
static void await_init(const struct box_run *b, int *status, struct rusage *ru)
{
	if (b->launcher) {
		struct pollfd pf = {b->pidfd, POLLIN, 0};
		while (poll(&pf, 1, -1) < 0 && errno == EINTR)
			;
		return;
	}
	while (wait4(b->pid, status, __WALL, ru) < 0 && errno == EINTR)
		;
}

static void kill_unstarted(struct box_run *b)
{
	syscall(SYS_pidfd_send_signal, b->pidfd, SIGKILL, NULL, 0);
	await_init(b, NULL, NULL);
	close(b->pidfd);
	b->pidfd = -1;
}

/* Go: the box builds itself and starts the program. sync[1] stays open
 * until the run ends: init's check that the controller lives (box_init).
 * The box's ends of the other pipes go. */
static void let_go(struct box_run *b)
{
	struct plumbing *io = &b->io;
	(void)write_all(io->sync[1], "x", 1);
	b->running = true;
	int *box_ends[] = {&io->status[1], &io->errp[1], &io->out[1], &io->err[1],
			   &io->in[0], &io->chan[1], &io->req[1]};
	for (size_t i = 0; i < ELEMENTSOF(box_ends); i++)
		if (*box_ends[i] >= 0) {
			close(*box_ends[i]);
			*box_ends[i] = -1;
		}
}

/* The box's id maps. A box a zygote cloned is not our child: it could die
 * and its pid be reused before we write, so the writes go through its
 * /proc directory, opened while its pidfd says it still runs (the
 * directory then stays that process's, dead or not). */
static int write_id_maps(struct box_run *b, struct err *e)
{
	const struct plan *pl = &b->plan;
	if (!b->launcher)
		return ns_write_id_maps(-1, b->pid, pl->host_uid, pl->host_gid, pl->root, e);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", (int)b->pid);
	_cleanup_close_ int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct pollfd alive = {b->pidfd, POLLIN, 0};
	if (dir < 0 || poll(&alive, 1, 0) != 0)
		return err_set(e, ESRCH, "the box exited before its id maps were written");
	return ns_write_id_maps(dir, b->pid, pl->host_uid, pl->host_gid, pl->root, e);
}

/* The box, from clone to go, with SIGPIPE held off (pipe_guard_begin):
 * clone, its id maps, the broker's thread, go. On failure the box is
 * killed and reaped before it ran anything of the caller's. */
static int box_spawn(struct box_run *b, struct err *e)
{
	sigset_t old_mask;
	int r;
	pipe_guard_begin(&old_mask);
	if ((r = clone_box(b, e)) >= 0 &&
	    ((r = write_id_maps(b, e)) < 0 ||
	     (r = start_broker(b, e)) < 0))
		kill_unstarted(b);
	if (r >= 0)
		let_go(b);
	pipe_guard_end(&old_mask);
	return r;
}

/* Stops the broker's thread and copies its refusals into the result. */
static void broker_result(struct broker *br, struct run_result *ret)
{
	broker_stop(br);
	const struct denial *d = broker_denials(br, &ret->n_denials, &ret->denials_dropped);
	memcpy(ret->denials, d, sizeof(*d) * ret->n_denials);
	ret->layers |= LAYER_BROKER;
}

/* The result, assembled in one place from what each stage returned: the
 * plan's notes, box_start's setup error, and once the run is over (end
 * non-NULL) the reaping, the cgroup's usage, the box's own report or the
 * supervisor's verdict, and the disk layer's first failure. (The broker's
 * denials are its own: broker_result.) */
static void result_assemble(struct box_run *b, const struct ending *end)
{
	struct run_result *ret = b->ret;
	const struct plan *pl = &b->plan;
	const struct supervisor *s = &b->s;

	*ret = (struct run_result){.status = STATUS_SETUP_ERROR, .exit_code = -1};
	for (int i = 0; i < _LIMIT_MAX; i++) {
		ret->limits[i] = pl->lim.v[i];
		ret->limit_source[i] = b->notes.limit_source[i];
	}
	snprintf(ret->notice, sizeof(ret->notice), "%s", b->notes.notice);
	snprintf(ret->exposed_cwd, sizeof(ret->exposed_cwd), "%s", b->notes.exposed_cwd);
	if (pl->have_cg)
		ret->layers |= pl->cg.version == 2 ? LAYER_CGROUP_V2 : LAYER_CGROUP_V1;
	ret->error = b->setup_error;
	if (!end)
		return;

	const struct rusage *ru = &end->ru;
	ret->wall_time_s = (double)(end->end_ns - b->start_ns) / 1e9;
	ret->cpu_time_s = (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
			  (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
	ret->peak_memory_bytes = (uint64_t)ru->ru_maxrss * 1024;
	/* Without a memory cgroup, init's count (anonymous, shared, page
	 * tables) is the better peak: ru_maxrss includes file pages. */
	if (s->sampled_peak)
		ret->peak_memory_bytes = s->sampled_peak;
	if (end->cu.have_peak)
		ret->peak_memory_bytes = end->cu.peak_memory;
	ret->output_bytes = s->output_total;
	ret->layers |= LAYER_USERNS | LAYER_MNTNS | LAYER_PIDNS | LAYER_NETNS |
		       LAYER_IPCNS | LAYER_UTSNS | LAYER_CGROUPNS;
	ret->landlock_abi = pl->landlock_abi;
	if (s->cerr_len >= sizeof(int)) {
		/* The box could not be built, or the program not started. */
		ret->not_found = s->cerr.code == EXIT_NOT_FOUND;
		ret->not_executable = s->cerr.code == EXIT_NOT_EXECUTABLE;
		snprintf(ret->error.msg, sizeof(ret->error.msg), "%.*s",
			 (int)sizeof(s->cerr.msg) - 1, s->cerr.msg);
	} else if (!s->have_prog_status && !s->killed && end->cu.oom_kills == 0) {
		/* (A memory cgroup's OOM killer may pick init itself when the
		 * program's memory is not in its resident set, e.g. in socket
		 * buffers: that is a memory-limit, attributed below.) */
		snprintf(ret->error.msg, sizeof(ret->error.msg),
			 "the box exited before starting the program (status %d)", end->init_status);
	} else {
		ret->layers |= LAYER_PIVOT_ROOT | LAYER_NO_NEW_PRIVS | LAYER_CAPS_DROPPED |
			       LAYER_SECCOMP | LAYER_LANDLOCK | LAYER_RLIMITS | LAYER_SETSID;
		struct verdict v = attribute(s, end->init_status, &end->cu, ret->cpu_time_s);
		ret->status = v.status;
		ret->exit_code = v.exit_code;
		ret->signal = v.signal;
		ret->evidence = v.evidence;
		if (v.status == STATUS_IO_ERROR)
			ret->error = v.error;
		if (v.notice)
			snprintf(ret->notice, sizeof(ret->notice), "%s", v.notice);
	}
	if (end->disk_error.msg[0]) {
		snprintf(ret->disk_error, sizeof(ret->disk_error), "%s", end->disk_error.msg);
		/* The program's own outcome becomes an io-error: the run's
		 * output (to the directory) is incomplete, and a caller checking
		 * only the exit status must see it. A limit's status stays (it
		 * is not 0 either). */
		if (ret->status == STATUS_EXITED || ret->status == STATUS_SIGNALED) {
			ret->status = STATUS_IO_ERROR;
			snprintf(ret->error.msg, sizeof(ret->error.msg), "%s", end->disk_error.msg);
		} else {
			snprintf(ret->notice, sizeof(ret->notice), "%s", end->disk_error.msg);
		}
	}
}

/* Frees what the run holds; the run itself is freed by the caller. */
static void box_release(struct box_run *b)
{
	if (b->pidfd >= 0)
		close(b->pidfd);
	b->pidfd = -1;
	if (b->s.in_dst >= 0)
		close(b->s.in_dst);
	b->s.in_dst = -1;
	channel_close(&b->s.ch);
	plumbing_close(&b->io);
	plan_free(&b->plan);
	broker_free(b->broker);
	b->broker = NULL;
}

/* box_start could not start the box: the run is done at once, with the
 * setup error in its result. */
static void box_abandon(struct box_run *b, int r)
{
	if (r == -ENOMEM && !b->setup_error.msg[0])
		err_set(&b->setup_error, ENOMEM, "out of memory");
	result_assemble(b, NULL);
	box_release(b);
	b->done = true;
}

/* A new run, mapped, not calloc'd: the stdin pump's 64 KiB buffer is part
 * of it, and only the pages written are faulted in (a first write to a
 * page costs 14 µs here, bench/README.md); the memory is zero. NULL when
 * out of memory. */
static struct box_run *run_new(const struct policy *p, char *const argv[],
			       const struct run_options *o, struct run_result *ret)
{
	struct box_run *b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED)
		return NULL;
	bool root = geteuid() == 0;
	b->o = *o;
	b->ret = ret;
	b->pidfd = -1;
	/* The box runs as an unprivileged host uid: as root, nobody (never
	 * host root); otherwise the caller itself. */
	b->plan = (struct plan){
		.argv = argv,
		.hostname = p->hostname ? p->hostname : "ward",
		.net = p->net,
		.root = root,
		.host_uid = root ? NOBODY_UID : geteuid(),
		.host_gid = root ? NOBODY_GID : getegid(),
		.deferred = !argv,
	};
	b->io = (struct plumbing){
		.sync = {-1, -1}, .status = {-1, -1}, .errp = {-1, -1}, .out = {-1, -1},
		.err = {-1, -1}, .in = {-1, -1}, .chan = {-1, -1}, .disk = {-1, -1},
		.req = {-1, -1}, .stdin_direct = -1, .broker_fd = -1,
	};
	b->s.in_dst = -1; /* (the rest of the supervisor is zero already) */
	b->s.ch.fd = -1;
	return b;
}

/* The launch sequence, one step per line: the plan, the plumbing, the box
 * (clone ... go). */
static int box_launch(struct box_run *b, const struct policy *p, const struct run_options *o)
{
	struct plan *pl = &b->plan;
	struct err *e = &b->setup_error;
	int r;
	if ((r = plan_limits(pl, &b->notes, p)) < 0 ||
	    (r = plan_cgroup(pl, &b->notes, p, o, e)) < 0 ||
	    (r = plan_filesystem(pl, &b->notes, p, o, e)) < 0 ||
	    (r = plan_host(pl, &b->notes)) < 0 ||
	    (r = mnt_prepare_writable(&pl->mp, pl->root, pl->host_uid, pl->host_gid, e)) < 0 ||
	    (r = plan_environment(pl, p, o)) < 0 ||
	    (r = plan_exec(pl, p, e)) < 0 ||
	    (r = open_broker(b, p, o, e)) < 0 ||
	    (r = plan_landlock(pl, e)) < 0 ||
	    (r = plumbing_open(&b->io, o, pl, e)) < 0 ||
	    (r = box_spawn(b, e)) < 0)
		return r;
	return 0;
}

int box_start(const struct policy *p, char *const argv[],
	      const struct run_options *o, struct run_result *ret,
	      struct box_run **ret_run)
{
	if (!p || !argv || !argv[0] || !argv[0][0] || !o || !ret || !ret_run)
		return -EINVAL;
	struct box_run *b = run_new(p, argv, o, ret);
	if (!b)
		return -ENOMEM;
	int r = box_launch(b, p, o);
	if (r < 0)
		box_abandon(b, r);
	else
		supervise_begin(&b->s, &b->io, &b->plan, o, b->pidfd, b->start_ns);
	if (!b->done)
		result_assemble(b, NULL);
	*ret_run = b;
	return 0;
}

/* ---- warm boxes (pool.c) ---- */

int box_prepare(const struct policy *p, const struct run_options *o,
		struct run_result *ret, struct box_run **ret_run)
{
	return box_prepare_with(p, o, NULL, ret, ret_run);
}

int box_prepare_with(const struct policy *p, const struct run_options *o,
		     const struct launcher *l, struct run_result *ret, struct box_run **ret_run)
{
	if (!p || !o || !ret || !ret_run)
		return -EINVAL;
	struct box_run *b = run_new(p, NULL, o, ret);
	if (!b)
		return -ENOMEM;
	b->launcher = l;
	int r = box_launch(b, p, o);
	if (r < 0)
		box_abandon(b, r);
	*ret_run = b;
	return 0;
}

int box_ready_fd(const struct box_run *b)
{
	return b->done || b->requested ? -1 : b->io.req[0];
}

/* The box failed before it was ready: kill and reap what is left, and the
 * run is done with the setup error in its result. */
static void prepare_failed(struct box_run *b, const struct err *why)
{
	b->setup_error = *why;
	kill_unstarted(b);
	b->running = false;
	result_assemble(b, NULL);
	box_release(b);
	b->done = true;
}

int box_ready(struct box_run *b, int timeout_ms)
{
	if (b->done)
		return -EIO;
	if (b->requested)
		return -EINVAL;
	struct pollfd pf[] = {{b->io.req[0], POLLIN, 0}, {b->io.errp[0], POLLIN, 0}};
	int n = poll(pf, ELEMENTSOF(pf), timeout_ms);
	if (n == 0 || (n < 0 && errno == EINTR))
		return 0;
	struct err e = {{0}};
	char c = 0;
	if (pf[0].revents & POLLIN && read(b->io.req[0], &c, 1) == 1 && c == 'r')
		return 1;
	struct child_error ce = {0};
	if (read(b->io.errp[0], &ce, sizeof(ce)) >= (ssize_t)sizeof(int))
		snprintf(e.msg, sizeof(e.msg), "%.*s", (int)sizeof(ce.msg) - 1, ce.msg);
	else
		err_set(&e, EIO, "the box exited while it was being prepared");
	prepare_failed(b, &e);
	return -EIO;
}

int box_await_ready(struct box_run *b, int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		uint64_t now = now_ns();
		int left = now < deadline ? (int)((deadline - now) / 1000000ull) + 1 : 0;
		int r = box_ready(b, left < 1000 ? left : 1000);
		if (r != 0)
			return r;
		if (now_ns() >= deadline) {
			struct err e;
			err_set(&e, ETIMEDOUT, "the box was not ready after %d s", timeout_ms / 1000);
			prepare_failed(b, &e);
			return -ETIMEDOUT;
		}
	}
}

/* Hands the request's memfd to the box's program process. */
static int send_request(int sock, int fd)
{
	return fdpass_send(sock, "q", 1, &fd, 1);
}

int box_request(struct box_run *b, int req_fd, const struct run_options *o,
		struct run_result *ret)
{
	if (!b || req_fd < 0 || !o || !ret || b->done || b->requested || !b->plan.deferred)
		return -EINVAL;
	int r = send_request(b->io.req[0], req_fd);
	if (r < 0)
		return r;
	close(b->io.req[0]);
	b->io.req[0] = -1;
	b->requested = true;
	b->ret = ret;
	b->o.stdin_fd = o->stdin_fd;
	b->o.stdout_fd = o->stdout_fd;
	b->o.stderr_fd = o->stderr_fd;
	b->o.cancel = o->cancel;
	b->start_ns = now_ns();
	supervise_begin(&b->s, &b->io, &b->plan, &b->o, b->pidfd, b->start_ns);
	result_assemble(b, NULL);
	return 0;
}

void box_discard(struct box_run *b)
{
	if (!b)
		return;
	if (b->running && !b->done) {
		kill_unstarted(b);
		box_release(b);
	}
	munmap(b, sizeof(*b));
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

/* Reaps init. Its exit tears the box's namespaces down (the mount
 * namespace waits for an RCU grace period, ~0.5 ms here); a caller that
 * is about to exit anyway may leave that to the kernel, unless a cgroup
 * must be removed afterwards. Box code cannot run any more: init killed
 * everything before it reported. */
static void reap_box(struct box_run *b, struct ending *end)
{
	const struct supervisor *s = &b->s;
	end->reaped = true;
	if (b->o.reap_lazily && s->have_prog_status && !b->plan.have_cg && !b->plan.n_overlay) {
		siginfo_t si = {0};
		end->reaped = waitid(P_PIDFD, (id_t)b->pidfd, &si, WEXITED | WNOHANG | __WALL) == 0 &&
			      si.si_pid != 0;
	} else {
		await_init(b, &end->init_status, &end->ru);
	}
	if (s->have_prog_status || !end->reaped)
		end->ru = s->prog_ru;
	end->end_ns = now_ns();
}

void box_finish(struct box_run *b)
{
	if (!b)
		return;
	if (!b->running) {
		munmap(b, sizeof(*b));
		return;
	}
	/* Serve the box to its end, with SIGPIPE blocked once for all the
	 * steps (three system calls fewer per host-function call). */
	sigset_t old_mask;
	pipe_guard_begin(&old_mask);
	while (!step(b, -1))
		;
	pipe_guard_end(&old_mask);

	struct ending end = {0};
	reap_box(b, &end);
	if (b->plan.have_cg)
		cgroup_read_usage(&b->plan.cg, &end.cu);
	/* Every process of the box is gone (init is reaped, and the kernel
	 * reaps a pid namespace before its init): the upper layers are still. */
	if (b->plan.n_overlay && end.reaped)
		apply_upper_layers(&b->plan, b->io.disk[0], &end.disk_error);
	result_assemble(b, &end);
	if (b->broker)
		broker_result(b->broker, b->ret);
	box_release(b);
	munmap(b, sizeof(*b));
}

struct box_run *box_finish_early(struct box_run *b)
{
	if (!b || !b->running) {
		box_finish(b);
		return NULL;
	}
	sigset_t old_mask;
	pipe_guard_begin(&old_mask);
	while (!step(b, -1))
		;
	pipe_guard_end(&old_mask);
	/* Without init's report (killed, failed) or with upper layers to
	 * apply, the whole ending is needed first. */
	if (!b->s.have_prog_status || b->plan.n_overlay) {
		box_finish(b);
		return NULL;
	}
	/* init reported after it had killed and reaped every other process
	 * of the box, and then exits: no box code runs any more. */
	struct ending end = {.reaped = true, .ru = b->s.prog_ru, .end_ns = now_ns()};
	if (b->plan.have_cg)
		cgroup_read_usage(&b->plan.cg, &end.cu);
	result_assemble(b, &end);
	if (b->broker)
		broker_result(b->broker, b->ret);
	b->ret = NULL;
	return b;
}

int box_bury_fd(const struct box_run *b)
{
	return b->pidfd;
}

void box_bury(struct box_run *b)
{
	if (!b)
		return;
	await_init(b, NULL, NULL);
	box_release(b);
	munmap(b, sizeof(*b));
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
