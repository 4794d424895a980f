/* broker/calls.h — the system calls the broker answers, one table for
 * both its users: tools/gen-filter.c makes the notification filter from
 * it at build time (every call here goes to the controller), and
 * calls.c decodes each notification with it at run time.
 *
 * The numbers and argument indices are x86_64's: BROKER_ARCH is the only
 * ABI the filter sends to the broker (gen-filter refuses to build it for
 * another native arch), and the broker refuses a notification of any
 * other. */
#pragma once

#include <linux/audit.h>
#include <sys/syscall.h>

#define BROKER_ARCH AUDIT_ARCH_X86_64

enum op {
	OP_OPEN, OP_OPEN2, OP_STAT, OP_STATX, OP_ACCESS, OP_READLINK, OP_EXEC,
	OP_MKDIR, OP_UNLINK, OP_RENAME, OP_LINK, OP_CONNECT, OP_BIND,
};

/* The calls the filter sends to the broker, and where their arguments
 * are. dir < 0: relative to the cwd. The stat family's flags carry
 * AT_EMPTY_PATH, with which the call is fstat(): the filter lets that
 * through unnotified (see gen-filter.c, notify_filter). */
static const struct call {
	int nr;
	const char *name; /* the family name used in denial records */
	enum op op;
	signed char dir, path, flags; /* argument indices, -1 = none */
} calls[] = {
	{__NR_open, "open", OP_OPEN, -1, 0, 1},
	{__NR_creat, "open", OP_OPEN, -1, 0, -1},
	{__NR_openat, "open", OP_OPEN, 0, 1, 2},
	{__NR_openat2, "open", OP_OPEN2, 0, 1, -1},
	{__NR_stat, "stat", OP_STAT, -1, 0, -1},
	{__NR_lstat, "stat", OP_STAT, -1, 0, -1},
	{__NR_newfstatat, "stat", OP_STAT, 0, 1, 3},
	{__NR_statx, "stat", OP_STATX, 0, 1, 2},
	{__NR_access, "access", OP_ACCESS, -1, 0, -1},
	{__NR_faccessat, "access", OP_ACCESS, 0, 1, -1},
	{__NR_faccessat2, "access", OP_ACCESS, 0, 1, 3},
	{__NR_readlink, "readlink", OP_READLINK, -1, 0, -1},
	{__NR_readlinkat, "readlink", OP_READLINK, 0, 1, -1},
	{__NR_execve, "exec", OP_EXEC, -1, 0, -1},
	{__NR_execveat, "exec", OP_EXEC, 0, 1, 4},
	{__NR_mkdir, "mkdir", OP_MKDIR, -1, 0, -1},
	{__NR_mkdirat, "mkdir", OP_MKDIR, 0, 1, -1},
	{__NR_rmdir, "unlink", OP_UNLINK, -1, 0, -1},
	{__NR_unlink, "unlink", OP_UNLINK, -1, 0, -1},
	{__NR_unlinkat, "unlink", OP_UNLINK, 0, 1, 2},
	/* rename: the second path is the next argument (after its dirfd) */
	{__NR_rename, "rename", OP_RENAME, -1, 0, -1},
	{__NR_renameat, "rename", OP_RENAME, 0, 1, -1},
	{__NR_renameat2, "rename", OP_RENAME, 0, 1, 4},
	/* link: the new name as for rename; linkat's flags are argument 4 */
	{__NR_link, "link", OP_LINK, -1, 0, -1},
	{__NR_linkat, "link", OP_LINK, 0, 1, 4},
	/* the path is in the sockaddr (argument 1), not a string */
	{__NR_connect, "connect", OP_CONNECT, -1, 1, -1},
	{__NR_bind, "bind", OP_BIND, -1, 1, -1},
};
