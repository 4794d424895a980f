/* attack-broker — attacks on ward's broker (seccomp user notification),
 * run with --audit or a virtual file so that the controller resolves the
 * box's paths itself.
 *
 * usage:
 *   attack-broker race GOOD BAD SECONDS
 *       a thread rewrites one path buffer between GOOD (granted) and BAD
 *       (the canary, outside every grant) while the main thread opens and
 *       stats it: whatever an open yields is dumped (the driver looks for
 *       the secret). TOCTOU against the broker's single read.
 *   attack-broker paths RWDIR CANARY
 *       plants symlinks to the canary in RWDIR (absolute, relative, via
 *       /proc/self/root, /proc/1/root, /proc/self/fd/N, /proc/self/cwd,
 *       '..' chains) and opens, stats and readlinks them, absolutely and
 *       relative to dirfds: every open must fail.
 *       Also the box's init through /proc, which the controller may reach
 *       with its own privileges (as root it keeps CAP_SYS_PTRACE): read
 *       /proc/1/environ (ward's environment) directly, through a symlink
 *       and by reopening an O_PATH fd; readlink /proc/1/exe, cwd, root
 *       (printed as "LINK: ..."; the driver looks for host paths).
 *   attack-broker garbage
 *       bad pointers, unterminated paths, bad dirfds and buffers: each call
 *       must fail with an errno, and the broker must still answer after.
 *   attack-broker mounts RWDIR NAME...
 *       NAMEs are read-only grants nested in the read-write RWDIR (a
 *       directory, a file): rename, unlink, rmdir them and rename onto
 *       them, which the broker does from another mount namespace where
 *       the kernel's "mount point busy" check does not apply; then write
 *       into them. Every call must fail.
 *   attack-broker die THREADS
 *       threads opening files in a loop while the process exits under
 *       them: notifications whose caller died mid-request.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>

#include "attack.h"

static char race_buf[4096];
static const char *race_good, *race_bad;
static volatile int race_stop;

static void *flipper(void *arg)
{
	(void)arg;
	size_t lg = strlen(race_good) + 1, lb = strlen(race_bad) + 1;
	while (!race_stop) {
		memcpy(race_buf, race_bad, lb);
		memcpy(race_buf, race_good, lg);
	}
	return NULL;
}

static int race(const char *good, const char *bad, int seconds)
{
	char good_content[256] = "";
	int fd = open(good, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		show("open(GOOD)", fd);
		return 2;
	}
	ssize_t n = read(fd, good_content, sizeof(good_content) - 1);
	close(fd);
	good_content[n > 0 ? n : 0] = 0;

	race_good = good;
	race_bad = bad;
	memcpy(race_buf, good, strlen(good) + 1);
	pthread_t t;
	pthread_create(&t, NULL, flipper, NULL);
	time_t end = time(NULL) + seconds;
	unsigned long opens = 0, good_opens = 0, odd = 0;
	while (time(NULL) < end) {
		fd = open(race_buf, O_RDONLY | O_CLOEXEC);
		opens++;
		if (fd >= 0) {
			char buf[256];
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = 0;
			if (strcmp(buf, good_content) != 0) {
				/* Not the granted file: the driver judges the content. */
				if (odd < 5)
					printf("race: read something else: %s\n", buf);
				odd++;
				escaped_count++;
			} else {
				good_opens++;
			}
		}
		struct stat st;
		(void)stat(race_buf, &st);
	}
	race_stop = 1;
	pthread_join(t, NULL);
	say("race: %lu opens, %lu of the granted file, %lu of something else", opens, good_opens, odd);
	return attack_exit();
}

static void plant(const char *dir, const char *name, const char *target)
{
	char p[4096], what[8300];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
	snprintf(what, sizeof(what), "symlink(%s -> %s)", p, target);
	show(what, symlink(target, p));
}

static void must_not_open(int dirfd, const char *path)
{
	char what[4300];
	snprintf(what, sizeof(what), "openat(%d, %s)", dirfd, path);
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	deny(what, fd);
	if (fd >= 0) {
		dump_fd(path, fd);
		close(fd);
	}
	char buf[512];
	ssize_t k = readlinkat(dirfd, path, buf, sizeof(buf) - 1);
	if (k > 0) {
		buf[k] = 0;
		printf("  readlinkat(%s) -> %s\n", path, buf);
	}
}

