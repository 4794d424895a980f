/* audit.c — what `ward run` does with what the broker saw: the --audit
 * lines (one per denied call, after the run) and the --learn policy (the
 * grants given, narrowed to the paths the program used). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

void learn_access(const char *box_path, unsigned how, void *ctx)
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

/* The grant the run mounted at box path `path` (the deepest one holding
 * it) into *ret, when it is one of the user's (not the profile's: the
 * learned policy is used with the same profile) and a host tree: a tmpfs
 * hides the host files below its path, so what the program did there is
 * nothing to learn (learning it would grant the hidden host files), and
 * what lies in a profile's grant is the profile's again on the rerun.
 * cwd (the caller's directory as the run exposed it, or NULL) counts as
 * a read-only grant. Returns false when there is none to learn from. */
static bool user_grant(const ward_policy *p, const ward_policy *profile, const struct ward_grant *cwd,
		       const char *path, struct ward_grant *ret)
{
	bool found = false, from_profile = false;
	struct ward_grant g, pg;
	for (size_t i = 0; ward_policy_get_grant(p, i, &g) == 0; i++) {
		if (!path_is_under(path, g.box))
			continue;
		bool prof = false;
		for (size_t j = 0; g.host && profile && ward_policy_get_grant(profile, j, &pg) == 0; j++)
			if (!strcmp(pg.box, g.box) && pg.host && !strcmp(pg.host, g.host))
				prof = true;
		/* The deepest; of two at the same box path the user's. */
		size_t len = strlen(g.box), best = found ? strlen(ret->box) : 0;
		if (!found || len > best || (len == best && from_profile && !prof)) {
			*ret = g;
			found = true;
			from_profile = prof;
		}
	}
	if (cwd && path_is_under(path, cwd->box) && (!found || strlen(cwd->box) > strlen(ret->box))) {
		*ret = *cwd;
		found = true;
		from_profile = false;
	}
	return found && !from_profile && ret->kind != WARD_GRANT_TMPFS;
}

/* The learned grants, before they go into the policy. */
struct lgrant {
	enum ward_grant_kind kind;
	char *host, *box;
};

/* Is host path g->host + rest still below the grant's host root, with
 * no symbolic link on the way? The program ran with write access there
 * and may have swapped what it used for a symlink before it exited
 * (through calls the broker leaves to the kernel, or on a path it spelled
 * differently): the rerun's mount would follow that link out of the grant
 * (a host secret, the host's /, a host directory made writable). The
 * grant's own root is the user's choice and may be a link; nothing below
 * it may. A path missing now is fine: its grant is optional. */
static bool beneath(const struct ward_grant *g, const char *rest)
{
	while (rest[0] == '/')
		rest++;
	if (!rest[0])
		return true;
	_cleanup_close_ int root = open(g->host, O_PATH | O_CLOEXEC);
	if (root < 0)
		return errno == ENOENT;
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, root, rest, &how, sizeof(how));
	if (fd < 0)
		return errno == ENOENT;
	close(fd);
	return true;
}

/* The narrowest grant for one learned access under user grant g: the
 * file read (read-only), the file written, or for a file created the
 * directory it was created in (read-write). Returns false when the access
 * cannot have worked (nothing to grant). */
static bool learn_grant(const struct ward_grant *g, const char *path, unsigned how, struct lgrant *ret)
{
	char *box;
	bool create = how & WARD_ACCESS_CREATE, write = how & (WARD_ACCESS_WRITE | WARD_ACCESS_CREATE);
	if (write && g->kind != WARD_GRANT_RW)
		return false;
	if (create && strcmp(path, g->box) != 0) {
		const char *slash = strrchr(path, '/');
		box = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	} else {
		box = strdup(path);
	}
	char *host = NULL;
	const char *rest = box ? box + strlen(g->box) : "";
	if (!box || asprintf(&host, "%s%s", strcmp(g->host, "/") ? g->host : "", rest[0] ? rest : "") < 0)
		die_oom();
	if (!host[0]) {
		free(host);
		if (!(host = strdup("/")))
			die_oom();
	}
	if (!beneath(g, rest)) {
		warn("--learn: left out '%s': not a file or directory below the grant '%s' now "
		     "(a symbolic link in its path)", host, g->host);
		free(host);
		free(box);
		return false;
	}
	*ret = (struct lgrant){write ? WARD_GRANT_RW : WARD_GRANT_RO, host, box};
	return true;
}

/* Is learned grant a covered by b (b at or above it, b's host tree the
 * same below, and b's rights at least a's)? Then a adds nothing. */
static bool lgrant_covers(const struct lgrant *b, const struct lgrant *a)
{
	if (a == b || !path_is_under(a->box, b->box) || (a->kind == WARD_GRANT_RW && b->kind != WARD_GRANT_RW))
		return false;
	if (!strcmp(a->box, b->box))
		return a->kind != b->kind || a < b; /* the same path: keep one */
	const char *rest = a->box + strlen(b->box);
	size_t hl = strcmp(b->host, "/") ? strlen(b->host) : 0;
	return !strncmp(a->host, b->host, hl) && !strcmp(a->host + hl, rest);
}

