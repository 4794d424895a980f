/* minbox — the floor: the least a launcher with ward's process model can
 * do on this machine, to compare ward against. Not a sandbox to use: it
 * checks nothing and builds no /etc, no Landlock, no limits.
 *
 *   minbox [-n] [-v] [-s] PROGRAM [ARGS...]
 *     -n  no network namespace
 *     -v  create the box vfork-style (CLONE_VM|CLONE_VFORK): the child
 *         writes its own id maps after dropping to uid 65534 in the
 *         parent namespace, so the controller never copies its memory
 *     -s  load a small seccomp filter (allow everything) before exec
 *
 * Sequence (default): clone with user, mount, pid, ipc, uts, cgroup (and
 * net) namespaces -> the controller writes the id maps -> the child
 * becomes uid 1000, mounts a tmpfs root, binds /usr read-only, adds the
 * /bin /lib /lib64 symlinks, /proc, /dev/null|zero|urandom, a tmpfs /tmp,
 * pivot_roots, vfork-execs the program as pid 2 with no_new_privs (and
 * -s a filter), reaps it and exits with its status. */

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char **prog_argv;
static int opt_seccomp;
static int sync_fd[2];
static char child_stack[256 * 1024] __attribute__((aligned(16)));
static char exec_stack[64 * 1024] __attribute__((aligned(16)));

static void fail(const char *what)
{
	dprintf(2, "minbox: %s: %s\n", what, strerror(errno));
	_exit(125);
}

static void write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		fail(path);
	close(fd);
}

static void bind_ro(const char *src, const char *dst, int is_dir)
{
	if (is_dir)
		mkdir(dst, 0755);
	else
		close(open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		fail(src);
	if (is_dir && mount(NULL, dst, NULL,
			    MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID |
				    MS_NODEV,
			    NULL) < 0)
		fail(dst);
}

static int exec_child(void *arg)
{
	(void)arg;
	setsid();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail("no_new_privs");
	if (opt_seccomp) {
		struct sock_filter insns[] = {
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = {1, insns};

		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
			fail("seccomp");
	}
	execv(prog_argv[0], prog_argv);
	_exit(127);
}

/* The box's pid 1. */
static int box_init(void *arg)
{
	int vfork_style = (int)(intptr_t)arg;
	int status;
	pid_t pid;

	if (vfork_style) {
		write_str("/proc/self/setgroups", "deny");
		write_str("/proc/self/uid_map", "1000 65534 1\n");
		write_str("/proc/self/gid_map", "1000 65534 1\n");
	} else {
		char c;

		close(sync_fd[1]);
		if (read(sync_fd[0], &c, 1) != 1)
			_exit(125);
	}
	/* Become the box user now: files made in the new tmpfs need an
	 * owner mapped in the namespace; capabilities in the namespace stay,
	 * since uid 0 is not mapped in it. */
	if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
		fail("setresuid");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail("make / private");
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=1m,mode=755") < 0)
		fail("root tmpfs");
	if (chdir("/tmp") < 0)
		fail("chdir");
	bind_ro("/usr", "usr", 1);
	symlink("usr/bin", "bin");
	symlink("usr/lib", "lib");
	symlink("usr/lib64", "lib64");
	mkdir("proc", 0555);
	if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		fail("proc");
	mkdir("dev", 0755);
	bind_ro("/dev/null", "dev/null", 0);
	bind_ro("/dev/zero", "dev/zero", 0);
	bind_ro("/dev/urandom", "dev/urandom", 0);
	mkdir("tmp", 01777);
	if (mount("tmpfs", "tmp", "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=64m,mode=1777") < 0)
		fail("tmp");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		fail("pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		fail("umount old root");
	if (chdir("/") < 0)
		fail("chdir /");
	pid = clone(exec_child, exec_stack + sizeof(exec_stack),
		    CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
	if (pid < 0)
		fail("clone program");
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			fail("waitpid");
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int main(int argc, char **argv)
{
	int flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
		    CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_NEWNET;
	int vfork_style = 0, c, status;
	pid_t pid;

	while ((c = getopt(argc, argv, "+nvs")) != -1) {
		if (c == 'n')
			flags &= ~CLONE_NEWNET;
		else if (c == 'v')
			vfork_style = 1;
		else if (c == 's')
			opt_seccomp = 1;
		else
			return 122;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: minbox [-n] [-v] [-s] PROGRAM [ARGS...]\n");
		return 122;
	}
	prog_argv = argv + optind;

	if (vfork_style) {
		/* Drop to nobody in the host first, so that the box may map
		 * its own uid; the controller sleeps until the program
		 * execs, and shares its memory with the box until then. */
		if (setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			fail("become nobody");
		prctl(PR_SET_DUMPABLE, 1);
		pid = clone(box_init, child_stack + sizeof(child_stack),
			    flags | CLONE_VM | CLONE_VFORK | SIGCHLD,
			    (void *)(intptr_t)1);
		/* CLONE_VFORK returns when pid 1 exits here, since pid 1
		 * never execs: not usable as is for a real launcher (it
		 * would need pid 1 to exec a tiny init). Measured anyway. */
	} else {
		if (pipe2(sync_fd, O_CLOEXEC) < 0)
			fail("pipe");
		pid = clone(box_init, child_stack + sizeof(child_stack),
			    flags | SIGCHLD, NULL);
		if (pid > 0) {
			char path[64];

			close(sync_fd[0]);
			snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
			write_str(path, "deny");
			snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
			write_str(path, "1000 65534 1\n");
			snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
			write_str(path, "1000 65534 1\n");
			if (write(sync_fd[1], "x", 1) != 1)
				fail("sync");
			close(sync_fd[1]);
		}
	}
	if (pid < 0)
		fail("clone box");
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			fail("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 125;
}
