/* ward.c — libward's public API (include/ward.h) over the internals:
 * struct policy and its setters (policy.c), host functions and ask rules,
 * the feature probe (features.c), limits and profiles. Runs, boxes and
 * results are in ward_box.c; the handles both files use in ward_internal.h.
 * Validation lives in the internals; this file maps types and handles. */
#include <stdio.h>
#include <string.h>

#include "ward_internal.h"

#include "config.h"
#include "host_features.h"

_Static_assert(WARD_LIMIT_MEMORY == (int)LIMIT_MEMORY && WARD_LIMIT_CPU_TIME == (int)LIMIT_CPU_TIME &&
		       WARD_LIMIT_WALL_TIME == (int)LIMIT_WALL_TIME &&
		       WARD_LIMIT_PROCS == (int)LIMIT_PROCS && WARD_LIMIT_OUTPUT == (int)LIMIT_OUTPUT &&
		       WARD_LIMIT_FILE_SIZE == (int)LIMIT_FILE_SIZE &&
		       WARD_LIMIT_OPEN_FILES == (int)LIMIT_OPEN_FILES &&
		       WARD_LIMIT_TMP_SIZE == (int)LIMIT_TMP_SIZE &&
		       WARD_LIMIT_DISK == (int)LIMIT_DISK && _LIMIT_MAX == 9,
	       "enum ward_limit mirrors enum limit_id");
_Static_assert((int)WARD_ACCESS_READ == (int)ACCESS_READ &&
		       (int)WARD_ACCESS_WRITE == (int)ACCESS_WRITE &&
		       (int)WARD_ACCESS_CREATE == (int)ACCESS_CREATE &&
		       (int)WARD_ACCESS_EXEC == (int)ACCESS_EXEC && (int)WARD_ACCESS_DIR == (int)ACCESS_DIR,
	       "WARD_ACCESS_* mirror ACCESS_*");

#define MAX_FUNCTIONS 256
#define MAX_FUNCTION_NAME 64

/* Records the message of a failed call on p (an internal setter already
 * formatted it) and passes r on. */
static int fail(ward_policy *p, int r, const struct err *e)
{
	if (e && e->msg[0])
		snprintf(p->err.msg, sizeof(p->err.msg), "%s", e->msg);
	else /* "out of memory", lowercase like every message */
		err_errno(&p->err, -r, "failed");
	return r;
}

/* Runs an internal setter: clears the last message, records a new one. */
#define SET(p, call)                                                           \
	({                                                                     \
		struct err e_ = {{0}};                                         \
		(p)->err.msg[0] = 0;                                           \
		int r_ = (call);                                               \
		r_ < 0 ? fail((p), r_, &e_) : 0;                               \
	})
/* ---- policies ------------------------------------------------------ */

WARD_API int ward_policy_new(ward_policy **ret_policy)
{
	if (!ret_policy)
		return -EINVAL;
	ward_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int r = policy_new(&p->core);
	if (r < 0) {
		free(p);
		return r;
	}
	p->lim = (struct channel_limits){
		.max_message = CHANNEL_DEFAULT_MAX_MESSAGE,
		.max_calls = CHANNEL_DEFAULT_MAX_CALLS,
		.call_timeout_ms = CHANNEL_DEFAULT_CALL_TIMEOUT_MS,
	};
	*ret_policy = p;
	return 0;
}

WARD_API void ward_policy_free(ward_policy *p)
{
	if (!p)
		return;
	policy_free(p->core);
	for (size_t i = 0; i < p->n_fns; i++)
		free(p->fns[i].name);
	free(p->fns);
	free(p->client_dir);
	free(p);
}

WARD_API const char *ward_policy_error(const ward_policy *p)
{
	return p ? p->err.msg : "";
}

WARD_API int ward_policy_load_file(ward_policy *p, const char *path)
{
	if (!p || !path)
		return -EINVAL;
	return SET(p, policy_load_file(p->core, path, &e_));
}

WARD_API int ward_policy_load_text(ward_policy *p, const char *name, const char *text,
				   size_t len)
{
	if (!p || !name || (!text && len))
		return -EINVAL;
	return SET(p, policy_parse(p->core, name, text ? text : "", len, &e_));
}