static int paths(const char *rw, const char *canary)
{
	char t[4096];
	plant(rw, "abs", canary);
	snprintf(t, sizeof(t), "/proc/self/root%s", canary);
	plant(rw, "viaself", t);
	snprintf(t, sizeof(t), "/proc/1/root%s", canary);
	plant(rw, "viainit", t);
	snprintf(t, sizeof(t), "../../../../../../../..%s", canary);
	plant(rw, "dotdot", t);
	plant(rw, "root", "/");
	plant(rw, "loop1", "loop2");
	plant(rw, "loop2", "loop1");

	int rwfd = open(rw, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *rel = canary[0] == '/' ? canary + 1 : canary;
	char p[4096];

	must_not_open(AT_FDCWD, canary);
	const char *names[] = {"abs", "viaself", "viainit", "dotdot", "loop1"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", rw, names[i]);
		must_not_open(AT_FDCWD, p);
		must_not_open(rwfd, names[i]);
	}
	snprintf(p, sizeof(p), "root/%s", rel);
	must_not_open(rwfd, p);
	snprintf(p, sizeof(p), "../../../../../../%s", rel);
	must_not_open(rwfd, p);
	must_not_open(rootfd, rel);
	snprintf(p, sizeof(p), "/proc/self/root%s", canary);
	must_not_open(AT_FDCWD, p);
	snprintf(p, sizeof(p), "/proc/1/root%s", canary);
	must_not_open(AT_FDCWD, p);
	snprintf(p, sizeof(p), "/proc/self/cwd/../../../../..%s", canary);
	must_not_open(AT_FDCWD, p);
	snprintf(p, sizeof(p), "/proc/self/fd/%d/../../../../../..%s", rwfd, canary);
	must_not_open(AT_FDCWD, p);
	snprintf(p, sizeof(p), "/dev/fd/%d/abs", rwfd);
	must_not_open(AT_FDCWD, p);
	snprintf(p, sizeof(p), "/proc/thread-self/root%s", canary);
	must_not_open(AT_FDCWD, p);
	if (chdir(rw) == 0) {
		must_not_open(AT_FDCWD, "abs");
		must_not_open(AT_FDCWD, "dotdot");
		snprintf(p, sizeof(p), "../../../../../..%s", canary);
		must_not_open(AT_FDCWD, p);
	}
	struct stat st;
	snprintf(p, sizeof(p), "%s/abs", rw);
	say("stat(%s) -> %s", p, stat(p, &st) == 0 ? "ok" : errno_name(errno));

	/* init's environment and links, as the controller would see them. */
	plant(rw, "environ", "/proc/1/environ");
	plant(rw, "exe", "/proc/1/exe");
	snprintf(p, sizeof(p), "%s/environ", rw);
	const char *envs[] = {"/proc/1/environ", p, "/proc/1/task/1/environ"};
	for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++)
		try_read(envs[i]);
	int op = open("/proc/1/environ", O_PATH | O_CLOEXEC);
	if (op >= 0) {
		char re[64];
		snprintf(re, sizeof(re), "/proc/self/fd/%d", op);
		try_read(re);
		snprintf(re, sizeof(re), "/dev/fd/%d", op);
		try_read(re);
	}
	snprintf(p, sizeof(p), "%s/exe", rw);
	const char *links[] = {"/proc/1/exe", "/proc/1/cwd", "/proc/1/root", p};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		char buf[4096];
		ssize_t k = readlink(links[i], buf, sizeof(buf) - 1);
		if (k >= 0) {
			buf[k] = 0;
			say("LINK: %s -> %s", links[i], buf);
		} else {
			say("readlink(%s) -> %s", links[i], errno_name(errno));
		}
	}
	return attack_exit();
}

