/* fuzz-policy.c — libFuzzer entry point for the policy file parser.
 *
 * Any input: policy_parse() must return (no crash, no leak, no undefined
 * behaviour under ASan+UBSan) with either success or a message and the
 * policy untouched. On
 * success the policy must survive policy_format() -> policy_parse() and
 * format to the same text again: what ward prints, it can read back.
 *
 * Built as the fuzzer with clang -fsanitize=fuzzer (see meson.build), and
 * always into fuzz-policy-replay, which feeds it the seed corpus. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: say which, and abort so the fuzzer keeps the input. */
static _noreturn_ void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-policy: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL, *q = NULL;
	struct err e = {{0}};
	char *text = NULL, *again = NULL;

	if (policy_new(&p) < 0)
		fail("policy_new failed", NULL);
	int r = policy_parse(p, "fuzz.policy", (const char *)data, size, &e);
	if (r < 0) {
		/* Every refusal says why, naming the file. */
		if (r == -ENOMEM)
			goto out;
		if (strncmp(e.msg, "fuzz.policy", 11) != 0 && !strstr(e.msg, "(included from fuzz.policy:"))
			fail("error message does not name the file", e.msg);
		/* All or nothing: a refused text leaves the policy as it was,
		 * empty. */
		if (p->n_grants || p->exec.n || p->env.n || p->n_files || p->ask.n || p->cwd ||
		    p->hostname || p->audit || p->hide_cwd || p->net != NET_NONE)
			fail("a refused policy left part of itself behind", e.msg);
		for (size_t i = 0; i < _LIMIT_MAX; i++)
			if (p->limits[i])
				fail("a refused policy left a limit behind", e.msg);
		goto out;
	}

	if (policy_format(p, &text) < 0)
		fail("policy_format failed", NULL);
	if (policy_new(&q) < 0)
		fail("policy_new failed", NULL);
	r = policy_parse(q, "formatted", text, strlen(text), &e);
	if (r < 0 && r != -ENOMEM)
		fail("formatted policy does not parse", e.msg);
	if (r == 0) {
		if (policy_format(q, &again) < 0)
			fail("policy_format failed", NULL);
		if (strcmp(text, again) != 0)
			fail("policy_format is not stable across a round trip", again);
		if (q->n_grants != p->n_grants || q->env.n != p->env.n || q->exec.n != p->exec.n)
			fail("round trip changed the number of grants", NULL);
	}
out:
	free(again);
	free(text);
	policy_free(q);
	policy_free(p);
	return 0;
}
