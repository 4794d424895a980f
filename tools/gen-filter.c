/* gen-filter.c — every seccomp program ward loads, made with libseccomp
 * at build time from the tables below (and the broker's, broker/calls.h)
 * and written out as C arrays of BPF instructions (seccomp-filter.h):
 *   ward_seccomp_filter        the allowlist, in every box (seccomp.c)
 *   ward_notify_filter         the broker's calls to the controller
 *                              (SECCOMP_RET_USER_NOTIF), when a run has one
 *   ward_memory_guard          what no count of memory sees, refused
 *   ward_memory_guard_by_count the same and more, when init's count of
 *                              pages bounds memory instead of a cgroup
 * No jump is counted by hand: libseccomp lays out every program, the arch
 * checks included (the filters are the native arch's, x86_64's).
 *
 * Why at build time: compiling the allowlist with libseccomp costs ~1.6 ms
 * per run on the target machines (bench/README.md), more than the whole rest of
 * the box. The filters do not depend on the policy: per-policy decisions
 * (which files, which executables, which ports) are made by the mount
 * namespace and Landlock, so one precompiled program serves every run.
 *
 * Usage: gen-filter OUTPUT.h [OUTPUT.pfc]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/calls.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define N(a) (sizeof(a) / sizeof(*(a)))

/* Syscalls a program may make freely. Anything not listed here and not
 * given a rule below fails with ENOSYS (so libcs and runtimes fall back as
 * on an older kernel). */
static const char *const allowed[] = {
	/* files and fds */
	"read", "write", "close", "close_range", "stat", "fstat", "lstat", "newfstatat", "statx", "statfs",
	"fstatfs", "lseek", "pread64", "pwrite64", "readv", "writev",
	"preadv", "pwritev", "preadv2", "pwritev2", "access", "faccessat",
	"faccessat2", "dup", "dup2", "dup3", "fcntl", "flock", "fsync",
	"fdatasync", "truncate", "ftruncate", "fadvise64",
	"readahead", "getdents", "getdents64", "getcwd", "chdir", "fchdir",
	"rename", "renameat", "renameat2", "rmdir", "link",
	"linkat", "unlink", "unlinkat", "symlink", "symlinkat", "readlink",
	"readlinkat", "chown", "fchown", "lchown", "fchownat", "umask", "utime", "utimes",
	"utimensat", "futimesat", "sendfile", "copy_file_range", "splice",
	"tee", "vmsplice", "sync_file_range", "getxattr", "lgetxattr",
	"fgetxattr", "listxattr", "llistxattr", "flistxattr", "pipe", "pipe2",
	"memfd_create", "inotify_init", "inotify_init1", "inotify_add_watch",
	"inotify_rm_watch", "name_to_handle_at",
	/* memory */
	"brk", "mmap", "munmap", "mremap", "mprotect", "msync", "mincore",
	"madvise", "mlock", "mlock2", "munlock", "membarrier",
	"pkey_mprotect", "pkey_alloc", "pkey_free", "mseal", "get_mempolicy",
	"map_shadow_stack",
	/* polling, events, time */
	"poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd",
	"eventfd2", "signalfd", "signalfd4", "timerfd_create",
	"timerfd_settime", "timerfd_gettime", "nanosleep", "clock_nanosleep",
	"clock_gettime", "clock_getres", "gettimeofday", "time", "getitimer",
	"setitimer", "alarm", "timer_create", "timer_settime", "timer_gettime",
	"timer_getoverrun", "timer_delete", "pause",
	/* processes and threads (clone is ruled below) */
	"fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4",
	"waitid", "getpid", "getppid", "gettid", "getpgid", "setpgid",
	"getpgrp", "getsid", "setsid", "set_tid_address", "set_robust_list",
	"get_robust_list", "futex", "futex_waitv", "futex_wake", "futex_wait",
	"futex_requeue", "rseq", "arch_prctl", "prctl", "sched_yield",
	"sched_getaffinity", "sched_setaffinity", "sched_getparam",
	"sched_setparam", "sched_getscheduler", "sched_setscheduler",
	"sched_get_priority_max", "sched_get_priority_min",
	"sched_rr_get_interval", "sched_getattr", "sched_setattr", "getcpu",
	"getpriority", "ioprio_get", "getrlimit", "setrlimit", "getrusage", "times", "sysinfo", "uname",
	"restart_syscall", "pidfd_open", "pidfd_send_signal", "seccomp",
	/* identity (read-only) */
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"getgroups", "capget",
	/* signals */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending",
	"rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
	"rt_sigsuspend", "sigaltstack", "kill", "tkill", "tgkill",
	/* sockets (socket and socketpair are ruled below; the box has its own
	 * network namespace and Landlock rules for TCP) */
	"connect", "accept", "accept4", "bind", "listen", "sendto",
	"recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown",
	"getsockname", "getpeername", "setsockopt", "getsockopt",
	/* System V IPC: private to the box's IPC namespace */
	"semget", "semop", "semtimedop", "semctl", "shmget", "shmat", "shmdt",
	"shmctl", "msgget", "msgsnd", "msgrcv", "msgctl",
	"getrandom",
};

