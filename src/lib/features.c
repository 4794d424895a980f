/* features.c — what this kernel and this user offer, for `ward doctor`
 * and the library's ward_features(): each layer is tried, not guessed
 * from the kernel version. */
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "box.h"
#include "launch.h"

/* Tries to create every namespace a box uses in a throwaway child, and
 * reports which ones failed and why. */
static void probe_namespaces(struct features *f)
{
	static const struct {
		int flag;
		size_t off;
		const char *name;
	} ns[] = {
		{CLONE_NEWUSER, offsetof(struct features, userns), "user"},
		{CLONE_NEWNS, offsetof(struct features, mntns), "mount"},
		{CLONE_NEWPID, offsetof(struct features, pidns), "pid"},
		{CLONE_NEWNET, offsetof(struct features, netns), "network"},
		{CLONE_NEWIPC, offsetof(struct features, ipcns), "ipc"},
		{CLONE_NEWUTS, offsetof(struct features, utsns), "uts"},
		{CLONE_NEWCGROUP, offsetof(struct features, cgroupns), "cgroup"},
	};
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(f->userns_why, sizeof(f->userns_why), "cannot create a pipe: %s", errno_text(errno));
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		unsigned char res[8] = {0};
		int saved = 0;
		if (unshare(CLONE_NEWUSER) < 0)
			saved = errno;
		else
			res[0] = 1;
		for (size_t i = 1; i < ELEMENTSOF(ns) && res[0]; i++)
			res[i] = unshare(ns[i].flag) == 0;
		res[7] = (unsigned char)saved;
		(void)write_all(p[1], res, sizeof(res));
		_exit(0);
	}
	close(p[1]);
	unsigned char res[8] = {0};
	if (pid > 0 && read(p[0], res, sizeof(res)) == sizeof(res)) {
		for (size_t i = 0; i < ELEMENTSOF(ns); i++)
			*(bool *)((char *)f + ns[i].off) = res[i];
		if (!res[0]) {
			char v[64] = "";
			_cleanup_free_ char *buf = NULL;
			if (read_file("/proc/sys/kernel/unprivileged_userns_clone", 64, &buf, NULL) == 0 && buf[0] == '0')
				snprintf(v, sizeof(v), " (kernel.unprivileged_userns_clone = 0)");
			else if (read_file("/proc/sys/user/max_user_namespaces", 64, &buf, NULL) == 0 && buf[0] == '0')
				snprintf(v, sizeof(v), " (user.max_user_namespaces = 0)");
			snprintf(f->userns_why, sizeof(f->userns_why), "unshare(CLONE_NEWUSER): %s%s",
				 errno_text(res[7]), v);
		}
	}
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

int features_probe(struct features *f)
{
	if (!f)
		return -EINVAL;
	*f = (struct features){0};
	probe_namespaces(f);
	f->seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
	_cleanup_free_ char *actions = NULL;
	if (read_file("/proc/sys/kernel/seccomp/actions_avail", 4096, &actions, NULL) == 0)
		f->seccomp_notify = strstr(actions, "user_notif") != NULL;
	int abi = landlock_abi();
	if (abi > 0) {
		f->landlock_abi = abi;
	} else {
		snprintf(f->landlock_why, sizeof(f->landlock_why), "%s",
			 abi == -EOPNOTSUPP ? "landlock is built in but disabled: add 'landlock' to the lsm= kernel parameter"
			 : abi == -ENOSYS   ? "this kernel has no landlock (CONFIG_SECURITY_LANDLOCK)"
					    : errno_text(-abi));
	}
	cgroup_detect(f);
	f->rlimits = true;
	f->idmap = geteuid() == 0 ? mnt_idmap_probe(".", f->idmap_why, sizeof(f->idmap_why)) : -1;
	return 0;
}

/* ---- what a box can do without (host_features.h: host_degraded) ---- */

/* Whether this process runs under a seccomp filter ("Seccomp: 2" in its
 * status): only then can sethostname() be refused in a namespace the box
 * owns, and only then is it worth a probe. */
static bool under_seccomp_filter(void)
{
	_cleanup_free_ char *st = NULL;
	if (read_file("/proc/self/status", 1 << 16, &st, NULL) < 0)
		return true; /* cannot tell: probe (a failed probe degrades nothing) */
	const char *l = strstr(st, "\nSeccomp:");
	return !l || strtol(l + 9, NULL, 10) != 0;
}

