/* doctor.c — `ward doctor`: for this host and this user, which layers a
 * box can have, which a default run would use, and why any is missing.
 *
 * Stays on libward's internal probe (host_features.h: features_probe): the API's
 * ward_features answers yes or no per layer, while doctor prints each
 * namespace apart, why a layer is missing (the kernel's or the host's
 * reason), where ward would create its cgroups, and whether rlimits can be
 * set. That is diagnostic text for a person, not an interface for
 * programs, so it is not worth freezing into the ABI. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/mount.h>

#include "config.h"
#include "common.h"
#include "host_features.h" /* features_probe: see above */
#include "banned.h"

/* One line: "layer:  state  detail". */
static void line(const char *layer, const char *state, const char *detail)
{
	printf("%-21s %-10s %s\n", layer, state, detail);
}

/* A layer every run needs: missing means `ward run` fails. */
static bool required(const char *layer, bool ok, const char *why, bool *all_ok)
{
	char detail[1400];
	if (ok) {
		line(layer, "yes", "used by every run");
		return true;
	}
	snprintf(detail, sizeof(detail), "missing, required: %s", why && why[0] ? why : "unavailable");
	line(layer, "no", detail);
	*all_ok = false;
	return false;
}

/* A container runtime's seccomp profile is the usual reason a namespace
 * or mount is refused in a container; ward ships one that allows them. */
#define SECCOMP_HINT \
	"; in a container, run it with ward's seccomp profile (--security-opt seccomp=ward.json, docs/DEPLOY.md)"

/* The namespaces and seccomp, which every run needs. */
static void doctor_required(const struct features *f, bool *ok)
{
	/* Without a user namespace none of the others can be made by an
	 * ordinary user: say why once, on the user line. */
	bool filtered = host_degraded_get()->filtered;
	const char *ns_why = !f->userns ? "needs the user namespace"
			     : filtered ? "unshare failed in a user namespace" SECCOMP_HINT
					: "unshare failed in a user namespace";
	char userns_why[sizeof(f->userns_why) + 200];
	snprintf(userns_why, sizeof(userns_why), "%s%s", f->userns_why,
		 filtered ? SECCOMP_HINT : "");
	required("user namespace", f->userns, userns_why, ok);
	required("mount namespace", f->mntns, ns_why, ok);
	required("pid namespace", f->pidns, ns_why, ok);
	required("network namespace", f->netns, ns_why, ok);
	required("ipc namespace", f->ipcns, ns_why, ok);
	required("uts namespace", f->utsns, ns_why, ok);
	required("cgroup namespace", f->cgroupns, ns_why, ok);
	required("seccomp", f->seccomp, "this kernel has no seccomp filters (CONFIG_SECCOMP_FILTER)", ok);
}

/* Landlock, which every run needs, at its ABI. */
static void doctor_landlock(const struct features *f, bool *ok)
{
	char state[32], detail[700];
	if (f->landlock_abi > 0) {
		snprintf(state, sizeof(state), "abi %d", f->landlock_abi);
		line("landlock", state,
		     f->landlock_abi >= 4 ? "used by every run (files, execution, tcp, scopes as the abi allows)"
					  : "used by every run (files and execution; abi 4 adds tcp rules)");
	} else {
		snprintf(detail, sizeof(detail), "missing, required: %s",
			 f->landlock_why[0] ? f->landlock_why : "unavailable");
		line("landlock", "no", detail);
		*ok = false;
	}
}

/* The cgroup hierarchy a run would use, and the stale run cgroups a
 * killed ward left (removed here). */
static void doctor_cgroup(const struct features *f)
{
	char detail[700];
	switch (f->cgroup_version) {
	case 2:
		if (f->cgroup_delegated[0])
			snprintf(detail, sizeof(detail),
				 "used by every run for the memory and procs limits, under %s (%s)",
				 f->cgroup_path, f->cgroup_delegated);
		else
			snprintf(detail, sizeof(detail),
				 "used by every run for the memory and procs limits, under %s", f->cgroup_path);
		line("cgroup", "v2", detail);
		break;
	case 1:
		snprintf(detail, sizeof(detail),
			 "used by every run for the memory and procs limits (the box joins it itself), under %s",
			 f->cgroup_path);
		line("cgroup", "v1", detail);
		break;
	default:
		snprintf(detail, sizeof(detail),
			 "not used (%s): rlimits, and init counts the box's memory every 20 ms; --cgroup require fails",
			 f->cgroup_why[0] ? f->cgroup_why : "no usable cgroup hierarchy");
		line("cgroup", "none", detail);
		break;
	}
	if (f->cgroup_version) {
		/* A ward killed with SIGKILL could not remove its cgroups. */
		int n = cgroup_remove_stale(f);
		snprintf(detail, sizeof(detail), "%d left by runs whose ward was killed, removed", n);
		line("stale cgroups", n ? "removed" : "none", n ? detail : "no run cgroups left by a killed ward");
	}
}

