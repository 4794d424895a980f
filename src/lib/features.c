/* features.c — what this kernel and this user offer, for `ward doctor`
 * and the library's ward_features(): each layer is tried, not guessed
 * from the kernel version. */
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "box.h"

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