/* Explicitly refused with EPERM: the attack surface the issue names, plus
 * everything that changes the system or reaches outside the box. Listing
 * them (rather than leaving them to the ENOSYS default) documents intent
 * and gives programs the conventional "not permitted" answer. */
static const char *const denied[] = {
	"io_uring_setup", "io_uring_enter", "io_uring_register", "bpf",
	"perf_event_open", "ptrace", "process_vm_readv", "process_vm_writev",
	"process_madvise", "process_mrelease", "pidfd_getfd", "kcmp",
	"keyctl", "add_key", "request_key", "userfaultfd", "kexec_load",
	"kexec_file_load", "init_module", "finit_module", "delete_module",
	"reboot", "mount", "umount2", "pivot_root", "chroot", "move_mount",
	"open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
	"mount_setattr", "unshare", "setns", "open_by_handle_at", "swapon",
	"swapoff", "acct", "quotactl", "quotactl_fd", "settimeofday",
	"clock_settime", "clock_adjtime", "adjtimex", "sethostname",
	"setdomainname", "iopl", "ioperm", "modify_ldt", "syslog", "vhangup",
	"lookup_dcookie", "fanotify_init", "fanotify_mark", "name_to_handle_at",
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
	"setfsuid", "setfsgid", "setgroups", "capset", "mknod", "mknodat",
	"landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
	"memfd_secret", "set_mempolicy", "mbind", "migrate_pages",
	"move_pages", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
	"mq_notify", "mq_getsetattr", "io_setup", "io_destroy", "io_submit",
	"io_cancel", "io_getevents", "io_pgetevents", "setxattr", "lsetxattr",
	"fsetxattr", "removexattr", "lremovexattr", "fremovexattr", "sync",
	"syncfs", "remap_file_pages", "vm86", "vm86old", "uselib", "nfsservctl",
	"set_mempolicy_home_node", "lsm_get_self_attr", "lsm_set_self_attr",
	"lsm_list_modules", "statmount", "listmount", "mlockall", "munlockall",
	"set_thread_area", "get_thread_area", "uretprobe",
};

/* The terminal-injection ioctls, refused with EPERM on any fd. Only the
 * low 32 bits of the command are compared, because the kernel truncates
 * it to 32 bits: a rule comparing 64 bits lets TIOCSTI|0xffffffff00000000
 * through (CVE-2019-10063). */
static const uint32_t bad_ioctls[] = {TIOCSTI, TIOCLINUX, TIOCSETD, TIOCCONS};

