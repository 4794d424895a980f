/* brokerbench — the cost of one path-taking call from inside a box: runs
 * open()+close() and stat() of one file N times and prints the median,
 * p10 and p90 of each in microseconds, as one JSON line.
 *
 * usage: brokerbench N [CPU]
 * CPU pins the calling thread first (sched_setaffinity), so that the box
 * and the controller's broker thread can be put on the same vCPU or on
 * different ones (see bench/broker.sh). Run it under `ward run` with and
 * without --audit: the difference of the medians is the broker's round
 * trip (notification, path read, openat2 in the controller, fd injection). */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: brokerbench N [CPU]\n");
		return 2;
	}
	long n = strtol(argv[1], NULL, 10);
	if (n < 10 || n > 10000000) {
		fprintf(stderr, "brokerbench: N must be 10..10000000\n");
		return 2;
	}
	if (argc > 2) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET((int)strtol(argv[2], NULL, 10), &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0) {
			perror("brokerbench: sched_setaffinity");
			return 1;
		}
	}
	const char *path = "/etc/hostname";
	double *o = calloc((size_t)n, sizeof(double)), *s = calloc((size_t)n, sizeof(double));
	if (!o || !s)
		return 1;
	for (long i = 0; i < n; i++) {
		double t0 = now_us();
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror("brokerbench: open");
			return 1;
		}
		close(fd);
		double t1 = now_us();
		struct stat st;
		if (stat(path, &st) < 0) {
			perror("brokerbench: stat");
			return 1;
		}
		double t2 = now_us();
		o[i] = t1 - t0;
		s[i] = t2 - t1;
	}
	qsort(o, (size_t)n, sizeof(double), cmp);
	qsort(s, (size_t)n, sizeof(double), cmp);
	printf("{\"n\": %ld, \"open_us\": {\"p10\": %.2f, \"median\": %.2f, \"p90\": %.2f}, "
	       "\"stat_us\": {\"p10\": %.2f, \"median\": %.2f, \"p90\": %.2f}}\n",
	       n, o[n / 10], o[n / 2], o[n * 9 / 10], s[n / 10], s[n / 2], s[n * 9 / 10]);
	return 0;
}
