/* zygote.c — interpreter zygotes for warm pools (zygote.h).
 *
 * The zygote is the interpreter (python3) started by the controller
 * outside any box, with the box's environment, "/" as its directory, no fd
 * of the application's, and the preload modules imported; then it loads
 * this library from a memfd and calls ward__zygote_serve, which never
 * returns in the zygote itself: it serves the controller's requests to
 * clone a box (zygote_clone, the launcher of box_prepare_with). Each box is
 * built exactly like a fresh one (init.c: box_init), from a plan the zygote
 * makes from the policy's text, with the controller's cgroup and plumbing;
 * only its program's process is a fork of init instead of a vfork, and
 * when the request is for the interpreter, that process, once it has no
 * capabilities, Landlock and seccomp (and the broker) in place, wipes the
 * zygote's host paths from its memory and returns from ward__zygote_serve
 * into the interpreter, which runs the request (the bootstrap below).
 *
 *   controller ──spawn(plumbing fds, cgroup fds, limits)──▶ zygote
 *              ◀──────────── init's pid and pidfd ────────┘   │ clone3
 *   writes the id maps, go, supervises like any box          ▼
 *                                                        box init ─fork─▶ program
 *                                                                   request → python
 */
#include <dlfcn.h>
#include <malloc.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "config.h"
#include "fdpass.h"
#include "launch.h"
#include "zygote.h"

#define ZYGOTE_MAGIC 0x7a79676fu
#define HELLO_MAX (1u << 20) /* the policy's text */
#define START_TIMEOUT_MS 60000

/* The interpreter's side: the bootstrap, run with `python3 -I -c`, the
 * library at fd 3 and the control socket at fd 4, the preload modules as
 * its arguments. Everything after ward__zygote_serve runs in a request's
 * confined process and emulates `python3 [-c CODE | - | FILE] ARGS`. */
