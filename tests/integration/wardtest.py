"""wardtest.py — the harness of ward's integration tests.

Each test file (test_*.py next to this one) holds functions named test_*
taking one argument, a Context, and is run as

    /usr/bin/python3 test_TOPIC.py --ward PATH --as root|unpriv \
        --examples DIR [-k SUBSTRING] [--skip NAME] [--keep]

The tests drive the `ward` command from outside and judge what came out of
it: its exit status, its stdout and stderr, the JSON report (--report FILE)
and files on the host. What a program inside the box prints is only trusted
where nothing else can observe the outcome (e.g. the errno a call got).

--as root runs ward as root (the box then runs as host uid 65534);
--as unpriv runs it as uid/gid 65534 through `setpriv`. Every test gets its
own directory under a scratch directory in /var/tmp owned by 65534, so the
unprivileged ward can use it, and so that the box's host uid (65534 in both
modes) could write there if nothing but the box stood in the way.

Exit status: 0 when every test passed (or was skipped), 1 otherwise.
Standard library only; run with Debian's /usr/bin/python3.
"""

import argparse
import ctypes
import json
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.dont_write_bytecode = True

NOBODY = 65534
PYTHON = "/usr/bin/python3"  # Debian's, never a pyenv shim
BOX_PATH = "/usr/local/bin:/usr/bin:/bin"

# How much slower than this host the machine is: tests/vm/cgroup2 sets it
# for its emulated (TCG) CPUs. It stretches the bounds on how long a run may
# take to end by itself (expect_finished) and the harness's own kill
# timeout; never a bound the test is about (wall-time or cpu-time limits).
TIME_SCALE = float(os.environ.get("WARD_TEST_TIME_SCALE", "1"))

K, M, G = 1 << 10, 1 << 20, 1 << 30
DEFAULT_LIMITS = {
    "memory": 1 * G,
    "cpu-time": None,
    "wall-time": None,
    "procs": 128,
    "output": 64 * M,
    "file-size": 64 * M,
    "open-files": 1024,
    "tmp-size": 64 * M,
    "disk": 256 * M,
}
# The most the harness reads from one run of ward (stdout and stderr
# together): the default output limit, plus room for ward's own messages.
# A box whose output passes it means the output limit did not hold: the
# harness stops reading, kills the run and fails the test, rather than
# collecting without bound (with the limit removed, one test grew to
# ~24 GB and the host's OOM killer fired).
READ_CAP = DEFAULT_LIMITS["output"] + 1 * M
STATUSES = {"exited", "signaled", "time-limit", "cpu-limit", "memory-limit",
            "output-limit", "procs-limit", "file-size-limit", "setup-error", "io-error",
            "violation"}
EXIT = {
    "output-limit": 116,
    "file-size-limit": 117,
    "procs-limit": 118,
    "memory-limit": 119,
    "cpu-limit": 120,
    "usage": 122,
    "io-error": 123,
    "time-limit": 124,
    "setup-error": 125,
    "not-executable": 126,
    "not-found": 127,
}
# The layers every run must have, whatever the host (ward refuses to run
# without them); a cgroup layer comes on top when one is used.
REQUIRED_LAYERS = ["user-ns", "mount-ns", "pid-ns", "net-ns", "ipc-ns", "uts-ns",
                   "cgroup-ns", "pivot-root", "setsid", "no-new-privs",
                   "caps-dropped", "seccomp", "landlock", "rlimits"]


class Failure(Exception):
    """A check did not hold."""


class Skip(Exception):
    """The test does not apply here (said why)."""


def log(msg=""):
    print(msg, flush=True)


def _cut(data, limit=3000):
    if isinstance(data, bytes):
        text = data.decode("utf-8", "replace")
    else:
        text = data
    if len(text) > limit:
        return text[:limit] + "\n[... %d more characters]" % (len(text) - limit)
    return text


