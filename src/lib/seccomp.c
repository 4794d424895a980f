/* seccomp.c — loads ward's default-deny syscall allowlist.
 *
 * The filter is compiled by tools/gen-filter.c with libseccomp at build
 * time; here it is only handed to the kernel, which takes ~0.1 ms instead
 * of the ~1.6 ms libseccomp needs to build it (FACTS.md). */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include "box.h"
#include "seccomp-filter.h"

size_t seccomp_filter_len(void)
{
	return ELEMENTSOF(ward_seccomp_filter);
}

int seccomp_apply(struct err *e)
{
	struct sock_fprog prog = {
		.len = (unsigned short)ELEMENTSOF(ward_seccomp_filter),
		.filter = (struct sock_filter *)ward_seccomp_filter,
	};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return err_errno(e, errno, "cannot load the seccomp filter");
	return 0;
}
