/* ns.c — namespaces: creating the box's first process, its id mapping,
 * its hostname and its loopback interface. */
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box.h"

/* The box's user namespace is owned by its creator's euid, and that owner
 * matters twice:
 * - The kernel charges what a namespace's processes use of the per-user
 *   quotas (ucounts: inotify instances and watches, pending signals,
 *   processes, user namespaces, mqueue bytes) to the namespace's owner at
 *   every ancestor level: a namespace made by root charges root, so a box
 *   run by root could use up root's own inotify instances or signal queue.
 * - A process in the parent namespace whose euid is the owner has every
 *   capability in the namespace: it may join the box's namespaces, mount
 *   over its files, ptrace its processes, read /proc/PID/mem and environ,
 *   signal and renice init during setup.
 * So as root the namespace is owned by a host uid that no process runs as
 * and that no other box shares (owner_uid): neither root nor a host user
 * (not even 'nobody', the box's own host uid) is charged for the box or
 * gains any power over it, and two boxes do not share their quotas.
 *
 * The reserved range is OWNER_BASE (2^31) to 2^31 + 2^30 - 1: above every
 * range a host hands out (regular users below 65536, systemd's DynamicUser
 * 61184-65519, its container range 524288-1879048191 and foreign range
 * 2147352576-2147418111, SSSD's id mapping up to 2000200000; systemd
 * documents 2^31 and up as unused, as some tools take uids as signed) and
 * below (uid_t)-1. Processes in other containers' user namespaces do not
 * count: an owner's capabilities reach only from the parent namespace,
 * here the host's. The low 30 bits are the controller's pid (22 bits:
 * pid_max is at most 2^22) and a per-process counter (8 bits). Two live
 * boxes share an owner only after 256 boxes started by one process are
 * still running, or when a pid is reused while an earlier controller's
 * boxes live on (they do not: init ends with its controller). */
#define OWNER_BASE 0x80000000u

static uid_t owner_uid(void)
{
	static unsigned counter;
	unsigned n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
	return (uid_t)(OWNER_BASE + (((unsigned)getpid() & 0x3FFFFFu) << 8 | (n & 0xFFu)));
}

/* The cloning thread alone takes the owner as its euid for the clone (raw
 * syscalls: to the kernel, credentials are per thread), and its fsuid
 * stays 0 so that the child reaches the grants and its cgroup exactly as
 * before. Meanwhile:
 * - every signal is blocked with the raw rt_sigprocmask, glibc's internal
 *   SIGSETXID too: another thread's seteuid() would otherwise make glibc
 *   run its credential broadcast here, find this thread at another euid
 *   and abort the process; and no handler of the host runs at the owner's
 *   euid. The broadcast reaches this thread when the window closes.
 * - a process-wide lock keeps two threads from being in the window at once:
 *   the uid change clears the process's dumpable flag, and the second
 *   thread would otherwise save the first one's temporary 0 and restore
 *   it. The saved value and the parent-death signal are always put back. */
struct owner_save {
	bool on, masked;
	int dumpable, pdeath;
	uint64_t mask;
};

static pthread_mutex_t owner_lock = PTHREAD_MUTEX_INITIALIZER;

static int owner_begin(struct owner_save *s)
{
	*s = (struct owner_save){0};
	uid_t ruid, euid, suid;
	if (getresuid(&ruid, &euid, &suid) < 0 || euid != 0)
		return 0;
	/* The way back to euid 0 (and to fsuid 0) is a real or saved uid 0. */
	if (ruid != 0 && suid != 0)
		return 0;
	uint64_t all = ~(uint64_t)0;
	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &s->mask, sizeof(all)) < 0)
		return -errno;
	s->masked = true;
	pthread_mutex_lock(&owner_lock);
	s->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (prctl(PR_GET_PDEATHSIG, &s->pdeath, 0, 0, 0) < 0)
		s->pdeath = 0;
	s->on = true;
	if (syscall(SYS_setresuid, -1, owner_uid(), -1) < 0)
		return -errno;
	syscall(SYS_setfsuid, 0);
	if (syscall(SYS_setfsuid, -1) != 0)
		return -EPERM;
	return 0;
}

/* In the parent (child false): back to euid 0, the flags, the lock and the
 * mask. The child only gets its mask back (it is a new process: its copy
 * of the lock is not used); it stays non-dumpable and becomes the box's
 * user later. */
static void owner_end(const struct owner_save *s, bool child)
{
	if (s->on && !child) {
		/* Cannot fail: the saved uid is 0. If it did, this thread must
		 * not go on with another uid than the caller's. */
		if (syscall(SYS_setresuid, -1, 0, -1) < 0)
			abort();
		if (s->dumpable >= 0)
			prctl(PR_SET_DUMPABLE, s->dumpable, 0, 0, 0);
		if (s->pdeath > 0)
			prctl(PR_SET_PDEATHSIG, s->pdeath, 0, 0, 0);
		pthread_mutex_unlock(&owner_lock);
	}
	if (s->masked)
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &s->mask, NULL, sizeof(s->mask));
}

/* new_cgroup_ns is false when the child must first move itself into its
 * cgroup v1 (cgroup_join_self) and unshare its cgroup namespace after.
 * own_owner: the box's user namespace gets an owner of its own (see above;
 * only where this thread can switch its euid and back, i.e. as root);
 * otherwise it is the caller's. */