/* An argument as sh reads it back, for the header comment: bare when
 * safe, else single-quoted, or $'...' with escapes when it holds
 * control characters (a newline must not end the comment). */
static void put_shell_word(FILE *f, const char *a)
{
	if (a[0] && strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./=:,+-@%") ==
			    strlen(a)) {
		fputs(a, f);
		return;
	}
	bool ctl = false;
	for (const unsigned char *c = (const unsigned char *)a; *c; c++)
		ctl |= *c < 0x20 || *c == 0x7f;
	if (!ctl) {
		fputc('\'', f);
		for (; *a; a++)
			*a == '\'' ? fputs("'\\''", f) : fputc(*a, f);
		fputc('\'', f);
		return;
	}
	fputs("$'", f);
	for (const unsigned char *c = (const unsigned char *)a; *c; c++) {
		if (*c == '\'' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(f, "\\x%02x", *c);
		else
			fputc(*c, f);
	}
	fputc('\'', f);
}

/* Does a line of text (a policy as ward_policy_format writes it) appear
 * in other, whole? */
static bool has_line(const char *other, const char *line, size_t len)
{
	for (const char *s = other; s && *s;) {
		const char *eol = strchrnul(s, '\n');
		if ((size_t)(eol - s) == len && !memcmp(s, line, len))
			return true;
		s = *eol ? eol + 1 : NULL;
	}
	return false;
}

/* The lines a policy holds for the variables passed through from the
 * caller's environment (`--env NAME`): "env NAME=<the caller's value>" as
 * ward_policy_format writes them. The learned policy says `env NAME`
 * instead: the value (a token, a password) is the caller's, never
 * written to a file; a later NAME=VALUE that replaced it is another line
 * and stays. */
static char *passed_env_lines(const char *const *passed)
{
	ward_policy *q = NULL;
	char *text = NULL;
	if (ward_policy_new(&q) < 0)
		die_oom();
	for (size_t i = 0; passed && passed[i]; i++) {
		const char *v = getenv(passed[i]);
		_cleanup_free_ char *entry = NULL;
		if (!v)
			continue;
		if (asprintf(&entry, "%s=%s", passed[i], v) < 0)
			die_oom();
		if (ward_policy_set_env(q, entry) == -ENOMEM)
			die_oom();
	}
	if (ward_policy_format(q, &text) < 0)
		die_oom();
	ward_policy_free(q);
	return text;
}

/* The grants the run used, from the learner's sorted accesses: each
 * within a grant the user gave (p, the profile, the exposed cwd), a
 * directory only listed or looked at granted whole unless something below
 * it is granted by itself, and none inside another that allows as much.
 * Returns the array (a dropped one has box NULL) and its length in *ret_n. */
static struct lgrant *learn_grants(const ward_policy *p, const ward_policy *profile,
				   const struct learner *l, const char *exposed, size_t *ret_n)
{
	struct ward_grant cwd_grant = {.kind = WARD_GRANT_RO, .host = exposed, .box = exposed};
	struct lgrant *lg = calloc(l->n ? l->n : 1, sizeof(*lg));
	size_t n = 0;
	if (!lg)
		die_oom();
	for (size_t i = 0; i < l->n; i++) {
		unsigned how = l->v[i].how;
		bool write = how & (WARD_ACCESS_WRITE | WARD_ACCESS_CREATE);
		if ((how & WARD_ACCESS_DIR) && !write && i + 1 < l->n &&
		    path_is_under(l->v[i + 1].path, l->v[i].path))
			continue;
		struct ward_grant g = {0};
		if (user_grant(p, profile, exposed ? &cwd_grant : NULL, l->v[i].path, &g) &&
		    learn_grant(&g, l->v[i].path, how, &lg[n]))
			n++;
	}
	/* A grant inside another that allows as much (rw out, rw out/d)
	 * adds nothing. */
	for (size_t i = 0; i < n; i++) {
		bool covered = false;
		for (size_t j = 0; j < n && !covered; j++)
			covered = lg[j].box && lgrant_covers(&lg[j], &lg[i]);
		if (covered) {
			free(lg[i].host);
			free(lg[i].box);
			lg[i] = (struct lgrant){0};
		}
	}
	*ret_n = n;
	return lg;
}

/* Adds the learned grants to out: reads first, then writes, so that the
 * same path written replaces a read. */
static void learn_add_grants(ward_policy *out, const struct lgrant *lg, size_t n)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			if (!lg[i].box || (lg[i].kind == WARD_GRANT_RW) != (pass == 1))
				continue;
			struct stat st;
			struct ward_grant g = {.kind = lg[i].kind, .host = lg[i].host, .box = lg[i].box,
					       .optional = stat(lg[i].host, &st) < 0};
			if (ward_policy_add_grant(out, &g) == -ENOMEM)
				die_oom();
		}
}

