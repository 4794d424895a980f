/* attack-daemon — leave a process behind after the run.
 *
 * usage: attack-daemon TOKEN closed|keep
 * Double-forks; the grandchild calls setsid(), ignores SIGHUP/SIGTERM/
 * SIGINT and execs `sleep 300` with argv[0] "ward-escape-daemon-TOKEN"
 * and WARD_ESCAPE_DAEMON=TOKEN in its environment. With `closed` it
 * detaches stdio like a daemon; with `keep` it holds the box's stdout and
 * stderr open (ward must not wait for them to close). The program exits
 * 0 at once. The driver searches the host's /proc for TOKEN after ward
 * has exited. */
#include <signal.h>
#include <sys/wait.h>

#include "attack.h"

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3) {
		fprintf(stderr, "usage: attack-daemon TOKEN closed|keep\n");
		return 2;
	}
	char name[256], env[256];
	snprintf(name, sizeof(name), "ward-escape-daemon-%s", argv[1]);
	snprintf(env, sizeof(env), "WARD_ESCAPE_DAEMON=%s", argv[1]);
	bool closed = !strcmp(argv[2], "closed");

	pid_t mid = fork();
	if (mid == 0) {
		setsid();
		pid_t d = fork();
		if (d == 0) {
			signal(SIGHUP, SIG_IGN);
			signal(SIGTERM, SIG_IGN);
			signal(SIGINT, SIG_IGN);
			if (closed) {
				int n = open("/dev/null", O_RDWR);
				dup2(n, 0);
				dup2(n, 1);
				dup2(n, 2);
			}
			char *av[] = {name, (char *)"300", NULL};
			char *ev[] = {env, NULL};
			execve("/bin/sleep", av, ev);
			execve("/usr/bin/sleep", av, ev);
			_exit(127);
		}
		say("daemon started as pid %d (in the box)", d);
		_exit(0);
	}
	waitpid(mid, NULL, 0);
	say("parent exits");
	return 0;
}