static const char bootstrap[] =
	"import os, sys\n"
	"def _ward_zygote():\n"
	/* -S: no site module, so no .pth file or sitecustomize runs here. The
	 * site directories libward checked come as arguments up to "--". */
	"    dirs = sys.argv[1:sys.argv.index('--')]\n"
	"    sys.path.extend(dirs)\n"
	"    import ctypes\n"
	"    me = sys._getframe().f_code\n"
	"    lib = ctypes.PyDLL('/proc/self/fd/3')\n"
	"    os.close(3)\n"
	"    for name in sys.argv[sys.argv.index('--') + 1:]:\n"
	"        __import__(name)\n"
	"    if len(os.listdir('/proc/self/task')) != 1:\n"
	"        sys.exit('the preload started threads: a zygote must stay single-threaded')\n"
	"    import atexit, runpy, stat, types, _signal\n"
	"    serve = lib.ward__zygote_serve\n"
	"    serve.restype = ctypes.c_long\n"
	"    serve.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]\n"
	/* What the request's process calls, looked up and typed here, once:
	 * done there, each lookup writes to pages of the zygote's (ctypes makes
	 * and types function objects), and every such page is copied. */
	"    after_fork = ctypes.pythonapi.PyOS_AfterFork_Child\n"
	"    after_fork.restype = None\n"
	"    after_fork.argtypes = []\n"
	"    request = lib.ward__zygote_request\n"
	"    request.restype = ctypes.c_long\n"
	"    request.argtypes = []\n"
	"    magic = sys.modules['_frozen_importlib_external'].MAGIC_NUMBER\n"
	"    buf = ctypes.create_string_buffer(1 << 20)\n"
	"    def unpack(n):\n"
	"        f = ctypes.string_at(buf, n).split(b'\\0')\n"
	"        argc = int(f[0])\n"
	"        envc = int(f[1 + argc])\n"
	"        return [os.fsdecode(a) for a in f[1:1 + argc]], f[2 + argc:2 + argc + envc]\n"
	/* A script: a regular file whole; anything else (a device, a FIFO)
	 * up to its first NUL byte, not until memory runs out. python 3.11
	 * stops at a NUL that starts a line, and refuses one within a line
	 * (compile does, with a ValueError). */
	"    def read_source(f):\n"
	"        if stat.S_ISREG(os.fstat(f.fileno()).st_mode):\n"
	"            return f.read()\n"
	"        parts = []\n"
	"        while True:\n"
	"            b = f.read(1 << 16)\n"
	"            nul = b.find(b'\\0')\n"
	"            parts.append(b if nul < 0 else b[:nul + 1])\n"
	"            if not b or nul >= 0:\n"
	"                return b''.join(parts)\n"
	"    def setenv(env):\n"
	"        for kv in env:\n"
	"            k, _, v = kv.partition(b'=')\n"
	"            os.environb[k] = v\n"
	"    sys.stdout.flush(); sys.stderr.flush()\n"
	/* The zygote's objects out of the collector's reach: a collection in
	 * a request would otherwise write to every one of them, copying each
	 * page of the zygote's heap into the request's process. */
	"    import gc\n"
	"    gc.collect()\n"
	"    gc.freeze()\n"
	"    n = serve(4, buf, len(buf))\n"
	"    if n < 0:\n"
	"        os._exit(0)\n"
	/* From here on: the request's process. */
	"    after_fork()\n"
	"    threading = sys.modules.get('threading')\n"
	"    if threading is not None:\n"
	/* Not the zygote's host thread id. */
	"        threading.main_thread()._set_native_id()\n"
	/* python's own dispositions, which box_exec reset to the defaults
	 * (_signal: the signal module's enums would touch many more pages). */
	"    _signal.signal(_signal.SIGINT, _signal.default_int_handler)\n"
	"    _signal.signal(_signal.SIGPIPE, _signal.SIG_IGN)\n"
	"    _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)\n"
	"    np_random = sys.modules.get('numpy.random')\n"
	"    if np_random is not None:\n"
	"        np_random.seed()\n"
	"    main = types.ModuleType('__main__')\n"
	"    main.__dict__['__builtins__'] = __builtins__\n"
	"    argv, env = unpack(n)\n"
	"    os.environ.clear()\n"
	"    setenv(env)\n"
	"    if not argv:\n"
	/* Resumed before the request, with the policy's environment only.
	 * A compile and a run of ward's own before the request: the memory
	 * the parser, the compiler and the evaluation loop write to is
	 * copied (a page fault per page) now, not after the request came. */
	"        exec(compile(b'x = 1\\nprint\\n', '/x.py', 'exec'), {})\n"
	"        try:\n"
	"            with open('/dev/null', 'rb') as f:\n"
	"                f.read()\n"
	"        except OSError:\n"
	"            pass\n"
	"        os.path.dirname(os.path.abspath('x'))\n"
	"        argv, env = unpack(request())\n"
	/* The request's own variables, over the policy's. */
	"        setenv(env)\n"
	/* Not buf: freeing it would unmap its 1 MiB on the request's path
	 * (it holds the request's own arguments, nothing else). */
	"    del lib, serve, request, unpack, setenv, env\n"
	/* No site module here either: the site directories are on sys.path,
	 * but no .pth file or sitecustomize runs (as with python3 -S; they
	 * cost a fresh python most of its start-up, and run here would be
	 * code of the host's that every request would redo). */
	"    sys.orig_argv = argv\n"
	"    args = argv[1:]\n"

	"    sys.modules['__main__'] = main\n"
	"    code = 0\n"
	"    try:\n"
	"        if args and args[0] == '-c':\n"
	"            sys.argv = ['-c'] + args[2:]\n"
	"            sys.path.insert(0, '')\n"
	"            exec(compile(args[1], '<string>', 'exec'), main.__dict__)\n"
	"        elif not args or args[0] == '-':\n"
	"            sys.argv = ['-' if args else ''] + args[1:]\n"
	"            sys.path.insert(0, '')\n"
	"            exec(compile(sys.stdin.read(), '<stdin>', 'exec'), main.__dict__)\n"
	"        else:\n"
	"            sys.argv = args\n"
	"            path = os.path.abspath(args[0])\n"
	"            sys.path.insert(0, os.path.dirname(path))\n"
	/* A source file read and run here, as python runs its script;
	 * runpy (a directory, a zip file, compiled code) only when needed:
	 * it costs a request ~600 page faults of imports and set-up. A zip
	 * file is known by its end record (in its last 64 KiB + 22 bytes),
	 * as python's zipimport knows it, not by its first bytes: a zipapp
	 * starts with its interpreter line. A source file that merely
	 * holds those 4 bytes near its end goes to runpy too, which runs
	 * it all the same, only slower. */
	"            try:\n"
	"                with open(path, 'rb') as f:\n"
	"                    src = read_source(f)\n"
	"            except IsADirectoryError:\n"
	"                src = None\n"
	"            except OSError as e:\n"
	"                print(f\"{argv[0]}: can't open file {path!r}: [Errno {e.errno}] {e.strerror}\",\n"
	"                      file=sys.stderr)\n"
	"                raise SystemExit(2)\n"
	"            if src is None or src[:4] == magic or b'PK\\x05\\x06' in src[-65558:]:\n"
	"                runpy.run_path(args[0], run_name='__main__')\n"
	"            else:\n"
	"                main.__dict__.update(__file__=path, __cached__=None)\n"
	"                nul = src.find(b'\\0')\n"
	"                if nul == 0 or src[nul - 1:nul] == b'\\n':\n"
	"                    src = src[:nul]\n"
	"                exec(compile(src, path, 'exec'), main.__dict__)\n"
	"    except SystemExit as e:\n"
	"        if e.code is None:\n"
	"            code = 0\n"
	"        elif isinstance(e.code, int):\n"
	"            code = e.code & 0xff\n"
	"        else:\n"
	"            print(e.code, file=sys.stderr)\n"
	"            code = 1\n"
	"    except BaseException:\n"
	"        t, v, tb = sys.exc_info()\n"
	/* The traceback starts at the request's code, as python's would. */
	"        while tb is not None and (tb.tb_frame.f_code is me or\n"
	"                                  tb.tb_frame.f_globals.get('__name__') == 'runpy'):\n"
	"            tb = tb.tb_next\n"
	"        sys.excepthook(t, v.with_traceback(tb), tb)\n"
	"        code = 1\n"
	"    try:\n"
	"        atexit._run_exitfuncs()\n"
	"    except BaseException:\n"
	"        pass\n"
	/* python's finalization flushes stdout and stderr first (skipping
	 * one that is gone, None or closed), then the other files as it
	 * frees them: in that order here too. */
	"    def flush_std(failed):\n"
	"        for name in ('stdout', 'stderr'):\n"
	"            try:\n"
	"                stream = getattr(sys, name, None)\n"
	"                if stream is not None and not stream.closed:\n"
	"                    stream.flush()\n"
	"            except BaseException:\n"
	"                failed = failed or 120\n"
	"        return failed\n"
	"    code = flush_std(code)\n"
	/* os._exit skips python's finalization, which frees the program's
	 * objects, so that files left open are flushed and closed and
	 * destructors run: free what __main__ holds, and the cycles, as it
	 * would (no list of every object: near the memory limit, a program
	 * that finished must not be killed for ward's own allocation). A
	 * destructor's output is flushed after. */
	"    try:\n"
	"        main.__dict__.clear()\n"
	"        gc.collect()\n"
	"    except BaseException:\n"
	"        pass\n"
	"    flush_std(0)\n"
	"    os._exit(code)\n"
	"_ward_zygote()\n";