/* The rest of the run's policy p as lines, but for the profile's part
 * (the rerun loads the profile again) and the grants narrowed above; a
 * passed variable is written as `env NAME`, never with its value.
 * *ret_own_cwd: the policy sets a working directory of its own. */
static char *learn_kept_lines(const ward_policy *p, const ward_policy *profile,
			      const char *const *passed, bool *ret_own_cwd)
{
	_cleanup_free_ char *all = NULL, *prof = NULL;
	if (ward_policy_format(p, &all) < 0 || (profile && ward_policy_format(profile, &prof) < 0))
		die_oom();
	bool own_cwd = false;
	char *kept = NULL;
	size_t kept_len = 0;
	FILE *k = open_memstream(&kept, &kept_len);
	if (!k)
		die_oom();
	_cleanup_free_ char *pass_lines = passed_env_lines(passed);
	for (const char *s = all; s && *s;) {
		const char *eol = strchrnul(s, '\n');
		size_t len = (size_t)(eol - s);
		bool grant = (len > 3 && (!strncmp(s, "ro ", 3) || !strncmp(s, "rw ", 3)));
		bool cwd_off = len == 7 && !strncmp(s, "cwd off", 7);
		own_cwd |= len > 4 && !strncmp(s, "cwd ", 4) && !cwd_off;
		if (len > 4 && !strncmp(s, "env ", 4) && has_line(pass_lines, s, len))
			fprintf(k, "env %.*s\n", (int)strcspn(s + 4 + strspn(s + 4, "'\""), "="),
				s + 4 + strspn(s + 4, "'\""));
		else if (!grant && !cwd_off && !(prof && has_line(prof, s, len)))
			fprintf(k, "%.*s\n", (int)len, s);
		s = *eol ? eol + 1 : NULL;
	}
	if (fclose(k) != 0)
		die_oom();
	*ret_own_cwd = own_cwd;
	return kept;
}

/* The caller's directory: not exposed; but the working directory it was,
 * when the program used something below it (else it would not exist in
 * the box) and the policy sets none of its own. */
static void learn_cwd(ward_policy *out, const ward_policy *profile, const struct lgrant *lg,
		      size_t n, bool own_cwd)
{
	(void)ward_policy_set_expose_cwd(out, false);
	_cleanup_free_ char *here = getcwd(NULL, 0);
	bool used_here = false;
	struct ward_grant g;
	for (size_t i = 0; here && i < n; i++)
		used_here |= lg[i].box && (path_is_under(lg[i].box, here) || path_is_under(here, lg[i].box));
	for (size_t i = 0; here && profile && ward_policy_get_grant(profile, i, &g) == 0; i++)
		used_here |= path_is_under(here, g.box);
	if (!own_cwd && used_here && strcmp(here, "/") != 0 && ward_policy_set_cwd(out, here) == -ENOMEM)
		die_oom();
}

/* Writes the learned file to dest: a header naming the program, then the
 * policy's text and the kept lines. */
static bool learn_write(const struct out_file *dest, char **program, bool dropped,
			const char *text, const char *kept)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		die_oom();
	fprintf(f, "# learned by 'ward run --learn' from:");
	for (char **a = program; *a; a++) {
		fputc(' ', f);
		put_shell_word(f, *a);
	}
	fprintf(f, "\n# the grants given for that run, narrowed to what the program used%s\n%s%s",
		dropped ? " (more paths were used than recorded: check it)" : "", text, kept);
	if (fclose(f) != 0)
		die_oom();
	bool ok = out_file_write(dest, buf, len);
	free(buf);
	return ok;
}

/* Writes the learned policy: the user's grants narrowed to what the
 * program used, the caller's directory no longer exposed (`cwd off`) but
 * what the program used of it granted, and the rest of the run's policy
 * as it was (virtual files, exec list, environment, limits...), so that
 * it reruns the program with the same result and allows nothing more.
 * Written through out_file_write like the report (a box-planted symlink
 * is never followed). */
bool learn_finish(const struct out_file *dest, const ward_policy *p, const ward_policy *profile,
		  struct learner *l, char **program, const char *const *passed, const ward_result *r)
{
	ward_policy *out = NULL;
	if (ward_policy_new(&out) < 0)
		die_oom();
	qsort(l->v, l->n, sizeof(*l->v), learned_cmp);
	size_t n = 0;
	struct lgrant *lg = learn_grants(p, profile, l, ward_result_exposed_cwd(r), &n);
	learn_add_grants(out, lg, n);
	bool own_cwd = false;
	_cleanup_free_ char *kept = learn_kept_lines(p, profile, passed, &own_cwd);
	learn_cwd(out, profile, lg, n, own_cwd);
	for (size_t i = 0; i < n; i++) {
		free(lg[i].host);
		free(lg[i].box);
	}
	free(lg);
	_cleanup_free_ char *text = NULL;
	if (ward_policy_format(out, &text) < 0)
		die_oom();
	ward_policy_free(out);
	bool ok = learn_write(dest, program, l->dropped, text, kept);
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
