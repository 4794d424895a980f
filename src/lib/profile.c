/* profile.c — the built-in profiles: looking one up by name, and picking
 * one from the program a run starts. The profiles themselves are the
 * profiles/NAME.policy files, compiled in by tools/embed-profiles.py as
 * builtin_profiles[]. */
#include "policy.h"

#include <ctype.h>
#include <string.h>

const struct profile *profile_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < n_builtin_profiles; i++)
		if (!strcmp(builtin_profiles[i].name, name))
			return &builtin_profiles[i];
	return NULL;
}

/* true if s is a dotted version such as "3.1", "5.36.0" or, after a stem
 * that ends in a digit, ".11" (python3 -> python3.11). */
static bool is_version(const char *s)
{
	if (*s == '.')
		s++;
	bool digit = false;
	for (; *s; s++) {
		if (isdigit((unsigned char)*s))
			digit = true;
		else if (*s == '.' && digit)
			digit = false;
		else
			return false;
	}
	return digit;
}

/* Program basenames and the profile each picks. A stem with `versioned`
 * also matches the stem followed by a version ("python3.11", "perl5.36.0",
 * "lua5.4", "ruby3.1"), as Debian names its versioned interpreters. */
static const struct {
	const char *stem;
	bool versioned;
	const char *profile;
} program_profiles[] = {
	{"python3", true, "python3"},
	{"python", false, "python3"},
	{"lua", true, "lua"},
	{"node", false, "node"},
	{"nodejs", false, "node"},
	{"ruby", true, "ruby"},
	{"perl", true, "perl"},
	{"sh", false, "sh"},
	{"bash", false, "sh"},
	{"dash", false, "sh"},
};

const char *profile_for_program(const char *program)
{
	if (!program)
		return "native";
	const char *slash = strrchr(program, '/');
	const char *base = slash ? slash + 1 : program;
	for (size_t i = 0; i < ELEMENTSOF(program_profiles); i++) {
		size_t n = strlen(program_profiles[i].stem);
		if (strncmp(base, program_profiles[i].stem, n) != 0)
			continue;
		if (!base[n] || (program_profiles[i].versioned && is_version(base + n)))
			return program_profiles[i].profile;
	}
	return "native";
}