/* The memory guard: a second filter, stacked over the allowlist (the
 * kernel applies the stricter answer of the two), refusing with EPERM
 * what creates memory that no count of the box's processes sees.
 *
 * Without a memory cgroup, memory is bounded by init's count of the box's
 * resident anonymous and shared pages (run.c). Some memory lives on
 * without being mapped by any process, so no such count sees it: memfd
 * files, System V shared memory segments and System V message queues
 * (kernel memory: msgmni queues of msgmnb bytes, 512 MiB with the default
 * sysctls). These three are refused in every box. memfd_create also
 * serves an exec allowlist: Landlock does not govern memfds, so an
 * execveat() of one would bypass it.
 *
 * by_count: refused only when memory is the count's (no memory cgroup):
 * - semget: System V semaphore arrays are kernel memory (64 bytes a
 *   semaphore, semmni arrays of semmsl: 1 GiB with the defaults), and the
 *   box cannot lower kernel.sem (the ipc sysctls are writable only by its
 *   namespace's uid 0, which ward does not map). With a memory cgroup they
 *   are charged to the box, so semget stays allowed there.
 * - mmap(MAP_SHARED or MAP_SHARED_VALIDATE | MAP_ANONYMOUS): the pages
 *   live in a shmem object that outlives any process's page tables
 *   (MADV_DONTNEED drops them from the counted RssShmem, or a forked
 *   keeper holds the mapping without touching it while short-lived
 *   children fill it). mremap cannot turn a private mapping into a shared
 *   one, and MAP_SHARED of /dev/zero is closed by the box's /dev/zero
 *   being /dev/full (run.c plan_filesystem), which has no mmap. Bit 0 of
 *   the flags is set exactly for those two map types (MAP_PRIVATE is 2,
 *   MAP_DROPPABLE 8); only the low 32 bits carry flags.
 * - vmsplice: a pipe slot of one 4 KiB page keeps the whole transparent
 *   huge page it came from alive after munmap (512 times what a pipe
 *   holds).
 * Foreign ABIs get no opinion here (ALLOW): the allowlist kills them. */
static const struct guard_rule {
	const char *name;
	bool by_count; /* only when init's count bounds memory */
	signed char arg; /* -1: refused whatever the arguments; else only */
	uint64_t bits;	 /* when all these bits of argument arg are set */
} guard_refused[] = {
	{"memfd_create", false, -1, 0},
	{"shmget", false, -1, 0},
	{"msgget", false, -1, 0},
	{"semget", true, -1, 0},
	{"vmsplice", true, -1, 0},
	{"mmap", true, 3, MAP_SHARED | MAP_ANONYMOUS},
};

struct program {
	struct sock_filter *insns;
	size_t n;
};

static _Noreturn void fail(const char *what, int err)
{
	fprintf(stderr, "gen-filter: %s%s%s\n", what, err ? ": " : "", err ? strerror(err) : "");
	exit(1);
}

/* A context for the native arch: def for a call no rule names, badarch for
 * a call from any other ABI (libseccomp also routes x32 numbers, bit 30
 * set on x86_64, to badarch). */
static scmp_filter_ctx new_filter(uint32_t def, uint32_t badarch)
{
	scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		fail("seccomp_init failed", 0);
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, badarch) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0)
		fail("seccomp_attr_set failed", 0);
	return ctx;
}

static void add_nr(scmp_filter_ctx ctx, uint32_t action, int nr, const char *name,
		   unsigned argc, const struct scmp_arg_cmp *args)
{
	int r = seccomp_rule_add_array(ctx, action, nr, argc, args);
	if (r < 0 && r != -EEXIST) {
		fprintf(stderr, "gen-filter: rule for '%s': %s\n", name, strerror(-r));
		exit(1);
	}
}

static void add(scmp_filter_ctx ctx, uint32_t action, const char *name,
		unsigned argc, const struct scmp_arg_cmp *args)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr < 0) {
		/* Unknown to this libseccomp, or a pseudo-call with no number
		 * here: a program that refuses by default covers it; one that
		 * allows by default would silently lose a refusal. */
		uint32_t def = SCMP_ACT_ALLOW;
		if (seccomp_attr_get(ctx, SCMP_FLTATR_ACT_DEFAULT, &def) < 0 ||
		    (def == SCMP_ACT_ALLOW && action != SCMP_ACT_ALLOW)) {
			fprintf(stderr, "gen-filter: '%s' has no number here: its refusal would be lost\n",
				name);
			exit(1);
		}
		return;
	}
	add_nr(ctx, action, nr, name, argc, args);
}

/* No set-user-ID or set-group-ID bit, from any call that sets a mode
 * (open/creat/mkdir are ruled here, mknod is denied): the box writes into
 * a read-write grant as the directory's owner (an idmapped mount when
 * ward runs as root), and a root-owned setuid file left in the host
 * directory would be a way out of every box. The kernel truncates the
 * mode to umode_t, so only the low bits matter and a mask on them cannot
 * be bypassed with high bits. */
