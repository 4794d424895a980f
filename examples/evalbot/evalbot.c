/* evalbot — the "canned sandbox, insert your interpreter" use case: reads
 * one-liners from standard input, one per line as "LANGUAGE CODE", runs
 * each in a fresh box with the language's profile and small limits, and
 * prints one line per input:
 *
 *     $ printf 'python3 print(6*7)\nsh echo $((1+1))\n' | evalbot
 *     python3: 42
 *     sh: 2
 *
 * A run that does not exit 0 prints its status instead of (or after) its
 * output: "python3 [time-limit]: ...". Languages: python3, ruby, node, lua,
 * perl, sh. Output is cut at 200 bytes, newlines shown as " | ". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ward.h>

static const struct lang {
	const char *name, *profile, *program, *flag;
} langs[] = {
	{"python3", "python3", "python3", "-c"}, {"ruby", "ruby", "ruby", "-e"},
	{"node", "node", "node", "-e"},		 {"lua", "lua", "lua5.4", "-e"},
	{"perl", "perl", "perl", "-e"},		 {"sh", "sh", "/bin/sh", "-c"},
};

/* One policy per language, made once: profile plus this bot's limits. */
static ward_policy *policy_for(const struct lang *l)
{
	ward_policy *p;
	if (ward_policy_new(&p) < 0)
		return NULL;
	if (ward_policy_load_profile(p, l->profile) < 0 ||
	    ward_policy_set_limit(p, WARD_LIMIT_WALL_TIME, 5000) < 0 ||
	    ward_policy_set_limit(p, WARD_LIMIT_CPU_TIME, 2000) < 0 ||
	    ward_policy_set_limit(p, WARD_LIMIT_MEMORY, 256u << 20) < 0 ||
	    ward_policy_set_limit(p, WARD_LIMIT_OUTPUT, 64u << 10) < 0 ||
	    ward_policy_set_limit(p, WARD_LIMIT_PROCS, 16) < 0) {
		fprintf(stderr, "evalbot: %s: %s\n", l->name, ward_policy_error(p));
		ward_policy_free(p);
		return NULL;
	}
	return p;
}

/* Prints at most 200 bytes of s on one line. */
static void print_flat(const char *s, size_t len)
{
	while (len && (s[len - 1] == '\n' || s[len - 1] == ' '))
		len--;
	for (size_t i = 0; i < len && i < 200; i++)
		if (s[i] == '\n')
			fputs(" | ", stdout);
		else
			putchar(s[i] >= 32 || s[i] == '\t' || s[i] < 0 ? s[i] : '?');
	if (len > 200)
		fputs("...", stdout);
}

int main(void)
{
	ward_policy *policies[sizeof(langs) / sizeof(langs[0])] = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		line[strcspn(line, "\n")] = 0;
		char *code = strchr(line, ' ');
		if (!line[0])
			continue;
		if (code)
			*code++ = 0;
		size_t i = 0;
		while (i < sizeof(langs) / sizeof(langs[0]) && strcmp(langs[i].name, line))
			i++;
		if (i == sizeof(langs) / sizeof(langs[0]) || !code) {
			printf("%s: unknown language (python3, ruby, node, lua, perl, sh)\n", line);
			fflush(stdout);
			continue;
		}
		if (!policies[i] && !(policies[i] = policy_for(&langs[i])))
			return 1;
		ward_result *r;
		char *argv[] = {(char *)langs[i].program, (char *)langs[i].flag, code, NULL};
		if (ward_run(policies[i], argv, NULL, &r) < 0) {
			printf("%s: cannot run\n", line);
			continue;
		}
		enum ward_status st = ward_result_status(r);
		size_t olen, elen;
		const char *out = ward_result_stdout(r, &olen), *err = ward_result_stderr(r, &elen);
		printf("%s", line);
		if (st != WARD_STATUS_EXITED)
			printf(" [%s]", ward_status_name(st));
		else if (ward_result_exit_code(r) != 0)
			printf(" [exit %d]", ward_result_exit_code(r));
		fputs(": ", stdout);
		print_flat(out, olen);
		if (st == WARD_STATUS_EXITED && ward_result_exit_code(r) != 0 && elen) {
			fputs(olen ? " | " : "", stdout);
			print_flat(err, elen);
		}
		if (st == WARD_STATUS_SETUP_ERROR)
			fputs(ward_result_message(r), stdout);
		putchar('\n');
		fflush(stdout);
		ward_result_free(r);
	}
	free(line);
	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
		ward_policy_free(policies[i]);
	return 0;
}
