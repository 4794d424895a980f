/* broker/filter.c — the box's side of the broker: in box_exec, right
 * before execve, the notification filter over the allowlist (the calls of
 * calls.h go to the controller, SECCOMP_RET_USER_NOTIF), and its listener
 * passed to the controller over the broker's socket (SCM_RIGHTS), so the
 * box never holds it while untrusted code runs. */
#include <fcntl.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "broker.h"
#include "box.h"
#include "util.h"

int broker_install(int sock, struct err *e)
{
	/* The path-taking calls → USER_NOTIF: tools/gen-filter.c, notify_filter. */
	int lfd = seccomp_apply_notify(e);
	if (lfd < 0)
		return lfd;

	char byte = 'L';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &lfd, sizeof(int));
	ssize_t k = sendmsg(sock, &msg, MSG_NOSIGNAL);
	int er = errno;
	close(lfd);
	close(sock);
	if (k != 1)
		return err_errno(e, er, "cannot pass the broker's listener to the controller");
	return 0;
}