/* Whether --rw grants can be written as the directory's owner. */
static void doctor_idmap(const struct features *f)
{
	char detail[700];
	if (f->idmap < 0)
		line("idmapped mounts", "not used", "--rw grants are written as you (the box's host uid)");
	else if (host_degraded_get()->root_no_admin)
		line("--rw grants", "no",
		     "root without CAP_SYS_ADMIN (a container's root) cannot bind a directory into a box: "
		     "--rw fails; run ward as an ordinary user here");
	else if (f->idmap)
		line("idmapped mounts", "yes",
		     "--rw grants are written as the directory's owner (checked on the current directory's file system)");
	else {
		snprintf(detail, sizeof(detail),
			 "--rw of a directory not owned by 65534 fails before the run (%s); use ext4, xfs, btrfs or tmpfs (linux 6.3 or later)",
			 f->idmap_why);
		line("idmapped mounts", "no", detail);
	}
}

/* Tries what init does before it mounts the box's /proc: a new user,
 * mount and pid namespace, and a proc file system made by the pid
 * namespace's first process. Returns 0 or the errno. The kernel refuses
 * it (EPERM) where the mount namespace shows no complete /proc, e.g. a
 * container that masks /proc/kcore and makes /proc/sys read-only. */
static int probe_proc_mount(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) < 0)
			_exit(errno);
		pid_t first = fork();
		if (first == 0) {
			int fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
			if (fs < 0 ||
			    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
			    syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0) < 0)
				_exit(errno);
			_exit(0);
		}
		int st = 0;
		if (first < 0 || waitpid(first, &st, 0) < 0)
			_exit(errno);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : ECHILD);
	}
	if (pid < 0)
		return errno;
	int st = 0;
	if (waitpid(pid, &st, 0) < 0)
		return errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : ECHILD;
}

/* What a container (or another host) may refuse: the box's own /proc,
 * which every run needs, and what a run does without (SECURITY.md
 * "Degradable layers"), each with the smallest change that allows it. */
static void doctor_container(const struct features *f, bool *ok)
{
	const struct host_degraded *d = host_degraded_get();
	char detail[700];
	int r = f->userns && f->mntns && f->pidns ? probe_proc_mount() : 0;
	if (r) {
		snprintf(
			detail, sizeof(detail),
			"missing, required: the kernel refuses a new proc file system (%s): parts of this /proc are "
			"masked or read-only (a container's default); allow it with podman's --security-opt unmask=/proc/*, "
			"docker's --security-opt systempaths=unconfined or kubernetes' procMount: Unmasked",
			strerror_lc(r));
		line("box /proc", "no", detail);
		*ok = false;
	} else
		line("box /proc", "yes", "a proc file system of the box's own pid namespace");
	if (d->hostname) {
		snprintf(
			detail, sizeof(detail),
			"degraded: sethostname is refused (%s; this process runs under a seccomp filter, a container's "
			"profile): the box keeps this host's hostname; allow it with ward's seccomp profile "
			"(--security-opt seccomp=ward.json)",
			strerror_lc(d->hostname_errno));
		line("box hostname", "no", detail);
	} else
		line("box hostname", "yes",
		     "the box's uts namespace is named 'ward' (or the policy's hostname)");
	line("inotify quotas", d->ns_quotas ? "no" : "yes",
	     d->ns_quotas
		     ? "degraded: /proc/sys is read-only, so each box may use its host uid's whole inotify "
		       "allowance; allow it with podman's --security-opt unmask=/proc/* (with a user namespace)"
		     : "each box gets an eighth of its host uid's inotify instances and watches");
	if (geteuid() == 0)
		line("box's userns owner", d->own_owner ? "root" : "own uid",
		     d->own_owner
			     ? "degraded: no CAP_SYS_ADMIN here (or uids 2^31 and up are not mapped), so root owns "
			       "each box's user namespace; run ward as an ordinary user in a container instead"
			     : "an unused host uid per box: root is not charged for it and has no power over it");
}