class Run:
    """What one invocation of ward produced."""

    def __init__(self, argv):
        self.argv = argv
        self.rc = None
        self.out = b""
        self.err = b""
        self.wall = 0.0
        self.timed_out = False
        self.capped = False  # the harness stopped reading at its cap
        self.report = None
        self.report_text = None
        self.report_path = None

    @property
    def status(self):
        return self.report.get("status") if isinstance(self.report, dict) else None

    @property
    def stdout(self):
        return self.out.decode("utf-8", "replace")

    @property
    def stderr(self):
        return self.err.decode("utf-8", "replace")

    def describe(self):
        return ("\n  command: %s\n  exit status: %s%s, %.2f s\n--- stdout (%d bytes) ---\n%s"
                "\n--- stderr (%d bytes) ---\n%s\n--- report ---\n%s" % (
                    " ".join(self.argv), self.rc,
                    " (killed by the test: timed out)" if self.timed_out else "",
                    self.wall, len(self.out), _cut(self.out), len(self.err),
                    _cut(self.err), _cut(self.report_text or "(none)")))


# --- checks -----------------------------------------------------------------

def expect(cond, msg, run=None):
    if not cond:
        raise Failure(msg + (run.describe() if run else ""))


def expect_eq(actual, expected, what, run=None):
    if actual != expected:
        raise Failure("%s: expected %r, got %r%s" % (
            what, _short(expected), _short(actual), run.describe() if run else ""))


def expect_in(needle, haystack, what, run=None):
    if needle not in haystack:
        raise Failure("%s: %r not found in %r%s" % (
            what, _short(needle), _short(haystack), run.describe() if run else ""))


def expect_not_in(needle, haystack, what, run=None):
    if needle in haystack:
        raise Failure("%s: %r unexpectedly found%s" % (
            what, _short(needle), run.describe() if run else ""))


def _short(v):
    if isinstance(v, (bytes, str)) and len(v) > 300:
        return v[:300] + (b"..." if isinstance(v, bytes) else "...")
    return v


def expect_finished(run, within=None):
    """ward ended by itself (and, when given, within that many seconds)."""
    expect(not run.timed_out, "ward did not finish: the test killed it", run)
    expect(run.rc is not None and run.rc >= 0,
           "ward itself died of signal %s" % (-run.rc if run.rc is not None else "?"), run)
    if within is not None:
        within *= TIME_SCALE
        expect(run.wall <= within, "ward took %.2f s, expected at most %.1f s" % (run.wall, within), run)


def expect_exit(run, rc, status=None):
    """ward's exit status, and the report's status when one was asked for."""
    expect_finished(run)
    expect_eq(run.rc, rc, "ward's exit status", run)
    if status is not None:
        expect_report(run)
        expect_eq(run.status, status, "report status", run)


def expect_ok(run, stdout=None):
    """The program ran and exited 0 (and printed exactly stdout if given)."""
    expect_exit(run, 0, "exited" if run.report_path else None)
    if stdout is not None:
        expect_eq(run.out, stdout if isinstance(stdout, bytes) else stdout.encode(), "stdout", run)


def expect_report(run):
    """A report was written, is one JSON object and has the documented shape."""
    expect(run.report is not None, "no (valid) report was written to %s" % run.report_path, run)
    check_report_shape(run.report, run)


