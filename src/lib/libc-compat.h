/* libc-compat.h — the few Linux interfaces ward uses that not every C
 * library declares. glibc (2.36, Debian 12) has them all; musl 1.2.3
 * (Debian 12's, which the ward command is built with: docs/ARCHITECTURE.md,
 * "Build") has no statx() wrapper (musl 1.2.5 adds it) and no
 * RENAME_NOREPLACE. Each is detected by what the C library's own headers
 * define, never by the library's name or version. */
#pragma once

#include <stdio.h>
#include <sys/stat.h>

/* glibc and musl ≥ 1.2.5 define STATX_TYPE along with struct statx and
 * statx(); without it, take the struct from the kernel's header and make
 * the call directly. */
#ifndef STATX_TYPE
#include <linux/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
static inline int statx(int dirfd, const char *path, int flags, unsigned int mask,
			struct statx *buf)
{
	return (int)syscall(SYS_statx, dirfd, path, flags, mask, buf);
}
#endif

/* renameat2(2)'s flag, <linux/fs.h>'s value (glibc's <stdio.h> has it). */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
