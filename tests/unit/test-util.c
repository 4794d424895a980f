/* test-util.c — the parsers and path helpers of util.c that the policy
 * file and the CLI share: sizes, durations, counts, path normalisation. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util.h"

/* parse_size must return r, and v when r == 0. */
static void size_is_at(int line, const char *s, int r, uint64_t v)
{
	uint64_t got = 12345;
	int gr = parse_size(s, &got);
	if (gr != r || (r == 0 && got != v)) {
		printf("# line %d: parse_size('%s') = %d, %" PRIu64 "; expected %d, %" PRIu64 "\n", line,
		       s ? s : "(null)", gr, got, r, v);
		check_failed++;
	}
	if (r != 0 && got != 12345) {
		printf("# line %d: parse_size('%s') wrote its result on failure\n", line, s);
		check_failed++;
	}
}
#define size_is(s, r, v) size_is_at(__LINE__, s, r, v)

static void duration_is_at(int line, const char *s, int r, uint64_t v)
{
	uint64_t got = 12345;
	int gr = parse_duration(s, &got);
	if (gr != r || (r == 0 && got != v)) {
		printf("# line %d: parse_duration('%s') = %d, %" PRIu64 "; expected %d, %" PRIu64 "\n",
		       line, s ? s : "(null)", gr, got, r, v);
		check_failed++;
	}
}
#define duration_is(s, r, v) duration_is_at(__LINE__, s, r, v)

static void count_is_at(int line, const char *s, uint64_t max, int r, uint64_t v)
{
	uint64_t got = 12345;
	int gr = parse_count(s, max, &got);
	if (gr != r || (r == 0 && got != v)) {
		printf("# line %d: parse_count('%s', %" PRIu64 ") = %d, %" PRIu64 "; expected %d, %" PRIu64 "\n",
		       line, s ? s : "(null)", max, gr, got, r, v);
		check_failed++;
	}
}
#define count_is(s, max, r, v) count_is_at(__LINE__, s, max, r, v)

static void test_parse_size(void)
{
	size_is("1", 0, 1);
	size_is("512", 0, 512);
	size_is("4096K", 0, 4ull << 20);
	size_is("64M", 0, 64ull << 20);
	size_is("1G", 0, 1ull << 30);
	size_is("1T", 0, 1ull << 40);
	size_is("1k", 0, 1024);		/* suffixes in either case */
	size_is("2g", 0, 2ull << 30);
	size_is("1.5G", 0, 3ull << 29);
	size_is("0.5K", 0, 512);
	size_is("1KB", 0, 1024);
	size_is("1KiB", 0, 1024);
	size_is("3MiB", 0, 3ull << 20);
	size_is("100B", 0, 100);
	size_is("16777215T", 0, 16777215ull << 40);

	size_is("0", -ERANGE, 0);	/* zero is not a limit */
	size_is("0K", -ERANGE, 0);
	size_is("0.5", -ERANGE, 0);	/* less than a byte */
	size_is("16777216T", -ERANGE, 0); /* 2^64: overflow */
	size_is("18446744073709551616", -ERANGE, 0);
	size_is("99999999999999999999999999999999999", -ERANGE, 0);

	size_is("", -EINVAL, 0);
	size_is(NULL, -EINVAL, 0);
	size_is("12Q", -EINVAL, 0);
	size_is("-1", -EINVAL, 0);
	size_is("+1", -EINVAL, 0);
	size_is(" 1", -EINVAL, 0);
	size_is("1 ", -EINVAL, 0);
	size_is("1.", -EINVAL, 0);
	size_is(".5G", -EINVAL, 0);
	size_is("1GG", -EINVAL, 0);
	size_is("1iB", -EINVAL, 0);	/* "i" only after a unit */
	size_is("1Gx", -EINVAL, 0);
	size_is("M", -EINVAL, 0);
	size_is("1e3", -EINVAL, 0);
	size_is("0x10", -EINVAL, 0);
}