static void rule_modes(scmp_filter_ctx ctx)
{
	static const struct {
		const char *name;
		unsigned arg; /* index of the mode argument */
	} mode_calls[] = {
		{"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2},
		{"open", 2},  {"openat", 3}, {"creat", 1},    {"mkdir", 1},
		{"mkdirat", 2},
	};
	for (size_t i = 0; i < N(mode_calls); i++) {
		unsigned a = mode_calls[i].arg;
		struct scmp_arg_cmp plain = {a, SCMP_CMP_MASKED_EQ, S_ISUID | S_ISGID, 0};
		struct scmp_arg_cmp suid = {a, SCMP_CMP_MASKED_EQ, S_ISUID, S_ISUID};
		struct scmp_arg_cmp sgid = {a, SCMP_CMP_MASKED_EQ, S_ISGID, S_ISGID};
		add(ctx, SCMP_ACT_ALLOW, mode_calls[i].name, 1, &plain);
		add(ctx, SCMP_ACT_ERRNO(EPERM), mode_calls[i].name, 1, &suid);
		add(ctx, SCMP_ACT_ERRNO(EPERM), mode_calls[i].name, 1, &sgid);
	}
}

/* socket/socketpair: only unix, inet, inet6 (isolate learned this for
 * AF_VSOCK; netlink, packet and the rest are not needed by programs). */
static void rule_sockets(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp unix_family = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
	add(ctx, SCMP_ACT_ALLOW, "socket", 1, &unix_family);
	/* inet and inet6: TCP and UDP only. The protocol (and, for protocol
	 * 0, the type, which picks the first protocol registered for it) is
	 * what reaches SCTP, DCCP (CVE-2017-6074), MPTCP, L2TP, UDP-Lite and
	 * ping sockets, each with its own history of kernel bugs and none
	 * needed by ordinary programs. The type is compared without its
	 * SOCK_NONBLOCK/SOCK_CLOEXEC flags; the protocol over all 64 bits, so
	 * high bits fail closed. Protocols above UDP get EPROTONOSUPPORT, what
	 * a kernel without them answers (Go probes MPTCP and falls back). */
	const int inet[] = {AF_INET, AF_INET6};
	const struct {
		int type, proto;
	} inet_ok[] = {{SOCK_STREAM, 0}, {SOCK_STREAM, IPPROTO_TCP},
		       {SOCK_DGRAM, 0},	 {SOCK_DGRAM, IPPROTO_UDP}};
	for (int f = 0; f < 2; f++) {
		for (size_t i = 0; i < N(inet_ok); i++) {
			struct scmp_arg_cmp c[3] = {
				SCMP_A0(SCMP_CMP_EQ, (uint64_t)inet[f]),
				SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, (uint64_t)inet_ok[i].type),
				SCMP_A2(SCMP_CMP_EQ, (uint64_t)inet_ok[i].proto),
			};
			add(ctx, SCMP_ACT_ALLOW, "socket", 3, c);
		}
		struct scmp_arg_cmp other[2] = {
			SCMP_A0(SCMP_CMP_EQ, (uint64_t)inet[f]),
			SCMP_A2(SCMP_CMP_GT, IPPROTO_UDP),
		};
		add(ctx, SCMP_ACT_ERRNO(EPROTONOSUPPORT), "socket", 2, other);
	}
	struct scmp_arg_cmp unix_only = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
	add(ctx, SCMP_ACT_ALLOW, "socketpair", 1, &unix_only);
}

