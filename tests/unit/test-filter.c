/* test-filter.c — the generated seccomp programs, run in userspace.
 *
 * Some of what the filter refuses cannot be seen on every host: with
 * unprivileged bpf disabled, bpf(2) fails whatever the filter says, and
 * without i386 emulation an int $0x80 never reaches the filter. So the
 * escape tests for them pass even with the rule gone. Here the program
 * tools/gen-filter.c emitted (the very array src/lib/seccomp.c loads) is
 * run by a small classic-BPF interpreter on crafted seccomp_data, for
 * every syscall on the allow and deny lists, every other syscall number,
 * the terminal ioctls (also with high bits set, CVE-2019-10063) and the
 * foreign ABIs (i386, x32, others). The broker's notification filter and
 * both memory guards are checked the same way against the tables they
 * were made from (broker/calls.h, gen-filter.c's guard_refused), and all
 * of a box's programs together as the kernel stacks them. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <termios.h>

#include "broker/calls.h"
#include "check.h"

#define WARD_FILTER_TABLES
#include "seccomp-filter.h"

#define N(a) (sizeof(a) / sizeof(*(a)))
#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | (uint32_t)(e))
#define X32_BIT 0x40000000u

/* Runs a classic BPF program as the kernel's seccomp does: 32-bit loads
 * from struct seccomp_data, scratch memory, forward jumps only. Returns
 * the action, or 0xdeadbeef for a program the kernel would refuse (a bad
 * load, a jump out of range, a fall off the end). */
static uint32_t bpf_run(const struct sock_filter *prog, size_t len, const struct seccomp_data *d)
{
	uint32_t A = 0, X = 0, mem[BPF_MEMWORDS] = {0};
	const uint8_t *data = (const uint8_t *)d;
	for (size_t pc = 0; pc < len; pc++) {
		const struct sock_filter *f = &prog[pc];
		uint32_t k = f->k;
		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
			if (f->code == (BPF_LD | BPF_W | BPF_ABS)) {
				if (k % 4 || k + 4 > sizeof(*d))
					return 0xdeadbeef;
				memcpy(&A, data + k, 4);
			} else if (f->code == (BPF_LD | BPF_IMM)) {
				A = k;
			} else if (f->code == (BPF_LD | BPF_MEM) && k < BPF_MEMWORDS) {
				A = mem[k];
			} else {
				return 0xdeadbeef;
			}
			break;
		case BPF_LDX:
			if (f->code == (BPF_LDX | BPF_IMM))
				X = k;
			else if (f->code == (BPF_LDX | BPF_MEM) && k < BPF_MEMWORDS)
				X = mem[k];
			else
				return 0xdeadbeef;
			break;
		case BPF_ST:
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				return 0xdeadbeef;
			mem[k] = BPF_CLASS(f->code) == BPF_ST ? A : X;
			break;
		case BPF_ALU: {
			uint32_t v = BPF_SRC(f->code) == BPF_X ? X : k;
			switch (BPF_OP(f->code)) {
			case BPF_ADD: A += v; break;
			case BPF_SUB: A -= v; break;
			case BPF_MUL: A *= v; break;
			case BPF_DIV: if (!v) return 0xdeadbeef; A /= v; break;
			case BPF_MOD: if (!v) return 0xdeadbeef; A %= v; break;
			case BPF_AND: A &= v; break;
			case BPF_OR: A |= v; break;
			case BPF_XOR: A ^= v; break;
			case BPF_LSH: A = v < 32 ? A << v : 0; break;
			case BPF_RSH: A = v < 32 ? A >> v : 0; break;
			case BPF_NEG: A = -A; break;
			default: return 0xdeadbeef;
			}
			break;
		}
		case BPF_JMP: {
			size_t next;
			if (BPF_OP(f->code) == BPF_JA) {
				next = pc + 1 + k;
			} else {
				uint32_t v = BPF_SRC(f->code) == BPF_X ? X : k;
				bool t;
				switch (BPF_OP(f->code)) {
				case BPF_JEQ: t = A == v; break;
				case BPF_JGT: t = A > v; break;
				case BPF_JGE: t = A >= v; break;
				case BPF_JSET: t = (A & v) != 0; break;
				default: return 0xdeadbeef;
				}
				next = pc + 1 + (t ? f->jt : f->jf);
			}
			if (next >= len)
				return 0xdeadbeef;
			pc = next - 1;
			break;
		}
		case BPF_RET:
			if (BPF_RVAL(f->code) == BPF_K)
				return k;
			if (BPF_RVAL(f->code) == BPF_A)
				return A;
			return 0xdeadbeef;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				X = A;
			else
				A = X;
			break;
		default:
			return 0xdeadbeef;
		}
	}
	return 0xdeadbeef;
}

