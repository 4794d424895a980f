/* attack-sys — privileged and kernel-attack-surface syscalls that must
 * fail in the box.
 *
 * usage: attack-sys mount GRANTED_DIR
 *        attack-sys ns
 *        attack-sys kernel
 *        attack-sys socket
 *        attack-sys priv
 *        attack-sys misc RW_DIR GRANTED_FILE
 * Every call is made with arguments that would be harmless on the host
 * even if it went through (bad magic numbers, invalid flags, nonexistent
 * paths: the kernel checks privilege before arguments). The exit status
 * counts the calls that worked; where a success would leave a trace on
 * the host (a marker in the read-only grant, a device node in the --rw
 * dir, the host's hostname), the driver checks that trace too. */
#include <grp.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <linux/nsfs.h>
#include <linux/perf_event.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "attack.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Writes a marker file into dir: proof that a remount made it writable. */
static void marker_in(const char *dir, const char *name)
{
	char p[PATH_MAX + 64], what[PATH_MAX + 128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	snprintf(what, sizeof(what), "open(%s, O_CREAT)", p);
	int fd = (int)deny(what, open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	if (fd >= 0)
		close(fd);
}

static void group_mount(const char *granted)
{
	mkdir("/tmp/m", 0755);
	mkdir("/tmp/m/old", 0755);
	deny("mount(tmpfs, /tmp/m)", mount("none", "/tmp/m", "tmpfs", 0, NULL));
	deny("mount(/usr, /tmp/m, MS_BIND)", mount("/usr", "/tmp/m", NULL, MS_BIND, NULL));
	deny("mount(proc, /tmp/m)", mount("proc", "/tmp/m", "proc", 0, NULL));
	deny("mount(sysfs, /tmp/m)", mount("sysfs", "/tmp/m", "sysfs", 0, NULL));
	deny("mount(cgroup2, /tmp/m)", mount("cgroup2", "/tmp/m", "cgroup2", 0, NULL));
	deny("mount(devpts, /tmp/m)", mount("devpts", "/tmp/m", "devpts", 0, "newinstance"));
	deny("mount(/, MS_REMOUNT|MS_BIND) read-write",
	     mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL));
	deny("mount(granted, MS_REMOUNT|MS_BIND) read-write",
	     mount(NULL, granted, NULL, MS_REMOUNT | MS_BIND, NULL));
	marker_in(granted, "MARK-remount");
	deny("mount(/, MS_SHARED|MS_REC)", mount(NULL, "/", NULL, MS_SHARED | MS_REC, NULL));
	deny("umount2(/proc, MNT_DETACH)", umount2("/proc", MNT_DETACH));
	deny("umount2(granted, MNT_DETACH)", umount2(granted, MNT_DETACH));

	int fs = (int)deny("fsopen(tmpfs)", fsopen("tmpfs", FSOPEN_CLOEXEC));
	if (fs >= 0) {
		deny("fsconfig(CMD_CREATE)", fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
		int m = (int)deny("fsmount", fsmount(fs, FSMOUNT_CLOEXEC, 0));
		if (m >= 0)
			deny("move_mount(fsmount, /tmp/m)",
			     move_mount(m, "", AT_FDCWD, "/tmp/m", MOVE_MOUNT_F_EMPTY_PATH));
	}
	int t = (int)deny("open_tree(/usr, OPEN_TREE_CLONE)",
			  open_tree(AT_FDCWD, "/usr", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
	if (t >= 0)
		deny("move_mount(open_tree, /tmp/m)",
		     move_mount(t, "", AT_FDCWD, "/tmp/m", MOVE_MOUNT_F_EMPTY_PATH));
	deny("move_mount(/usr -> /tmp/m)", move_mount(AT_FDCWD, "/usr", AT_FDCWD, "/tmp/m", 0));
	struct mount_attr attr = {.attr_clr = MOUNT_ATTR_RDONLY};
	deny("mount_setattr(granted, clear RDONLY)",
	     mount_setattr(AT_FDCWD, granted, 0, &attr, sizeof(attr)));
	marker_in(granted, "MARK-setattr");
	deny("chroot(/tmp)", chroot("/tmp"));
	deny("pivot_root(/tmp/m, /tmp/m/old)", syscall(SYS_pivot_root, "/tmp/m", "/tmp/m/old"));
}

/* clone(flags) with a child that exits at once. */
static void try_clone(const char *what, unsigned long flags)
{
	long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid == 0)
		_exit(0);
	if (deny(what, pid) > 0)
		waitpid((pid_t)pid, NULL, 0);
}

static void group_ns(void)
{
	static const struct {
		int flag;
		const char *name;
	} ns[] = {
		{CLONE_NEWUSER, "CLONE_NEWUSER"}, {CLONE_NEWNS, "CLONE_NEWNS"},
		{CLONE_NEWPID, "CLONE_NEWPID"},	  {CLONE_NEWNET, "CLONE_NEWNET"},
		{CLONE_NEWUTS, "CLONE_NEWUTS"},	  {CLONE_NEWIPC, "CLONE_NEWIPC"},
		{CLONE_NEWCGROUP, "CLONE_NEWCGROUP"}, {CLONE_NEWTIME, "CLONE_NEWTIME"},
	};
	char what[128];
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		snprintf(what, sizeof(what), "unshare(%s)", ns[i].name);
		deny(what, unshare(ns[i].flag));
		/* In clone()'s flags 0x80 is part of the exit signal (CSIGNAL):
		 * a time namespace needs unshare or clone3. */
		if (ns[i].flag == CLONE_NEWTIME)
			continue;
		snprintf(what, sizeof(what), "clone(%s)", ns[i].name);
		try_clone(what, (unsigned long)ns[i].flag);
	}
	try_clone("clone(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWPID)",
		  CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID);
	/* The kernel uses the low 32 bits of clone()'s flags. */
	try_clone("clone(CLONE_NEWUSER | 1 << 32)", (1UL << 32) | CLONE_NEWUSER);
	try_clone("clone(CLONE_NEWNS | 0xffffffff00000000)", 0xffffffff00000000UL | CLONE_NEWNS);
	/* clone3 must say ENOSYS so that libcs fall back to clone, whose flags
	 * the filter can see. */
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	} args = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		_exit(0);
	if (deny("clone3(CLONE_NEWUSER)", pid) > 0)
		waitpid((pid_t)pid, NULL, 0);
	else
		say("clone3 errno is %s (expected ENOSYS)", errno_name(errno));

	const char *types[] = {"mnt", "pid", "net", "uts", "ipc", "user", "cgroup", "time"};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/1/ns/%s", types[i]);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(what, sizeof(what), "open(%s)", p);
			show(what, fd);
			snprintf(p, sizeof(p), "/proc/self/ns/%s", types[i]);
			fd = open(p, O_RDONLY | O_CLOEXEC);
		}
		if (fd < 0)
			continue;
		snprintf(what, sizeof(what), "setns(%s)", p);
		deny(what, setns(fd, 0));
		close(fd);
	}
	int ufd = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	if (ufd >= 0) {
		int parent = (int)deny("ioctl(own user ns, NS_GET_PARENT)", ioctl(ufd, NS_GET_PARENT));
		if (parent >= 0)
			deny("setns(parent user ns)", setns(parent, CLONE_NEWUSER));
	}
	int self = (int)show("pidfd_open(self)", syscall(SYS_pidfd_open, getpid(), 0));
	if (self >= 0)
		deny("setns(pidfd, CLONE_NEWUSER|CLONE_NEWNS)", setns(self, CLONE_NEWUSER | CLONE_NEWNS));
}

