/* test-profile.c — the built-in profiles as compiled in: each parses, its
 * summary is its first comment line, it grants nothing writable, it
 * formats back to an equivalent policy; and the profile picked from a
 * program's name. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "policy.h"

static const char *const expected[] = {"python3", "lua", "node", "ruby", "perl", "sh", "native"};

static const char *env_get(const struct policy *p, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < p->env.n; i++)
		if (!strncmp(p->env.v[i], name, n) && p->env.v[i][n] == '=')
			return p->env.v[i] + n + 1;
	return NULL;
}

static void test_table(void)
{
	CHECK_INT(n_builtin_profiles, ELEMENTSOF(expected));
	for (size_t i = 0; i < n_builtin_profiles && i < ELEMENTSOF(expected); i++) {
		const struct profile *pr = &builtin_profiles[i];
		CHECK_STR(pr->name, expected[i]);
		CHECK(profile_find(expected[i]) == pr);
		/* The summary is the first line of the text, without "# ". */
		CHECK(pr->summary && pr->summary[0]);
		CHECK(pr->text && !strncmp(pr->text, "# ", 2));
		if (pr->text && pr->summary) {
			size_t n = strcspn(pr->text + 2, "\n");
			CHECK(strlen(pr->summary) == n && !strncmp(pr->text + 2, pr->summary, n));
		}
		CHECK(pr->text && pr->text[strlen(pr->text) - 1] == '\n');
	}
	CHECK(profile_find("none") == NULL);
	CHECK(profile_find("auto") == NULL);
	CHECK(profile_find("") == NULL);
	CHECK(profile_find(NULL) == NULL);
	CHECK(profile_find("python") == NULL);
}

/* Every profile loads, grants only read-only paths, sets the default
 * environment, and survives policy_format -> policy_parse. */
static void test_each_loads(void)
{
	for (size_t i = 0; i < n_builtin_profiles; i++) {
		const char *name = builtin_profiles[i].name;
		struct policy *p = NULL, *q = NULL;
		struct err e = {{0}};
		CHECK_INT(policy_new(&p), 0);
		int r = policy_load_profile(p, name, &e);
		if (r < 0)
			printf("# profile %s: %s\n", name, e.msg);
		CHECK_INT(r, 0);
		for (size_t j = 0; j < p->n_grants; j++) {
			CHECK_INT(p->grants[j].kind, GRANT_RO);
			/* The base view is the launcher's, not a profile's. */
			CHECK(!path_is_under(p->grants[j].box, "/usr"));
			CHECK(!path_is_under(p->grants[j].box, "/tmp"));
		}
		CHECK_INT(p->exec.n, 0);
		CHECK_INT(p->net, NET_NONE);
		CHECK_STR(env_get(p, "PATH"), "/usr/local/bin:/usr/bin:/bin");
		CHECK_STR(env_get(p, "HOME"), "/tmp");
		CHECK_STR(env_get(p, "LANG"), "C.UTF-8");

		char *text = NULL;
		CHECK_INT(policy_format(p, &text), 0);
		CHECK_INT(policy_new(&q), 0);
		CHECK_INT(policy_parse(q, name, text ? text : "", text ? strlen(text) : 0, &e), 0);
		CHECK_INT(q->n_grants, p->n_grants);
		CHECK_INT(q->env.n, p->env.n);
		free(text);
		policy_free(q);
		policy_free(p);
	}

	struct policy *p = NULL;
	struct err e = {{0}};
	CHECK_INT(policy_new(&p), 0);
	CHECK_INT(policy_load_profile(p, "python3", &e), 0);
	CHECK_STR(env_get(p, "PYTHONDONTWRITEBYTECODE"), "1");
	CHECK_INT(policy_load_profile(p, "nosuch", &e), -ENOENT);
	CHECK_STR(e.msg, "unknown profile 'nosuch' (known: python3, lua, node, ruby, perl, sh, native)");
	CHECK_INT(policy_load_profile(p, NULL, &e), -ENOENT);
	CHECK_INT(policy_load_profile(NULL, "sh", &e), -EINVAL);
	policy_free(p);
}

static void test_for_program(void)
{
	static const struct {
		const char *program, *profile;
	} cases[] = {
		{"python3", "python3"},
		{"python3.11", "python3"},
		{"python3.12", "python3"},
		{"/usr/bin/python3.11", "python3"},
		{"./python3", "python3"},
		{"python", "python3"},
		{"python2.7", "native"},
		{"python3.", "native"},
		{"python3-config", "native"},
		{"python3.11x", "native"},
		{"lua", "lua"},
		{"lua5.4", "lua"},
		{"lua5.3", "lua"},
		{"/usr/bin/lua5.4", "lua"},
		{"luajit", "native"},
		{"luac5.4", "native"},
		{"node", "node"},
		{"nodejs", "node"},
		{"/usr/bin/node", "node"},
		{"node18", "native"},
		{"ruby", "ruby"},
		{"ruby3.1", "ruby"},
		{"rubyx", "native"},
		{"perl", "perl"},
		{"perl5.36.0", "perl"},
		{"perldoc", "native"},
		{"sh", "sh"},
		{"bash", "sh"},
		{"dash", "sh"},
		{"/bin/sh", "sh"},
		{"zsh", "native"},
		{"shx", "native"},
		{"a.out", "native"},
		{"/usr/bin/echo", "native"},
		{"dir/", "native"},
		{"", "native"},
		{NULL, "native"},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		const char *got = profile_for_program(cases[i].program);
		if (!got || strcmp(got, cases[i].profile) != 0) {
			printf("# profile_for_program('%s') = '%s', expected '%s'\n",
			       cases[i].program ? cases[i].program : "(null)", got ? got : "(null)",
			       cases[i].profile);
			check_failed++;
		}
		/* Whatever it picks is a profile that exists. */
		CHECK(got && profile_find(got));
	}
}

int main(void)
{
	static const struct test tests[] = {
		TEST(test_table),
		TEST(test_each_loads),
		TEST(test_for_program),
	};
	return run_tests(tests, ELEMENTSOF(tests));
}
