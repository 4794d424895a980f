/* attack-peer — two boxes at once: a victim box and an attacker beside it.
 *
 * usage: attack-peer victim DIR SECRET NAME SYNC  (box B)
 *        attack-peer files PATH...                 (box A)
 *        attack-peer proc HOSTPID                  (box A)
 *        attack-peer abstract NAME                 (box A)
 *        attack-peer unix PATH...                  (box A)
 *        attack-peer signal HOSTPID                (box A)
 *        attack-peer net NAME                      (box A)
 *
 * The victim writes SECRET into its /tmp and its read-write grant
 * (DIR), keeps it in its arguments and environment, listens on the
 * abstract unix socket @NAME and on /tmp/NAME.sock, receives on UDP port
 * peer_port(NAME) of every address, writes a byte to the file SYNC
 * (granted as a single file: the host file itself) and serves until the
 * driver appends one; it then prints how many connections (and
 * datagrams) it accepted. The attacker, in a second box of the same host
 * uid, tries to read those files (through every /proc/PID/root it can
 * see, and the victim's host pid), the victim's cmdline, environ and
 * memory, to connect to its sockets, to find its port and socket names
 * (a network namespace shared by two boxes shares its port space and
 * /proc/net), and to signal it. The driver judges: SECRET absent from
 * A's output, B alive, B accepted nothing. */
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "attack.h"

static void write_secret(const char *path, const char *secret)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
	show(path, fd);
	if (fd >= 0) {
		if (write(fd, secret, strlen(secret)) < 0)
			show("write", -1);
		close(fd);
	}
}

static int listen_unix(const char *path, bool abstract)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	socklen_t len;
	if (abstract) {
		snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "%s", path);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path));
	} else {
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
		len = sizeof(a);
	}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, len) < 0 || listen(s, 16) < 0)
		return (int)show("listen", -1);
	if (!abstract)
		chmod(path, 0777);
	return s;
}

/* The victim's UDP port, from its name (both boxes know the name). */
static unsigned short peer_port(const char *name)
{
	unsigned h = 5381;
	for (const char *c = name; *c; c++)
		h = h * 33 + (unsigned char)*c;
	return (unsigned short)(20000 + h % 20000);
}

static int victim(const char *dir, const char *secret, const char *name, const char *sync)
{
	char p[4096];
	write_secret("/tmp/peer-secret", secret);
	snprintf(p, sizeof(p), "%s/peer-secret", dir);
	write_secret(p, secret);
	int a = listen_unix(name, true);
	char sp[108];
	snprintf(sp, sizeof(sp), "/tmp/%s.sock", name);
	int u = listen_unix(sp, false);
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(peer_port(name))};
	int d = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d < 0 || bind(d, (struct sockaddr *)&in, sizeof(in)) < 0)
		say("victim: cannot bind udp port %d: %s", peer_port(name), strerror(errno));
	int fd = open(sync, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || pwrite(fd, "H", 1, 0) != 1)
		say("victim: cannot announce through '%s': %s", sync, strerror(errno));
	int accepted = 0;
	struct stat st;
	for (int i = 0; i < 2400 && fd >= 0 && fstat(fd, &st) == 0 && st.st_size < 2; i++) {
		struct pollfd pf[3] = {{a, POLLIN, 0}, {u, POLLIN, 0}, {d, POLLIN, 0}};
		if (poll(pf, 3, 50) > 0)
			for (int k = 0; k < 2; k++)
				if (pf[k].revents) {
					int c = accept4(pf[k].fd, NULL, NULL, SOCK_CLOEXEC);
					if (c >= 0) {
						accepted++;
						close(c);
					}
				}
		char b;
		if (pf[2].revents && recv(d, &b, 1, 0) >= 0)
			accepted++;
	}
	if (fd >= 0)
		close(fd);
	say("victim: accepted %d connections", accepted);
	return 0;
}

static void files(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		try_read(argv[i]);
	/* Every /proc/PID/root the box can see. */
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char p[512];
		snprintf(p, sizeof(p), "/proc/%s/root/tmp/peer-secret", de->d_name);
		try_read(p);
		for (int i = 0; i < argc; i++) {
			snprintf(p, sizeof(p), "/proc/%s/root%s", de->d_name, argv[i]);
			try_read(p);
		}
	}
	if (d)
		closedir(d);
}

static void proc(int host)
{
	char p[128];
	int max = 4096;
	for (int pid = 1; pid <= max; pid++) {
		static const char *f[] = {"cmdline", "environ"};
		for (int k = 0; k < 2; k++) {
			snprintf(p, sizeof(p), "/proc/%d/%s", pid, f[k]);
			if (access(p, F_OK) == 0)
				try_read(p);
		}
	}
	const char *hf[] = {"cmdline", "environ", "mem", "root/tmp/peer-secret"};
	for (int k = 0; k < 4; k++) {
		snprintf(p, sizeof(p), "/proc/%d/%s", host, hf[k]);
		try_read(p);
	}
	/* The victim's stack, through the process_vm and mem interfaces. */
	static char buf[65536];
	struct iovec l = {buf, sizeof(buf)}, r = {(void *)0x7ff000000000UL, sizeof(buf)};
	deny("process_vm_readv(victim host pid)", process_vm_readv(host, &l, 1, &r, 1, 0));
	int fd = open("/proc/1/mem", O_RDONLY | O_CLOEXEC);
	deny("open(/proc/1/mem)", fd);
	if (fd >= 0)
		close(fd);
	deny("pidfd_open(victim host pid)", syscall(SYS_pidfd_open, host, 0));
}

