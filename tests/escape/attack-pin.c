/* attack-pin — pin kernel memory and per-user kernel quotas, then hold them.
 *
 * usage: attack-pin MODE SYNC [ARG]         inside the box
 *        attack-pin probe-WHAT                outside the box (the driver)
 *
 * Kernel memory a box can pin outside its memory limit (pipe buffers,
 * socket buffers, SysV shared memory and message queues, tmpfs, shared
 * anonymous memory, huge pages held by vmsplice'd pipe slots) and
 * per-user kernel quotas that the box shares with the host user it is
 * charged to, or with other boxes (inotify instances and watches, the
 * signal queue, processes). Each mode takes as much as it can, up to ARG
 * MiB where it is memory (bounded so that a success never harms the
 * host), then writes a byte to the file SYNC and keeps everything until
 * the driver appends one (or 60 s pass). While it holds, the driver
 * measures from outside what the box pinned and checks that the host user
 * (and a second box) can still use the same quota (the probe-* modes,
 * which exit 0 when the resource was still available, 1 when not).
 * Everything is released when the process exits. */
#include <mqueue.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "attack.h"

#define MIB (1024L * 1024L)

static const char *holddir;

/* Announces the hold and waits for the driver's release (60 s at most):
 * SYNC is a file granted read-write as a single file (the host file
 * itself, live on both sides); the box writes a byte at its start, the
 * driver appends one to release. */
static void hold(void)
{
	int fd = open(holddir, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || pwrite(fd, "H", 1, 0) != 1)
		say("cannot announce the hold through '%s': %s", holddir, strerror(errno));
	struct stat st;
	for (int i = 0; i < 1200 && fd >= 0 && fstat(fd, &st) == 0 && st.st_size < 2; i++)
		usleep(50000);
	if (fd >= 0)
		close(fd);
	say("released");
}

/* Fills fd (non-blocking) until it refuses more or cap bytes went in. */
static long fill(int fd, long cap)
{
	static char buf[65536];
	long total = 0;
	while (total < cap) {
		size_t n = sizeof(buf);
		if ((long)n > cap - total)
			n = (size_t)(cap - total);
		ssize_t w = write(fd, buf, n);
		if (w <= 0)
			break;
		total += w;
	}
	return total;
}

/* Runs pin(share) in nproc children, each taking up to share bytes, and
 * holds while they hold. Returns the bytes the children reported. */
static long spread(int nproc, long total, long (*pin)(long share))
{
	int rep[2];
	if (pipe2(rep, O_CLOEXEC) < 0)
		return show("pipe", -1), 0;
	pid_t kids[256];
	int n = 0;
	for (int i = 0; i < nproc && i < 256; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			long got = pin(total / nproc);
			if (write(rep[1], &got, sizeof(got)) != sizeof(got))
				_exit(1);
			pause();
			_exit(0);
		}
		if (pid < 0) {
			show("fork", -1);
			break;
		}
		kids[n++] = pid;
	}
	close(rep[1]);
	long sum = 0, got;
	for (int i = 0; i < n && read(rep[0], &got, sizeof(got)) == sizeof(got); i++)
		sum += got;
	close(rep[0]);
	say("pinned %ld MiB in %d processes", sum / MIB, n);
	hold();
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	return sum;
}

/* Pipes enlarged to 1 MiB (F_SETPIPE_SZ, where the per-user quota lets
 * it) and filled, until share bytes or no more fds. */
static long pin_pipes(long share)
{
	long got = 0;
	while (got < share) {
		int p[2];
		if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
			break;
		fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
		long n = fill(p[1], share - got);
		got += n;
		if (n == 0)
			break;
	}
	return got;
}

/* Unix stream socketpairs with the largest send buffer, filled. */
static long pin_stream(long share)
{
	long got = 0;
	while (got < share) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
			break;
		int big = 64 << 20;
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		long n = fill(sv[0], share - got);
		got += n;
		if (n == 0)
			break;
	}
	return got;
}

/* Unix datagram socketpairs: datagrams queued at the peer until the
 * queue or the send buffer is full. */
