/* test-broker.c — the broker's handling of one notification, against its
 * internals (src/lib/broker/internal.h): a notification that
 * went stale between the broker's receipt and its path read (the caller's
 * call was interrupted, the caller lives on and rewrote the path) must be
 * dropped, never acted on for what the memory says now.
 *
 * The test plays the broker's thread itself: a child installs the
 * notification filter (broker_install) and opens a path; the test
 * receives the notification, interrupts the child's call with a signal,
 * lets the child write another path into the same buffer, then hands the
 * stale notification to broker_handle(). */
#include "../../src/lib/broker/internal.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "check.h"

static char seen[8][PATH_MAX];
static size_t n_seen;

static void on_access(void *ctx, const char *box_path, unsigned how)
{
	(void)ctx;
	(void)how;
	if (n_seen < ELEMENTSOF(seen))
		snprintf(seen[n_seen++], sizeof(seen[0]), "%s", box_path);
}

static void on_usr1(int sig)
{
	(void)sig;
}

static char path_buf[256];

/* The child: opens path_buf (interrupted), rewrites it, reports, then
 * opens it again (answered) when told. */
static _noreturn_ void child(int sock, int ready, int go)
{
	struct sigaction sa = {.sa_handler = on_usr1}; /* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	struct err e = {{0}};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || broker_install(sock, &e) < 0)
		_exit(3);
	snprintf(path_buf, sizeof(path_buf), "/etc/hostname");
	int fd = openat(AT_FDCWD, path_buf, O_RDONLY);
	int er = errno;
	snprintf(path_buf, sizeof(path_buf), "/etc/passwd");
	char c = fd < 0 && er == EINTR ? 'i' : 'x';
	if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
		_exit(4);
	fd = openat(AT_FDCWD, path_buf, O_RDONLY);
	_exit(fd >= 0 ? 0 : 5);
}

static void test_stale_notification_is_dropped(void)
{
	struct broker *b = calloc(1, sizeof(*b));
	int sv[2], ready[2], go[2];
	CHECK(b && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0 && pipe(ready) == 0 &&
	      pipe(go) == 0);
	*b = (struct broker){.sock = {sv[0], -1}, .stop = {-1, -1}, .listener = -1,
			     .fsuid = getuid(), .fsgid = getgid(), .on_access = on_access};
	b->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		child(sv[1], ready[1], go[0]);
	}
	close(sv[1]);
	b->listener = broker_recv_listener(b);
	CHECK(b->listener >= 0);

	struct seccomp_notif n;
	memset(&n, 0, sizeof(n));
	CHECK_INT(ioctl(b->listener, SECCOMP_IOCTL_NOTIF_RECV, &n), 0);
	CHECK_INT(n.data.nr, __NR_openat);
	/* Interrupt the call: the notification goes stale, the child lives
	 * on and writes another path where the first one was. */
	kill(pid, SIGUSR1);
	char c = 0;
	CHECK_INT(read(ready[0], &c, 1), 1);
	CHECK_INT(c, 'i');
	b->seen_first = true;
	broker_handle(b, &n);
	CHECK_INT(n_seen, 0); /* nothing acted on */
	CHECK_INT(b->n_denials, 0);

	/* The harness works: a live notification is answered and seen. */
	CHECK_INT(write(go[1], "g", 1), 1);
	memset(&n, 0, sizeof(n));
	CHECK_INT(ioctl(b->listener, SECCOMP_IOCTL_NOTIF_RECV, &n), 0);
	broker_handle(b, &n);
	CHECK_INT(n_seen, 1);
	CHECK_STR(n_seen ? seen[0] : NULL, "/etc/passwd");
	int status = -1;
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	broker_free(b);
}

/* The same as an ordinary user (uid 65534) when run as root: the broker
 * then reads the caller's memory without CAP_SYS_PTRACE. */
static void test_stale_notification_is_dropped_unprivileged(void)
{
	if (geteuid() != 0) {
		printf("# not root: the test above ran unprivileged\n");
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0 || prctl(PR_SET_DUMPABLE, 1) < 0)
			_exit(2);
		n_seen = 0;
		test_stale_notification_is_dropped();
		fflush(stdout);
		_exit(check_failed ? 1 : 0);
	}
	int status = -1;
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	static const struct test tests[] = {
		TEST(test_stale_notification_is_dropped),
		TEST(test_stale_notification_is_dropped_unprivileged),
	};
	return run_tests(tests, ELEMENTSOF(tests));
}
