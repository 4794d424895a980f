/* serve-stage.c — one stage (a compile or a run) in one box: a warm one
 * from the pool for its policy when there is one (serve-warm.c), else a
 * fresh one.
 *
 * The request's files never touch a host directory: libward hands them to
 * the box with the request (ward_options.files), and the box's own
 * program process, without capabilities, writes them onto its private
 * /tmp, new files only, never through a link, and only on the box's own
 * tmpfs. ward's process opens no path a request names. (Virtual files were
 * the first way: they make every file call of the box brokered, and a
 * brokered open failed now and then with EAGAIN under load; a `head -c`
 * script reading the files from stdin the second.)
 *
 * Whatever starts the box takes stage_options' ward_options: the box's
 * stdout and stderr go to the capture's pipes (serve-capture.c), read while
 * it runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "banned.h"

struct strv_b {
	char **v;
	size_t n, cap;
};

static int strv_push(struct strv_b *s, char *str)
{
	if (!str)
		return -ENOMEM;
	/* analyzer: str is stored in s->v below, or freed (gcc 12 loses it) */
	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		/* analyzer: the strings stay owned by s->v (strv_free) */
		char **v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			/* analyzer: s->v is intact, strv_free frees it */
			free(str);
			return -ENOMEM;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
	return 0;
}

static void strv_free(struct strv_b *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

/* The policy (the profile, the limits) and the box's argv. */
static int stage_policy(const struct stage_plan *plan, ward_policy **ret, struct strv_b *argv,
			char *msg, size_t msglen)
{
	ward_policy *p = NULL;
	int r = ward_policy_new(&p);
	if (r < 0)
		return r;
	struct {
		enum ward_limit l;
		uint64_t v;
	} lim[] = {
		{WARD_LIMIT_WALL_TIME, plan->limits.timeout},
		{WARD_LIMIT_CPU_TIME, plan->limits.cpu_time},
		{WARD_LIMIT_MEMORY, plan->limits.memory},
		{WARD_LIMIT_PROCS, plan->procs},
		{WARD_LIMIT_OUTPUT, plan->output_limit},
	};
	if ((r = ward_policy_load_profile(p, plan->profile)) < 0 ||
	    (plan->policy &&
	     (r = ward_policy_load_text(p, "policy", plan->policy, plan->policy_len)) < 0) ||
	    (plan->audit && (r = ward_policy_set_audit(p, true)) < 0) ||
	    (r = ward_policy_set_expose_cwd(p, false)) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++)
		if (lim[i].v && (r = ward_policy_set_limit(p, lim[i].l, lim[i].v)) < 0)
			goto fail;
	/* The program runs in /tmp, where the files are. */
	if ((r = ward_policy_set_cwd(p, "/tmp")) < 0)
		goto fail;
	for (size_t i = 0; plan->argv[i]; i++)
		if ((r = strv_push(argv, strdup(plan->argv[i]))) < 0)
			goto fail;
	*ret = p;
	return 0;
fail:
	snprintf(msg, msglen, "%s", *ward_policy_error(p) ? ward_policy_error(p) : strerror(-r));
	ward_policy_free(p);
	return r;
}

/* The run's options: the one place that knows struct ward_options (its
 * shape is changing; keep the adaptation here). */
static void stage_options(const struct stage_plan *plan, const struct ward_file *files,
			  size_t n_files, const struct capture *cap, struct ward_options *o)
{
	*o = (struct ward_options)WARD_OPTIONS_INIT;
	o->stdin_data = plan->stdin_data;
	o->stdin_len = plan->stdin_len;
	o->stdout_fd = cap->s[0].wfd;
	o->stderr_fd = cap->s[1].wfd;
	o->files = files;
	o->n_files = n_files;
}

/* The request's files for the box, into its /tmp (the box's cwd); the
 * decoder refuses names that are equal or one another's directory. */
static size_t stage_files(const struct stage_plan *plan, struct ward_file *out)
{
	if (!out) /* no files: nothing was allocated */
		return 0;
	for (size_t i = 0; i < plan->n_files; i++)
		out[i] = (struct ward_file){.path = plan->files[i].name,
					    .data = plan->files[i].data,
					    .len = plan->files[i].len,
					    .mode = plan->files[i].executable ? 0755 : 0644};
	return plan->n_files;
}

/* The captured streams into ret (the buffers change hands). */
static void stage_output(struct capture *cap, struct stage_result *ret)
{
	ret->out = cap->s[0].buf;
	ret->out_len = cap->s[0].len;
	ret->out_cut = cap->s[0].cut;
	ret->err = cap->s[1].buf;
	ret->err_len = cap->s[1].len;
	ret->err_cut = cap->s[1].cut;
	ret->output = cap->both;
	ret->output_len = cap->both_len;
	cap->s[0].buf = cap->s[1].buf = cap->both = NULL;
}

int stage_run(const struct stage_plan *plan, struct stage_result *ret)
{
	*ret = (struct stage_result){.status = WARD_STATUS_SETUP_ERROR, .code = -1};
	struct strv_b argv = {0};
	ward_policy *p = NULL;
	ward_result *res = NULL;
	struct ward_file *files = NULL;
	struct capture cap = {.done = -1, .s = {{.rfd = -1, .wfd = -1}, {.rfd = -1, .wfd = -1}}};
	int r = stage_policy(plan, &p, &argv, ret->message, sizeof(ret->message));
	if (r < 0)
		goto out;
	if (plan->n_files && !(files = calloc(plan->n_files, sizeof(*files)))) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = capture_start(&cap, plan->stdout_max, plan->stderr_max, plan->want_output)) < 0) {
		snprintf(ret->message, sizeof(ret->message), "cannot capture output: %s",
			 strerror(-r));
		goto out;
	}
	struct ward_options o;
	stage_options(plan, files, stage_files(plan, files), &cap, &o);
	metrics_boxes(+1);
	r = plan->fresh ? ward_run(p, argv.v, &o, &res) : warm_run(p, plan->profile, argv.v, &o, &res);
	metrics_boxes(-1);
	int cr = capture_finish(&cap);
	if (r < 0 || (r = cr) < 0) {
		snprintf(ret->message, sizeof(ret->message), "cannot run a box: %s", strerror(-r));
		goto out;
	}
	stage_output(&cap, ret);
	ret->status = ward_result_status(res);
	ret->code = ward_result_exit_code(res);
	ret->sig = ward_result_signal(res);
	ret->cpu_ms = ward_result_cpu_time(res) * 1000.0;
	ret->wall_ms = ward_result_wall_time(res) * 1000.0;
	ret->memory = ward_result_peak_memory(res);
	snprintf(ret->message, sizeof(ret->message), "%s", ward_result_message(res));
	if (plan->want_report && !(ret->report = ward_result_report(res)))
		r = -ENOMEM;