WARD_API int ward_policy_load_profile(ward_policy *p, const char *name)
{
	if (!p || !name)
		return -EINVAL;
	return SET(p, policy_load_profile(p->core, name, &e_));
}

WARD_API int ward_policy_grant_ro(ward_policy *p, const char *host_path, const char *box_path)
{
	if (!p || !host_path)
		return -EINVAL;
	return SET(p, policy_add_grant(p->core, GRANT_RO, host_path, box_path, 0, false, &e_));
}

WARD_API int ward_policy_grant_rw(ward_policy *p, const char *host_path, const char *box_path)
{
	if (!p || !host_path)
		return -EINVAL;
	return SET(p, policy_add_grant(p->core, GRANT_RW, host_path, box_path, 0, false, &e_));
}

WARD_API int ward_policy_grant_tmpfs(ward_policy *p, const char *box_path, uint64_t size)
{
	if (!p || !box_path)
		return -EINVAL;
	return SET(p, policy_add_grant(p->core, GRANT_TMPFS, NULL, box_path, size, false, &e_));
}

WARD_API int ward_policy_allow_exec(ward_policy *p, const char *box_path)
{
	if (!p || !box_path)
		return -EINVAL;
	return SET(p, policy_add_exec(p->core, box_path, &e_));
}

WARD_API int ward_policy_set_env(ward_policy *p, const char *name_value)
{
	if (!p || !name_value)
		return -EINVAL;
	/* The policy file's "env NAME" copies the caller's variable; a
	 * library call says what it means. */
	if (!strchr(name_value, '=')) {
		struct err e = {{0}};
		return fail(p, err_set(&e, EINVAL, "environment entry '%s' must be NAME=VALUE", name_value), &e);
	}
	return SET(p, policy_add_env(p->core, name_value, &e_));
}

WARD_API int ward_policy_set_cwd(ward_policy *p, const char *box_path)
{
	if (!p || !box_path)
		return -EINVAL;
	return SET(p, policy_set_cwd(p->core, box_path, &e_));
}

WARD_API int ward_policy_set_expose_cwd(ward_policy *p, bool expose)
{
	if (!p)
		return -EINVAL;
	return policy_set_hide_cwd(p->core, !expose);
}

WARD_API bool ward_policy_get_expose_cwd(const ward_policy *p)
{
	return p && !p->core->hide_cwd;
}

WARD_API int ward_policy_set_hostname(ward_policy *p, const char *name)
{
	if (!p || !name)
		return -EINVAL;
	return SET(p, policy_set_hostname(p->core, name, &e_));
}

WARD_API int ward_policy_set_net(ward_policy *p, enum ward_net mode)
{
	if (!p)
		return -EINVAL;
	const char *name = mode == WARD_NET_NONE ? "none" : mode == WARD_NET_LOOPBACK ? "loopback" : NULL;
	if (!name) {
		struct err e = {{0}};
		return fail(p, err_set(&e, EINVAL, "unknown network mode %d", (int)mode), &e);
	}
	return SET(p, policy_set_net(p->core, name, &e_));
}

WARD_API int ward_policy_set_limit(ward_policy *p, enum ward_limit limit, uint64_t value)
{
	if (!p || (unsigned)limit >= _LIMIT_MAX)
		return -EINVAL;
	return SET(p, policy_set_limit(p->core, (enum limit_id)limit, value, &e_));
}

/* ---- host functions ------------------------------------------------ */

