/* main.c — `ward`: dispatches to one subcommand per file (run.c,
 * profiles.c, doctor.c) from a table, like wireguard-tools' wg.c. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "common.h"
#include "banned.h"

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{"run", cmd_run},
	{"profiles", cmd_profiles},
	{"doctor", cmd_doctor},
	{"serve", cmd_serve},
	{"help", cmd_help},
	{"--help", cmd_help},
	{"-h", cmd_help},
	{"version", cmd_version},
	{"--version", cmd_version},
};

/* What each limit counts, for the help text, in ward.h's order; names and
 * defaults come from libward so that the text cannot drift from the code. */
static const struct {
	const char *arg, *what;
} limit_help[] = {
	[WARD_LIMIT_MEMORY] = {"SIZE", "memory of the whole box"},
	[WARD_LIMIT_CPU_TIME] = {"DUR", "CPU time of the program"},
	[WARD_LIMIT_WALL_TIME] = {"DUR", "wall-clock time of the run"},
	[WARD_LIMIT_PROCS] = {"N", "processes and threads"},
	[WARD_LIMIT_OUTPUT] = {"SIZE", "stdout and stderr together"},
	[WARD_LIMIT_FILE_SIZE] = {"SIZE", "size of any file written"},
	[WARD_LIMIT_OPEN_FILES] = {"N", "open file descriptors per process"},
	[WARD_LIMIT_TMP_SIZE] = {"SIZE", "size of the box's /tmp"},
	[WARD_LIMIT_DISK] = {"SIZE", "what the box may write into each --rw directory"},
};

static void print_limit_defaults(FILE *f)
{
	for (size_t i = 0; i < ELEMENTSOF(limit_help); i++) {
		enum ward_limit l = (enum ward_limit)i;
		char opt[40], def[32] = "unlimited";
		snprintf(opt, sizeof(opt), "--%s %s", ward_limit_name(l), limit_help[i].arg);
		if (ward_limit_default(l))
			ward_limit_format(l, ward_limit_default(l), def, sizeof(def));
		fprintf(f, "  %-22s %s (default %s)\n", opt, limit_help[i].what, def);
	}
}

