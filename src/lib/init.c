/* init.c — the box's side of the launch: pid 1 (box_init) builds the box
 * and reaps, the program's process (box_exec) confines itself and execs. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "broker.h"
#include "fdpass.h"
#include "launch.h"
#include "request.h"

/* ---- inside the box ------------------------------------------------ */

static _noreturn_ _no_asan_ void child_fail(int fd, int code, const struct err *e)
{
	struct child_error ce = {.code = code};
	snprintf(ce.msg, sizeof(ce.msg), "%s", e->msg);
	(void)write_all(fd, &ce, sizeof(ce));
	_exit(code);
}

/* The interpreter a script names on its #! line (script_interp), read
 * into buf; NULL when prog is not a script. */
static const char *script_interpreter(const char *prog, char *buf, size_t len)
{
	int fd = open(prog, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	return n > 0 ? script_interp(buf, (size_t)n) : NULL;
}

/* PATH search inside the box (execvpe would use the controller's PATH). */
static int find_program(char *const *envp, const char *prog, char *out,
			size_t len, struct err *e)
{
	if (strchr(prog, '/')) {
		struct stat st;
		snprintf(out, len, "%s", prog);
		if (stat(out, &st) < 0)
			return err_set(e, ENOENT, "program '%s' not found in the box", prog);
		if (S_ISDIR(st.st_mode))
			return err_set(e, EACCES, "cannot execute '%s': is a directory", prog);
		return 0;
	}
	const char *path = "/usr/bin:/bin";
	for (size_t i = 0; envp[i]; i++)
		if (!strncmp(envp[i], "PATH=", 5))
			path = envp[i] + 5;
	bool saw_noexec = false;
	for (const char *d = path; *d;) {
		const char *end = strchrnul(d, ':');
		int n = snprintf(out, len, "%.*s/%s", (int)(end - d), d, prog);
		if (n > 0 && (size_t)n < len && end > d) {
			if (access(out, X_OK) == 0) {
				struct stat st;
				if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
					return 0;
			} else if (errno == EACCES) {
				saw_noexec = true;
			}
		}
		d = *end ? end + 1 : end;
	}
	if (saw_noexec)
		return err_set(e, EACCES, "program '%s' is not executable in the box", prog);
	return err_set(e, ENOENT, "program '%s' not found in the box (PATH=%s)", prog, path);
}

/* A new session: no controlling terminal to inject keystrokes into with
 * TIOCSTI (CVE-2017-5226). */
static _no_asan_ int new_session(struct err *e)
{
	return setsid() < 0 ? err_errno(e, errno, "setsid") : 0;
}

static _no_asan_ int set_up_stdio(const struct plumbing *io, struct err *e)
{
	int in = io->stdin_direct >= 0 ? io->stdin_direct : io->in[0];
	if (dup2(in, 0) < 0 || dup2(io->out[1], 1) < 0 || dup2(io->err[1], 2) < 0)
		return err_errno(e, errno, "cannot set up stdio");
	return 0;
}

/* Keeps only 0, 1, 2, the error pipe (close-on-exec) at 3, the
 * host-function channel at CHANNEL_BOX_FD (4), the broker's socket at
 * BROKER_BOX_FD (5; sent and closed before execve) and a warm box's request
 * socket at REQUEST_BOX_FD (6; closed once the request is in). Each first
 * goes above those numbers, so that moving one cannot close another; a
 * number without its fd is closed. *efd follows the error pipe as soon as
 * it moves, so that a later failure still reaches the controller. */
static _no_asan_ int arrange_fds(const struct plumbing *io, int *efd, struct err *e)
{
	const struct {
		int fd, at;
		bool cloexec;
	} keep[] = {{io->chan[1], CHANNEL_BOX_FD, false},
		    {io->broker_fd, BROKER_BOX_FD, true},
		    {io->req[1], REQUEST_BOX_FD, true}};
	int high[ELEMENTSOF(keep)];
	for (size_t i = 0; i < ELEMENTSOF(keep); i++)
		if ((high[i] = keep[i].fd) >= 0 &&
		    (high[i] = fcntl(keep[i].fd, F_DUPFD_CLOEXEC, REQUEST_BOX_FD + 1)) < 0)
			return err_errno(e, errno, "cannot move the box's sockets");
	if (*efd != 3) {
		if (dup3(*efd, 3, O_CLOEXEC) < 0)
			return err_errno(e, errno, "cannot move the error pipe");
		*efd = 3;
	}
	for (size_t i = 0; i < ELEMENTSOF(keep); i++) {
		if (high[i] < 0)
			close(keep[i].at); /* nothing may stay at its number */
		else if (dup3(high[i], keep[i].at, keep[i].cloexec ? O_CLOEXEC : 0) < 0)
			return err_errno(e, errno, "cannot move the box's sockets");
	}
#ifdef WARD_FAULT_HOOKS
	/* Test builds only (tests/unit/test-faults): an inheritable copy of
	 * the error pipe, as a missing O_CLOEXEC would leave one; the
	 * close_range below must keep it from the program. */
	(void)fcntl(*efd, F_DUPFD, 42);
#endif
	if (syscall(SYS_close_range, REQUEST_BOX_FD + 1, ~0U, 0) < 0)
		return err_errno(e, errno, "cannot close inherited file descriptors");
	return 0;
}

/* With an exec list (--exec): the list, and what is part of "the
 * program" and may always be executed: the program itself, its ELF
 * interpreter and a script's #! line. NULL-terminated in out (room for
 * 260), or NULL without a list. */
static _no_asan_ char **list_exec_paths(const struct plan *pl, char *prog, char **out)
{
	static char interp[512];
	size_t n = 0;
	if (!pl->exec.n)
		return NULL;
	for (size_t i = 0; i < pl->exec.n && n < 250; i++)
		out[n++] = pl->exec.v[i];
	out[n++] = prog;
	out[n++] = (char *)BOX_ELF_INTERP;
	int fd = open(prog, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t len = read(fd, interp, sizeof(interp) - 1);
		close(fd);
		char *s = len > 0 ? script_interp(interp, (size_t)len) : NULL;
		if (s)
			out[n++] = s;
	}
	out[n] = NULL;
	return out;
}

static _no_asan_ int set_no_new_privs(struct err *e)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_errno(e, errno, "cannot set no_new_privs");
	return 0;
}

