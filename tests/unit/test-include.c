/* test-include.c — `include`: nesting, loops, the depth cap and errors
 * inside an included profile. The built-in profiles include nothing that
 * loops, so this program brings its own table: defining builtin_profiles
 * here keeps the linker from pulling the compiled-in one out of
 * libwardcore.a. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "policy.h"

const struct profile builtin_profiles[] = {
	{"leaf", "a leaf", "# a leaf\nenv LEAF=1\nmemory 100M\n"},
	{"left", "left", "# left\ninclude leaf\nenv SIDE=left\n"},
	{"right", "right", "# right\ninclude leaf\nenv SIDE=right\nmemory 200M\n"},
	{"top", "diamond", "# diamond\ninclude left\ninclude right\n"},
	{"self", "self", "# includes itself\ninclude self\n"},
	{"a", "a", "# a\ninclude b\n"},
	{"b", "b", "# b\n\ninclude c\n"},
	{"c", "c", "# c\ninclude a\n"},
	{"bad", "bad", "# bad\nenv OK=1\nmemroy 1G\n"},
	{"outer", "outer", "# outer\ninclude bad\n"},
	{"d1", "", "include d2\n"},
	{"d2", "", "include d3\n"},
	{"d3", "", "include d4\n"},
	{"d4", "", "include d5\n"},
	{"d5", "", "include d6\n"},
	{"d6", "", "include d7\n"},
	{"d7", "", "include d8\n"},
	{"d8", "", "include d9\n"},
	{"d9", "", "env DEEP=1\n"},
};
const size_t n_builtin_profiles = ELEMENTSOF(builtin_profiles);

static const char *env_get(const struct policy *p, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < p->env.n; i++)
		if (!strncmp(p->env.v[i], name, n) && p->env.v[i][n] == '=')
			return p->env.v[i] + n + 1;
	return NULL;
}

/* Loads profile `name` (or, with text, parses text as "t.policy"). */
static int load(const char *name, const char *text, struct policy **ret, struct err *e)
{
	struct policy *p = NULL;
	if (policy_new(&p) < 0)
		exit(2);
	memset(e, 0, sizeof(*e));
	int r = text ? policy_parse(p, "t.policy", text, strlen(text), e)
		     : policy_load_profile(p, name, e);
	*ret = p;
	return r;
}

static void test_nested_and_diamond(void)
{
	struct policy *p = NULL;
	struct err e;
	/* leaf twice (through left and right) is not a loop; later
	 * settings win, in include order. */
	CHECK_INT(load("top", NULL, &p, &e), 0);
	CHECK_STR(env_get(p, "LEAF"), "1");
	CHECK_STR(env_get(p, "SIDE"), "right");
	CHECK_U64(p->limits[LIMIT_MEMORY], 200ull << 20);
	CHECK_INT(p->env.n, 2);
	policy_free(p);

	/* A file's own settings after an include override it. */
	CHECK_INT(load(NULL, "include right\nmemory 300M\nenv SIDE=file\n", &p, &e), 0);
	CHECK_U64(p->limits[LIMIT_MEMORY], 300ull << 20);
	CHECK_STR(env_get(p, "SIDE"), "file");
	policy_free(p);

	/* Eight levels are allowed... */
	CHECK_INT(load("d2", NULL, &p, &e), 0);
	CHECK_STR(env_get(p, "DEEP"), "1");
	policy_free(p);
}

static void test_loops_and_depth(void)
{
	struct policy *p = NULL;
	struct err e;
	CHECK_INT(load("self", NULL, &p, &e), -ELOOP);
	CHECK_STR(e.msg, "self.policy:2: include: include loop 'self' -> 'self'");
	policy_free(p);

	CHECK_INT(load("a", NULL, &p, &e), -ELOOP);
	CHECK_STR(e.msg, "c.policy:2: include: include loop 'a' -> 'b' -> 'c' -> 'a'"
			 " (included from b.policy:3) (included from a.policy:2)");
	policy_free(p);

	/* From a file, the chain names the file's line too. */
	CHECK_INT(load(NULL, "# mine\ninclude b\n", &p, &e), -ELOOP);
	CHECK_STR(e.msg, "a.policy:2: include: include loop 'b' -> 'c' -> 'a' -> 'b'"
			 " (included from c.policy:2) (included from b.policy:3) (included from t.policy:2)");
	policy_free(p);

	/* ...nine are not. */
	CHECK_INT(load("d1", NULL, &p, &e), -ELOOP);
	CHECK_STR(e.msg, "d8.policy:1: include: profile 'd9' nested too deeply (at most 8 levels of include)"
			 " (included from d7.policy:1) (included from d6.policy:1) (included from d5.policy:1)"
			 " (included from d4.policy:1) (included from d3.policy:1) (included from d2.policy:1)"
			 " (included from d1.policy:1)");
	policy_free(p);
}

static void test_error_inside_include(void)
{
	struct policy *p = NULL;
	struct err e;
	CHECK_INT(load(NULL, "memory 1G\ninclude outer\n", &p, &e), -EINVAL);
	CHECK_STR(e.msg, "bad.policy:3: unknown directive 'memroy' (included from outer.policy:2)"
			 " (included from t.policy:2)");
	policy_free(p);

	CHECK_INT(load(NULL, "include nosuch\n", &p, &e), -ENOENT);
	CHECK_STR(e.msg, "t.policy:1: include: unknown profile 'nosuch' (known: leaf, left, right, top, self,"
			 " a, b, c, bad, outer, d1, d2, d3, d4, d5, d6, d7, d8, d9)");
	policy_free(p);
}

int main(void)
{
	static const struct test tests[] = {
		TEST(test_nested_and_diamond),
		TEST(test_loops_and_depth),
		TEST(test_error_inside_include),
	};
	return run_tests(tests, ELEMENTSOF(tests));
}