/* Runs what a default run does: `ward run -- true` with the default
 * policy, from /. Returns its exit status; *why gets the last line it
 * wrote on stderr (at most sizeof why). */
static int trial_run(const char *truth, char *why, size_t n)
{
	int p[2];
	why[0] = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(p[1], 2) < 0 ||
		    chdir("/") < 0)
			_exit(127);
		execl("/proc/self/exe", "ward", "run", "--quiet", "--", truth, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char buf[2048];
	size_t len = 0;
	ssize_t k;
	while ((k = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0 || (k < 0 && errno == EINTR))
		if (k > 0 && (len += (size_t)k) == sizeof(buf) - 1)
			break;
	close(p[0]);
	buf[len] = 0;
	while (len && buf[len - 1] == '\n')
		buf[--len] = 0;
	char *last = strrchr(buf, '\n');
	snprintf(why, n, "%s", last ? last + 1 : buf);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The verdict comes from a real run, so that it cannot disagree with one. */
static bool doctor_trial(bool ok)
{
	static const char *const truths[] = {"/usr/bin/true", "/bin/true"};
	const char *truth = NULL;
	for (size_t i = 0; i < ELEMENTSOF(truths) && !truth; i++)
		if (access(truths[i], X_OK) == 0)
			truth = truths[i];
	if (!truth) {
		printf("\n%s\n",
		       ok ? "a default 'ward run' should work here (no /usr/bin/true to try one with)"
			  : "a default 'ward run' would fail here: see the missing layers above");
		return ok;
	}
	char why[512];
	int rc = trial_run(truth, why, sizeof(why));
	if (rc == 0)
		printf("\na default 'ward run' works here (tried: ward run -- %s)\n", truth);
	else
		printf("\na default 'ward run' fails here (tried: ward run -- %s: %s)%s\n", truth,
		       why[0] ? why : "no message", ok ? "" : ": see the missing layers above");
	return rc == 0;
}

int cmd_doctor(int argc, char **argv)
{
	if (argc >= 2 && is_help_arg(argv[1])) {
		print_help(stdout);
		return finish_stdout(0);
	}
	if (argc > 1)
		die_usage("doctor: unexpected argument '%s'", argv[1]);

	struct features f;
	int r = features_probe(&f);
	if (r < 0)
		die(EXIT_SETUP, "doctor: cannot probe this host: %s", strerror_lc(-r));

	struct utsname u;
	bool root = geteuid() == 0;
	printf("ward %s on Linux %s, as %s (uid %u)\n", WARD_VERSION,
	       uname(&u) == 0 ? u.release : "?", root ? "root" : "an ordinary user",
	       (unsigned)geteuid());
	printf("the box runs as uid 1000 'box', which is host uid %u%s\n\n",
	       root ? 65534u : (unsigned)geteuid(), root ? " ('nobody'), never root" : " (you)");

	bool ok = true;
	doctor_required(&f, &ok);
	if (f.seccomp_notify && host_degraded_get()->root_no_ptrace)
		line("seccomp user-notify", "no",
		     "the broker needs CAP_SYS_PTRACE as root, which this process lacks (a container's root): "
		     "--audit, --learn, --file, --file-text and ask rules fail; run ward as an ordinary user here");
	else
		line("seccomp user-notify", f.seccomp_notify ? "yes" : "no",
		     f.seccomp_notify ? "used by the broker: --audit, --learn, --file, --file-text, ask rules"
				      : "missing: --audit, --learn, --file, --file-text and ask rules cannot run");
	doctor_landlock(&f, &ok);
	doctor_container(&f, &ok);
	doctor_cgroup(&f);
	line("rlimits", f.rlimits ? "yes" : "no",
	     f.cgroup_version ? "used by every run: cpu, file size, open files, no core dumps"
			      : "used by every run: cpu, file size, open files, no core dumps; memory and procs without a cgroup");
	if (!f.rlimits)
		ok = false;
	doctor_idmap(&f);

	fflush(stdout);
	ok = doctor_trial(ok);
	return finish_stdout(ok ? 0 : EXIT_SETUP);
}
