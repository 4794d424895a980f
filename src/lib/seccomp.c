/* seccomp.c — loads ward's default-deny syscall allowlist.
 *
 * The filter is compiled by tools/gen-filter.c with libseccomp at build
 * time; here it is only handed to the kernel, which takes ~0.1 ms instead
 * of the ~1.6 ms libseccomp needs to build it (FACTS.md). */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
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

/* Without a memory cgroup, memory is bounded by init's count of the box's
 * resident anonymous and shared pages (run.c). Three kinds of memory live
 * on without being mapped by any process, so no such count sees them:
 * memfd files, System V shared memory segments and System V message
 * queues (kernel memory: msgmni queues of msgmnb bytes, 512 MiB with the
 * default sysctls), and System V semaphore arrays (kernel memory: 64
 * bytes a semaphore, semmni arrays of semmsl, 1 GiB with the defaults;
 * the box cannot lower kernel.sem: the ipc sysctls are writable only by
 * its namespace's uid 0, which ward does not map). This second, stacked filter refuses to create them (the kernel applies the stricter answer of the
 * two filters). It also serves an exec allowlist: Landlock does not govern
 * memfds, so an execveat() of one would bypass it. Foreign ABIs are left
 * to the main filter, which kills them. */
int seccomp_apply_memory_guard(struct err *e)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_semget, 4, 0), /* to the EPERM below */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_memfd_create, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_shmget, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_msgget, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct sock_fprog prog = {.len = ELEMENTSOF(insns), .filter = insns};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return err_errno(e, errno, "cannot load the memory guard filter");
	return 0;
}