/* Default signal dispositions and an empty mask: ignored signals would
 * otherwise survive execve. */
static _no_asan_ int reset_signals(struct err *e)
{
	if (signals_default() < 0)
		return err_errno(e, errno, "cannot unblock signals");
	return 0;
}

/* Last: from here on only the allowlist's syscalls work. memfds need the
 * memory guard with an exec allowlist too: Landlock does not govern them,
 * so an execveat() of a memfd would slip past it. */
static _no_asan_ int apply_seccomp(const struct plan *pl, struct err *e)
{
	bool memory_by_count = pl->lim.v[LIMIT_MEMORY] && !pl->lim.memory_by_cgroup;
	int r = seccomp_apply(e);
	if (r >= 0 && (memory_by_count || pl->exec.n))
		r = seccomp_apply_memory_guard(memory_by_count, e);
	return r;
}

/* The broker answers from here on, starting with our execve. An
 * unprivileged controller may read this process's memory only while its
 * mm (shared with init until execve) is dumpable; init, with capabilities
 * this process lacks, stays out of its reach, and makes itself
 * non-dumpable again when we have exec'd. */
static _no_asan_ int hand_over_to_broker(const struct plan *pl, const struct plumbing *io,
					 struct err *e)
{
	if (io->broker_fd < 0)
		return 0;
	if (!pl->root && prctl(PR_SET_DUMPABLE, 1) < 0)
		return err_errno(e, errno, "cannot make the program's process dumpable for the broker");
	return broker_install(BROKER_BOX_FD, e);
}

/* execve failed with er: says why, as not-found or not-executable. */
static _noreturn_ _no_asan_ void exec_failed(int efd, const char *prog, int er)
{
	struct err e = {{0}};
	/* The program exists (find_program saw it): ENOENT is about its
	 * #! interpreter. */
	static char interp_buf[512];
	const char *interp = er == ENOENT ? script_interpreter(prog, interp_buf, sizeof(interp_buf)) : NULL;
	if (interp)
		child_fail(efd, EXIT_NOT_FOUND,
			   (err_set(&e, er, "cannot execute '%s': its interpreter '%s' (the #! line) "
					    "was not found in the box", prog, interp), &e));
	if (er == ENOENT)
		child_fail(efd, EXIT_NOT_FOUND,
			   (err_errno(&e, er, "cannot execute '%s'", prog), &e));
	child_fail(efd, EXIT_NOT_EXECUTABLE,
		   (err_errno(&e, er, "cannot execute '%s'", prog), &e));
}

/* ---- a warm box's request (request.h) ---- */

/* Anonymous memory for the program's process, which shares init's memory
 * until execve and so must not allocate (box.h). */
static _no_asan_ void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* The request's decoded arrays and its merged environment, mapped before
 * the rlimits are set (map_request_scratch): the process may be a copy of
 * a controller whose private memory is already over RLIMIT_DATA, which
 * would refuse any new mapping after. */
static void *request_scratch;
static size_t request_env_slots;

static _no_asan_ int map_request_scratch(const struct plan *pl, struct err *e)
{
	request_env_slots = pl->env.n + REQUEST_MAX_ENV + 1;
	request_scratch = map_anon(REQUEST_ARENA_BYTES + request_env_slots * sizeof(char *));
	return request_scratch ? 0 : err_errno(e, ENOMEM, "cannot map room for the request");
}

/* Tells the controller the box is ready, then waits for the request: a
 * memfd on REQUEST_BOX_FD, mapped and decoded. The controller closing the
 * socket instead (a pool being freed) ends the box quietly. */
