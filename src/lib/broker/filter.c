/* broker/filter.c — the box's side of the broker: in box_exec, right
 * before execve, the notification filter over the allowlist (the calls of
 * calls.h go to the controller, SECCOMP_RET_USER_NOTIF), and its listener
 * passed to the controller over the broker's socket (SCM_RIGHTS), so the
 * box never holds it while untrusted code runs. */
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "broker.h"
#include "calls.h"
#include "util.h"

int broker_install(int sock, struct err *e)
{
	/* open* ... → USER_NOTIF, except newfstatat/statx with AT_EMPTY_PATH:
	 * that is fstat() (glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH),
	 * a third of a python start's stat calls), which names no path. A box
	 * passing a path with that flag stats it unaudited, within the static
	 * layers: an audit gap, not a boundary. BPF jumps only forward, hence
	 * the layout:
	 *   0 ld arch; 1 jeq x86_64; 2 ret allow; 3 ld nr;
	 *   4 jeq newfstatat → F; 5 jeq statx → S; 6.. jeq call → notify;
	 *   A ret allow; F: ld args[3]; jset AT_EMPTY_PATH → allow2 : notify;
	 *   S: ld args[2]; jset AT_EMPTY_PATH → allow2 : notify;
	 *   notify: ret user_notif; allow2: ret allow */
	struct sock_filter insns[4 + 2 + ELEMENTSOF(calls) + 7];
	size_t n = 0, nc = ELEMENTSOF(calls);
	size_t a = 4 + 2 + (nc - 2); /* index of the first ret allow */
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						  offsetof(struct seccomp_data, arch));
	/* Foreign ABIs are the allowlist's business (it kills them). */
	insns[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						  offsetof(struct seccomp_data, nr));
	insns[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_newfstatat,
						(uint8_t)(a + 1 - (n + 1)), 0);
	n++;
	insns[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_statx,
						(uint8_t)(a + 3 - (n + 1)), 0);
	n++;
	for (size_t i = 0; i < nc; i++) {
		if (calls[i].nr == __NR_newfstatat || calls[i].nr == __NR_statx)
			continue;
		insns[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)calls[i].nr,
							(uint8_t)(a + 5 - (n + 1)), 0);
		n++;
	}
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						  offsetof(struct seccomp_data, args[3]));
	insns[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, AT_EMPTY_PATH, 3, 2);
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						  offsetof(struct seccomp_data, args[2]));
	insns[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, AT_EMPTY_PATH, 1, 0);
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = {.len = (unsigned short)n, .filter = insns};
	int lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			       SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (lfd < 0)
		return err_errno(e, errno, "cannot load the broker's notification filter");

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
