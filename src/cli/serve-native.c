/* serve-native.c — POST /api/v1/run: a Piston request (the same decoder,
 * the same stages, files unpacked inside the box), answered with ward's
 * full report of each stage beside Piston's fields, and taking a built-in
 * profile, auditing, and ward-policy(5) text.
 *
 * Policy text comes from a client: it is taken only when the server's
 * configuration says allow_policy, and then only directives that act on
 * the client's own box: no host path (ro, rw, file, include), no limit,
 * no tmpfs, no pass-through of the server's environment (env NAME).
 * Host grants were taken below the configured policy_paths at first, but
 * a path checked here is opened again when the box is built, and another
 * box with a read-write grant there could swap in a symlink meanwhile:
 * refused until libward takes grants as descriptors. Each line is judged
 * by its first word before libward reads it (so no host path is looked
 * up for a refused line), then by its effect: parsed alone by libward
 * and written back as policy text (ward_policy_format), every directive
 * of it must be on the list. Limits come from the request's limit
 * fields, capped by the server. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "banned.h"

#define POLICY_MAX (16 << 10)

#define FAIL(...)                                  \
	do {                                       \
		snprintf(err, errlen, __VA_ARGS__); \
		return 400;                        \
	} while (0)

/* What a line of client policy text may do: act on the client's own box
 * only. */
static const char *const allowed[] = {"exec", "env", "cwd", "hostname", "net", "audit",
				      "text", "ask"};

static bool directive_allowed(const char *line, size_t len)
{
	size_t w = 0;
	while (w < len && line[w] != ' ' && line[w] != '\t')
		w++;
	bool ok = false;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && !ok; i++)
		ok = strlen(allowed[i]) == w && !strncmp(line, allowed[i], w);
	/* env NAME (no '=') passes the server's own variable through. */
	if (ok && w == 3 && !strncmp(line, "env", 3) && !memchr(line, '=', len))
		ok = false;
	return ok;
}

/* The raw line's first word, before libward reads the line (it would
 * look up a host path of a refused grant): 0, or 400 with the reason. */
static int word_check(const char *line, size_t n, unsigned lineno, char *err, size_t errlen)
{
	while (n && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	if (!n || *line == '#' || directive_allowed(line, n))
		return 0;
	size_t w = 0;
	while (w < n && line[w] != ' ' && line[w] != '\t')
		w++;
	FAIL("policy:%u: '%.*s' is not allowed in a request's policy (host paths are not taken "
	     "from a request, limits go in the limit fields, env needs NAME=VALUE)",
	     lineno, (int)(w > 40 ? 40 : w), line);
}

/* Whether formatted (ward_policy_format of one line's policy) holds
 * only allowed directives; the first other one in *bad. */
static bool format_allowed(const char *formatted, const char *empty, const char **bad,
			   size_t *badlen)
{
	for (const char *s = formatted; *s;) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		bool in_empty = false;
		/* what an empty policy writes too (its defaults) */
		for (const char *e = empty; *e && !in_empty;) {
			const char *enl = strchr(e, '\n');
			size_t en = enl ? (size_t)(enl - e) : strlen(e);
			in_empty = en == n && !strncmp(e, s, n);
			e += en + (enl ? 1 : 0);
		}
		if (n && s[0] != '#' && !in_empty && !directive_allowed(s, n)) {
			*bad = s;
			*badlen = n;
			return false;
		}
		s += n + (nl ? 1 : 0);
	}
	return true;
}

