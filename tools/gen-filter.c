/* gen-filter.c — builds ward's seccomp allowlist with libseccomp at build
 * time and writes it out as a C array of BPF instructions.
 *
 * Why at build time: compiling this filter with libseccomp costs ~1.6 ms
 * per run on the target machines (bench/README.md), more than the whole rest of
 * the box. The filter does not depend on the policy: per-policy decisions
 * (which files, which executables, which ports) are made by the mount
 * namespace and Landlock, so one precompiled program serves every run.
 *
 * Usage: gen-filter OUTPUT.h [OUTPUT.pfc]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

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

static void add(scmp_filter_ctx ctx, uint32_t action, const char *name,
		unsigned argc, const struct scmp_arg_cmp *args)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR) {
		/* Unknown to this libseccomp: the default action covers it. */
		return;
	}
	int r = seccomp_rule_add_array(ctx, action, nr, argc, args);
	if (r < 0 && r != -EEXIST) {
		fprintf(stderr, "gen-filter: rule for '%s': %s\n", name, strerror(-r));
		exit(1);
	}
}

static void emit_names(FILE *out, const char *var, const char *const *names, size_t n)
{
	fprintf(out, "static const char *const %s[] = {\n", var);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "\t\"%s\",\n", names[i]);
	fprintf(out, "};\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: gen-filter OUTPUT.h [OUTPUT.pfc]\n");
		return 2;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
	if (!ctx)
		return 1;
	/* A syscall from a foreign ABI (i386 via int 0x80, x32) kills the whole
	 * process: only the native ABI is in the filter, and libseccomp routes
	 * every other architecture, and x32 numbers on x86_64, to this action. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0) {
		fprintf(stderr, "gen-filter: seccomp_attr_set failed\n");
		return 1;
	}

	for (size_t i = 0; i < sizeof(allowed) / sizeof(*allowed); i++)
		add(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL);
	for (size_t i = 0; i < sizeof(denied) / sizeof(*denied); i++) {
		if (!strcmp(denied[i], "name_to_handle_at"))
			continue; /* harmless without open_by_handle_at */
		add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0, NULL);
	}

	/* No set-user-ID or set-group-ID bit, from any call that sets a mode
	 * (open/creat/mkdir are ruled here, mknod is denied above): the box
	 * writes into a read-write grant as the directory's owner (an
	 * idmapped mount when ward runs as root), and a root-owned setuid file
	 * left in the host directory would be a way out of every box. The
	 * kernel truncates the mode to umode_t, so only the low bits matter
	 * and a mask on them cannot be bypassed with high bits. */
	static const struct {
		const char *name;
		unsigned arg; /* index of the mode argument */
	} mode_calls[] = {
		{"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2},
		{"open", 2},  {"openat", 3}, {"creat", 1},    {"mkdir", 1},
		{"mkdirat", 2},
	};
	for (size_t i = 0; i < sizeof(mode_calls) / sizeof(*mode_calls); i++) {
		unsigned a = mode_calls[i].arg;
		struct scmp_arg_cmp plain = {a, SCMP_CMP_MASKED_EQ, S_ISUID | S_ISGID, 0};
		struct scmp_arg_cmp suid = {a, SCMP_CMP_MASKED_EQ, S_ISUID, S_ISUID};
		struct scmp_arg_cmp sgid = {a, SCMP_CMP_MASKED_EQ, S_ISGID, S_ISGID};
		add(ctx, SCMP_ACT_ALLOW, mode_calls[i].name, 1, &plain);
		add(ctx, SCMP_ACT_ERRNO(EPERM), mode_calls[i].name, 1, &suid);
		add(ctx, SCMP_ACT_ERRNO(EPERM), mode_calls[i].name, 1, &sgid);
	}
	/* fallocate: only the modes the file-size limit bounds. Mode 0 past
	 * the end of a file is checked against RLIMIT_FSIZE; with
	 * FALLOC_FL_KEEP_SIZE it is not (blocks past the end, the size kept),
	 * and FALLOC_FL_INSERT_RANGE grows the size without the check, after
	 * which mode 0 fills it: either fills a read-write file grant without
	 * bound. Punching a hole (PUNCH_HOLE|KEEP_SIZE) frees space; ZERO_RANGE
	 * without KEEP_SIZE is bounded like mode 0. The rest is ENOSYS (the
	 * default): posix_fallocate uses mode 0. */
	const uint64_t falloc_ok[] = {0, 0x01 | 0x02 /* KEEP_SIZE|PUNCH_HOLE */, 0x10 /* ZERO_RANGE */};
	for (size_t i = 0; i < sizeof(falloc_ok) / sizeof(*falloc_ok); i++) {
		struct scmp_arg_cmp c = SCMP_A1(SCMP_CMP_EQ, falloc_ok[i]);
		add(ctx, SCMP_ACT_ALLOW, "fallocate", 1, &c);
	}

	/* openat2 carries its mode in a struct seccomp cannot read: ENOSYS
	 * (the default), and libcs and runtimes fall back to openat, whose
	 * mode is checked above. The broker answers openat2 the same way. */

	/* clone3 passes its flags in memory seccomp cannot read: answer ENOSYS
	 * so glibc and others fall back to clone(2), whose flags we check. */
	/* (That is the default action, so no rule is needed: libseccomp refuses
	 * a rule identical to the default.) */

	/* clone: no new namespaces (x86_64: flags are the first argument). */
	const uint64_t ns_flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
				  CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
				  CLONE_NEWCGROUP;
	struct scmp_arg_cmp clone_ok = SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags, 0);
	add(ctx, SCMP_ACT_ALLOW, "clone", 1, &clone_ok);

	/* ioctl is allowed here; the terminal-injection commands are refused by
	 * the hand-written prefix below (libseccomp cannot say "allow unless the
	 * masked value equals X": an unconditional rule supersedes conditional
	 * ones for the same syscall). */
	add(ctx, SCMP_ACT_ALLOW, "ioctl", 0, NULL);

	/* socket/socketpair: only unix, inet, inet6 (isolate learned this for
	 * AF_VSOCK; netlink, packet and the rest are not needed by programs). */
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
		for (size_t i = 0; i < sizeof(inet_ok) / sizeof(*inet_ok); i++) {
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

	char tmpl[] = "/tmp/gen-filter-XXXXXX";
	int fd = mkstemp(tmpl);
	if (fd < 0 || seccomp_export_bpf(ctx, fd) < 0) {
		fprintf(stderr, "gen-filter: export failed\n");
		return 1;
	}
	off_t len = lseek(fd, 0, SEEK_END);
	lseek(fd, 0, SEEK_SET);
	struct sock_filter *prog = malloc((size_t)len);
	if (!prog || read(fd, prog, (size_t)len) != len) {
		fprintf(stderr, "gen-filter: read back failed\n");
		return 1;
	}
	close(fd);
	unlink(tmpl);

	FILE *out = fopen(argv[1], "w");
	if (!out)
		return 1;
	size_t n = (size_t)len / sizeof(*prog);

	/* The prefix: on x86_64, ioctl(fd, cmd) with the LOW 32 bits of cmd
	 * equal to TIOCSTI, TIOCLINUX, TIOCSETD or TIOCCONS fails with EPERM.
	 * Only the low half is loaded, because the kernel truncates cmd to
	 * 32 bits: a rule comparing 64 bits lets TIOCSTI|0xffffffff00000000
	 * through (CVE-2019-10063). Everything else falls through to the
	 * libseccomp program, which starts with its own arch and x32 checks. */
	const uint32_t bad_ioctls[] = {TIOCSTI, TIOCLINUX, TIOCSETD, TIOCCONS};
	const size_t nbad = sizeof(bad_ioctls) / sizeof(*bad_ioctls);
	struct sock_filter pre[16];
	size_t np = 0;
	const size_t skip = 5 + nbad + 2; /* index of the first libseccomp insn */
	const size_t deny = skip - 1;
	pre[np++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4 /* arch */);
	pre[np] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003e /* AUDIT_ARCH_X86_64 */, 0, (uint8_t)(skip - np - 1));
	np++;
	pre[np++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0 /* nr */);
	pre[np] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 16 /* __NR_ioctl */, 0, (uint8_t)(skip - np - 1));
	np++;
	pre[np++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16 + 8 /* args[1], low half */);
	for (size_t i = 0; i < nbad; i++, np++)
		pre[np] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, bad_ioctls[i], (uint8_t)(deny - np - 1), 0);
	pre[np] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, (uint32_t)(skip - np - 1));
	np++;
	pre[np++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0x00050000u /* SECCOMP_RET_ERRNO */ | EPERM);
	if (np != skip) {
		fprintf(stderr, "gen-filter: prefix layout error\n");
		return 1;
	}
	fprintf(out, "/* Generated by tools/gen-filter.c: do not edit. */\n"
		     "#pragma once\n#include <linux/filter.h>\n"
		     "static const struct sock_filter ward_seccomp_filter[%zu] = {\n", np + n);
	for (size_t i = 0; i < np; i++)
		fprintf(out, "\t{0x%04x, %u, %u, 0x%08x},\n", pre[i].code,
			pre[i].jt, pre[i].jf, pre[i].k);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "\t{0x%04x, %u, %u, 0x%08x},\n", prog[i].code,
			prog[i].jt, prog[i].jf, prog[i].k);
	fprintf(out, "};\n");
	/* The tables the program came from, for tests/unit/test-filter.c,
	 * which runs the program above on crafted seccomp_data for every
	 * name (only there: the library has no use for them). */
	fprintf(out, "#ifdef WARD_FILTER_TABLES\n");
	emit_names(out, "ward_filter_allowed", allowed, sizeof(allowed) / sizeof(*allowed));
	emit_names(out, "ward_filter_denied", denied, sizeof(denied) / sizeof(*denied));
	fprintf(out, "static const unsigned ward_filter_bad_ioctls[] = {");
	for (size_t i = 0; i < nbad; i++)
		fprintf(out, "%s0x%x", i ? ", " : "", bad_ioctls[i]);
	fprintf(out, "};\n#endif\n");
	if (fclose(out) != 0)
		return 1;
	if (argc > 2) {
		int pfd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (pfd < 0 || seccomp_export_pfc(ctx, pfd) < 0)
			return 1;
		close(pfd);
	}
	seccomp_release(ctx);
	free(prog);
	return 0;
}
