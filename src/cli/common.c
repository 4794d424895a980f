/* common.c — messages and exits shared by the subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "banned.h"

_printf_(1, 0) static void vmessage(const char *fmt, va_list ap, int errnum)
{
	/* One fprintf per line: stderr is unbuffered, and a line written in
	 * pieces can interleave with the box's own stderr. */
	char buf[2048];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		buf[0] = 0;
	if (errnum)
		fprintf(stderr, "ward: %s: %s\n", buf, strerror_lc(errnum));
	else
		fprintf(stderr, "ward: %s\n", buf);
}

void die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap, 0);
	va_end(ap);
	exit(status);
}

void die_errno(int status, const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap, errnum ? errnum : EIO);
	va_end(ap);
	exit(status);
}

void die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap, 0);
	va_end(ap);
	fputs("try 'ward --help'\n", stderr);
	exit(EXIT_USAGE);
}

void die_oom(void)
{
	die(EXIT_SETUP, "out of memory");
}

void warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap, 0);
	va_end(ap);
	errno = saved;
}

const char *strerror_lc(int errnum)
{
	static char buf[256];
	snprintf(buf, sizeof(buf), "%s", strerror(errnum));
	/* "No such file" -> "no such file", but leave "RPC ..." alone. */
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

bool is_help_arg(const char *arg)
{
	return arg && (!strcmp(arg, "-h") || !strcmp(arg, "--help"));
}

int finish_stdout(int status)
{
	/* fflush to learn why a write failed (errno), fclose too: on some file
	 * systems a write error is only known at close. */
	int err = 0, last = errno;
	if (ferror(stdout)) /* errno still tells why, unless something reset it */
		err = last ? last : EIO;
	else if (fflush(stdout) != 0)
		err = errno ? errno : EIO;
	if (fclose(stdout) != 0 && !err)
		err = errno ? errno : EIO;
	if (!err)
		return status;
	/* A closed pipe (`ward profiles | head -1`) is not worth a message. */
	if (err != EPIPE)
		warn("cannot write to standard output: %s", strerror_lc(err));
	return status ? status : EXIT_SETUP;
}
