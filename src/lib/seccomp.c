/* seccomp.c — loads ward's default-deny syscall allowlist.
 *
 * The filter is compiled by tools/gen-filter.c with libseccomp at build
 * time; here it is only handed to the kernel, which takes ~0.1 ms instead
 * of the ~1.6 ms libseccomp needs to build it (bench/README.md,
 * "Mechanism costs"). */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
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
 * resident anonymous and shared pages (run.c). Some memory lives on
 * without being mapped by any process, so no such count sees it: memfd
 * files, System V shared memory segments and System V message queues
 * (kernel memory: msgmni queues of msgmnb bytes, 512 MiB with the default
 * sysctls). This second, stacked filter refuses to create them (the kernel
 * applies the stricter answer of the two filters). It also serves an exec
 * allowlist: Landlock does not govern memfds, so an execveat() of one
 * would bypass it.
 *
 * When memory is the count's (memory true), it refuses three more:
 * - semget: System V semaphore arrays are kernel memory (64 bytes a
 *   semaphore, semmni arrays of semmsl: 1 GiB with the defaults), and the
 *   box cannot lower kernel.sem (the ipc sysctls are writable only by its
 *   namespace's uid 0, which ward does not map). With a memory cgroup they
 *   are charged to the box, so semget stays allowed there.
 * - mmap(MAP_SHARED or MAP_SHARED_VALIDATE | MAP_ANONYMOUS): the pages
 *   live in a shmem object that outlives any process's page tables
 *   (MADV_DONTNEED drops them from the counted RssShmem, or a forked
 *   keeper holds the mapping without touching it while short-lived
 *   children fill it). mremap cannot turn a private mapping into a shared
 *   one, and MAP_SHARED of /dev/zero is closed by the box's /dev/zero
 *   being /dev/full (run.c plan_filesystem), which has no mmap. Bit 0 of
 *   the flags is set exactly for those two map types (MAP_PRIVATE is 2,
 *   MAP_DROPPABLE 8); only the low 32 bits carry flags.
 * - vmsplice: a pipe slot of one 4 KiB page keeps the whole transparent
 *   huge page it came from alive after munmap (512 times what a pipe
 *   holds).
 * Foreign ABIs are left to the main filter, which kills them. */
int seccomp_apply_memory_guard(bool memory, struct err *e)
{
	enum { ARG_FLAGS_LO = offsetof(struct seccomp_data, args[3]) };
	/* One program: instruction MEMORY_ONLY starts the checks that only a
	 * count of memory needs; without it, that instruction becomes a jump
	 * to ALLOW. Jumps count the instructions they skip. */
	enum { MEMORY_ONLY = 7, ALLOW = 13 };
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_memfd_create, 9, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_shmget, 8, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_msgget, 7, 0),
		/* MEMORY_ONLY */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_semget, 6, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_vmsplice, 5, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_FLAGS_LO),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MAP_ANONYMOUS, 0, 1),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MAP_SHARED, 1, 0),
		/* ALLOW */
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	if (!memory)
		f[MEMORY_ONLY] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, ALLOW - MEMORY_ONLY - 1, 0, 0);
	struct sock_fprog prog = {.len = ELEMENTSOF(f), .filter = f};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return err_errno(e, errno, "cannot load the memory guard filter");
	return 0;
}
