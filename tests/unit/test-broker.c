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
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/un.h>
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

/* Runs fn as an ordinary user (uid 65534) in a child when root; as the
 * caller otherwise. */
static void as_nobody(void (*fn)(void))
{
	if (geteuid() != 0) {
		fn();
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0 || prctl(PR_SET_DUMPABLE, 1) < 0)
			_exit(2);
		fn();
		fflush(stdout);
		_exit(check_failed ? 1 : 0);
	}
	int status = -1;
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The same as an ordinary user (uid 65534) when run as root: the broker
 * then reads the caller's memory without CAP_SYS_PTRACE. */
static void test_stale_notification_is_dropped_unprivileged(void)
{
	if (geteuid() != 0) {
		printf("# not root: the test above ran unprivileged\n");
		return;
	}
	n_seen = 0;
	as_nobody(test_stale_notification_is_dropped);
}

/* ---- every call family, decoded as the kernel reads it ---------------- */

/* What one call returned: its value (fds as 0), errno, and what it
 * wrote (a stat's mode and size, readlink's bytes). */
struct outcome {
	const char *what;
	long ret;
	int err;
	char out[64];
};

struct outcomes {
	struct outcome o[64];
	size_t n;
};

static void note(struct outcomes *r, const char *what, long ret, int err, const char *out)
{
	if (r->n >= ELEMENTSOF(r->o))
		return;
	struct outcome *o = &r->o[r->n++];
	*o = (struct outcome){.what = what, .ret = ret, .err = ret < 0 ? err : 0};
	snprintf(o->out, sizeof(o->out), "%s", out ? out : "");
}

#define CALL(r, what, call)                                 \
	do {                                                \
		long ret_ = (call);                         \
		note(r, what, ret_, errno, NULL);           \
	} while (0)
#define OPEN(r, what, call)                                 \
	do {                                                \
		long ret_ = (call);                         \
		note(r, what, ret_ < 0 ? ret_ : 0, errno, NULL); \
		if (ret_ >= 0)                              \
			close((int)ret_);                   \
	} while (0)

static void note_mode(struct outcomes *r, const char *what, long ret, int err, unsigned mode,
		      unsigned long long size)
{
	char out[64];
	snprintf(out, sizeof(out), "mode %o size %llu", mode, ret == 0 ? size : 0);
	note(r, what, ret, err, out);
}

static void note_text(struct outcomes *r, const char *what, long ret, int err, const char *buf)
{
	char out[64];
	snprintf(out, sizeof(out), "%.*s", ret > 0 ? (int)ret : 0, buf);
	note(r, what, ret, err, out);
}

/* A unix socket at path (relative), bound and listening, or connected. */
static long unix_socket(const char *path, bool listening)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	long r = listening ? bind(s, (struct sockaddr *)&sun, sizeof(sun))
			   : connect(s, (struct sockaddr *)&sun, sizeof(sun));
	int er = errno;
	if (r == 0 && listening)
		r = listen(s, 1);
	else
		close(s);
	errno = er;
	return r;
}

/* Each brokered call family in its plain, *at and implied-flag forms,
 * with relative paths (cwd and dirfd d) and a few errors. */