/* One line, alone: 0 or 400 with the reason. */
static int line_check(const char *line, size_t n, unsigned lineno, const char *empty,
		      const struct serve_config *c, char *err, size_t errlen)
{
	ward_policy *p = NULL;
	char *text = NULL;
	int code = 0;
	if (ward_policy_new(&p) < 0)
		FAIL("policy:%u: out of memory", lineno);
	if (ward_policy_load_text(p, "policy", line, n) < 0 || ward_policy_format(p, &text) < 0) {
		snprintf(err, errlen, "policy:%u: %s", lineno, ward_policy_error(p));
		code = 400;
		goto out;
	}
	const char *bad;
	size_t badlen;
	if (!format_allowed(text, empty, &bad, &badlen)) {
		snprintf(err, errlen,
			 "policy:%u: '%.*s' is not allowed in a request's policy (limits go in "
			 "the limit fields; file and tmpfs are not taken)",
			 lineno, (int)(badlen > 80 ? 80 : badlen), bad);
		code = 400;
		goto out;
	}
	/* No grant can come from the allowed directives; should one ever
	 * (a profile's), it is refused all the same. */
	if (ward_policy_grant_count(p) > 0) {
		snprintf(err, errlen, "policy:%u: host paths are not taken from a request", lineno);
		code = 400;
	}
out:
	free(text);
	ward_policy_free(p);
	return code;
}

int native_policy_check(const char *text, size_t len, const struct serve_config *c, char *err,
			size_t errlen)
{
	if (len > POLICY_MAX)
		FAIL("policy is longer than %d bytes", POLICY_MAX);
	if (strlen(text) != len)
		FAIL("policy must not contain NUL");
	/* Each line's first word, before libward reads any of it. */
	unsigned no = 0;
	for (size_t off = 0; off < len;) {
		const char *s = text + off;
		const char *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) : len - off;
		off += n + (nl ? 1 : 0);
		int r = word_check(s, n, ++no, err, errlen);
		if (r)
			return r;
	}
	/* Then the whole text: libward's own message for a malformed line. */
	ward_policy *p = NULL;
	char *empty = NULL;
	int code = 0;
	if (ward_policy_new(&p) < 0 || ward_policy_format(p, &empty) < 0) {
		ward_policy_free(p);
		free(empty);
		snprintf(err, errlen, "out of memory");
		return 500;
	}
	if (ward_policy_load_text(p, "policy", text, len) < 0) {
		snprintf(err, errlen, "%s", ward_policy_error(p));
		code = 400;
	}
	unsigned lineno = 0;
	for (size_t off = 0; !code && off < len;) {
		const char *s = text + off;
		const char *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) : len - off;
		off += n + (nl ? 1 : 0);
		code = line_check(s, n, ++lineno, empty, c, err, errlen);
	}
	free(empty);
	ward_policy_free(p);
	return code;
}

int native_request_decode(const json_t *body, const struct serve_config *c,
			  struct exec_request *req, char *err, size_t errlen)
{
	int code = exec_request_decode(body, c, req, err, errlen);
	if (code)
		return code;
	req->native = true;
	const json_t *audit = json_object_get(body, "audit");
	const json_t *profile = json_object_get(body, "profile");
	const json_t *policy = json_object_get(body, "policy");
	if (audit && !json_is_null(audit)) {
		if (!json_is_boolean(audit))
			FAIL("audit must be true or false");
		req->audit = json_is_true(audit);
	}
	if (profile && !json_is_null(profile)) {
		const char *name = json_string_value(profile);
		for (size_t i = 0; name && ward_profile_name(i); i++)
			if (!strcmp(name, ward_profile_name(i)))
				req->profile = ward_profile_name(i);
		if (!req->profile)
			FAIL("profile must be the name of a built-in profile (ward profiles)");
	}
	if (policy && !json_is_null(policy)) {
		if (!c->allow_policy)
			FAIL("policy is not allowed by this server's configuration (allow_policy)");
		if (!json_is_string(policy))
			FAIL("policy must be a string of ward-policy(5) text");
		const char *text = json_string_value(policy);
		size_t len = json_string_length(policy);
		if ((code = native_policy_check(text, len, c, err, errlen)))
			return code;
		if (!(req->policy = wipe_dup(text, len))) {
			snprintf(err, errlen, "out of memory");
			return 500;
		}
		req->policy_len = len;
	}
	return 0;
}
