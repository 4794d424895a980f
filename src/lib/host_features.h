/* host_features.h — what this kernel and this user offer (features.c), for
 * `ward doctor`, ward_features() and the launcher's choice of cgroup. */
/* (Not features.h: that name is glibc's, and src/lib is on the include
 * path of every file.) */
#pragma once

#include <stdbool.h>

/* Host feature probe, used by `ward doctor` and by box_run to decide. */
struct features {
	bool userns, mntns, pidns, netns, ipcns, utsns, cgroupns;
	char userns_why[256];
	bool seccomp, seccomp_notify;
	int landlock_abi; /* 0 = unavailable */
	char landlock_why[256];
	int cgroup_version; /* 2, 1 or 0 for none usable */
	char cgroup_why[512];
	char cgroup_path[512];	/* where ward would create its cgroups */
	char cgroup_delegated[512]; /* v2 only: the delegated cgroup used, or "" */
	bool rlimits;
	int idmap;		/* root: 1 if the current directory's file system
				 * can be idmapped (--rw as the owner), else 0;
				 * -1 unprivileged (not used) */
	char idmap_why[256];
};
int features_probe(struct features *f);

/* What a box can do without, when this host refuses it (a container's
 * seccomp profile, a read-only /proc/sys, no CAP_SYS_ADMIN). None of them
 * is a security layer a policy asks for: SECURITY.md "Degradable layers".
 * Probed once per process (features.c), only where something may refuse:
 * on an ordinary host none of the probes runs. */
struct host_degraded {
	bool filtered;      /* this process runs under a seccomp filter */
	bool hostname;      /* sethostname() refused in a new uts namespace */
	bool ns_quotas;     /* /proc/sys is read-only: no per-box inotify quotas */
	bool own_owner;     /* as root: the box's user namespace cannot have an
			     * owner uid of its own (no CAP_SYS_ADMIN, or that
			     * uid range is not mapped here), so root owns it */
	int hostname_errno; /* why sethostname() was refused */
	bool root_no_admin; /* root without CAP_SYS_ADMIN: it cannot bind a
			     * host directory for the box (--rw grants) */
	bool root_no_ptrace; /* root without CAP_SYS_PTRACE: no broker */
};
const struct host_degraded *host_degraded_get(void);
struct err;
/* 0 where the broker can serve a box; else -EPERM with why in e (as root
 * it needs CAP_SYS_PTRACE, which a container's root lacks). */
int host_broker_usable(struct err *e);
/* Removes the empty run cgroups of controllers that are gone (killed
 * before they could remove them), under the cgroup_path f names; returns
 * how many. Only ward's own `ward/run-*` cgroups, never one whose
 * controller lives (cgroup.c). Every run does this first; so does
 * `ward doctor`. */
int cgroup_remove_stale(const struct features *f);