static void connect_to(const char *what, const char *path, bool abstract)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	socklen_t len;
	if (abstract) {
		snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "%s", path);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path));
	} else {
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
		len = sizeof(a);
	}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	deny(what, connect(s, (struct sockaddr *)&a, len));
	close(s);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char w[512];
	snprintf(w, sizeof(w), "%s (datagram)", what);
	deny(w, sendto(s, "x", 1, 0, (struct sockaddr *)&a, len));
	close(s);
}

static void abstract(const char *name)
{
	char w[512];
	snprintf(w, sizeof(w), "connect(@%s)", name);
	connect_to(w, name, true);
	char sub[256];
	snprintf(sub, sizeof(sub), "%s.sock", name);
	snprintf(w, sizeof(w), "connect(@%s)", sub);
	connect_to(w, sub, true);
}

static void unix_paths(int argc, char **argv)
{
	char w[600];
	for (int i = 0; i < argc; i++) {
		snprintf(w, sizeof(w), "connect(%s)", argv[i]);
		connect_to(w, argv[i], false);
	}
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		for (int i = 0; i < argc; i++) {
			char p[512];
			snprintf(p, sizeof(p), "/proc/%s/root%s", de->d_name, argv[i]);
			if (strlen(p) < 108) {
				snprintf(w, sizeof(w), "connect(%s)", p);
				connect_to(w, p, false);
			}
		}
	}
	if (d)
		closedir(d);
}

static void signal_all(int host)
{
	deny("kill(victim host pid, SIGKILL)", kill(host, SIGKILL));
	deny("sigqueue(victim host pid, SIGSTOP)", sigqueue(host, SIGSTOP, (union sigval){0}));
	int reached = 0;
	for (int pid = 2; pid <= 65536; pid++) {
		if (pid == getpid())
			continue;
		if (kill(pid, SIGSTOP) == 0)
			reached++;
	}
	say("signal: SIGSTOP reached %d pids of this box", reached);
	/* kill(-1) reaches everything the caller may signal but itself;
	 * SIGUSR1, which ends the victim and which this process ignores. */
	signal(SIGUSR1, SIG_IGN);
	show("kill(-1, SIGUSR1)", kill(-1, SIGUSR1));
	say("signal: done");
}

/* Does the file at path (a /proc/net table) mention needle? Prints it. */
static bool table_has(const char *path, const char *needle)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		show(path, fd);
		return false;
	}
	size_t n = 0;
	ssize_t k;
	while (n < sizeof(buf) - 1 && (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	close(fd);
	buf[n] = 0;
	say("%s: %zu bytes", path, n);
	return strstr(buf, needle) != NULL;
}

/* The victim's port and socket names, seen from another box: taken in
 * this box's port space, listed in its /proc/net; and a datagram to it. */
static void net(const char *name)
{
	unsigned short port = peer_port(name);
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(port)};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (bind(s, (struct sockaddr *)&in, sizeof(in)) < 0 && errno == EADDRINUSE) {
		say("net: bind(udp %d) -> SUCCEEDED in finding the other box's port: EADDRINUSE", port);
		escaped_count++;
	} else {
		show("net: bind(udp port of the other box)", 0);
	}
	close(s);
	char hex[16];
	snprintf(hex, sizeof(hex), ":%04X ", port);
	if (table_has("/proc/net/udp", hex)) {
		say("net: /proc/net/udp -> SUCCEEDED: lists the other box's port %d", port);
		escaped_count++;
	}
	if (table_has("/proc/net/unix", name)) {
		say("net: /proc/net/unix -> SUCCEEDED: lists the other box's socket %s", name);
		escaped_count++;
	}
	/* Judged by the victim, which counts what it receives. */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	show("net: sendto(127.0.0.1, the other box's port)",
	     sendto(s, "x", 1, 0, (struct sockaddr *)&in, sizeof(in)));
	close(s);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 6 && !strcmp(argv[1], "victim"))
		return victim(argv[2], argv[3], argv[4], argv[5]);
	if (argc >= 3 && !strcmp(argv[1], "files"))
		files(argc - 2, argv + 2);
	else if (argc == 3 && !strcmp(argv[1], "proc"))
		proc(atoi(argv[2]));
	else if (argc == 3 && !strcmp(argv[1], "abstract"))
		abstract(argv[2]);
	else if (argc >= 3 && !strcmp(argv[1], "unix"))
		unix_paths(argc - 2, argv + 2);
	else if (argc == 3 && !strcmp(argv[1], "signal"))
		signal_all(atoi(argv[2]));
	else if (argc == 3 && !strcmp(argv[1], "net"))
		net(argv[2]);
	else {
		fprintf(stderr, "usage: attack-peer victim|files|proc|abstract|unix|signal|net ...\n");
		return 2;
	}
	return attack_exit();
}
