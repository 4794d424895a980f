/* limits.c — per-process limits (rlimits) and the capability drop.
 *
 * rlimits are the floor every box gets, cgroup or not: CPU seconds, file
 * size, open files and no core dumps always; processes and memory too
 * when no cgroup enforces them. RLIMIT_NPROC is counted per user in the
 * box's own user namespace (ucounts, Linux >= 5.14), so it bounds the
 * box's processes without being confused by the host user's others. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "box.h"

#ifndef SECBIT_NOROOT
#define SECBIT_NOROOT (1 << 0)
#define SECBIT_NOROOT_LOCKED (1 << 1)
#define SECBIT_NO_SETUID_FIXUP (1 << 2)
#define SECBIT_NO_SETUID_FIXUP_LOCKED (1 << 3)
#define SECBIT_KEEP_CAPS_LOCKED (1 << 5)
#define SECBIT_NO_CAP_AMBIENT_RAISE (1 << 6)
#define SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED (1 << 7)
#endif

static int set1(int res, const char *name, rlim_t soft, rlim_t hard,
		struct err *e)
{
	struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};
	if (setrlimit(res, &rl) < 0)
		return err_errno(e, errno, "cannot set %s", name);
	return 0;
}

int limits_apply_rlimits(const struct box_limits *l, struct err *e)
{
	int r;
	if ((r = set1(RLIMIT_CORE, "RLIMIT_CORE", 0, 0, e)) < 0)
		return r;
	/* Pending signals and POSIX mqueue bytes are counted per user, and
	 * what the box queues counts for its namespace's owner too (see
	 * ns_clone_box): an eighth of the caller's allowance of queued
	 * signals, so that one box cannot take them all; mq_* are refused by
	 * the filter, and no mqueue byte is allowed either. */
	struct rlimit sp;
	if (getrlimit(RLIMIT_SIGPENDING, &sp) == 0) {
		rlim_t n = sp.rlim_cur == RLIM_INFINITY ? 4096 : sp.rlim_cur / 8;
		if (n < 64)
			n = sp.rlim_cur < 64 ? sp.rlim_cur : 64;
		if ((r = set1(RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING", n, n, e)) < 0)
			return r;
	}
	if ((r = set1(RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", 0, 0, e)) < 0)
		return r;
	if (l->v[LIMIT_CPU_TIME]) {
		/* Soft limit: SIGXCPU at the limit (rounded up to a second);
		 * hard limit one second later: SIGKILL for those who catch it. */
		rlim_t s = (rlim_t)((l->v[LIMIT_CPU_TIME] + 999) / 1000);
		if ((r = set1(RLIMIT_CPU, "RLIMIT_CPU", s, s + 1, e)) < 0)
			return r;
	}
	if (l->v[LIMIT_FILE_SIZE] &&
	    (r = set1(RLIMIT_FSIZE, "RLIMIT_FSIZE", l->v[LIMIT_FILE_SIZE],
		      l->v[LIMIT_FILE_SIZE], e)) < 0)
		return r;
	if (l->v[LIMIT_OPEN_FILES] &&
	    (r = set1(RLIMIT_NOFILE, "RLIMIT_NOFILE", l->v[LIMIT_OPEN_FILES],
		      l->v[LIMIT_OPEN_FILES], e)) < 0)
		return r;
	if (l->v[LIMIT_PROCS] && !l->procs_by_cgroup &&
	    (r = set1(RLIMIT_NPROC, "RLIMIT_NPROC", l->v[LIMIT_PROCS],
		      l->v[LIMIT_PROCS], e)) < 0)
		return r;
	/* RLIMIT_DATA (private writable memory) rather than RLIMIT_AS:
	 * runtimes like V8 reserve large PROT_NONE ranges they never use.
	 * With headroom (box.h): init's count is what holds the limit. */
	if (l->v[LIMIT_MEMORY] && !l->memory_by_cgroup) {
		rlim_t data = limits_data_rlimit(l->v[LIMIT_MEMORY]);
		if ((r = set1(RLIMIT_DATA, "RLIMIT_DATA", data, data, e)) < 0)
			return r;
	}
	return 0;
}

uint64_t limits_data_rlimit(uint64_t memory)
{
	return memory > UINT64_MAX - DATA_HEADROOM ? UINT64_MAX : memory + DATA_HEADROOM;
}

/* Lowers the per-user quotas of the box's own user namespace to an
 * eighth of the host's per-user value. The kernel counts inotify
 * instances and watches per user at every namespace level up to the host
 * (ucounts), against each level's limit; a new namespace starts with no
 * limit of its own, so without this one box could take its host uid's
 * whole allowance from every other box and process of that uid. Needs
 * CAP_SYS_RESOURCE in the box's namespace: init calls it before it
 * becomes the box user. The files are per namespace: /proc/sys/user is
 * resolved in the writer's user namespace. */
int limits_apply_ns_quotas(struct err *e)
{
	static const struct {
		const char *host, *box;
	} q[] = {
		{"/proc/sys/fs/inotify/max_user_instances", "/proc/sys/user/max_inotify_instances"},
		{"/proc/sys/fs/inotify/max_user_watches", "/proc/sys/user/max_inotify_watches"},
	};
	for (size_t i = 0; i < sizeof(q) / sizeof(*q); i++) {
		char buf[32];
		long host = 0;
		int fd = open(q[i].host, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0) {
				buf[n] = 0;
				host = strtol(buf, NULL, 10);
			}
		}
		/* A kernel without inotify has neither file: nothing to bound. */
		if (host <= 0)
			continue;
		long box = host / 8 > 0 ? host / 8 : 1;
		snprintf(buf, sizeof(buf), "%ld\n", box);
		int r = write_file_at(AT_FDCWD, q[i].box, buf);
		if (r < 0)
			return err_errno(e, -r, "cannot write '%s'", q[i].box);
	}
	return 0;
}

int caps_drop_all(struct err *e)
{
	/* The bounding set holds capabilities 0 to the kernel's last one,
	 * with no gap (cap_valid()): the first EINVAL is past the end, and
	 * the end is the running kernel's, not these headers'. The bounding
	 * set only limits what an execve could grant, which no_new_privs,
	 * the locked securebits and the empty sets below already refuse; it
	 * is emptied anyway, as one more wall (41 calls here). */
	for (int c = 0; c <= 63; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			if (errno == EINVAL && c > 0)
				break;
			return err_errno(e, errno, "cannot drop capability %d from the bounding set", c);
		}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return err_errno(e, errno, "cannot clear ambient capabilities");
	/* No path back to privilege through uid 0 semantics, ever. */
	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			  SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
			  SECBIT_NO_CAP_AMBIENT_RAISE |
			  SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
		  0, 0, 0) < 0)
		return err_errno(e, errno, "cannot lock the securebits");
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};
	if (syscall(SYS_capset, &hdr, data) < 0)
		return err_errno(e, errno, "cannot clear capabilities");
	return 0;
}

/* One of the "SigIgn:" / "SigCgt:" masks of a /proc/PID/status text, or
 * false when it is not there. */
static bool status_mask(const char *status, const char *key, uint64_t *ret)
{
	const char *p = strstr(status, key);
	if (!p)
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p + strlen(key), &end, 16);
	/* Only a whole line counts: a status cut short by the read's
	 * buffer (a long Groups: line before it) would give a mask of its
	 * high digits only, and the low signals would keep their handlers. */
	if (errno || end == p + strlen(key) || *end != '\n')
		return false;
	*ret = v;
	return true;
}

