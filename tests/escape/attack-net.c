/* attack-net — try to reach the driver's listeners on the host.
 *
 * usage: attack-net [--tcp ADDR:PORT | --udp ADDR:PORT | --abstract NAME |
 *                    --unix PATH]...
 * ADDR is an IPv4 address or a bracketed IPv6 one ([::1]). The driver
 * records every accepted connection and every datagram: it judges. A TCP
 * or unix connect that works counts as forbidden in the exit status. */
#include <arpa/inet.h>
#include <stddef.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "attack.h"

static socklen_t parse_addr(const char *spec, struct sockaddr_storage *ss)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	if (!colon)
		return 0;
	int port = atoi(colon + 1);
	size_t hl = (size_t)(colon - spec);
	if (hl >= sizeof(host))
		return 0;
	memcpy(host, spec, hl);
	host[hl] = 0;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		host[strlen(host) - 1] = 0;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return 0;
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return 0;
	return sizeof(*s4);
}

/* connect() with a 3 s limit. */
static int connect_wait(int s, const struct sockaddr *sa, socklen_t len)
{
	int fl = fcntl(s, F_GETFL);
	fcntl(s, F_SETFL, fl | O_NONBLOCK);
	if (connect(s, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	struct pollfd pfd = {.fd = s, .events = POLLOUT};
	if (poll(&pfd, 1, 3000) <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	int err = 0;
	socklen_t el = sizeof(err);
	getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

static void tcp(const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(spec, &ss);
	if (!len) {
		say("bad address '%s'", spec);
		return;
	}
	char what[256];
	int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(what, sizeof(what), "socket(tcp) for %s", spec);
	if (show(what, s) < 0)
		return;
	snprintf(what, sizeof(what), "connect(tcp %s)", spec);
	if (deny(what, connect_wait(s, (struct sockaddr *)&ss, len)) == 0)
		(void)!send(s, "ward-escape\n", 12, MSG_NOSIGNAL);
	close(s);
}

static void udp(const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(spec, &ss);
	if (!len) {
		say("bad address '%s'", spec);
		return;
	}
	char what[256];
	int s = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(what, sizeof(what), "socket(udp) for %s", spec);
	if (show(what, s) < 0)
		return;
	/* May "work" inside the box's own network namespace: the driver's
	 * listener tells whether anything arrived on the host. */
	snprintf(what, sizeof(what), "sendto(udp %s)", spec);
	for (int i = 0; i < 3; i++)
		show(what, sendto(s, "ward-escape\n", 12, 0, (struct sockaddr *)&ss, len));
	close(s);
}

static void unix_connect(const char *name, bool abstract)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	if (n + 2 > sizeof(sun.sun_path)) {
		say("name too long '%s'", name);
		return;
	}
	memcpy(sun.sun_path + (abstract ? 1 : 0), name, n);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (abstract ? 1 : 0));
	char what[256];
	int types[] = {SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM};
	const char *tn[] = {"stream", "seqpacket", "dgram"};
	for (int i = 0; i < 3; i++) {
		int s = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
		if (s < 0)
			continue;
		snprintf(what, sizeof(what), "connect(unix %s %s'%s')", tn[i],
			 abstract ? "@" : "", name);
		if (deny(what, connect(s, (struct sockaddr *)&sun, len)) == 0)
			(void)!send(s, "ward-escape\n", 12, MSG_NOSIGNAL);
		snprintf(what, sizeof(what), "sendto(unix %s %s'%s')", tn[i],
			 abstract ? "@" : "", name);
		if (types[i] == SOCK_DGRAM)
			deny(what, sendto(s, "ward-escape\n", 12, 0, (struct sockaddr *)&sun, len));
		close(s);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	try_read("/proc/net/dev");
	try_read("/proc/net/tcp");
	try_read("/proc/net/unix");
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--tcp"))
			tcp(argv[i + 1]);
		else if (!strcmp(argv[i], "--udp"))
			udp(argv[i + 1]);
		else if (!strcmp(argv[i], "--abstract"))
			unix_connect(argv[i + 1], true);
		else if (!strcmp(argv[i], "--unix"))
			unix_connect(argv[i + 1], false);
		else {
			fprintf(stderr, "attack-net: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}
	return attack_exit();
}
