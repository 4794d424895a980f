/* common.h — what every `ward` subcommand shares: dying with a message and
 * an exit status, the help text, and the subcommand entry points. */
#pragma once

#include <stdio.h>

#include "util.h" /* generic helpers: cleanup attributes, paths, sizes */
#include "ward.h" /* everything about boxes goes through libward's API */
/* ward(1)'s exit statuses, one table with the library's: the CLI's own
 * are EXIT_USAGE and EXIT_SETUP; a run's come from ward_result_exit_status. */
#include "result.h"

/* One entry point per subcommand (main.c dispatches from a table). Each
 * gets argv with argv[0] = the subcommand's name and returns the exit
 * status. */
int cmd_run(int argc, char **argv);
int cmd_profiles(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* Prints `ward: <message>` to stderr and exits with status. */
_noreturn_ void die(int status, const char *fmt, ...) _printf_(2, 3);
/* The same, with ": <reason from errno>" appended. */
_noreturn_ void die_errno(int status, const char *fmt, ...) _printf_(2, 3);
/* A usage error: `ward: <message>`, then `try 'ward --help'`, exit 122. */
_noreturn_ void die_usage(const char *fmt, ...) _printf_(1, 2);
/* Out of memory in ward itself: nothing was started, exit 125. */
_noreturn_ void die_oom(void);
/* Prints `ward: <message>` to stderr and carries on. */
void warn(const char *fmt, ...) _printf_(1, 2);

/* strerror(errnum) with its first letter lowercased, as every message of
 * ward is ("no such file or directory"). Returns a static buffer. */
const char *strerror_lc(int errnum);

/* true if arg is -h or --help (every subcommand accepts them). */
bool is_help_arg(const char *arg);

/* The full `ward --help` text. */
void print_help(FILE *f);

/* Flushes stdout and reports a failed write (e.g. to a full disk or a
 * closed pipe): returns status, or 125 when stdout could not be written. */
int finish_stdout(int status);

/* A file ward writes after a run (--report, --learn). Its directory is
 * opened before the run, and the file is written to a temporary name and
 * renamed into place relative to that descriptor: a symlink the box
 * plants at the file is replaced, never followed, and one planted in
 * place of a directory on the way cannot steer the write elsewhere
 * (CVE-2024-28185). */
struct out_file {
	const char *opt;  /* "report", "learn": for messages */
	const char *path; /* as given */
	const char *base; /* its last component */
	int dirfd;	  /* -1: no file (NULL or "-") */
};
/* Checks and opens path's directory; dies with a usage error when the
 * file could not be written. */
struct out_file out_file_check(const char *opt, const char *path);
/* Dies with a usage error when a and b name the same file (the same name
 * in the same directory, or two links to one existing file): the second
 * written would replace the first. */
void out_file_check_distinct(const struct out_file *a, const struct out_file *b);
/* Writes data as the file; false after a message when it failed. */
bool out_file_write(const struct out_file *f, const char *data, size_t len);
