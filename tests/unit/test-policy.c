/* test-policy.c — the policy file parser and the policy setters: every
 * directive, every error message (the exact text), quoting, comments,
 * limits overriding, duplicate grants, files and their relative paths,
 * and policy_format's round trip through policy_parse. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "policy.h"

#define NAME "t.policy"

/* Parses text (with an explicit length, so it may hold NUL bytes) into a
 * fresh policy; returns the status, the policy and the message. */
static int parse_len(const char *text, size_t len, struct policy **ret, struct err *e)
{
	struct policy *p = NULL;
	if (policy_new(&p) < 0) {
		printf("# policy_new failed\n");
		exit(2);
	}
	memset(e, 0, sizeof(*e));
	int r = policy_parse(p, NAME, text, len, e);
	*ret = p;
	return r;
}

/* The text must parse; the caller frees the policy. */
static struct policy *parse_ok_at(int line, const char *text)
{
	struct policy *p = NULL;
	struct err e;
	int r = parse_len(text, strlen(text), &p, &e);
	if (r < 0) {
		printf("# line %d: parsing failed (%d): %s\n#   text: %s\n", line, r, e.msg, text);
		check_failed++;
	}
	return p;
}
#define parse_ok(text) parse_ok_at(__LINE__, text)

/* The text must be refused with exactly this message. */
static void parse_err_len_at(int line, const char *text, size_t len, const char *want)
{
	struct policy *p = NULL;
	struct err e;
	int r = parse_len(text, len, &p, &e);
	if (r >= 0) {
		printf("# line %d: accepted, expected error '%s'\n", line, want);
		check_failed++;
	} else if (strcmp(e.msg, want) != 0) {
		printf("# line %d: message is\n#   '%s'\n# expected\n#   '%s'\n", line, e.msg, want);
		check_failed++;
	}
	policy_free(p);
}
#define parse_err(text, want) parse_err_len_at(__LINE__, text, strlen(text), want)
#define parse_err_len(text, len, want) parse_err_len_at(__LINE__, text, len, want)

static const struct grant *find_grant(const struct policy *p, const char *box)
{
	for (size_t i = 0; i < p->n_grants; i++)
		if (!strcmp(p->grants[i].box, box))
			return &p->grants[i];
	return NULL;
}

static const char *env_get(const struct policy *p, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < p->env.n; i++)
		if (!strncmp(p->env.v[i], name, n) && p->env.v[i][n] == '=')
			return p->env.v[i] + n + 1;
	return NULL;
}

static void test_new_policy_grants_nothing(void)
{
	struct policy *p = NULL;
	CHECK_INT(policy_new(&p), 0);
	CHECK(p != NULL);
	CHECK_INT(p->n_grants, 0);
	CHECK_INT(p->exec.n, 0);
	CHECK_INT(p->env.n, 0);
	CHECK(p->cwd == NULL);
	CHECK(p->hostname == NULL);
	CHECK_INT(p->net, NET_NONE);
	for (int i = 0; i < _LIMIT_MAX; i++)
		CHECK_U64(p->limits[i], 0);
	policy_free(p);
	policy_free(NULL); /* a no-op */
	CHECK_INT(policy_new(NULL), -EINVAL);
}

static void test_empty_blank_and_comments(void)
{
	struct policy *p = parse_ok("");
	CHECK_INT(p->n_grants, 0);
	policy_free(p);

	p = parse_ok("# only a comment\n\n   \t\n#\n");
	CHECK_INT(p->n_grants, 0);
	CHECK_INT(p->env.n, 0);
	policy_free(p);

	/* A comment after a directive, with or without a blank before it;
	 * no newline at the end; CRLF line ends; leading blanks. */
	p = parse_ok("memory 2G # two\nprocs 7# seven\r\n\t  open-files 9");
	CHECK_U64(p->limits[LIMIT_MEMORY], 2ull << 30);
	CHECK_U64(p->limits[LIMIT_PROCS], 7);
	CHECK_U64(p->limits[LIMIT_OPEN_FILES], 9);
	policy_free(p);

	/* A commented-out directive does nothing. */
	p = parse_ok("# memory 5G\n");
	CHECK_U64(p->limits[LIMIT_MEMORY], 0);
	policy_free(p);
}

static void test_every_directive(void)
{
	struct policy *p = parse_ok("ro /usr/share /share\n"
				    "rw /tmp\n"
				    "ro /nonexistent-ward-unit /maybe optional\n"
				    "tmpfs /work 16M\n"
				    "tmpfs /scratch\n"
				    "exec /usr/bin/convert\n"
				    "env A=b\n"
				    "cwd /work\n"
				    "hostname judge-1.example\n"
				    "net loopback\n"
				    "memory 256M\n"
				    "cpu-time 2s\n"
				    "wall-time 500ms\n"
				    "procs 10\n"
				    "output 1M\n"
				    "file-size 2K\n"
				    "open-files 64\n"
				    "tmp-size 32M\n"
				    "include native\n");
	CHECK_INT(p->n_grants, 5);
	const struct grant *g = find_grant(p, "/share");
	CHECK(g && g->kind == GRANT_RO && !strcmp(g->host, "/usr/share") && !g->optional && !g->implicit);
	g = find_grant(p, "/tmp");
	CHECK(g && g->kind == GRANT_RW && !strcmp(g->host, "/tmp") && !g->optional);
	g = find_grant(p, "/maybe");
	CHECK(g && g->kind == GRANT_RO && !strcmp(g->host, "/nonexistent-ward-unit") && g->optional);
	g = find_grant(p, "/work");
	CHECK(g && g->kind == GRANT_TMPFS && !g->host && g->size == 16ull << 20);
	g = find_grant(p, "/scratch");
	CHECK(g && g->kind == GRANT_TMPFS && g->size == 0);
	CHECK_INT(p->exec.n, 1);
	CHECK_STR(p->exec.v[0], "/usr/bin/convert");
	CHECK_STR(env_get(p, "A"), "b");
	CHECK_STR(p->cwd, "/work");
	CHECK_STR(p->hostname, "judge-1.example");
	CHECK_INT(p->net, NET_LOOPBACK);
	CHECK_U64(p->limits[LIMIT_MEMORY], 256ull << 20);
	CHECK_U64(p->limits[LIMIT_CPU_TIME], 2000);
	CHECK_U64(p->limits[LIMIT_WALL_TIME], 500);
	CHECK_U64(p->limits[LIMIT_PROCS], 10);
	CHECK_U64(p->limits[LIMIT_OUTPUT], 1ull << 20);
	CHECK_U64(p->limits[LIMIT_FILE_SIZE], 2048);
	CHECK_U64(p->limits[LIMIT_OPEN_FILES], 64);
	CHECK_U64(p->limits[LIMIT_TMP_SIZE], 32ull << 20);
	/* From the included native profile. */
	CHECK_STR(env_get(p, "PATH"), "/usr/local/bin:/usr/bin:/bin");
	CHECK_STR(env_get(p, "HOME"), "/tmp");
	policy_free(p);

	p = parse_ok("net loopback\nnet none\n");
	CHECK_INT(p->net, NET_NONE);
	policy_free(p);
}

