/* seccomp.c — loads ward's seccomp filters: the default-deny syscall
 * allowlist, the memory guard and the broker's notification filter.
 *
 * All of them are compiled by tools/gen-filter.c with libseccomp at build
 * time, from its tables and the broker's (broker/calls.h); here they are
 * only handed to the kernel, which takes ~0.1 ms instead of the ~1.6 ms
 * libseccomp needs to build the allowlist (bench/README.md, "Mechanism
 * costs"). */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include "box.h"
#include "seccomp-filter.h"

/* Stacks one precompiled program over the process's filters. Returns
 * what seccomp(2) returns (a listener fd with NEW_LISTENER), or -1. */
static int load(const struct sock_filter *insns, size_t n, unsigned flags)
{
	struct sock_fprog prog = {.len = (unsigned short)n, .filter = (struct sock_filter *)insns};
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

int seccomp_apply(struct err *e)
{
	if (load(ward_seccomp_filter, ELEMENTSOF(ward_seccomp_filter), 0) < 0)
		return err_errno(e, errno, "cannot load the seccomp filter");
	return 0;
}

/* What creates memory no count of the box's processes sees (memfd, System
 * V shared memory and message queues), refused; when memory is the
 * count's (no memory cgroup), also semget, shared anonymous mmap and
 * vmsplice. Why each: gen-filter.c, guard_refused. */
int seccomp_apply_memory_guard(bool memory, struct err *e)
{
	int r = memory ? load(ward_memory_guard_by_count, ELEMENTSOF(ward_memory_guard_by_count), 0)
		       : load(ward_memory_guard, ELEMENTSOF(ward_memory_guard), 0);
	if (r < 0)
		return err_errno(e, errno, "cannot load the memory guard filter");
	return 0;
}

int seccomp_apply_notify(struct err *e)
{
	int fd = load(ward_notify_filter, ELEMENTSOF(ward_notify_filter),
		      SECCOMP_FILTER_FLAG_NEW_LISTENER);
	if (fd < 0)
		return err_errno(e, errno, "cannot load the broker's notification filter");
	return fd;
}
