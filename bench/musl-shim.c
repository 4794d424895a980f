/* musl-shim.c — only for bench/static-ward.sh's musl experiment, never
 * part of ward. Debian ships libjansson.a built against glibc with
 * _FORTIFY_SOURCE, so it calls glibc's checked entry points; ward calls
 * sigabbrev_np(), a glibc extension. musl has neither: map them onto
 * plain functions so that a static musl ward can be linked and timed. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int __snprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt,
		   ...);
int __vsnprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt,
		    va_list ap);
char *__strncpy_chk(char *d, const char *s, size_t n, size_t dlen);
const char *sigabbrev_np(int sig);

int __snprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt,
		   ...)
{
	va_list ap;
	int r;

	(void)flag;
	(void)slen;
	va_start(ap, fmt);
	r = vsnprintf(s, n, fmt, ap);
	va_end(ap);
	return r;
}

int __vsnprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt,
		    va_list ap)
{
	(void)flag;
	(void)slen;
	return vsnprintf(s, n, fmt, ap);
}

char *__strncpy_chk(char *d, const char *s, size_t n, size_t dlen)
{
	(void)dlen;
	return strncpy(d, s, n);
}

const char *sigabbrev_np(int sig)
{
	static const char *const names[] = {
		[SIGHUP] = "HUP",   [SIGINT] = "INT",   [SIGQUIT] = "QUIT",
		[SIGILL] = "ILL",   [SIGTRAP] = "TRAP", [SIGABRT] = "ABRT",
		[SIGBUS] = "BUS",   [SIGFPE] = "FPE",   [SIGKILL] = "KILL",
		[SIGUSR1] = "USR1", [SIGSEGV] = "SEGV", [SIGUSR2] = "USR2",
		[SIGPIPE] = "PIPE", [SIGALRM] = "ALRM", [SIGTERM] = "TERM",
		[SIGCHLD] = "CHLD", [SIGCONT] = "CONT", [SIGSTOP] = "STOP",
		[SIGTSTP] = "TSTP", [SIGTTIN] = "TTIN", [SIGTTOU] = "TTOU",
		[SIGURG] = "URG",   [SIGXCPU] = "XCPU", [SIGXFSZ] = "XFSZ",
		[SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF",
		[SIGWINCH] = "WINCH", [SIGIO] = "IO", [SIGPWR] = "PWR",
		[SIGSYS] = "SYS",
	};

	if (sig <= 0 || sig >= (int)(sizeof(names) / sizeof(names[0])))
		return NULL;
	return names[sig];
}