static _no_asan_ int await_request(struct box_request *req, struct err *e)
{
	if (write(REQUEST_BOX_FD, "r", 1) != 1)
		return err_errno(e, errno, "cannot tell the controller that the box is ready");
	char byte;
	int fd = fdpass_recv_one(REQUEST_BOX_FD, 0, &byte, 1);
	if (fd < 0 && fd != -EPROTO)
		_exit(EXIT_SETUP);
	close(REQUEST_BOX_FD);
	if (fd < 0)
		return err_set(e, EPROTO, "the request came without its data");
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || (uint64_t)st.st_size > REQUEST_MAX_BYTES) {
		close(fd);
		return err_set(e, EPROTO, "the request's data is unusable");
	}
	/* Shared, read-only: no private writable memory, which RLIMIT_DATA
	 * (set by now) counts; the process may be a copy of a big controller
	 * already over it. */
	void *buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (buf == MAP_FAILED || !request_scratch)
		return err_errno(e, ENOMEM, "cannot map the request");
	return request_decode(buf, (size_t)st.st_size, request_scratch, REQUEST_ARENA_BYTES, req, e);
}

/* Opens (creating it when missing) the directory at name under dir, never
 * through a symbolic link; closes dir. */
static _no_asan_ int enter_dir(int dir, const char *name)
{
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && mkdirat(dir, name, 0755) == 0)
		fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int er = errno;
	close(dir);
	errno = er;
	return fd;
}

/* Writes one request file: its directories made as needed, the file new
 * (never an existing one, never through a link), and only on the box's own
 * tmpfs, never into a host directory (a read-write grant is an overlay).
 * The process has no capabilities any more: ordinary permissions decide. */
