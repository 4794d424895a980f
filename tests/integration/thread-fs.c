/* thread-fs.c — a box program for test_ask.py: a thread with a file
 * system of its own (cloned without CLONE_FS) names the process's
 * /proc/self/cwd, which the kernel follows as the process's (the thread
 * group leader's), not the calling thread's.
 *
 * The leader enters ARGV[1] (chdir is not asked); the thread's cwd is
 * ARGV[2]. The thread then opens /proc/self/cwd and makes an O_TMPFILE
 * in it, printing one line per attempt: "NAME ok" or "NAME ERROR". The
 * broker must ask about the directory the kernel opens: the leader's. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char *const *args;
static volatile int done;

static void report(const char *what, int fd)
{
	char m[128];
	int n = snprintf(m, sizeof(m), "%s %s\n", what, fd >= 0 ? "ok" : strerror(errno));
	(void)!write(1, m, (size_t)n);
}

static int thread(void *arg)
{
	(void)arg;
	if (chdir(args[2]) < 0)
		_exit(3);
	report("cwd", open("/proc/self/cwd", O_RDONLY | O_DIRECTORY));
	report("tmpfile", open("/proc/self/cwd", O_TMPFILE | O_RDWR, 0600));
	done = 1;
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	args = argv;
	if (chdir(argv[1]) < 0)
		return 3;
	size_t size = 1 << 16;
	char *stack = malloc(size);
	/* A thread (same process, same memory), but its own fs. */
	if (!stack || clone(thread, stack + size, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD, NULL) < 0)
		return 4;
	while (!done)
		usleep(1000);
	return 0;
}
