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
#include "fdpass.h"
#include "util.h"

int broker_install(int sock, struct err *e)
{
	/* The path-taking calls → USER_NOTIF: tools/gen-filter.c, notify_filter. */
	int lfd = seccomp_apply_notify(e);
	if (lfd < 0)
		return lfd;

	int r = fdpass_send(sock, "L", 1, &lfd, 1);
	close(lfd);
	close(sock);
	if (r < 0)
		return err_errno(e, -r, "cannot pass the broker's listener to the controller");
	return 0;
}