static _no_asan_ int place_file(const struct request_file *f, struct err *e)
{
	char comp[REQUEST_MAX_NAME + 1];
	int dir = open(f->path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *c = f->path;
	for (;;) {
		while (*c == '/')
			c++;
		const char *end = strchrnul(c, '/');
		snprintf(comp, sizeof(comp), "%.*s", (int)(end - c), c);
		if (!*end)
			break;
		if (dir < 0 || (dir = enter_dir(dir, comp)) < 0)
			return err_errno(e, errno, "cannot make the directory of request file '%s'",
					 f->path);
		c = end;
	}
	struct statfs sfs;
	if (dir < 0 || fstatfs(dir, &sfs) < 0)
		return err_errno(e, errno, "cannot open the directory of request file '%s'", f->path);
	if (sfs.f_type != TMPFS_MAGIC) {
		close(dir);
		return err_set(e, EROFS, "request file '%s' is not on one of the box's own tmpfs "
					 "mounts", f->path);
	}
	int fd = openat(dir, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			f->mode & 0777);
	close(dir);
	if (fd < 0)
		return err_errno(e, errno, "cannot create request file '%s'", f->path);
	int r = f->len && write_all(fd, f->data, f->len) < 0 ? -1 : fchmod(fd, f->mode & 0777);
	int er = errno;
	close(fd);
	if (r < 0)
		return err_errno(e, er ? er : EIO, "cannot write request file '%s'", f->path);
	return 0;
}

/* The policy's environment with the request's variables added (a name
 * the request sets replaces the policy's), NULL-terminated. */
static _no_asan_ char **merge_env(const struct strv *base, char *const *extra)
{
	size_t n_extra = 0;
	while (extra && extra[n_extra])
		n_extra++;
	if (!request_scratch || base->n + n_extra + 1 > request_env_slots)
		return NULL;
	char **env = (char **)((char *)request_scratch + REQUEST_ARENA_BYTES);
	size_t n = 0;
	for (size_t i = 0; i < base->n; i++) {
		size_t name = strchrnul(base->v[i], '=') - base->v[i];
		bool replaced = false;
		for (size_t j = 0; j < n_extra && !replaced; j++)
			replaced = !strncmp(extra[j], base->v[i], name + 1);
		if (!replaced)
			env[n++] = base->v[i];
	}
	for (size_t j = 0; j < n_extra; j++)
		env[n++] = extra[j];
	env[n] = NULL;
	return env;
}

/* What the program runs: the plan's, or a warm box's request. */
struct program {
	char *const *argv;
	char *const *envp;
	char *const *extra; /* a request's own variables (in envp too) */
};

/* A warm box's program process, confined but for Landlock and seccomp:
 * waits for the request, writes its files, and takes its arguments and
 * environment. */
static _no_asan_ int take_request_env(const struct strv *base, struct program *prog,
					struct err *e)
{
	struct box_request req;
	int r = await_request(&req, e);
	for (size_t i = 0; r >= 0 && i < req.n_files; i++)
		r = place_file(&req.files[i], e);
	if (r < 0)
		return r;
	char **env = merge_env(base, req.env);
	if (!env)
		return err_errno(e, ENOMEM, "cannot map the request's environment");
	static char *const none[] = {NULL};
	*prog = (struct program){.argv = req.argv, .envp = env, .extra = req.env ? req.env : none};
	return 0;
}

static _no_asan_ int take_request(const struct plan *pl, struct program *prog, struct err *e)
{
	return take_request_env(&pl->env, prog, e);
}

/* A zygote's box: the interpreter goes on without execve, which would have
 * made it dumpable again after init made itself (and so this copy of it)
 * non-dumpable: as dumpable as an executed program, so that its own
 * /proc/self files are its own. */
static _no_asan_ int be_dumpable(struct err *e)
{
	if (prctl(PR_SET_DUMPABLE, 1) < 0)
		return err_errno(e, errno, "cannot make the interpreter dumpable");
	return 0;
}

/* A zygote's box: whether the request is for the interpreter this process
 * already is (the same file as /proc/self/exe), with arguments the zygote
 * runs as the interpreter would (zygote.c: none or "-" for stdin, "-c
 * CODE", or a script's path first). Anything else is executed. */
static _no_asan_ bool runs_interpreter(const char *prog, char *const *argv)
{
	struct stat a, b;
	if (stat(prog, &a) < 0 || stat("/proc/self/exe", &b) < 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino)
		return false;
	const char *first = argv[1];
	return !first || !strcmp(first, "-") || (!strcmp(first, "-c") && argv[2]) ||
	       first[0] != '-';
}

/* The last of the confinement, one step per line: Landlock (with the exec
 * list, when there is one), dumpable again for an interpreter that goes on
 * without execve, default signals, seccomp, the broker. */
static _no_asan_ int confine(const struct plan *pl, const struct plumbing *io, char **exec_list,
			     bool dumpable, struct err *e)
{
	if (landlock_apply(&pl->mp, exec_list, pl->net, pl->landlock_abi, e) < 0 ||
	    (dumpable && be_dumpable(e) < 0) ||
	    reset_signals(e) < 0 ||
	    apply_seccomp(pl, e) < 0 ||
	    hand_over_to_broker(pl, io, e) < 0)
		return -1;
	return 0;
}

/* The program's process: confine, then execve, one step per line. Never
 * returns. Runs on the stack box_init mmaps for it, hence _no_asan_. */
static _noreturn_ _no_asan_ void box_exec(const struct plan *pl, const struct plumbing *io)
{
	struct err e = {{0}};
	int efd = io->errp[1];
	struct program run = {pl->argv, pl->env.v};
	char prog[4096];
	char *exec_paths[260];
	int r;
	/* A warm box whose Landlock rules do not depend on the program (no
	 * exec list) and whose file calls are not brokered is confined whole
	 * before its request: the request then runs through nothing but its
	 * own files, the lookup and execve (or the interpreter). */
	bool early = pl->deferred && !pl->exec.n && io->broker_fd < 0;

	if (new_session(&e) < 0 ||
	    set_up_stdio(io, &e) < 0 ||
	    arrange_fds(io, &efd, &e) < 0 ||
	    (pl->deferred && map_request_scratch(pl, &e) < 0) ||
	    limits_apply_rlimits(&pl->lim, &e) < 0 ||
	    set_no_new_privs(&e) < 0 ||
	    caps_drop_all(&e) < 0 ||
	    (early && confine(pl, io, NULL, pl->resume != NULL, &e) < 0))
		child_fail(efd, EXIT_SETUP, &e);
	/* A zygote's box confined whole: the interpreter goes on now, and
	 * takes its request itself (box_interpreter_request), so that what
	 * resuming costs it (its own set-up, the pages it touches) is paid
	 * before the request, not after. */
	if (early && pl->resume)
		pl->resume(pl, NULL, NULL);
	if (pl->deferred && take_request(pl, &run, &e) < 0)
		child_fail(efd, EXIT_SETUP, &e);
	if ((r = find_program(run.envp, run.argv[0], prog, sizeof(prog), &e)) < 0)
		child_fail(efd, r == -EACCES ? EXIT_NOT_EXECUTABLE : EXIT_NOT_FOUND, &e);
	bool resume = pl->resume && runs_interpreter(prog, run.argv);
	if (!early && confine(pl, io, list_exec_paths(pl, prog, exec_paths), resume, &e) < 0)
		child_fail(efd, EXIT_SETUP, &e);
	if (resume)
		pl->resume(pl, run.argv, run.envp);
	execve(prog, run.argv, run.envp);
	exec_failed(efd, prog, errno);
}

int box_interpreter_request(const struct strv *base_env, char *const **ret_argv,
			    char *const **ret_extra)
{
	struct err e = {{0}};
	struct program run;
	char prog[4096];
	int r;
	if (take_request_env(base_env, &run, &e) < 0)
		child_fail(3, EXIT_SETUP, &e);
	if ((r = find_program(run.envp, run.argv[0], prog, sizeof(prog), &e)) < 0)
		child_fail(3, r == -EACCES ? EXIT_NOT_EXECUTABLE : EXIT_NOT_FOUND, &e);
	if (!runs_interpreter(prog, run.argv)) {
		/* The interpreter set its own dispositions before the request
		 * (SIGPIPE and SIGXFSZ ignored): another program starts with
		 * the defaults, as in any box. */
		if (reset_signals(&e) < 0)
			child_fail(3, EXIT_SETUP, &e);
		execve(prog, run.argv, run.envp);
		exec_failed(3, prog, errno);
	}
	*ret_argv = run.argv;
	*ret_extra = run.extra;
	return 0;
}

/* What init hands the program's process (box_exec_entry's argument). */
struct box_side {
	const struct plan *pl;
	const struct plumbing *io;
};

static _no_asan_ int box_exec_entry(void *arg)
{
	const struct box_side *side = arg;
	box_exec(side->pl, side->io);
}

/* Calls fn for the name of every process in the box's /proc, with
 * getdents64 on a stack buffer: opendir() allocates, and init must not
 * (box.h: after clone3 from a multi-threaded application a malloc lock
 * may be held by a thread that does not exist in this process). */
static void for_each_box_pid(void (*fn)(const char *pid, void *arg), void *arg)
{
	int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	char buf[8192] __attribute__((aligned(8)));
	long n;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (long off = 0; off < n;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + off);
			if (d->name[0] >= '1' && d->name[0] <= '9')
				fn(d->name, arg);
			off += d->reclen;
		}
	close(fd);
}