void print_help(FILE *f)
{
	fputs("usage: ward run [OPTIONS] [--] PROGRAM [ARGS...]\n"
	      "       ward profiles [show NAME]\n"
	      "       ward doctor\n"
	      "       ward serve [--listen ADDR:PORT] [--config FILE]\n"
	      "       ward help | --help | --version\n"
	      "\n"
	      "Runs PROGRAM in a box: new user, mount, pid, network, ipc, uts and cgroup\n"
	      "namespaces; a read-only root holding /usr, /bin, /sbin, /lib*, a minimal /etc\n"
	      "and /dev, a private /proc and /tmp, and the current directory read-only; no\n"
	      "new privileges, no capabilities, a seccomp allowlist, Landlock and limits.\n"
	      "The box's environment is empty but for PATH, HOME, LANG and what is granted:\n"
	      "the host's environment never leaks in. stdin, stdout, stderr and the exit\n"
	      "status pass through.\n"
	      "\n"
	      "Commands:\n"
	      "  run                    run PROGRAM in a box (options below)\n"
	      "  profiles               list the built-in profiles\n"
	      "  profiles show NAME     print a profile as a policy file\n"
	      "  doctor                 show which layers this host and user offer\n"
	      "  serve                  a code-execution HTTP service speaking Piston's v2\n"
	      "                         API (ward-serve(1))\n"
	      "  help, --help, -h       show this help\n"
	      "  version, --version     show ward's version\n"
	      "\n"
	      "Options of 'ward run' (the profile applies first, then --policy files, then\n"
	      "the other options in order: later values override, grants add up):\n",
	      f);
	fputs("  --profile NAME         auto (default: chosen from PROGRAM's name), none\n"
	      "                         (no profile), or a built-in one:",
	      f);
	/* The built-in names, wrapped under the description column. */
	size_t col = 57;
	for (size_t i = 0; ward_profile_name(i); i++) {
		size_t w = strlen(ward_profile_name(i)) + 2;
		if (col + w > 79) {
			fputs("\n                        ", f);
			col = 24;
		}
		fprintf(f, " %s%s", ward_profile_name(i), ward_profile_name(i + 1) ? "," : "");
		col += w;
	}
	fputs("\n", f);
	fputs("  --policy FILE          add the grants and limits of a policy file\n"
	      "                         (ward-policy(5)); may be repeated\n"
	      "  --ro HOST[:BOX]        bind host path HOST read-only at BOX (default: at\n"
	      "                         the same path); HOST may be relative\n"
	      "  --rw HOST[:BOX]        the same, read-write\n"
	      "  --tmpfs BOX[:SIZE]     an empty private tmpfs at BOX (default size: the\n"
	      "                         --tmp-size limit)\n"
	      "  --cwd BOX              working directory in the box (default: the current\n"
	      "                         directory, or / when it is not exposed)\n"
	      "  --no-cwd               do not expose the current directory (policy: cwd off)\n"
	      "  --env NAME[=VALUE]     set NAME in the box; NAME alone copies ward's value\n"
	      "  --hostname NAME        the box's host name (default: ward)\n"
	      "  --exec PATH            the box may execute only the files given with --exec\n"
	      "                         (box paths; may be repeated)\n"
	      "  --net none|loopback    none (default): no network at all; loopback: a\n"
	      "                         private loopback interface\n"
	      "  --file BOX=HOST        a read-only virtual file at BOX with the content of\n"
	      "                         host file HOST (copied when the run starts)\n"
	      "  --file-text BOX=TEXT   a read-only virtual file at BOX containing TEXT\n"
	      "  --audit                broker the box's file calls: list what was denied\n"
	      "                         on stderr and in the report\n"
	      "  --learn FILE           broker the box's file calls and write FILE: a policy\n"
	      "                         of the grants given, narrowed to what was used\n"
	      "  --warm MODE            run as warm boxes do: pool (the box made first, the\n"
	      "                         program given last) or zygote (cloned by python3)\n"
	      "\n"
	      "Limits (SIZE: bytes with an optional K, M, G or T suffix, powers of 1024;\n"
	      "DUR: a number with ms, s, m or h, a bare number is seconds):\n",
	      f);
	print_limit_defaults(f);
	fputs("\n"
	      "Running:\n"
	      "  --report FILE          write a JSON report of the run to FILE ('-': stderr)\n"
	      "  --cgroup auto|off|require\n"
	      "                         enforce limits with a cgroup when one is usable\n"
	      "                         (auto, the default), never (off: rlimits only), or\n"
	      "                         fail unless one is (require)\n"
	      "  --quiet                print no notices (errors are always printed)\n"
	      "  -h, --help             show this help\n"
	      "\n"
	      "Exit status of 'ward run':\n"
	      "  N                      the program exited with status N\n"
	      "  128+N                  the program was killed by signal N\n"
	      "  116                    output limit exceeded\n"
	      "  117                    file-size limit exceeded\n"
	      "  118                    procs limit exceeded\n"
	      "  119                    memory limit exceeded\n"
	      "  120                    cpu-time limit exceeded\n"
	      "  122                    usage error (bad option, value or policy file)\n"
	      "  124                    wall-time limit exceeded\n"
	      "  125                    setup error: the box could not be built\n"
	      "  126                    the program is not executable\n"
	      "  127                    the program was not found\n"
	      "'ward doctor' exits 0 when a default run would work, 125 otherwise.\n"
	      "\n"
	      "See ward(1) and ward-policy(5).\n",
	      f);
}

int cmd_help(int argc, char **argv)
{
	print_help(stdout);
	return finish_stdout(0);
}

int cmd_version(int argc, char **argv)
{
	printf("ward %s\n", WARD_VERSION);
	return finish_stdout(0);
}

/* A program started with fd 0, 1 or 2 closed would open its own files
 * there and later write messages into them: park /dev/null on them. On 1
 * and 2 read-only, so that writing there still fails (EBADF) as it would
 * on the closed fd: output sent to a closed stdout is an error (io-error
 * for a run), never silently dropped. A closed stdin reads as empty. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", O_RDONLY | O_NOCTTY);
		if (n < 0)
			exit(EXIT_SETUP); /* nowhere to say it */
		if (n != fd) /* a lower fd was closed too and got it */
			close(n);
	}
}

int main(int argc, char **argv)
{
	ensure_std_fds();
	if (argc < 2) {
		fputs("usage: ward run [OPTIONS] [--] PROGRAM [ARGS...]\n"
		      "       ward profiles [show NAME]\n"
		      "       ward doctor\n"
		      "       ward serve [--listen ADDR:PORT] [--config FILE]\n"
		      "       ward help | --help | --version\n",
		      stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		die_usage("unknown option '%s' (a command comes first: run, profiles, doctor, serve, help)",
			  argv[1]);
	die_usage("unknown command '%s' (known: run, profiles, doctor, serve, help, version)", argv[1]);
}
