/* supervise.c — the controller while the box runs: pumps the streams,
 * serves the channel, enforces the wall-clock and output limits, and
 * decides how the run ended (attribute). */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "launch.h"

#define CHANNEL_SPIN_NS 50000u
#define CHANNEL_SPIN_SKIP 8u

/* ---- the controller ------------------------------------------------ */



void kill_box(struct supervisor *s)
{
	if (!s->killed)
		syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
	s->killed = true;
}

/* The box's output cannot be delivered, or the caller's stdin cannot be
 * read: the run ends (as io-error), since going on would lose data
 * without a word. The other stream is still drained and delivered. */
static void io_failed(struct supervisor *s, const char *stream, int errnum)
{
	if (!s->io_errno) {
		s->io_stream = stream;
		s->io_errno = errnum ? errnum : EIO;
	}
	kill_box(s);
}

static void stream_read(struct supervisor *s, struct stream *st)
{
	ssize_t n = read(st->src, st->buf, sizeof(st->buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(st->src);
		st->src = -1;
		return;
	}
	uint64_t lim = s->lim->v[LIMIT_OUTPUT];
	if (lim && s->output_total + (uint64_t)n > lim) {
		/* Pass exactly up to the limit, then stop the box. */
		n = (ssize_t)(lim - s->output_total);
		s->output_hit = true;
		kill_box(s);
	}
	s->output_total += (uint64_t)n;
	st->len = (size_t)n;
	st->off = 0;
	if (st->dst_dead)
		st->len = 0;
}

static void stream_write(struct supervisor *s, struct stream *st, const char *name)
{
	ssize_t n = write(st->dst, st->buf + st->off, st->len - st->off);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		/* A full disk, an I/O error, a closed or read-only fd, a reader
		 * that went away (EPIPE): what the box writes from here on is
		 * lost, so the run ends and says so. */
		io_failed(s, name, errno);
		st->dst_dead = true;
		st->len = st->off = 0;
		if (st->src >= 0) {
			close(st->src);
			st->src = -1;
		}
		return;
	}
	st->off += (size_t)n;
	if (st->off == st->len)
		st->len = st->off = 0;
}