static long pin_dgram(long share)
{
	static char buf[256 * 1024];
	long got = 0;
	while (got < share) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
			break;
		int big = 64 << 20;
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		long before = got;
		size_t sz = sizeof(buf);
		while (got < share) {
			ssize_t w = send(sv[0], buf, sz, MSG_DONTWAIT);
			if (w < 0 && errno == EMSGSIZE && sz > 4096) {
				sz /= 2;
				continue;
			}
			if (w <= 0)
				break;
			got += w;
		}
		if (got == before)
			break;
	}
	return got;
}

static long pin_shm(long share)
{
	long got = 0;
	while (got < share) {
		size_t sz = 16 * MIB;
		int id = shmget(IPC_PRIVATE, sz, IPC_CREAT | 0600);
		if (id < 0) {
			show("shmget(16 MiB)", -1);
			break;
		}
		char *m = shmat(id, NULL, 0);
		if (m == (void *)-1) {
			show("shmat", -1);
			break;
		}
		memset(m, 0x5a, sz); /* the segment outlives the mapping */
		shmdt(m);
		got += (long)sz;
	}
	return got;
}

static long pin_msg(long share)
{
	struct {
		long type;
		char text[8192];
	} m = {.type = 1};
	long got = 0;
	while (got < share) {
		int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (id < 0) {
			show("msgget", -1);
			break;
		}
		long before = got;
		while (got < share && msgsnd(id, &m, sizeof(m.text), IPC_NOWAIT) == 0)
			got += (long)sizeof(m.text);
		if (got == before)
			break;
	}
	return got;
}

/* SysV semaphore arrays of as many semaphores as the kernel allows (64
 * bytes of kernel memory each) until share bytes or a refusal. */
static long pin_sem(long share)
{
	long got = 0;
	int n = 32000;
	while (got < share && n > 0) {
		if (semget(IPC_PRIVATE, n, IPC_CREAT | 0600) < 0) {
			if (errno == EINVAL) { /* above semmsl */
				n /= 2;
				continue;
			}
			show("semget", -1);
			break;
		}
		got += (long)n * 64;
	}
	return got;
}

/* Files in a tmpfs (/dev/shm, /tmp) until ENOSPC or share bytes. */
static long pin_tmpfs(const char *dir, long share)
{
	long got = 0;
	for (int i = 0; got < share; i++) {
		char p[256];
		snprintf(p, sizeof(p), "%s/pin-%d", dir, i);
		int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0) {
			show("open in tmpfs", -1);
			break;
		}
		long n = fill(fd, share - got < 16 * MIB ? share - got : 16 * MIB);
		int e = errno;
		close(fd);
		got += n;
		if (n < 16 * MIB && got < share) {
			errno = e;
			show("write in tmpfs", -1);
			break;
		}
	}
	return got;
}

static void inotify_instances(void)
{
	int n = 0;
	while (n < 100000) {
		int fd = inotify_init1(IN_CLOEXEC);
		if (fd < 0) {
			show("inotify_init1", -1);
			break;
		}
		n++;
	}
	say("holding %d inotify instances", n);
	hold();
}

/* Watches on nfiles files from as many inotify instances as the box may
 * have, until the kernel refuses. */
static void inotify_watches(long nfiles)
{
	int inst[1024], ni = 0;
	while (ni < 1024 && (inst[ni] = inotify_init1(IN_CLOEXEC)) >= 0)
		ni++;
	long n = 0;
	for (long f = 0; f < nfiles; f++) {
		char p[64];
		snprintf(p, sizeof(p), "/tmp/w-%ld", f);
		int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0) {
			nfiles = f;
			break;
		}
		close(fd);
	}
	bool full = false;
	for (int i = 0; i < ni && !full; i++)
		for (long f = 0; f < nfiles; f++) {
			char p[64];
			snprintf(p, sizeof(p), "/tmp/w-%ld", f);
			if (inotify_add_watch(inst[i], p, IN_MODIFY) < 0) {
				show("inotify_add_watch", -1);
				full = true;
				break;
			}
			n++;
		}
	say("holding %ld inotify watches in %d instances", n, ni);
	hold();
}