/* ---- the wire between controller and zygote ---- */

/* The controller's first message: the policy's text follows. */
struct hello {
	uint32_t magic;
	uint32_t channel;	 /* the policy has host functions */
	char client_dir[4096];	 /* the shims' host directory (with a channel) */
	uint32_t text_len;
};

/* Which fds a spawn message carries, in this order. */
enum {
	FD_SYNC, FD_STATUS, FD_ERRP, FD_OUT, FD_ERR, FD_IN, FD_REQ, FD_CHAN, FD_BROKER,
	FD_DISK, FD_CG0, FD_CG1, N_SPAWN_FDS
};
_Static_assert(N_SPAWN_FDS <= FDPASS_MAX_FDS, "a spawn message's fds fit one fdpass message");

struct spawn {
	uint32_t magic;
	uint32_t present; /* bit i: fd i is in the message */
	struct box_limits lim;
	int cg_version; /* 0: no cgroup */
};

struct spawn_reply {
	int32_t pid; /* > 0, or -errno */
	char msg[sizeof(((struct err *)0)->msg)];
};

/* ---- the controller's side ---- */

struct zygote {
	pid_t pid;
	int pidfd;
	int ctl;
	pthread_mutex_t mu; /* one spawn at a time on ctl */
	struct launcher launcher;
};

/* The interpreters a zygote can be: python3 and its versioned names. Node
 * cannot: it starts threads before any script runs, and a multi-threaded
 * process can neither fork safely nor make a user namespace. */
static bool interpreter_supported(const char *interp)
{
	const char *base = strrchr(interp, '/');
	base = base ? base + 1 : interp;
	return !strncmp(base, "python3", 7) && strspn(base + 7, "0123456789.") == strlen(base + 7);
}

/* The zygote runs outside any box, as the controller's user (root, for a
 * root controller): the file it executes, and every directory above it,
 * must be one that no box and no other user can have planted or changed.
 * So the interpreter is looked up on a fixed system PATH, never the
 * policy's (whose directories are box paths, and may be read-write
 * grants), and trusted only when the file and each directory on its real
 * path are owned by root (or by the controller's own user) and writable by
 * no one else, and none of them is under one of the policy's read-write
 * grants. A request for another python3 (a project's virtualenv on the
 * box's PATH) is then not the zygote's file: init.c's runs_interpreter
 * sees that and executes it. */
#define ZYGOTE_PATH "/usr/local/bin:/usr/bin:/bin"

/* Whether a read-write grant of the policy overlaps dir: is it, lies
 * under it or above it (a box could then change what is there). */
static const char *rw_overlap(const struct policy *p, const char *dir)
{
	size_t nd = strlen(dir);
	for (size_t i = 0; i < p->n_grants; i++) {
		const char *h = p->grants[i].host;
		size_t n = h ? strlen(h) : 0;
		if (p->grants[i].kind != GRANT_RW || !n)
			continue;
		if (!strcmp(h, "/") || !strcmp(h, dir) ||
		    (n < nd && !strncmp(dir, h, n) && dir[n] == '/') ||
		    (nd < n && !strncmp(h, dir, nd) && h[nd] == '/'))
			return h;
	}
	return NULL;
}

/* real (a resolved path) and every directory above it: owned by root or
 * the caller, writable by no one else. */
static bool owners_trusted(const char *real_path, const char *what, struct err *e)
{
	char real[4096];
	snprintf(real, sizeof(real), "%s", real_path);
	uid_t me = geteuid();
	for (;;) {
		struct stat st;
		const char *p = real[0] ? real : "/";
		if (lstat(p, &st) < 0)
			return err_errno(e, errno, "%s: '%s'", what, p), false;
		if ((st.st_uid != 0 && st.st_uid != me) || (st.st_mode & 022) || S_ISLNK(st.st_mode))
			return err_set(e, EPERM, "%s: '%s' is not owned by root, or is writable by "
						 "others: not trusted", what, p), false;
		if (!real[0])
			return true;
		*strrchr(real, '/') = 0;
	}
}

/* The directories the zygote's python reads at start-up and the preload
 * imports from, besides its own file: the prefix's (the standard library
 * and the site directories) and the system's. None may be overlapped by a
 * read-write grant of the policy (a box could plant a module, a .pth file
 * or a library there for the zygote, which runs outside any box). */
static const char *const system_dirs[] = {"/etc", "/lib", "/lib32", "/lib64", "/bin", "/sbin"};

