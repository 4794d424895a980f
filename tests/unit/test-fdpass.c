/* test-fdpass.c — fdpass.h, the one implementation of descriptor passing
 * (SCM_RIGHTS) behind the request memfd, the upper layers, the broker's
 * listener and the zygote's messages: what arrives, and that a message a
 * receiver did not ask for is refused with every descriptor it brought
 * closed (counted in /proc/self/fd before and after). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "check.h"
#include "fdpass.h"
#include "util.h"

/* The descriptors open in this process. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the DIR's own */
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;
	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static void pair(int type, int sv[2])
{
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		exit(1);
	}
}

/* n descriptors of /dev/null, not O_CLOEXEC (the receiver's copies must
 * be all the same). */
static void open_nulls(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((fds[i] = open("/dev/null", O_RDONLY)) < 0) {
			perror("/dev/null");
			exit(1);
		}
}

/* Sends raw, around fdpass_send's checks: data and n fds in one message. */
static ssize_t send_raw(int sock, const void *data, size_t len, const int *fds, size_t n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 32)];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = {(void *)data, len};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	return sendmsg(sock, &msg, 0);
}

/* Three descriptors and the data arrive, in order, each O_CLOEXEC. */
static void three_fds_and_data(void)
{
	int sv[2], p[2], in[3], out[3] = {-1, -1, -1};
	pair(SOCK_SEQPACKET, sv);
	if (pipe(p) < 0)
		exit(1);
	open_nulls(in, 1);
	in[1] = p[1];
	in[2] = sv[0];
	uint64_t sent = 0x1122334455667788u, got = 0;
	CHECK_INT(fdpass_send(sv[0], &sent, sizeof(sent), in, 3), 0);
	size_t n = 99;
	CHECK_INT(fdpass_recv(sv[1], 0, &got, sizeof(got), out, 3, &n), 0);
	CHECK_INT(n, 3);
	CHECK(got == sent);
	for (size_t i = 0; i < 3 && n == 3; i++) {
		CHECK(out[i] != in[i]);
		CHECK(same_file(out[i], in[i]));
		CHECK(fcntl(out[i], F_GETFD) == FD_CLOEXEC);
		close(out[i]);
	}
	close(in[0]);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

/* fdpass_recv_one: one descriptor and a message of the right size. */
static void one_fd(void)
{
	int sv[2], in;
	pair(SOCK_DGRAM, sv);
	open_nulls(&in, 1);
	uint32_t idx = 7, got = 0;
	CHECK_INT(fdpass_send(sv[0], &idx, sizeof(idx), &in, 1), 0);
	int fd = fdpass_recv_one(sv[1], MSG_DONTWAIT, &got, sizeof(got));
	CHECK(fd >= 0);
	CHECK_INT(got, 7);
	CHECK(same_file(fd, in));
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	if (fd >= 0)
		close(fd);
	/* Nothing more queued: MSG_DONTWAIT is passed on. */
	CHECK_INT(fdpass_recv_one(sv[1], MSG_DONTWAIT, &got, sizeof(got)), -EAGAIN);
	close(in);
	close(sv[0]);
	close(sv[1]);
}

/* More descriptors than the receiver takes: refused, all closed. */
static void extra_fds_closed(void)
{
	int sv[2], in[3], out[2] = {-1, -1};
	pair(SOCK_SEQPACKET, sv);
	open_nulls(in, 3);
	char c = 'x';
	int before = count_fds();
	CHECK_INT(fdpass_send(sv[0], &c, 1, in, 3), 0);
	size_t n = 99;
	CHECK_INT(fdpass_recv(sv[1], 0, &c, 1, out, 2, &n), -EPROTO);
	CHECK_INT(n, 99); /* not written on failure */
	CHECK_INT(count_fds(), before);
	/* And the one-descriptor form with two. */
	CHECK_INT(fdpass_send(sv[0], &c, 1, in, 2), 0);
	CHECK_INT(fdpass_recv_one(sv[1], 0, &c, 1), -EPROTO);
	CHECK_INT(count_fds(), before);
	/* None where none is asked for. */
	CHECK_INT(fdpass_send(sv[0], &c, 1, in, 1), 0);
	CHECK_INT(fdpass_recv(sv[1], 0, &c, 1, NULL, 0, &n), -EPROTO);
	CHECK_INT(count_fds(), before);
	for (int i = 0; i < 3; i++)
		close(in[i]);
	close(sv[0]);
	close(sv[1]);
}

/* A message without the descriptor it must carry. */
static void missing_fd(void)
{
	int sv[2];
	pair(SOCK_SEQPACKET, sv);
	char c = 'q';
	CHECK_INT(fdpass_send(sv[0], &c, 1, NULL, 0), 0);
	CHECK_INT(fdpass_recv_one(sv[1], 0, &c, 1), -EPROTO);
	/* Allowed where descriptors are optional. */
	size_t n = 99;
	int fd = -1;
	CHECK_INT(fdpass_send(sv[0], &c, 1, NULL, 0), 0);
	CHECK_INT(fdpass_recv(sv[1], 0, &c, 1, &fd, 1, &n), 0);
	CHECK_INT(n, 0);
	close(sv[0]);
	close(sv[1]);
}

/* A message of another length than asked for: too long (MSG_TRUNC) or
 * too short, refused, its descriptor closed. */
static void wrong_length(void)
{
	int sv[2], in;
	pair(SOCK_SEQPACKET, sv);
	open_nulls(&in, 1);
	int before = count_fds();
	uint32_t big = 1;
	char small = 's';
	CHECK_INT(fdpass_send(sv[0], &big, sizeof(big), &in, 1), 0);
	CHECK_INT(fdpass_recv_one(sv[1], 0, &small, 1), -EPROTO);
	CHECK_INT(count_fds(), before);
	CHECK_INT(fdpass_send(sv[0], &small, 1, &in, 1), 0);
	CHECK_INT(fdpass_recv_one(sv[1], 0, &big, sizeof(big)), -EPROTO);
	CHECK_INT(count_fds(), before);
	close(in);
	close(sv[0]);
	close(sv[1]);
}

/* More descriptors than a message's control part has room for: the
 * kernel drops the rest (MSG_CTRUNC); refused, what arrived closed. */
static void control_cut_short(void)
{
	int sv[2], in[FDPASS_MAX_FDS + 4];
	pair(SOCK_SEQPACKET, sv);
	open_nulls(in, ELEMENTSOF(in));
	int before = count_fds();
	char c = 'x';
	int out[FDPASS_MAX_FDS];
	size_t n = 99;
	CHECK_INT(fdpass_send(sv[0], &c, 1, in, ELEMENTSOF(in)), -EINVAL);
	CHECK_INT(send_raw(sv[0], &c, 1, in, ELEMENTSOF(in)), 1);
	CHECK_INT(fdpass_recv(sv[1], 0, &c, 1, out, FDPASS_MAX_FDS, &n), -EPROTO);
	CHECK_INT(n, 99);
	CHECK_INT(count_fds(), before);
	for (size_t i = 0; i < ELEMENTSOF(in); i++)
		close(in[i]);
	close(sv[0]);
	close(sv[1]);
}

/* With socket option `option` set on the receiver, one fd sent: the
 * message is refused and no descriptor stays open. An option the kernel
 * lacks is a pass with a note when `optional`, a failure otherwise. */
static void refused_with_option(int option, const char *name, bool optional)
{
	int sv[2], in, on = 1;
	pair(SOCK_SEQPACKET, sv);
	open_nulls(&in, 1);
	if (setsockopt(sv[1], SOL_SOCKET, option, &on, sizeof(on)) < 0) {
		if (optional)
			printf("# no %s here: %s\n", name, strerror(errno));
		else
			CHECK_INT(-errno, 0);
	} else {
		int before = count_fds();
		char c = 'x';
		CHECK_INT(fdpass_send(sv[0], &c, 1, &in, 1), 0);
		CHECK_INT(fdpass_recv_one(sv[1], 0, &c, 1), -EPROTO);
		CHECK_INT(count_fds(), before);
	}
	close(in);
	close(sv[0]);
	close(sv[1]);
}

/* A control message other than SCM_RIGHTS (credentials, which the
 * receiver asked for with SO_PASSCRED): refused, the descriptor closed. */
static void foreign_control_message(void)
{
	refused_with_option(SO_PASSCRED, "SO_PASSCRED", false);
}

/* With SO_PASSPIDFD (linux 6.5) each message also brings the sender's
 * pidfd (SCM_PIDFD): refused, and that descriptor closed too. */
static void pidfd_control_message(void)
{
	refused_with_option(76 /* SO_PASSPIDFD */, "SO_PASSPIDFD", true);
}

/* The peer gone: -EPIPE, told apart from a malformed message. */
static void peer_gone(void)
{
	int sv[2];
	pair(SOCK_SEQPACKET, sv);
	close(sv[0]);
	char c;
	size_t n = 99;
	CHECK_INT(fdpass_recv(sv[1], 0, &c, 1, NULL, 0, &n), -EPIPE);
	CHECK_INT(fdpass_recv_one(sv[1], 0, &c, 1), -EPIPE);
	CHECK_INT(fdpass_send(sv[1], "x", 1, NULL, 0), -EPIPE);
	close(sv[1]);
}

/* An empty message that carries descriptors (SOCK_SEQPACKET and
 * SOCK_DGRAM allow one): not the end of the stream but a malformed
 * message, -EPROTO, its descriptors closed; the message after it still
 * arrives. Only an empty message with nothing in it is -EPIPE. */
static void empty_message_with_fds(void)
{
	const int types[] = {SOCK_SEQPACKET, SOCK_DGRAM};
	for (size_t t = 0; t < ELEMENTSOF(types); t++) {
		int sv[2], in[2];
		pair(types[t], sv);
		open_nulls(in, 2);
		int before = count_fds();
		uint32_t idx = 5, got = 0;
		CHECK_INT(send_raw(sv[0], "", 0, in, 2), 0);
		CHECK_INT(fdpass_send(sv[0], &idx, sizeof(idx), in, 1), 0);
		CHECK_INT(fdpass_recv_one(sv[1], MSG_DONTWAIT, &got, sizeof(got)), -EPROTO);
		CHECK_INT(count_fds(), before);
		int fd = fdpass_recv_one(sv[1], MSG_DONTWAIT, &got, sizeof(got));
		CHECK(fd >= 0 && same_file(fd, in[0]));
		CHECK_INT(got, 5);
		if (fd >= 0)
			close(fd);
		CHECK_INT(send(sv[0], "", 0, 0), 0);
		CHECK_INT(fdpass_recv_one(sv[1], MSG_DONTWAIT, &got, sizeof(got)), -EPIPE);
		CHECK_INT(count_fds(), before);
		close(in[0]);
		close(in[1]);
		close(sv[0]);
		close(sv[1]);
	}
}

/* Arguments out of range. */
static void bad_arguments(void)
{
	int sv[2], fd = 0, out[FDPASS_MAX_FDS + 1];
	pair(SOCK_SEQPACKET, sv);
	size_t n;
	char c;
	CHECK_INT(fdpass_send(sv[0], &c, 0, NULL, 0), -EINVAL);
	CHECK_INT(fdpass_send(sv[0], &c, 1, NULL, 1), -EINVAL);
	CHECK_INT(fdpass_send(sv[0], &c, 1, &fd, FDPASS_MAX_FDS + 1), -EINVAL);
	CHECK_INT(fdpass_recv(sv[1], 0, &c, 0, NULL, 0, &n), -EINVAL);
	CHECK_INT(fdpass_recv(sv[1], 0, &c, 1, out, FDPASS_MAX_FDS + 1, &n), -EINVAL);
	CHECK_INT(fdpass_recv(sv[1], 0, &c, 1, NULL, 1, &n), -EINVAL);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	static const struct test tests[] = {
		TEST(three_fds_and_data),
		TEST(one_fd),
		TEST(extra_fds_closed),
		TEST(missing_fd),
		TEST(wrong_length),
		TEST(control_cut_short),
		TEST(foreign_control_message),
		TEST(pidfd_control_message),
		TEST(peer_gone),
		TEST(empty_message_with_fds),
		TEST(bad_arguments),
	};
	return run_tests(tests, ELEMENTSOF(tests));
}