static void test_parse_duration(void)
{
	duration_is("500ms", 0, 500);
	duration_is("5s", 0, 5000);
	duration_is("5", 0, 5000);	/* a bare number is seconds */
	duration_is("2m", 0, 120000);
	duration_is("1min", 0, 60000);
	duration_is("1h", 0, 3600000);
	duration_is("1.5s", 0, 1500);
	duration_is("0.25", 0, 250);
	duration_is("1ms", 0, 1);
	duration_is("1.0005s", 0, 1001); /* rounded to the nearest ms */

	duration_is("0", -ERANGE, 0);
	duration_is("0ms", -ERANGE, 0);
	duration_is("0.4ms", -ERANGE, 0); /* less than a millisecond */
	duration_is("300000000h", -ERANGE, 0);
	duration_is("99999999999999999999999999999999999", -ERANGE, 0);

	duration_is("", -EINVAL, 0);
	duration_is(NULL, -EINVAL, 0);
	duration_is("ms", -EINVAL, 0);
	duration_is("5x", -EINVAL, 0);
	duration_is("1d", -EINVAL, 0);
	duration_is("5S", -EINVAL, 0);
	duration_is("5 s", -EINVAL, 0);
	duration_is("-5s", -EINVAL, 0);
	duration_is("5sec", -EINVAL, 0);
	duration_is("1.s", -EINVAL, 0);
}

static void test_parse_count(void)
{
	count_is("1", 10, 0, 1);
	count_is("10", 10, 0, 10);
	count_is("64", UINT64_MAX, 0, 64);
	count_is("007", 10, 0, 7);
	count_is("18446744073709551609", UINT64_MAX, 0, 18446744073709551609ull);

	count_is("11", 10, -ERANGE, 0);
	count_is("0", 10, -ERANGE, 0);
	count_is("18446744073709551616", UINT64_MAX, -ERANGE, 0);
	count_is("99999999999999999999999", UINT64_MAX, -ERANGE, 0);

	count_is("", 10, -EINVAL, 0);
	count_is(NULL, 10, -EINVAL, 0);
	count_is("1x", 10, -EINVAL, 0);
	count_is("+1", 10, -EINVAL, 0);
	count_is("-1", 10, -EINVAL, 0);
	count_is(" 1", 10, -EINVAL, 0);
	count_is("1.5", 10, -EINVAL, 0);
	count_is("1K", 10000, -EINVAL, 0);
}

static void test_format_size_and_duration(void)
{
	char buf[32];
	static const struct {
		uint64_t v;
		const char *want;
	} sizes[] = {
		{0, "0"}, {1, "1"}, {1023, "1023"}, {1024, "1K"}, {1536, "1536"},
		{64ull << 20, "64M"}, {1ull << 30, "1G"}, {3ull << 29, "1536M"},
		{1ull << 40, "1T"}, {1ull << 50, "1024T"},
	};
	for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
		format_size(sizes[i].v, buf, sizeof(buf));
		CHECK_STR(buf, sizes[i].want);
		/* What is printed parses back to the same value. */
		uint64_t back = 0;
		if (sizes[i].v) {
			CHECK_INT(parse_size(buf, &back), 0);
			CHECK_U64(back, sizes[i].v);
		}
	}
	static const struct {
		uint64_t v;
		const char *want;
	} durations[] = {
		{1, "1ms"}, {500, "500ms"}, {1000, "1s"}, {1500, "1500ms"}, {90000, "90s"},
		{120000, "2m"}, {3600000, "1h"}, {5400000, "90m"}, {720ull * 3600000, "720h"},
	};
	for (size_t i = 0; i < ELEMENTSOF(durations); i++) {
		format_duration(durations[i].v, buf, sizeof(buf));
		CHECK_STR(buf, durations[i].want);
		uint64_t back = 0;
		CHECK_INT(parse_duration(buf, &back), 0);
		CHECK_U64(back, durations[i].v);
	}
	/* A short buffer truncates, never overflows. */
	char small[3] = "xx";
	format_size(123456, small, sizeof(small));
	CHECK_STR(small, "12");
}