static bool function_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (!n || n > MAX_FUNCTION_NAME || (name[0] >= '0' && name[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

WARD_API int ward_policy_add_function(ward_policy *p, const char *name, ward_function fn,
				      void *userdata)
{
	if (!p || !name || !fn)
		return -EINVAL;
	struct err e = {{0}};
	p->err.msg[0] = 0;
	if (!function_name_ok(name))
		return fail(p, err_set(&e, EINVAL,
				       "invalid function name '%.100s' (expected [A-Za-z_][A-Za-z0-9_]*, at most %d bytes)",
				       name, MAX_FUNCTION_NAME), &e);
	for (size_t i = 0; i < p->n_fns; i++)
		if (!strcmp(p->fns[i].name, name))
			return fail(p, err_set(&e, EEXIST, "function '%s' is already registered", name), &e);
	if (p->n_fns >= MAX_FUNCTIONS)
		return fail(p, err_set(&e, E2BIG, "too many functions (at most %d)", MAX_FUNCTIONS), &e);
	struct function *n = realloc(p->fns, (p->n_fns + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->fns = n;
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	p->fns[p->n_fns++] = (struct function){copy, fn, userdata};
	return 0;
}

WARD_API int ward_call_fail(ward_call *call, const char *fmt, ...)
{
	if (!call || !fmt)
		return -EINVAL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(call->e->msg, sizeof(call->e->msg), fmt, ap);
	va_end(ap);
	return -ECANCELED;
}

WARD_API const char *ward_call_function(const ward_call *call)
{
	return call ? call->f->name : NULL;
}

WARD_API int ward_policy_set_channel_limit(ward_policy *p, enum ward_channel_limit limit,
					   uint64_t value)
{
	if (!p)
		return -EINVAL;
	struct err e = {{0}};
	p->err.msg[0] = 0;
	switch (limit) {
	case WARD_CHANNEL_MAX_MESSAGE:
		if (value < 64 || value > CHANNEL_MAX_MESSAGE_LIMIT)
			return fail(p, err_set(&e, ERANGE, "message size %llu out of range (expected 64 to %u bytes)",
					       (unsigned long long)value, CHANNEL_MAX_MESSAGE_LIMIT), &e);
		p->lim.max_message = (uint32_t)value;
		return 0;
	case WARD_CHANNEL_MAX_CALLS:
		if (!value)
			return fail(p, err_set(&e, ERANGE, "call count 0 out of range (expected at least 1)"), &e);
		p->lim.max_calls = value;
		return 0;
	case WARD_CHANNEL_CALL_TIMEOUT:
		if (!value || value > 24ull * 3600 * 1000)
			return fail(p, err_set(&e, ERANGE, "call timeout %llu ms out of range (expected 1 ms to 24 h)",
					       (unsigned long long)value), &e);
		p->lim.call_timeout_ms = value;
		return 0;
	}
	return fail(p, err_set(&e, EINVAL, "unknown channel limit %d", (int)limit), &e);
}

WARD_API int ward_policy_set_client_dir(ward_policy *p, const char *host_dir)
{
	if (!p || !host_dir)
		return -EINVAL;
	struct err e = {{0}};
	p->err.msg[0] = 0;
	struct stat st;
	if (host_dir[0] != '/')
		return fail(p, err_set(&e, EINVAL, "client directory '%s' must be absolute", host_dir), &e);
	if (stat(host_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return fail(p, err_errno(&e, errno ? errno : ENOTDIR, "client directory '%s'", host_dir), &e);
	char *copy = strdup(host_dir);
	if (!copy)
		return -ENOMEM;
	free(p->client_dir);
	p->client_dir = copy;
	return 0;
}

/* ---- ask rules --------------------------------------------------------- */

WARD_API int ward_policy_add_ask(ward_policy *p, const char *box_prefix)
{
	if (!p || !box_prefix)
		return -EINVAL;
	return SET(p, policy_add_ask(p->core, box_prefix, &e_));
}

WARD_API int ward_policy_set_access_handler(ward_policy *p, ward_access_handler fn,
					    void *userdata)
{
	if (!p)
		return -EINVAL;
	p->ask = fn;
	p->ask_userdata = fn ? userdata : NULL;
	return 0;
}

/* ---- features -------------------------------------------------------- */

WARD_API int ward_features(struct ward_features *ret_features)
{
	if (!ret_features)
		return -EINVAL;
	struct features f;
	int r = features_probe(&f);
	if (r < 0)
		return r;
	*ret_features = (struct ward_features){
		.user_namespaces = f.userns && f.mntns && f.pidns && f.netns && f.ipcns &&
				   f.utsns && f.cgroupns,
		.seccomp = f.seccomp,
		.seccomp_notify = f.seccomp_notify,
		.landlock_abi = f.landlock_abi,
		.cgroup_version = f.cgroup_version,
	};
	return 0;
}
/* ---- for front ends (ward(1)) ---------------------------------------- */

WARD_API int ward_policy_set_limit_string(ward_policy *p, enum ward_limit limit,
					  const char *value)
{
	if (!p || !value || (unsigned)limit >= _LIMIT_MAX)
		return -EINVAL;
	return SET(p, policy_set_limit_str(p->core, (enum limit_id)limit, value, &e_));
}

WARD_API int ward_policy_add_file(ward_policy *p, const char *box_path, const char *host_path)
{
	if (!p || !box_path || !host_path)
		return -EINVAL;
	return SET(p, policy_add_file(p->core, box_path, host_path, NULL, &e_));
}

WARD_API int ward_policy_add_file_text(ward_policy *p, const char *box_path, const char *text)
{
	if (!p || !box_path || !text)
		return -EINVAL;
	return SET(p, policy_add_file(p->core, box_path, NULL, text, &e_));
}

WARD_API int ward_policy_set_audit(ward_policy *p, bool on)
{
	if (!p)
		return -EINVAL;
	return SET(p, policy_set_audit(p->core, on ? "on" : "off", &e_));
}

WARD_API bool ward_policy_get_audit(const ward_policy *p)
{
	return p && p->core->audit;
}

WARD_API size_t ward_policy_ask_count(const ward_policy *p)
{
	return p ? p->core->ask.n : 0;
}

_Static_assert((int)WARD_GRANT_RO == (int)GRANT_RO && (int)WARD_GRANT_RW == (int)GRANT_RW &&
		       (int)WARD_GRANT_TMPFS == (int)GRANT_TMPFS,
	       "enum ward_grant_kind mirrors enum grant_kind");

WARD_API size_t ward_policy_grant_count(const ward_policy *p)
{
	return p ? p->core->n_grants : 0;
}

WARD_API int ward_policy_get_grant(const ward_policy *p, size_t i, struct ward_grant *ret_grant)
{
	if (!p || !ret_grant || i >= p->core->n_grants)
		return -EINVAL;
	const struct grant *g = &p->core->grants[i];
	*ret_grant = (struct ward_grant){.kind = (enum ward_grant_kind)g->kind, .host = g->host,
					 .box = g->box, .size = g->size, .optional = g->optional};
	return 0;
}

WARD_API int ward_policy_add_grant(ward_policy *p, const struct ward_grant *grant)
{
	if (!p || !grant || (unsigned)grant->kind > WARD_GRANT_TMPFS)
		return -EINVAL;
	if (grant->kind == WARD_GRANT_TMPFS ? !grant->box || grant->host : !grant->host)
		return -EINVAL;
	return SET(p, policy_add_grant(p->core, (enum grant_kind)grant->kind, grant->host, grant->box,
				       grant->size, grant->optional, &e_));
}

WARD_API int ward_policy_format(const ward_policy *p, char **ret_text)
{
	if (!p || !ret_text)
		return -EINVAL;
	return policy_format(p->core, ret_text);
}

WARD_API const char *ward_limit_name(enum ward_limit limit)
{
	return (unsigned)limit < _LIMIT_MAX ? limit_info[limit].name : NULL;
}

WARD_API uint64_t ward_limit_default(enum ward_limit limit)
{
	return (unsigned)limit < _LIMIT_MAX ? limit_info[limit].def : 0;
}

WARD_API int ward_limit_format(enum ward_limit limit, uint64_t value, char *buf, size_t len)
{
	if ((unsigned)limit >= _LIMIT_MAX || !buf || !len)
		return -EINVAL;
	char out[32];
	if (limit_info[limit].type == LIMIT_TYPE_SIZE)
		format_size(value, out, sizeof(out));
	else if (limit_info[limit].type == LIMIT_TYPE_DURATION)
		format_duration(value, out, sizeof(out));
	else
		snprintf(out, sizeof(out), "%llu", (unsigned long long)value);
	if (strlen(out) >= len)
		return -ENOBUFS;
	memcpy(buf, out, strlen(out) + 1);
	return 0;
}

WARD_API const char *ward_profile_name(size_t i)
{
	return i < n_builtin_profiles ? builtin_profiles[i].name : NULL;
}

WARD_API const char *ward_profile_summary(const char *name)
{
	const struct profile *pr = name ? profile_find(name) : NULL;
	return pr ? (pr->summary ? pr->summary : "") : NULL;
}

WARD_API const char *ward_profile_text(const char *name)
{
	const struct profile *pr = name ? profile_find(name) : NULL;
	return pr ? (pr->text ? pr->text : "") : NULL;
}

WARD_API const char *ward_profile_for_program(const char *program)
{
	return profile_for_program(program);
}
