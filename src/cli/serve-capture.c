/* serve-capture.c — a stage's stdout and stderr, each kept up to its own
 * cap, and Piston's `output`: both streams in the order they arrived.
 *
 * libward copies the box's stdout and stderr (two pipes inside the box,
 * read by its controller) to two fds of the caller. Here those are the
 * write ends of two pipes, and a thread of the stage reads their other
 * ends with poll() as the data comes, appending each chunk to its
 * stream's buffer and to `output`. A box's writes to the two streams go
 * through two pipes, so no reader can order bytes that were written
 * while it was not looking: what is exact is the order in which ward read
 * them. Writes spaced further apart than the readers' wake-up (a program
 * that flushes a line, works, flushes another) come out in the order they
 * were made; bytes of both streams waiting at the same moment come
 * stdout first (libward's controller reads its pipes in that order too).
 * Piston does the same: Node appends each 'data' event of the two pipes
 * as its event loop delivers them. One shared pipe (the box's fd 1 and 2
 * the same, as `2>&1`) would give the exact order but lose which stream
 * a byte came from, which Piston's stdout and stderr need.
 *
 * The caps are per stream: a stream that passes its cap keeps its first
 * cap bytes and is marked cut (OL, EL); the rest is read and dropped, so
 * a flood on stderr never crowds stdout out of `output` (it holds only
 * the kept bytes of each). The box's own end comes from libward's
 * combined output limit, set a byte above the sum of the caps.
 *
 * Every byte read lands in wipe_alloc memory (serve-mem.c): a box's
 * init, a fork of this process, never holds another request's output.
 * The end of the run is told over an eventfd rather than by end-of-file:
 * a copy of a pipe's write end can live on for a moment in another
 * request's fork. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "serve.h"
#include "banned.h"

/* What one read takes: a pipe's default size. */
#define CHUNK 65536

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* One read of stream st (0 stdout, 1 stderr): 1 when bytes came, 0 when
 * none are there now, -1 at its end or on an error. */
static int capture_read(struct capture *c, int st)
{
	struct capture_stream *s = &c->s[st];
	size_t room = s->max - s->len;
	char *to = room ? s->buf + s->len : c->scratch;
	ssize_t n;
	do
		n = read(s->rfd, to, room && room < CHUNK ? room : CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0) {
		if (n < 0 && !c->error)
			c->error = errno;
		return -1;
	}
	if (!room) {
		s->cut = true; /* read and dropped */
		return 1;
	}
	s->len += (size_t)n;
	if (c->both) {
		memcpy(c->both + c->both_len, to, (size_t)n);
		c->both_len += (size_t)n;
	}
	return 1;
}

/* Everything left in the pipes: the run is over, and libward delivered
 * all of it before ward_run returned. */
static void capture_drain(struct capture *c)
{
	for (int st = 0; st < 2; st++)
		while (c->s[st].rfd >= 0 && capture_read(c, st) > 0)
			;
}

static void *capture_main(void *arg)
{
	struct capture *c = arg;
	for (;;) {
		struct pollfd pf[3] = {
			{c->s[0].rfd, POLLIN, 0}, {c->s[1].rfd, POLLIN, 0}, {c->done, POLLIN, 0}};
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			/* Closed, the pipes make libward's next write fail
			 * (the run ends as io-error) rather than wait for
			 * room that would never come. */
			c->error = errno;
			close_fd(&c->s[0].rfd);
			close_fd(&c->s[1].rfd);
			return NULL;
		}
		/* stdout first: ties go to it, as in libward's controller */
		for (int st = 0; st < 2; st++)
			if ((pf[st].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    capture_read(c, st) < 0)
				close_fd(&c->s[st].rfd);
		if (pf[2].revents)
			break;
	}
	capture_drain(c);
	return NULL;
}

int capture_start(struct capture *c, size_t out_max, size_t err_max, bool want_both)
{
	*c = (struct capture){.done = -1,
			      .s = {{.rfd = -1, .wfd = -1, .max = out_max},
				    {.rfd = -1, .wfd = -1, .max = err_max}}};
	int r = -ENOMEM;
	for (int st = 0; st < 2; st++) {
		int p[2];
		if (!(c->s[st].buf = wipe_alloc(c->s[st].max + 1)))
			goto fail;
		/* Non-blocking: libward's controller waits for room with poll
		 * and goes on enforcing the box's clock meanwhile. */
		if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
			r = -errno;
			goto fail;
		}
		c->s[st].rfd = p[0];
		c->s[st].wfd = p[1];
	}
	if (!(c->scratch = wipe_alloc(CHUNK)) ||
	    (want_both && !(c->both = wipe_alloc(out_max + err_max + 1))))
		goto fail;
	if ((c->done = eventfd(0, EFD_CLOEXEC)) < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = -pthread_create(&c->thread, NULL, capture_main, c)) < 0)
		goto fail;
	c->running = true;
	return 0;
fail:
	capture_clear(c);
	return r;
}

int capture_finish(struct capture *c)
{
	if (!c->running)
		return -EINVAL;
	uint64_t one = 1;
	(void)!write(c->done, &one, sizeof(one));
	pthread_join(c->thread, NULL);
	c->running = false;
	for (int st = 0; st < 2; st++) {
		close_fd(&c->s[st].rfd);
		close_fd(&c->s[st].wfd);
	}
	close_fd(&c->done);
	return c->error ? -c->error : 0;
}

void capture_clear(struct capture *c)
{
	if (c->running)
		capture_finish(c);
	for (int st = 0; st < 2; st++) {
		close_fd(&c->s[st].rfd);
		close_fd(&c->s[st].wfd);
		wipe_free(c->s[st].buf);
		c->s[st].buf = NULL;
	}
	close_fd(&c->done);
	wipe_free(c->scratch);
	wipe_free(c->both);
	c->scratch = c->both = NULL;
}