/* The calls with their own rules: what their arguments may be. */
static void rule_arguments(scmp_filter_ctx ctx)
{
	/* fallocate: only the modes the file-size limit bounds. Mode 0 past
	 * the end of a file is checked against RLIMIT_FSIZE; with
	 * FALLOC_FL_KEEP_SIZE it is not (blocks past the end, the size kept),
	 * and FALLOC_FL_INSERT_RANGE grows the size without the check, after
	 * which mode 0 fills it: either fills a read-write file grant without
	 * bound. Punching a hole (PUNCH_HOLE|KEEP_SIZE) frees space; ZERO_RANGE
	 * without KEEP_SIZE is bounded like mode 0. The rest is ENOSYS (the
	 * default): posix_fallocate uses mode 0. */
	const uint64_t falloc_ok[] = {0, 0x01 | 0x02 /* KEEP_SIZE|PUNCH_HOLE */, 0x10 /* ZERO_RANGE */};
	for (size_t i = 0; i < N(falloc_ok); i++) {
		struct scmp_arg_cmp c = SCMP_A1(SCMP_CMP_EQ, falloc_ok[i]);
		add(ctx, SCMP_ACT_ALLOW, "fallocate", 1, &c);
	}

	/* openat2 carries its mode in a struct seccomp cannot read: ENOSYS
	 * (the default), and libcs and runtimes fall back to openat, whose
	 * mode is checked. The broker answers openat2 the same way. */

	/* clone3 passes its flags in memory seccomp cannot read: answer ENOSYS
	 * so glibc and others fall back to clone(2), whose flags we check.
	 * (That is the default action, so no rule is needed: libseccomp refuses
	 * a rule identical to the default.) */

	/* clone: no new namespaces (x86_64: flags are the first argument). */
	const uint64_t ns_flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
				  CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
				  CLONE_NEWCGROUP;
	struct scmp_arg_cmp clone_ok = SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags, 0);
	add(ctx, SCMP_ACT_ALLOW, "clone", 1, &clone_ok);

	/* ioctl is allowed here; the terminal-injection commands are refused
	 * by ioctl_filter, chained in front (libseccomp cannot say "allow
	 * unless the masked value equals X" in one program: an unconditional
	 * rule supersedes conditional ones for the same syscall, and a rule
	 * compares an argument once). */
	add(ctx, SCMP_ACT_ALLOW, "ioctl", 0, NULL);

	/* prlimit64 and setpriority on the calling process only (pid/who 0,
	 * what glibc's setrlimit and nice pass): the box's init has the same
	 * uid as the program, and lowering init's RLIMIT_NOFILE to 0 would
	 * blind its /proc counts (fork-bomb stop, memory count). Only an exact
	 * 0 passes, so high bits cannot smuggle another pid past the check. */
	struct scmp_arg_cmp self0 = SCMP_A0(SCMP_CMP_EQ, 0);
	add(ctx, SCMP_ACT_ALLOW, "prlimit64", 1, &self0);
	add(ctx, SCMP_ACT_ERRNO(EPERM), "prlimit64", 1,
	    (struct scmp_arg_cmp[]){SCMP_A0(SCMP_CMP_NE, 0)});
	struct scmp_arg_cmp who0 = SCMP_A1(SCMP_CMP_EQ, 0);
	add(ctx, SCMP_ACT_ALLOW, "setpriority", 1, &who0);
	add(ctx, SCMP_ACT_ERRNO(EPERM), "setpriority", 1,
	    (struct scmp_arg_cmp[]){SCMP_A1(SCMP_CMP_NE, 0)});

	/* personality: query (0xffffffff) and plain PER_LINUX only. */
	struct scmp_arg_cmp pq = SCMP_A0(SCMP_CMP_EQ, 0xffffffffu);
	struct scmp_arg_cmp pl = SCMP_A0(SCMP_CMP_EQ, PER_LINUX);
	add(ctx, SCMP_ACT_ALLOW, "personality", 1, &pq);
	add(ctx, SCMP_ACT_ALLOW, "personality", 1, &pl);
}

/* The allowlist proper: anything not listed and not ruled fails with
 * ENOSYS; a syscall from a foreign ABI (i386 via int 0x80, x32) kills the
 * whole process. */
static scmp_filter_ctx allowlist(void)
{
	scmp_filter_ctx ctx = new_filter(SCMP_ACT_ERRNO(ENOSYS), SCMP_ACT_KILL_PROCESS);
	for (size_t i = 0; i < N(allowed); i++)
		add(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL);
	for (size_t i = 0; i < N(denied); i++) {
		if (!strcmp(denied[i], "name_to_handle_at"))
			continue; /* harmless without open_by_handle_at */
		add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0, NULL);
	}
	rule_modes(ctx);
	rule_sockets(ctx);
	rule_arguments(ctx);
	return ctx;
}

/* The terminal ioctls (bad_ioctls), refused; every other call has no
 * opinion here (ALLOW), foreign ABIs included: chained in front of the
 * allowlist, which decides those. */
static scmp_filter_ctx ioctl_filter(void)
{
	scmp_filter_ctx ctx = new_filter(SCMP_ACT_ALLOW, SCMP_ACT_ALLOW);
	for (size_t i = 0; i < N(bad_ioctls); i++) {
		struct scmp_arg_cmp c = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, bad_ioctls[i]);
		add(ctx, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, &c);
	}
	return ctx;
}