static void normalize_is_at(int line, const char *in, const char *want)
{
	errno = 0;
	char *got = path_normalize(in);
	if (!want ? got != NULL || errno != EINVAL : !got || strcmp(got, want) != 0) {
		printf("# line %d: path_normalize('%s') = '%s' (errno %d), expected '%s'\n", line,
		       in ? in : "(null)", got ? got : "(null)", errno, want ? want : "NULL/EINVAL");
		check_failed++;
	}
	free(got);
}
#define normalize_is(in, want) normalize_is_at(__LINE__, in, want)

static void test_path_normalize(void)
{
	normalize_is("/", "/");
	normalize_is("//", "/");
	normalize_is("/usr", "/usr");
	normalize_is("/usr/", "/usr");
	normalize_is("/a//b///c/", "/a/b/c");
	normalize_is("/a/./b/.", "/a/b");
	normalize_is("/a/../b", "/b");
	normalize_is("/a/b/../../c", "/c");
	normalize_is("/..", "/");		/* never above "/" */
	normalize_is("/../a", "/a");
	normalize_is("/a/b/../../../..", "/");
	normalize_is("/...", "/...");		/* three dots is a name */
	normalize_is("/a/.b/..c", "/a/.b/..c");
	normalize_is("/a b/c d", "/a b/c d");
	normalize_is("a", NULL);
	normalize_is("./a", NULL);
	normalize_is("", NULL);
	normalize_is(NULL, NULL);
}

