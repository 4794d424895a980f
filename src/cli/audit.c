/* audit.c — what `ward run` does with what the broker saw: the --audit
 * lines (one per denied call, after the run) and the --learn policy (the
 * grants given, narrowed to the paths the program used). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "audit.h"
#include "banned.h"

/* --learn: what the broker allowed, kept during the run (the broker's
 * thread appends; read after ward_run returned). */
#define MAX_LEARNED 4096
struct learned {
	char *path;
	unsigned how;
};
struct learner {
	struct learned *v;
	size_t n;
	size_t dropped;
};

struct learner *learner_new(void)
{
	struct learner *l = calloc(1, sizeof(*l));
	if (!l || !(l->v = calloc(MAX_LEARNED, sizeof(*l->v))))
		die_oom();
	return l;
}

void learn_access(void *ctx, const char *box_path, unsigned how)
{
	struct learner *l = ctx;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].path, box_path)) {
			l->v[i].how |= how;
			return;
		}
	if (l->n >= MAX_LEARNED) {
		l->dropped++;
		return;
	}
	char *dup = strdup(box_path);
	if (!dup) {
		l->dropped++;
		return;
	}
	l->v[l->n++] = (struct learned){dup, how};
}

static int learned_cmp(const void *a, const void *b)
{
	return strcmp(((const struct learned *)a)->path, ((const struct learned *)b)->path);
}

/* The user's grant (not the profile's: the learned policy is used with
 * the same profile) that holds box path `path`, the deepest one, into
 * *ret. Returns false when there is none. */
static bool user_grant(const ward_policy *p, const ward_policy *profile, const char *path,
		       struct ward_grant *ret)
{
	bool found = false;
	struct ward_grant g, pg;
	for (size_t i = 0; ward_policy_get_grant(p, i, &g) == 0; i++) {
		if (g.kind == WARD_GRANT_TMPFS || !path_is_under(path, g.box))
			continue;
		bool from_profile = false;
		for (size_t j = 0; profile && ward_policy_get_grant(profile, j, &pg) == 0; j++)
			if (!strcmp(pg.box, g.box) && pg.host && !strcmp(pg.host, g.host))
				from_profile = true;
		if (!from_profile && (!found || strlen(g.box) > strlen(ret->box))) {
			*ret = g;
			found = true;
		}
	}
	return found;
}

/* Adds the narrowest grant for one learned access under user grant g:
 * the file read (read-only), the file written, or for a file created the
 * directory it was created in (read-write). Returns 0 or -errno. */
static int learn_grant(ward_policy *out, const struct ward_grant *g, const char *path, unsigned how)
{
	_cleanup_free_ char *box = NULL;
	bool create = how & WARD_ACCESS_CREATE, write = how & (WARD_ACCESS_WRITE | WARD_ACCESS_CREATE);
	if (write && g->kind != WARD_GRANT_RW)
		return 0; /* it cannot have worked: nothing to grant */
	if (create && strcmp(path, g->box) != 0) {
		const char *slash = strrchr(path, '/');
		box = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	} else {
		box = strdup(path);
	}
	if (!box)
		return -ENOMEM;
	_cleanup_free_ char *host = NULL;
	const char *rest = box + strlen(g->box);
	if (asprintf(&host, "%s%s", strcmp(g->host, "/") ? g->host : "", rest[0] ? rest : "") < 0)
		return -ENOMEM;
	if (!host[0] && !(host = strdup("/")))
		return -ENOMEM;
	struct stat st;
	struct ward_grant learned = {.kind = write ? WARD_GRANT_RW : WARD_GRANT_RO, .host = host,
				     .box = box, .optional = stat(host, &st) < 0};
	return ward_policy_add_grant(out, &learned);
}

/* Writes the learned policy: the user's grants narrowed to what the
 * program used, through out_file_write like the report (a box-planted
 * symlink is never followed). */
bool learn_finish(const struct out_file *dest, const ward_policy *p, const ward_policy *profile,
		  struct learner *l, char **program)
{
	ward_policy *out = NULL;
	if (ward_policy_new(&out) < 0)
		die_oom();
	qsort(l->v, l->n, sizeof(*l->v), learned_cmp);
	/* Reads first, then writes: a read-write grant of the same path
	 * replaces the read-only one. A directory only listed or looked at is
	 * granted whole, unless something below it is granted by itself. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < l->n; i++) {
			unsigned how = l->v[i].how;
			bool write = how & (WARD_ACCESS_WRITE | WARD_ACCESS_CREATE);
			if (write != (pass == 1))
				continue;
			if ((how & WARD_ACCESS_DIR) && !write && i + 1 < l->n &&
			    path_is_under(l->v[i + 1].path, l->v[i].path))
				continue;
			struct ward_grant g;
			if (user_grant(p, profile, l->v[i].path, &g) &&
			    learn_grant(out, &g, l->v[i].path, how) == -ENOMEM)
				die_oom();
		}
	_cleanup_free_ char *text = NULL;
	if (ward_policy_format(out, &text) < 0)
		die_oom();
	ward_policy_free(out);

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		die_oom();
	fprintf(f, "# learned by 'ward run --learn' from:");
	for (char **a = program; *a && a - program < 8; a++)
		fprintf(f, " %.*s", (int)strcspn(*a, "\n"), *a);
	fprintf(f, "\n# the grants given for that run, narrowed to what the program used%s\n%s",
		l->dropped ? " (more paths were used than recorded: check it)" : "", text);
	if (fclose(f) != 0)
		die_oom();
	bool ok = out_file_write(dest, buf, len);
	free(buf);
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	free(l);
	return ok;
}

/* --audit: one line per call the broker refused. */
void print_denials(const ward_result *r)
{
	char line[2048];
	for (size_t i = 0; i < ward_result_denial_count(r); i++)
		if (ward_result_denial(r, i, line, sizeof(line)) == 0)
			warn("denied %s", line);
	if (ward_result_denials_dropped(r))
		warn("%llu more denials not recorded", (unsigned long long)ward_result_denials_dropped(r));
}