/* Tries what the box's init does, in a throwaway child: sethostname() in a
 * new uts namespace of a new user namespace. Returns the errno sethostname
 * got, or 0: also when the probe itself could not run (no fork, no
 * namespace), which says nothing about sethostname, so nothing is
 * degraded for it (the run then fails, or not, on its own). The child only
 * makes system calls (safe after fork in a threaded host). */
static int probe_sethostname(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWUTS) < 0)
			_exit(0);
		_exit(sethostname("ward", 4) < 0 && errno > 0 && errno < 256 ? errno : 0);
	}
	if (pid < 0)
		return 0;
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 0;
}

/* Whether one line of /proc/self/uid_map covers [first, first + count);
 * true when the map cannot be read (e.g. no fd left): the clone then
 * says what is wrong, nothing is degraded on a guess. */
static bool uid_range_mapped(unsigned long first, unsigned long count)
{
	_cleanup_free_ char *map = NULL;
	if (read_file("/proc/self/uid_map", 1 << 16, &map, NULL) < 0)
		return true;
	for (char *l = map; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned long in, out, n;
		if (sscanf(l, "%lu %lu %lu", &in, &out, &n) == 3 && in <= first &&
		    first + count <= in + n)
			return true;
	}
	return false;
}

static bool have_effective_cap(int cap)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};
	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

static struct host_degraded degraded;
static pthread_once_t degraded_once = PTHREAD_ONCE_INIT;

static void degraded_probe(void)
{
	degraded.filtered = under_seccomp_filter();
	if (degraded.filtered) {
		int r = probe_sethostname();
		degraded.hostname = r != 0;
		degraded.hostname_errno = r;
	}
	struct statvfs sv;
	degraded.ns_quotas = statvfs("/proc/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY);
	/* ns.c's owner uids: 2^31 + (0 .. 2^30 - 1); the writer of a box's id
	 * maps that is not its namespace's owner needs CAP_SYS_ADMIN. */
	degraded.root_no_admin = geteuid() == 0 && !have_effective_cap(CAP_SYS_ADMIN);
	degraded.root_no_ptrace = geteuid() == 0 && !have_effective_cap(CAP_SYS_PTRACE);
	degraded.own_owner = geteuid() == 0 &&
			     (degraded.root_no_admin || !uid_range_mapped(0x80000000ul, 1ul << 30));
}

const struct host_degraded *host_degraded_get(void)
{
	pthread_once(&degraded_once, degraded_probe);
	return &degraded;
}

/* As root, the broker's threads keep only CAP_SYS_PTRACE to reach the
 * box's memory and /proc/PID/{root,cwd,fd} (broker/thread.c); without it
 * every brokered call would fail with EIO. Said before the run instead. */
int host_broker_usable(struct err *e)
{
	if (!host_degraded_get()->root_no_ptrace)
		return 0;
	return err_set(e, EPERM,
		       "the broker (--audit, --learn, --file, --file-text, ask rules) needs CAP_SYS_PTRACE as "
		       "root, which this process lacks (a container's root): run ward as an ordinary user "
		       "here, or grant it the capability");
}

/* The plan's part of the above: what init skips, and one notice that says
 * so (after the planner's own, e.g. the current directory's). */
int plan_host(struct plan *pl, struct plan_notes *n)
{
	const struct host_degraded *d = host_degraded_get();
	pl->no_hostname = d->hostname;
	pl->no_ns_quotas = d->ns_quotas;
	pl->root_owner = pl->root && d->own_owner;
	if (!pl->no_hostname && !pl->no_ns_quotas && !pl->root_owner)
		return 0;
	const char *what[3];
	size_t k = 0;
	if (d->hostname)
		what[k++] = "the box's hostname (it keeps this host's)";
	if (d->ns_quotas)
		what[k++] = "per-box inotify quotas (/proc/sys is read-only)";
	if (pl->root_owner)
		what[k++] = "an owner uid of the box's own (root owns its user namespace)";
	size_t len = strlen(n->notice);
	snprintf(n->notice + len, sizeof(n->notice) - len,
		 "%sthis host refuses %s%s%s%s%s (see 'ward doctor')", len ? "; " : "", what[0],
		 k > 1 ? ", " : "", k > 1 ? what[1] : "", k > 2 ? ", " : "", k > 2 ? what[2] : "");
	return 0;
}
