/* benchutil.h — what the bench drivers share: failing with a message,
 * the clock, the load average, percentiles and JSON strings. Each driver
 * is one file; these are static inline so a driver may use any subset.
 * A driver defines BENCH_NAME (its name in messages) and BENCH_DIE_STATUS
 * (its exit status for a fatal error) before including this. */
#ifndef WARD_BENCHUTIL_H
#define WARD_BENCHUTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noreturn, format(printf, 1, 2))) static inline void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(BENCH_NAME ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(BENCH_DIE_STATUS);
}

static inline double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The 1-minute load average; -1 if unknown. */
static inline double loadavg(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "re");
	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The p-quantile (0..1) of a sorted array, by linear interpolation
 * between the closest ranks; 0 when empty. */
static inline double percentile(const double *sorted, size_t n, double p)
{
	if (n == 0)
		return 0;
	double pos = p * (double)(n - 1);
	size_t lo = (size_t)pos;
	if (lo + 1 >= n)
		return sorted[n - 1];
	return sorted[lo] + (pos - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

/* s as a JSON string (quotes, backslashes and control characters escaped). */
static inline void put_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

#endif