static bool tree_trusted(const struct policy *p, const char *interp_real, struct err *e)
{
	char prefix[4096];
	snprintf(prefix, sizeof(prefix), "%s", interp_real);
	for (int up = 0; up < 2; up++) { /* /usr/bin/python3.11 -> /usr */
		char *slash = strrchr(prefix, '/');
		if (!slash || slash == prefix)
			return err_set(e, EPERM, "zygote interpreter '%s': no installation prefix",
				       interp_real), false;
		*slash = 0;
	}
	const char *dirs[ELEMENTSOF(system_dirs) + 2] = {prefix, "/usr"};
	for (size_t i = 0; i < ELEMENTSOF(system_dirs); i++)
		dirs[2 + i] = system_dirs[i];
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		const char *h = rw_overlap(p, dirs[i]);
		if (h)
			return err_set(e, EPERM, "no zygote: read-write grant '%s' overlaps '%s', "
						 "which the zygote reads outside any box", h, dirs[i]), false;
	}
	return owners_trusted(interp_real, "zygote interpreter", e);
}

/* The site directories of the interpreter (realpath real: .../bin/pythonX.Y)
 * that exist and are trusted, NUL-separated into out; the count. */
static size_t site_dirs(const char *real, char *out, size_t len)
{
	const char *base = strrchr(real, '/') + 1; /* "python3.11" */
	char prefix[4096];
	snprintf(prefix, sizeof(prefix), "%.*s", (int)(base - 1 - real), real);
	char *slash = strrchr(prefix, '/');
	if (slash)
		*slash = 0;
	char cand[4][4200];
	snprintf(cand[0], sizeof(cand[0]), "%s/local/lib/%s/dist-packages", prefix, base);
	snprintf(cand[1], sizeof(cand[1]), "%s/lib/python3/dist-packages", prefix);
	snprintf(cand[2], sizeof(cand[2]), "%s/lib/%s/dist-packages", prefix, base);
	snprintf(cand[3], sizeof(cand[3]), "%s/lib/%s/site-packages", prefix, base);
	size_t n = 0, off = 0;
	for (int i = 0; i < 4; i++) {
		char r[4096];
		struct err ignored;
		struct stat st;
		if (!realpath(cand[i], r) || stat(r, &st) < 0 || !S_ISDIR(st.st_mode) ||
		    !owners_trusted(r, "site directory", &ignored) || off + strlen(r) + 1 > len)
			continue;
		memcpy(out + off, r, strlen(r) + 1);
		off += strlen(r) + 1;
		n++;
	}
	return n;
}

/* Finds the interpreter on a fixed PATH (or takes the path given) and
 * checks it: its resolved path into out, and an O_PATH fd of that very
 * file, which is what the zygote executes (no second lookup of the path to
 * race with). */
static int find_interpreter(const struct policy *p, const char *interp, char *out, size_t len,
			    struct err *e)
{
	char given[4096];
	if (strchr(interp, '/')) {
		snprintf(given, sizeof(given), "%s", interp);
	} else {
		bool found = false;
		for (const char *d = ZYGOTE_PATH; *d && !found;) {
			const char *end = strchrnul(d, ':');
			snprintf(given, sizeof(given), "%.*s/%s", (int)(end - d), d, interp);
			found = access(given, X_OK) == 0;
			d = *end ? end + 1 : end;
		}
		if (!found)
			return err_set(e, ENOENT, "zygote interpreter '%s' not found in %s", interp,
				       ZYGOTE_PATH);
	}
	if (!realpath(given, out) || strlen(out) >= len)
		return err_errno(e, errno, "zygote interpreter '%s'", given);
	if (!tree_trusted(p, out, e))
		return -EPERM;
	int fd = open(out, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st, again;
	if (fd < 0 || fstat(fd, &st) < 0 || lstat(out, &again) < 0 || st.st_ino != again.st_ino ||
	    st.st_dev != again.st_dev || !S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & 022)) {
		if (fd >= 0)
			close(fd);
		return err_set(e, EPERM, "zygote interpreter '%s' changed or is not trusted", out);
	}
	return fd;
}

/* The zygote's environment: fixed, not the policy's (whose variables could
 * steer the host's dynamic loader or python: LD_PRELOAD, PYTHONPATH, ...).
 * A request gets the policy's environment and its own (the bootstrap
 * rebuilds os.environ). One thread for the numeric libraries a preload may
 * load: a zygote must stay single-threaded to fork. */
static char *const zygote_env[] = {
	"PATH=/usr/bin:/bin", "HOME=/", "LANG=C.UTF-8", "OPENBLAS_NUM_THREADS=1",
	"OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1", NULL,
};

/* A copy of this library in a memfd, for the zygote to load: mapped from
 * there, it shows in the box's /proc/self/maps as a memfd, not as a host
 * path. */