static void test_grant_forms(void)
{
	/* `optional` alone after HOST is the keyword, not a box path. */
	struct policy *p = parse_ok("ro /usr optional\n");
	CHECK_INT(p->n_grants, 1);
	CHECK(p->grants[0].optional && !strcmp(p->grants[0].box, "/usr") &&
	      !strcmp(p->grants[0].host, "/usr"));
	policy_free(p);

	p = parse_ok("rw /tmp /out optional\n");
	CHECK(p->n_grants == 1 && p->grants[0].optional && p->grants[0].kind == GRANT_RW &&
	      !strcmp(p->grants[0].box, "/out"));
	policy_free(p);

	/* Host and box paths are normalised. */
	p = parse_ok("ro //etc/../usr/./lib/ /a//b/./c/../d\n");
	CHECK_STR(p->grants[0].host, "/usr/lib");
	CHECK_STR(p->grants[0].box, "/a/b/d");
	policy_free(p);

	/* An optional grant of a missing path is accepted: the launcher
	 * skips it. A missing path without `optional` is not. */
	p = parse_ok("ro /nonexistent-ward-unit/x optional\n");
	CHECK_INT(p->n_grants, 1);
	policy_free(p);

	/* '/' may be granted read-only (at another box path). */
	p = parse_ok("ro / /host\n");
	CHECK_STR(p->grants[0].host, "/");
	CHECK_STR(p->grants[0].box, "/host");
	policy_free(p);
}

static void test_quoting(void)
{
	struct policy *p = parse_ok("env \"A=x y\"\n"
				    "env B=\"x  y\"z\n"
				    "env \"Q=\\\"q\\\" \\\\ \\n\"\n"
				    "env \"H=#not a comment\" # a comment\n"
				    "env C=a\\b\n"
				    "env E=\n"
				    "env F=\"\"\n"
				    "\"cwd\" \"/a b\"\n"
				    "env G=\"\t\"\n");
	CHECK_STR(env_get(p, "A"), "x y");
	CHECK_STR(env_get(p, "B"), "x  yz");
	CHECK_STR(env_get(p, "Q"), "\"q\" \\ \n");
	CHECK_STR(env_get(p, "H"), "#not a comment");
	CHECK_STR(env_get(p, "C"), "a\\b"); /* a backslash outside quotes is itself */
	CHECK_STR(env_get(p, "E"), "");
	CHECK_STR(env_get(p, "F"), "");
	CHECK_STR(env_get(p, "G"), "\t");
	CHECK_STR(p->cwd, "/a b");
	policy_free(p);
}