static int garbage(void)
{
	/* A path that runs into an unmapped page without a NUL. */
	long pg = sysconf(_SC_PAGESIZE);
	char *two = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(two + pg, (size_t)pg);
	memset(two, 'a', (size_t)pg);
	int bad = 0;
#define MUST_FAIL(what, expr)                                                                      \
	do {                                                                                       \
		long _r = (long)(expr);                                                            \
		show(what, _r);                                                                    \
		if (_r >= 0)                                                                       \
			bad++;                                                                     \
	} while (0)
	MUST_FAIL("open(NULL)", syscall(SYS_open, NULL, O_RDONLY));
	MUST_FAIL("open((char *)1)", syscall(SYS_open, (char *)1, O_RDONLY));
	MUST_FAIL("open(kernel address)", syscall(SYS_open, (char *)0xffffffffff600000ul, O_RDONLY));
	MUST_FAIL("open(unterminated at an unmapped page)", open(two, O_RDONLY));
	MUST_FAIL("openat(999, relative)", openat(999, "x", O_RDONLY));
	MUST_FAIL("openat(pipe fd, relative)", ({
			  int pp[2];
			  pipe(pp);
			  openat(pp[0], "x", O_RDONLY);
		  }));
	MUST_FAIL("stat(path, (void *)1)", syscall(SYS_stat, "/etc/hostname", (void *)1));
	MUST_FAIL("newfstatat(0, \"\", NULL, AT_EMPTY_PATH)",
		  syscall(SYS_newfstatat, 0, "", NULL, AT_EMPTY_PATH));
	MUST_FAIL("readlink(/proc/self/exe, (void *)1)", syscall(SYS_readlink, "/proc/self/exe", (void *)1, 100));
	MUST_FAIL("readlink(bufsiz -1)", syscall(SYS_readlink, "/proc/self/exe", two, -1));
	MUST_FAIL("access(mode 0x80)", syscall(SYS_access, "/etc/hostname", 0x80));
	/* The broker still answers. */
	int fd = open("/etc/hostname", O_RDONLY);
	show("open(/etc/hostname) after the garbage", fd);
	struct stat st;
	show("fstat after the garbage", fstat(fd, &st));
	say("garbage: %d calls that should have failed succeeded", bad);
	return bad || fd < 0 ? 1 : 0;
}

static int mounts(const char *rw, char **names, int n)
{
	char p[4096], q[4096], what[8300], decoy[4096];
	snprintf(decoy, sizeof(decoy), "%s/decoy", rw);
	int fd = open(decoy, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (fd >= 0)
		close(fd);
	mkdir(decoy, 0777); /* decoy is a file; decoy.d a directory */
	snprintf(q, sizeof(q), "%s/decoy.d", rw);
	mkdir(q, 0777);
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/%s", rw, names[i]);
		snprintf(q, sizeof(q), "%s/%s.moved", rw, names[i]);
		snprintf(what, sizeof(what), "rename(%s, %s)", p, q);
		deny(what, rename(p, q));
		snprintf(what, sizeof(what), "unlink(%s)", p);
		deny(what, unlink(p));
		snprintf(what, sizeof(what), "rmdir(%s)", p);
		deny(what, rmdir(p));
		snprintf(what, sizeof(what), "rename(decoy, %s)", p);
		deny(what, rename(decoy, p));
		snprintf(q, sizeof(q), "%s/decoy.d", rw);
		snprintf(what, sizeof(what), "rename(decoy.d, %s)", p);
		deny(what, rename(q, p));
		snprintf(what, sizeof(what), "renameat2(%s, decoy, RENAME_EXCHANGE)", p);
		deny(what, syscall(SYS_renameat2, AT_FDCWD, p, AT_FDCWD, decoy, 2 /* RENAME_EXCHANGE */));
		struct stat st;
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			snprintf(q, sizeof(q), "%s/MARK", p);
		else
			snprintf(q, sizeof(q), "%s", p);
		snprintf(what, sizeof(what), "open(%s, O_WRONLY|O_CREAT)", q);
		fd = open(q, O_WRONLY | O_CREAT, 0666);
		deny(what, fd);
		if (fd >= 0) {
			(void)!write(fd, "ESCAPED\n", 8);
			close(fd);
		}
	}
	return attack_exit();
}

static void *opener(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		struct stat st;
		stat("/nonexistent", &st);
	}
	return NULL;
}

static int die(int threads)
{
	pthread_t t;
	for (int i = 0; i < threads; i++)
		pthread_create(&t, NULL, opener, NULL);
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	say("die: exiting under %d threads in the broker", threads);
	_exit(0);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && !strcmp(argv[1], "race"))
		return race(argv[2], argv[3], atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "paths"))
		return paths(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "garbage"))
		return garbage();
	if (argc >= 4 && !strcmp(argv[1], "mounts"))
		return mounts(argv[2], argv + 3, argc - 3);
	if (argc == 3 && !strcmp(argv[1], "die"))
		return die(atoi(argv[2]));
	fprintf(stderr, "usage: attack-broker race GOOD BAD SECONDS | paths RWDIR CANARY | garbage | mounts RWDIR NAME... | die N\n");
	return 2;
}
