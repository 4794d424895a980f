/* attack-proc — try to see and signal a host process.
 *
 * usage: attack-proc HOSTPID
 * The driver runs a victim (`sleep` under a unique argv[0], same host uid
 * as the box) whose host pid is HOSTPID. The attack lists /proc, probes
 * every pid with signal 0, sends SIGKILL to HOSTPID (as a pid and through
 * a pidfd), and finally kills everything it can reach with kill(-1). The
 * driver checks that the victim is alive and not stopped, that its
 * argv[0] never appears in the output, and that ward itself survives. */
#include <signal.h>
#include <sys/wait.h>

#include "attack.h"

static bool in_proc(int pid)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d", pid);
	return access(p, F_OK) == 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: attack-proc HOSTPID\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	int host = atoi(argv[1]);

	say("== processes visible in /proc");
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char p[300];
		snprintf(p, sizeof(p), "/proc/%s/cmdline", de->d_name);
		try_read(p);
		snprintf(p, sizeof(p), "/proc/%s/status", de->d_name);
		try_read(p);
	}
	if (d)
		closedir(d);

	say("== probing pids with signal 0");
	int max = 4194304;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
	if (f) {
		if (fscanf(f, "%d", &max) != 1 || max <= 0 || max > 4194304)
			max = 4194304;
		fclose(f);
	}
	int found = 0;
	for (int pid = 1; pid <= max; pid++) {
		if (kill(pid, 0) == 0 || errno == EPERM) {
			bool mine = in_proc(pid);
			say("pid %d exists (%s)%s", pid, errno == EPERM ? "EPERM" : "signalable",
			    mine ? "" : " and is NOT in this box's /proc");
			if (!mine)
				found++;
		}
	}
	say("pids outside this box's /proc that answered: %d", found);

	say("== signalling the host pid %d", host);
	char what[128];
	snprintf(what, sizeof(what), "kill(%d, SIGSTOP)", host);
	deny(what, kill(host, SIGSTOP));
	snprintf(what, sizeof(what), "kill(%d, SIGKILL)", host);
	deny(what, kill(host, SIGKILL));
	snprintf(what, sizeof(what), "pidfd_open(%d)", host);
	int pfd = (int)deny(what, syscall(SYS_pidfd_open, host, 0));
	if (pfd >= 0)
		deny("pidfd_send_signal(SIGKILL)", syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0));
	snprintf(what, sizeof(what), "rt_sigqueueinfo(%d, SIGKILL)", host);
	siginfo_t si = {.si_signo = SIGKILL, .si_code = SI_QUEUE};
	deny(what, syscall(SYS_rt_sigqueueinfo, host, SIGKILL, &si));
	snprintf(what, sizeof(what), "tgkill(%d, %d, SIGKILL)", host, host);
	deny(what, syscall(SYS_tgkill, host, host, SIGKILL));

	say("== signalling the box's init and everything reachable");
	show("getppid()", getppid());
	show("kill(1, SIGKILL)", kill(1, SIGKILL));
	show("kill(1, SIGTERM)", kill(1, SIGTERM));
	show("kill(-1, SIGSTOP)", kill(-1, SIGSTOP));
	show("kill(-1, SIGKILL)", kill(-1, SIGKILL));
	return attack_exit();
}