static void test_error_messages(void)
{
	parse_err("memroy 1G", NAME ":1: unknown directive 'memroy'");
	parse_err("\n\nmemory 12Q\n",
		  NAME ":3: memory: invalid size '12Q' (expected a number with an optional K, M, G or T suffix, e.g. 256M)");
	parse_err("memory 0", NAME ":1: memory: size '0' out of range (expected at least 1M and at most 16T)");
	parse_err("memory 17T", NAME ":1: memory: size '17T' out of range (expected at least 1M and at most 16T)");
	parse_err("memory", NAME ":1: memory: missing argument (expected 'memory SIZE')");
	parse_err("memory 1G 2G", NAME ":1: memory: unexpected argument '2G' (expected 'memory SIZE')");
	parse_err("memory 1 2 3 4 5 6 7 8 9 10",
		  NAME ":1: memory: unexpected argument '2' (expected 'memory SIZE')");
	parse_err("output -1",
		  NAME ":1: output: invalid size '-1' (expected a number with an optional K, M, G or T suffix, e.g. 256M)");
	parse_err("cpu-time 5x",
		  NAME ":1: cpu-time: invalid duration '5x' (expected a number with an ms, s, m or h suffix, e.g. 5s or 500ms)");
	parse_err("wall-time 0", NAME ":1: wall-time: duration '0' out of range (expected at least 1ms and at most 720h)");
	parse_err("wall-time 721h",
		  NAME ":1: wall-time: duration '721h' out of range (expected at least 1ms and at most 720h)");
	parse_err("cpu-time", NAME ":1: cpu-time: missing argument (expected 'cpu-time DURATION')");
	parse_err("procs many", NAME ":1: procs: invalid number 'many' (expected a whole number, e.g. 64)");
	parse_err("procs 0", NAME ":1: procs: number '0' out of range (expected 2 to 4194304)");
	parse_err("open-files 1048577",
		  NAME ":1: open-files: number '1048577' out of range (expected 8 to 1048576)");
	/* Values the box itself cannot start with: refused here, naming the
	 * smallest that works, not at setup with the kernel's words. */
	parse_err("procs 1",
		  NAME ":1: procs: '1' is too small (at least 2: the box's init and the program are two processes)");
	for (int n = 1; n < 8; n++) {
		char text[32], want[256];
		snprintf(text, sizeof(text), "open-files %d", n);
		snprintf(want, sizeof(want),
			 NAME ":1: open-files: '%d' is too small (at least 8: the box's setup holds up to 8 descriptors at once)",
			 n);
		parse_err(text, want);
	}
	parse_err("memory 1023K",
		  NAME ":1: memory: '1023K' is too small (at least 1M: the box's init and a program's loader need that much)");
	policy_free(parse_ok("procs 2\nopen-files 8\nmemory 1M\n"));
	parse_err("procs 1 2", NAME ":1: procs: unexpected argument '2' (expected 'procs N')");

	parse_err("ro usr", NAME ":1: ro: path 'usr' must be absolute");
	/* The file's bytes are quoted escaped: invalid UTF-8 and control
	 * characters never reach a terminal raw. */
	parse_err("ro caf\xc3\xa9\xff\x1b[2J", NAME ":1: ro: path 'caf\xc3\xa9\\xff\\x1b[2J' must be absolute");
	parse_err("\xfe\xfe 1", NAME ":1: unknown directive '\\xfe\\xfe'");
	parse_err("ro /usr usr", NAME ":1: ro: path 'usr' must be absolute");
	parse_err("ro", NAME ":1: ro: missing argument (expected 'ro HOST [BOX] [optional]')");
	parse_err("ro /usr /u maybe", NAME ":1: ro: unexpected argument 'maybe' (expected 'ro HOST [BOX] [optional]')");
	parse_err("rw /usr /a optional /c", NAME ":1: rw: unexpected argument '/c' (expected 'rw HOST [BOX] [optional]')");
	parse_err("rw /", NAME ":1: rw: refusing to grant '/' read-write");
	parse_err("rw /usr/.. /x", NAME ":1: rw: refusing to grant '/' read-write");
	parse_err("ro /usr /", NAME ":1: ro: cannot bind over '/' (the box root is ward's own read-only tmpfs)");
	parse_err("ro /", NAME ":1: ro: cannot bind over '/' (the box root is ward's own read-only tmpfs)");
	parse_err("ro /usr /proc/x",
		  NAME ":1: ro: cannot bind at '/proc/x' (ward owns '/proc': it is the box's own process list)");
	parse_err("ro /proc",
		  NAME ":1: ro: cannot bind at '/proc' (ward owns '/proc': it is the box's own process list)");
	parse_err("rw /tmp /dev",
		  NAME ":1: rw: cannot bind at '/dev' (ward owns '/dev': it holds only the devices ward creates)");
	parse_err("ro /usr /../etc", NAME ":1: ro: path '/../etc' climbs above '/' with '..'");
	parse_err("ro /usr /a/../../etc", NAME ":1: ro: path '/a/../../etc' climbs above '/' with '..'");
	parse_err("ro /nonexistent-ward-unit",
		  NAME ":1: ro: host path '/nonexistent-ward-unit' does not exist (mark the grant 'optional' to skip it when missing)");
	parse_err("rw /nonexistent-ward-unit/../nonexistent-2 /x",
		  NAME ":1: rw: host path '/nonexistent-2' does not exist (mark the grant 'optional' to skip it when missing)");

	parse_err("tmpfs", NAME ":1: tmpfs: missing argument (expected 'tmpfs BOX [SIZE]')");
	parse_err("tmpfs /x 1M 2M", NAME ":1: tmpfs: unexpected argument '2M' (expected 'tmpfs BOX [SIZE]')");
	parse_err("tmpfs x", NAME ":1: tmpfs: path 'x' must be absolute");
	parse_err("tmpfs /", NAME ":1: tmpfs: cannot mount a tmpfs over '/' (the box root is ward's own read-only tmpfs)");
	parse_err("tmpfs /dev/shm",
		  NAME ":1: tmpfs: cannot mount a tmpfs at '/dev/shm' (ward owns '/dev': it holds only the devices ward creates)");
	parse_err("tmpfs /x 12Q",
		  NAME ":1: tmpfs: invalid size '12Q' (expected a number with an optional K, M, G or T suffix, e.g. 16M)");
	parse_err("tmpfs /x 0", NAME ":1: tmpfs: size '0' out of range (expected at least 1 byte and at most 16T)");

	parse_err("exec", NAME ":1: exec: missing argument (expected 'exec PATH')");
	parse_err("exec /", NAME ":1: exec: refusing '/' (it would allow executing every file)");
	parse_err("exec bin/sh", NAME ":1: exec: path 'bin/sh' must be absolute");
	parse_err("exec /a /b", NAME ":1: exec: unexpected argument '/b' (expected 'exec PATH')");

	parse_err("env", NAME ":1: env: missing argument (expected 'env NAME=VALUE or env NAME')");
	parse_err("env 1A=b",
		  NAME ":1: env: invalid variable name '1A' (expected letters, digits and '_', not starting with a digit)");
	parse_err("env A-B=c",
		  NAME ":1: env: invalid variable name 'A-B' (expected letters, digits and '_', not starting with a digit)");
	parse_err("env =x", NAME ":1: env: invalid variable '=x' (expected NAME or NAME=VALUE)");
	parse_err("env \"\"", NAME ":1: env: invalid variable '' (expected NAME or NAME=VALUE)");
	parse_err("env A=1 B=2", NAME ":1: env: unexpected argument 'B=2' (expected 'env NAME=VALUE or env NAME')");

	parse_err("cwd work", NAME ":1: cwd: path 'work' must be absolute");
	parse_err("cwd", NAME ":1: cwd: missing argument (expected 'cwd BOX|off')");

	parse_err("hostname bad_name",
		  NAME ":1: hostname: invalid hostname 'bad_name' (expected 1 to 64 letters, digits, '-' or '.')");
	parse_err("hostname -x", NAME ":1: hostname: invalid hostname '-x' (expected it to start with a letter or digit)");
	parse_err("hostname \"\"",
		  NAME ":1: hostname: invalid hostname '' (expected 1 to 64 letters, digits, '-' or '.')");
	parse_err("hostname aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  NAME ":1: hostname: hostname 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is too long (65 characters, at most 64)");

	parse_err("net wifi", NAME ":1: net: invalid mode 'wifi' (expected none or loopback)");
	parse_err("net", NAME ":1: net: missing argument (expected 'net none|loopback')");

	parse_err("include nosuch",
		  NAME ":1: include: unknown profile 'nosuch' (known: python3, lua, node, ruby, perl, sh, native)");
	parse_err("include", NAME ":1: include: missing argument (expected 'include PROFILE')");
	parse_err("include sh lua", NAME ":1: include: unexpected argument 'lua' (expected 'include PROFILE')");

	parse_err("env \"A=b", NAME ":1: unterminated quote");
	parse_err("memory 1G\nenv A=\"b # c", NAME ":2: unterminated quote");
	parse_err("env \"A=\\x\"", NAME ":1: unknown escape in a quoted token (expected \\\", \\\\ or \\n)");
	parse_err("env \"A=\\", NAME ":1: unknown escape in a quoted token (expected \\\", \\\\ or \\n)");
	parse_err_len("memory 1G\n\nenv A=\0b\n", 20, NAME ":3: NUL byte in the file (a policy file is text)");
}

/* The caps on what grows with the input: line length, file size and
 * the number of directives. */
static void test_caps(void)
{
	char *buf = malloc(2 * 1024 * 1024);
	if (!buf)
		return;

	/* A line of exactly the cap (512 KiB) is fine; one byte more is not. */
	memset(buf, '#', 512 * 1024);
	buf[512 * 1024] = 0;
	struct policy *p = parse_ok(buf);
	policy_free(p);
	memset(buf, 'a', 512 * 1024 + 1);
	buf[512 * 1024 + 1] = 0;
	parse_err(buf, NAME ":1: line too long (524289 bytes, at most 524288)");
	snprintf(buf, 64, "memory 1G\n");
	memset(buf + 10, 'b', 600000);
	buf[10 + 600000] = 0;
	parse_err(buf, NAME ":2: line too long (600000 bytes, at most 524288)");

	/* Paths: at most PATH_MAX - 1 bytes. */
	memcpy(buf, "tmpfs /", 7);
	memset(buf + 7, 'p', 4095);
	buf[7 + 4095] = 0;
	parse_err(buf, NAME ":1: tmpfs: path '/ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp...'"
		  " is too long (4096 bytes, at most 4095)");
	buf[7 + 4094] = 0;
	p = parse_ok(buf);
	policy_free(p);
	memcpy(buf, "ro /", 4);
	memset(buf + 4, 'p', 4096);
	buf[4 + 4096] = 0;
	parse_err(buf, NAME ":1: ro: path '/ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp...'"
		  " is too long (4097 bytes, at most 4095)");

	size_t off = 0;
	for (int i = 0; i < 4097; i++)
		off += (size_t)snprintf(buf + off, 64, "procs %d\n", i + 2);
	parse_err(buf, NAME ":4097: too many directives (at most 4096 in one file)");
	/* 4096 directives and any number of comments are fine. */
	off = 0;
	for (int i = 0; i < 4096; i++)
		off += (size_t)snprintf(buf + off, 64, "procs %d\n#\n", i + 2);
	p = parse_ok(buf);
	CHECK_U64(p->limits[LIMIT_PROCS], 4097);
	policy_free(p);

	memset(buf, '\n', 1024 * 1024 + 1);
	buf[1024 * 1024 + 1] = 0;
	parse_err(buf, NAME ": file too large (1048577 bytes, at most 1048576)");
	free(buf);
}

/* The parser stops at the first bad line; the caller must refuse to run
 * (the policy may hold the lines before it, never the ones after). */
static void test_stops_at_first_error(void)
{
	struct policy *p = NULL;
	struct err e;
	const char *text = "memory 1G\nmemroy 2G\nprocs 5\n";
	CHECK(parse_len(text, strlen(text), &p, &e) == -EINVAL);
	CHECK_STR(e.msg, NAME ":2: unknown directive 'memroy'");
	CHECK_U64(p->limits[LIMIT_PROCS], 0);
	policy_free(p);
}

static void test_limits(void)
{
	/* Defaults from the contract. */
	CHECK_U64(policy_limit(NULL, LIMIT_MEMORY), 1ull << 30);
	CHECK_U64(policy_limit(NULL, LIMIT_CPU_TIME), 0);
	CHECK_U64(policy_limit(NULL, LIMIT_WALL_TIME), 0);
	CHECK_U64(policy_limit(NULL, LIMIT_PROCS), 128);
	CHECK_U64(policy_limit(NULL, LIMIT_OUTPUT), 64ull << 20);
	CHECK_U64(policy_limit(NULL, LIMIT_FILE_SIZE), 64ull << 20);
	CHECK_U64(policy_limit(NULL, LIMIT_OPEN_FILES), 1024);
	CHECK_U64(policy_limit(NULL, LIMIT_TMP_SIZE), 64ull << 20);
	CHECK_U64(policy_limit(NULL, LIMIT_DISK), 256ull << 20);
	CHECK_U64(policy_limit(NULL, _LIMIT_MAX), 0);

	static const char *const names[_LIMIT_MAX] = {
		"memory", "cpu-time", "wall-time", "procs", "output", "file-size", "open-files", "tmp-size",
		"disk",
	};
	for (int i = 0; i < _LIMIT_MAX; i++) {
		CHECK_STR(limit_info[i].name, names[i]);
		CHECK_INT(limit_by_name(names[i]), i);
		CHECK(limit_info[i].max >= limit_info[i].def);
	}
	CHECK_INT(limit_by_name("memroy"), -1);
	CHECK_INT(limit_by_name(""), -1);
	CHECK_INT(limit_by_name(NULL), -1);

	/* A later setting overrides; an unset limit reads as its default. */
	struct policy *p = parse_ok("memory 1G\nwall-time 5s\nmemory 2G\n");
	CHECK_U64(policy_limit(p, LIMIT_MEMORY), 2ull << 30);
	CHECK_U64(policy_limit(p, LIMIT_WALL_TIME), 5000);
	CHECK_U64(policy_limit(p, LIMIT_PROCS), 128);
	CHECK_U64(policy_limit(p, LIMIT_CPU_TIME), 0);

	/* The setters, as the CLI calls them. */
	struct err e = {{0}};
	CHECK_INT(policy_set_limit(p, LIMIT_PROCS, 3, &e), 0);
	CHECK_U64(policy_limit(p, LIMIT_PROCS), 3);
	CHECK_INT(policy_set_limit(p, LIMIT_PROCS, 0, &e), -ERANGE);
	CHECK_STR(e.msg, "number '0' out of range (expected 2 to 4194304)");
	CHECK_INT(policy_set_limit(p, LIMIT_PROCS, 1, &e), -ERANGE);
	CHECK_STR(e.msg, "'1' is too small (at least 2: the box's init and the program are two processes)");
	CHECK_INT(policy_set_limit(p, LIMIT_OPEN_FILES, 4, &e), -ERANGE);
	CHECK_STR(e.msg, "'4' is too small (at least 8: the box's setup holds up to 8 descriptors at once)");
	CHECK_INT(policy_set_limit(p, LIMIT_MEMORY, 4096, &e), -ERANGE);
	CHECK_STR(e.msg, "'4K' is too small (at least 1M: the box's init and a program's loader need that much)");
	CHECK_INT(policy_set_limit(p, LIMIT_MEMORY, 17ull << 40, &e), -ERANGE);
	CHECK_STR(e.msg, "size '17T' out of range (expected at least 1M and at most 16T)");
	CHECK_INT(policy_set_limit(p, LIMIT_WALL_TIME, 31ull * 24 * 3600 * 1000, &e), -ERANGE);
	CHECK_STR(e.msg, "duration '744h' out of range (expected at least 1ms and at most 720h)");
	CHECK_INT(policy_set_limit(p, _LIMIT_MAX, 1, &e), -EINVAL);
	CHECK_U64(policy_limit(p, LIMIT_PROCS), 3); /* a refused value changes nothing */
	CHECK_INT(policy_set_limit_str(p, LIMIT_CPU_TIME, "1.5s", &e), 0);
	CHECK_U64(policy_limit(p, LIMIT_CPU_TIME), 1500);
	CHECK_INT(policy_set_limit_str(p, LIMIT_OUTPUT, "12Q", &e), -EINVAL);
	CHECK_STR(e.msg, "invalid size '12Q' (expected a number with an optional K, M, G or T suffix, e.g. 256M)");
	CHECK_INT(policy_set_limit_str(p, LIMIT_OUTPUT, NULL, &e), -EINVAL);
	CHECK_INT(policy_set_limit_str(p, LIMIT_OPEN_FILES, "99999999999999999999999", &e), -ERANGE);
	CHECK_STR(e.msg, "number '99999999999999999999999' out of range (expected 8 to 1048576)");
	policy_free(p);
}

static void test_duplicates(void)
{
	/* The same box path twice: the later grant wins, in place. */
	struct policy *p = parse_ok("ro /usr /x\nrw /tmp /y\nrw /tmp /x\n");
	CHECK_INT(p->n_grants, 2);
	CHECK(p->grants[0].kind == GRANT_RW && !strcmp(p->grants[0].host, "/tmp") &&
	      !strcmp(p->grants[0].box, "/x"));
	CHECK_STR(p->grants[1].box, "/y");
	policy_free(p);

	/* A tmpfs replaces a bind at the same box path and vice versa;
	 * paths are compared after normalisation. */
	p = parse_ok("ro /usr /x\ntmpfs /x/ 1M\nro /etc /w\ntmpfs /w\nro /usr /w/.\n");
	CHECK_INT(p->n_grants, 2);
	CHECK(p->grants[0].kind == GRANT_TMPFS && !p->grants[0].host && p->grants[0].size == 1ull << 20);
	CHECK(p->grants[1].kind == GRANT_RO && !strcmp(p->grants[1].host, "/usr"));
	policy_free(p);

	/* Environment: a later value for the same name replaces it in place. */
	p = parse_ok("env A=1\nenv B=2\nenv AB=4\nenv A=3\n");
	CHECK_INT(p->env.n, 3);
	CHECK_STR(p->env.v[0], "A=3");
	CHECK_STR(p->env.v[1], "B=2");
	CHECK_STR(p->env.v[2], "AB=4");
	CHECK(p->env.v[3] == NULL);
	policy_free(p);

	/* exec: granted once, however often it is named. */
	p = parse_ok("exec /usr/bin/x\nexec /usr//bin/x\nexec /usr/bin/y\n");
	CHECK_INT(p->exec.n, 2);
	policy_free(p);

	/* cwd and hostname: the later one wins. */
	p = parse_ok("cwd /a\nhostname one\ncwd /b\nhostname two\n");
	CHECK_STR(p->cwd, "/b");
	CHECK_STR(p->hostname, "two");
	policy_free(p);
}

static void test_env_passthrough(void)
{
	setenv("WARD_UNIT_VAR", "v 1=2", 1);
	unsetenv("WARD_UNIT_UNSET");
	struct policy *p = parse_ok("env WARD_UNIT_VAR\nenv WARD_UNIT_UNSET\n");
	CHECK_INT(p->env.n, 1);
	CHECK_STR(p->env.v[0], "WARD_UNIT_VAR=v 1=2");
	/* Passing through a variable the caller lacks keeps an earlier value. */
	struct err e = {{0}};
	CHECK_INT(policy_add_env(p, "X=1", &e), 0);
	CHECK_INT(policy_add_env(p, "WARD_UNIT_UNSET", &e), 0);
	CHECK_INT(policy_add_env(p, "X", &e), 0);
	CHECK_STR(env_get(p, "X"), "1");
	policy_free(p);
	unsetenv("WARD_UNIT_VAR");
}

/* The setters directly, as the CLI and the future public API call them. */
static void test_setters(void)
{
	struct policy *p = NULL;
	struct err e = {{0}};
	CHECK_INT(policy_new(&p), 0);

	CHECK_INT(policy_add_grant(p, GRANT_RO, "usr", NULL, 0, false, &e), -EINVAL);
	CHECK_STR(e.msg, "path 'usr' must be absolute");
	CHECK_INT(policy_add_grant(p, GRANT_RO, NULL, "/x", 0, false, &e), -EINVAL);
	CHECK_INT(policy_add_grant(p, GRANT_RO, "/usr", "/x", 5, false, &e), -EINVAL);
	CHECK_STR(e.msg, "a size applies only to tmpfs grants");
	CHECK_INT(policy_add_grant(p, GRANT_TMPFS, "/usr", "/x", 0, false, &e), -EINVAL);
	CHECK_STR(e.msg, "a tmpfs grant has no host path");
	CHECK_INT(policy_add_grant(p, GRANT_TMPFS, NULL, NULL, 0, false, &e), -EINVAL);
	CHECK_INT(policy_add_grant(p, GRANT_TMPFS, NULL, "/x", 17ull << 40, false, &e), -ERANGE);
	CHECK_STR(e.msg, "size '17T' out of range (expected at least 1 byte and at most 16T)");
	CHECK_INT(policy_add_grant(p, (enum grant_kind)42, "/usr", "/x", 0, false, &e), -EINVAL);
	CHECK_INT(policy_add_grant(p, GRANT_RW, "/", "/x", 0, true, &e), -EPERM);
	CHECK_STR(e.msg, "refusing to grant '/' read-write");
	CHECK_INT(policy_add_grant(NULL, GRANT_RO, "/usr", NULL, 0, false, &e), -EINVAL);
	CHECK_INT(p->n_grants, 0); /* nothing refused was added */
	/* An optional tmpfs is simply a tmpfs. */
	CHECK_INT(policy_add_grant(p, GRANT_TMPFS, NULL, "/t", 0, true, &e), 0);
	CHECK(p->n_grants == 1 && !p->grants[0].optional);

	CHECK_INT(policy_add_exec(p, NULL, &e), -EINVAL);
	CHECK_INT(policy_set_cwd(p, NULL, &e), -EINVAL);
	CHECK_INT(policy_set_cwd(p, "/a/../b/", &e), 0);
	CHECK_STR(p->cwd, "/b");
	CHECK_INT(policy_set_hostname(p, NULL, &e), -EINVAL);
	CHECK_INT(policy_set_net(p, NULL, &e), -EINVAL);
	CHECK_INT(policy_set_net(p, "loopback", &e), 0);
	CHECK_INT(p->net, NET_LOOPBACK);
	CHECK_INT(policy_add_env(p, NULL, &e), -EINVAL);

	/* One "NAME=VALUE" string may not exceed execve's MAX_ARG_STRLEN. */
	size_t big = 128 * 1024;
	char *s = malloc(big + 1);
	if (s) {
		memset(s, 'v', big);
		memcpy(s, "BIG=", 4);
		s[big] = 0;
		CHECK_INT(policy_add_env(p, s, &e), -E2BIG);
		CHECK_STR(e.msg, "variable 'BIG' is too long (131072 bytes, at most 131071)");
		s[big - 1] = 0;
		CHECK_INT(policy_add_env(p, s, &e), 0);
		free(s);
	}
	policy_free(p);
}

/* Caps on the number of grants, exec paths and variables. */
static void test_setter_caps(void)
{
	struct policy *p = NULL;
	struct err e = {{0}};
	char buf[64];
	CHECK_INT(policy_new(&p), 0);
	for (int i = 0; i < 1024; i++) {
		snprintf(buf, sizeof(buf), "/g/%d", i);
		CHECK_INT(policy_add_grant(p, GRANT_TMPFS, NULL, buf, 0, false, &e), 0);
	}
	CHECK_INT(policy_add_grant(p, GRANT_TMPFS, NULL, "/g/x", 0, false, &e), -E2BIG);
	CHECK_STR(e.msg, "too many grants (at most 1024)");
	/* Replacing one in place is still fine at the cap. */
	CHECK_INT(policy_add_grant(p, GRANT_RO, "/usr", "/g/7", 0, false, &e), 0);

	for (int i = 0; i < 128; i++) {
		snprintf(buf, sizeof(buf), "/x/%d", i);
		CHECK_INT(policy_add_exec(p, buf, &e), 0);
	}
	CHECK_INT(policy_add_exec(p, "/x/y", &e), -E2BIG);
	CHECK_STR(e.msg, "too many exec grants (at most 128)");

	for (int i = 0; i < 1024; i++) {
		snprintf(buf, sizeof(buf), "V%d=1", i);
		CHECK_INT(policy_add_env(p, buf, &e), 0);
	}
	CHECK_INT(policy_add_env(p, "W=1", &e), -E2BIG);
	CHECK_STR(e.msg, "too many environment variables (at most 1024)");
	CHECK_INT(policy_add_env(p, "V5=2", &e), 0);
	policy_free(p);
}

static char *format(const struct policy *p)
{
	char *text = NULL;
	if (policy_format(p, &text) < 0 || !text) {
		printf("# policy_format failed\n");
		check_failed++;
		return strdup("");
	}
	return text;
}

/* Two policies hold the same grants, settings and limits. */
static void check_same(const struct policy *a, const struct policy *b)
{
	CHECK_INT(a->n_grants, b->n_grants);
	for (size_t i = 0; i < a->n_grants && i < b->n_grants; i++) {
		const struct grant *x = &a->grants[i], *y = &b->grants[i];
		CHECK_INT(x->kind, y->kind);
		CHECK_STR(x->host, y->host);
		CHECK_STR(x->box, y->box);
		CHECK_U64(x->size, y->size);
		CHECK_INT(x->optional, y->optional);
	}
	CHECK_INT(a->exec.n, b->exec.n);
	for (size_t i = 0; i < a->exec.n && i < b->exec.n; i++)
		CHECK_STR(a->exec.v[i], b->exec.v[i]);
	CHECK_INT(a->env.n, b->env.n);
	for (size_t i = 0; i < a->env.n && i < b->env.n; i++)
		CHECK_STR(a->env.v[i], b->env.v[i]);
	CHECK_STR(a->cwd, b->cwd);
	CHECK_INT(a->hide_cwd, b->hide_cwd);
	CHECK_STR(a->hostname, b->hostname);
	CHECK_INT(a->net, b->net);
	for (int i = 0; i < _LIMIT_MAX; i++)
		CHECK_U64(a->limits[i], b->limits[i]);
	CHECK_INT(a->audit, b->audit);
	CHECK_INT(a->ask.n, b->ask.n);
	for (size_t i = 0; i < a->ask.n && i < b->ask.n; i++)
		CHECK_STR(a->ask.v[i], b->ask.v[i]);
	CHECK_INT(a->n_files, b->n_files);
	for (size_t i = 0; i < a->n_files && i < b->n_files; i++) {
		CHECK_STR(a->files[i].box, b->files[i].box);
		CHECK_STR(a->files[i].host, b->files[i].host);
		CHECK_STR(a->files[i].text, b->files[i].text);
	}
}

static void test_format(void)
{
	/* The exact text for a plain policy. */
	struct policy *p = parse_ok("rw /tmp /out optional\nro /usr\ntmpfs /work 16M\ntmpfs /t\n"
				    "exec /usr/bin/x\nenv A=b\ncwd /work\nhostname h\nnet loopback\n"
				    "wall-time 90s\nmemory 1536M\nprocs 5\ncpu-time 1500ms\n");
	char *text = format(p);
	CHECK_STR(text, "rw /tmp /out optional\n"
			"ro /usr\n"
			"tmpfs /work 16M\n"
			"tmpfs /t\n"
			"exec /usr/bin/x\n"
			"env A=b\n"
			"cwd /work\n"
			"hostname h\n"
			"net loopback\n"
			"memory 1536M\n"
			"cpu-time 1500ms\n"
			"wall-time 90s\n"
			"procs 5\n");
	free(text);
	policy_free(p);

	/* `cwd off` hides the caller's directory; a working directory may
	 * still be given, and "off" is no box path. */
	p = parse_ok("cwd off\ncwd /work\n");
	CHECK(p->hide_cwd);
	CHECK_STR(p->cwd, "/work");
	text = format(p);
	CHECK_STR(text, "cwd off\ncwd /work\n");
	free(text);
	policy_free(p);
	p = parse_ok("cwd /work\n");
	CHECK(!p->hide_cwd);
	policy_free(p);

	/* An empty policy formats as nothing. */
	CHECK_INT(policy_new(&p), 0);
	text = format(p);
	CHECK_STR(text, "");
	free(text);
	CHECK_INT(policy_format(NULL, &text), -EINVAL);
	CHECK_INT(policy_format(p, NULL), -EINVAL);
	policy_free(p);
}

/* policy_format's text parses back into the same policy, whatever the
 * values hold: blanks, quotes, '#', backslashes, newlines, empty values. */
static void test_format_round_trip(void)
{
	struct policy *p = NULL, *q = NULL;
	struct err e = {{0}};
	CHECK_INT(policy_new(&p), 0);
	CHECK_INT(policy_add_grant(p, GRANT_RO, "/nonexistent ward/a \"b\" #c\\d", "/box path/x#y", 0, true, &e), 0);
	CHECK_INT(policy_add_grant(p, GRANT_RO, "/nonexistent\nline", NULL, 0, true, &e), 0);
	CHECK_INT(policy_add_grant(p, GRANT_RW, "/tmp", "/out", 0, false, &e), 0);
	CHECK_INT(policy_add_grant(p, GRANT_TMPFS, NULL, "/t t", 3000, false, &e), 0);
	CHECK_INT(policy_add_exec(p, "/usr/bin/with space", &e), 0);
	CHECK_INT(policy_add_env(p, "Q=\"quoted\" \\back\\ #hash\nnewline\ttab\rcr", &e), 0);
	CHECK_INT(policy_add_env(p, "EMPTY=", &e), 0);
	CHECK_INT(policy_add_env(p, "EQ==a=b", &e), 0);
	CHECK_INT(policy_add_env(p, "U=\xc3\xa9t\xc3\xa9", &e), 0);
	CHECK_INT(policy_set_cwd(p, "/box path", &e), 0);
	CHECK_INT(policy_set_hide_cwd(p, true), 0);
	CHECK_INT(policy_set_hostname(p, "a.b-c", &e), 0);
	CHECK_INT(policy_set_net(p, "loopback", &e), 0);
	for (int i = 0; i < _LIMIT_MAX; i++)
		CHECK_INT(policy_set_limit(p, i, limit_info[i].type == LIMIT_TYPE_COUNT ? 9 : 1025 * 1024, &e), 0);

	/* The longest variable execve takes, every byte needing an escape:
	 * its line is still within the parser's cap. */
	size_t big = 128 * 1024 - 1;
	char *s = malloc(big + 1);
	if (s) {
		memset(s, '"', big);
		memcpy(s, "BIG=", 4);
		s[big] = 0;
		CHECK_INT(policy_add_env(p, s, &e), 0);
		free(s);
	}

	char *text = format(p);
	CHECK_INT(policy_new(&q), 0);
	int r = policy_parse(q, "formatted", text, strlen(text), &e);
	if (r < 0)
		printf("# %s\n# text:\n%s", e.msg, text);
	CHECK_INT(r, 0);
	check_same(p, q);
	char *again = format(q);
	CHECK_STR(again, text);
	free(again);
	free(text);
	policy_free(q);
	policy_free(p);
}

/* The broker's directives: audit, file, text; their errors, the
 * replacement of a box path given twice, and the round trip. */
static void test_broker_directives(void)
{
	struct policy *p = parse_ok("audit on\nfile /etc/motd /etc/hostname\n"
				    "text /data/c.json \"{\\\"a\\\":1}\\nx\"\ntext /t \"\"\n");
	if (p) {
		CHECK_INT(p->audit, true);
		CHECK_INT(p->n_files, 3);
		CHECK_STR(p->files[0].box, "/etc/motd");
		CHECK_STR(p->files[0].host, "/etc/hostname");
		CHECK(p->files[0].text == NULL);
		CHECK_STR(p->files[1].box, "/data/c.json");
		CHECK_STR(p->files[1].text, "{\"a\":1}\nx");
		CHECK_INT(p->files[1].len, 9);
		CHECK_STR(p->files[2].text, "");
		char *text = format(p);
		CHECK_STR(text, "audit on\nfile /etc/motd /etc/hostname\n"
				"text /data/c.json \"{\\\"a\\\":1}\\nx\"\ntext /t \"\"\n");
		struct policy *q = NULL;
		struct err e = {{0}};
		CHECK_INT(policy_new(&q), 0);
		CHECK_INT(policy_parse(q, "formatted", text, strlen(text), &e), 0);
		check_same(p, q);
		policy_free(q);
		free(text);
	}
	policy_free(p);

	/* The same box path again replaces the earlier content; audit off. */
	p = parse_ok("text /a one\nfile /a /etc/hostname\naudit on\naudit off\n");
	if (p) {
		CHECK_INT(p->n_files, 1);
		CHECK_STR(p->files[0].host, "/etc/hostname");
		CHECK_INT(p->audit, false);
	}
	policy_free(p);
	p = parse_ok("text /a/../b x\n");
	if (p)
		CHECK_STR(p->files[0].box, "/b");
	policy_free(p);

	parse_err("audit maybe\n", NAME ":1: audit: invalid value 'maybe' (expected on or off)");
	parse_err("audit\n", NAME ":1: audit: missing argument (expected 'audit on|off')");
	parse_err("file /etc/motd\n", NAME ":1: file: missing argument (expected 'file BOX HOST')");
	parse_err("file etc/motd /etc/hostname\n", NAME ":1: file: path 'etc/motd' must be absolute");
	parse_err("file /x /nonexistent-ward-file\n",
		  NAME ":1: file: host file '/nonexistent-ward-file': no such file or directory");
	parse_err("file /x /etc\n", NAME ":1: file: host file '/etc' is not a regular file");
	parse_err("file / /etc/hostname\n", NAME ":1: file: a virtual file cannot be '/'");
	parse_err("text /x\n", NAME ":1: text: missing argument (expected 'text BOX \"CONTENT\"')");
	parse_err("text /x a b\n", NAME ":1: text: unexpected argument 'b' (expected 'text BOX \"CONTENT\"')");

	/* The caps: 64 KiB of text, 256 files. */
	struct err e = {{0}};
	CHECK_INT(policy_new(&p), 0);
	char *big = malloc(64 * 1024 + 2);
	if (big) {
		memset(big, 'x', 64 * 1024 + 1);
		big[64 * 1024 + 1] = 0;
		CHECK_INT(policy_add_file(p, "/big", NULL, big, &e), -EFBIG);
		CHECK_STR(e.msg, "text for '/big' too long (65537 bytes, at most 65536)");
		big[64 * 1024] = 0;
		CHECK_INT(policy_add_file(p, "/big", NULL, big, &e), 0);
		free(big);
	}
	for (int i = 1; i < 256; i++) {
		char box[32];
		snprintf(box, sizeof(box), "/f%d", i);
		CHECK_INT(policy_add_file(p, box, NULL, "x", &e), 0);
	}
	CHECK_INT(policy_add_file(p, "/one-more", NULL, "x", &e), -E2BIG);
	CHECK_STR(e.msg, "too many virtual files (at most 256)");
	CHECK_INT(policy_add_file(p, "/x", NULL, NULL, &e), -EINVAL);
	CHECK_INT(policy_add_file(p, "/x", "/etc/hostname", "t", &e), -EINVAL);
	policy_free(p);
}

/* `ask BOX-PREFIX`: normalised, deduplicated, refused under /proc, capped,
 * and written back by the formatter. */
static void test_ask_directive(void)
{
	struct policy *p = parse_ok("ask /data\nask /out/./x/\nask /data\nask \"/with space\"\nask /\n");
	if (p) {
		CHECK_INT(p->ask.n, 4);
		CHECK_STR(p->ask.v[0], "/data");
		CHECK_STR(p->ask.v[1], "/out/x");
		CHECK_STR(p->ask.v[2], "/with space");
		CHECK_STR(p->ask.v[3], "/");
		char *text = format(p);
		CHECK_STR(text, "ask /data\nask /out/x\nask \"/with space\"\nask /\n");
		struct policy *q = NULL;
		struct err e = {{0}};
		CHECK_INT(policy_new(&q), 0);
		CHECK_INT(policy_parse(q, "formatted", text, strlen(text), &e), 0);
		check_same(p, q);
		policy_free(q);
		free(text);
	}
	policy_free(p);

	parse_err("ask\n", NAME ":1: ask: missing argument (expected 'ask BOX-PREFIX')");
	parse_err("ask /a /b\n", NAME ":1: ask: unexpected argument '/b' (expected 'ask BOX-PREFIX')");
	parse_err("ask data\n", NAME ":1: ask: path 'data' must be absolute");
	parse_err("ask /../x\n", NAME ":1: ask: path '/../x' climbs above '/' with '..'");
	parse_err("ask /proc/self\n",
		  NAME ":1: ask: cannot ask for '/proc/self' (the box's /proc is not brokered)");

	struct err e = {{0}};
	CHECK_INT(policy_new(&p), 0);
	for (int i = 0; i < 256; i++) {
		char box[32];
		snprintf(box, sizeof(box), "/a%d", i);
		CHECK_INT(policy_add_ask(p, box, &e), 0);
	}
	CHECK_INT(policy_add_ask(p, "/one-more", &e), -E2BIG);
	CHECK_STR(e.msg, "too many ask rules (at most 256)");
	CHECK_INT(policy_add_ask(p, "/a3", &e), 0); /* a duplicate takes no room */
	policy_free(p);
}

/* A scratch directory for policy files, removed at the end. */
static char scratch[] = "/tmp/ward-unit-XXXXXX";

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	if (!f) {
		printf("# cannot write %s\n", path);
		check_failed++;
		return;
	}
	fputs(text, f);
	fclose(f);
}