/* How close to RLIMIT_DATA a process's VmData must come to be evidence
 * that an allocation was refused (memory-limit, evidence "rlimit"). A
 * runtime that grows in steps of 1 to 8 MiB fails within a step of the
 * rlimit (python, node, ruby, perl, lua: within 1 MiB; docs/limits.md);
 * further away is a program whose mappings are big but not growing (16
 * idle threads' 8 MiB stacks are 128 MiB of VmData) and that failed for
 * some other reason. A doubling string that fails far from the rlimit
 * loses the evidence, and its own exit stands. */
#define DATA_NEAR (16ULL << 20)

/* One look at the box's processes, as init sees them in the box's own
 * /proc (box_sample). */
struct sample {
	uint64_t memory;   /* RssAnon + RssShmem + VmPTE of every process */
	uint64_t tasks;	   /* threads of every process, init included */
	uint64_t max_data; /* the largest VmData of one process */
};

/* Adds what a /proc/PID/status file says to *sm. The file is read in
 * chunks, so a long Groups: line (an unprivileged caller keeps its
 * supplementary groups) cannot push the fields out of reach; a field
 * split across chunks is found through the carried-over tail. */
static void add_status(int fd, struct sample *sm)
{
	enum { MEM, TASKS, DATA };
	static const struct {
		const char *key;
		int what;
	} keys[] = {{"\nRssAnon:", MEM}, {"\nRssShmem:", MEM}, {"\nVmPTE:", MEM},
		    {"\nVmData:", DATA}, {"\nThreads:", TASKS}};
	char buf[4096 + 64];
	size_t keep = 0;
	bool seen[ELEMENTSOF(keys)] = {false};
	for (;;) {
		ssize_t n = read(fd, buf + keep, sizeof(buf) - 1 - keep);
		if (n <= 0)
			break;
		size_t len = keep + (size_t)n;
		buf[len] = 0;
		for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
			const char *p = seen[i] ? NULL : strstr(buf, keys[i].key);
			/* A match must end in a complete number ("...kB", or
			 * the line's end for Threads). */
			if (!p || !strchr(p + 1, '\n'))
				continue;
			uint64_t v = strtoull(p + strlen(keys[i].key), NULL, 10);
			if (keys[i].what == MEM)
				sm->memory += v * 1024;
			else if (keys[i].what == TASKS)
				sm->tasks += v;
			else if (v * 1024 > sm->max_data)
				sm->max_data = v * 1024;
			seen[i] = true;
		}
		keep = len < 48 ? len : 48;
		memmove(buf, buf + len - keep, keep);
	}
}

static void add_pid_status(const char *pid, void *arg)
{
	char path[64];
	if (!strcmp(pid, "1"))
		return;
	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	add_status(fd, arg);
	close(fd);
}

/* The memory the box's processes hold: resident anonymous and
 * shared-memory pages and page tables of every process. Shared pages
 * mapped by several processes count once per process, so this errs on the
 * high side. File-backed pages are page cache the kernel can reclaim;
 * memfd and SysV segments, which need not be mapped, are refused by
 * seccomp_apply_memory_guard when this count is the limit. Kernel memory
 * (socket and pipe buffers) is not seen: only a cgroup charges it
 * (SECURITY.md). Also the box's tasks, counted as RLIMIT_NPROC counts
 * them (every thread of the box's uid, init included), and the largest
 * private writable mapping total (VmData, what RLIMIT_DATA bounds). */