def check_report_shape(rep, run=None):
    expect(isinstance(rep, dict), "the report is not a JSON object", run)
    for key in ("status", "exit_code", "signal", "wall_time_s", "cpu_time_s",
                "peak_memory_bytes", "output_bytes", "limits", "limit_source",
                "layers", "landlock_abi", "error"):
        expect(key in rep, "the report has no %r" % key, run)
    expect(rep["status"] in STATUSES, "unknown report status %r" % rep["status"], run)
    num = (int, float)
    for key in ("wall_time_s", "cpu_time_s"):
        expect(isinstance(rep[key], num) and not isinstance(rep[key], bool) and rep[key] >= 0,
               "report %s is not a non-negative number" % key, run)
    for key in ("peak_memory_bytes", "output_bytes", "landlock_abi"):
        expect(isinstance(rep[key], int) and not isinstance(rep[key], bool) and rep[key] >= 0,
               "report %s is not a non-negative integer" % key, run)
    if rep["status"] == "exited":
        expect(isinstance(rep["exit_code"], int), "exited but exit_code is not an integer", run)
    else:
        expect(rep["exit_code"] is None, "status %s but exit_code is not null" % rep["status"], run)
    expect(rep["signal"] is None or (isinstance(rep["signal"], str) and rep["signal"].startswith("SIG")),
           "report signal is neither null nor a signal name", run)
    if rep["status"] == "signaled":
        expect(rep["signal"] is not None, "signaled without a signal name", run)
    if rep["status"] in ("setup-error", "io-error"):
        expect(isinstance(rep["error"], str) and rep["error"], "%s without an error message" % rep["status"], run)
    else:
        expect(rep["error"] is None, "error is set but status is %s" % rep["status"], run)
    expect(isinstance(rep["limits"], dict), "report limits is not an object", run)
    for name in DEFAULT_LIMITS:
        expect(name in rep["limits"], "report limits has no %r" % name, run)
        v = rep["limits"][name]
        expect(v is None or (isinstance(v, num) and not isinstance(v, bool) and v > 0),
               "report limits.%s is %r" % (name, v), run)
    expect(isinstance(rep["limit_source"], dict), "report limit_source is not an object", run)
    expect(isinstance(rep["layers"], list) and all(isinstance(x, str) for x in rep["layers"]),
           "report layers is not a list of names", run)


def extract_json(text):
    """The first JSON object in text (e.g. a report among notices on stderr)."""
    dec = json.JSONDecoder()
    i = text.find("{")
    while i >= 0:
        try:
            obj, _ = dec.raw_decode(text, i)
            if isinstance(obj, dict):
                return obj
        except ValueError:
            pass
        i = text.find("{", i + 1)
    return None


# --- host probes ------------------------------------------------------------

def landlock_abi():
    """The kernel's Landlock ABI (landlock_create_ruleset with the VERSION
    flag), 0 when it has none: an independent check of ward's figures."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    v = libc.syscall(ctypes.c_long(444), None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(v), 0)


def delegated_cgroup():
    """The cgroup v2 subtree delegated to uid 65534 that an unprivileged
    ward started from here may use, or None: the parent of this process's
    cgroup (the 0:: line of /proc/self/cgroup; ward runs beside its caller,
    cgroup v2 keeps processes in leaves), owned with its cgroup.procs by
    65534, with memory and pids enabled for its children. Judged from
    ownership, not from ward's own test (access(2))."""
    try:
        with open("/proc/self/cgroup") as f:
            rel = [line[3:].strip() for line in f if line.startswith("0::")][0]
    except (OSError, IndexError):
        return None
    root = "/sys/fs/cgroup"
    if not os.path.exists(os.path.join(root, "cgroup.subtree_control")):
        root = "/sys/fs/cgroup/unified"
    parent = os.path.dirname(rel.rstrip("/"))
    if rel in ("", "/") or parent in ("", "/"):
        return None
    path = root + parent
    try:
        if os.stat(path).st_uid != NOBODY or os.stat(path + "/cgroup.procs").st_uid != NOBODY:
            return None
        with open(path + "/cgroup.subtree_control") as f:
            enabled = f.read().split()
    except OSError:
        return None
    return path if "memory" in enabled and "pids" in enabled else None


def ward_cgroups(pid):
    """The run cgroups ward process pid made (their names start with
    run-PID-), in every hierarchy ward uses."""
    found = []
    parents = ["/sys/fs/cgroup/ward", "/sys/fs/cgroup/unified/ward",
               "/sys/fs/cgroup/memory/ward", "/sys/fs/cgroup/pids/ward"]
    if delegated_cgroup():
        parents.append(delegated_cgroup() + "/ward")
    for parent in parents:
        try:
            found += [os.path.join(parent, n) for n in os.listdir(parent)
                      if n.startswith("run-%d-" % pid)]
        except OSError:
            pass
    return found


def cgroup_usable(controller, unpriv=False):
    """Whether ward could create a cgroup with this controller here: as root
    a v2 hierarchy that offers it, or a writable v1 hierarchy of it; as uid
    65534 a delegated v2 subtree (delegated_cgroup)."""
    if os.geteuid() != 0:
        return False
    if unpriv:
        return delegated_cgroup() is not None
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            if controller in f.read().split():
                return os.access("/sys/fs/cgroup", os.W_OK)
    except OSError:
        pass
    v1 = "/sys/fs/cgroup/" + controller
    return os.path.isdir(v1) and os.path.exists(os.path.join(v1, "tasks")) and os.access(v1, os.W_OK)


