/* broker/thread.c — the broker's thread: started after clone, it waits
 * for the box's listener, then answers every notification (calls.c) until
 * the box is gone or the controller stops it. */
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#include "fdpass.h"
#include "internal.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/* The listener, as filter.c sent it: an fd, or -EPROTO. */
int broker_recv_listener(struct broker *b)
{
	char byte;
	int fd = fdpass_recv_one(b->sock[0], 0, &byte, 1);
	return fd < 0 ? -EPROTO : fd;
}

/* Files are opened with the box's ids: as root, fsuid/fsgid of the
 * box's host uid and no supplementary groups (this thread only: the
 * raw syscalls, not glibc's process-wide wrappers). setfsuid away
 * from 0 also drops CAP_DAC_OVERRIDE and the other file caps. A
 * private umask: the box's own is applied by hand on create. */
static void take_box_ids(const struct broker *b)
{
	if (geteuid() == 0) {
		syscall(SYS_setgroups, 0, NULL);
		syscall(SYS_setfsgid, b->fsgid);
		syscall(SYS_setfsuid, b->fsuid);
		/* And of root's capabilities only CAP_SYS_PTRACE stays
		 * effective in this thread (capset is per thread): it reads and
		 * writes the box's memory (process_vm_readv, /proc/PID/mem) and
		 * reads its /proc/PID/{cwd,fd}. Nothing
		 * else may help a file call succeed that the box's own would
		 * not (and /proc is left to the kernel, see LEAVE_TO_KERNEL). */
		struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
		struct __user_cap_data_struct d[2];
		if (syscall(SYS_capget, &h, d) == 0) {
			d[0].effective = 1u << CAP_SYS_PTRACE;
			d[1].effective = 0;
			(void)syscall(SYS_capset, &h, d);
		}
	}
	if (unshare(CLONE_FS) == 0)
		umask(0);
}

/* Waits for the listener (pf[0], the socket) or the stop byte (pf[1]).
 * Returns false when the thread is to end. */
static bool wait_listener(struct broker *b, struct pollfd pf[2])
{
	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (pf[1].revents)
			return false;
		if (pf[0].revents) {
			int fd = broker_recv_listener(b);
			if (fd < 0)
				return false; /* the box died before sending it */
			b->listener = fd;
			return true;
		}
	}
}

/* Answers notifications until the stop byte, or every process of the
 * box is gone. */
static void serve(struct broker *b, struct pollfd pf[2])
{
	struct seccomp_notif n;
	pf[0] = (struct pollfd){b->listener, POLLIN, 0};
	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pf[1].revents)
			return;
		if (pf[0].revents & POLLIN) {
			memset(&n, 0, sizeof(n));
			if (ioctl(b->listener, SECCOMP_IOCTL_NOTIF_RECV, &n) == 0)
				broker_handle(b, &n);
			continue;
		}
		/* POLLHUP: every process of the box is gone. */
		if (pf[0].revents)
			return;
	}
}

static void *broker_thread(void *arg)
{
	struct broker *b = arg;
	take_box_ids(b);
	struct pollfd pf[2] = {{b->sock[0], POLLIN, 0}, {b->stop[0], POLLIN, 0}};
	if (!wait_listener(b, pf))
		return NULL;
	/* Wake this thread on the CPU of the box's calling thread (6.6+):
	 * the round trip then costs a few microseconds instead of a
	 * cross-CPU wake-up (bench/README.md). Older kernels: ignored. */
	(void)ioctl(b->listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	serve(b, pf);
	return NULL;
}

int broker_start(struct broker *b, struct err *e)
{
	close(b->sock[1]);
	b->sock[1] = -1;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(&b->thread, NULL, broker_thread, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return err_errno(e, r, "cannot start the broker thread");
	b->started = true;
	return 0;
}

/* Ends the thread. The box is gone by now, so the thread is in poll()
 * and sees the stop byte at once; should a call ever hold it (a host
 * path that hangs), it is cancelled after 2 s rather than hang the
 * caller: the run is over, only its fds leak. */
void broker_stop(struct broker *b)
{
	if (!b->started)
		return;
	(void)write_all(b->stop[1], "x", 1);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	if (pthread_timedjoin_np(b->thread, NULL, &until) != 0) {
		pthread_cancel(b->thread);
		pthread_join(b->thread, NULL);
	}
	b->started = false;
}