static int library_memfd(struct err *e)
{
	Dl_info info;
	if (!dladdr((void *)library_memfd, &info) || !info.dli_fname ||
	    !strstr(info.dli_fname, "libward.so"))
		return err_set(e, ENOTSUP, "a zygote needs libward as a shared library (this program "
					   "links it statically)");
	_cleanup_close_ int src = open(info.dli_fname, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return err_errno(e, errno, "cannot open '%s'", info.dli_fname);
	int fd = memfd_create("libward", MFD_CLOEXEC);
	if (fd < 0)
		return err_errno(e, errno, "cannot create a memfd for the zygote");
	char buf[65536];
	ssize_t n;
	while ((n = read(src, buf, sizeof(buf))) > 0)
		if (write_all(fd, buf, (size_t)n) < 0) {
			n = -1;
			break;
		}
	if (n < 0) {
		close(fd);
		return err_errno(e, errno, "cannot copy '%s' for the zygote", info.dli_fname);
	}
	return fd;
}

/* The zygote's process, between fork and execve: only async-signal-safe
 * calls (the application may have threads). */
static _noreturn_ void zygote_exec(int exe, char **argv, char *const *envp, int lib,
				   int ctl, int errw)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int l = fcntl(lib, F_DUPFD, 20), c = fcntl(ctl, F_DUPFD, 20), w = fcntl(errw, F_DUPFD, 20);
	int x = fcntl(exe, F_DUPFD_CLOEXEC, 20);
	if (null < 0 || l < 0 || c < 0 || w < 0 || x < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(w, 2) < 0 || dup2(l, 3) < 0 || dup2(c, 4) < 0 ||
	    syscall(SYS_close_range, 5U, (unsigned)x - 1, 0) < 0 ||
	    syscall(SYS_close_range, (unsigned)x + 1, ~0U, 0) < 0 || chdir("/") < 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		_exit(127);
	signals_default();
	syscall(SYS_execveat, x, "", argv, envp, AT_EMPTY_PATH);
	_exit(127);
}

/* Reads what the zygote said on stderr before it died. */
static void zygote_failed(int errr, struct err *e, const char *what)
{
	char buf[sizeof(e->msg) - 64] = "";
	ssize_t n = read(errr, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		/* The last line of a traceback says most. */
		while (n > 0 && buf[n - 1] == '\n')
			buf[--n] = 0;
		const char *last = strrchr(buf, '\n');
		err_set(e, EIO, "the zygote %s: %s", what, last ? last + 1 : buf);
	} else {
		err_set(e, EIO, "the zygote %s", what);
	}
}

static pid_t zygote_clone(void *ctx, const struct plan *pl, const struct plumbing *io,
			  int *ret_pidfd, struct err *e);

int zygote_new(const ward_policy *p, const char *interpreter, const char *const *preload,
	       struct zygote **ret, struct err *e)
{
	if (!interpreter_supported(interpreter))
		return err_set(e, EOPNOTSUPP, "no zygote for '%s' (python3 only)", interpreter);
	char path[4096];
	_cleanup_close_ int exe = find_interpreter(p->core, interpreter, path, sizeof(path), e);
	if (exe < 0)
		return exe;
	char sites[4 * 4096];
	size_t n_sites = site_dirs(path, sites, sizeof(sites));
	size_t n_pre = 0;
	while (preload && preload[n_pre])
		n_pre++;
	for (size_t i = 0; i < n_pre; i++)
		if (!preload[i][0] || strspn(preload[i], "abcdefghijklmnopqrstuvwxyz"
							"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") !=
					      strlen(preload[i]))
			return err_set(e, EINVAL, "preload module '%s' is not a module name",
				       preload[i]);
	_cleanup_free_ char *text = NULL;
	if (policy_format(p->core, &text) < 0 || strlen(text) >= HELLO_MAX)
		return err_set(e, ENOMEM, "cannot write the policy for the zygote");
	struct hello *h = calloc(1, sizeof(*h) + strlen(text));
	if (!h)
		return -ENOMEM;
	*h = (struct hello){.magic = ZYGOTE_MAGIC, .channel = p->n_fns > 0,
			    .text_len = (uint32_t)strlen(text)};
	snprintf(h->client_dir, sizeof(h->client_dir), "%s",
		 p->client_dir ? p->client_dir : WARD_CLIENT_DIR);
	memcpy(h + 1, text, strlen(text));

	/* argv: python3 -I -c BOOTSTRAP preload...; the environment: a fixed
	 * one (zygote_env), nothing of the application's or the policy's. */
	char **argv = calloc(n_pre + n_sites + 7, sizeof(char *));
	int lib = -1, sv[2] = {-1, -1}, errp[2] = {-1, -1}, r = 0;
	struct zygote *z = NULL;
	if (!argv) {
		r = -ENOMEM;
		goto out;
	}
	/* argv[0] the resolved path: python looks for a pyvenv.cfg beside it
	 * and above, and those are the directories just checked. */
	size_t k = 0;
	argv[k++] = path;
	argv[k++] = "-I";
	argv[k++] = "-S";
	argv[k++] = "-c";
	argv[k++] = (char *)bootstrap;
	for (size_t i = 0, off = 0; i < n_sites; i++, off += strlen(sites + off) + 1)
		argv[k++] = sites + off;
	argv[k++] = "--";
	for (size_t i = 0; i < n_pre; i++)
		argv[k++] = (char *)preload[i];
	if ((r = lib = library_memfd(e)) < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0) {
		r = err_errno(e, errno, "cannot create the zygote's sockets");
		goto out;
	}
	if (!(z = calloc(1, sizeof(*z)))) {
		r = -ENOMEM;
		goto out;
	}
	z->ctl = -1;
	z->pidfd = -1;
	pid_t pid = fork();
	if (pid < 0) {
		r = err_errno(e, errno, "cannot start the zygote");
		goto out;
	}
	if (pid == 0)
		zygote_exec(exe, argv, zygote_env, lib, sv[1], errp[1]);
	z->pid = pid;
	z->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	z->ctl = TAKE_FD(sv[0]);
	close(TAKE_FD(sv[1]));
	close(TAKE_FD(errp[1]));
	/* The hello, then the zygote's "ready" once the preload is imported. */
	char ok[8] = "";
	size_t nfd = 0;
	struct pollfd pf = {z->ctl, POLLIN, 0};
	if ((r = fdpass_send(z->ctl, h, sizeof(*h) + h->text_len, NULL, 0)) < 0 ||
	    poll(&pf, 1, START_TIMEOUT_MS) != 1 ||
	    (r = fdpass_recv(z->ctl, 0, ok, 5, NULL, 0, &nfd)) < 0 || memcmp(ok, "ready", 5)) {
		zygote_failed(errp[0], e, "failed to start");
		r = -EIO;
		goto out;
	}
	pthread_mutex_init(&z->mu, NULL);
	z->launcher = (struct launcher){.clone = zygote_clone, .ctx = z};
	*ret = TAKE_PTR(z);
out:
	if (z)
		zygote_free(z);
	if (lib >= 0)
		close(lib);
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	free(argv);
	free(h);
	return r;
}

static pid_t zygote_clone(void *ctx, const struct plan *pl, const struct plumbing *io,
			  int *ret_pidfd, struct err *e)
{
	struct zygote *z = ctx;
	struct spawn s = {.magic = ZYGOTE_MAGIC, .lim = pl->lim,
			  .cg_version = pl->have_cg ? pl->cg.version : 0};
	int all[N_SPAWN_FDS] = {
		[FD_SYNC] = io->sync[0], [FD_STATUS] = io->status[1], [FD_ERRP] = io->errp[1],
		[FD_OUT] = io->out[1], [FD_ERR] = io->err[1], [FD_IN] = io->in[0],
		[FD_REQ] = io->req[1], [FD_CHAN] = io->chan[1], [FD_BROKER] = io->broker_fd,
		[FD_DISK] = io->disk[1],
		[FD_CG0] = s.cg_version == 2 ? pl->cg.v2_fd : s.cg_version == 1 ? pl->cg.v1_tasks[0] : -1,
		[FD_CG1] = s.cg_version == 1 ? pl->cg.v1_tasks[1] : -1,
	};
	int fds[N_SPAWN_FDS];
	size_t n = 0;
	for (int i = 0; i < N_SPAWN_FDS; i++)
		if (all[i] >= 0) {
			s.present |= 1u << i;
			fds[n++] = all[i];
		}
	struct spawn_reply rep = {0};
	int rfd = -1;
	size_t nfd = 0;
	pthread_mutex_lock(&z->mu);
	int r = fdpass_send(z->ctl, &s, sizeof(s), fds, n);
	if (r == 0)
		r = fdpass_recv(z->ctl, 0, &rep, sizeof(rep), &rfd, 1, &nfd);
	pthread_mutex_unlock(&z->mu);
	if (r < 0)
		return err_errno(e, -r, "the zygote is gone");
	if (rep.pid <= 0 || nfd != 1) {
		if (nfd)
			close(rfd);
		rep.msg[sizeof(rep.msg) - 1] = 0;
		return err_set(e, rep.pid < 0 ? -rep.pid : EPROTO, "%s",
			       rep.msg[0] ? rep.msg : "the zygote could not clone the box");
	}
	*ret_pidfd = rfd;
	return rep.pid;
}

int zygote_prepare(struct zygote *z, const ward_policy *p, const struct run_options *o,
		   struct run_result *ret, struct box_run **ret_run)
{
	return box_prepare_with(p->core, o, &z->launcher, ret, ret_run);
}

void zygote_free(struct zygote *z)
{
	if (!z)
		return;
	if (z->ctl >= 0)
		close(z->ctl); /* the zygote sees EOF and exits */
	if (z->pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, z->pidfd, SIGKILL, NULL, 0);
		close(z->pidfd);
	}
	if (z->pid > 0)
		while (waitpid(z->pid, NULL, 0) < 0 && errno == EINTR)
			;
	if (z->launcher.clone)
		pthread_mutex_destroy(&z->mu);
	free(z);
}