/* personality() returns the old persona: whether the new one took effect
 * shows in a second query. */
static void try_personality(const char *what, unsigned long persona, unsigned long mask)
{
	int before = personality(0xffffffff);
	/* Raw syscall: glibc truncates the argument to 32 bits itself. */
	if (syscall(SYS_personality, persona) < 0) {
		deny(what, -1);
		return;
	}
	int now = personality(0xffffffff);
	if (now >= 0 && ((unsigned long)now & mask) == (persona & mask)) {
		deny(what, now);
		personality((unsigned long)before);
	} else {
		say("%s -> returned, but the persona is unchanged (%#x)", what, now);
	}
}

static void group_kernel(void)
{
	deny("keyctl(GET_KEYRING_ID, session)",
	     syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
	deny("keyctl(JOIN_SESSION_KEYRING)", syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL));
	deny("add_key(user)", syscall(SYS_add_key, "user", "ward-escape", "x", 1,
				      KEY_SPEC_PROCESS_KEYRING));
	deny("request_key(user)", syscall(SYS_request_key, "user", "ward-escape", NULL,
					  KEY_SPEC_PROCESS_KEYRING));

	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	deny("bpf(BPF_MAP_CREATE)", syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a)));
	struct bpf_insn prog[2] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uint64_t)(uintptr_t)prog;
	a.insn_cnt = 2;
	a.license = (uint64_t)(uintptr_t) "GPL";
	deny("bpf(BPF_PROG_LOAD socket filter)", syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a)));

	struct perf_event_attr pe;
	memset(&pe, 0, sizeof(pe));
	pe.type = PERF_TYPE_SOFTWARE;
	pe.size = sizeof(pe);
	pe.config = PERF_COUNT_SW_CPU_CLOCK;
	pe.disabled = 1;
	pe.exclude_kernel = 1;
	deny("perf_event_open(sw cpu clock, self)", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
	pe.type = PERF_TYPE_HARDWARE;
	pe.config = PERF_COUNT_HW_INSTRUCTIONS;
	deny("perf_event_open(hw instructions, self)", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));

	deny("userfaultfd(O_CLOEXEC)", syscall(SYS_userfaultfd, O_CLOEXEC));
	deny("userfaultfd(UFFD_USER_MODE_ONLY)", syscall(SYS_userfaultfd, O_CLOEXEC | 1));
	deny("open(/dev/userfaultfd)", open("/dev/userfaultfd", O_RDWR | O_CLOEXEC));

	deny("kexec_load(invalid flags)", syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL));
	deny("kexec_file_load(invalid flags)",
	     syscall(SYS_kexec_file_load, -1, -1, 0, "", 0xdead0000UL));
	static char junk[64] = "not a module";
	deny("init_module(junk)", syscall(SYS_init_module, junk, sizeof(junk), ""));
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	deny("finit_module(/dev/null)", syscall(SYS_finit_module, devnull, "", 0));
	deny("delete_module(nonexistent)",
	     syscall(SYS_delete_module, "ward_escape_none", O_NONBLOCK));
	deny("reboot(bad magic)", syscall(SYS_reboot, 0xdead, 0xbeef, 0, NULL));
	deny("swapon(/nonexistent)", syscall(SYS_swapon, "/nonexistent-ward", 0));
	deny("swapoff(/nonexistent)", syscall(SYS_swapoff, "/nonexistent-ward"));
	deny("acct(/nonexistent)", syscall(SYS_acct, "/nonexistent-ward"));
	deny("iopl(3)", syscall(SYS_iopl, 3));
	deny("ioperm(0x80, 1, 1)", syscall(SYS_ioperm, 0x80, 1, 1));
	deny("vhangup()", syscall(SYS_vhangup));
	deny("fanotify_init(FAN_CLASS_NOTIF)", fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY));
	struct {
		unsigned int handle_bytes;
		int handle_type;
		unsigned char f[8];
	} h = {.handle_bytes = 8, .handle_type = 1, .f = {2}};
	deny("open_by_handle_at(AT_FDCWD, ino 2)",
	     syscall(SYS_open_by_handle_at, AT_FDCWD, &h, O_RDONLY));
	show("personality(query)", personality(0xffffffff));
	try_personality("personality(READ_IMPLIES_EXEC|ADDR_NO_RANDOMIZE)",
			PER_LINUX | READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE,
			READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE);
	try_personality("personality(PER_LINUX32)", PER_LINUX32, PER_MASK);
	/* personality() takes an unsigned int: high bits vanish after the
	 * filter has looked at them. */
	try_personality("personality(0xffffffff00000000 | READ_IMPLIES_EXEC)",
			0xffffffff00000000UL | READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE,
			READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE);
	show("syslog(SIZE_BUFFER)", syscall(SYS_syslog, 10, NULL, 0));
	show("modify_ldt(read)", syscall(SYS_modify_ldt, 0, junk, sizeof(junk)));
	deny("mknod(/tmp/null, S_IFCHR 1:3)", mknod("/tmp/null", S_IFCHR | 0666, makedev(1, 3)));
	int nfd = open("/tmp/null", O_WRONLY | O_CLOEXEC);
	deny("open(/tmp/null char device)", nfd);
}