int signals_default(void)
{
	/* execve resets caught signals but keeps ignored ones and the mask.
	 * The ones this process does not leave at their default are read
	 * from its own status (one open and read instead of a sigaction per
	 * signal); without /proc, every signal is reset. Caught ones are
	 * reset too, so that no handler of the controller's runs before the
	 * execve. */
	uint64_t set = ~(uint64_t)0, ign, cgt;
	char buf[1536];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		if (status_mask(buf, "\nSigIgn:\t", &ign) && status_mask(buf, "\nSigCgt:\t", &cgt))
			set = ign | cgt;
	}
	/* The kernel's own calls, not the libc's: libcs refuse to touch the
	 * signals they reserve (32-33 glibc, 32-34 musl), and an ignored one
	 * of those would survive the execve (34 is glibc programs' SIGRTMIN).
	 * The kernel's struct sigaction on x86-64; SIG_DFL needs no restorer. */
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} dfl = {SIG_DFL, 0, NULL, 0};
	for (int s = 1; s <= 64; s++)
		if (set & (1ULL << (s - 1)) && s != SIGKILL && s != SIGSTOP)
			syscall(SYS_rt_sigaction, s, &dfl, NULL, sizeof(uint64_t));
	uint64_t none = 0;
	return (int)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none));
}