static void sigqueue_fill(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &s, NULL);
	long n = 0;
	union sigval v = {0};
	while (n < 10000000 && sigqueue(getpid(), SIGRTMIN, v) == 0)
		n++;
	show("sigqueue(self, SIGRTMIN)", -1);
	say("holding %ld queued signals", n);
	hold();
}

static void procs_fill(void)
{
	pid_t kids[8192];
	int n = 0;
	while (n < 8192) {
		pid_t pid = fork();
		if (pid == 0) {
			pause();
			_exit(0);
		}
		if (pid < 0) {
			show("fork", -1);
			break;
		}
		kids[n++] = pid;
	}
	say("holding %d processes", n);
	hold();
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
}

/* POSIX message queues: refused (mq_* are not in the allowlist), so
 * RLIMIT_MSGQUEUE bytes cannot be taken from the user either. */
static void mqueue(void)
{
	struct mq_attr a = {.mq_maxmsg = 10, .mq_msgsize = 8192};
	mqd_t q = mq_open("/ward-escape", O_CREAT | O_RDWR | O_CLOEXEC, 0600, &a);
	deny("mq_open(/ward-escape, O_CREAT)", q);
	if (q >= 0)
		mq_unlink("/ward-escape");
	struct rlimit rl;
	if (getrlimit(RLIMIT_MSGQUEUE, &rl) == 0)
		say("RLIMIT_MSGQUEUE soft %llu hard %llu", (unsigned long long)rl.rlim_cur,
		    (unsigned long long)rl.rlim_max);
}

static void userns(void)
{
	for (int i = 0; i < 3; i++) {
		deny("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER));
		pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);
		if (pid == 0)
			_exit(0);
		if (deny("clone(CLONE_NEWUSER)", pid) > 0)
			waitpid(pid, NULL, 0);
	}
}

/* Probes, run outside the box: is the resource still available? */
static int probe(const char *what)
{
	if (!strcmp(what, "probe-inotify"))
		return show("inotify_init1", inotify_init1(IN_CLOEXEC)) < 0;
	if (!strcmp(what, "probe-watch")) {
		int fd = inotify_init1(IN_CLOEXEC);
		if (show("inotify_init1", fd) < 0)
			return 1;
		return show("inotify_add_watch(/)", inotify_add_watch(fd, "/", IN_MODIFY)) < 0;
	}
	if (!strcmp(what, "probe-sigqueue")) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGRTMIN);
		sigprocmask(SIG_BLOCK, &s, NULL);
		union sigval v = {0};
		return show("sigqueue(self, SIGRTMIN)", sigqueue(getpid(), SIGRTMIN, v)) < 0;
	}
	if (!strcmp(what, "probe-pipe")) {
		int p[2];
		if (show("pipe", pipe(p)) < 0)
			return 1;
		return show("fcntl(F_SETPIPE_SZ, 1 MiB)", fcntl(p[1], F_SETPIPE_SZ, 1 << 20)) < 0;
	}
	if (!strcmp(what, "probe-fork")) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (show("fork", pid) < 0)
			return 1;
		waitpid(pid, NULL, 0);
		return 0;
	}
	if (!strcmp(what, "probe-userns")) {
		pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);
		if (pid == 0)
			_exit(0);
		if (show("clone(CLONE_NEWUSER)", pid) < 0)
			return 1;
		waitpid(pid, NULL, 0);
		return 0;
	}
	fprintf(stderr, "attack-pin: unknown probe '%s'\n", what);
	return 2;
}

/* Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS, or MAP_SHARED of
 * /dev/zero when zero is set) touched and then dropped from this
 * process's page tables with MADV_DONTNEED, 16 MiB at a time: the pages
 * stay in the kernel's shmem object, which no resident count sees. */