static void group_socket(void)
{
	static const struct {
		int family, type, proto;
		const char *name;
	} s[] = {
		{AF_NETLINK, SOCK_RAW, 0 /* NETLINK_ROUTE */, "AF_NETLINK/ROUTE"},
		{AF_NETLINK, SOCK_RAW, 9 /* NETLINK_AUDIT */, "AF_NETLINK/AUDIT"},
		{AF_NETLINK, SOCK_DGRAM, 15 /* NETLINK_KOBJECT_UEVENT */, "AF_NETLINK/UEVENT"},
		{AF_NETLINK, SOCK_RAW, 16 /* NETLINK_GENERIC */, "AF_NETLINK/GENERIC"},
		{AF_NETLINK, SOCK_RAW, 4 /* NETLINK_SOCK_DIAG */, "AF_NETLINK/SOCK_DIAG"},
		{AF_NETLINK, SOCK_RAW, 12 /* NETLINK_NETFILTER */, "AF_NETLINK/NETFILTER"},
		{AF_PACKET, SOCK_RAW, 0, "AF_PACKET/RAW"},
		{AF_PACKET, SOCK_DGRAM, 0, "AF_PACKET/DGRAM"},
		{AF_INET, SOCK_RAW, 255, "AF_INET/RAW"},
		{AF_INET, SOCK_PACKET, 0, "AF_INET/SOCK_PACKET"},
		{AF_INET6, SOCK_RAW, 255, "AF_INET6/RAW"},
		{AF_VSOCK, SOCK_STREAM, 0, "AF_VSOCK"},
		{AF_BLUETOOTH, SOCK_RAW, 0, "AF_BLUETOOTH"},
		{AF_ALG, SOCK_SEQPACKET, 0, "AF_ALG"},
		{AF_KEY, SOCK_RAW, 2, "AF_KEY"},
		{AF_TIPC, SOCK_RDM, 0, "AF_TIPC"},
		{AF_RDS, SOCK_SEQPACKET, 0, "AF_RDS"},
		{AF_CAN, SOCK_RAW, 1, "AF_CAN"},
		{AF_XDP, SOCK_RAW, 0, "AF_XDP"},
		{AF_NFC, SOCK_SEQPACKET, 0, "AF_NFC"},
		{AF_PPPOX, SOCK_STREAM, 0, "AF_PPPOX"},
		{AF_X25, SOCK_SEQPACKET, 0, "AF_X25"},
		{AF_AX25, SOCK_SEQPACKET, 0, "AF_AX25"},
		{AF_APPLETALK, SOCK_DGRAM, 0, "AF_APPLETALK"},
		{AF_LLC, SOCK_DGRAM, 0, "AF_LLC"},
		{AF_IEEE802154, SOCK_RAW, 0, "AF_IEEE802154"},
		{AF_SMC, SOCK_STREAM, 0, "AF_SMC"},
		{AF_QIPCRTR, SOCK_DGRAM, 0, "AF_QIPCRTR"},
		{AF_RXRPC, SOCK_DGRAM, 2, "AF_RXRPC"},
		{AF_PHONET, SOCK_DGRAM, 0, "AF_PHONET"},
		{AF_CAIF, SOCK_SEQPACKET, 0, "AF_CAIF"},
		{AF_ATMPVC, SOCK_DGRAM, 0, "AF_ATMPVC"},
		{AF_IPX, SOCK_DGRAM, 0, "AF_IPX"},
		{AF_ROSE, SOCK_SEQPACKET, 0, "AF_ROSE"},
		{AF_NETROM, SOCK_SEQPACKET, 0, "AF_NETROM"},
		{AF_KCM, SOCK_DGRAM, 0, "AF_KCM"},
		{45 /* AF_MCTP */, SOCK_DGRAM, 0, "AF_MCTP"},
		{AF_IB, SOCK_STREAM, 0, "AF_IB"},
		{AF_MPLS, SOCK_DGRAM, 0, "AF_MPLS"},
		{AF_ISDN, SOCK_RAW, 0, "AF_ISDN"},
		{AF_DECnet, SOCK_SEQPACKET, 0, "AF_DECnet"},
	};
	char what[128];
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		snprintf(what, sizeof(what), "socket(%s)", s[i].name);
		int fd = (int)deny(what, socket(s[i].family, s[i].type | SOCK_CLOEXEC, s[i].proto));
		if (fd >= 0)
			close(fd);
		snprintf(what, sizeof(what), "socketpair(%s)", s[i].name);
		int sv[2];
		if (deny(what, socketpair(s[i].family, s[i].type | SOCK_CLOEXEC, s[i].proto, sv)) == 0) {
			close(sv[0]);
			close(sv[1]);
		}
	}
	for (int fam = 0; fam < 64; fam++) {
		if (fam == AF_UNIX || fam == AF_INET || fam == AF_INET6)
			continue;
		for (int type = 1; type <= 5; type++) {
			int fd = socket(fam, type | SOCK_CLOEXEC, 0);
			if (fd >= 0) {
				snprintf(what, sizeof(what), "socket(family %d, type %d)", fam, type);
				deny(what, fd);
				close(fd);
			}
		}
	}
	/* The kernel reads the family and type as int: bits above 31 are
	 * dropped after the filter has compared all 64. */
	deny("socket(AF_NETLINK | 1 << 32)",
	     syscall(SYS_socket, (1UL << 32) | AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0));
	deny("socket(AF_PACKET | 1 << 32)",
	     syscall(SYS_socket, (1UL << 32) | AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
	deny("socket(AF_INET, SOCK_RAW | 1 << 32)",
	     syscall(SYS_socket, AF_INET, (1UL << 32) | SOCK_RAW | SOCK_CLOEXEC, 255));
	deny("socket(AF_NETLINK | 0xffffffff00000000)",
	     syscall(SYS_socket, 0xffffffff00000000UL | AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	/* Allowed: the families the box is meant to use. */
	show("socket(AF_UNIX, SOCK_STREAM)", socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	show("socket(AF_INET, SOCK_STREAM)", socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	show("socket(AF_INET6, SOCK_DGRAM)", socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
}

/* Counts a non-zero capability mask or a missing confinement in
 * /proc/self/status as a failure. */
static void check_status(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long v;
		char name[32];
		if (sscanf(line, "%31[^:]: %llx", name, &v) != 2)
			continue;
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(name, "Cap", 3)) {
			say("%s%s", line, v ? "  <- must be 0" : "");
			if (v)
				escaped_count++;
		} else if (!strcmp(name, "NoNewPrivs") || !strcmp(name, "Seccomp")) {
			bool ok = !strcmp(name, "NoNewPrivs") ? v == 1 : v == 2;
			say("%s%s", line, ok ? "" : "  <- unexpected");
			if (!ok)
				escaped_count++;
		}
	}
	if (f)
		fclose(f);
}

static void group_priv(void)
{
	check_status();
	show("getuid()", getuid());
	show("getgid()", getgid());
	deny("setuid(0)", setuid(0));
	deny("setgid(0)", setgid(0));
	deny("setresuid(0, 0, 0)", setresuid(0, 0, 0));
	deny("setreuid(0, 0)", setreuid(0, 0));
	gid_t g0 = 0;
	deny("setgroups([0])", setgroups(1, &g0));
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0xff, sizeof(data));
	deny("capset(all)", syscall(SYS_capset, &hdr, data));
	memset(data, 0, sizeof(data));
	data[0].permitted = data[0].effective = 1u << CAP_SYS_ADMIN;
	deny("capset(CAP_SYS_ADMIN)", syscall(SYS_capset, &hdr, data));
	deny("prctl(PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN)",
	     prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0));
	show("prctl(PR_GET_NO_NEW_PRIVS)", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	show("prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN)", prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0));
	int fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
	deny("write(/proc/self/uid_map, '0 0 1')", fd < 0 ? -1 : write(fd, "0 0 1\n", 6));
	fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
	deny("write(/proc/self/setgroups, 'allow')", fd < 0 ? -1 : write(fd, "allow", 5));

	static const struct {
		int res;
		const char *name;
	} rl[] = {{RLIMIT_NOFILE, "NOFILE"}, {RLIMIT_NPROC, "NPROC"}, {RLIMIT_FSIZE, "FSIZE"},
		  {RLIMIT_CORE, "CORE"}, {RLIMIT_CPU, "CPU"}, {RLIMIT_AS, "AS"}};
	for (size_t i = 0; i < sizeof(rl) / sizeof(rl[0]); i++) {
		struct rlimit r;
		getrlimit(rl[i].res, &r);
		say("RLIMIT_%s: soft %llu hard %llu", rl[i].name, (unsigned long long)r.rlim_cur,
		    (unsigned long long)r.rlim_max);
		if (r.rlim_max == RLIM_INFINITY)
			continue;
		struct rlimit up = {r.rlim_max + 1, r.rlim_max + 1};
		char what[64];
		snprintf(what, sizeof(what), "setrlimit(RLIMIT_%s, hard + 1)", rl[i].name);
		deny(what, setrlimit(rl[i].res, &up));
	}
	deny("setpriority(self, -10)", setpriority(PRIO_PROCESS, 0, -10));
	struct sched_param sp = {.sched_priority = 1};
	deny("sched_setscheduler(SCHED_FIFO)", sched_setscheduler(0, SCHED_FIFO, &sp));
	deny("ioprio_set(realtime)", syscall(SYS_ioprio_set, 1 /* WHO_PROCESS */, 0,
					     (1 /* CLASS_RT */ << 13) | 0));
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	show("sched_setaffinity(cpu 0)", sched_setaffinity(0, sizeof(set), &set));
}

static void group_misc(const char *rw, const char *granted_file)
{
	char p[PATH_MAX + 64], what[PATH_MAX + 128];
	say("== /proc and /sys knobs");
	deny("open(/proc/sysrq-trigger, O_WRONLY)", open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC));
	deny("open(/proc/sys/kernel/core_pattern, O_WRONLY)",
	     open("/proc/sys/kernel/core_pattern", O_WRONLY | O_CLOEXEC));
	deny("open(/proc/sys/kernel/modprobe, O_WRONLY)",
	     open("/proc/sys/kernel/modprobe", O_WRONLY | O_CLOEXEC));
	deny("open(/proc/sys/vm/drop_caches, O_WRONLY)",
	     open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC));
	deny("open(/proc/sys/kernel/ns_last_pid, O_WRONLY)",
	     open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC));
	int fd = (int)deny("open(/proc/sys/kernel/hostname, O_WRONLY)",
			   open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC));
	if (fd >= 0)
		show("write(hostname)", write(fd, "ward-escape-pwned", 17));
	deny("sethostname(ward-escape-pwned)", sethostname("ward-escape-pwned", 17));
	deny("setdomainname(ward-escape-pwned)", setdomainname("ward-escape-pwned", 17));
	deny("open(/proc/kcore)", open("/proc/kcore", O_RDONLY | O_CLOEXEC));
	deny("open(/sys/fs/cgroup/cgroup.procs, O_WRONLY)",
	     open("/sys/fs/cgroup/cgroup.procs", O_WRONLY | O_CLOEXEC));
	deny("open(/sys/kernel/uevent_helper, O_WRONLY)",
	     open("/sys/kernel/uevent_helper", O_WRONLY | O_CLOEXEC));
	list_dir("/sys");

	say("== devices");
	const char *devs[] = {"/dev/mem", "/dev/kmem", "/dev/port", "/dev/kmsg", "/dev/vda",
			      "/dev/sda", "/dev/nvme0n1", "/dev/net/tun", "/dev/fuse", "/dev/kvm",
			      "/dev/loop-control", "/dev/loop0", "/dev/tty", "/dev/console",
			      "/dev/ptmx", "/dev/vsock", "/dev/vhost-net", "/dev/hwrng",
			      "/dev/cpu/0/msr", NULL};
	for (int i = 0; devs[i]; i++) {
		snprintf(what, sizeof(what), "open(%s)", devs[i]);
		fd = (int)deny(what, open(devs[i], O_RDWR | O_CLOEXEC));
		if (fd >= 0)
			close(fd);
	}
	list_dir("/dev");
	snprintf(p, sizeof(p), "%s/dev-null", rw);
	snprintf(what, sizeof(what), "mknod(%s, S_IFCHR 1:3)", p);
	deny(what, mknod(p, S_IFCHR | 0666, makedev(1, 3)));
	snprintf(p, sizeof(p), "%s/dev-vda", rw);
	snprintf(what, sizeof(what), "mknod(%s, S_IFBLK 253:0)", p);
	deny(what, mknod(p, S_IFBLK | 0666, makedev(253, 0)));
	snprintf(p, sizeof(p), "%s/fifo", rw);
	snprintf(what, sizeof(what), "mknod(%s, S_IFIFO)", p);
	show(what, mknod(p, S_IFIFO | 0666, 0));

	say("== set-id bits in the --rw dir");
	snprintf(p, sizeof(p), "%s/suid", rw);
	fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0755);
	if (fd >= 0) {
		(void)!write(fd, "#!/bin/sh\nid\n", 13);
		close(fd);
	}
	snprintf(what, sizeof(what), "chmod(%s, 06755)", p);
	show(what, chmod(p, 06755));
	struct stat st;
	if (stat(p, &st) == 0)
		say("%s mode in the box: %o", p, st.st_mode & 07777);

	say("== hard links from a read-only grant into the --rw dir");
	snprintf(p, sizeof(p), "%s/hardlink", rw);
	snprintf(what, sizeof(what), "link(%s, %s)", granted_file, p);
	deny(what, link(granted_file, p));
	int ro = open(granted_file, O_RDONLY | O_CLOEXEC);
	if (ro >= 0) {
		char fdp[64];
		snprintf(fdp, sizeof(fdp), "/proc/self/fd/%d", ro);
		snprintf(p, sizeof(p), "%s/hardlink-proc", rw);
		snprintf(what, sizeof(what), "linkat(%s, %s, AT_SYMLINK_FOLLOW)", fdp, p);
		deny(what, linkat(AT_FDCWD, fdp, AT_FDCWD, p, AT_SYMLINK_FOLLOW));
		snprintf(p, sizeof(p), "%s/hardlink-empty", rw);
		snprintf(what, sizeof(what), "linkat(fd, \"\", %s, AT_EMPTY_PATH)", p);
		deny(what, linkat(ro, "", AT_FDCWD, p, AT_EMPTY_PATH));
		close(ro);
	}
	const char *names[] = {"hardlink", "hardlink-proc", "hardlink-empty"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", rw, names[i]);
		fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd >= 0) {
			say("writing through %s", p);
			(void)!write(fd, "pwned\n", 6);
			close(fd);
		}
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "mount"))
		group_mount(argv[2]);
	else if (argc >= 2 && !strcmp(argv[1], "ns"))
		group_ns();
	else if (argc >= 2 && !strcmp(argv[1], "kernel"))
		group_kernel();
	else if (argc >= 2 && !strcmp(argv[1], "socket"))
		group_socket();
	else if (argc >= 2 && !strcmp(argv[1], "priv"))
		group_priv();
	else if (argc >= 4 && !strcmp(argv[1], "misc"))
		group_misc(argv[2], argv[3]);
	else {
		fprintf(stderr, "usage: attack-sys mount GRANTED | ns | kernel | socket | priv | "
				"misc RW GRANTED_FILE\n");
		return 2;
	}
	return attack_exit();
}