def proc_stat(pid):
    """(ppid, uid) of a host process, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            stat = f.read()
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        return ppid, os.stat("/proc/%d" % pid).st_uid
    except (OSError, ValueError, IndexError):
        return None


def descendants(root):
    """The host pids below root in the process tree (root excluded)."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st:
                children.setdefault(st[0], []).append(int(d))
    out, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def pids_with_token(token):
    """Host processes whose command line holds token."""
    found = []
    tok = token.encode()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if tok in f.read():
                    found.append(int(d))
        except OSError:
            pass
    return found


def expect_gone(token, run, grace=2.0):
    """No process whose command line holds token is left on the host
    (after a grace period: ward may return before the box is reaped)."""
    deadline = time.monotonic() + grace
    while pids_with_token(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = pids_with_token(token)
    if left:
        # They are this test's own (the token is unique to it): end them so
        # that a failure here leaves nothing behind.
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    expect(not left, "box processes outlived the run: %s" % left, run)


def rss_total(pids):
    """Resident memory of these host processes together, in bytes."""
    total = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for pid in pids:
        try:
            with open("/proc/%d/statm" % pid) as f:
                total += int(f.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            pass
    return total


class Sampler(threading.Thread):
    """Calls fn every `every` seconds until finish(); keeps the values."""

    def __init__(self, fn, every=0.05):
        super().__init__(daemon=True)
        self.fn = fn
        self.every = every
        self.values = []
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            try:
                self.values.append(self.fn())
            except Exception:  # a process vanished mid-walk: try again
                pass
            self._stop_event.wait(self.every)

    def finish(self):
        self._stop_event.set()
        self.join()
        return self.values


# --- the per-test context ---------------------------------------------------

class Suite:
    def __init__(self, args):
        self.mode = args.mode
        self.examples = os.path.abspath(args.examples) if args.examples else None
        self.keep = args.keep
        self.canary_name = "WARD_TEST_CANARY"
        self.canary = "canary-" + secrets.token_hex(12)
        self.base = tempfile.mkdtemp(prefix="ward-integ-", dir="/var/tmp")
        os.chmod(self.base, 0o755)
        self.ward = self._reachable_ward(os.path.abspath(args.ward))

    def _reachable_ward(self, path):
        """The ward binary, copied into the scratch directory when uid 65534
        cannot reach it where it was built (a checkout under /root)."""
        if self.mode != "unpriv":
            return path
        probe = subprocess.run(unpriv_prefix() + ["test", "-x", path])
        if probe.returncode == 0:
            return path
        bindir = os.path.join(self.base, "bin")
        os.mkdir(bindir, 0o755)
        copy = os.path.join(bindir, "ward")
        shutil.copy2(path, copy)
        os.chmod(copy, 0o755)
        return copy

    def cleanup(self):
        if self.keep:
            log("# kept %s" % self.base)
            return
        shutil.rmtree(self.base, ignore_errors=True)


def unpriv_prefix():
    return ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", "--"]


class Context:
    """One test's view: its scratch directory and ways to run ward."""

    def __init__(self, suite, name):
        self.suite = suite
        self.name = name
        self.mode = suite.mode
        self.unpriv = suite.mode == "unpriv"
        self.ward_path = suite.ward
        self.examples = suite.examples
        self.canary = suite.canary
        self.canary_name = suite.canary_name
        self.dir = os.path.join(suite.base, name)
        os.mkdir(self.dir)
        chown(self.dir)
        self.work = self.mkdir("work")  # the default current directory of runs
        self.reports = self.mkdir("reports")
        self._n = 0

    # files

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def mkdir(self, name, mode=0o755):
        p = self.path(name)
        os.makedirs(p, exist_ok=True)
        os.chmod(p, mode)
        chown(p)
        return p

    def write(self, name, data, mode=0o644):
        """Writes a file (relative to the test's directory) owned by 65534."""
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.chmod(p, mode)
        chown(p)
        return p

    def example(self, name):
        """Copies examples/NAME into the work directory; returns its name."""
        if not self.examples:
            raise Skip("no --examples directory given")
        with open(os.path.join(self.examples, name), "rb") as f:
            self.write(os.path.join("work", name), f.read())
        return name

    # running

    def env(self, extra=None):
        """ward's own environment: small, plus a canary that must never
        reach the box."""
        env = {
            "PATH": BOX_PATH,
            "LANG": "C.UTF-8",
            "HOME": "/nonexistent" if self.unpriv else "/root",
            self.canary_name: self.canary,
        }
        env.update(extra or {})
        return env

    def argv(self, args):
        """The command line that runs `ward ARGS...` as the mode's user."""
        return (unpriv_prefix() if self.unpriv else []) + [self.ward_path] + list(args)

    def popen(self, args, cwd=None, env=None, **kw):
        """Starts `ward ARGS...` and leaves the pipes to the caller."""
        return subprocess.Popen(self.argv(args), cwd=cwd or self.work, env=env or self.env(),
                                start_new_session=True, **kw)

    def ward(self, args, *, input=None, stdin=None, cwd=None, env=None, extra_env=None,
             timeout=60, during=None, read_cap=READ_CAP):
        """Runs `ward ARGS...` as the mode's user; returns a Run.
        input: bytes fed on a pipe; stdin: a file object or fd instead.
        during: called with the Popen once ward started (for sampling).
        read_cap: the most bytes read from stdout and stderr together;
        passing it kills the run and fails the test."""
        argv = self.argv(args)
        r = Run([self.ward_path] + list(args))
        if env is None:
            env = self.env(extra_env)
        t0 = time.monotonic()
        p = subprocess.Popen(argv, cwd=cwd or self.work, env=env,
                             stdin=subprocess.PIPE if input is not None else (
                                 stdin if stdin is not None else subprocess.DEVNULL),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        if during:
            during(p)
        r.out, r.err, r.timed_out, r.capped = collect(p, input, t0 + timeout * TIME_SCALE, read_cap)
        r.wall = time.monotonic() - t0
        r.rc = p.returncode
        if r.capped:
            raise Failure("the run printed more than %d bytes, the harness's cap: the output "
                          "limit did not hold (the test stopped reading and killed it)%s"
                          % (read_cap, r.describe()))
        return r

    def run(self, program, *opts, report=True, **kw):
        """`ward run [--report FILE] OPTS... -- PROGRAM...`; program is a
        list (or a string for a lone program name)."""
        if isinstance(program, str):
            program = [program]
        args = ["run"]
        rpath = None
        if report:
            self._n += 1
            rpath = os.path.join(self.reports, "run-%d.json" % self._n)
            args += ["--report", rpath]
        args += list(opts) + ["--"] + list(program)
        r = self.ward(args, **kw)
        r.report_path = rpath
        if rpath and os.path.exists(rpath):
            with open(rpath, encoding="utf-8", errors="replace") as f:
                r.report_text = f.read()
            try:
                r.report = json.loads(r.report_text)
            except ValueError:
                r.report = None
        return r

    def py(self, code, *args, opts=(), **kw):
        """Runs Debian's python3 with code in the box."""
        return self.run([PYTHON, "-c", code] + [str(a) for a in args], *opts, **kw)

    def sh(self, script, *args, opts=(), **kw):
        return self.run(["/bin/sh", "-c", script, "sh"] + [str(a) for a in args], *opts, **kw)


def chown(path):
    os.chown(path, NOBODY, NOBODY, follow_symlinks=False)


def collect(p, input, deadline, cap):
    """Feeds input to p's stdin pipe (if any) and reads its stdout and
    stderr until both close, the deadline passes or, together, they pass
    cap bytes; then kills p's process group unless p ended by itself and
    reaps it. Returns (stdout, stderr, timed_out, capped). Unlike
    communicate(), what it keeps is bounded by cap."""
    out_fd, err_fd = p.stdout.fileno(), p.stderr.fileno()
    bufs = {out_fd: bytearray(), err_fd: bytearray()}
    sel = selectors.DefaultSelector()
    for fd in bufs:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    pending = memoryview(input or b"")
    in_fd = p.stdin.fileno() if p.stdin is not None else None
    if p.stdin is not None:
        if pending:
            os.set_blocking(p.stdin.fileno(), False)
            sel.register(p.stdin.fileno(), selectors.EVENT_WRITE)
        else:
            p.stdin.close()
    total, timed_out, capped = 0, False, False
    while len(sel.get_map()) and not capped:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        for key, _ in sel.select(min(left, 1.0)):
            if key.fd == in_fd:
                try:
                    n = os.write(key.fd, pending[:1 << 16])
                    pending = pending[n:]
                except BlockingIOError:
                    continue
                except (BrokenPipeError, OSError):
                    pending = pending[:0]
                if not pending:
                    sel.unregister(key.fd)
                    p.stdin.close()
                continue
            try:
                chunk = os.read(key.fd, min(1 << 16, cap + 1 - total))
            except BlockingIOError:
                continue
            if not chunk:
                sel.unregister(key.fd)
                continue
            bufs[key.fd] += chunk
            total += len(chunk)
            if total > cap:
                capped = True
                break
    sel.close()
    if not timed_out and not capped:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
    if timed_out or capped:
        kill_group(p)
        p.wait()
    for f in (p.stdin, p.stdout, p.stderr):
        if f is not None and not f.closed:
            f.close()
    return bytes(bufs[out_fd]), bytes(bufs[err_fd]), timed_out, capped


def kill_group(p):
    """Kills a process group this harness started (setsid'd by Popen)."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# --- the runner -------------------------------------------------------------

def main():
    """Runs the test_* functions of the calling script, in file order."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--ward", required=True)
    ap.add_argument("--as", dest="mode", choices=("root", "unpriv"), default="root")
    ap.add_argument("--examples")
    ap.add_argument("-k", dest="select", action="append", default=[],
                    help="run only tests whose name contains this")
    ap.add_argument("--skip", dest="exclude", action="append", default=[],
                    help="skip the test of this name (tests/vm/cgroup2: timing under TCG)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    if os.geteuid() != 0:
        log("the integration tests run as root (the unpriv mode drops to uid %d itself)" % NOBODY)
        return 77
    if not os.path.exists(args.ward):
        log("ward binary %r does not exist" % args.ward)
        return 1

    mod = sys.modules["__main__"]
    tests = [(n, f) for n, f in vars(mod).items()
             if n.startswith("test_") and callable(f)]
    if args.select:
        tests = [(n, f) for n, f in tests if any(s in n for s in args.select)]
    tests = [(n, f) for n, f in tests if n not in args.exclude]
    suite = Suite(args)
    log("# %s as %s, ward %s, scratch %s" % (os.path.basename(mod.__file__), args.mode,
                                            suite.ward, suite.base))
    failed, skipped = [], []
    try:
        for name, fn in tests:
            only = getattr(fn, "modes", None)
            if only and args.mode not in only:
                skipped.append(name)
                log("skip %s: only as %s" % (name, "/".join(only)))
                continue
            t0 = time.monotonic()
            try:
                fn(Context(suite, name[len("test_"):]))
            except Skip as e:
                skipped.append(name)
                log("skip %s: %s" % (name, e))
            except Failure as e:
                failed.append(name)
                log("FAIL %s (%.1f s): %s\n" % (name, time.monotonic() - t0, e))
            except Exception:
                failed.append(name)
                log("FAIL %s (%.1f s): the test itself broke:\n%s" % (
                    name, time.monotonic() - t0, traceback.format_exc()))
            else:
                log("ok   %s (%.1f s)" % (name, time.monotonic() - t0))
    finally:
        suite.cleanup()
    log("# %d passed, %d failed, %d skipped%s" % (
        len(tests) - len(failed) - len(skipped), len(failed), len(skipped),
        (": " + " ".join(failed)) if failed else ""))
    return 1 if failed else 0


def only_as(*modes):
    """Marks a test that applies to some modes only."""
    def mark(fn):
        fn.modes = modes
        return fn
    return mark