static long pin_shared(long cap, bool zero)
{
	int fd = zero ? open("/dev/zero", O_RDWR | O_CLOEXEC) : -1;
	if (zero && fd < 0)
		return show("open /dev/zero", -1), 0;
	char *m = mmap(NULL, (size_t)cap, PROT_READ | PROT_WRITE,
		       MAP_SHARED | (zero ? 0 : MAP_ANONYMOUS), fd, 0);
	if (m == MAP_FAILED)
		return show(zero ? "mmap(MAP_SHARED, /dev/zero)" : "mmap(MAP_SHARED|MAP_ANONYMOUS)", -1), 0;
	long got = 0;
	for (; got < cap; got += 16 * MIB) {
		memset(m + got, 0x5a, 16 * MIB);
		madvise(m + got, 16 * MIB, MADV_DONTNEED);
	}
	return got; /* the mapping (and fd) stay until the process exits */
}

/* vmsplice of one 4 KiB page of each 2 MiB transparent huge page into a
 * pipe, then munmap: each pipe slot keeps its whole huge page alive. */
static long pin_thp(long cap)
{
	const size_t hp = 2 * MIB, slots = 16;
	long got = 0;
	while (got < cap) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			return show("pipe", -1), got;
		size_t len = hp * (slots + 1);
		char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (raw == MAP_FAILED)
			return show("mmap", -1), got;
		char *m = (char *)(((unsigned long)raw + hp - 1) & ~(hp - 1));
		madvise(m, hp * slots, MADV_HUGEPAGE);
		for (size_t i = 0; i < slots; i++) {
			memset(m + i * hp, 1, hp);
			struct iovec iov = {m + i * hp, 4096};
			if (vmsplice(p[1], &iov, 1, 0) != 4096) {
				munmap(raw, len);
				return show("vmsplice", -1), got;
			}
			got += (long)hp;
		}
		munmap(raw, len);
	}
	return got;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strncmp(argv[1], "probe-", 6))
		return probe(argv[1]);
	if (argc < 3) {
		fprintf(stderr, "usage: attack-pin MODE SYNC [MIB]\n");
		return 2;
	}
	const char *mode = argv[1];
	holddir = argv[2];
	long cap = (argc > 3 ? atol(argv[3]) : 256) * MIB;
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(mode, "pipes"))
		spread(64, cap, pin_pipes);
	else if (!strcmp(mode, "stream"))
		spread(8, cap, pin_stream);
	else if (!strcmp(mode, "dgram"))
		spread(8, cap, pin_dgram);
	else if (!strcmp(mode, "shm")) {
		say("pinned %ld MiB of SysV shared memory", pin_shm(cap) / MIB);
		hold();
	} else if (!strcmp(mode, "msg")) {
		say("pinned %ld MiB in SysV message queues", pin_msg(cap) / MIB);
		hold();
	} else if (!strcmp(mode, "sem")) {
		say("pinned %ld MiB in SysV semaphore arrays", pin_sem(cap) / MIB);
		hold();
	} else if (!strcmp(mode, "devshm")) {
		say("pinned %ld MiB in /dev/shm", pin_tmpfs("/dev/shm", cap) / MIB);
		hold();
	} else if (!strcmp(mode, "shmanon") || !strcmp(mode, "shmzero")) {
		say("pinned %ld MiB of shared anonymous memory", pin_shared(cap, mode[3] == 'z') / MIB);
		hold();
	} else if (!strcmp(mode, "thp")) {
		say("pinned about %ld MiB of huge pages in pipes", pin_thp(cap) / MIB);
		hold();
	} else if (!strcmp(mode, "inotify"))
		inotify_instances();
	else if (!strcmp(mode, "watches"))
		inotify_watches(argc > 3 ? atol(argv[3]) : 8000);
	else if (!strcmp(mode, "sigqueue"))
		sigqueue_fill();
	else if (!strcmp(mode, "procs"))
		procs_fill();
	else if (!strcmp(mode, "mqueue"))
		mqueue();
	else if (!strcmp(mode, "userns"))
		userns();
	else {
		fprintf(stderr, "attack-pin: unknown mode '%s'\n", mode);
		return 2;
	}
	return attack_exit();
}