static void read_pipe_record(int *fd, void *buf, size_t cap, size_t *len)
{
	ssize_t n = read(*fd, (char *)buf + *len, cap - *len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	*len += (size_t)n;
}


/* The fds the controller waits on right now. */
nfds_t supervise_fds(const struct supervisor *s, struct pollfd pf[9],
			    struct poll_index *ix)
{
	nfds_t n = 0;
	*ix = (struct poll_index){-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
	if (s->out.len)
		pf[ix->outw = n++] = (struct pollfd){s->out.dst, POLLOUT, 0};
	else if (s->out.src >= 0)
		pf[ix->out = n++] = (struct pollfd){s->out.src, POLLIN, 0};
	if (s->err.len)
		pf[ix->errw = n++] = (struct pollfd){s->err.dst, POLLOUT, 0};
	else if (s->err.src >= 0)
		pf[ix->err = n++] = (struct pollfd){s->err.src, POLLIN, 0};
	if (s->in_dst >= 0) {
		if (s->in_len)
			pf[ix->inw = n++] = (struct pollfd){s->in_dst, POLLOUT, 0};
		else if (s->in_src >= 0)
			pf[ix->in = n++] = (struct pollfd){s->in_src, POLLIN, 0};
	}
	if (!s->init_done)
		pf[ix->pid = n++] = (struct pollfd){s->pidfd, POLLIN, 0};
	if (s->status_fd >= 0)
		pf[ix->status = n++] = (struct pollfd){s->status_fd, POLLIN, 0};
	if (s->err_fd >= 0)
		pf[ix->cerr = n++] = (struct pollfd){s->err_fd, POLLIN, 0};
	if (channel_events(&s->ch))
		pf[ix->chan = n++] = (struct pollfd){s->ch.fd, channel_events(&s->ch), 0};
	return n;
}

/* A box whose process creation fails at the pids cgroup's limit
 * (pids.events `max` rising) in every one of PIDS_FAILING_LOOKS looks a
 * second apart is a fork bomb retrying forever: it ends as procs-limit.
 * Being at or near the limit is not enough: only failed forks count, and
 * only a cgroup sees them (without one, nothing ends a run for its
 * processes; ward(1) LIMITS). */
#define PIDS_FAILING_LOOKS 3
static void watch_pids(struct supervisor *s, uint64_t now)
{
	uint64_t n = 0;
	s->pids_next_ns = now + 1000000000ULL;
	if (!cgroup_read_pids_events(s->cg, &n))
		return;
	s->pids_rising = n > s->pids_events ? s->pids_rising + 1 : 0;
	s->pids_events = n;
	if (s->pids_rising >= PIDS_FAILING_LOOKS) {
		s->procs_failing = true;
		kill_box(s);
	}
}

void supervise_begin(struct supervisor *s, struct plumbing *io, const struct plan *pl,
		     const struct run_options *o, int pidfd, uint64_t start_ns)
{
	/* s is zero (box_start maps the run): only the fields that are not
	 * are set, so that the buffers' pages are faulted in only when used
	 * (an initialiser of the whole struct wrote all 19 of them). */
	s->lim = &pl->lim;
	s->cg = pl->have_cg ? &pl->cg : NULL;
	s->cancel = o->cancel;
	s->pidfd = pidfd;
	s->start_ns = start_ns;
	s->in_src = s->in_dst = -1;
	s->out.src = TAKE_FD(io->out[0]);
	s->out.dst = o->stdout_fd;
	s->err.src = TAKE_FD(io->err[0]);
	s->err.dst = o->stderr_fd;
	s->status_fd = TAKE_FD(io->status[0]);
	s->err_fd = TAKE_FD(io->errp[0]);
	/* The stdin pump, unless the caller's pipe went to the box as is. */
	if (io->in[1] >= 0) {
		s->in_dst = TAKE_FD(io->in[1]);
		s->in_src = o->stdin_fd;
		if (s->in_src < 0) { /* no stdin: the box reads EOF */
			close(s->in_dst);
			s->in_dst = -1;
		}
	}
	s->ch.fd = -1;
	if (o->channel) {
		fcntl(io->chan[0], F_SETFL, O_NONBLOCK);
		channel_init(&s->ch, TAKE_FD(io->chan[0]), o->channel);
	}
	if (pl->lim.v[LIMIT_WALL_TIME])
		s->deadline_ns = start_ns + pl->lim.v[LIMIT_WALL_TIME] * 1000000ull;
	if (pl->lim.procs_by_cgroup)
		s->pids_next_ns = start_ns + 1000000000ull;
}

/* Done when the box is gone and its output fully drained. */
bool supervise_done(const struct supervisor *s)
{
	return (s->init_done || s->have_prog_status) && s->out.src < 0 &&
	       s->err.src < 0 && !s->out.len && !s->err.len && s->status_fd < 0 &&
	       s->err_fd < 0;
}

/* The clocks: the wall-time deadline (true once it passed: the box is
 * killed), the pids cgroup's next look, the caller's cancel flag. Lowers
 * *timeout to the next of them. */
static bool watch_clocks(struct supervisor *s, int *timeout)
{
	if (s->deadline_ns && !s->killed) {
		uint64_t now = now_ns();
		if (now >= s->deadline_ns) {
			s->timed_out = true;
			kill_box(s);
			return true;
		}
		int left = (int)((s->deadline_ns - now + 999999) / 1000000);
		if (*timeout < 0 || left < *timeout)
			*timeout = left;
	}
	if (s->pids_next_ns && !s->killed) {
		uint64_t now = now_ns();
		if (now >= s->pids_next_ns)
			watch_pids(s, now);
		int left = (int)((s->pids_next_ns - now + 999999) / 1000000);
		if (!s->killed && (*timeout < 0 || left < *timeout))
			*timeout = left;
	}
	if (s->cancel && *s->cancel && !s->killed) {
		s->cancelled = true;
		kill_box(s);
	}
	return false;
}

/* poll(), but first a short spin while host functions are being called. */
static int wait_events(struct supervisor *s, struct pollfd *pf, nfds_t n, int max_wait_ms,
		       int timeout)
{
	/* While the box is calling host functions, its next request usually
	 * comes within tens of microseconds: wait for it awake for a moment.
	 * Waking a vCPU that went idle costs about as much again here (see
	 * bench/README.md, "Mechanism costs"), which would double a call's round trip. Only when the
	 * caller lets this step wait at all, and adaptively: when a spin
	 * comes up empty (the CPUs are busy, or the box is thinking), do not
	 * spin for the next CHANNEL_SPIN_SKIP turns, so a loaded machine does
	 * not lose a CPU to it. */
	int r = 0;
	if (max_wait_ms != 0 && s->ch.fd >= 0 && now_ns() - s->chan_active_ns < CHANNEL_SPIN_NS) {
		if (s->spin_skip) {
			s->spin_skip--;
		} else {
			while ((r = poll(pf, n, 0)) == 0 && now_ns() - s->chan_active_ns < CHANNEL_SPIN_NS)
				;
			if (r == 0)
				s->spin_skip = CHANNEL_SPIN_SKIP;
		}
	}
	if (r == 0)
		r = poll(pf, n, timeout);
	return r;
}

/* The caller's stdin, read into the pump's buffer. */
static void stdin_read(struct supervisor *s)
{
	ssize_t k = read(s->in_src, s->inbuf, sizeof(s->inbuf));
	if (k > 0) {
		s->in_len = (size_t)k;
		s->in_off = 0;
	} else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
		/* A read error is not an end of input: the box would take
		 * what it got for all of it. */
		if (k < 0)
			io_failed(s, "stdin", errno);
		s->in_src = -1; /* the caller's fd is not ours to close */
		close(s->in_dst);
		s->in_dst = -1;
	}
}

/* The pump's buffer, written to the box's stdin. */
static void stdin_write(struct supervisor *s)
{
	ssize_t k = write(s->in_dst, s->inbuf + s->in_off, s->in_len - s->in_off);
	if (k > 0) {
		s->in_off += (size_t)k;
		if (s->in_off == s->in_len)
			s->in_len = s->in_off = 0;
	} else if (k < 0 && errno != EINTR && errno != EAGAIN) {
		/* The box closed its stdin. */
		close(s->in_dst);
		s->in_dst = -1;
		s->in_len = 0;
	}
}

/* Init's exit_record: how the program ended, and init's evidence. */
static void read_exit_record(struct supervisor *s)
{
	struct exit_record rec;
	ssize_t k = read(s->status_fd, &rec, sizeof(rec));
	if (k == (ssize_t)sizeof(rec)) {
		s->prog_status = rec.status;
		s->prog_ru = rec.ru;
		s->memory_exceeded = rec.memory_exceeded;
		s->procs_at_limit = rec.procs_at_limit;
		s->data_near_limit = rec.data_near_limit;
		s->sampled_peak = rec.peak_memory;
		s->have_prog_status = true;
	}
	close(s->status_fd);
	s->status_fd = -1;
}

static void serve_channel(struct supervisor *s, short revents)
{
	channel_handle(&s->ch, revents);
	s->chan_active_ns = now_ns();
	if (s->ch.violation && !s->violation) {
		s->violation = true;
		kill_box(s);
	}
}

/* Init is gone, and the pid namespace with it: nothing can write to the
 * pipes any more, so the drain ends. */
static void init_gone(struct supervisor *s)
{
	s->init_done = true;
	if (s->in_dst >= 0) {
		close(s->in_dst);
		s->in_dst = -1;
	}
	channel_close(&s->ch);
}

/* One turn of the controller's event loop: waits at most max_wait_ms
 * (-1 = no bound but the deadline) and handles what is ready. Returns 1
 * once the run is over. */
int supervise_once(struct supervisor *s, int max_wait_ms)
{
	struct pollfd pf[9];
	struct poll_index ix;
	nfds_t n = supervise_fds(s, pf, &ix);
	int timeout = max_wait_ms;

	if (supervise_done(s))
		return 1;
	if (watch_clocks(s, &timeout))
		return 0;
	int r = wait_events(s, pf, n, max_wait_ms, timeout);
	if (r < 0) {
		if (errno == EINTR)
			return 0;
		kill_box(s);
		return 1;
	}
#define READY(i) ((i) >= 0 && pf[(i)].revents)
	if (READY(ix.out))
		stream_read(s, &s->out);
	if (READY(ix.err))
		stream_read(s, &s->err);
	if (READY(ix.outw))
		stream_write(s, &s->out, "stdout");
	if (READY(ix.errw))
		stream_write(s, &s->err, "stderr");
	if (READY(ix.in))
		stdin_read(s);
	if (READY(ix.inw))
		stdin_write(s);
	if (READY(ix.status))
		read_exit_record(s);
	if (READY(ix.cerr))
		read_pipe_record(&s->err_fd, &s->cerr, sizeof(s->cerr), &s->cerr_len);
	if (READY(ix.chan))
		serve_channel(s, pf[ix.chan].revents);
	if (READY(ix.pid))
		init_gone(s);
#undef READY
	return 0;
}

static int signal_by_status(int st)
{
	return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

/* Decides how the run ended. Controller-enforced limits first (they are
 * certain), then the kernel's own evidence (cgroup events, the signal the
 * rlimit sends), then the plain outcome. */
struct verdict attribute(const struct supervisor *s, int init_status,
			 const struct cgroup_usage *cu, double cpu_time_s)
{
	struct verdict v = {.evidence = NULL};
	struct verdict *r = &v;
	const struct box_limits *l = s->lim;
	int st = s->have_prog_status ? s->prog_status : init_status;
	int sig = signal_by_status(st);

	/* A shell reports a child killed by signal N as exit status 128+N:
	 * the limit's signal reaching the program that way counts too. */
	int via_shell = WIFEXITED(st) && WEXITSTATUS(st) > 128 ? WEXITSTATUS(st) - 128 : 0;

	/* The program failed by itself: it exited non-zero or was killed,
	 * and not by the controller (time, output, cancel...). */
	bool failed = !s->killed && !(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	r->signal = sig;
	r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (s->io_errno) {
		/* First: whatever else happened, the output is incomplete. */
		r->status = STATUS_IO_ERROR;
		if (!strcmp(s->io_stream, "stdin"))
			err_errno(&r->error, s->io_errno, "cannot read the box's stdin from the caller");
		else
			err_errno(&r->error, s->io_errno, "cannot deliver the box's %s", s->io_stream);
	} else if (s->violation)
		r->status = STATUS_VIOLATION;
	else if (s->output_hit)
		r->status = STATUS_OUTPUT_LIMIT;
	else if (s->timed_out)
		r->status = STATUS_TIME_LIMIT;
	else if (cu->oom_kills > 0 || s->memory_exceeded) {
		r->status = STATUS_MEMORY_LIMIT;
		r->evidence = cu->oom_kills > 0 ? "oom-kill" : "count";
	}
	else if (sig == SIGXCPU ||
		 /* relayed by a shell: only when the box did use a good part
		  * of the limit, so a plain `exit 152` is not taken for a
		  * cpu-limit. Half, not all: RLIMIT_CPU fires on the
		  * scheduler's runtime, while rusage samples ticks, and on a
		  * loaded host rusage showed 0.83 s when a 1 s RLIMIT_CPU
		  * had fired. */
		 (via_shell == SIGXCPU && l->v[LIMIT_CPU_TIME] &&
		  cpu_time_s * 1000 >= 0.5 * (double)l->v[LIMIT_CPU_TIME]) ||
		 (sig == SIGKILL && l->v[LIMIT_CPU_TIME] &&
		  cpu_time_s * 1000 >= (double)l->v[LIMIT_CPU_TIME]))
		r->status = STATUS_CPU_LIMIT;
	else if (sig == SIGXFSZ || (via_shell == SIGXFSZ && l->v[LIMIT_FILE_SIZE]))
		r->status = STATUS_FILE_SIZE_LIMIT;
	/* The weaker evidence: the program failed after an rlimit or the
	 * pids cgroup refused it something (ward(1) LIMITS). */
	else if (s->procs_failing || (failed && cu->pids_max_events > 0)) {
		r->status = STATUS_PROCS_LIMIT;
		r->evidence = "pids-max";
	} else if (failed && s->data_near_limit && !l->memory_by_cgroup) {
		r->status = STATUS_MEMORY_LIMIT;
		r->evidence = "rlimit";
	} else if (failed && s->procs_at_limit && !l->procs_by_cgroup) {
		r->status = STATUS_PROCS_LIMIT;
		r->evidence = "rlimit";
	} else if (sig)
		r->status = STATUS_SIGNALED;
	else
		r->status = STATUS_EXITED;
	if (s->cancelled && r->status == STATUS_SIGNALED)
		r->notice = "the run was cancelled";
	if (s->violation)
		r->notice = s->ch.why;
	/* exit_code describes a normal exit only; a limit or signal is the
	 * outcome otherwise. */
	if (r->status != STATUS_EXITED)
		r->exit_code = -1;
	return v;
}