/* ---- the zygote's side (in the interpreter) ---- */

static struct policy *zy_policy;
static char zy_client_dir[4096];
static bool zy_channel;
static sigjmp_buf zy_resume_point;
static char *zy_out;
static size_t zy_out_len;
static long zy_out_n;

static void wipe_string(const char *s)
{
	if (s)
		explicit_bzero((char *)s, strlen(s));
}

/* The host paths the zygote knows: the policy's and the plan's. Wiped in
 * a request's process before the interpreter resumes, and in the zygote
 * before a plan is freed. */
static void wipe_plan(struct plan *pl)
{
	/* The mount entries point into these, the policy's strings, or
	 * constants (which are no host's). */
	for (size_t i = 0; i < pl->owned.n; i++)
		wipe_string(pl->owned.v[i]);
}

static void wipe_policy(struct policy *p)
{
	for (size_t i = 0; i < p->n_grants; i++)
		wipe_string(p->grants[i].host);
	for (size_t i = 0; i < p->n_files; i++)
		wipe_string(p->files[i].host);
	explicit_bzero(zy_client_dir, sizeof(zy_client_dir));
}

/* Clears the stack below the caller's frame, where the plan's steps left
 * host paths in their buffers. */
static void __attribute__((noinline)) scrub_stack(void)
{
	volatile char area[64 * 1024];
	explicit_bzero((char *)area, sizeof(area));
}