out:
	capture_clear(&cap);
	ward_result_free(res);
	ward_policy_free(p);
	strv_free(&argv);
	free(files);
	return r;
}

void stage_result_clear(struct stage_result *r)
{
	wipe_free(r->out);
	wipe_free(r->err);
	wipe_free(r->output);
	zfree(r->report);
	r->out = r->err = r->output = NULL;
	r->report = NULL;
}

/* ---- base64 ---------------------------------------------------------- */

/* Accepts the standard and the URL-safe alphabet, padding or none, and
 * skips whitespace (Node's Buffer, which Piston used, is as lenient). */
bool b64_decode(const char *text, size_t len, char **ret, size_t *ret_len)
{
	char *out = wipe_alloc(len / 4 * 3 + 3), *o = out;
	if (!out)
		return false;
	uint32_t acc = 0;
	int bits = 0;
	bool pad = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		int v;
		if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
			continue;
		if (ch == '=') {
			pad = true;
			continue;
		}
		if (pad)
			goto bad; /* data after padding */
		if (ch >= 'A' && ch <= 'Z')
			v = ch - 'A';
		else if (ch >= 'a' && ch <= 'z')
			v = ch - 'a' + 26;
		else if (ch >= '0' && ch <= '9')
			v = ch - '0' + 52;
		else if (ch == '+' || ch == '-')
			v = 62;
		else if (ch == '/' || ch == '_')
			v = 63;
		else
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (char)(acc >> bits & 0xff);
		}
	}
	if (bits >= 6)
		goto bad; /* a lone trailing character carries no byte */
	*ret = out;
	*ret_len = (size_t)(o - out);
	return true;
bad:
	wipe_free(out);
	return false;
}
