/* blog — renders a user-written Python template against the blog's posts.
 * The template runs in a box with 128 MiB and 4 s; the posts reach it only
 * through two host functions, never as objects it could introspect:
 *
 *     get_post(id)  -> {"id", "title", "body"}, or an error
 *     list_posts()  -> [{"id", "title"}, ...]
 *
 *     blog [--clients DIR] TEMPLATE.py [ARG...]
 *
 * Prints the rendered page. A template that fails, loops or grows past its
 * limits renders nothing: blog prints why on stderr and exits 1. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ward.h>

static const struct post {
	int id;
	const char *title, *body;
} posts[] = {
	{1, "Hello, world", "The first post."},
	{2, "On boxes", "Untrusted code gets a channel, never an object."},
	{3, "Limits", "Every render has a memory and a time limit."},
};

static int fn_get_post(ward_call *call, json_t *args, json_t **ret, void *ud)
{
	json_t *id = json_array_get(args, 0);
	if (json_array_size(args) != 1 || !json_is_integer(id))
		return ward_call_fail(call, "get_post expects one integer id");
	for (size_t i = 0; i < sizeof(posts) / sizeof(posts[0]); i++)
		if (posts[i].id == json_integer_value(id)) {
			*ret = json_pack("{s:i,s:s,s:s}", "id", posts[i].id, "title", posts[i].title,
					 "body", posts[i].body);
			return *ret ? 0 : -ENOMEM;
		}
	return ward_call_fail(call, "no post %lld", (long long)json_integer_value(id));
}

static int fn_list_posts(ward_call *call, json_t *args, json_t **ret, void *ud)
{
	json_t *list = json_array();
	for (size_t i = 0; list && i < sizeof(posts) / sizeof(posts[0]); i++)
		json_array_append_new(list, json_pack("{s:i,s:s}", "id", posts[i].id, "title", posts[i].title));
	*ret = list;
	return list ? 0 : -ENOMEM;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"clients", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	const char *clients = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'c')
			return 2;
		clients = optarg;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: blog [--clients DIR] TEMPLATE.py [ARG...]\n");
		return 2;
	}
	FILE *f = fopen(argv[optind], "r");
	static char tpl[1 << 20];
	size_t n = f ? fread(tpl, 1, sizeof(tpl) - 1, f) : 0;
	if (!f) {
		fprintf(stderr, "blog: cannot read template '%s'\n", argv[optind]);
		return 2;
	}
	fclose(f);
	tpl[n] = 0;

	ward_policy *p;
	if (ward_policy_new(&p) < 0 || ward_policy_load_profile(p, "python3") < 0 ||
	    ward_policy_set_limit(p, WARD_LIMIT_MEMORY, 128u << 20) < 0 ||
	    ward_policy_set_limit(p, WARD_LIMIT_WALL_TIME, 4000) < 0 ||
	    ward_policy_set_limit(p, WARD_LIMIT_OUTPUT, 1u << 20) < 0 ||
	    ward_policy_add_function(p, "get_post", fn_get_post, NULL) < 0 ||
	    ward_policy_add_function(p, "list_posts", fn_list_posts, NULL) < 0 ||
	    (clients && ward_policy_set_client_dir(p, clients) < 0)) {
		fprintf(stderr, "blog: %s\n", ward_policy_error(p));
		return 2;
	}
	/* The template comes in on stdin (`python3 -`), its arguments after. */
	char *args[64] = {"python3", "-"};
	int na = 2;
	for (int i = optind + 1; i < argc && na < 63; i++)
		args[na++] = argv[i];
	args[na] = NULL;
	struct ward_options o = WARD_OPTIONS_INIT;
	o.stdin_data = tpl;
	o.stdin_len = n;
	ward_result *r;
	if (ward_run(p, args, &o, &r) < 0)
		return 2;
	int rc = 0;
	size_t olen, elen;
	const char *out = ward_result_stdout(r, &olen), *err = ward_result_stderr(r, &elen);
	if (ward_result_status(r) == WARD_STATUS_EXITED && ward_result_exit_code(r) == 0) {
		fwrite(out, 1, olen, stdout);
	} else {
		/* The last line of stderr says why (a traceback's last line). */
		size_t end = elen, start;
		while (end && err[end - 1] == '\n')
			end--;
		for (start = end; start && err[start - 1] != '\n'; start--)
			;
		fprintf(stderr, "blog: template '%s' did not render: %s", argv[optind],
			ward_status_name(ward_result_status(r)));
		if (ward_result_status(r) == WARD_STATUS_EXITED)
			fprintf(stderr, " %d (%.*s)", ward_result_exit_code(r), (int)(end - start),
				err + start);
		else if (ward_result_status(r) == WARD_STATUS_SETUP_ERROR)
			fprintf(stderr, " (%s)", ward_result_message(r)); /* the library's reason */
		fputc('\n', stderr);
		rc = 1;
	}
	ward_result_free(r);
	ward_policy_free(p);
	return rc;
}
