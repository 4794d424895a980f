/* broker/sock.c — connect and bind. Only a unix socket with a path names
 * a file: the broker has read the address once (calls.c), resolves the
 * path in the box and asks, under ask rules. Both are then left to the
 * kernel in the box's own context: a connect made by the broker would
 * carry the controller's credentials to the peer (SO_PEERCRED: ward's pid
 * and, as root, uid 0, which a daemon behind a granted socket could
 * trust), and a bind made here would give the socket a /proc name. Every
 * other address (inet, abstract unix) is the network namespace's and
 * Landlock's business, not a file: left to the kernel as well. A box
 * racing to rewrite its address after the check loses only the audit
 * record: the kernel's own checks still decide. */
#include <fcntl.h>

#include "internal.h"

void broker_on_bind(struct req *q)
{
	char norm[PATH_MAX], last[PATH_MAX];
	if (!q->path[0]) {
		broker_continue(q);
		return;
	}
	q->how = ACCESS_CREATE;
	int pfd = broker_resolve_parent(q, q->dirfd, q->path, norm, sizeof(norm), last, sizeof(last));
	if (pfd == LEAVE_TO_KERNEL) {
		broker_continue(q);
		return;
	}
	int r = pfd < 0 ? pfd : broker_ask_at(q, pfd, last, norm);
	if (r == 0)
		broker_allowed(q, pfd, last, ACCESS_CREATE);
	if (pfd >= 0)
		close(pfd);
	broker_pass(q, norm, r);
}

void broker_on_connect(struct req *q)
{
	char norm[PATH_MAX];
	if (!q->path[0]) {
		broker_continue(q);
		return;
	}
	q->how = ACCESS_WRITE;
	int fd = broker_resolve_asked(q, false, O_PATH, norm, sizeof(norm));
	if (fd == LEAVE_TO_KERNEL)
		return;
	if (fd == -EEXIST && q->is_vfile)
		fd = -ECONNREFUSED;
	/* Connecting needs write permission on the socket file: refuse (and
	 * record) what the kernel would refuse, with the box's fsuid. */
	int r = fd >= 0 ? broker_may_close(q, fd, W_OK, ACCESS_WRITE) : fd;
	broker_pass(q, norm, r);
}
