/* broker/reply.c — the broker's answers to a notification: an errno or a
 * value, an fd of its own put into the caller's table, "let the kernel do
 * it" (CONTINUE), and results written into the caller's memory. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "internal.h"

bool broker_id_valid(const struct broker *b, uint64_t id)
{
	return ioctl(b->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* Writes an answer into the caller's memory. The memory is opened first
 * and the notification checked after (seccomp_unotify(2)): once the open
 * succeeded, the fd is bound to that process, so if the caller died and
 * its pid went to another process meanwhile, the check fails and nothing
 * is written. A write by pid (process_vm_writev) could land in whatever
 * process holds the pid by then, a host process included. */
int broker_write_box(const struct req *q, uint64_t addr, const void *data, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", q->pid);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -EFAULT;
	ssize_t k = -1;
	if (broker_id_valid(q->b, q->id))
		k = pwrite(fd, data, len, (off_t)addr);
	close(fd);
	return k == (ssize_t)len ? 0 : -EFAULT;
}

int broker_reply(struct broker *b, uint64_t id, int64_t val, int error, uint32_t flags)
{
	struct seccomp_notif_resp resp = {.id = id, .val = val, .error = error ? -error : 0,
					  .flags = flags};
	return ioctl(b->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 ? -errno : 0;
}

/* Answers "let the kernel do it" (see LEAVE_TO_KERNEL). */
void broker_continue(struct req *q)
{
	(void)broker_reply(q->b, q->id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

/* A refusal: recorded (with the path as the box named it) and answered
 * with errno error. */
void broker_refuse(struct req *q, const char *norm, int error)
{
	broker_record(q, norm, error);
	(void)broker_reply(q->b, q->id, 0, error, 0);
}

/* Answers with r: 0, or -errno (refused). */
void broker_answer(struct req *q, const char *norm, int r)
{
	if (r < 0)
		broker_refuse(q, norm, -r);
	else
		(void)broker_reply(q->b, q->id, 0, 0, 0);
}

/* The calls the kernel makes itself once checked (execve, connect,
 * bind): CONTINUE, unless r (-errno) refused it. */
void broker_pass(struct req *q, const char *norm, int r)
{
	if (r < 0)
		broker_refuse(q, norm, -r);
	else
		broker_continue(q);
}

void broker_send_fd(struct req *q, int fd, bool cloexec)
{
	struct seccomp_notif_addfd a = {.id = q->id, .flags = SECCOMP_ADDFD_FLAG_SEND,
					.srcfd = (uint32_t)fd, .newfd_flags = cloexec ? O_CLOEXEC : 0};
	if (ioctl(q->b->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0 && errno != ENOENT)
		(void)broker_reply(q->b, q->id, 0, errno == EMFILE ? EMFILE : EIO, 0);
}