static void test_load_file(void)
{
	if (!mkdtemp(scratch)) {
		printf("# mkdtemp failed\n");
		check_failed++;
		return;
	}
	char sub[PATH_MAX], data[PATH_MAX], out[PATH_MAX], file[PATH_MAX], want[PATH_MAX + 64];
	snprintf(sub, sizeof(sub), "%s/sub", scratch);
	snprintf(data, sizeof(data), "%s/sub/data", scratch);
	snprintf(out, sizeof(out), "%s/out", scratch);
	snprintf(file, sizeof(file), "%s/sub/p.policy", scratch);
	CHECK_INT(mkdir(sub, 0755), 0);
	CHECK_INT(mkdir(data, 0755), 0);
	CHECK_INT(mkdir(out, 0755), 0);

	/* Relative host paths are relative to the file's directory,
	 * wherever ward runs from. */
	write_text(file, "# a policy file\nro data\nrw ../out /out\nro ./missing /m optional\n");
	CHECK_INT(chdir("/"), 0);
	struct policy *p = NULL;
	struct err e = {{0}};
	CHECK_INT(policy_new(&p), 0);
	int r = policy_load_file(p, file, &e);
	if (r < 0)
		printf("# %s\n", e.msg);
	CHECK_INT(r, 0);
	CHECK_INT(p->n_grants, 3);
	const struct grant *g = find_grant(p, data);
	CHECK(g && g->kind == GRANT_RO && !strcmp(g->host, data));
	g = find_grant(p, "/out");
	CHECK(g && g->kind == GRANT_RW && g->host && !strcmp(g->host, out));
	snprintf(want, sizeof(want), "%s/missing", sub);
	g = find_grant(p, "/m");
	CHECK(g && g->optional && g->host && !strcmp(g->host, want));
	policy_free(p);

	/* The same file named relative to the current directory. */
	CHECK_INT(chdir(scratch), 0);
	CHECK_INT(policy_new(&p), 0);
	CHECK_INT(policy_load_file(p, "sub/p.policy", &e), 0);
	CHECK(find_grant(p, data) != NULL);
	policy_free(p);
	CHECK_INT(chdir(sub), 0);
	CHECK_INT(policy_new(&p), 0);
	CHECK_INT(policy_load_file(p, "p.policy", &e), 0);
	CHECK(find_grant(p, data) != NULL);
	policy_free(p);
	CHECK_INT(chdir("/"), 0);

	/* Messages name the file as it was given. */
	write_text(file, "memory 1G\n\nro nothere\n");
	CHECK_INT(policy_new(&p), 0);
	CHECK_INT(policy_load_file(p, file, &e), -ENOENT);
	snprintf(want, sizeof(want),
		 "%s:3: ro: host path '%s/nothere' does not exist (mark the grant 'optional' to skip it when missing)",
		 file, sub);
	CHECK_STR(e.msg, want);
	policy_free(p);

	/* Unreadable: missing, a directory, too large. */
	CHECK_INT(policy_new(&p), 0);
	CHECK_INT(policy_load_file(p, "/nonexistent-ward-unit/x.policy", &e), -ENOENT);
	CHECK_STR(e.msg, "cannot read policy file '/nonexistent-ward-unit/x.policy': no such file or directory");
	CHECK_INT(policy_load_file(p, sub, &e), -EISDIR);
	snprintf(want, sizeof(want), "cannot read policy file '%s': is a directory", sub);
	CHECK_STR(e.msg, want);
	FILE *f = fopen(file, "we");
	if (f) {
		for (int i = 0; i < 1024 * 1024 + 1; i++)
			fputc('\n', f);
		fclose(f);
	}
	CHECK_INT(policy_load_file(p, file, &e), -EFBIG);
	snprintf(want, sizeof(want), "%s: file too large (at most 1048576 bytes)", file);
	CHECK_STR(e.msg, want);
	CHECK_INT(policy_load_file(p, NULL, &e), -EINVAL);
	CHECK_INT(policy_load_file(NULL, file, &e), -EINVAL);
	policy_free(p);

	/* Text that is not a file has no directory: a relative host path
	 * is refused. */
	parse_err("ro data", NAME ":1: ro: path 'data' must be absolute");

	unlink(file);
	rmdir(data);
	rmdir(sub);
	rmdir(out);
	rmdir(scratch);
}

int main(void)
{
	static const struct test tests[] = {
		TEST(test_new_policy_grants_nothing),
		TEST(test_empty_blank_and_comments),
		TEST(test_every_directive),
		TEST(test_grant_forms),
		TEST(test_quoting),
		TEST(test_error_messages),
		TEST(test_caps),
		TEST(test_stops_at_first_error),
		TEST(test_limits),
		TEST(test_duplicates),
		TEST(test_env_passthrough),
		TEST(test_setters),
		TEST(test_setter_caps),
		TEST(test_format),
		TEST(test_format_round_trip),
		TEST(test_load_file),
		TEST(test_broker_directives),
		TEST(test_ask_directive),
	};
	return run_tests(tests, ELEMENTSOF(tests));
}