/* One of the generated programs, by name. */
#define PROG(p) {#p, p, N(p)}
struct prog {
	const char *name;
	const struct sock_filter *insns;
	size_t n;
};

static uint32_t run_prog(struct prog p, uint32_t arch, int nr, const uint64_t args[6])
{
	struct seccomp_data d = {.nr = nr, .arch = arch, .instruction_pointer = 0x401000};
	if (args)
		memcpy(d.args, args, sizeof(d.args));
	return bpf_run(p.insns, p.n, &d);
}

static uint32_t run_call(uint32_t arch, int nr, const uint64_t args[6])
{
	return run_prog((struct prog)PROG(ward_seccomp_filter), arch, nr, args);
}

static uint32_t native(int nr, uint64_t a0, uint64_t a1)
{
	const uint64_t args[6] = {a0, a1, 0, 0, 0, 0};
	return run_call(AUDIT_ARCH_X86_64, nr, args);
}

static uint32_t native3(int nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	const uint64_t args[6] = {a0, a1, a2, 0, 0, 0};
	return run_call(AUDIT_ARCH_X86_64, nr, args);
}

static int nr_of(const char *name)
{
	return seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);
}

/* Reports one syscall's verdict when it differs from the expected one. */
#define CHECK_ACTION(name, got, want)                                                      \
	do {                                                                               \
		uint32_t g_ = (got), w_ = (want);                                          \
		if (g_ != w_) {                                                            \
			printf("# %s:%d: %s: action 0x%08x, expected 0x%08x\n", __FILE__, \
			       __LINE__, (name), g_, w_);                                  \
			check_failed++;                                                    \
		}                                                                          \
	} while (0)

/* Arguments that exercise any argument check a rule might have. */
static const uint64_t odd_args[][2] = {
	{0, 0}, {1, 2}, {0xffffffffu, 0xffffffffffffffffull}, {0x7fffffff00000000ull, 3},
};