static void test_escape_text(void)
{
	char buf[64];
	escape_text(buf, sizeof(buf), "plain caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	CHECK_STR(buf, "plain caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"); /* valid UTF-8 stays */
	escape_text(buf, sizeof(buf), "a\xff\xfe b\x1b[31m\n\t\x7f");
	CHECK_STR(buf, "a\\xff\\xfe b\\x1b[31m\\x0a\\x09\\x7f");
	/* Truncated, overlong and surrogate sequences are bytes, not text. */
	escape_text(buf, sizeof(buf), "\xc3 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80");
	CHECK_STR(buf, "\\xc3 \\xc0\\xaf \\xed\\xa0\\x80 \\xf4\\x90\\x80\\x80");
	/* Escaping twice changes nothing. */
	char again[64];
	escape_text(again, sizeof(again), buf);
	CHECK_STR(again, buf);
	/* Cut to fit, never in the middle of an escape or a character. */
	char small[6];
	escape_text(small, sizeof(small), "ab\xff" "cd");
	CHECK_STR(small, "ab");
	escape_text(small, sizeof(small), "a\xc3\xa9\xc3\xa9");
	CHECK_STR(small, "a\xc3\xa9\xc3\xa9");
	escape_text(small, 4, "a\xc3\xa9\xc3\xa9");
	CHECK_STR(small, "a\xc3\xa9");
}

static void test_path_is_under_and_depth(void)
{
	CHECK(path_is_under("/usr/lib", "/usr"));
	CHECK(path_is_under("/usr", "/usr"));
	CHECK(path_is_under("/usr/lib/x", "/usr/lib"));
	CHECK(!path_is_under("/usrx", "/usr"));
	CHECK(!path_is_under("/usr", "/usr/lib"));
	CHECK(!path_is_under("/us", "/usr"));
	CHECK(path_is_under("/anything", "/"));
	CHECK(path_is_under("/", "/"));
	CHECK(!path_is_under("/proc", "/proc/self"));
	CHECK(path_is_under("/proc/self", "/proc"));

	CHECK_INT(path_depth("/"), 0);
	CHECK_INT(path_depth("/usr"), 1);
	CHECK_INT(path_depth("/usr/lib"), 2);
	CHECK_INT(path_depth("/usr/lib/"), 2);
	CHECK_INT(path_depth("/a/b/c/d"), 4);
}

/* read_file_at reads a file whole whatever its size around the page it
 * first reads onto the stack, NUL-terminated, and refuses one over max
 * (a file within the first page is always read, as before). */
static void test_read_file_at(void)
{
	char dir[] = "/tmp/ward-test-util.XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	static const size_t sizes[] = {0, 1, 4095, 4096, 4097, 8192, 8193, 20000};
	static char data[20000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 26);
	for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
		int fd = openat(dfd, "f", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		CHECK_INT(write_all(fd, data, sizes[i]), 0);
		close(fd);
		char *buf = NULL;
		size_t len = 99;
		CHECK_INT(read_file_at(dfd, "f", 1 << 20, &buf, &len), 0);
		CHECK_U64(len, sizes[i]);
		CHECK(buf && memcmp(buf, data, sizes[i]) == 0 && buf[sizes[i]] == 0);
		free(buf);
		buf = NULL;
		/* over max: refused past the first page, read within it */
		int r = read_file_at(dfd, "f", 100, &buf, NULL);
		CHECK_INT(r, sizes[i] < 4096 ? 0 : -EFBIG);
		free(buf);
	}
	char *buf = NULL;
	CHECK_INT(read_file_at(dfd, "missing", 100, &buf, NULL), -ENOENT);
	CHECK(buf == NULL);
	unlinkat(dfd, "f", 0);
	close(dfd);
	rmdir(dir);
}

/* ward's own signal and errno names and errno texts (names.c, for the
 * report's "signal", the denials' "errno" and every message) say what
 * glibc's sigabbrev_np(3), strerrorname_np(3) and strerror(3) say, number
 * for number, so reports and messages read the same whichever C library
 * the ward command was built with (musl's strerror says "No file
 * descriptors available" for EMFILE). */
static void test_signal_and_errno_names(void)
{
	CHECK_STR(signal_abbrev(SIGSEGV), "SEGV");
	CHECK_STR(signal_abbrev(SIGKILL), "KILL");
	CHECK_STR(signal_abbrev(0), NULL);
	CHECK_STR(signal_abbrev(SIGRTMAX), NULL);
	CHECK_STR(errno_name(EACCES), "EACCES");
	CHECK_STR(errno_name(EWOULDBLOCK), "EAGAIN");
	CHECK_STR(errno_name(0), NULL);
	CHECK_STR(errno_name(-EPERM), NULL);
	CHECK_STR(errno_name(4096), NULL);
	CHECK_STR(errno_text(EMFILE), "Too many open files");
	CHECK_STR(errno_text(ELOOP), "Too many levels of symbolic links");
	/* (glibc's strerror of an unknown number is a buffer the next call
	 * frees: compare a copy) */
	char unknown[64];
	snprintf(unknown, sizeof(unknown), "%s", errno_text(4096));
	CHECK_STR(unknown, strerror(4096));
#ifdef __GLIBC__
	for (int sig = -1; sig <= SIGRTMAX + 1; sig++)
		CHECK_STR(signal_abbrev(sig), sigabbrev_np(sig));
	for (int e = 1; e <= 200; e++) {
		CHECK_STR(errno_name(e), strerrorname_np(e));
		snprintf(unknown, sizeof(unknown), "%s", errno_text(e));
		CHECK_STR(unknown, strerror(e));
	}
#endif
}

int main(void)
{
	static const struct test tests[] = {
		TEST(test_parse_size),
		TEST(test_parse_duration),
		TEST(test_parse_count),
		TEST(test_format_size_and_duration),
		TEST(test_path_normalize),
		TEST(test_path_is_under_and_depth),
		TEST(test_escape_text),
		TEST(test_signal_and_errno_names),
		TEST(test_read_file_at),
	};
	return run_tests(tests, ELEMENTSOF(tests));
}