static struct sample box_sample(void)
{
	struct sample sm = {.tasks = 1}; /* init, single-threaded */
	for_each_box_pid(add_pid_status, &sm);
	return sm;
}

/* Closes every fd above 2 that is not one of the plan's. The box's init is
 * a copy of the controller: in an application that starts several boxes
 * from several threads it would otherwise hold other runs' pipes, whose
 * readers would then not see EOF until this box ends. The plan's fds stay
 * (box_init closes the ones it does not need by number later), and so do
 * the idmapped trees the controller cloned (mnt_build_root closes them). */
static void close_other_fds(const struct plan *pl, const struct plumbing *io)
{
	int keep[24 + pl->mp.n]; /* on the stack: no allocation in the child */
	size_t n = 0;
	for (size_t i = 0; i < pl->mp.n; i++)
		if (pl->mp.e[i].tree_fd > 2)
			keep[n++] = pl->mp.e[i].tree_fd;
	const int *pairs[] = {io->sync, io->status, io->errp, io->out, io->err, io->in, io->chan, io->disk, io->req};
	for (size_t i = 0; i < ELEMENTSOF(pairs); i++)
		for (int j = 0; j < 2; j++)
			if (pairs[i][j] > 2)
				keep[n++] = pairs[i][j];
	if (io->stdin_direct > 2)
		keep[n++] = io->stdin_direct;
	if (io->broker_fd > 2)
		keep[n++] = io->broker_fd;
	for (int i = 0; pl->have_cg && pl->cg.version == 1 && i < 2; i++)
		if (pl->cg.v1_tasks[i] > 2)
			keep[n++] = pl->cg.v1_tasks[i];
	/* Insertion sort: no allocation, no libc qsort in the child. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	unsigned from = 3;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

/* Whether fd is one of the plan's or the plumbing's (close_other_fds keeps
 * those). */
static bool fd_kept(const struct plan *pl, const struct plumbing *io, int fd)
{
	for (size_t i = 0; i < pl->mp.n; i++)
		if (pl->mp.e[i].tree_fd == fd)
			return true;
	const int *pairs[] = {io->sync, io->status, io->errp, io->out, io->err, io->in, io->chan, io->disk, io->req};
	for (size_t i = 0; i < ELEMENTSOF(pairs); i++)
		if (pairs[i][0] == fd || pairs[i][1] == fd)
			return true;
	for (int i = 0; pl->have_cg && pl->cg.version == 1 && i < 2; i++)
		if (pl->cg.v1_tasks[i] == fd)
			return true;
	return io->stdin_direct == fd || io->broker_fd == fd;
}

/* init's own 0, 1 and 2 onto /dev/null: they are the caller's (a
 * service's log file, its terminal), and init writes nothing there (its
 * errors go through the error pipe; the program gets its stdio from the
 * plumbing). One that is part of the plumbing (a caller that had 0 closed)
 * stays. */
static int null_stdio(const struct plan *pl, const struct plumbing *io, struct err *e)
{
	int nfd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (nfd < 0)
		return err_errno(e, errno, "cannot open /dev/null for the box's init");
	for (int fd = 0; fd <= 2; fd++)
		if (fd != nfd && !fd_kept(pl, io, fd) && dup2(nfd, fd) < 0)
			return err_errno(e, errno, "cannot point the box's init's fd %d at /dev/null",
					 fd);
	if (nfd > 2)
		close(nfd);
	return 0;
}

/* In the box, once built: hands the controller each overlay's upper layer
 * (SCM_RIGHTS, one datagram each, naming the plan entry). A descriptor in
 * flight keeps its tmpfs alive after the box's mount namespace is gone,
 * until the controller receives it after the run. */
static int send_upper_layers(struct plan *pl, struct plumbing *io, struct err *e)
{
	for (size_t i = 0; i < pl->mp.n; i++) {
		struct mnt_entry *m = &pl->mp.e[i];
		if (m->upper_fd < 0)
			continue;
		uint32_t idx = (uint32_t)i;
		int r = fdpass_send(io->disk[1], &idx, sizeof(idx), &m->upper_fd, 1);
		if (r < 0)
			return err_errno(e, -r, "cannot hand over the disk layer of '%s'", m->dst);
		close(m->upper_fd);
		m->upper_fd = -1;
	}
	if (io->disk[1] >= 0) {
		close(io->disk[1]);
		io->disk[1] = -1;
	}
	return 0;
}

/* Until the controller's go, a failure is reported only once the
 * controller has written the id maps (it reads the error pipe after
 * that); if the controller is gone instead, there is nobody to tell. */
static _noreturn_ void fail_before_go(const struct plumbing *io, const struct err *e)
{
	char c;
	if (read(io->sync[0], &c, 1) != 1)
		_exit(EXIT_SETUP);
	child_fail(io->errp[1], EXIT_SETUP, e);
}

/* Into the run's v1 cgroups while still single-threaded and before
 * anything else is started, then a cgroup namespace rooted there. */
static int join_v1_cgroups(struct plan *pl, struct err *e)
{
	if (!pl->have_cg || pl->cg.version != 1)
		return 0;
	int r = cgroup_join_self(&pl->cg, e);
	if (r < 0)
		return r;
	if (unshare(CLONE_NEWCGROUP) < 0)
		return err_errno(e, errno, "cannot create the box's cgroup namespace");
	return 0;
}

/* Waits for the controller's go (it has written the id maps), then closes
 * the controller's ends of the plumbing. */
static void wait_for_go(const struct plumbing *io)
{
	char c;
	if (read(io->sync[0], &c, 1) != 1)
		_exit(EXIT_SETUP);
	close(io->status[0]);
	close(io->errp[0]);
	close(io->out[0]);
	close(io->err[0]);
	if (io->in[1] >= 0)
		close(io->in[1]);
	if (io->chan[0] >= 0)
		close(io->chan[0]);
	if (io->disk[0] >= 0)
		close(io->disk[0]);
	if (io->req[0] >= 0)
		close(io->req[0]);
}

#ifdef WARD_FAULT_HOOKS
/* Test builds only (tests/unit/test-faults): the step that $WARD_FAULT
 * names fails with EINVAL, as the kernel could make it fail. */
static int fault(const char *step)
{
	const char *f = getenv("WARD_FAULT");
	if (f && !strcmp(f, step)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}
#define FAULT(step, call) (fault(step) < 0 ? -1 : (call))
#else
#define FAULT(step, call) (call)
#endif

/* Changing credentials clears the parent-death signal: set it again
 * (controller_alive then checks that the controller did not die in
 * between). */
static int set_death_signal(struct err *e)
{
	if (FAULT("pdeathsig", prctl(PR_SET_PDEATHSIG, SIGKILL)) < 0)
		return err_errno(e, errno, "cannot set the box's parent-death signal");
	return 0;
}

/* The controller holds the sync pipe's write end for the whole run:
 * POLLHUP means it is gone, and the box must not run on without it. */
static bool controller_alive(struct plumbing *io)
{
	struct pollfd alive = {io->sync[0], POLLIN, 0};
	if (poll(&alive, 1, 0) != 0)
		return false;
	close(io->sync[0]);
	return true;
}

static int enter_cwd(const struct plan *pl, struct err *e)
{
	if (chdir(pl->cwd) < 0)
		return err_errno(e, errno, "cannot enter working directory '%s' in the box", pl->cwd);
	return 0;
}

/* Starts the program vfork-style (shared memory, init suspended until
 * execve): copying init's page tables for a fork costs more than the rest
 * of the box here. box_exec only writes its own stack and process-private
 * state (fds, creds, rlimits, filters). Returns its pid, or -errno. */
static pid_t start_program(const struct plan *pl, const struct plumbing *io, struct err *e)
{
	/* A zygote's box: a real fork, for the program's process may go on
	 * in the interpreter (plan.resume), and init with it. */
	if (pl->resume) {
		pid_t pid = fork();
		if (pid == 0)
			box_exec(pl, io);
		return pid < 0 ? err_errno(e, errno, "cannot start the program") : pid;
	}
	struct box_side side = {pl, io};
	size_t stack_size = 256 * 1024;
	void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return err_errno(e, errno, "cannot allocate the program's start-up stack");
	pid_t pid = clone(box_exec_entry, (char *)stack + stack_size,
			  CLONE_VM | CLONE_VFORK | SIGCHLD, &side);
	if (pid < 0)
		return err_errno(e, errno, "cannot start the program");
	munmap(stack, stack_size);
	return pid;
}

/* Once the program runs: init keeps nothing of the plumbing but the
 * status pipe (and the sync pipe's read end is already closed). */
static void close_program_ends(const struct plumbing *io)
{
	if (io->broker_fd >= 0) {
		prctl(PR_SET_DUMPABLE, 0);
		close(io->broker_fd);
	}
	close(io->errp[1]);
	close(io->out[1]);
	close(io->err[1]);
	if (io->in[0] >= 0)
		close(io->in[0]);
	if (io->stdin_direct >= 0)
		close(io->stdin_direct);
	if (io->chan[1] >= 0)
		close(io->chan[1]);
	if (io->req[1] >= 0)
		close(io->req[1]);
}

/* Reaps promptly on SIGCHLD until the program exits. Without a cgroup,
 * also looks at the box's processes every 20 ms: ends the run when their
 * memory exceeds the limit, and keeps the evidence that an rlimit was
 * reached (the tasks at RLIMIT_NPROC, a process near RLIMIT_DATA), which
 * the controller uses only to name how a failed program ended: being near
 * a limit never ends a run. The samples run on a CLOCK_MONOTONIC schedule,
 * whatever woke init: a stream of SIGCHLD (a child stopped and continued
 * in a loop) must not postpone them. */
static struct exit_record watch_program(const struct plan *pl, pid_t pid)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	uint64_t procs_limit = pl->lim.procs_by_cgroup ? 0 : pl->lim.v[LIMIT_PROCS];
	uint64_t mem_limit = pl->lim.memory_by_cgroup ? 0 : pl->lim.v[LIMIT_MEMORY];
	uint64_t data_near = mem_limit ? limits_data_rlimit(mem_limit) - DATA_NEAR : 0;
	bool sampling = procs_limit || mem_limit;
	const uint64_t every = 20 * 1000000ULL, idle = 1000000000ULL;
	uint64_t next_sample = now_ns() + every;
	struct exit_record rec = {0};
	for (;;) {
		int st;
		struct rusage ru;
		pid_t w = wait4(-1, &st, __WALL | WNOHANG, &ru);
		if (w == pid) {
			rec.status = st;
			/* A program that failed right after a refused fork
			 * may exit before the next sample: look once more
			 * while what it started still runs (evidence only). */
			bool failed = !WIFEXITED(st) || WEXITSTATUS(st) != 0;
			if (procs_limit && failed && !rec.procs_at_limit &&
			    box_sample().tasks >= procs_limit)
				rec.procs_at_limit = 1;
			break;
		}
		if (w > 0)
			continue;
		if (w < 0 && errno != EINTR && errno != ECHILD)
			_exit(EXIT_SETUP);
		uint64_t now = now_ns();
		if (sampling && now >= next_sample) {
			next_sample = now + every;
			struct sample sm = box_sample();
			if (sm.memory > rec.peak_memory)
				rec.peak_memory = sm.memory;
			if (procs_limit && sm.tasks >= procs_limit)
				rec.procs_at_limit = 1;
			if (mem_limit && sm.max_data >= data_near)
				rec.data_near_limit = 1;
			if (mem_limit && sm.memory > mem_limit) {
				rec.status = SIGKILL; /* as killed */
				rec.memory_exceeded = 1;
				break;
			}
		}
		uint64_t next = sampling ? next_sample : now + idle;
		uint64_t wait = next > now ? next - now : 0;
		struct timespec tick = {(time_t)(wait / 1000000000ULL), (long)(wait % 1000000000ULL)};
		(void)sigtimedwait(&chld, NULL, &tick);
	}
	return rec;
}

/* Kills what is left and reaps it before telling the controller, so that
 * no box code runs once it knows the outcome, and so that the CPU time
 * reported covers every process of the box (orphans included), not only
 * the program and the children it waited for. */
static _noreturn_ void end_box(const struct plumbing *io, struct exit_record *rec)
{
	kill(-1, SIGKILL);
	while (wait4(-1, NULL, __WALL, NULL) > 0 || errno == EINTR)
		;
	getrusage(RUSAGE_CHILDREN, &rec->ru);
	(void)write_all(io->status[1], rec, sizeof(*rec));
	_exit(0);
}

/* The box's pid 1: builds the box, starts the program, reaps, and passes
 * the program's wait status to the controller, one step per line. When it
 * exits, the kernel kills everything left in the pid namespace: nothing
 * outlives the run. */
_noreturn_ void box_init(struct plan *pl, struct plumbing *io)
{
	struct err e = {{0}};
	int efd = io->errp[1];

	/* Die with the controller (best effort here: set again, and checked,
	 * once the credentials change). If it is already gone, the sync
	 * read sees EOF. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close_other_fds(pl, io);
	if (null_stdio(pl, io, &e) < 0 ||
	    join_v1_cgroups(pl, &e) < 0)
		fail_before_go(io, &e);
	close(io->sync[1]);
	/* Capture the granted host paths while the controller writes our id
	 * maps; the rest needs them (files created in tmpfs need a mapped
	 * owner). */
	if (mnt_capture(&pl->mp, &e) < 0)
		fail_before_go(io, &e);
	wait_for_go(io);
	if ((!pl->no_ns_quotas && limits_apply_ns_quotas(&e) < 0) ||
	    ns_become_box_user(pl->root, &e) < 0 ||
	    set_death_signal(&e) < 0)
		child_fail(efd, EXIT_SETUP, &e);
	if (!controller_alive(io))
		_exit(EXIT_SETUP);
	if ((!pl->no_hostname && ns_set_hostname(pl->hostname, &e) < 0) ||
	    (pl->net == NET_LOOPBACK && ns_loopback_up(&e) < 0) ||
	    mnt_build_root(&pl->mp, &e) < 0 ||
	    send_upper_layers(pl, io, &e) < 0 ||
	    enter_cwd(pl, &e) < 0)
		child_fail(efd, EXIT_SETUP, &e);
	/* Keep the box's processes away from pid 1's memory and /proc/1. */
	prctl(PR_SET_DUMPABLE, 0);
	pid_t pid = start_program(pl, io, &e);
	if (pid < 0)
		child_fail(efd, EXIT_SETUP, &e);
	close_program_ends(io);
	struct exit_record rec = watch_program(pl, pid);
	end_box(io, &rec);
}
