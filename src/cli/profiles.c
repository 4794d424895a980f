/* profiles.c — `ward profiles` and `ward profiles show NAME`: the built-in
 * profiles, printed exactly as they are compiled in. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "banned.h"

static int list_profiles(void)
{
	int width = 4;
	for (size_t i = 0; ward_profile_name(i); i++) {
		int n = (int)strlen(ward_profile_name(i));
		if (n > width)
			width = n;
	}
	for (size_t i = 0; ward_profile_name(i); i++)
		printf("%-*s  %s\n", width, ward_profile_name(i), ward_profile_summary(ward_profile_name(i)));
	printf("\n'ward run' picks a profile from PROGRAM's name unless --profile is given\n"
	       "(--profile none: no profile). 'ward profiles show NAME' prints one.\n");
	return finish_stdout(0);
}

static int show_profile(const char *name)
{
	const char *text = ward_profile_text(name);
	if (!text) {
		char known[512] = "";
		size_t off = 0;
		for (size_t i = 0; ward_profile_name(i) && off < sizeof(known); i++) {
			int n = snprintf(known + off, sizeof(known) - off, "%s%s", i ? ", " : "",
					 ward_profile_name(i));
			if (n < 0)
				break;
			off += (size_t)n;
		}
		die(EXIT_USAGE, "unknown profile '%s' (known: %s)", name, known);
	}
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