/* The broker's calls (broker/calls.h) go to the controller
 * (SECCOMP_RET_USER_NOTIF); the rest is the allowlist's (ALLOW here).
 * Except the stat family with AT_EMPTY_PATH: that is fstat() (glibc's
 * fstat is newfstatat(fd, "", AT_EMPTY_PATH), a third of a python
 * start's stat calls), which names no path. A box passing a path with
 * that flag stats it unaudited, within the static layers: an audit gap,
 * not a boundary. Foreign ABIs are not notified (the broker reads
 * arguments by this table's x86_64 numbers): the allowlist kills them. */
static scmp_filter_ctx notify_filter(void)
{
	scmp_filter_ctx ctx = new_filter(SCMP_ACT_ALLOW, SCMP_ACT_ALLOW);
	for (size_t i = 0; i < N(calls); i++) {
		const struct call *c = &calls[i];
		if ((c->op == OP_STAT || c->op == OP_STATX) && c->flags >= 0) {
			struct scmp_arg_cmp path = {(unsigned)c->flags, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0};
			add_nr(ctx, SCMP_ACT_NOTIFY, c->nr, c->name, 1, &path);
		} else {
			add_nr(ctx, SCMP_ACT_NOTIFY, c->nr, c->name, 0, NULL);
		}
	}
	return ctx;
}

/* The memory guard (guard_refused); by_count adds the rules only a
 * count of memory needs. */
static scmp_filter_ctx memory_guard(bool by_count)
{
	scmp_filter_ctx ctx = new_filter(SCMP_ACT_ALLOW, SCMP_ACT_ALLOW);
	for (size_t i = 0; i < N(guard_refused); i++) {
		const struct guard_rule *g = &guard_refused[i];
		if (g->by_count && !by_count)
			continue;
		struct scmp_arg_cmp bits = {(unsigned)g->arg, SCMP_CMP_MASKED_EQ, g->bits, g->bits};
		add(ctx, SCMP_ACT_ERRNO(EPERM), g->name, g->arg < 0 ? 0 : 1, &bits);
	}
	return ctx;
}

/* The program libseccomp lays out for ctx. */
static struct program export_program(scmp_filter_ctx ctx)
{
	FILE *f = tmpfile();
	if (!f || seccomp_export_bpf(ctx, fileno(f)) < 0)
		fail("cannot export a program", errno);
	off_t len = lseek(fileno(f), 0, SEEK_END);
	struct program p = {malloc(len > 0 ? (size_t)len : 1), (size_t)len / sizeof(struct sock_filter)};
	if (len <= 0 || len % (off_t)sizeof(struct sock_filter) || !p.insns ||
	    pread(fileno(f), p.insns, (size_t)len, 0) != len)
		fail("cannot read back an exported program", errno);
	fclose(f);
	return p;
}

/* One program from two: first runs, and wherever it would allow, then
 * decides instead. first must answer only ALLOW ("no opinion") or its
 * refusals, with constant returns: each RET ALLOW becomes a jump to the
 * instruction after first's last (BPF_JA's offset is 32 bits wide, so
 * there is no range to count). */
static struct program chain(struct program first, struct program then)
{
	struct program p = {calloc(first.n + then.n, sizeof(*p.insns)), first.n + then.n};
	if (!p.insns)
		fail("out of memory", ENOMEM);
	for (size_t i = 0; i < first.n; i++) {
		struct sock_filter f = first.insns[i];
		if (BPF_CLASS(f.code) == BPF_RET && BPF_RVAL(f.code) != BPF_K)
			fail("chain: a return that is not a constant", 0);
		/* Anything but "no opinion" is final: it must be a refusal
		 * (ERRNO or stricter, the kernel's signed order), never LOG/TRACE/NOTIFY, which would end
		 * the program before the allowlist has its say. */
		if (BPF_CLASS(f.code) == BPF_RET && f.k != SECCOMP_RET_ALLOW &&
		    (int32_t)(f.k & SECCOMP_RET_ACTION_FULL) > (int32_t)SECCOMP_RET_ERRNO)
			fail("chain: the first program answers something weaker than a refusal", 0);
		if (f.code == (BPF_RET | BPF_K) && f.k == SECCOMP_RET_ALLOW)
			f = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, (uint32_t)(first.n - i - 1));
		p.insns[i] = f;
	}
	memcpy(p.insns + first.n, then.insns, then.n * sizeof(*p.insns));
	free(first.insns);
	free(then.insns);
	return p;
}

