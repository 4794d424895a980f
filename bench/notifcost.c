/* notifcost — the floor of a seccomp user-notification round trip on this
 * host: a thread answers getppid() notifications at once (RECV + SEND,
 * after a poll(), as ward's broker does), the main thread times 20000
 * calls. Prints the median, p10, p90 in microseconds.
 *
 * usage: notifcost same|split    (both threads on vCPU 0, or 0 and 1) */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define N 20000
static int listener = -1;
static double samples[N];

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int handler_cpu;
static void *handler(void *arg)
{
	(void)arg;
	pin(handler_cpu);
	while (__atomic_load_n(&listener, __ATOMIC_ACQUIRE) < 0)
		;
	struct pollfd pf = {listener, POLLIN, 0};
	for (;;) {
		struct seccomp_notif n;
		memset(&n, 0, sizeof(n));
		if (poll(&pf, 1, -1) < 0 || ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0)
			continue;
		struct seccomp_notif_resp r = {.id = n.id, .val = 42};
		ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &r);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int split = argc > 1 && !strcmp(argv[1], "split");
	handler_cpu = split ? 1 : 0;
	pin(0);
	pthread_t t;
	pthread_create(&t, NULL, handler, NULL);
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = 4, .filter = f};
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (fd < 0) {
		perror("notifcost: seccomp");
		return 1;
	}
	/* SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (6.6+) */
	ioctl(fd, SECCOMP_IOW(4, __u64), 1UL);
	__atomic_store_n(&listener, fd, __ATOMIC_RELEASE);
	for (int i = 0; i < N; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		long r = syscall(__NR_getppid);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (r != 42)
			return 1;
		samples[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	}
	qsort(samples, N, sizeof(double), cmp);
	printf("{\"placement\": \"%s\", \"roundtrip_us\": {\"p10\": %.2f, \"median\": %.2f, \"p90\": %.2f}}\n",
	       split ? "split" : "same", samples[N / 10], samples[N / 2], samples[N * 9 / 10]);
	return 0;
}
