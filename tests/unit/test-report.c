/* test-report.c — the broker's part of the report: denial lines (escaped,
 * so that a box cannot forge a line of ward's output), the `denials` and
 * `denials_dropped` keys (only for a brokered run), and paths that are
 * not UTF-8. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "run.h"

static struct denial denial(const char *call, const char *path, const char *flags, int error,
			    const char *reason)
{
	struct denial d = {.error = error, .reason = reason};
	snprintf(d.call, sizeof(d.call), "%s", call);
	snprintf(d.path, sizeof(d.path), "%s", path);
	snprintf(d.flags, sizeof(d.flags), "%s", flags);
	return d;
}

static void test_denial_lines(void)
{
	char buf[2048];
	struct denial d = denial("open", "/etc/passwd", "O_RDONLY", ENOENT, "not granted");
	denial_format(&d, buf, sizeof(buf));
	CHECK_STR(buf, "open(\"/etc/passwd\", O_RDONLY): not granted");
	d = denial("stat", "/x", "", ENOENT, "not granted");
	denial_format(&d, buf, sizeof(buf));
	CHECK_STR(buf, "stat(\"/x\"): not granted");
	/* Newlines, escapes, quotes, backslashes: never raw. */
	d = denial("open", "/a\nward: forged\x1b[2J\"\\", "O_RDONLY", ENOENT, "not granted");
	denial_format(&d, buf, sizeof(buf));
	CHECK_STR(buf, "open(\"/a\\x0award: forged\\x1b[2J\\x22\\x5c\", O_RDONLY): not granted");
	/* UTF-8 stays readable on the terminal. */
	d = denial("open", "/caf\xc3\xa9", "O_RDONLY", EACCES, "permission denied");
	denial_format(&d, buf, sizeof(buf));
	CHECK_STR(buf, "open(\"/caf\xc3\xa9\", O_RDONLY): permission denied");
	/* A short buffer truncates, never overflows. */
	char small[8];
	denial_format(&d, small, sizeof(small));
	CHECK_STR(small, "open(\"/");
}

static json_t *report_of(const struct run_result *r)
{
	char *s = report_json(r);
	CHECK(s != NULL);
	json_error_t err;
	json_t *o = s ? json_loads(s, 0, &err) : NULL;
	CHECK(o != NULL);
	free(s);
	return o;
}

static void test_report_keys(void)
{
	static struct run_result r; /* big: not on the stack */
	memset(&r, 0, sizeof(r));
	r.status = STATUS_EXITED;
	json_t *o = report_of(&r);
	CHECK(json_object_get(o, "denials") == NULL);
	CHECK(json_is_null(json_object_get(o, "evidence")));
	CHECK(json_is_null(json_object_get(o, "error")));
	json_decref(o);

	/* A limit's evidence, an io-error's message. */
	r.status = STATUS_MEMORY_LIMIT;
	r.evidence = "rlimit";
	o = report_of(&r);
	CHECK_STR(json_string_value(json_object_get(o, "status")), "memory-limit");
	CHECK_STR(json_string_value(json_object_get(o, "evidence")), "rlimit");
	json_decref(o);
	r.status = STATUS_IO_ERROR;
	r.evidence = NULL;
	snprintf(r.error.msg, sizeof(r.error.msg), "cannot deliver the box's stdout: broken pipe");
	o = report_of(&r);
	CHECK_STR(json_string_value(json_object_get(o, "status")), "io-error");
	CHECK_STR(json_string_value(json_object_get(o, "error")), "cannot deliver the box's stdout: broken pipe");
	CHECK(json_object_get(o, "denials_dropped") == NULL);
	json_decref(o);

	r.layers = LAYER_BROKER;
	r.denials[0] = denial("open", "/etc/shadow", "O_RDONLY", ENOENT, "not granted");
	r.denials[1] = denial("open", "/bad\xff\xfe", "O_WRONLY", EROFS, "read-only");
	r.n_denials = 2;
	r.denials_dropped = 7;
	o = report_of(&r);
	json_t *d = json_object_get(o, "denials");
	CHECK(json_is_array(d) && json_array_size(d) == 2);
	json_t *first = json_array_get(d, 0), *second = json_array_get(d, 1);
	CHECK_STR(json_string_value(json_object_get(first, "syscall")), "open");
	CHECK_STR(json_string_value(json_object_get(first, "path")), "/etc/shadow");
	CHECK_STR(json_string_value(json_object_get(first, "flags")), "O_RDONLY");
	CHECK_STR(json_string_value(json_object_get(first, "decision")), "denied");
	CHECK_STR(json_string_value(json_object_get(first, "errno")), "ENOENT");
	CHECK_STR(json_string_value(json_object_get(first, "reason")), "not granted");
	/* Not UTF-8: escaped rather than dropped (jansson refuses it). */
	CHECK_STR(json_string_value(json_object_get(second, "path")), "/bad\\xff\\xfe");
	CHECK_STR(json_string_value(json_object_get(second, "errno")), "EROFS");
	CHECK_INT(json_integer_value(json_object_get(o, "denials_dropped")), 7);
	json_t *layers = json_object_get(o, "layers");
	CHECK(json_is_array(layers) && json_array_size(layers) == 1 &&
	      !strcmp(json_string_value(json_array_get(layers, 0)), "broker"));
	json_decref(o);
}

int main(void)
{
	static const struct test tests[] = {
		TEST(test_denial_lines),
		TEST(test_report_keys),
	};
	return run_tests(tests, ELEMENTSOF(tests));
}