static void emit(FILE *out, const char *var, struct program p)
{
	fprintf(out, "static const struct sock_filter %s[%zu] = {\n", var, p.n);
	for (size_t i = 0; i < p.n; i++)
		fprintf(out, "\t{0x%04x, %u, %u, 0x%08x},\n", p.insns[i].code, p.insns[i].jt,
			p.insns[i].jf, p.insns[i].k);
	fprintf(out, "};\n");
	free(p.insns);
}

static void emit_names(FILE *out, const char *var, const char *const *names, size_t n)
{
	fprintf(out, "static const char *const %s[] = {\n", var);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "\t\"%s\",\n", names[i]);
	fprintf(out, "};\n");
}

/* The tables the programs came from, for tests/unit/test-filter.c, which
 * runs every program on crafted seccomp_data for every name (only there:
 * the library has no use for them). The broker's table it includes
 * itself. */
static void emit_tables(FILE *out)
{
	fprintf(out, "#ifdef WARD_FILTER_TABLES\n");
	emit_names(out, "ward_filter_allowed", allowed, N(allowed));
	emit_names(out, "ward_filter_denied", denied, N(denied));
	fprintf(out, "static const unsigned ward_filter_bad_ioctls[] = {");
	for (size_t i = 0; i < N(bad_ioctls); i++)
		fprintf(out, "%s0x%x", i ? ", " : "", bad_ioctls[i]);
	fprintf(out, "};\nstatic const struct {\n\tconst char *name;\n\tbool by_count;\n"
		     "\tint arg;\n\tunsigned long long bits;\n} ward_filter_guard[] = {\n");
	for (size_t i = 0; i < N(guard_refused); i++)
		fprintf(out, "\t{\"%s\", %s, %d, 0x%llx},\n", guard_refused[i].name,
			guard_refused[i].by_count ? "true" : "false", guard_refused[i].arg,
			(unsigned long long)guard_refused[i].bits);
	fprintf(out, "};\n#endif\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: gen-filter OUTPUT.h [OUTPUT.pfc]\n");
		return 2;
	}
	/* The tables' numbers and argument indices are x86_64's. */
	if (seccomp_arch_native() != BROKER_ARCH)
		fail("the syscall tables are x86_64's; this is another arch", 0);
	/* The actions are fixed by the API level, not probed on the build
	 * host's kernel (5: KILL_PROCESS, USER_NOTIF). */
	if (seccomp_api_set(5) < 0)
		fail("libseccomp has no API level 5", 0);

	const struct {
		const char *var;
		scmp_filter_ctx ctx;
		scmp_filter_ctx prefix; /* chained in front, or NULL */
	} programs[] = {
		{"ward_seccomp_filter", allowlist(), ioctl_filter()},
		{"ward_notify_filter", notify_filter(), NULL},
		{"ward_memory_guard", memory_guard(false), NULL},
		{"ward_memory_guard_by_count", memory_guard(true), NULL},
	};
	FILE *out = fopen(argv[1], "w");
	if (!out)
		fail(argv[1], errno);
	fprintf(out, "/* Generated by tools/gen-filter.c: do not edit. */\n"
		     "#pragma once\n#include <linux/filter.h>\n#include <stdbool.h>\n");
	int pfc = argc > 2 ? open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	if (argc > 2 && pfc < 0)
		fail(argv[2], errno);
	for (size_t i = 0; i < N(programs); i++) {
		struct program p = export_program(programs[i].ctx);
		if (programs[i].prefix)
			p = chain(export_program(programs[i].prefix), p);
		emit(out, programs[i].var, p);
		if (pfc >= 0) {
			dprintf(pfc, "# %s%s\n", programs[i].var,
				programs[i].prefix ? " (after the ioctl prefix)" : "");
			if (seccomp_export_pfc(programs[i].ctx, pfc) < 0)
				fail(argv[2], 0);
		}
		seccomp_release(programs[i].ctx);
		if (programs[i].prefix)
			seccomp_release(programs[i].prefix);
	}
	emit_tables(out);
	if (fclose(out) != 0 || (pfc >= 0 && close(pfc) != 0))
		fail("cannot write the output", errno);
	return 0;
}
