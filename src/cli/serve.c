/* serve.c — `ward serve`: execs ward-serve, the HTTP service (a program of
 * its own, see serve-main.c), found next to the ward command, else where
 * it is installed. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "common.h"
#include "banned.h"

int cmd_serve(int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *found = WARD_SERVE_PATH;
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/ward-serve", self);
			if (access(path, X_OK) == 0)
				found = path;
		}
	}
	argv[0] = (char *)"ward-serve";
	execv(found, argv);
	die(EXIT_SETUP, "serve: cannot run '%s': %s (was ward built with libmicrohttpd?)",
	    found, strerror_lc(errno));
}