pid_t ns_clone_box(int cgroup_fd, bool new_cgroup_ns, bool own_owner, int *ret_pidfd)
{
	int pidfd = -1;
	struct clone_args args = {
		.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
			 CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
			 (new_cgroup_ns ? CLONE_NEWCGROUP : 0) | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
	};
	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
	}
	/* Without CLONE_VM and without a stack, clone3 behaves like fork():
	 * the child continues on a copy of this stack. */
	struct owner_save save = {0};
	int r = own_owner ? owner_begin(&save) : 0;
	if (r < 0) {
		owner_end(&save, false);
		return r;
	}
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	int err = errno;
	owner_end(&save, pid == 0);
	if (pid < 0)
		return -err;
	if (pid > 0)
		*ret_pidfd = pidfd;
	return (pid_t)pid;
}

static int write_proc(int procdir, pid_t pid, const char *file, const char *content,
		      struct err *e)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	int r = procdir >= 0 ? write_file_at(procdir, file, content)
			     : write_file_at(AT_FDCWD, path, content);
	if (r < 0)
		return err_errno(e, -r, "cannot write '%s'", path);
	return 0;
}

int ns_write_id_maps(int procdir, pid_t pid, uid_t host_uid, gid_t host_gid,
		     bool allow_setgroups, struct err *e)
{
	char map[64];
	int r;
	/* An unprivileged writer must deny setgroups before writing gid_map
	 * (user_namespaces(7)); a root writer keeps it so the box can drop
	 * the host's supplementary groups, which would otherwise still grant
	 * group access to host files. */
	if (!allow_setgroups) {
		r = write_proc(procdir, pid, "setgroups", "deny", e);
		if (r < 0)
			return r;
	}
	snprintf(map, sizeof(map), "%d %u 1\n", BOX_UID, (unsigned)host_uid);
	r = write_proc(procdir, pid, "uid_map", map, e);
	if (r < 0)
		return r;
	snprintf(map, sizeof(map), "%d %u 1\n", BOX_GID, (unsigned)host_gid);
	return write_proc(procdir, pid, "gid_map", map, e);
}

/* A user namespace whose only mapping is `inside` ↔ `outside` (uid and
 * gid), for an idmapped mount (mount_setattr(MOUNT_ATTR_IDMAP) takes the
 * mapping from a user namespace fd). A namespace lives only as long as a
 * process or fd holds it: a child made with clone3(CLONE_NEWUSER) holds it
 * while the maps are written and the fd opened, then exits. The child
 * only reads a pipe and exits (safe after clone in a threaded host). */
int ns_idmap_userns(uid_t inside_uid, uid_t outside_uid, gid_t inside_gid,
		    gid_t outside_gid, struct err *e)
{
	int hold[2];
	if (pipe2(hold, O_CLOEXEC) < 0)
		return err_errno(e, errno, "cannot create a pipe");
	struct clone_args args = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0) {
		char c;
		close(hold[1]);
		(void)!read(hold[0], &c, 1);
		_exit(0);
	}
	close(hold[0]);
	if (pid < 0) {
		close(hold[1]);
		return err_errno(e, errno, "cannot create a user namespace for an idmapped mount");
	}
	char map[64], path[64];
	int fd = -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)inside_uid, (unsigned)outside_uid);
	int r = write_proc(-1, (pid_t)pid, "uid_map", map, e);
	if (r == 0) {
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)inside_gid, (unsigned)outside_gid);
		r = write_proc(-1, (pid_t)pid, "gid_map", map, e);
	}
	if (r == 0) {
		snprintf(path, sizeof(path), "/proc/%ld/ns/user", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r = err_errno(e, errno, "cannot open '%s'", path);
	}
	close(hold[1]);
	while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
		;
	return r < 0 ? r : fd;
}

/* Raw system calls, not glibc's wrappers: those apply the change to every
 * thread of the process (POSIX credentials are per process) by signalling
 * each one and waiting for it. After clone3() from a multi-threaded
 * application (libward), this process has one thread but glibc's thread
 * list still names the others, and setgroups() would wait for them
 * forever. The kernel's calls change this thread only, which is all there
 * is. */
int ns_become_box_user(bool can_setgroups, struct err *e)
{
	if (can_setgroups && syscall(SYS_setgroups, 0, NULL) < 0)
		return err_errno(e, errno, "cannot drop supplementary groups");
	if (syscall(SYS_setresgid, BOX_GID, BOX_GID, BOX_GID) < 0)
		return err_errno(e, errno, "cannot become gid %d", BOX_GID);
	if (syscall(SYS_setresuid, BOX_UID, BOX_UID, BOX_UID) < 0)
		return err_errno(e, errno, "cannot become uid %d", BOX_UID);
	return 0;
}

int ns_set_hostname(const char *name, struct err *e)
{
	if (sethostname(name, strlen(name)) < 0)
		return err_errno(e, errno, "cannot set hostname '%s'", name);
	if (setdomainname("", 0) < 0)
		return err_errno(e, errno, "cannot clear the domain name");
	return 0;
}

int ns_loopback_up(struct err *e)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_errno(e, errno, "cannot open a socket to configure 'lo'");
	struct ifreq ifr = {0};
	strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return err_errno(e, errno, "cannot read flags of 'lo'");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return err_errno(e, errno, "cannot bring 'lo' up");
	return 0;
}