/* The request's argv and environment into the interpreter's buffer as
 * "argc\0argv...envc\0env..."; its length. Over the buffer: a setup error
 * on the error pipe (fd 3), and the process ends. */
static long pack_request(char *const *argv, char *const *envp)
{
	size_t off = 0;
	bool fits = true;
	char *const *lists[] = {argv, envp};
	for (int l = 0; l < 2 && fits; l++) {
		size_t n = 0;
		while (lists[l][n])
			n++;
		int k = snprintf(zy_out + off, zy_out_len - off, "%zu", n);
		fits = k >= 0 && (size_t)k < zy_out_len - off;
		off += (size_t)k + 1;
		for (size_t i = 0; fits && i < n; i++) {
			size_t len = strlen(lists[l][i]) + 1;
			fits = len <= zy_out_len - off;
			if (fits)
				memcpy(zy_out + off, lists[l][i], len);
			off += len;
		}
	}
	if (!fits) {
		static const char msg[] = "the request's arguments and environment are over the "
					  "zygote's 1 MiB";
		struct child_error ce = {.code = EXIT_SETUP};
		memcpy(ce.msg, msg, sizeof(msg));
		(void)!write(3, &ce, sizeof(ce));
		_exit(EXIT_SETUP);
	}
	return (long)off;
}

/* The policy's environment, kept for a request that comes after the
 * plan's strings are wiped (an early resume). */
static struct strv zy_base_env;

/* plan.resume: in the box's program process, confined: wipes the zygote's
 * host paths and goes back into ward__zygote_serve's frame, which returns
 * into the interpreter. With the request (argv non-NULL), it returns its
 * length packed into the interpreter's buffer; before it (argv NULL: the
 * box was confined whole before its request), no arguments and the
 * policy's environment, and the interpreter asks for the request
 * (ward__zygote_request). */
static _noreturn_ void zygote_resume(const struct plan *pl, char *const *argv, char *const *envp)
{
	long n;
	if (argv) {
		n = pack_request(argv, envp);
	} else {
		for (size_t i = 0; i < pl->env.n; i++)
			if (strv_push(&zy_base_env, pl->env.v[i]) < 0)
				_exit(EXIT_SETUP);
		static char *const none[] = {NULL};
		n = pack_request(none, zy_base_env.v ? zy_base_env.v : none);
	}
	wipe_plan((struct plan *)pl);
	wipe_policy(zy_policy);
	ns_forget();
#ifdef M_PERTURB
	mallopt(M_PERTURB, 0); /* the request's own allocations: as usual */
#endif
	if (argv)
		close(3); /* the error pipe: errors are the interpreter's own now */
	close(BROKER_BOX_FD);
	zy_out_n = n;
	siglongjmp(zy_resume_point, 1);
}

/* For ward's bootstrap only (not in include/ward.h): in a box's
 * interpreter resumed before its request (ward__zygote_serve gave it no
 * arguments, the policy's environment only), waits for the request and
 * returns its length packed as the request's arguments and its own
 * variables (another program is executed, a failure ends the process
 * with a setup error). */
WARD_API long ward__zygote_request(void);
WARD_API long ward__zygote_request(void)
{
	char *const *argv, *const *extra;
	box_interpreter_request(&zy_base_env, &argv, &extra);
	long n = pack_request(argv, extra);
	close(3);
	return n;
}

/* Builds the box's plan from the policy, the controller's limits and
 * cgroup, and the received fds; clones the box (box_init in the child). */
static pid_t zygote_spawn(const struct spawn *s, const int *fd, int *ret_pidfd, struct err *e)
{
	struct run_options o = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1,
				.client_dir = zy_channel ? zy_client_dir : NULL};
	struct channel_config any_channel = {0};
	if (zy_channel)
		o.channel = &any_channel;
	bool root = geteuid() == 0;
	struct plan pl = {.hostname = zy_policy->hostname ? zy_policy->hostname : "ward",
			  .net = zy_policy->net, .root = root,
			  .host_uid = root ? NOBODY_UID : geteuid(),
			  .host_gid = root ? NOBODY_GID : getegid(),
			  .deferred = true, .resume = zygote_resume};
	struct plan_notes notes = {0};
	struct plumbing io = {
		.sync = {fd[FD_SYNC], -1}, .status = {-1, fd[FD_STATUS]}, .errp = {-1, fd[FD_ERRP]},
		.out = {-1, fd[FD_OUT]}, .err = {-1, fd[FD_ERR]}, .in = {fd[FD_IN], -1},
		.chan = {-1, fd[FD_CHAN]}, .disk = {-1, fd[FD_DISK]}, .req = {-1, fd[FD_REQ]},
		.stdin_direct = -1, .broker_fd = fd[FD_BROKER],
	};
	pid_t pid = -1;
	int r;
	if ((r = plan_limits(&pl, &notes, zy_policy)) < 0 ||
	    (r = plan_host(&pl, &notes)) < 0 ||
	    (r = plan_filesystem(&pl, &notes, zy_policy, &o, e)) < 0 ||
	    (r = mnt_prepare_writable(&pl.mp, pl.root, pl.host_uid, pl.host_gid, e)) < 0 ||
	    (r = plan_environment(&pl, zy_policy, &o)) < 0 ||
	    (r = plan_exec(&pl, zy_policy, e)) < 0 ||
	    (r = plan_landlock(&pl, e)) < 0) {
		pid = r;
		goto out;
	}
	pl.lim = s->lim;
	if (s->cg_version) {
		pl.have_cg = true;
		pl.cg.version = s->cg_version;
		pl.cg.v2_fd = s->cg_version == 2 ? fd[FD_CG0] : -1;
		pl.cg.v1_tasks[0] = s->cg_version == 1 ? fd[FD_CG0] : -1;
		pl.cg.v1_tasks[1] = s->cg_version == 1 ? fd[FD_CG1] : -1;
		for (int i = 0; i < 3; i++)
			pl.cg.lock_fd[i] = -1;
		for (int i = 0; i < N_USAGE; i++)
			pl.cg.usage_fd[i] = -1;
	}
	pid = ns_clone_box(pl.have_cg && pl.cg.version == 2 ? pl.cg.v2_fd : -1,
			   !(pl.have_cg && pl.cg.version == 1), pl.root && !pl.root_owner, ret_pidfd);
	if (pid == 0)
		box_init(&pl, &io);
	if (pid < 0)
		err_errno(e, -pid, "cannot create the box's namespaces");
