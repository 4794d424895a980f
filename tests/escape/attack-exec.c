/* attack-exec — run a program the --exec allowlist does not name.
 *
 * usage: attack-exec DIR
 * The driver grants `--exec /usr/bin/true` only. Each attempt runs in a
 * child that tries to start /bin/sh printing "EXEC-ESCAPED-" followed by
 * $((6*7)) and the attempt's name: the digits 42 exist only if a shell ran
 * (they are not in any argv), so the driver looks for "EXEC-ESCAPED-42" in
 * the output. Attempts: execve of /bin/sh; the ELF interpreter run as a
 * program (ld.so /bin/sh); a copy of /bin/sh in DIR; a memfd copy run
 * with execveat; an O_PATH descriptor; /proc/self/fd/N; a #! script in
 * DIR (the box's /tmp; copies go there too). The allowed /usr/bin/true is
 * tried too, as a sanity check. */
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/wait.h>

#include "attack.h"

extern char **environ;
static const char *dir;

static const char *in_dir(const char *name)
{
	static char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static char *sh_argv(const char *how)
{
	static char cmd[128];
	snprintf(cmd, sizeof(cmd), "echo EXEC-ESCAPED-$((6*7))-%s", how);
	return cmd;
}

static int copy_into(int dst, const char *src)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	struct stat st;
	fstat(in, &st);
	off_t off = 0;
	while (off < st.st_size)
		if (sendfile(dst, in, &off, (size_t)(st.st_size - off)) <= 0)
			break;
	close(in);
	return off == st.st_size ? 0 : -1;
}

/* Runs fn in a child; prints how it ended. A child that gets to exec the
 * shell counts as a forbidden success (the shell exits 0). */
static void attempt(const char *what, void (*fn)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		fn();
		printf("%s -> denied %s (%s)\n", what, errno_name(errno), strerror(errno));
		fflush(stdout);
		_exit(99);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 99)
		return;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		printf("%s -> SUCCEEDED: the program ran\n", what);
		escaped_count++;
	} else {
		printf("%s -> child ended with status %#x\n", what, st);
	}
	fflush(stdout);
}

static void via_execve(void)
{
	char *av[] = {(char *)"sh", (char *)"-c", sh_argv("execve"), NULL};
	execve("/bin/sh", av, environ);
}

static void via_ldso(void)
{
	char *av[] = {(char *)"ld.so", (char *)"/bin/sh", (char *)"-c", sh_argv("ldso"), NULL};
	execve("/lib64/ld-linux-x86-64.so.2", av, environ);
}

static void via_copy(void)
{
	int fd = open(in_dir("sh-copy"), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0 || copy_into(fd, "/bin/sh") < 0)
		return;
	close(fd);
	char *av[] = {(char *)"sh", (char *)"-c", sh_argv("copy"), NULL};
	execve(in_dir("sh-copy"), av, environ);
}

static void via_memfd(void)
{
	int fd = memfd_create("sh", 0);
	if (fd < 0 || copy_into(fd, "/bin/sh") < 0)
		return;
	char *av[] = {(char *)"sh", (char *)"-c", sh_argv("memfd"), NULL};
	syscall(SYS_execveat, fd, "", av, environ, AT_EMPTY_PATH);
}

static void via_opath(void)
{
	int fd = open("/bin/sh", O_PATH | O_CLOEXEC);
	char *av[] = {(char *)"sh", (char *)"-c", sh_argv("opath"), NULL};
	syscall(SYS_execveat, fd, "", av, environ, AT_EMPTY_PATH);
}

static void via_procfd(void)
{
	int fd = open("/bin/sh", O_RDONLY);
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	char *av[] = {(char *)"sh", (char *)"-c", sh_argv("procfd"), NULL};
	execve(p, av, environ);
}

static void via_script(void)
{
	int fd = open(in_dir("script"), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0)
		return;
	dprintf(fd, "#!/bin/sh\n%s\n", sh_argv("script"));
	close(fd);
	char *av[] = {(char *)"script", NULL};
	execve(in_dir("script"), av, environ);
}

static void via_allowed(void)
{
	char *av[] = {(char *)"true", NULL};
	execve("/usr/bin/true", av, environ);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: attack-exec DIR\n");
		return 2;
	}
	dir = argv[1];
	attempt("execve(/bin/sh)", via_execve);
	attempt("execve(ld.so /bin/sh)", via_ldso);
	attempt("execve(DIR copy of /bin/sh)", via_copy);
	attempt("execveat(memfd copy of /bin/sh)", via_memfd);
	attempt("execveat(O_PATH /bin/sh)", via_opath);
	attempt("execve(/proc/self/fd/N of /bin/sh)", via_procfd);
	attempt("execve(#! script in DIR)", via_script);
	/* Sanity: the one allowed program. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		via_allowed();
		_exit(98);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	say("execve(/usr/bin/true), which is allowed -> %s",
	    WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ran" : "did not run");
	return attack_exit();
}
