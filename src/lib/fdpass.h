/* fdpass.h — descriptors passed over a unix socket (SCM_RIGHTS) with a
 * few bytes of data, one message each: the box's request memfd
 * (run.c → init.c), the overlays' upper layers (init.c → run.c), the
 * broker's listener (broker/filter.c → broker/thread.c) and the zygote's
 * spawn messages (zygote.c, both ways).
 *
 * One implementation, so that every receiver makes the same checks: a
 * descriptor it did not ask for is closed at once, never left open in a
 * process a box may be cloned from, or keeping alive what it refers to.
 * Inline in this header on purpose: tools/analyze (gcc -fanalyzer, which
 * does not follow calls across translation units) then sees where each
 * received descriptor goes in every caller. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* The most descriptors one message carries (the zygote's spawn message
 * has 12). */
#define FDPASS_MAX_FDS 16

/* SCM_PIDFD (linux 6.5), which older headers lack. */
#define FDPASS_SCM_PIDFD 0x04

/* Sends len bytes of data (len > 0: an empty message on a SOCK_SEQPACKET
 * socket would read as the end of the stream) and the n_fds descriptors
 * at fds as one message. The descriptors stay the caller's. MSG_NOSIGNAL:
 * a peer that is gone is -EPIPE, not SIGPIPE. Returns 0, -EINVAL, -EIO
 * when the message went out short, or sendmsg's -errno. */
static inline int fdpass_send(int sock, const void *data, size_t len, const int *fds, size_t n_fds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX_FDS)];
		struct cmsghdr align;
	} u;
	if (len == 0 || n_fds > FDPASS_MAX_FDS || (n_fds && !fds))
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	struct iovec iov = {(void *)data, len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (n_fds) {
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		/* CMSG_FIRSTHDR(&msg), which is never NULL here (the room is at
		 * least CMSG_SPACE(sizeof(int))): named directly so that gcc's
		 * analyzer sees no NULL path. */
		struct cmsghdr *c = &u.align;
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	ssize_t n;
	while ((n = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Closes the n descriptors at fds. */
static inline void fdpass_close(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

/* Receives one message of exactly len bytes (len > 0) into data and at
 * most max_fds descriptors into fds, their count in *ret_n_fds; flags are
 * more recvmsg flags (MSG_DONTWAIT). Every descriptor arrives O_CLOEXEC
 * (MSG_CMSG_CLOEXEC: not a moment without it, in which another thread's
 * fork and exec could take it along).
 *
 * Refused, -EPROTO, with every descriptor the message brought closed: a
 * message of another length or cut short (MSG_TRUNC); a control part cut
 * short (MSG_CTRUNC: the kernel dropped descriptors that did not fit); a
 * control message other than SOL_SOCKET/SCM_RIGHTS (none of these sockets
 * asks for credentials); more than max_fds descriptors.
 *
 * Returns 0 (*ret_n_fds written), -EPIPE at the end of the stream (an
 * empty message without descriptors: the peer is gone), -EPROTO, -EINVAL,
 * or recvmsg's -errno (-EAGAIN with MSG_DONTWAIT). The contents of fds
 * are undefined on failure, and none of them is open. */
static inline int fdpass_recv(int sock, int flags, void *data, size_t len, int *fds, size_t max_fds,
			      size_t *ret_n_fds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX_FDS)];
		struct cmsghdr align;
	} u;
	if (len == 0 || max_fds > FDPASS_MAX_FDS || (max_fds && !fds) || !ret_n_fds)
		return -EINVAL;
	struct iovec iov = {data, len};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	while ((n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	size_t got = 0;
	bool bad = false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0)) {
			/* The one other control message that installs a
			 * descriptor (SO_PASSPIDFD, which no ward socket
			 * sets): closed like any refused one. */
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == FDPASS_SCM_PIDFD &&
			    c->cmsg_len == CMSG_LEN(sizeof(int))) {
				int fd;
				memcpy(&fd, CMSG_DATA(c), sizeof(int));
				close(fd);
			}
			bad = true;
			continue;
		}
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < max_fds) {
				fds[got++] = fd;
			} else {
				close(fd);
				bad = true;
			}
		}
	}
	if (bad || (size_t)n != len || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		fdpass_close(fds, got);
		return n == 0 && !got && !bad && !(msg.msg_flags & MSG_CTRUNC) ? -EPIPE : -EPROTO;
	}
	*ret_n_fds = got;
	return 0;
}

/* fdpass_recv of a message that must carry exactly one descriptor:
 * returns it, or fdpass_recv's -errno; a message without one is -EPROTO. */
static inline int fdpass_recv_one(int sock, int flags, void *data, size_t len)
{
	int fd = -1;
	size_t n = 0;
	int r = fdpass_recv(sock, flags, data, len, &fd, 1, &n);
	if (r < 0)
		return r;
	if (n != 1)
		return -EPROTO;
	return fd;
}
