/* profiles.c — `ward profiles` and `ward profiles show NAME`: the built-in
 * profiles, printed exactly as they are compiled in. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "banned.h"

static int list_profiles(void)
{
	int width = 4;
	for (size_t i = 0; i < n_builtin_profiles; i++) {
		int n = (int)strlen(builtin_profiles[i].name);
		if (n > width)
			width = n;
	}
	for (size_t i = 0; i < n_builtin_profiles; i++)
		printf("%-*s  %s\n", width, builtin_profiles[i].name,
		       builtin_profiles[i].summary ? builtin_profiles[i].summary : "");
	printf("\n'ward run' picks a profile from PROGRAM's name unless --profile is given\n"
	       "(--profile none: no profile). 'ward profiles show NAME' prints one.\n");
	return finish_stdout(0);
}

static int show_profile(const char *name)
{
	const struct profile *pr = profile_find(name);
	if (!pr) {
		char known[512];
		profile_names(known, sizeof(known));
		die(EXIT_USAGE, "unknown profile '%s' (known: %s)", name, known);
	}
	const char *text = pr->text ? pr->text : "";
	size_t len = strlen(text);
	fwrite(text, 1, len, stdout);
	return finish_stdout(0);
}

int cmd_profiles(int argc, char **argv)
{
	if (argc >= 2 && is_help_arg(argv[1])) {
		print_help(stdout);
		return finish_stdout(0);
	}
	if (argc == 1)
		return list_profiles();
	if (strcmp(argv[1], "show") != 0)
		die_usage("profiles: unknown argument '%s' (expected 'show NAME')", argv[1]);
	if (argc == 2)
		die_usage("profiles show: missing profile NAME");
	if (argc > 3)
		die_usage("profiles show: unexpected argument '%s' (one NAME only)", argv[3]);
	return show_profile(argv[2]);
}
