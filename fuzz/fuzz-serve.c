/* fuzz-serve.c — libFuzzer entry point for ward serve's request decoder:
 * the bytes of an HTTP body, as /api/v2/execute and /api/v1/run decode
 * them (serve-piston.c, serve-native.c), no box run.
 *
 * Any input: the decoders must return (no crash, no leak, no undefined
 * behaviour under ASan+UBSan) either 0 or a client status (400, 404) with
 * a one-line message, never a 500 but for memory. What they accept holds
 * what the stages rely on: at most max_files files, each name relative,
 * without an empty, "." or ".." part, a control character or NUL, at
 * most max_name bytes; an entry point that is a utf8 file; limits at
 * most the server's maxima; policy text only under allow_policy, and
 * then only text native_policy_check passes.
 *
 * serve-piston.c is included whole, so that the runtimes can be marked
 * installed without running a box (runtimes_detect does that in the
 * service). Built as the fuzzer with clang -fsanitize=fuzzer (see
 * meson.build), and always into fuzz-serve-replay, which feeds it the
 * seed corpus (corpus/serve). */
#include "../src/cli/serve-piston.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* serve-warm.c's view of the configuration (serve-main.c is not linked):
 * no warm boxes, which the decoder never starts anyway. */
void config_snapshot(struct serve_config *ret)
{
	*ret = (struct serve_config){0};
}

static _Noreturn void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-serve: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

static void config(struct serve_config *c, bool allow_policy)
{
	*c = (struct serve_config){
		.max_body = 1 << 20,
		.output_max = 4096,
		.binary_max = 1 << 20,
		.max_files = 8,
		.max_name = 64,
		.procs = 16,
		.compile_default = {1000, 1000, 64u << 20},
		.compile_max = {10000, 10000, 256u << 20},
		.run_default = {1000, 1000, 64u << 20},
		.run_max = {3000, 3000, 128u << 20},
		.allow_policy = allow_policy,
	};
}

static bool limits_ok(const struct stage_limits *l, const struct stage_limits *max)
{
	return l->timeout && l->timeout <= max->timeout && l->cpu_time &&
	       l->cpu_time <= max->cpu_time && l->memory && l->memory <= max->memory;
}

static void check(const struct exec_request *req, const struct serve_config *c)
{
	if (!req->rt || req->n_files > c->max_files || req->entry >= req->n_files ||
	    !req->files[req->entry].utf8)
		fail("accepted request without a runtime or a utf8 entry point", NULL);
	for (size_t i = 0; i < req->n_files; i++)
		if (!name_ok(req->files[i].name, strlen(req->files[i].name), c->max_name))
			fail("accepted file name", req->files[i].name);
	if (!limits_ok(&req->compile, &c->compile_max) || !limits_ok(&req->run, &c->run_max))
		fail("accepted limits above the server's", NULL);
	if (req->policy && !c->allow_policy)
		fail("policy text accepted without allow_policy", NULL);
	if (req->policy) {
		char err[300];
		if (native_policy_check(req->policy, req->policy_len, c, err, sizeof(err)))
			fail("accepted policy text that does not pass the check", err);
	}
}

static void decode(const json_t *body, bool native, bool allow_policy)
{
	struct serve_config c;
	struct exec_request req;
	char err[300] = "";
	config(&c, allow_policy);
	int code = native ? native_request_decode(body, &c, &req, err, sizeof(err))
			  : exec_request_decode(body, &c, &req, err, sizeof(err));
	if (code == 0)
		check(&req, &c);
	else if (code == 500 && strcmp(err, "out of memory"))
		fail("a 500 that is not memory", err);
	else if (code != 400 && code != 404 && code != 500)
		fail("an unexpected status", err);
	else if (!err[0] || strchr(err, '\n'))
		fail("a refusal without a one-line message", err);
	exec_request_clear(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* As runtimes_detect leaves them when every runtime is installed. */
	for (size_t i = 0; i < ELEMS(runtimes); i++)
		snprintf(runtimes[i].version, sizeof(runtimes[i].version), "3.11.2");
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!body)
		return 0;
	decode(body, false, false);
	decode(body, true, false);
	decode(body, true, true);
	json_decref(body);
	return 0;
}
