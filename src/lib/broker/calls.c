/* broker/calls.c — one notification, decoded once: the call's entry in
 * calls[], its arguments by name, the paths (or the socket address) read
 * from the box's memory; then the handler for the call. Box memory is
 * read here and nowhere else, once; after that the pid must still be the
 * caller (and the answer goes by notification id, never by pid). */
#include <fcntl.h>
#include <linux/audit.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "internal.h"
#include "calls.h"

/* The entry for system call nr, or NULL: not the broker's. */
static const struct call *call_find(int nr)
{
	for (size_t i = 0; i < ELEMENTSOF(calls); i++)
		if (calls[i].nr == nr)
			return &calls[i];
	return NULL;
}

/* Reads a NUL-terminated string from the caller's memory, once, a page
 * at a time (the string may end just before an unmapped page). */
static int read_box_string(pid_t pid, uint64_t addr, char *buf, size_t cap)
{
	size_t got = 0;
	if (!addr)
		return -EFAULT;
	while (got < cap) {
		size_t page_left = 4096 - ((addr + got) & 4095);
		size_t want = page_left < cap - got ? page_left : cap - got;
		struct iovec local = {buf + got, want};
		struct iovec remote = {(void *)(uintptr_t)(addr + got), want};
		ssize_t k = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		if (k <= 0)
			return k < 0 && errno != EFAULT ? -errno : -EFAULT;
		char *nul = memchr(buf + got, 0, (size_t)k);
		if (nul)
			return 0;
		got += (size_t)k;
	}
	return -ENAMETOOLONG;
}

/* connect/bind's address (args: the sockaddr, its length): the path of a
 * unix socket into buf, else "" (inet, abstract unix, unreadable: none
 * of them names a file). */
static void read_socket_path(pid_t pid, const __u64 *a, char *buf)
{
	int len = (int)a[2];
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	size_t want = len > 0 && (size_t)len < sizeof(sun) ? (size_t)len : sizeof(sun);
	struct iovec local = {&sun, want};
	struct iovec remote = {(void *)(uintptr_t)a[1], want};
	bool got = len > (int)offsetof(struct sockaddr_un, sun_path) &&
		   process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)want;
	buf[0] = 0;
	if (!got || sun.sun_family != AF_UNIX || !sun.sun_path[0])
		return;
	size_t plen = strnlen(sun.sun_path, want - offsetof(struct sockaddr_un, sun_path));
	memcpy(buf, sun.sun_path, plen);
	buf[plen] = 0;
}

/* The arguments by name, from where calls[] and each call's signature
 * keep them. What a call implies is made explicit: creat's open flags,
 * lstat's AT_SYMLINK_NOFOLLOW, rmdir's AT_REMOVEDIR. */
static void decode_args(struct req *q, const struct call *c, int nr, const __u64 *a)
{
	bool at = c->dir >= 0; /* an *at call: the path follows its dirfd */
	q->dirfd = at ? (int)a[c->dir] : AT_FDCWD;
	q->flags = c->flags >= 0 ? (int)a[c->flags] : 0;
	q->dirfd2 = AT_FDCWD;
	switch (c->op) {
	case OP_OPEN:
		if (nr == __NR_creat)
			q->flags = O_CREAT | O_WRONLY | O_TRUNC;
		q->mode = a[nr == __NR_creat ? 1 : c->flags + 1];
		break;
	case OP_STAT:
		if (nr == __NR_lstat)
			q->flags = AT_SYMLINK_NOFOLLOW;
		q->buf = a[c->path + 1];
		break;
	case OP_STATX:
		q->mask = (unsigned)a[3];
		q->buf = a[4];
		break;
	case OP_ACCESS:
	case OP_MKDIR: q->mode = a[c->path + 1]; break;
	case OP_READLINK:
		q->buf = a[c->path + 1];
		q->size = (int)a[c->path + 2];
		q->readlink = true;
		break;
	case OP_UNLINK:
		if (nr == __NR_rmdir)
			q->flags = AT_REMOVEDIR;
		break;
	/* rename(old, new), renameat(od, old, nd, new[, flags]); link alike */
	case OP_RENAME:
	case OP_LINK: q->dirfd2 = at ? (int)a[2] : AT_FDCWD; break;
	default: break; /* exec: dirfd, path, flags; connect, bind: read_paths */
	}
}

/* The paths: into b->path (and b->path2, the new name of rename and
 * link), or connect/bind's socket path. */
static int read_paths(struct req *q, const struct call *c, const __u64 *a)
{
	struct broker *b = q->b;
	q->path = b->path;
	q->path2 = b->path2;
	if (c->op == OP_CONNECT || c->op == OP_BIND) {
		read_socket_path(q->pid, a, b->path);
		return 0;
	}
	int r = read_box_string(q->pid, a[c->path], b->path, sizeof(b->path));
	if (r == 0 && (c->op == OP_RENAME || c->op == OP_LINK))
		r = read_box_string(q->pid, a[c->dir >= 0 ? 3 : 1], b->path2, sizeof(b->path2));
	return r;
}

/* Fills q from notification n. Returns 0; -ESRCH when the caller is gone
 * (nothing to answer); else the errno to answer with, for a call the
 * broker does not take or a path it cannot read. */
static int decode(struct broker *b, const struct seccomp_notif *n, struct req *q, enum op *op)
{
	const struct call *c = call_find(n->data.nr);
	if (!c || n->data.arch != BROKER_ARCH)
		return -ENOSYS;
	*q = (struct req){.b = b, .id = n->id, .pid = (pid_t)n->pid, .call = c->name,
			  .first = !b->seen_first};
	*op = c->op;
	b->seen_first = true;
	/* openat2's RESOLVE_* flags are relative to the box's dirfd: libcs
	 * and runtimes fall back to openat. */
	if (c->op == OP_OPEN2)
		return -ENOSYS;
	int r = broker_open_root(b, q->pid, n->id);
	if (r < 0)
		return r;
	decode_args(q, c, n->data.nr, n->data.args);
	r = read_paths(q, c, n->data.args);
	if (!broker_id_valid(b, n->id))
		return -ESRCH;
	return r;
}

/* Who answers each call (openat2 never gets here: decode refused it). */
static broker_handler *const handlers[] = {
	[OP_OPEN] = broker_on_open,	    [OP_STAT] = broker_on_stat,
	[OP_STATX] = broker_on_statx,	    [OP_ACCESS] = broker_on_access,
	[OP_READLINK] = broker_on_readlink, [OP_EXEC] = broker_on_exec,
	[OP_MKDIR] = broker_on_mkdir,	    [OP_UNLINK] = broker_on_unlink,
	[OP_RENAME] = broker_on_rename,	    [OP_LINK] = broker_on_link,
	[OP_CONNECT] = broker_on_connect,   [OP_BIND] = broker_on_bind,
};

void broker_handle(struct broker *b, const struct seccomp_notif *n)
{
	struct req q;
	enum op op;
	int r = decode(b, n, &q, &op);
	if (r == -ESRCH)
		return; /* the caller is gone */
	if (r < 0) {
		(void)broker_reply(b, n->id, 0, -r, 0);
		return;
	}
	handlers[op](&q);
}
