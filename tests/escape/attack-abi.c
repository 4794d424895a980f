/* attack-abi — make syscalls through the foreign ABIs.
 *
 * usage: attack-abi x32-getpid | x32-open CANARY | int80-getpid |
 *                   int80-open CANARY
 * The filter is written for x86_64 numbers: an x32 call (number with bit
 * 30 set) or an i386 call (`int $0x80` with i386 numbers) would slip past
 * rules keyed on x86_64 numbers, so both ABIs must kill the process. The
 * driver expects death by SIGSYS and no canary in the output. Run with
 * `--no-box` semantics the calls simply work: that is how the driver
 * checks the attack itself (see escape.py). */
#include <stdint.h>
#include <sys/mman.h>

#include "attack.h"

#define X32_BIT 0x40000000L

static long x32_syscall3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr | X32_BIT), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

static long int80_3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c)
			 : "r8", "r9", "r10", "r11", "memory");
	return ret;
}

/* Prints the raw result (a negative errno on failure). */
static void result(const char *what, long rc)
{
	if (rc < 0 && rc > -4096)
		say("%s returned %s: the process was not killed", what, errno_name((int)-rc));
	else
		say("%s returned %ld: the process was not killed", what, rc);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: attack-abi MODE [CANARY]\n");
		return 2;
	}
	const char *mode = argv[1];
	const char *canary = argc > 2 ? argv[2] : "/nonexistent";
	/* i386 calls take 32-bit pointers: keep the buffers below 4 GiB. */
	char *low = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
			 -1, 0);
	if (low == MAP_FAILED) {
		perror("mmap(MAP_32BIT)");
		return 3;
	}
	snprintf(low, 4096, "%s", canary);
	char *buf = low + 4096;

	if (!strcmp(mode, "x32-getpid")) {
		say("calling getpid through the x32 ABI (39 | 0x40000000)");
		result("x32 getpid", x32_syscall3(39, 0, 0, 0));
	} else if (!strcmp(mode, "x32-open")) {
		say("calling open(canary) through the x32 ABI (2 | 0x40000000)");
		long fd = x32_syscall3(2, (long)(uintptr_t)low, O_RDONLY, 0);
		result("x32 open", fd);
		if (fd >= 0) {
			long n = x32_syscall3(0, fd, (long)(uintptr_t)buf, 4000);
			result("x32 read", n);
			if (n > 0)
				say("  read: %.*s", (int)n, buf);
		}
	} else if (!strcmp(mode, "int80-getpid")) {
		say("calling getpid through int $0x80 (i386 number 20)");
		result("int80 getpid", int80_3(20, 0, 0, 0));
	} else if (!strcmp(mode, "int80-open")) {
		say("calling open(canary) through int $0x80 (i386 number 5)");
		long fd = int80_3(5, (long)(uintptr_t)low, O_RDONLY, 0);
		result("int80 open", fd);
		if (fd >= 0) {
			long n = int80_3(3, fd, (long)(uintptr_t)buf, 4000);
			result("int80 read", n);
			if (n > 0)
				say("  read: %.*s", (int)n, buf);
		}
	} else {
		fprintf(stderr, "attack-abi: unknown mode '%s'\n", mode);
		return 2;
	}
	return 0;
}
