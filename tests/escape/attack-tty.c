/* attack-tty — try to push keystrokes into the caller's terminal.
 *
 * usage: attack-tty [fds-only]
 * The driver runs ward on a pseudo-terminal. TIOCSTI on any descriptor
 * that reaches that terminal would queue input for the shell that gets
 * the terminal back after the run (CVE-2017-5226). The high-bits variant
 * (0xffffffff00005412) slipped past filters that compared all 64 bits
 * (CVE-2019-10063). Each attempt injects a different letter so the driver
 * can tell which one got through; ioctls that work are counted. */
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "attack.h"

static char letter = 'A';

static void inject(int fd, const char *name)
{
	char what[256];
	char c = letter++;
	snprintf(what, sizeof(what), "ioctl(%s, TIOCSTI, '%c')", name, c);
	deny(what, ioctl(fd, TIOCSTI, &c));
	c = letter++;
	snprintf(what, sizeof(what), "ioctl(%s, 0xffffffff00005412, '%c')", name, c);
	deny(what, syscall(SYS_ioctl, fd, 0xffffffff00005412UL, &c));
	/* TIOCLINUX subcode 2 = set selection; 6 = get shift state. */
	char sub[8] = {6};
	snprintf(what, sizeof(what), "ioctl(%s, TIOCLINUX)", name);
	deny(what, ioctl(fd, TIOCLINUX, sub));
	snprintf(what, sizeof(what), "ioctl(%s, 0xffffffff0000541c TIOCLINUX)", name);
	deny(what, syscall(SYS_ioctl, fd, 0xffffffff0000541cUL, sub));
	struct winsize ws;
	snprintf(what, sizeof(what), "ioctl(%s, TIOCGWINSZ)", name);
	show(what, ioctl(fd, TIOCGWINSZ, &ws));
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Taking a terminal as controlling terminal and closing it again
	 * sends SIGHUP: keep going. */
	signal(SIGHUP, SIG_IGN);
	/* Which layer refuses TIOCSTI: on a descriptor that is no terminal
	 * the kernel answers ENOTTY, the filter EPERM (the driver expects
	 * EPERM in the box, ENOTTY outside). */
	int pfd[2];
	if (pipe(pfd) == 0) {
		char c = 'p';
		show("ioctl(pipe, TIOCSTI)", ioctl(pfd[1], TIOCSTI, &c));
		show("ioctl(pipe, 0xffffffff00005412)", syscall(SYS_ioctl, pfd[1], 0xffffffff00005412UL, &c));
		close(pfd[0]);
		close(pfd[1]);
	}
	/* setsid() made the program a session leader (getsid(0) is 0 when
	 * the session's leader is outside the box's pid namespace). */
	say("session leader: %s (getsid(0) %d, getpid() %d)", getsid(0) == getpid() ? "yes" : "no",
	    (int)getsid(0), (int)getpid());
	for (int fd = 0; fd <= 2; fd++) {
		char name[32];
		snprintf(name, sizeof(name), "fd %d", fd);
		say("%s isatty: %d", name, isatty(fd));
		inject(fd, name);
	}
	/* The driver's run outside the box keeps to its own terminal. */
	if (argc > 1 && !strcmp(argv[1], "fds-only"))
		return attack_exit();
	show("getsid(0)", getsid(0));
	show("tcgetpgrp(0)", tcgetpgrp(0));
	/* Become a session leader and try to take a terminal as controlling
	 * terminal, then inject again. */
	show("setsid()", setsid());
	const char *paths[] = {"/dev/tty", "/dev/console", "/dev/tty0", "/dev/tty1",
			       "/dev/ptmx", "/dev/pts/0", "/dev/pts/1", "/proc/1/fd/0",
			       "/proc/1/fd/1", "/proc/1/fd/2", "/proc/self/fd/0", NULL};
	for (int i = 0; paths[i]; i++) {
		int fd = open(paths[i], O_RDWR | O_NOCTTY | O_CLOEXEC);
		char what[128];
		snprintf(what, sizeof(what), "open(%s, O_RDWR)", paths[i]);
		if (show(what, fd) < 0)
			continue;
		say("%s isatty: %d", paths[i], isatty(fd));
		if (isatty(fd)) {
			snprintf(what, sizeof(what), "ioctl(%s, TIOCSCTTY)", paths[i]);
			show(what, ioctl(fd, TIOCSCTTY, 0));
		}
		inject(fd, paths[i]);
		close(fd);
	}
	list_dir("/dev");
	list_dir("/dev/pts");
	return attack_exit();
}