static void calls_in(int d, struct outcomes *r)
{
	struct stat st;
	struct statx sx;
	char buf[64];
	char *const argv[] = {"x", NULL};
	umask(022);
	OPEN(r, "creat", syscall(SYS_creat, "c", 0666));
	OPEN(r, "open", syscall(SYS_open, "c", O_RDONLY));
	OPEN(r, "open ENOENT", syscall(SYS_open, "nope", O_RDONLY));
	OPEN(r, "open O_EXCL", syscall(SYS_open, "c", O_CREAT | O_EXCL | O_WRONLY, 0600));
	OPEN(r, "openat", syscall(SYS_openat, d, "c", O_WRONLY | O_APPEND));
	OPEN(r, "openat O_CREAT", syscall(SYS_openat, d, "n", O_CREAT | O_WRONLY, 0604));
	OPEN(r, "openat dir", syscall(SYS_openat, d, ".", O_RDONLY | O_DIRECTORY));
	CALL(r, "mkdir", syscall(SYS_mkdir, "m", 0777));
	CALL(r, "mkdir EEXIST", syscall(SYS_mkdir, "m", 0777));
	CALL(r, "mkdirat", syscall(SYS_mkdirat, d, "m2", 0751));
	CALL(r, "symlink", symlink("c", "l"));
	long k = syscall(SYS_stat, "n", &st);
	note_mode(r, "stat", k, errno, st.st_mode, (unsigned long long)st.st_size);
	k = syscall(SYS_lstat, "l", &st);
	note_mode(r, "lstat", k, errno, st.st_mode, (unsigned long long)st.st_size);
	k = syscall(SYS_newfstatat, d, "l", &st, 0);
	note_mode(r, "newfstatat", k, errno, st.st_mode, (unsigned long long)st.st_size);
	k = syscall(SYS_newfstatat, d, "l", &st, AT_SYMLINK_NOFOLLOW);
	note_mode(r, "newfstatat nofollow", k, errno, st.st_mode, (unsigned long long)st.st_size);
	k = syscall(SYS_statx, d, "m2", 0, STATX_BASIC_STATS, &sx);
	note_mode(r, "statx", k, errno, sx.stx_mode, sx.stx_size);
	k = syscall(SYS_statx, d, "l", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx);
	note_mode(r, "statx nofollow", k, errno, sx.stx_mode, sx.stx_size);
	CALL(r, "access", syscall(SYS_access, "c", R_OK | W_OK));
	CALL(r, "access EACCES", syscall(SYS_access, "c", X_OK));
	CALL(r, "access EINVAL", syscall(SYS_access, "c", 0x80));
	CALL(r, "faccessat", syscall(SYS_faccessat, d, "m2", X_OK));
	CALL(r, "faccessat2", syscall(SYS_faccessat2, d, "m2", W_OK, AT_EACCESS));
	memset(buf, 0, sizeof(buf));
	k = syscall(SYS_readlink, "l", buf, sizeof(buf));
	note_text(r, "readlink", k, errno, buf);
	k = syscall(SYS_readlinkat, d, "l", buf, 1);
	note_text(r, "readlinkat", k, errno, buf);
	CALL(r, "readlink EINVAL", syscall(SYS_readlink, "c", buf, sizeof(buf)));
	CALL(r, "readlinkat EINVAL", syscall(SYS_readlinkat, d, "m2", buf, sizeof(buf)));
	CALL(r, "readlinkat empty ENOENT", syscall(SYS_readlinkat, d, "", buf, sizeof(buf)));
	CALL(r, "rename", syscall(SYS_rename, "c", "c2"));
	CALL(r, "renameat", syscall(SYS_renameat, d, "c2", d, "c3"));
	CALL(r, "renameat2 EEXIST", syscall(SYS_renameat2, d, "c3", d, "l", RENAME_NOREPLACE));
	CALL(r, "renameat2", syscall(SYS_renameat2, d, "c3", d, "c4", RENAME_NOREPLACE));
	CALL(r, "link", syscall(SYS_link, "c4", "h"));
	CALL(r, "linkat", syscall(SYS_linkat, d, "c4", d, "h2", 0));
	CALL(r, "linkat EINVAL", syscall(SYS_linkat, d, "c4", d, "h3", 0x10000000));
	CALL(r, "bind", unix_socket("s", true));
	CALL(r, "connect", unix_socket("s", false));
	CALL(r, "connect ENOENT", unix_socket("nope", false));
	CALL(r, "execve ENOENT", syscall(SYS_execve, "nope", argv, argv + 1));
	CALL(r, "execveat EACCES", syscall(SYS_execveat, d, "c4", argv, argv + 1, 0));
	CALL(r, "unlink", syscall(SYS_unlink, "h"));
	CALL(r, "unlinkat", syscall(SYS_unlinkat, d, "h2", 0));
	CALL(r, "unlinkat EISDIR", syscall(SYS_unlinkat, d, "m", 0));
	CALL(r, "unlinkat AT_REMOVEDIR", syscall(SYS_unlinkat, d, "m2", AT_REMOVEDIR));
	CALL(r, "rmdir", syscall(SYS_rmdir, "m"));
	CALL(r, "rmdir ENOENT", syscall(SYS_rmdir, "m"));
	const char *left[] = {"c4", "n", "l", "s"};
	for (size_t i = 0; i < ELEMENTSOF(left); i++)
		CALL(r, left[i], syscall(SYS_unlink, left[i]));
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Removes path and everything below it (nothing should be). */
static int remove_tree(const char *path)
{
	return nftw(path, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* The child: the calls in a (by the kernel), then in b through the
 * broker; any difference is a decoding error. */
static _noreturn_ void child_calls(struct broker *brk, const char *a, const char *b)
{
	static struct outcomes ra, rb;
	struct err e = {{0}};
	int da = open(a, O_PATH | O_DIRECTORY | O_CLOEXEC), db = open(b, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (da < 0 || db < 0 || chdir(a) < 0)
		_exit(3);
	calls_in(da, &ra);
	if (chdir(b) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    broker_install(broker_box_fd(brk), &e) < 0)
		_exit(4);
	calls_in(db, &rb);
	int bad = ra.n != rb.n;
	for (size_t i = 0; i < ra.n && i < rb.n; i++) {
		const struct outcome *x = &ra.o[i], *y = &rb.o[i];
		if (x->ret == y->ret && x->err == y->err && !strcmp(x->out, y->out))
			continue;
		printf("# %s: the kernel: %ld errno %d '%s'; the broker: %ld errno %d '%s'\n", x->what,
		       x->ret, x->err, x->out, y->ret, y->err, y->out);
		bad = 1;
	}
	fflush(stdout);
	_exit(bad ? 1 : 0);
}

static void calls_as_the_kernel_does(void)
{
	char a[] = "/tmp/ward-test-broker-XXXXXX", b[] = "/tmp/ward-test-broker-XXXXXX";
	struct mnt_plan mp = {0};
	struct strv none = {0};
	struct broker_config c = {.fsuid = getuid(), .fsgid = getgid(), .mounts = &mp,
				  .exec = &none, .ask = &none};
	struct broker *brk = NULL;
	struct err e = {{0}};
	CHECK(mkdtemp(a) && mkdtemp(b));
	CHECK_INT(broker_new(&brk, &c, &e), 0);
	if (!brk)
		return;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		child_calls(brk, a, b);
	CHECK_INT(broker_start(brk, &e), 0);
	int status = -1;
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	broker_stop(brk);
	broker_free(brk);
	/* The calls removed what they made; whatever a failure left: */
	CHECK_INT(remove_tree(a), 0);
	CHECK_INT(remove_tree(b), 0);
}

/* Every call family the broker takes answers as the kernel would, for
 * what the static layers allow: the arguments are decoded once, from
 * where each call keeps them (calls.c), and a mistake there shows as a
 * different result. Unprivileged, so that neither side has capabilities
 * the other lacks. */
static void test_calls_decoded_as_the_kernel_does(void)
{
	as_nobody(calls_as_the_kernel_does);
}

int main(void)
{
	static const struct test tests[] = {
		TEST(test_stale_notification_is_dropped),
		TEST(test_stale_notification_is_dropped_unprivileged),
		TEST(test_calls_decoded_as_the_kernel_does),
	};
	return run_tests(tests, ELEMENTSOF(tests));
}