out:
	pl.have_cg = false; /* the controller's: never destroyed here */
	wipe_plan(&pl);
	plan_free(&pl);
	return pid;
}

/* Serves the controller on ctl (fd 4 of the bootstrap): returns -1 in the
 * zygote when the controller is gone, and in a request's process (a fork
 * of a box's init, fully confined) the length of the request's argv and
 * environment written to out. For ward's bootstrap only: not part of the
 * API (include/ward.h). */
WARD_API long ward__zygote_serve(int ctl, char *out, size_t out_len);
WARD_API long ward__zygote_serve(int ctl, char *out, size_t out_len)
{
	struct err e = {{0}};
	struct hello h;
	static char text[HELLO_MAX];
	/* Freed memory is overwritten from here on: the host paths that the
	 * policy's parsing and each box's plan leave in freed allocations
	 * must not reach a request's process (a fork of this one). */
#ifdef M_PERTURB
	mallopt(M_PERTURB, 0xa5);
#endif
	struct iovec iov[] = {{&h, sizeof(h)}, {text, sizeof(text) - 1}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n = recvmsg(ctl, &msg, 0);
	if (n < (ssize_t)sizeof(h) || h.magic != ZYGOTE_MAGIC ||
	    (size_t)n != sizeof(h) + h.text_len || (msg.msg_flags & MSG_TRUNC))
		return -1;
	text[h.text_len] = 0;
	h.client_dir[sizeof(h.client_dir) - 1] = 0;
	memcpy(zy_client_dir, h.client_dir, sizeof(zy_client_dir));
	zy_channel = h.channel;
	if (policy_new(&zy_policy) < 0 ||
	    policy_parse(zy_policy, "zygote", text, h.text_len, &e) < 0) {
		fprintf(stderr, "cannot read the policy: %s\n", e.msg);
		return -1;
	}
	explicit_bzero(text, h.text_len);
	explicit_bzero(&h, sizeof(h));
	zy_out = out;
	zy_out_len = out_len;
	/* The boxes' inits are our children: reaped as soon as they exit. */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0 || fdpass_send(ctl, "ready", 5, NULL, 0) < 0)
		return -1;
	if (sigsetjmp(zy_resume_point, 0)) {
		/* A request's process, from zygote_resume. */
		scrub_stack();
		return zy_out_n;
	}
	for (;;) {
		struct pollfd pf[] = {{ctl, POLLIN, 0}, {sfd, POLLIN, 0}};
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			return -1;
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) > 0)
			;
		/* A box's host pid and usage: not for a later request's eyes
		 * (this frame is above the stack scrub). */
		explicit_bzero(&si, sizeof(si));
		while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
			;
		if (!(pf[0].revents & (POLLIN | POLLHUP)))
			continue;
		struct spawn s = {0};
		int got[N_SPAWN_FDS], fd[N_SPAWN_FDS];
		size_t nfd = 0;
		int r = fdpass_recv(ctl, 0, &s, sizeof(s), got, N_SPAWN_FDS, &nfd);
		if (r == -EPIPE)
			return -1;
		struct spawn_reply rep = {0};
		size_t k = 0;
		for (int i = 0; i < N_SPAWN_FDS; i++)
			fd[i] = s.present & (1u << i) && k < nfd ? got[k++] : -1;
		int pidfd = -1;
		if (r < 0 || s.magic != ZYGOTE_MAGIC || k != nfd || fd[FD_SYNC] < 0 ||
		    fd[FD_STATUS] < 0 || fd[FD_ERRP] < 0 || fd[FD_OUT] < 0 || fd[FD_ERR] < 0 ||
		    fd[FD_REQ] < 0) {
			rep.pid = -EPROTO;
			snprintf(rep.msg, sizeof(rep.msg), "the zygote got a malformed request");
		} else {
			e = (struct err){{0}};
			rep.pid = zygote_spawn(&s, fd, &pidfd, &e);
			snprintf(rep.msg, sizeof(rep.msg), "%s", e.msg);
		}
		for (size_t i = 0; i < nfd; i++)
			close(got[i]);
		(void)fdpass_send(ctl, &rep, sizeof(rep), &pidfd, pidfd >= 0 ? 1 : 0);
		if (pidfd >= 0)
			close(pidfd);
	}
}