static bool listed(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

/* Every name on the deny list fails with EPERM, whatever its arguments
 * (name_to_handle_at is also on the allowlist: harmless without
 * open_by_handle_at, which is denied). */
static void test_denied(void)
{
	size_t seen = 0;
	for (size_t i = 0; i < N(ward_filter_denied); i++) {
		const char *name = ward_filter_denied[i];
		int nr = nr_of(name);
		if (nr < 0 || listed(ward_filter_allowed, N(ward_filter_allowed), name))
			continue; /* not an x86_64 syscall (vm86, ...) */
		seen++;
		for (size_t a = 0; a < N(odd_args); a++)
			CHECK_ACTION(name, native(nr, odd_args[a][0], odd_args[a][1]), RET_ERRNO(EPERM));
	}
	CHECK(seen > 100);
}

/* Calls whose escape tests a host can hide, and the rest of the attack
 * surface SECURITY.md names: each must be refused with EPERM even if it
 * fell off the deny list. */
static void test_must_deny(void)
{
	static const char *const must[] = {
		"bpf", "io_uring_setup", "io_uring_enter", "io_uring_register", "perf_event_open",
		"ptrace", "process_vm_readv", "process_vm_writev", "keyctl", "add_key",
		"request_key", "userfaultfd", "kexec_load", "init_module", "finit_module",
		"mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
		"fsmount", "unshare", "setns", "open_by_handle_at", "setuid", "setgid",
		"setresuid", "setgroups", "capset", "mknod", "mknodat", "iopl", "ioperm",
		"modify_ldt", "landlock_restrict_self", "pidfd_getfd", "kcmp", "setxattr",
		"fsetxattr", "lsetxattr", "memfd_secret", "mq_open", "syslog", "vhangup",
	};
	for (size_t i = 0; i < N(must); i++) {
		int nr = nr_of(must[i]);
		CHECK(nr >= 0);
		if (nr >= 0)
			CHECK_ACTION(must[i], native(nr, 0, 0), RET_ERRNO(EPERM));
	}
}

/* The allowlist is allowed; every other syscall number is refused:
 * nothing is let through by accident. */
static void test_allowlist_exact(void)
{
	static const char *const ruled[] = {"clone",  "ioctl",	  "socket",    "socketpair",
					    "prlimit64", "setpriority", "personality", "chmod",
					    "fchmod", "fchmodat", "fchmodat2", "open",
					    "openat", "creat",	  "mkdir",     "mkdirat",
					    "fallocate"};
	for (size_t i = 0; i < N(ward_filter_allowed); i++) {
		int nr = nr_of(ward_filter_allowed[i]);
		if (nr >= 0)
			CHECK_ACTION(ward_filter_allowed[i], native(nr, 0, 0), SECCOMP_RET_ALLOW);
	}
	for (int nr = 0; nr < 1024; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
		char label[64];
		snprintf(label, sizeof(label), "syscall %d (%s)", nr, name ? name : "?");
		bool ok = name && (listed(ward_filter_allowed, N(ward_filter_allowed), name) ||
				   listed(ruled, N(ruled), name));
		if (!ok) {
			uint32_t want = name && listed(ward_filter_denied, N(ward_filter_denied), name)
						? RET_ERRNO(EPERM)
						: RET_ERRNO(ENOSYS);
			CHECK_ACTION(label, native(nr, 0, 0), want);
		}
		free(name);
	}
	/* clone3 hides its flags in memory: ENOSYS sends libcs to clone. */
	CHECK_ACTION("clone3", native(nr_of("clone3"), 0, 0), RET_ERRNO(ENOSYS));
}

/* The conditional rules. */
static void test_argument_rules(void)
{
	int clone = nr_of("clone"), socket_nr = nr_of("socket"), pair = nr_of("socketpair");
	CHECK_ACTION("clone(SIGCHLD)", native(clone, 17, 0), SECCOMP_RET_ALLOW);
	CHECK_ACTION("clone(threads)", native(clone, CLONE_VM | CLONE_THREAD | CLONE_SIGHAND, 0),
		     SECCOMP_RET_ALLOW);
	static const uint64_t ns[] = {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
				      CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};
	for (size_t i = 0; i < N(ns); i++) {
		char label[64];
		snprintf(label, sizeof(label), "clone(0x%llx)", (unsigned long long)ns[i]);
		CHECK(native(clone, ns[i] | 17, 0) != SECCOMP_RET_ALLOW);
		CHECK_ACTION(label, native(clone, ns[i] | 17, 0), RET_ERRNO(ENOSYS));
	}
	CHECK_ACTION("socket(AF_UNIX)", native(socket_nr, AF_UNIX, 0), SECCOMP_RET_ALLOW);
	/* inet and inet6: TCP and UDP only (the type without its flags). */
	static const int inet[] = {AF_INET, AF_INET6};
	for (size_t f = 0; f < N(inet); f++) {
		CHECK_ACTION("socket(inet, SOCK_STREAM, 0)", native3(socket_nr, inet[f], SOCK_STREAM, 0),
			     SECCOMP_RET_ALLOW);
		CHECK_ACTION("socket(inet, SOCK_STREAM|SOCK_CLOEXEC, TCP)",
			     native3(socket_nr, inet[f], SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP),
			     SECCOMP_RET_ALLOW);
		CHECK_ACTION("socket(inet, SOCK_DGRAM|SOCK_NONBLOCK, UDP)",
			     native3(socket_nr, inet[f], SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_UDP),
			     SECCOMP_RET_ALLOW);
		static const uint64_t bad_protos[] = {IPPROTO_SCTP, IPPROTO_DCCP, IPPROTO_MPTCP,
						      IPPROTO_UDPLITE, 115 /* L2TP */};
		for (size_t i = 0; i < N(bad_protos); i++)
			CHECK(native3(socket_nr, inet[f], SOCK_STREAM, bad_protos[i]) != SECCOMP_RET_ALLOW);
		CHECK(native3(socket_nr, inet[f], SOCK_DGRAM, IPPROTO_ICMP) != SECCOMP_RET_ALLOW);
		CHECK(native3(socket_nr, inet[f], SOCK_RAW, 0) != SECCOMP_RET_ALLOW);
		CHECK(native3(socket_nr, inet[f], SOCK_STREAM, (1ull << 32) | IPPROTO_TCP) !=
		      SECCOMP_RET_ALLOW);
	}
	static const int bad_families[] = {AF_NETLINK, AF_PACKET, AF_VSOCK, AF_ALG, AF_KEY,
					   AF_BLUETOOTH, AF_XDP};
	for (size_t i = 0; i < N(bad_families); i++) {
		char label[64];
		snprintf(label, sizeof(label), "socket(family %d)", bad_families[i]);
		CHECK(native(socket_nr, (uint64_t)bad_families[i], 0) != SECCOMP_RET_ALLOW);
		/* High bits must not turn a refused family into an allowed one. */
		CHECK(native(socket_nr, (1ull << 32) | AF_UNIX, 0) != SECCOMP_RET_ALLOW);
	}
	CHECK_ACTION("socketpair(AF_UNIX)", native(pair, AF_UNIX, 0), SECCOMP_RET_ALLOW);
	CHECK(native(pair, AF_INET, 0) != SECCOMP_RET_ALLOW);
	CHECK_ACTION("prlimit64(0)", native(nr_of("prlimit64"), 0, 0), SECCOMP_RET_ALLOW);
	CHECK_ACTION("prlimit64(1)", native(nr_of("prlimit64"), 1, 0), RET_ERRNO(EPERM));
	CHECK_ACTION("prlimit64(1<<32)", native(nr_of("prlimit64"), 1ull << 32, 0), RET_ERRNO(EPERM));
	CHECK_ACTION("setpriority(who 0)", native(nr_of("setpriority"), 0, 0), SECCOMP_RET_ALLOW);
	CHECK_ACTION("setpriority(who 1)", native(nr_of("setpriority"), 0, 1), RET_ERRNO(EPERM));
	CHECK_ACTION("personality(query)", native(nr_of("personality"), 0xffffffffu, 0),
		     SECCOMP_RET_ALLOW);
	CHECK_ACTION("personality(PER_LINUX)", native(nr_of("personality"), PER_LINUX, 0),
		     SECCOMP_RET_ALLOW);
	CHECK(native(nr_of("personality"), PER_LINUX32, 0) != SECCOMP_RET_ALLOW);
	CHECK(native(nr_of("personality"), ADDR_NO_RANDOMIZE, 0) != SECCOMP_RET_ALLOW);

	/* No set-user-ID or set-group-ID bit from any call that sets a mode;
	 * high bits do not hide them (the kernel keeps only umode_t). */
	static const struct {
		const char *name;
		unsigned arg;
	} modes[] = {{"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2},
		     {"open", 2},  {"openat", 3}, {"creat", 1},    {"mkdir", 1},
		     {"mkdirat", 2}};
	for (size_t i = 0; i < N(modes); i++) {
		uint64_t args[6] = {0};
		int nr = nr_of(modes[i].name);
		args[modes[i].arg] = 0755;
		CHECK_ACTION(modes[i].name, run_call(AUDIT_ARCH_X86_64, nr, args), SECCOMP_RET_ALLOW);
		args[modes[i].arg] = 04755;
		CHECK_ACTION(modes[i].name, run_call(AUDIT_ARCH_X86_64, nr, args), RET_ERRNO(EPERM));
		args[modes[i].arg] = 02755;
		CHECK_ACTION(modes[i].name, run_call(AUDIT_ARCH_X86_64, nr, args), RET_ERRNO(EPERM));
		args[modes[i].arg] = (1ull << 32) | 04755;
		CHECK_ACTION(modes[i].name, run_call(AUDIT_ARCH_X86_64, nr, args), RET_ERRNO(EPERM));
	}
	/* fallocate: only the modes the file-size limit bounds. */
	int fa = nr_of("fallocate");
	CHECK_ACTION("fallocate(0)", native(fa, 3, 0), SECCOMP_RET_ALLOW);
	CHECK_ACTION("fallocate(PUNCH_HOLE|KEEP_SIZE)", native(fa, 3, 0x03), SECCOMP_RET_ALLOW);
	CHECK_ACTION("fallocate(ZERO_RANGE)", native(fa, 3, 0x10), SECCOMP_RET_ALLOW);
	CHECK(native(fa, 3, 0x01) != SECCOMP_RET_ALLOW);
	CHECK(native(fa, 3, 0x20) != SECCOMP_RET_ALLOW);
	CHECK(native(nr_of("openat2"), 0, 0) != SECCOMP_RET_ALLOW);
}

/* ioctl: the terminal-injection commands fail with EPERM on any fd (the
 * filter's answer, not the fd's), also with the high 32 bits set; others
 * pass. */
static void test_ioctl(void)
{
	int nr = nr_of("ioctl");
	static const struct {
		const char *name;
		uint32_t cmd;
	} bad[] = {{"TIOCSTI", TIOCSTI}, {"TIOCLINUX", TIOCLINUX}, {"TIOCSETD", TIOCSETD},
		   {"TIOCCONS", TIOCCONS}};
	for (size_t i = 0; i < N(bad); i++) {
		static const uint64_t high[] = {0, 0xffffffff00000000ull, 1ull << 32,
						0x8000000000000000ull};
		for (size_t h = 0; h < N(high); h++) {
			char label[80];
			snprintf(label, sizeof(label), "ioctl(%s | 0x%llx)", bad[i].name,
				 (unsigned long long)high[h]);
			for (uint64_t fd = 0; fd < 4; fd++)
				CHECK_ACTION(label, native(nr, fd, bad[i].cmd | high[h]), RET_ERRNO(EPERM));
		}
	}
	for (size_t i = 0; i < N(ward_filter_bad_ioctls); i++)
		CHECK_ACTION("ioctl(listed command)", native(nr, 0, ward_filter_bad_ioctls[i]),
			     RET_ERRNO(EPERM));
	CHECK_ACTION("ioctl(TCGETS)", native(nr, 0, TCGETS), SECCOMP_RET_ALLOW);
	CHECK_ACTION("ioctl(TIOCGWINSZ)", native(nr, 1, TIOCGWINSZ), SECCOMP_RET_ALLOW);
	CHECK_ACTION("ioctl(FIONREAD)", native(nr, 0, FIONREAD), SECCOMP_RET_ALLOW);
}

/* Other ABIs than x86_64's (the x32 numbers come with x86_64's arch). */
static const struct {
	const char *name;
	uint32_t arch;
} foreign_arches[] = {{"i386", AUDIT_ARCH_I386}, {"aarch64", AUDIT_ARCH_AARCH64},
		      {"arm", AUDIT_ARCH_ARM}, {"x86_64 big-endian bit", AUDIT_ARCH_X86_64 ^ 0x40000000u},
		      {"none", 0}};

/* A syscall from any other ABI kills the process: i386 (int $0x80, whose
 * numbers mean other calls), x32 (x86_64 numbers with bit 30 set) and any
 * other architecture. */
static void test_foreign_abi(void)
{
	for (size_t i = 0; i < N(foreign_arches); i++) {
		for (int nr = 0; nr < 512; nr++) {
			char label[64];
			snprintf(label, sizeof(label), "%s syscall %d", foreign_arches[i].name, nr);
			CHECK_ACTION(label, run_call(foreign_arches[i].arch, nr, NULL), SECCOMP_RET_KILL_PROCESS);
		}
	}
	/* i386 ioctl (54) with TIOCSTI: killed before any ioctl rule. */
	const uint64_t sti[6] = {0, TIOCSTI, 0, 0, 0, 0};
	CHECK_ACTION("i386 ioctl(TIOCSTI)", run_call(AUDIT_ARCH_I386, 54, sti), SECCOMP_RET_KILL_PROCESS);
	for (int nr = 0; nr < 1024; nr++) {
		char label[64];
		snprintf(label, sizeof(label), "x32 syscall %d", nr);
		CHECK_ACTION(label, run_call(AUDIT_ARCH_X86_64, (int)(X32_BIT | (uint32_t)nr), NULL),
			     SECCOMP_RET_KILL_PROCESS);
	}
}

static const struct call *brokered(int nr)
{
	for (size_t i = 0; i < N(calls); i++)
		if (calls[i].nr == nr)
			return &calls[i];
	return NULL;
}

/* The notification filter: every call in the broker's table goes to the
 * broker whatever its arguments, except the stat family with
 * AT_EMPTY_PATH in its flags (fstat, no path: allowed); every other
 * call, and every call of another ABI, is left to the allowlist. */
static void test_notify_filter(void)
{
	struct prog p = PROG(ward_notify_filter);
	size_t exempt = 0;
	for (int nr = 0; nr < 1024; nr++) {
		const struct call *c = brokered(nr);
		char label[64];
		snprintf(label, sizeof(label), "notify: syscall %d (%s)", nr, c ? c->name : "-");
		uint32_t want = c ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ALLOW;
		for (size_t a = 0; a < N(odd_args); a++) {
			const uint64_t args[6] = {odd_args[a][0], odd_args[a][1]};
			CHECK_ACTION(label, run_prog(p, AUDIT_ARCH_X86_64, nr, args), want);
		}
		/* AT_EMPTY_PATH in any argument is nothing special elsewhere. */
		bool stat = c && (c->op == OP_STAT || c->op == OP_STATX) && c->flags >= 0;
		for (int i = 0; i < 6; i++) {
			uint64_t args[6] = {0};
			args[i] = AT_EMPTY_PATH;
			if (!(stat && i == c->flags))
				CHECK_ACTION(label, run_prog(p, AUDIT_ARCH_X86_64, nr, args), want);
		}
		if (!stat)
			continue;
		/* fstat: the exemption, on the flags argument's low 32 bits. */
		exempt++;
		static const struct {
			uint64_t flags;
			bool notified;
		} flags[] = {{0, true},
			     {AT_SYMLINK_NOFOLLOW, true},
			     {1ull << 32, true},
			     {(uint64_t)AT_EMPTY_PATH << 32, true},
			     {AT_EMPTY_PATH, false},
			     {AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, false},
			     {AT_EMPTY_PATH | (1ull << 32), false}};
		for (size_t i = 0; i < N(flags); i++) {
			uint64_t args[6] = {3, 0, 0, 0, 0, 0};
			args[c->flags] = flags[i].flags;
			snprintf(label, sizeof(label), "notify: syscall %d flags 0x%llx", nr,
				 (unsigned long long)flags[i].flags);
			CHECK_ACTION(label, run_prog(p, AUDIT_ARCH_X86_64, nr, args),
				     flags[i].notified ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ALLOW);
		}
	}
	CHECK_INT(exempt, 2); /* newfstatat, statx */
	/* What the broker must see, whatever the table says. */
	static const char *const must[] = {"open", "openat", "creat", "execve", "execveat", "stat",
					   "newfstatat", "statx", "unlinkat", "renameat2", "linkat",
					   "connect", "bind"};
	for (size_t i = 0; i < N(must); i++)
		CHECK_ACTION(must[i], run_prog(p, AUDIT_ARCH_X86_64, nr_of(must[i]), NULL),
			     SECCOMP_RET_USER_NOTIF);
	/* Another ABI's numbers mean other calls: never sent to the broker,
	 * which reads arguments by x86_64's table (the allowlist kills them). */
	for (size_t i = 0; i < N(foreign_arches); i++)
		for (int nr = 0; nr < 1024; nr++)
			CHECK_ACTION(foreign_arches[i].name, run_prog(p, foreign_arches[i].arch, nr, NULL),
				     SECCOMP_RET_ALLOW);
	for (int nr = 0; nr < 1024; nr++)
		CHECK_ACTION("notify: x32", run_prog(p, AUDIT_ARCH_X86_64, (int)(X32_BIT | (uint32_t)nr), NULL),
			     SECCOMP_RET_ALLOW);
}

/* The memory guard's verdict for one call, from the table: EPERM when a
 * row names it (a by_count row only when memory is counted) and all the
 * row's bits are set in the low 32 bits of its argument. */
static uint32_t guard_want(bool by_count, int nr, const uint64_t args[6])
{
	for (size_t i = 0; i < N(ward_filter_guard); i++) {
		if (nr_of(ward_filter_guard[i].name) != nr || (ward_filter_guard[i].by_count && !by_count))
			continue;
		uint32_t bits = (uint32_t)ward_filter_guard[i].bits;
		if (ward_filter_guard[i].arg < 0 || ((uint32_t)args[ward_filter_guard[i].arg] & bits) == bits)
			return RET_ERRNO(EPERM);
	}
	return SECCOMP_RET_ALLOW;
}

/* Both memory guards against the table, on every syscall number with
 * the flag values that matter; the refusals every box needs, whatever
 * the table says; other ABIs left to the allowlist. */
static void test_memory_guard(void)
{
	static const uint64_t flags[] = {
		0, MAP_PRIVATE | MAP_ANONYMOUS, MAP_SHARED | MAP_ANONYMOUS,
		MAP_SHARED_VALIDATE | MAP_ANONYMOUS, MAP_SHARED, MAP_ANONYMOUS,
		MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED | (1ull << 32),
		(uint64_t)(MAP_SHARED | MAP_ANONYMOUS) << 32, 0xffffffffffffffffull};
	CHECK(N(ward_filter_guard) >= 6);
	for (int by_count = 0; by_count < 2; by_count++) {
		struct prog p = by_count ? (struct prog)PROG(ward_memory_guard_by_count)
					 : (struct prog)PROG(ward_memory_guard);
		for (int nr = 0; nr < 1024; nr++) {
			for (size_t f = 0; f < N(flags); f++) {
				for (int a = 0; a < 6; a++) {
					uint64_t args[6] = {0};
					args[a] = flags[f];
					char label[96];
					snprintf(label, sizeof(label), "%s: syscall %d arg %d = 0x%llx", p.name,
						 nr, a, (unsigned long long)flags[f]);
					CHECK_ACTION(label, run_prog(p, AUDIT_ARCH_X86_64, nr, args),
						     guard_want(by_count, nr, args));
				}
			}
		}
		static const char *const always[] = {"memfd_create", "shmget", "msgget"};
		for (size_t i = 0; i < N(always); i++)
			CHECK_ACTION(always[i], run_prog(p, AUDIT_ARCH_X86_64, nr_of(always[i]), NULL),
				     RET_ERRNO(EPERM));
		static const char *const counted[] = {"semget", "vmsplice"};
		for (size_t i = 0; i < N(counted); i++)
			CHECK_ACTION(counted[i], run_prog(p, AUDIT_ARCH_X86_64, nr_of(counted[i]), NULL),
				     by_count ? RET_ERRNO(EPERM) : SECCOMP_RET_ALLOW);
		const uint64_t shared_anon[6] = {0, 4096, 3, MAP_SHARED | MAP_ANONYMOUS, (uint64_t)-1, 0};
		const uint64_t private_anon[6] = {0, 4096, 3, MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0};
		CHECK_ACTION("mmap(MAP_SHARED|MAP_ANONYMOUS)",
			     run_prog(p, AUDIT_ARCH_X86_64, nr_of("mmap"), shared_anon),
			     by_count ? RET_ERRNO(EPERM) : SECCOMP_RET_ALLOW);
		const uint64_t validate_anon[6] = {0, 4096, 3, MAP_SHARED_VALIDATE | MAP_ANONYMOUS,
						   (uint64_t)-1, 0};
		const uint64_t shared_file[6] = {0, 4096, 3, MAP_SHARED, 3, 0};
		CHECK_ACTION("mmap(MAP_SHARED_VALIDATE|MAP_ANONYMOUS)",
			     run_prog(p, AUDIT_ARCH_X86_64, nr_of("mmap"), validate_anon),
			     by_count ? RET_ERRNO(EPERM) : SECCOMP_RET_ALLOW);
		CHECK_ACTION("mmap(MAP_PRIVATE|MAP_ANONYMOUS)",
			     run_prog(p, AUDIT_ARCH_X86_64, nr_of("mmap"), private_anon), SECCOMP_RET_ALLOW);
		CHECK_ACTION("mmap(MAP_SHARED, file)",
			     run_prog(p, AUDIT_ARCH_X86_64, nr_of("mmap"), shared_file), SECCOMP_RET_ALLOW);
		for (size_t i = 0; i < N(foreign_arches); i++)
			for (int nr = 0; nr < 1024; nr++)
				CHECK_ACTION(foreign_arches[i].name,
					     run_prog(p, foreign_arches[i].arch, nr, NULL), SECCOMP_RET_ALLOW);
	}
}

/* The kernel runs every stacked filter and takes the answer that comes
 * first in its order of precedence: the lowest action as a signed value
 * (KILL_PROCESS is 0x80000000), kernel/seccomp.c seccomp_run_filters. */
static uint32_t stacked(const struct prog *progs, size_t n, uint32_t arch, int nr,
			const uint64_t args[6])
{
	uint32_t ret = SECCOMP_RET_ALLOW;
	/* Newest (last loaded) first, as the kernel walks them: among equal
	 * actions the newest one's data (the errno) wins. */
	for (size_t i = n; i-- > 0;) {
		uint32_t r = run_prog(progs[i], arch, nr, args);
		if ((int32_t)(r & SECCOMP_RET_ACTION_FULL) < (int32_t)(ret & SECCOMP_RET_ACTION_FULL))
			ret = r;
	}
	return ret;
}

/* A brokered box's filters together (allowlist, memory guard, notify):
 * the guards never open a hole the allowlist closes. Another ABI is
 * killed whatever the call; a refusal of the allowlist wins over the
 * broker (a setuid mode, openat2's ENOSYS); a brokered call the
 * allowlist allows reaches the broker. */
static void test_stacked(void)
{
	for (int by_count = 0; by_count < 2; by_count++) {
		const struct prog box[] = {
			PROG(ward_seccomp_filter),
			by_count ? (struct prog)PROG(ward_memory_guard_by_count)
				 : (struct prog)PROG(ward_memory_guard),
			PROG(ward_notify_filter),
		};
		for (size_t i = 0; i < N(foreign_arches); i++)
			for (int nr = 0; nr < 1024; nr++)
				CHECK_ACTION(foreign_arches[i].name,
					     stacked(box, N(box), foreign_arches[i].arch, nr, NULL),
					     SECCOMP_RET_KILL_PROCESS);
		for (int nr = 0; nr < 1024; nr++) {
			CHECK_ACTION("stacked x32",
				     stacked(box, N(box), AUDIT_ARCH_X86_64, (int)(X32_BIT | (uint32_t)nr), NULL),
				     SECCOMP_RET_KILL_PROCESS);
			/* Each program's refusal stands in the stack. */
			for (size_t a = 0; a < N(odd_args); a++) {
				const uint64_t args[6] = {odd_args[a][0], odd_args[a][1]};
				uint32_t got = stacked(box, N(box), AUDIT_ARCH_X86_64, nr, args);
				for (size_t i = 0; i < N(box); i++) {
					uint32_t one = run_prog(box[i], AUDIT_ARCH_X86_64, nr, args);
					if (one != SECCOMP_RET_ALLOW && one != SECCOMP_RET_USER_NOTIF)
						CHECK(got != SECCOMP_RET_ALLOW && got != SECCOMP_RET_USER_NOTIF);
				}
			}
		}
		const uint64_t suid[6] = {(uint64_t)AT_FDCWD, 0, O_CREAT, 04755};
		CHECK_ACTION("stacked openat(04755)", stacked(box, N(box), AUDIT_ARCH_X86_64, nr_of("openat"), suid),
			     RET_ERRNO(EPERM));
		const uint64_t plain[6] = {(uint64_t)AT_FDCWD, 0, O_RDONLY, 0};
		CHECK_ACTION("stacked openat", stacked(box, N(box), AUDIT_ARCH_X86_64, nr_of("openat"), plain),
			     SECCOMP_RET_USER_NOTIF);
		CHECK_ACTION("stacked openat2", stacked(box, N(box), AUDIT_ARCH_X86_64, nr_of("openat2"), NULL),
			     RET_ERRNO(ENOSYS));
		CHECK_ACTION("stacked memfd_create",
			     stacked(box, N(box), AUDIT_ARCH_X86_64, nr_of("memfd_create"), NULL),
			     RET_ERRNO(EPERM));
	}
}

/* The interpreter itself: a check that could not fail would prove
 * nothing. */
static void test_interpreter(void)
{
	const struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 7, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf0),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct seccomp_data d = {.nr = 7};
	CHECK_U64(bpf_run(prog, N(prog), &d), SECCOMP_RET_ERRNO | 1);
	d.nr = 0x123;
	CHECK_U64(bpf_run(prog, N(prog), &d), 0x20);
	const struct sock_filter bad[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64)};
	CHECK_U64(bpf_run(bad, N(bad), &d), 0xdeadbeef);
}

int main(void)
{
	static const struct test tests[] = {
		TEST(test_interpreter), TEST(test_denied),	   TEST(test_must_deny),
		TEST(test_allowlist_exact), TEST(test_argument_rules), TEST(test_ioctl),
		TEST(test_foreign_abi), TEST(test_notify_filter), TEST(test_memory_guard),
		TEST(test_stacked),
	};
	return run_tests(tests, N(tests));
}
