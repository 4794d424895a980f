/* attack-plant — plant a symlink for the host to trip over
 * (CVE-2024-28185: a trusted host process later followed it as root).
 *
 * usage: attack-plant LINKPATH TARGET [LINKPATH TARGET]...
 * Replaces each LINKPATH (unlinking what is there) by a symlink to
 * TARGET. Run in a --rw directory; the driver then makes ward use that
 * directory again (a report written there, a grant nested inside it) and
 * checks that no host file outside was written or created. */
#include "attack.h"

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3 || argc % 2 == 0) {
		fprintf(stderr, "usage: attack-plant LINKPATH TARGET...\n");
		return 2;
	}
	for (int i = 1; i + 1 < argc; i += 2) {
		char what[8192];
		unlink(argv[i]);
		snprintf(what, sizeof(what), "symlink(%s -> %s)", argv[i], argv[i + 1]);
		show(what, symlink(argv[i + 1], argv[i]));
	}
	return 0;
}
