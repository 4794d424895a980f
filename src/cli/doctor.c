/* doctor.c — `ward doctor`: for this host and this user, which layers a
 * box can have, which a default run would use, and why any is missing.
 *
 * Stays on libward's internal probe (host_features.h: features_probe): the API's
 * ward_features answers yes or no per layer, while doctor prints each
 * namespace apart, why a layer is missing (the kernel's or the host's
 * reason), where ward would create its cgroups, and whether rlimits can be
 * set. That is diagnostic text for a person, not an interface for
 * programs, so it is not worth freezing into the ABI. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

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

/* The namespaces and seccomp, which every run needs. */
static void doctor_required(const struct features *f, bool *ok)
{
	/* Without a user namespace none of the others can be made by an
	 * ordinary user: say why once, on the user line. */
	const char *ns_why = f->userns ? "unshare failed in a user namespace" : "needs the user namespace";
	required("user namespace", f->userns, f->userns_why, ok);
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
	line("seccomp user-notify", f.seccomp_notify ? "yes" : "no",
	     f.seccomp_notify ? "used by the broker: --audit, --learn, --file, --file-text, ask rules"
			      : "missing: --audit, --learn, --file, --file-text and ask rules cannot run");
	doctor_landlock(&f, &ok);
	doctor_cgroup(&f);
	line("rlimits", f.rlimits ? "yes" : "no",
	     f.cgroup_version ? "used by every run: cpu, file size, open files, no core dumps"
			      : "used by every run: cpu, file size, open files, no core dumps; memory and procs without a cgroup");
	if (!f.rlimits)
		ok = false;
	doctor_idmap(&f);

	printf("\n%s\n", ok ? "a default 'ward run' would work here"
			    : "a default 'ward run' would fail here: see the missing layers above");
	return finish_stdout(ok ? 0 : EXIT_SETUP);
}
