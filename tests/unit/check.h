/* check.h — the few assertions the unit tests share. Each test is a
 * function; a failed check prints where and what, marks the test failed
 * and carries on, so one run shows every failure. Output is TAP, which
 * meson reads (protocol : 'tap'). */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_failed; /* checks failed in the current test */

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			check_failed++;                                                \
		}                                                                      \
	} while (0)

#define CHECK_INT(got, want)                                                               \
	do {                                                                               \
		long long got_ = (long long)(got), want_ = (long long)(want);              \
		if (got_ != want_) {                                                       \
			printf("# %s:%d: %s is %lld, expected %lld\n", __FILE__, __LINE__, \
			       #got, got_, want_);                                         \
			check_failed++;                                                    \
		}                                                                          \
	} while (0)

#define CHECK_U64(got, want)                                                                  \
	do {                                                                                  \
		uint64_t got_ = (got), want_ = (want);                                        \
		if (got_ != want_) {                                                          \
			printf("# %s:%d: %s is %" PRIu64 ", expected %" PRIu64 "\n", __FILE__, \
			       __LINE__, #got, got_, want_);                                  \
			check_failed++;                                                       \
		}                                                                             \
	} while (0)

#define CHECK_STR(got, want)                                                                \
	do {                                                                                \
		const char *got_ = (got), *want_ = (want);                                  \
		if (!got_ || !want_ ? got_ != want_ : strcmp(got_, want_) != 0) {           \
			printf("# %s:%d: %s is\n#   '%s'\n# expected\n#   '%s'\n", __FILE__, \
			       __LINE__, #got, got_ ? got_ : "(null)", want_ ? want_ : "(null)"); \
			check_failed++;                                                     \
		}                                                                           \
	} while (0)

struct test {
	const char *name;
	void (*fn)(void);
};
#define TEST(name) {#name, name}

/* Runs every test; the exit status is 1 if any check failed. */
static inline int run_tests(const struct test *tests, size_t n)
{
	int failed = 0;
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		check_failed = 0;
		tests[i].fn();
		printf("%s %zu - %s\n", check_failed ? "not ok" : "ok", i + 1, tests[i].name);
		failed += check_failed != 0;
	}
	fflush(stdout);
	return failed ? 1 : 0;
}
