#!/usr/bin/python3
"""escape.py — run one escape attack in ward's box and judge it from outside.

usage: escape.py --ward WARD --attack BIN [--attack BIN]... [--as MODE] CASE

Each CASE prepares the host side (a canary file holding a random secret
outside every grant, a secret in ward's own environment, listeners, a
victim process, marker paths, ...), runs `ward run ... -- ATTACK` and then
checks the outcome on the host: the secrets never appear in anything the
box printed, no marker exists, the victim lives, the listeners saw nothing,
ward's exit status and report are as expected, and the run ended in bounded
time. The attack programs print what they tried; they are never the judge.

Every case runs twice: as root (the box then maps to host uid 65534) and as
the unprivileged uid 65534 (`setpriv`). Host fixtures are owned by 65534 and
world-readable or -writable where that gives the box the most power, so
that only the box's own layers stand between it and the target. Where it is
safe, a case first runs its attack *outside* the box ("calibration") to show
that the host-side check does catch the attack when nothing stops it.

Exit status: 0 when every check held in every mode, 1 otherwise.
Only the Python standard library is used; run it with Debian's python3.
"""

import argparse
import fcntl
import hashlib
import json
import os
import secrets
import selectors
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty

NOBODY = 65534
SIGSYS = int(signal.SIGSYS)
KEEP_OUTPUT = 8 << 20  # bytes of each stream kept for messages and checks
DEFAULT_OUTPUT_LIMIT = 64 << 20
DEFAULT_TMP_SIZE = 64 << 20
DEFAULT_MEMORY = 1 << 30
DEFAULT_PROCS = 128
# The most a case reads from one run (both streams together): the default
# output limit plus room for ward's messages. Past it the output limit did
# not hold; the driver stops reading, kills the run and fails the case
# instead of reading for as long as the box writes.
READ_CAP = DEFAULT_OUTPUT_LIMIT + (1 << 20)


def log(msg=""):
    print(msg, flush=True)


class Result:
    """What one run of ward (or of an attack outside the box) produced."""

    def __init__(self):
        self.rc = None
        self.stdout = b""
        self.stderr = b""
        self.out_bytes = 0
        self.err_bytes = 0
        self.wall = 0.0
        self.timed_out = False
        self.capped = False  # the driver stopped reading at READ_CAP
        self.report = None
        self.report_text = ""
        self.seen = set()  # secrets found in the output
        self.report_required = False

    def text(self, limit=6000):
        def cut(b):
            s = b.decode("utf-8", "replace")
            return s if len(s) <= limit else s[:limit] + "\n[... %d more characters]" % (len(s) - limit)

        return "--- stdout ---\n%s\n--- stderr ---\n%s\n--- report ---\n%s" % (
            cut(self.stdout), cut(self.stderr), self.report_text[:2000])

    @property
    def status(self):
        return self.report.get("status") if isinstance(self.report, dict) else None


class Scanner:
    """Looks for the secrets in a stream delivered in chunks, across chunk
    boundaries, while keeping only the first KEEP_OUTPUT bytes."""

    def __init__(self, needles, seen):
        self.needles = [n.encode() for n in needles]
        self.tail = b""
        self.seen = seen
        self.kept = bytearray()
        self.total = 0
        self.overlap = max((len(n) for n in self.needles), default=1)

    def feed(self, chunk):
        self.total += len(chunk)
        if len(self.kept) < KEEP_OUTPUT:
            self.kept += chunk[: KEEP_OUTPUT - len(self.kept)]
        window = self.tail + chunk
        for n in self.needles:
            if n in window:
                self.seen.add(n.decode())
        self.tail = window[-self.overlap:]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def host_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def proc_read(pid, name):
    try:
        with open("/proc/%d/%s" % (pid, name), "rb") as f:
            return f.read()
    except OSError:
        return b""


def meminfo_available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def runs_program(pid, path):
    """Whether host process pid runs the program at path (its argv[0])."""
    return proc_read(pid, "cmdline").split(b"\0")[0] == path


def box_memory(path):
    """Host memory held by the processes running the program at path (this
    run's copy of the attack, a unique path), seen from outside: their
    anonymous resident memory plus the pages of the memfds they hold open
    (which no address-space rlimit sees once unmapped)."""
    total = 0
    files = {}
    for pid in host_pids():
        if not runs_program(pid, path):
            continue
        for line in proc_read(pid, "status").decode(errors="replace").splitlines():
            if line.startswith("RssAnon:"):
                total += int(line.split()[1]) * 1024
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            link = "/proc/%d/fd/%s" % (pid, fd)
            try:
                if os.readlink(link).startswith("/memfd:"):
                    st = os.stat(link)
                    files[(st.st_dev, st.st_ino)] = st.st_blocks * 512
            except OSError:
                pass
    return total + sum(files.values())


def disk_free(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


class Sampler(threading.Thread):
    """Samples a host measure every 0.1 s while a run is going on."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn = fn
        self.values = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.values.append(self.fn())
            except OSError:
                pass
            self.stop.wait(0.1)

    def finish(self):
        self.stop.set()
        self.join()
        return self.values


class TcpListener(threading.Thread):
    """Accepts on a host TCP port and records every connection."""

    def __init__(self, family, addr):
        super().__init__(daemon=True)
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        self.sock.bind(addr)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.accepted = []
        self.done = threading.Event()
        self.start()

    @property
    def port(self):
        return self.sock.getsockname()[1]

    def run(self):
        while not self.done.is_set():
            try:
                conn, peer = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted.append(str(peer))
            conn.close()

    def close(self):
        self.done.set()
        self.join()
        self.sock.close()


class UdpListener(threading.Thread):
    def __init__(self, addr):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(addr)
        self.sock.settimeout(0.2)
        self.received = []
        self.done = threading.Event()
        self.start()

    @property
    def port(self):
        return self.sock.getsockname()[1]

    def run(self):
        while not self.done.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            self.received.append((str(peer), data))

    def close(self):
        self.done.set()
        self.join()
        self.sock.close()


class UnixListener(threading.Thread):
    """A stream unix socket (abstract when the name starts with NUL)."""

    def __init__(self, name):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(name)
        if not name.startswith("\0"):
            os.chmod(name, 0o777)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.accepted = 0
        self.done = threading.Event()
        self.start()

    def run(self):
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted += 1
            conn.close()

    def close(self):
        self.done.set()
        self.join()
        self.sock.close()


class Host:
    """The host side of one case in one mode: a fresh directory tree, the
    secrets, a copy of ward and of the attacks, and the list of failures.

    Layout (box paths equal host paths):
      BASE/secret/canary   the canary, never granted
      BASE/granted/        granted read-only by the cases that use it, with
                           host-planted symlinks to the canary and a file
      BASE/rw/             granted read-write by the cases that use it
      BASE/cwd/            ward's working directory (implicit read-only grant)
      BASE/bin/            the attack binaries (granted read-only)
      BASE/ward/ward       the ward binary used for the run
      BASE/report/         where reports go (not granted)
      BASE/home/           $HOME for ward
    """

    def __init__(self, opts, mode):
        self.opts = opts
        self.mode = mode
        self.root = os.geteuid() == 0
        self.failures = []
        self.notes = []
        # Set by a case that could not exercise what it tests on this
        # host (e.g. no i386 emulation): with no failure in any mode, the
        # case is reported as skipped (exit 77), not as passed.
        self.skip_reason = None
        self.secret = "WARD-CANARY-" + secrets.token_hex(16)
        self.env_secret = "WARD-ENVSECRET-" + secrets.token_hex(16)
        self.token = secrets.token_hex(8)
        self.host_markers = []  # paths that must not exist on the host
        self.other_secret = "WARD-OTHERBOX-" + secrets.token_hex(16)
        self.runs = 0
        self.base = tempfile.mkdtemp(prefix="ward-escape-", dir="/var/tmp")
        b = self.base
        self.canary = b + "/secret/canary"
        self.granted = b + "/granted"
        self.rw = b + "/rw"
        self.cwd = b + "/cwd"
        self.bindir = b + "/bin"
        self.reportdir = b + "/report"
        self.home = b + "/home"
        for d in ("secret", "granted", "rw", "cwd", "bin", "report", "home", "ward", "sock"):
            os.mkdir(b + "/" + d)
        with open(self.canary, "w") as f:
            f.write(self.secret + "\n")
        os.chmod(self.canary, 0o644)
        self.canary_hash = sha256(self.canary)
        os.symlink(self.canary, self.granted + "/abs-link")
        os.symlink("../secret/canary", self.granted + "/rel-link")
        os.symlink("../secret", self.granted + "/dir-link")
        for name in ("granted/file", "cwd/file"):
            with open(b + "/" + name, "w") as f:
                f.write("ORIGINAL\n")
            os.chmod(b + "/" + name, 0o666)
        self.bins = {}
        for path in opts.attack:
            name = os.path.basename(path)
            dst = self.bindir + "/" + name
            shutil.copy2(path, dst)
            self.bins[name] = dst
        self.ward_bin = b + "/ward/ward"
        shutil.copy2(opts.ward, self.ward_bin)
        self.ward_hash = sha256(self.ward_bin)
        # --warm: ward-dyn finds libward at $ORIGIN/../lib, copied here too
        # (and checked like the binary: a zygote loads it).
        self.libward = None
        if opts.libward:
            os.makedirs(b + "/lib", exist_ok=True)
            name = os.path.basename(opts.libward)  # libward.so.1.0.0: the soname's name
            self.libward = b + "/lib/" + name[:name.index(".so.") + 5]
            shutil.copy2(opts.libward, self.libward)
            self.libward_hash = sha256(self.libward)
        self.orig_ward_hash = sha256(opts.ward)
        if self.root:
            for dirpath, dirnames, filenames in os.walk(b):
                for n in dirnames + filenames:
                    os.lchown(os.path.join(dirpath, n), NOBODY, NOBODY)
            os.chown(b, NOBODY, NOBODY)
        for d in ("secret", "granted", "rw", "cwd", "report", "home", "sock"):
            os.chmod(b + "/" + d, 0o777)
        os.chmod(b, 0o755)

    # ---- bookkeeping --------------------------------------------------

    def fail(self, msg, res=None):
        self.failures.append(msg)
        log("FAIL [%s]: %s" % (self.mode, msg))
        if res is not None:
            log(res.text())

    def note(self, msg):
        self.notes.append(msg)
        log("NOTE [%s]: %s" % (self.mode, msg))

    def check(self, cond, msg, res=None):
        if not cond:
            self.fail(msg, res)
        return cond

    def bin(self, name):
        try:
            return self.bins[name]
        except KeyError:
            raise SystemExit("escape.py: attack '%s' was not passed with --attack" % name)

    def env(self):
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": self.home,
            "LANG": "C.UTF-8",
            "USER": "escape",
            "WARD_ESCAPE_SECRET": self.env_secret,
        }

    def as_box_user(self):
        """Prefix that runs a command as the mode's uid."""
        if self.mode == "unpriv":
            return ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", "--"]
        return []

    def unboxed_prefix(self):
        """Calibration runs outside the box with the uid the box has on the
        host."""
        if self.root:
            return ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", "--"]
        return []

    # ---- running ------------------------------------------------------

    def ward_cmd(self, wargs, argv, report):
        warm = ["--warm", self.opts.warm] if self.opts.warm else []
        return (self.as_box_user() + [self.ward_bin, "run"] + warm + ["--report", report] +
                list(wargs) + ["--"] + list(argv))

    def run(self, wargs, argv, *, timeout=90, pass_fds=(), report=None, expect_out=None,
            unboxed=False, quiet=False, judge=True, refusal_ok=False):
        """Runs ward (or, with unboxed, the attack alone) and applies the
        checks every run shares (unless judge is false): bounded time, no
        secret in any output, a report that parses, and proof that the
        attack ran. With refusal_ok, ward may refuse to build the box
        (setup-error)."""
        self.runs += 1
        res = Result()
        if unboxed:
            cmd = self.unboxed_prefix() + list(argv)
            report = None
        else:
            if report is None:
                report = "%s/report-%d.json" % (self.reportdir, self.runs)
            cmd = self.ward_cmd(wargs, argv, report)
        if not quiet:
            log("$ " + " ".join(cmd))
        start = time.monotonic()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=self.cwd, env=self.env(),
                             pass_fds=pass_fds, start_new_session=True)
        needles = [self.secret, self.env_secret, self.other_secret]
        out, err = Scanner(needles, res.seen), Scanner(needles, res.seen)
        scans = {p.stdout.fileno(): out, p.stderr.fileno(): err}
        sel = selectors.DefaultSelector()
        for f in (p.stdout, p.stderr):
            os.set_blocking(f.fileno(), False)
            sel.register(f.fileno(), selectors.EVENT_READ)
        open_fds = 2
        deadline = start + timeout
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                res.timed_out = True
                break
            for key, _ in sel.select(min(left, 1.0)):
                try:
                    chunk = os.read(key.fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(key.fd)
                    open_fds -= 1
                else:
                    scans[key.fd].feed(chunk)
            if out.total + err.total > READ_CAP:
                res.capped = True
                break
        if not res.timed_out and not res.capped:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                res.timed_out = True
        if res.timed_out or res.capped:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        res.wall = time.monotonic() - start
        sel.close()
        p.stdout.close()
        p.stderr.close()
        res.rc = p.returncode
        res.stdout, res.stderr = bytes(out.kept), bytes(err.kept)
        res.out_bytes, res.err_bytes = out.total, err.total
        if report and os.path.exists(report) and not os.path.islink(report):
            with open(report, "rb") as f:
                raw = f.read()
            res.report_text = raw.decode("utf-8", "replace")
            for n in needles:
                if n in res.report_text:
                    res.seen.add(n)
            try:
                res.report = json.loads(raw)
            except ValueError:
                res.report = None
        if not quiet:
            log("  -> exit %s in %.2fs, %d+%d output bytes, report status %s" % (
                res.rc, res.wall, res.out_bytes, res.err_bytes, res.status))
            if self.opts.verbose:
                log(res.text())
        res.report_required = report is not None and report.startswith(self.reportdir)
        self.check(not res.capped, "the run wrote more than %d bytes, the driver's cap: the output "
                   "limit did not hold (the driver stopped reading and killed it)" % READ_CAP, res)
        if unboxed or not judge:
            return res
        self.check(not res.timed_out, "ward did not finish within %ds" % timeout, res)
        names = {self.secret: "canary", self.env_secret: "environment", self.other_secret: "another box"}
        self.check(not res.seen, "secret(s) leaked into the box's output or report: %s" % sorted(
            names[s] for s in res.seen), res)
        if res.report_required:
            self.check(res.report is not None, "no parsable report at '%s'" % report, res)
        if res.status == "setup-error" and refusal_ok:
            log("  (ward refused: %s)" % res.report.get("error"))
        elif res.status == "setup-error":
            self.fail("the box could not be built: %s" % res.report.get("error"), res)
        elif expect_out is not None and not res.timed_out:
            self.check(expect_out.encode() in res.stdout + res.stderr,
                       "the attack did not run to the end (no %r in its output)" % expect_out, res)
        return res

    def expect_exit(self, res, code=0, status="exited"):
        """ward's exit status and the report's status must be as given."""
        if res.timed_out:
            return False
        ok = res.rc == code and (res.status == status or (res.report is None and not res.report_required))
        if not ok:
            extra = ""
            if status == "exited" and 0 < (res.rc or 0) <= 100:
                extra = " (the attack counted %d forbidden operations that worked)" % res.rc
            self.fail("ward exited %s with status %s, expected %d / %s%s" % (
                res.rc, res.status, code, status, extra), res)
        return ok

    def final_checks(self):
        """Checks after all of a case's runs: canary and binaries intact,
        no marker on the host."""
        try:
            self.check(sha256(self.canary) == self.canary_hash, "the canary file was changed")
        except OSError as e:
            self.fail("the canary file is gone: %s" % e)
        self.check(sha256(self.ward_bin) == self.ward_hash, "the ward binary used for the run was modified")
        self.check(sha256(self.opts.ward) == self.orig_ward_hash, "the built ward binary was modified")
        if self.libward:
            self.check(sha256(self.libward) == self.libward_hash, "libward used for the run was modified")
        for m in self.host_markers:
            for suffix in ("", ".d", ".l", ".n", ".r"):
                p = m + suffix
                if os.path.lexists(p):
                    self.fail("marker '%s' exists on the host" % p)
                    try:
                        if os.path.isdir(p) and not os.path.islink(p):
                            os.rmdir(p)
                        else:
                            os.unlink(p)
                    except OSError:
                        pass

    def cleanup(self):
        shutil.rmtree(self.base, ignore_errors=True)


# ---- victims ---------------------------------------------------------


class Victim:
    """A host process the box must neither see nor touch: `sleep 300` with
    a unique argv[0], as the same host uid as the box."""

    def __init__(self, h):
        self.name = "ward-escape-victim-" + h.token
        kw = {}
        if h.root:
            kw = dict(user=NOBODY, group=NOBODY, extra_groups=[])
        self.p = subprocess.Popen([self.name, "300"], executable="/bin/sleep",
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  start_new_session=True, **kw)
        self.pid = self.p.pid

    def check(self, h):
        time.sleep(0.2)
        if h.check(self.p.poll() is None, "the host victim (pid %d) died: %s" % (self.pid, self.p.returncode)):
            status = proc_read(self.pid, "status").decode()
            fields = dict(l.split(":", 1) for l in status.splitlines() if ":" in l)
            state = fields.get("State", "").strip()
            h.check(not state.startswith(("T", "t")), "the host victim is stopped or traced: %s" % state)
            h.check(fields.get("TracerPid", "0").strip() == "0",
                    "the host victim has a tracer: %s" % fields.get("TracerPid"))

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def processes_with(needle):
    """Host pids whose cmdline or environment holds needle."""
    me = os.getpid()
    found = []
    for pid in host_pids():
        if pid == me:
            continue
        if needle.encode() in proc_read(pid, "cmdline") or needle.encode() in proc_read(pid, "environ"):
            found.append(pid)
    return found


# ---- the cases -------------------------------------------------------

CASES = {}


def case(name):
    def register(fn):
        CASES[name] = fn
        return fn
    return register


@case("read-canary")
def read_canary(h):
    """Read the canary: direct path, '..' from grants, symlinks planted in
    the --rw dir and on the host in the --ro dir, /proc/*/root and cwd,
    descriptors inherited from the caller, open_by_handle_at."""
    argv = [h.bin("attack-read"), h.base]
    # The caller leaves the canary (and its directory) open, inheritable,
    # on fds 5, 7 and 9: ward must not pass them into the box.
    fds = []
    fd = os.open(h.canary, os.O_RDONLY)
    dfd = os.open(h.base + "/secret", os.O_RDONLY | os.O_DIRECTORY)
    for n, src in ((5, fd), (7, fd), (9, dfd)):
        os.dup2(src, n, inheritable=True)
        fds.append(n)
    os.close(fd)
    os.close(dfd)
    try:
        cal = h.run([], argv, pass_fds=fds, unboxed=True, quiet=True)
        h.check(h.secret in cal.seen, "calibration: outside the box the attack does not find the canary", cal)
        res = h.run(["--ro", h.granted, "--ro", h.bindir, "--rw", h.rw], argv, pass_fds=fds,
                    expect_out="forbidden operations")
        h.expect_exit(res)
    finally:
        for n in fds:
            os.close(n)


@case("write-marker")
def write_marker(h):
    """Create files outside the writable grants (the read-only cwd, a --ro
    grant, /, /usr, /etc, /var/tmp, the ungranted canary dir, through
    /proc/self/root and /proc/1/root) and change read-only files."""
    tok = h.token
    must_fail = [
        h.cwd + "/MARK", h.granted + "/MARK", h.base + "/MARK", h.base + "/secret/MARK",
        "/MARK-" + tok, "/usr/MARK-" + tok, "/etc/MARK-" + tok, "/var/tmp/MARK-" + tok,
    ]
    via_proc = [
        ("/proc/self/root" + h.base + "/secret/MARK2", h.base + "/secret/MARK2"),
        ("/proc/1/root" + h.base + "/MARK3", h.base + "/MARK3"),
        ("/proc/self/cwd/MARK4", h.cwd + "/MARK4"),
        ("/proc/1/cwd/MARK5", h.cwd + "/MARK5"),
        ("/proc/self/root/MARK6-" + tok, "/MARK6-" + tok),
    ]
    may_work = ["/tmp/MARK-" + tok, "/dev/shm/MARK-" + tok]
    h.host_markers += must_fail + [host for _, host in via_proc] + may_work
    modify = [h.granted + "/file", h.cwd + "/file"]
    before = {p: (os.lstat(p), open(p).read()) for p in modify}
    argv = [h.bin("attack-write")]
    for m in must_fail + [box for box, _ in via_proc]:
        argv += ["--create", m]
    for m in may_work:
        argv += ["--try", m]
    for m in modify:
        argv += ["--modify", m]
    res = h.run(["--ro", h.granted, "--ro", h.bindir], argv, expect_out="forbidden operations")
    h.expect_exit(res)
    for p, (st, content) in before.items():
        try:
            now = os.lstat(p)
        except OSError:
            h.fail("read-only file '%s' was removed or renamed" % p)
            continue
        h.check(open(p).read() == content, "read-only file '%s' was modified" % p)
        h.check((now.st_mode, now.st_uid, now.st_gid, now.st_mtime_ns) ==
                (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns),
                "metadata of read-only file '%s' changed" % p)
        h.check(not os.path.lexists(p + ".moved"), "'%s' was renamed" % p)


@case("host-env")
def host_env(h):
    """Read the caller's environment: own environ, /proc/*/environ, pid 1's
    stack through /proc/1/mem."""
    cal = h.run([], [h.bin("attack-env")], unboxed=True, quiet=True)
    h.check(h.env_secret in cal.seen, "calibration: outside the box the attack does not see the variable", cal)
    report = "%s/report-%s.json" % (h.reportdir, h.token)
    res = h.run(["--ro", h.bindir], [h.bin("attack-env")], report=report, expect_out="forbidden operations")
    h.expect_exit(res)
    h.check(b"WARD_ESCAPE_SECRET" not in res.stdout + res.stderr,
            "the name of the caller's variable WARD_ESCAPE_SECRET reached the box", res)
    if report.encode() in res.stdout:
        h.note("the box can read the controller's command line (/proc/1/cmdline): host paths of "
               "the report, grants and policy file, and --env values")


# warm-memory: what a python request can read of itself. In a zygote's
# box the process is a fork of the zygote (warm start): its memory must
# hold no host path of the grants or of ward, its fds only the request's
# stdio, its environment only the box's.
MEMSCAN = r"""
import os, re
seen = set()
maps = open('/proc/self/maps').read().splitlines()
for line in maps:
    parts = line.split()
    if len(parts) >= 6:
        seen.add('MAP ' + parts[5])
print('FDS', ' '.join(sorted(os.listdir('/proc/self/fd'))))
print('ENV', ' '.join(sorted(os.environ)))
pat = re.compile(rb'/[A-Za-z0-9_.+-][A-Za-z0-9_.+/-]{4,200}')
with open('/proc/self/mem', 'rb', 0) as mem:
    for line in maps:
        addr, perms = line.split()[:2]
        lo, hi = (int(x, 16) for x in addr.split('-'))
        if 'r' not in perms or hi - lo > (256 << 20):
            continue
        data = bytearray()
        for page in range(lo, hi, 4096):  # one read per page: a read stops at the first hole
            try:
                mem.seek(page)
                data += mem.read(4096)
            except (OSError, OverflowError, ValueError):
                data += bytes(4096)
        for m in pat.findall(data):
            seen.add(m.decode('latin1'))
print('SCANNED')
for s in sorted(seen):
    print(s)
"""


@case("warm-memory")
def warm_memory(h):
    """From python (with --warm zygote: a forked, confined copy of the
    zygote): scan the whole process memory, maps, fds and environment for
    host paths of the grants and of ward, and for the caller's secrets."""
    res = h.run(["--profile", "python3", "--ro", "%s:/data" % h.granted],
                ["python3", "-c", MEMSCAN], expect_out="SCANNED")
    h.expect_exit(res)
    out = res.stdout
    h.check(b"SCANNED" in out, "the scan did not finish", res)
    for needle, what in ((h.base, "the grants' host directory"),
                         (os.path.dirname(os.path.abspath(h.opts.ward)), "ward's build directory"),
                         (os.path.dirname(os.path.abspath(__file__)), "the test's own directory")):
        h.check(needle.encode() not in out, "the box's memory holds %s (%s)" % (what, needle), res)
    fds = next((l for l in out.splitlines() if l.startswith(b"FDS ")), b"FDS").split()[1:]
    h.check(len(fds) <= 4, "the box's process has fds beyond its stdio: %r" % fds, res)


@case("zygote-plant")
def zygote_plant(h):
    """Plant a python3 in a read-write grant that is first on the box's
    PATH (and LD_PRELOAD/PYTHONPATH in the policy's environment), then start
    a zygote for that policy: the zygote, which runs outside any box, must
    not run anything the box wrote."""
    marker = h.base + "/MARK-planted-ran-on-the-host"
    h.host_markers.append(marker)
    planted = h.rw + "/bin/python3"
    policy = ["--profile", "python3", "--rw", h.rw,
              "--env", "PATH=%s/bin:/usr/local/bin:/usr/bin:/bin" % h.rw,
              "--env", "LD_PRELOAD=%s/evil.so" % h.rw, "--env", "PYTHONPATH=%s" % h.rw]
    script = ("mkdir -p %s/bin && printf '#!/bin/sh\\ntouch %s 2>/dev/null\\n"
              "exec /usr/bin/python3 \"$@\"\\n' > %s && chmod 755 %s && "
              "echo 'import os; open(\"%s\", \"w\")' > %s/sitecustomize.py && echo planted"
              % (h.rw, marker, planted, planted, marker, h.rw))
    res = h.run(policy, ["/bin/sh", "-c", script], expect_out="planted")
    h.expect_exit(res)
    h.check(os.path.exists(planted), "fixture: the planted python3 did not reach the host", res)
    res = h.run(policy, ["python3", "-c", "print('request ran')"], expect_out="request ran")
    h.expect_exit(res)
    h.check(not os.path.lexists(marker), "a file the box planted ran on the host", res)


@case("host-process")
def host_process(h):
    """See a host process in /proc, probe all pids, SIGSTOP/SIGKILL the
    host pid (plain, pidfd, sigqueue, tgkill), kill(-1)."""
    v = Victim(h)
    try:
        res = h.run(["--ro", h.bindir], [h.bin("attack-proc"), str(v.pid)], timeout=150,
                    expect_out="forbidden operations")
        h.expect_exit(res)
        h.check(v.name.encode() not in res.stdout + res.stderr,
                "the host victim's argv[0] is visible in the box", res)
        h.check(b"is NOT in this box's /proc" not in res.stdout,
                "a pid outside the box's /proc answered kill(pid, 0)", res)
        v.check(h)
    finally:
        v.stop()


@case("ptrace")
def ptrace_case(h):
    """PTRACE_TRACEME/ATTACH/SEIZE, process_vm_readv/writev, /proc/PID/mem
    and pidfd_getfd on a box child, the box's pid 1 and a host process."""
    v = Victim(h)
    try:
        res = h.run(["--ro", h.bindir], [h.bin("attack-ptrace"), str(v.pid)],
                    expect_out="forbidden operations")
        h.expect_exit(res)
        v.check(h)
    finally:
        v.stop()


@case("cross-box")
def cross_box(h):
    """Two boxes of the same host uid: while box B runs `sleep` with a
    secret in its environment, box A reads every /proc/*/environ and pid
    1's memory, probes all pids, signals and ptraces B's host pid. B must
    be invisible and unharmed."""
    report = "%s/report-other.json" % h.reportdir
    cmd = h.ward_cmd(["--env", "WARD_OTHER_BOX=" + h.other_secret], ["/bin/sleep", "120"], report)
    env = h.env()
    b = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, cwd=h.cwd, env=env, start_new_session=True)
    try:
        pid = None
        deadline = time.monotonic() + 10
        while pid is None and time.monotonic() < deadline:
            for p in host_pids():
                if (proc_read(p, "cmdline") == b"/bin/sleep\x00120\x00" and
                        h.other_secret.encode() in proc_read(p, "environ")):
                    pid = p
            time.sleep(0.05)
        if not h.check(pid is not None, "box B's program did not start"):
            return
        log("  box B's program is host pid %d" % pid)
        for attack in (["attack-env"], ["attack-proc", str(pid)], ["attack-ptrace", str(pid)]):
            res = h.run(["--ro", h.bindir], [h.bin(attack[0])] + attack[1:], timeout=150,
                        expect_out="forbidden operations")
            h.expect_exit(res)
        h.check(b.poll() is None, "box B's ward ended (status %s) during the attacks" % b.returncode)
        status = proc_read(pid, "status").decode()
        h.check(status != "", "box B's program (host pid %d) was killed" % pid)
        fields = dict(l.split(":", 1) for l in status.splitlines() if ":" in l)
        h.check(not fields.get("State", "").strip().startswith(("T", "t")),
                "box B's program is stopped or traced: %s" % fields.get("State"))
        h.check(fields.get("TracerPid", "0").strip() == "0", "box B's program has a tracer")
    finally:
        if b.poll() is None:
            os.killpg(b.pid, signal.SIGKILL)
        b.wait()


def host_ipv4():
    """Non-loopback IPv4 addresses of the host (best effort)."""
    addrs = []
    try:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if "inet" in parts:
                a = parts[parts.index("inet") + 1].split("/")[0]
                if not a.startswith("127."):
                    addrs.append(a)
    except OSError:
        pass
    return addrs


def net_tcp(h, net):
    tcp4 = TcpListener(socket.AF_INET, ("0.0.0.0", 0))
    port = tcp4.port
    try:
        tcp6 = TcpListener(socket.AF_INET6, ("::", port))
    except OSError:
        tcp6 = None
    udp = UdpListener(("0.0.0.0", 0))
    listeners = [l for l in (tcp4, tcp6) if l]
    try:
        argv = [h.bin("attack-net"), "--tcp", "127.0.0.1:%d" % port, "--tcp", "[::1]:%d" % port,
                "--tcp", "127.0.0.2:%d" % port, "--udp", "127.0.0.1:%d" % udp.port]
        for a in host_ipv4():
            argv += ["--tcp", "%s:%d" % (a, port), "--udp", "%s:%d" % (a, udp.port)]
        cal = h.run([], argv, unboxed=True, quiet=True)
        time.sleep(0.3)
        h.check(sum(len(l.accepted) for l in listeners) > 0 and udp.received,
                "calibration: outside the box the listeners see nothing", cal)
        for l in listeners:
            l.accepted.clear()
        udp.received.clear()
        wargs = ["--ro", h.bindir] + (["--net", net] if net else [])
        res = h.run(wargs, argv, expect_out="forbidden operations")
        time.sleep(0.5)
        h.expect_exit(res)
        for l in listeners:
            h.check(not l.accepted, "the host TCP listener accepted %s" % l.accepted, res)
        h.check(not udp.received, "the host UDP listener received %s" % udp.received, res)
    finally:
        for l in listeners + [udp]:
            l.close()


@case("net-tcp-none")
def net_tcp_none(h):
    """TCP connect / UDP send to host listeners on 127.0.0.1, ::1 and the
    host's own addresses with the default --net none."""
    net_tcp(h, None)


@case("net-tcp-loopback")
def net_tcp_loopback(h):
    """The same with --net loopback: the box's loopback is its own."""
    net_tcp(h, "loopback")


@case("net-unix")
def net_unix(h):
    """Connect to a host abstract unix socket and to a host filesystem
    socket in a directory that is not granted (also via /proc/1/root)."""
    abstract = "ward-escape-" + h.token
    path = h.base + "/sock/s.sock"
    la = UnixListener("\0" + abstract)
    lf = UnixListener(path)
    try:
        argv = [h.bin("attack-net"), "--abstract", abstract, "--unix", path,
                "--unix", "/proc/1/root" + path, "--unix", "/proc/self/root" + path]
        cal = h.run([], argv, unboxed=True, quiet=True)
        time.sleep(0.3)
        h.check(la.accepted and lf.accepted, "calibration: outside the box the sockets see nothing", cal)
        la.accepted = lf.accepted = 0
        for net in (None, "loopback"):
            wargs = ["--ro", h.bindir] + (["--net", net] if net else [])
            res = h.run(wargs, argv, expect_out="forbidden operations")
            time.sleep(0.3)
            h.expect_exit(res)
            h.check(la.accepted == 0, "the host abstract socket @%s accepted a connection" % abstract, res)
            h.check(lf.accepted == 0, "the host socket '%s' accepted a connection" % path, res)
    finally:
        la.close()
        lf.close()


@case("io-uring")
def io_uring(h):
    """io_uring_setup, and through a ring IORING_OP_OPENAT + READ of the
    canary."""
    argv = [h.bin("attack-iouring"), h.canary]
    cal = h.run([], argv, unboxed=True, quiet=True)
    if h.secret not in cal.seen:
        h.note("calibration: io_uring does not read the canary outside the box either "
               "(kernel.io_uring_disabled?): %s" % cal.stdout.decode(errors="replace").strip()[:300])
    res = h.run(["--ro", h.bindir], argv, expect_out="forbidden operations")
    h.expect_exit(res)


def abi(h, modes):
    exercised = 0
    for mode in modes:
        argv = [h.bin("attack-abi"), mode] + ([h.canary] if mode.endswith("open") else [])
        # What the host kernel does with the call when nothing filters it.
        cal = h.run([], [h.bin("attack-abi"), mode.replace("open", "getpid")], unboxed=True, quiet=True)
        native = -cal.rc if cal.rc is not None and cal.rc < 0 else None
        res = h.run(["--ro", h.bindir], argv, expect_out="calling")
        if res.timed_out:
            continue
        sig = res.rc - 128 if res.rc and res.rc > 128 else None
        if sig == SIGSYS and res.status == "signaled" and (res.report or {}).get("signal") == "SIGSYS":
            exercised += 1
            continue
        if sig is not None and native == sig and sig != SIGSYS:
            # The kernel itself refuses the ABI (e.g. int $0x80 raising
            # SIGSEGV when i386 emulation is off): no syscall happened.
            h.note("%s: killed by signal %d, as outside the box: this kernel does not offer "
                   "the ABI, so the filter was not exercised" % (mode, sig))
            h.check(res.status == "signaled", "%s: report status %s, expected signaled" % (mode, res.status), res)
            continue
        exercised += 1
        h.fail("%s: ward exited %s with status %s signal %s, expected death by SIGSYS (exit %d)" % (
            mode, res.rc, res.status, res.report and res.report.get("signal"), 128 + SIGSYS), res)
    if not exercised:
        h.skip_reason = ("this kernel offers none of %s, so the filter was not exercised "
                         "(tests/unit/test-filter.c checks the filter itself)" % ", ".join(modes))


@case("abi-x32")
def abi_x32(h):
    """x32 syscalls (number | 0x40000000): getpid, open of the canary."""
    abi(h, ["x32-getpid", "x32-open"])


@case("abi-int80")
def abi_int80(h):
    """i386 syscalls through int $0x80: getpid, open+read of the canary."""
    abi(h, ["int80-getpid", "int80-open"])


def run_on_pty(h, cmd, stdin_tty, timeout=60):
    """Runs cmd in a new session whose controlling terminal is a fresh pty
    (as a shell would); returns (exit status, what reached the master,
    what is left queued as *input* on the terminal afterwards)."""
    master, slave = os.openpty()
    tty.setraw(slave)  # every injected byte readable at once, no echo
    if h.root:
        os.chown(os.ttyname(slave), NOBODY, NOBODY)

    def preexec():
        fcntl.ioctl(1, termios.TIOCSCTTY, 0)

    p = subprocess.Popen(cmd, stdin=slave if stdin_tty else subprocess.DEVNULL, stdout=slave,
                         stderr=slave, cwd=h.cwd, env=h.env(), start_new_session=True,
                         preexec_fn=preexec)
    out = bytearray()
    deadline = time.monotonic() + timeout
    os.set_blocking(master, False)
    while p.poll() is None and time.monotonic() < deadline and len(out) <= READ_CAP:
        try:
            out += os.read(master, 65536)
        except (BlockingIOError, OSError):
            time.sleep(0.05)
    if len(out) > READ_CAP:
        h.fail("the run wrote more than %d bytes to the terminal, the driver's cap" % READ_CAP)
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    time.sleep(0.2)
    try:
        while len(out) <= READ_CAP:
            out += os.read(master, 65536)
    except OSError:
        pass
    # Input pushed with TIOCSTI waits in the terminal's input queue, for
    # whoever reads the terminal next (the user's shell).
    buf = bytearray(4)
    fcntl.ioctl(slave, termios.FIONREAD, buf)
    pending = int.from_bytes(buf, sys.byteorder)
    queued = b""
    if pending:
        os.set_blocking(slave, False)
        try:
            queued = os.read(slave, 4096)
        except OSError:
            pass
    os.close(slave)
    os.close(master)
    return p.returncode, bytes(out), queued


@case("tiocsti")
def tiocsti(h):
    """TIOCSTI (plain and with the high bits set, CVE-2019-10063) and
    TIOCLINUX into the terminal ward runs on, on every descriptor and
    terminal path the box can reach."""
    attack = h.bin("attack-tty")
    cal_rc, cal_out, cal_q = run_on_pty(h, h.unboxed_prefix() + [attack, "fds-only"], True)
    if not cal_q:
        h.note("calibration: TIOCSTI injects nothing even outside the box (dev.tty.legacy_tiocsti=0?)")
    # Outside the box the kernel refuses TIOCSTI on a pipe for the fd's
    # type (ENOTTY); in the box the filter must refuse it first (EPERM),
    # whatever the fd: the check below can tell the layers apart.
    h.check(b"ioctl(pipe, TIOCSTI) -> ENOTTY" in cal_out,
            "calibration: TIOCSTI on a pipe outside the box did not give ENOTTY: %r" % cal_out[:2000])
    for stdin_tty in (False, True):
        report = "%s/report-tty-%d.json" % (h.reportdir, stdin_tty)
        cmd = h.ward_cmd(["--ro", h.bindir], [attack], report)
        log("$ %s   (stdin %s)" % (" ".join(cmd), "the pty" if stdin_tty else "/dev/null"))
        rc, out, queued = run_on_pty(h, cmd, stdin_tty)
        log("  -> exit %s, %d bytes on the terminal, %d bytes queued as input" % (rc, len(out), len(queued)))
        text = out.decode(errors="replace")
        if h.opts.verbose:
            log(text)
        if not h.check(b"forbidden operations" in out, "the attack did not run to the end", None):
            log(text[:6000])
        h.check(not queued, "characters were injected into the terminal's input: %r" % queued)
        for probe in (b"ioctl(pipe, TIOCSTI)", b"ioctl(pipe, 0xffffffff00005412)"):
            h.check(probe + b" -> EPERM" in out, "%s in the box was not refused by the filter "
                    "(EPERM); the fd's type refused it or it did not run" % probe.decode())
        h.check(b"session leader: yes" in out, "the program is not the leader of a new session "
                "(setsid): it shares a session, and maybe a terminal, with ward")
        h.check(h.secret not in text and h.env_secret not in text, "a secret reached the terminal")
        h.check(rc == 0, "ward exited %s, expected 0 (the attack counted %s terminal ioctls that worked)" % (
            rc, rc))
        if rc != 0:
            log(text[:6000])


def sys_group(h, group, extra, wargs, calibrate):
    argv = [h.bin("attack-sys"), group] + extra
    if calibrate:
        cal = h.run([], argv, unboxed=True, quiet=True)
        h.check(cal.rc and cal.rc > 0, "calibration: outside the box no '%s' call works, the test "
                "cannot tell" % group, cal)
    res = h.run(["--ro", h.bindir] + wargs, argv, expect_out="forbidden operations")
    h.expect_exit(res)
    return res


@case("mount")
def mount_case(h):
    """mount (tmpfs, bind, proc, sysfs, cgroup2, devpts, remounts), umount,
    fsopen/fsmount/move_mount, open_tree, mount_setattr on the read-only
    grant (then a marker write into it), chroot, pivot_root."""
    h.host_markers += [h.granted + "/MARK-remount", h.granted + "/MARK-setattr"]
    sys_group(h, "mount", [h.granted], ["--ro", h.granted], False)


@case("namespaces")
def namespaces(h):
    """unshare and clone with every namespace flag, clone3 (must be
    ENOSYS), setns into /proc/1/ns/*, NS_GET_PARENT of the user ns."""
    sys_group(h, "ns", [], [], True)


@case("kernel-surface")
def kernel_surface(h):
    """keyctl/add_key/request_key, bpf, perf_event_open, userfaultfd,
    kexec_load/kexec_file_load, init/finit/delete_module, reboot, swapon,
    acct, iopl/ioperm, vhangup, fanotify, open_by_handle_at, personality,
    mknod of a device."""
    sys_group(h, "kernel", [], [], True)


@case("socket-families")
def socket_families(h):
    """socket() of netlink, packet, raw inet, vsock, bluetooth, alg, key
    and every other family but unix/inet/inet6."""
    sys_group(h, "socket", [], [], True)


@case("privileges")
def privileges(h):
    """setuid(0) and friends, capset, ambient caps, uid_map, raising hard
    rlimits, nice -10, SCHED_FIFO, realtime I/O priority; all capability
    sets empty, no_new_privs on, seccomp filtering."""
    sys_group(h, "priv", [], [], True)


@case("proc-sys-dev")
def proc_sys_dev(h):
    """/proc/sysrq-trigger, /proc/sys writes, sethostname, /proc/kcore,
    /sys, device nodes (open and mknod in the --rw dir), a set-uid bit in
    the --rw dir, hard links from a read-only grant into the --rw dir."""
    hostname = socket.gethostname()
    with open("/proc/sys/kernel/domainname") as f:
        domain = f.read()
    gfile = h.granted + "/file"
    gst = os.stat(gfile)
    sys_group(h, "misc", [h.rw, gfile], ["--ro", h.granted, "--rw", h.rw], False)
    h.check(socket.gethostname() == hostname, "the host's hostname changed to %r" % socket.gethostname())
    with open("/proc/sys/kernel/domainname") as f:
        h.check(f.read() == domain, "the host's domain name changed")
    for n in ("dev-null", "dev-vda"):
        p = h.rw + "/" + n
        if os.path.lexists(p):
            st = os.lstat(p)
            h.check(not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)),
                    "the box created a device node '%s' on the host" % p)
    for n in ("hardlink", "hardlink-proc", "hardlink-empty"):
        p = h.rw + "/" + n
        if os.path.lexists(p):
            st = os.lstat(p)
            h.check((st.st_dev, st.st_ino) != (gst.st_dev, gst.st_ino),
                    "'%s' is a hard link to the read-only '%s'" % (p, gfile))
    with open(gfile) as f:
        h.check(f.read() == "ORIGINAL\n", "the read-only file '%s' was modified" % gfile)
    p = h.rw + "/suid"
    if os.path.exists(p):
        st = os.stat(p)
        if st.st_mode & (stat.S_ISUID | stat.S_ISGID):
            h.note("'%s' keeps mode %o on the host (owner uid %d): a set-id file of the box's "
                   "unprivileged host uid, not a privilege gain, but worth knowing" % (
                       p, stat.S_IMODE(st.st_mode), st.st_uid))
        h.check(st.st_uid != 0, "the box created a root-owned file '%s' on the host" % p)


def bomb(h, mode, sampler_fn, timeout, wargs=()):
    sampler = Sampler(sampler_fn)
    sampler.start()
    try:
        res = h.run(["--ro", h.bindir] + list(wargs), [h.bin("attack-bomb"), mode], timeout=timeout)
    finally:
        values = sampler.finish()
    return res, values


def leftovers(needle, wait=10.0):
    """Host processes whose cmdline holds needle, after giving the kernel
    time to tear a pid namespace down."""
    deadline = time.monotonic() + wait
    while True:
        found = [pid for pid in host_pids() if needle.encode() in proc_read(pid, "cmdline")
                 and pid != os.getpid()]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def kill_pids(pids):
    """Kills processes this test started (found by its unique marker)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@case("fork-bomb")
def fork_bomb(h):
    """Every process forks forever, no limit flags but a 20 s wall time:
    the host's process count stays near the default limit (128), nothing
    is left behind, and with a pids cgroup (which sees the refused forks)
    the run ends within seconds as procs-limit. Without one no refusal is
    visible, and being at the limit never ends a run (ward(1) LIMITS): the
    wall time does."""
    # The box's processes are the ones running this run's copy of the
    # attack (its path is unique to the run).
    path = h.bins["attack-bomb"].encode()
    res, counts = bomb(h, "fork", lambda: sum(runs_program(p, path) for p in host_pids()), 120,
                       ["--wall-time", "20s"])
    peak = max(counts, default=0)
    log("  fork-bomb processes on the host: peak %d" % peak)
    h.check(peak <= DEFAULT_PROCS + 8,
            "the box ran %d processes at once (default procs limit %d)" % (peak, DEFAULT_PROCS))
    source = (res.report or {}).get("limit_source", {}).get("procs", "")
    if source.startswith("cgroup"):
        h.expect_exit(res, 118, "procs-limit")
        h.check(res.wall < 15, "a fork bomb under a pids cgroup ran %.1f s" % res.wall)
    else:
        h.expect_exit(res, 124, "time-limit")
    left = leftovers(h.bins["attack-bomb"])
    if left:
        h.fail("%d fork-bomb processes outlived the run" % len(left))
        kill_pids(left)


@case("memory-bomb")
def memory_bomb(h):
    """Allocate and touch memory forever, no limit flags: the run ends in
    bounded time (memory-limit, or the program sees ENOMEM and exits), and
    the box never holds much more than the default 1G of host memory."""
    memory_total(h, "memory")


def memory_total(h, mode):
    path = h.bins["attack-bomb"].encode()
    before = meminfo_available()
    res, used = bomb(h, mode, lambda: (box_memory(path), meminfo_available()), 120)
    peak = max((u for u, _ in used), default=0)
    low = min((a for _, a in used), default=before)
    log("  the box's host memory: peak %d MiB; host MemAvailable %d MiB before, lowest %d MiB" % (
        peak >> 20, before >> 20, low >> 20))
    h.check(peak <= DEFAULT_MEMORY + (256 << 20),
            "the box held %d MiB of host memory (default memory limit %d MiB): the limit does not "
            "hold for the box as a whole" % (peak >> 20, DEFAULT_MEMORY >> 20))
    # Memory the per-process count cannot see (SysV shm, page tables,
    # kernel buffers) still shows host-wide; other activity on the host
    # does too, hence the generous margin.
    h.check(before - low <= DEFAULT_MEMORY + (3 << 30),
            "the host's available memory dropped by %d MiB during the run" % ((before - low) >> 20))
    if res.status == "exited" and b"malloc failed" in res.stdout:
        h.note("%s: stopped by ENOMEM (an address-space rlimit), not killed" % mode)
        h.expect_exit(res, 0, "exited")
    elif res.status == "memory-limit" or mode in ("memory", "unlimit"):
        h.expect_exit(res, 119, "memory-limit")
    else:
        h.expect_exit(res, 0, "exited")
    left = leftovers(h.bins["attack-bomb"])
    if left:
        h.fail("%d memory-bomb processes outlived the run" % len(left))
        kill_pids(left)
    return res


@case("memory-bomb-fork")
def memory_bomb_fork(h):
    """8 processes touching 512 MiB each (each under any per-process
    limit), no limit flags: the box as a whole stays near the default 1G
    of host memory."""
    memory_total(h, "memfork")


@case("memory-bomb-memfd")
def memory_bomb_memfd(h):
    """4 GiB of memfd pages that are no longer mapped (invisible to an
    address-space rlimit), no limit flags: the box stays near the default
    1G of host memory."""
    memory_total(h, "memfd")


@case("cgroup-unlimit")
def cgroup_unlimit(h):
    """Lift the box's own memory and pids limits (memory.max, pids.max:
    /sys/fs/cgroup, a cgroup2 mounted in the box, inherited descriptors),
    then allocate forever: the box still never holds much more than the
    default 1G of host memory. Where the run's cgroup belongs to the box's
    own uid (a delegated cgroup v2 subtree) only the box's reach keeps it
    from these files."""
    res = memory_total(h, "unlimit")
    h.check(b"SUCCEEDED" not in res.stdout,
            "the box changed a cgroup limit file: %s" % res.stdout[:2000].decode(errors="replace"))


@case("exec-allowlist")
def exec_allowlist(h):
    """With `--exec /usr/bin/true`, start /bin/sh anyway: execve, ld.so as a
    program, a copy in /tmp, a memfd, an O_PATH fd, /proc/self/fd/N, a #!
    script."""
    cal = h.run([], [h.bin("attack-exec"), h.rw], unboxed=True, quiet=True)
    h.check(b"EXEC-ESCAPED-42" in cal.stdout, "calibration: outside the box no shell runs", cal)
    res = h.run(["--ro", h.bindir, "--exec", "/usr/bin/true"], [h.bin("attack-exec"), "/tmp"],
                expect_out="forbidden operations")
    ran = sorted(set(l.split("EXEC-ESCAPED-42-")[1] for l in res.stdout.decode(errors="replace").splitlines()
                     if "EXEC-ESCAPED-42-" in l))
    # The attack's exit code counts what worked; ld.so is judged below.
    h.expect_exit(res, 1 if "ldso" in ran else 0)
    # ld.so run as a program maps and runs any ELF it can read: the
    # dynamic loader must stay executable for the allowed programs
    # (Landlock checks the ELF interpreter like the program), and mapping
    # a readable file is what native code in the box can do anyway (the
    # threat model assumes it). The allowlist governs execve(2); see
    # ward(1). Every other way must fail.
    if "ldso" in ran:
        h.note("ld.so /bin/sh ran: the documented limit of an execve allowlist")
        ran.remove("ldso")
    h.check(not ran, "programs outside the --exec allowlist ran, via: %s" % ", ".join(ran), res)
    h.check(b"which is allowed -> ran" in res.stdout, "the allowed /usr/bin/true did not run", res)


@case("broker-toctou")
def broker_toctou(h):
    """With the broker (--audit), a thread rewrites the path buffer between
    a granted file and the canary while another opens and stats it: the
    broker reads the path once and opens what it read, so the canary never
    comes out."""
    argv = [h.bin("attack-broker"), "race", h.granted + "/file", h.canary, "3"]
    cal = h.run([], argv, unboxed=True, quiet=True, judge=False)
    h.check(h.secret in cal.seen, "calibration: outside the box the race does not reach the canary", cal)
    # The same, with the canary's host path granted nowhere but a virtual
    # file standing in for it: the broker serves the memfd, never the host.
    for extra in ([], ["--file-text", h.canary + "=decoy"]):
        res = h.run(["--audit", "--ro", h.granted, "--ro", h.bindir] + extra, argv,
                    expect_out="forbidden operations", timeout=60)
        out = res.stdout.decode(errors="replace")
        if extra:
            # The decoy is what the box asked for: allowed, not an escape.
            h.check("broker" in (res.report or {}).get("layers", []), "no broker in the report", res)
        else:
            h.expect_exit(res)
        h.check("of the granted file" in out, "the race did not run", res)
    # Under an ask rule the canary itself is granted, and only the broker
    # refuses it (ward run has no application to ask): the mount namespace
    # and Landlock let it through, so a broker that let the kernel read the
    # path again, or read it twice itself, would hand the box the canary.
    pol = h.reportdir + "/ask.policy"
    with open(pol, "w") as f:
        f.write("ro %s\nask %s\n" % (h.canary, h.canary))
    os.chmod(pol, 0o644)
    boxed = ["--ro", h.granted, "--ro", h.bindir, "--ro", h.canary]
    cal = h.run(boxed, argv, quiet=True, judge=False, timeout=60)
    h.check(h.secret in cal.seen, "calibration: granted, without the ask rule, the race reaches the canary", cal)
    res = h.run(["--ro", h.granted, "--ro", h.bindir, "--policy", pol], argv,
                expect_out="forbidden operations", timeout=60)
    h.expect_exit(res)
    h.check("of the granted file" in res.stdout.decode(errors="replace"), "the race did not run", res)


@case("broker-paths")
def broker_paths(h):
    """With the broker, open, stat and readlink the canary through symlinks
    the box planted (absolute, relative, '..' chains, /proc/self/root,
    /proc/1/root, /proc/self/fd/N, /dev/fd/N, /proc/self/cwd) and through
    dirfds: the controller resolves in the box's root, never the host's
    (CVE-2024-28185). And init's /proc (environ, exe, cwd), which the
    controller's own privileges could reach: left to the kernel."""
    argv = [h.bin("attack-broker"), "paths", h.rw, h.canary]
    cal = h.run([], argv, unboxed=True, quiet=True, judge=False)
    h.check(h.secret in cal.seen, "calibration: outside the box the planted links do not reach the canary", cal)
    for extra in ([], ["--file-text", "/etc/motd=hi"]):
        res = h.run(["--audit", "--ro", h.bindir, "--rw", h.rw] + extra, argv,
                    expect_out="forbidden operations")
        h.expect_exit(res)
        h.check(b"denied open(" in res.stderr, "--audit listed no denied open", res)
        # init is ward's own code: its exe is ward's host path.
        leaked = [l for l in res.stdout.decode(errors="replace").splitlines()
                  if l.startswith("LINK: ") and ("/ward/ward" in l.split(" -> ", 1)[1] or
                                                 "/ward-escape-" in l.split(" -> ", 1)[1])]
        h.check(not leaked, "host paths came out of init's /proc links: %s" % leaked, res)


@case("broker-mounts")
def broker_mounts(h):
    """With the broker, rename, unlink and rmdir read-only grants nested in
    a read-write one (a directory and a file), rename onto them and write
    into them: the broker works from another mount namespace, where the
    kernel would let it detach the nested mounts, so it must refuse."""
    sub, cfg = h.rw + "/sub", h.rw + "/cfg"
    os.mkdir(sub)
    for path in (sub + "/file", cfg):
        with open(path, "w") as f:
            f.write("ORIGINAL\n")
        os.chmod(path, 0o666)
    os.chmod(sub, 0o777)
    if h.root:
        for p in (sub, sub + "/file", cfg):
            os.lchown(p, NOBODY, NOBODY)
    argv = [h.bin("attack-broker"), "mounts", h.rw, "sub", "cfg"]
    cal = h.run([], argv, unboxed=True, quiet=True, judge=False)
    h.check(os.path.exists(sub + ".moved"), "calibration: outside the box the attack does not move the directory", cal)
    # Put the host tree back for the real run.
    for name in os.listdir(h.rw):
        full = h.rw + "/" + name
        shutil.rmtree(full) if os.path.isdir(full) and not os.path.islink(full) else os.unlink(full)
    os.mkdir(sub)
    for path in (sub + "/file", cfg):
        with open(path, "w") as f:
            f.write("ORIGINAL\n")
        os.chmod(path, 0o666)
    os.chmod(sub, 0o777)
    if h.root:
        for p in (sub, sub + "/file", cfg):
            os.lchown(p, NOBODY, NOBODY)
    before = {p: (os.lstat(p).st_ino, open(p).read()) for p in (sub + "/file", cfg)}
    res = h.run(["--audit", "--ro", h.bindir, "--rw", h.rw, "--ro", sub, "--ro", cfg], argv,
                expect_out="forbidden operations")
    h.expect_exit(res)
    for p, (ino, content) in before.items():
        h.check(os.path.exists(p) and os.lstat(p).st_ino == ino and open(p).read() == content,
                "'%s' was moved, replaced or changed" % p, res)
    h.check(not os.path.exists(sub + "/MARK"), "a file was created in the read-only directory", res)
    h.check(not any(n.endswith(".moved") for n in os.listdir(h.rw)), "a read-only grant was renamed", res)


@case("broker-garbage")
def broker_garbage(h):
    """Garbage for the broker: NULL and kernel pointers, a path running
    into an unmapped page, bad dirfds and result buffers: every call fails
    with an errno, ward and its broker keep working."""
    res = h.run(["--audit", "--ro", h.bindir], [h.bin("attack-broker"), "garbage"],
                expect_out="garbage:")
    h.expect_exit(res)


@case("broker-died")
def broker_died(h):
    """A box whose process exits while 8 threads have requests pending in
    the broker: the run ends at once with the program's status, no hang."""
    res = h.run(["--audit", "--ro", h.bindir, "--wall-time", "20s"],
                [h.bin("attack-broker"), "die", "8"], expect_out="die:")
    h.expect_exit(res)
    h.check(res.wall < 10, "the run took %.1f s after the box died" % res.wall, res)


@case("output-flood")
def output_flood(h):
    """Write to stdout and stderr forever, no limit flags: output-limit,
    and no more than the default 64M (both streams together) reaches the
    host."""
    res, _ = bomb(h, "flood", lambda: 0, 120)
    total = res.out_bytes + res.err_bytes
    log("  %d bytes reached the host" % total)
    h.check(total <= DEFAULT_OUTPUT_LIMIT + 65536,
            "%d bytes of output reached the host (default limit %d)" % (total, DEFAULT_OUTPUT_LIMIT))
    h.check(total > 0, "no output at all reached the host")
    h.expect_exit(res, 116, "output-limit")


@case("tmp-fill")
def tmp_fill(h):
    """Fill /tmp with 1 MiB files, no limit flags: the box's /tmp is a
    private tmpfs that fills at the default 64M (ENOSPC), host disk space
    is untouched and nothing appears in the host's /tmp."""
    before = disk_free("/var/tmp")
    res, free = bomb(h, "tmpfill", lambda: disk_free("/var/tmp"), 120)
    low = min(free, default=before)
    log("  host free disk: %d MiB before, lowest %d MiB" % (before >> 20, low >> 20))
    h.check(before - low < 256 << 20, "host disk space dropped by %d MiB" % ((before - low) >> 20))
    h.check(not os.path.exists("/tmp/fill-0") or os.stat("/tmp/fill-0").st_uid != NOBODY,
            "the box's /tmp files appeared in the host's /tmp")
    if res.status == "file-size-limit":
        h.expect_exit(res, 117, "file-size-limit")
    else:
        h.expect_exit(res, 0, "exited")
        h.check(b"ENOSPC" in res.stdout, "filling /tmp did not end in ENOSPC", res)
        for line in res.stdout.decode(errors="replace").splitlines():
            if line.startswith("filled "):
                n = int(line.split()[1])
                h.check(n <= DEFAULT_TMP_SIZE, "the box wrote %d bytes into /tmp (default tmp-size %d)" % (
                    n, DEFAULT_TMP_SIZE))


@case("daemon")
def daemon(h):
    """A double-forked, setsid()ed, signal-ignoring `sleep 300`: after ward
    exits no process of it remains on the host, whether it closed its stdio
    or kept the box's stdout open."""
    needle = "ward-escape-daemon-" + h.token
    cal = h.run([], [h.bin("attack-daemon"), h.token, "closed"], unboxed=True, quiet=True)
    # The grandchild may not have exec'd yet when its grandparent exits.
    deadline = time.monotonic() + 5
    left = leftovers(needle, wait=0)
    while not left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = leftovers(needle, wait=0)
    h.check(left, "calibration: outside the box the daemon is not found", cal)
    kill_pids(left)
    for how in ("closed", "keep"):
        res = h.run(["--ro", h.bindir], [h.bin("attack-daemon"), h.token, how], timeout=30,
                    expect_out="parent exits")
        h.expect_exit(res)
        h.check(res.wall < 15, "%s: ward took %.1fs to return after the program exited" % (how, res.wall))
        time.sleep(0.5)
        left = processes_with(h.token)
        if left:
            h.fail("%s: the daemon outlived the run: host pids %s" % (how, left), res)
            kill_pids(left)


@case("exe-overwrite")
def exe_overwrite(h):
    """CVE-2019-5736: open /proc/self/exe, /proc/1/exe (the box's init is a
    fork of ward) and every other /proc/PID/exe for writing, directly and
    by reopening O_PATH descriptors; write the ward binary's host path."""
    scratch = h.base + "/ward/scratch-copy"
    shutil.copy2(h.ward_bin, scratch)
    if h.root:
        os.chown(scratch, NOBODY, NOBODY)
    before = sha256(scratch)
    cal = h.run([], [h.bin("attack-exe"), scratch, "path-only"], unboxed=True, quiet=True)
    h.check(sha256(scratch) != before, "calibration: outside the box the attack does not modify "
            "a writable copy of ward", cal)
    attack_hash = sha256(h.bin("attack-exe"))
    res = h.run(["--ro", h.bindir], [h.bin("attack-exe"), h.ward_bin], expect_out="forbidden operations")
    h.expect_exit(res)
    h.check(sha256(h.bin("attack-exe")) == attack_hash, "the attack's own binary (/proc/self/exe) was modified")


@case("report-symlink")
def report_symlink(h):
    """CVE-2024-28185: the box plants symlinks in its --rw dir; ward's
    --report written there later (or the same run, swapped mid-run) must
    not write through them to a file outside."""
    victim = h.base + "/victim"
    with open(victim, "w") as f:
        f.write("VICTIM-ORIGINAL\n")
    os.chmod(victim, 0o666)
    if h.root:
        os.chown(victim, NOBODY, NOBODY)
    created = h.base + "/created-by-ward"
    h.host_markers.append(created)
    plant = h.bin("attack-plant")
    res = h.run(["--ro", h.bindir, "--rw", h.rw],
                [plant, h.rw + "/report.json", victim, h.rw + "/dangling.json", created,
                 h.rw + "/canary-link", h.canary, h.rw + "/grant-link", h.canary], expect_out="symlink(")
    h.expect_exit(res)
    h.check(os.path.islink(h.rw + "/report.json"), "the box could not plant its symlink", res)
    # Later runs write their report into the box's directory.
    for name in ("report.json", "dangling.json", "canary-link"):
        res = h.run(["--ro", h.bindir], ["/bin/true"], report=h.rw + "/" + name)
        if res.rc != 0:
            log("  (ward exited %s: refusing to write the report is fine)" % res.rc)
    # The same run: the box swaps the report path for a symlink while
    # ward is running.
    res = h.run(["--ro", h.bindir, "--rw", h.rw], [plant, h.rw + "/swap.json", victim],
                report=h.rw + "/swap.json", expect_out="symlink(")
    h.expect_exit(res)
    with open(victim) as f:
        h.check(f.read() == "VICTIM-ORIGINAL\n", "ward wrote its report through a box-planted symlink "
                "into '%s'" % victim)
    # Informational: a grant of a box-planted symlink follows it (as a
    # user-supplied path, like bwrap --ro-bind does).
    res = h.run(["--ro", h.bindir, "--ro", h.rw + "/grant-link:/x"], ["/bin/cat", "/x"], judge=False)
    if h.secret in res.seen:
        h.note("'--ro DIR/link:/x' follows a symlink the box planted in DIR on the host (the caller "
               "must not grant paths inside a box-writable dir)")


@case("mountpoint-symlink")
def mountpoint_symlink(h):
    """The box plants symlinks in its --rw dir pointing outside; a later run
    that nests a grant or tmpfs under that dir must not create mountpoints
    (or anything) through them on the host."""
    outside = h.base + "/outside"
    os.mkdir(outside)
    os.chmod(outside, 0o777)
    if h.root:
        os.chown(outside, NOBODY, NOBODY)
    ofile = h.base + "/outside-file"
    h.host_markers.append(ofile)
    plant = h.bin("attack-plant")
    res = h.run(["--ro", h.bindir, "--rw", h.rw],
                [plant, h.rw + "/sub", outside, h.rw + "/file-link", ofile], expect_out="symlink(")
    h.expect_exit(res)
    runs = [
        ["--rw", h.rw + ":/data", "--tmpfs", "/data/sub/deeper"],
        ["--rw", h.rw + ":/data", "--ro", h.granted + ":/data/sub/g"],
        ["--rw", h.rw, "--ro", h.granted + ":" + h.rw + "/sub/h"],
        ["--rw", h.rw, "--ro", h.granted + "/file:" + h.rw + "/file-link"],
        ["--rw", h.rw, "--tmpfs", h.rw + "/sub"],
    ]
    for wargs in runs:
        res = h.run(["--ro", h.bindir] + wargs, ["/bin/true"], refusal_ok=True)
        left = os.listdir(outside)
        if left:
            h.fail("ward created %s in '%s' through a box-planted symlink" % (left, outside), res)
            for n in left:
                p = outside + "/" + n
                if os.path.isdir(p):
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    os.unlink(p)


PROFILE_SCRIPTS = {
    "python3": ("/usr/bin/python3", "attack.py", """
import os, sys
for p in sys.argv[1:]:
    try:
        print(p, open(p).read())
    except Exception as e:
        print(p, repr(e))
print(dict(os.environ))
print("forbidden operations: done")
"""),
    "node": ("/usr/bin/node", "attack.js", """
const fs = require('fs');
for (const p of process.argv.slice(2)) {
  try { console.log(p, fs.readFileSync(p, 'utf8')); } catch (e) { console.log(p, e.code); }
}
console.log(JSON.stringify(process.env));
console.log('forbidden operations: done');
"""),
    "ruby": ("/usr/bin/ruby", "attack.rb", """
ARGV.each do |p|
  begin
    puts p, File.read(p)
  rescue => e
    puts p, e.to_s
  end
end
p ENV.to_h
puts 'forbidden operations: done'
"""),
    "perl": ("/usr/bin/perl", "attack.pl", """
for my $p (@ARGV) {
  if (open(my $f, '<', $p)) { local $/; print "$p ", <$f>, "\\n"; } else { print "$p $!\\n"; }
}
print "$_=$ENV{$_}\\n" for sort keys %ENV;
print "forbidden operations: done\\n";
"""),
    "lua": ("/usr/bin/lua5.4", "attack.lua", """
for i = 1, #arg do
  local f, e = io.open(arg[i])
  if f then print(arg[i], f:read("a")) else print(e) end
end
print(os.getenv("WARD_ESCAPE_SECRET"))
print("forbidden operations: done")
"""),
    "sh": ("/bin/sh", "attack.sh", """
for p in "$@"; do echo "$p"; cat "$p"; done
env
ls /proc /
echo "forbidden operations: done"
"""),
}


@case("profiles")
def profiles(h):
    """Each interpreter profile (python3, node, ruby, perl, lua, sh) with a
    script that reads the canary (direct, '..', /proc/1/root) and prints
    its environment and pid 1's: the profiles' extra grants expose
    neither secret."""
    targets = [h.canary, "../secret/canary", "/proc/1/root" + h.canary, "/proc/1/environ",
               "/proc/self/environ", h.granted + "/abs-link"]
    for name, (interp, script, text) in PROFILE_SCRIPTS.items():
        if not os.path.exists(interp):
            h.note("%s is not installed: profile %s not tried" % (interp, name))
            continue
        path = h.bindir + "/" + script
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
        res = h.run(["--ro", h.bindir, "--ro", h.granted], [interp, path] + targets,
                    expect_out="forbidden operations: done")
        h.expect_exit(res)


# ---- kernel memory, per-user quotas, rare kernel surface, host-global
# files, two boxes at once --------------------------------------------
#
# The pin and quota attacks (attack-pin) take what they can and then hold
# it: they write a byte to a sync file (sync_file) and keep everything
# until the driver appends one. While they hold, the driver measures
# from outside what the box pinned, and checks that the host user the box
# is charged to, and a second box, can still use the same quota.

KMEM_LIMIT = 128 << 20  # --memory for the kernel-memory cases
KMEM_TRY = 384  # MiB each kernel-memory attack tries to pin
KMEM_MARGIN = 32 << 20

# Known gaps: case -> why ward cannot close it yet. Such a case still runs
# and still fails (meson marks it should_fail, so it shows as an expected
# failure, and as an unexpected pass once the gap is closed).
NO_MEMCG = ("without a memory cgroup (unprivileged here) ward bounds memory by RLIMIT_DATA and "
            "init's count of resident pages; kernel memory held in %s is in neither, and no "
            "rlimit bounds it (see SECURITY.md)")
KNOWN_GAPS = {
    "kmem-pipes": NO_MEMCG % "pipe buffers",
    "kmem-socket-stream": NO_MEMCG % "socket buffers",
    "kmem-socket-dgram": NO_MEMCG % "queued datagrams",
    "quota-pipe-pages": "fs.pipe-user-pages-soft is counted per host uid (user_struct), not per "
                        "user namespace: every box runs as the same host uid (65534 as root, the "
                        "caller's own otherwise), so one box can use up the quota of the others and "
                        "of the host processes of that uid (they then get 2-page pipes and cannot "
                        "enlarge them); closing it needs a host uid per box",
}


def box_pids_of(path):
    """Host pids of the processes running the program at path."""
    return [p for p in host_pids() if runs_program(p, path.encode())]


def fd_links(pid):
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return []
    out = []
    for fd in fds:
        try:
            out.append((int(fd), os.readlink("/proc/%d/fd/%s" % (pid, fd))))
        except OSError:
            pass
    return out


def pinned_pipes(pids):
    """Bytes queued in the pipes the processes hold (each pipe once)."""
    seen, total = set(), 0
    buf = bytearray(4)
    for pid in pids:
        for fd, link in fd_links(pid):
            if not link.startswith("pipe:") or link in seen:
                continue
            seen.add(link)
            try:
                f = os.open("/proc/%d/fd/%d" % (pid, fd), os.O_RDONLY | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                fcntl.ioctl(f, termios.FIONREAD, buf)
                total += int.from_bytes(buf, sys.byteorder)
            finally:
                os.close(f)
    return total


def pidfd_getfd(pid, fd):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    pfd = libc.syscall(434, pid, 0)  # pidfd_open
    if pfd < 0:
        return -1
    try:
        return libc.syscall(438, pfd, fd, 0)  # pidfd_getfd
    finally:
        os.close(pfd)


def pinned_sockets(pids):
    """Socket buffer memory the processes' unix sockets hold: SIOCOUTQ of
    a unix socket is its sk_wmem_alloc, the truesize of every skb it sent
    that is not consumed yet (queued at its peer included)."""
    seen, total = set(), 0
    buf = bytearray(4)
    for pid in pids:
        for fd, link in fd_links(pid):
            if not link.startswith("socket:") or link in seen:
                continue
            seen.add(link)
            f = pidfd_getfd(pid, fd)
            if f < 0:
                continue
            try:
                fcntl.ioctl(f, termios.TIOCOUTQ, buf)
                total += int.from_bytes(buf, sys.byteorder)
            except OSError:
                pass
            finally:
                os.close(f)
    return total


def pinned_sysvipc(pids, kind):
    """SysV shared memory (resident bytes) or message queue bytes in the
    IPC namespace of the first pid, read through nsenter."""
    if not pids:
        return 0
    out = subprocess.run(["nsenter", "--ipc=/proc/%d/ns/ipc" % pids[0], "cat", "/proc/sysvipc/" + kind],
                         capture_output=True, text=True, timeout=30).stdout.splitlines()
    if not out:
        return 0
    cols = out[0].split()
    col = cols.index({"shm": "rss", "msg": "cbytes", "sem": "nsems"}[kind])
    scale = 64 if kind == "sem" else 1  # bytes of kernel memory a semaphore
    return scale * sum(int(l.split()[col]) for l in out[1:] if len(l.split()) > col)


def pinned_tmpfs(pids):
    if not pids:
        return 0
    st = os.statvfs("/proc/%d/root/tmp" % pids[0])
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def sync_file(h):
    """A fresh, empty file the box and the driver signal each other
    through, granted read-write as a single file: a file grant is the host
    file itself, seen live from both sides (a directory grant is not: what
    the box writes there reaches the host only when the run ends). The box
    writes one byte when it holds; the driver appends one to release it."""
    h.syncs = getattr(h, "syncs", 0) + 1
    path = "%s/sync-%d" % (h.base, h.syncs)
    with open(path, "w"):
        pass
    os.chmod(path, 0o666)
    if h.root:
        os.chown(path, NOBODY, NOBODY)
    return path


def sync_holding(path):
    return os.path.getsize(path) >= 1


def sync_release(path):
    with open(path, "a") as f:
        f.write("R")


def holding_run(h, wargs, argv, during, timeout=120):
    """Runs ward in a thread; once the box holds (it wrote to the sync
    file that takes argv[2]'s place), calls during() while it holds, then
    lets it go. Returns (ward's result, during's result or None when the
    box ended without holding)."""
    sync = sync_file(h)
    wargs = list(wargs) + ["--rw", sync]
    argv = list(argv)
    argv[2] = sync
    box = []
    t = threading.Thread(target=lambda: box.append(h.run(wargs, argv, timeout=timeout)), daemon=True)
    t.start()
    got = None
    while t.is_alive() and not sync_holding(sync):
        time.sleep(0.05)
    if t.is_alive():
        try:
            got = during()
        finally:
            sync_release(sync)
    t.join()
    return box[0], got


def kmem(h, mode, measure, extra=(), host_wide=False, tries=KMEM_TRY, margin=KMEM_MARGIN):
    """Kernel memory pinned by a box with --memory 128M, measured from
    outside while the box holds it, must stay within the memory limit.
    A host_wide measure (a /proc/meminfo figure) works unprivileged too."""
    argv = [h.bin("attack-pin"), mode, h.rw, str(tries)]
    wargs = ["--ro", h.bindir, "--rw", h.rw, "--memory", "%dM" % (KMEM_LIMIT >> 20)] + list(extra)
    path = h.bins["attack-pin"]
    if not h.root and not host_wide:
        h.note("not root: cannot measure another uid's kernel objects; only the run is checked")
        measure = lambda pids: 0
    before = meminfo_available()

    def during():
        pinned = measure(box_pids_of(path))
        log("  the box pins %d MiB (%s), host MemAvailable dropped %d MiB" % (
            pinned >> 20, mode, (before - meminfo_available()) >> 20))
        return pinned

    res, pinned = holding_run(h, wargs, argv, during)
    if pinned is not None:
        h.check(pinned <= KMEM_LIMIT + margin,
                "%s: the box pinned %d MiB of kernel memory outside its %d MiB memory limit" % (
                    mode, pinned >> 20, KMEM_LIMIT >> 20), res)
    if res.status == "memory-limit":
        h.expect_exit(res, 119, "memory-limit")
    else:
        h.expect_exit(res)
    left = leftovers(path)
    if left:
        h.fail("%d processes of the attack outlived the run" % len(left))
        kill_pids(left)


@case("kmem-pipes")
def kmem_pipes(h):
    """64 processes fill pipes enlarged to 1 MiB (F_SETPIPE_SZ) up to 384
    MiB in all, with --memory 128M: the pipe buffers the box pins count
    against its memory limit."""
    kmem(h, "pipes", pinned_pipes)


@case("kmem-socket-stream")
def kmem_socket_stream(h):
    """8 processes fill unix stream socketpairs with SO_SNDBUF at its
    maximum, up to 384 MiB in all, with --memory 128M: the socket buffers
    count against the box's memory limit."""
    kmem(h, "stream", pinned_sockets)


@case("kmem-socket-dgram")
def kmem_socket_dgram(h):
    """8 processes queue unix datagrams at their socketpair peers, up to
    384 MiB in all, with --memory 128M: the queued datagrams count
    against the box's memory limit."""
    kmem(h, "dgram", pinned_sockets)


@case("kmem-sysv-shm")
def kmem_sysv_shm(h):
    """SysV shared memory segments created, touched and detached (they
    outlive every mapping), up to 384 MiB, with --memory 128M."""
    kmem(h, "shm", lambda pids: pinned_sysvipc(pids, "shm"))


@case("kmem-sysv-msg")
def kmem_sysv_msg(h):
    """SysV message queues filled with 8 KiB messages, up to 384 MiB,
    with --memory 128M."""
    kmem(h, "msg", lambda pids: pinned_sysvipc(pids, "msg"))


@case("kmem-sysv-sem")
def kmem_sysv_sem(h):
    """SysV semaphore arrays (64 bytes of kernel memory a semaphore), up
    to 384 MiB, with --memory 128M."""
    kmem(h, "sem", lambda pids: pinned_sysvipc(pids, "sem"))


@case("kmem-dev-shm")
def kmem_dev_shm(h):
    """POSIX shared memory: files in /dev/shm (the box's /tmp tmpfs), up
    to 384 MiB, with --memory 128M: bounded by tmp-size (64M) and the
    memory limit; nothing lands in the host's /dev/shm."""
    before = set(os.listdir("/dev/shm"))
    kmem(h, "devshm", pinned_tmpfs)
    new = [n for n in set(os.listdir("/dev/shm")) - before if n.startswith("pin-")]
    h.check(not new, "the box's files appeared in the host's /dev/shm: %s" % new[:5])


def meminfo(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def shmem_growth():
    """How much the host's shmem (/proc/meminfo Shmem) grows from now: a
    measure for kmem(). Host-wide, so other activity adds to it; the
    attacks pin several times the margin."""
    before = meminfo("Shmem")
    return lambda pids: max(0, meminfo("Shmem") - before)


@case("shm-anon-nocgroup")
def shm_anon_nocgroup(h):
    """Without a memory cgroup (--cgroup off; unprivileged there is none):
    MAP_SHARED|MAP_ANONYMOUS memory touched and dropped from the page
    tables with MADV_DONTNEED, up to 384 MiB with --memory 128M. The pages
    stay in the kernel's shmem object, which init's resident count cannot
    see: the host's shmem must not grow beyond the limit."""
    kmem(h, "shmanon", shmem_growth(), ["--cgroup", "off"], host_wide=True)


@case("shm-zero-nocgroup")
def shm_zero_nocgroup(h):
    """The same through a MAP_SHARED mapping of /dev/zero (also shmem)."""
    kmem(h, "shmzero", shmem_growth(), ["--cgroup", "off"], host_wide=True)


THP_TRY = 1024  # MiB of huge pages the vmsplice attack tries to pin
THP_MARGIN = 384 << 20  # host-wide measure: other activity shows too


@case("thp-vmsplice-nocgroup")
def thp_vmsplice_nocgroup(h):
    """Without a memory cgroup: vmsplice one 4 KiB page of each 2 MiB
    transparent huge page into a pipe and munmap it: each slot keeps the
    whole huge page (16 slots: 32 MiB a pipe), up to 1 GiB with --memory
    128M. Judged by the host's MemAvailable while the box holds."""
    before = meminfo_available()
    kmem(h, "thp", lambda pids: max(0, before - meminfo_available()), ["--cgroup", "off"],
         host_wide=True, tries=THP_TRY, margin=THP_MARGIN)


def userns_owner(pids):
    """Host uid that owns the user namespace of the first pid
    (NS_GET_OWNER_UID), or None."""
    if not pids:
        return None
    fd = None
    for _ in range(20):  # the box may still be starting its program
        try:
            fd = os.open("/proc/%d/ns/user" % pids[0], os.O_RDONLY)
            break
        except OSError:
            time.sleep(0.05)
    if fd is None:
        return None
    try:
        buf = bytearray(4)
        fcntl.ioctl(fd, 0xb704, buf)  # NS_GET_OWNER_UID
        return int.from_bytes(buf, sys.byteorder)
    except OSError:
        return None
    finally:
        os.close(fd)


def run_probe(h, probe, as_uid):
    """Runs an attack-pin probe on the host as as_uid: True when the
    resource was still available."""
    pre = [] if as_uid == 0 else ["setpriv", "--reuid=%d" % as_uid, "--regid=%d" % as_uid, "--clear-groups", "--"]
    p = subprocess.run(pre + [h.bin("attack-pin"), probe], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60)
    log("  host probe as uid %d: %s -> exit %d" % (as_uid, p.stdout.decode(errors="replace").strip()[:300],
                                                    p.returncode))
    return p.returncode == 0


def quota(h, mode, probe, extra=(), statuses=("exited",)):
    """While a box holds all it can of a per-user kernel quota, the host
    user(s) the box is charged to, and a second box, can still use it.
    As root the box's user namespace is owned by a host uid of its own
    (no process runs as it); root and the box's host uid are probed."""
    argv = [h.bin("attack-pin"), mode, h.rw] + list(extra)
    wargs = ["--ro", h.bindir, "--rw", h.rw]
    uids = [0, NOBODY] if h.mode == "root" else [os.geteuid() if h.mode == "user" else NOBODY]

    def during():
        got = {}
        owner = userns_owner(box_pids_of(h.bins["attack-pin"]))
        log("  the box's user namespace is owned by host uid %s" % owner)
        if h.mode == "root" and owner is not None:  # None: the box has ended already
            h.check(owner not in (0, NOBODY, os.geteuid()),
                    "the box's user namespace is owned by host uid %s (root, the box's host uid %d or "
                    "the caller): the kernel charges the box's use of per-user quotas to that user, "
                    "and its processes hold every capability over the box" % (owner, NOBODY))
        for uid in uids:
            got["host uid %d" % uid] = run_probe(h, probe, uid)
        second = h.run(["--ro", h.bindir], [h.bin("attack-pin"), probe], judge=False)
        log("  second box: %s" % second.stdout.decode(errors="replace").strip()[:300])
        got["a second box"] = second.rc == 0
        return got

    res, got = holding_run(h, wargs, argv, during)
    out = res.stdout.decode(errors="replace")
    h.check(got is not None or res.status not in ("exited", None),
            "%s: the box never held its quota" % mode, res)
    for who, ok in (got or {}).items():
        h.check(ok, "%s: while the box held its maximum, %s could not use it any more (%s)" % (
            mode, who, probe), res)
    if res.status == "procs-limit" and "procs-limit" in statuses:
        h.expect_exit(res, 118, "procs-limit")
    else:
        h.expect_exit(res)
    left = leftovers(h.bins["attack-pin"], wait=5)
    if left:
        h.fail("%d processes of the attack outlived the run" % len(left))
        kill_pids(left)
    return out


@case("quota-inotify")
def quota_inotify(h):
    """Create inotify instances until the kernel refuses and hold them
    (max_user_instances is per user, 128 here): the host user the box is
    charged to (root too, as root) and a second box can still create one."""
    quota(h, "inotify", "probe-inotify")


@case("quota-inotify-watches")
def quota_inotify_watches(h):
    """Add inotify watches on 8000 files from every instance the box may
    have until the kernel refuses (max_user_watches is per user), hold
    them: the host user and a second box can still add a watch."""
    quota(h, "watches", "probe-watch", ["8000"])


@case("quota-sigqueue")
def quota_sigqueue(h):
    """Queue real-time signals to itself (sigqueue, which RLIMIT_SIGPENDING
    bounds per user) until refused, hold them: the host user and a second
    box can still queue one."""
    quota(h, "sigqueue", "probe-sigqueue")


@case("quota-procs")
def quota_procs(h):
    """Fork until refused and hold the processes (RLIMIT_NPROC is per
    user): the host user and a second box can still fork."""
    quota(h, "procs", "probe-fork", statuses=("exited", "procs-limit"))


@case("quota-pipe-pages")
def quota_pipe_pages(h):
    """Enlarge pipes to 1 MiB and fill them until the per-user pipe quota
    (fs.pipe-user-pages-soft, counted per host uid) is used up, hold them:
    the host user and a second box can still enlarge a pipe."""
    quota(h, "pipes", "probe-pipe", [str(KMEM_TRY)])


@case("quota-userns")
def quota_userns(h):
    """Create user namespaces (unshare, clone) to use up max_user_namespaces:
    refused; the host user can still create one."""
    res = h.run(["--ro", h.bindir], [h.bin("attack-pin"), "userns", h.rw], expect_out="forbidden operations")
    h.expect_exit(res)
    h.check(run_probe(h, "probe-userns", 0 if h.mode == "root" else os.geteuid() if h.mode == "user" else NOBODY),
            "the host user could not create a user namespace after the box tried", res)


@case("quota-mqueue")
def quota_mqueue(h):
    """POSIX message queues (mq_open, whose bytes RLIMIT_MSGQUEUE counts
    per user): refused, so the box takes nothing of the user's quota."""
    res = h.run(["--ro", h.bindir], [h.bin("attack-pin"), "mqueue", h.rw], expect_out="forbidden operations")
    h.expect_exit(res)


def rare(h, group, extra=(), wargs=(), calibrate=False):
    argv = [h.bin("attack-rare"), group] + list(extra)
    if calibrate:
        cal = h.run([], argv, unboxed=True, quiet=True)
        h.check(cal.rc and cal.rc > 0, "calibration: outside the box no '%s' call works, the test "
                "cannot tell" % group, cal)
    res = h.run(["--ro", h.bindir] + list(wargs), argv, expect_out="forbidden operations")
    h.expect_exit(res)
    return res


@case("socket-protocols")
def socket_protocols(h):
    """AF_INET/AF_INET6 sockets of rarely used protocols with a history of
    kernel bugs (SCTP, DCCP, MPTCP, L2TP, UDP-Lite, ping, IGMP, SMC),
    also with high bits set in the protocol: refused, while TCP and UDP
    work."""
    res = rare(h, "sockproto")
    out = res.stdout.decode(errors="replace")
    h.check("socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) -> ok" in out, "TCP sockets no longer work", res)


@case("syscalls-mm")
def syscalls_mm(h):
    """process_madvise, process_mrelease, memfd_secret, NUMA policy calls,
    move_pages, remap_file_pages, AIO, kcmp, mlockall, lookup_dcookie,
    quotactl, uselib, fspick, syncfs."""
    rare(h, "mm", calibrate=True)


@case("syscalls-time")
def syscalls_time(h):
    """settimeofday, clock_settime, adjtimex (also read-only),
    clock_adjtime: all refused, the host clock untouched."""
    rare(h, "time", calibrate=True)


@case("open-by-handle")
def open_by_handle(h):
    """open_by_handle_at with the canary's real file handle (made on the
    host) and with handles of a granted file and its inode neighbours."""
    p = subprocess.run([h.bin("attack-rare"), "handle-of", h.canary], capture_output=True, text=True)
    handle = [l.split(" ", 1)[1] for l in p.stdout.splitlines() if l.startswith("HANDLE ")]
    if not h.check(handle, "cannot make the canary's file handle on the host: %s" % p.stdout):
        return
    argv = [h.bin("attack-rare"), "handle", handle[0], h.granted + "/file"]
    if h.mode == "root":
        cal = subprocess.run(argv, capture_output=True, text=True)
        h.check(h.secret in cal.stdout, "calibration: root outside the box does not read the canary "
                "by its handle: %s" % cal.stdout[:2000])
    res = h.run(["--ro", h.bindir, "--ro", h.granted], argv, expect_out="forbidden operations")
    h.expect_exit(res)


@case("kernel-bugs")
def kernel_bugs(h):
    """Replays of page-cache write bugs against a read-only grant: Dirty
    Pipe (CVE-2022-0847), /proc/self/mem into a shared read-only mapping,
    Dirty COW (CVE-2016-5195): the file is unchanged."""
    target = h.granted + "/file"
    st = os.stat(target)
    res = rare(h, "bugs", [target], ["--ro", h.granted])
    with open(target) as f:
        h.check(f.read() == "ORIGINAL\n", "the read-only file '%s' was modified" % target, res)
    h.check(os.stat(target).st_mtime_ns == st.st_mtime_ns, "the read-only file's mtime changed", res)


def host_files(paths):
    got = {}
    for p in paths:
        try:
            with open(p, "rb") as f:
                got[p] = f.read(65536)
        except OSError:
            got[p] = None
    return got


def global_write(h, group, paths, extra=()):
    """Runs a host-global attack and checks that none of paths changed
    (putting back any that did)."""
    before = host_files(paths)
    res = rare(h, group, extra)
    after = host_files(paths)
    for p in paths:
        if after[p] != before[p]:
            h.fail("the host's '%s' changed: %r -> %r" % (p, before[p], after[p]), res)
            if before[p] is not None:
                try:
                    with open(p, "wb") as f:
                        f.write(before[p])
                except OSError as e:
                    log("  cannot restore '%s': %s" % (p, e))
    return res


@case("core-pattern")
def core_pattern(h):
    """Write /proc/sys/kernel/core_pattern (and core_pipe_limit,
    suid_dumpable), directly, through /proc/1/root and a new procfs; raise
    RLIMIT_CORE. Each write puts back the value read, so a success is
    harmless: it is counted, and the host values are compared."""
    global_write(h, "corepattern", ["/proc/sys/kernel/core_pattern", "/proc/sys/kernel/core_pipe_limit",
                                    "/proc/sys/kernel/core_uses_pid", "/proc/sys/fs/suid_dumpable"])


@case("binfmt-misc")
def binfmt_misc(h):
    """Register a binfmt_misc interpreter (a harmless one for an unused
    extension): through the host's binfmt_misc, /proc/1/root, and a new
    binfmt_misc mount. No entry appears on the host."""
    entry = "/proc/sys/fs/binfmt_misc/ward-escape-" + h.token
    rare(h, "binfmt", [h.token])
    if os.path.exists(entry):
        h.fail("the box registered binfmt_misc entry '%s'" % entry)
        with open(entry, "w") as f:
            f.write("-1")


@case("uevent-helper")
def uevent_helper(h):
    """Write /sys/kernel/uevent_helper and /proc/sys/kernel/hotplug (a new
    sysfs, a uevent trigger, NETLINK_KOBJECT_UEVENT): refused, host values
    unchanged."""
    global_write(h, "uevent", ["/sys/kernel/uevent_helper", "/proc/sys/kernel/hotplug"])


@case("release-agent")
def release_agent(h):
    """Mount cgroup v1 hierarchies (a named one, memory, rdma) and write a
    release_agent or notify_on_release, in a new mount or the host's
    /sys/fs/cgroup/*: refused, host files unchanged."""
    paths = []
    for d in os.listdir("/sys/fs/cgroup"):
        for n in ("release_agent", "notify_on_release"):
            p = "/sys/fs/cgroup/%s/%s" % (d, n)
            if os.path.exists(p):
                paths.append(p)
    global_write(h, "release-agent", paths)


@case("sysrq-modprobe")
def sysrq_modprobe(h):
    """/proc/sysrq-trigger, kernel.sysrq, kernel.modprobe (modprobe_path),
    poweroff_cmd, the usermode-helper bounding set, panic settings; and an
    exec of an unknown binary format (which asks modprobe): refused."""
    global_write(h, "sysrq", ["/proc/sys/kernel/sysrq", "/proc/sys/kernel/modprobe",
                              "/proc/sys/kernel/poweroff_cmd", "/proc/sys/vm/panic_on_oom",
                              "/proc/sys/kernel/panic"])


@case("proc-sys-scan")
def proc_sys_scan(h):
    """Open every file under the box's /proc/sys and /sys for writing
    (never writing): none may open."""
    res = rare(h, "procsys")
    h.check(b" 0 of 0 files" not in res.stdout, "the box saw no file under /proc/sys", res)


class PeerBox:
    """Box B for the two-box cases: attack-peer victim, with a secret in
    its /tmp, its --rw dir, its arguments and environment, listening on
    an abstract and a /tmp unix socket."""

    def __init__(self, h):
        self.h = h
        self.dir = h.base + "/peer"
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o777)
        if h.root:
            os.chown(self.dir, NOBODY, NOBODY)
        self.name = "ward-peer-" + h.token
        report = "%s/report-peer.json" % h.reportdir
        self.sync = sync_file(h)
        cmd = h.ward_cmd(["--ro", h.bindir, "--rw", self.dir, "--rw", self.sync,
                          "--env", "PEER_SECRET=" + h.other_secret],
                         [h.bin("attack-peer"), "victim", self.dir, h.other_secret, self.name, self.sync],
                         report)
        log("$ " + " ".join(cmd) + "   (box B)")
        self.out = tempfile.TemporaryFile()
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT,
                                  cwd=h.cwd, env=h.env(), start_new_session=True)
        deadline = time.monotonic() + 15
        while not sync_holding(self.sync) and time.monotonic() < deadline and self.p.poll() is None:
            time.sleep(0.05)
        self.pid = None
        for pid in box_pids_of(h.bins["attack-peer"]):
            if b"victim" in proc_read(pid, "cmdline"):
                self.pid = pid
        h.check(self.pid is not None, "box B did not start")
        log("  box B's program is host pid %s" % self.pid)

    def finish(self):
        """Lets B go and checks it was alive and accepted nothing."""
        h = self.h
        alive = self.p.poll() is None
        if self.pid:
            st = dict(l.split(":", 1) for l in proc_read(self.pid, "status").decode().splitlines() if ":" in l)
            h.check(not st.get("State", "").strip().startswith(("T", "t")),
                    "box B's program is stopped or traced: %s" % st.get("State"))
        sync_release(self.sync)
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
        self.out.seek(0)
        text = self.out.read(65536).decode(errors="replace")
        self.out.close()
        h.check(alive and self.p.returncode == 0, "box B was killed or failed (exit %s): %s" % (
            self.p.returncode, text[-2000:]))
        h.check("victim: accepted 0 connections" in text, "box B's sockets accepted a connection from box A: %s"
                % text[-2000:])


def two_boxes(h, argv_of, runs=((),)):
    b = PeerBox(h)
    try:
        if b.pid:
            for extra in runs:
                res = h.run(["--ro", h.bindir, "--rw", h.rw] + list(extra), argv_of(b),
                            expect_out="forbidden operations")
                h.expect_exit(res)
    finally:
        b.finish()


HOST_NOBODY_PROBE = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for pid in sys.argv[1:]:
    def won(what):
        print("WON %s %s" % (pid, what), flush=True)
    for path, flags in (("mem", os.O_RDWR), ("environ", os.O_RDONLY), ("root/tmp/box-secret", os.O_RDONLY)):
        try:
            os.close(os.open("/proc/%s/%s" % (pid, path), flags))
            won("open " + path)
        except OSError:
            pass
    if libc.ptrace(0x4206, int(pid), None, None) == 0:  # PTRACE_SEIZE
        won("ptrace")
    # Each join in a child of its own: a joined namespace changes what
    # the next attempt means.
    for ns, flag in (("user", 0x10000000), ("mnt", 0x20000), ("net", 0x40000000),
                     ("uts", 0x4000000), ("ipc", 0x8000000)):
        child = os.fork()
        if child == 0:
            try:
                fd = os.open("/proc/%s/ns/%s" % (pid, ns), os.O_RDONLY)
                if libc.setns(fd, flag) == 0:
                    won("setns " + ns)
            except OSError:
                pass
            os._exit(0)
        os.waitpid(child, 0)
print("probe done", flush=True)
"""


@case("host-nobody")
def host_nobody(h):
    """A host process running as uid 65534 (the box's host uid as root:
    daemons, unprivileged controllers) attacks two running boxes: joins
    their user, mount, net, uts and ipc namespaces, opens their program's
    and init's /proc/PID/mem, environ and root/tmp, PTRACE_SEIZEs them.
    The boxes' user namespaces are owned by neither root, nor 65534, nor
    each other's owner."""
    if h.mode != "root":
        h.note("the box runs as the caller's own uid: the caller owns the box by design")
        return
    boxes = []
    try:
        for i in range(2):
            report = "%s/report-nobody-%d.json" % (h.reportdir, i)
            argv = ["/bin/sh", "-c", "echo %s > /tmp/box-secret && exec /bin/sleep 120" % h.other_secret]
            cmd = h.ward_cmd(["--env", "WARD_OTHER_BOX=" + h.other_secret], argv, report)
            boxes.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, cwd=h.cwd, env=h.env(),
                                          start_new_session=True))
        pids = []
        deadline = time.monotonic() + 15
        while len(pids) < 2 and time.monotonic() < deadline:
            pids = [p for p in host_pids() if proc_read(p, "cmdline") == b"/bin/sleep\x00120\x00" and
                    h.other_secret.encode() in proc_read(p, "environ")]
            time.sleep(0.05)
        if not h.check(len(pids) == 2, "the boxes' programs did not start (%s)" % pids):
            return
        inits = []
        for p in pids:
            st = dict(l.split(":", 1) for l in proc_read(p, "status").decode().splitlines() if ":" in l)
            inits.append(int(st.get("PPid", "0").strip() or 0))
        owners = [userns_owner([p]) for p in pids]
        log("  programs %s, inits %s, user namespaces owned by host uids %s" % (pids, inits, owners))
        for o in owners:
            h.check(o is not None and o not in (0, NOBODY, os.geteuid()),
                    "a box's user namespace is owned by host uid %s (root, %d or the caller): that "
                    "user's processes hold every capability over the box" % (o, NOBODY))
        h.check(owners[0] != owners[1], "two boxes' user namespaces have the same owner %s: they share "
                "its per-user quotas" % owners[0])
        p = subprocess.run(h.unboxed_prefix() + ["/usr/bin/python3", "-c", HOST_NOBODY_PROBE] +
                           [str(x) for x in pids + inits if x > 1],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        out = p.stdout[:65536].decode(errors="replace")
        log("  uid %d: %s" % (NOBODY, out.strip().replace("\n", "; ")[:2000]))
        h.check("probe done" in out, "the host probe did not run: %s" % p.stderr[:2000].decode(errors="replace"))
        won = [l for l in out.splitlines() if l.startswith("WON ")]
        h.check(not won, "a host uid-%d process reached into the boxes: %s" % (NOBODY, won))
        h.check(h.other_secret.encode() not in p.stdout + p.stderr, "the boxes' secret reached the host probe")
        for p in pids:
            st = dict(l.split(":", 1) for l in proc_read(p, "status").decode().splitlines() if ":" in l)
            h.check(st.get("TracerPid", "0").strip() == "0", "a box's program has a tracer")
    finally:
        for b in boxes:
            if b.poll() is None:
                os.killpg(b.pid, signal.SIGKILL)
            b.wait()


@case("twobox-tmp")
def twobox_tmp(h):
    """Box A reads box B's /tmp/peer-secret: its own /tmp, every
    /proc/PID/root/tmp it sees, B's host pid's root."""
    two_boxes(h, lambda b: [h.bin("attack-peer"), "files", "/tmp/peer-secret",
                            "/proc/%d/root/tmp/peer-secret" % b.pid])


@case("twobox-rwdir")
def twobox_rwdir(h):
    """Box A reads the file box B wrote into B's read-write grant (not
    granted to A), directly and through /proc."""
    two_boxes(h, lambda b: [h.bin("attack-peer"), "files", b.dir + "/peer-secret",
                            "/proc/%d/root%s/peer-secret" % (b.pid, b.dir)])


@case("twobox-proc")
def twobox_proc(h):
    """Box A reads /proc/*/cmdline and environ of every pid up to 4096,
    B's host pid's cmdline, environ, mem and root, process_vm_readv and
    pidfd_open on it: B's arguments and environment (its secret) stay out."""
    two_boxes(h, lambda b: [h.bin("attack-peer"), "proc", str(b.pid)])


@case("twobox-abstract")
def twobox_abstract(h):
    """Box A connects (stream and datagram) to box B's abstract unix
    socket, with --net none and --net loopback: B accepts nothing."""
    two_boxes(h, lambda b: [h.bin("attack-peer"), "abstract", b.name], runs=((), ("--net", "loopback")))


@case("twobox-net")
def twobox_net(h):
    """Box A looks for box B's network sockets: binds B's UDP port (taken
    only if the two share a port space), finds the port in /proc/net/udp
    and B's socket name in /proc/net/unix, sends B a datagram; with --net
    none and --net loopback. Each box has a network namespace of its own
    (docs/ARCHITECTURE.md): B receives nothing, A finds nothing."""
    two_boxes(h, lambda b: [h.bin("attack-peer"), "net", b.name], runs=((), ("--net", "loopback")))


@case("twobox-unix")
def twobox_unix(h):
    """Box A connects to the unix socket box B listens on in B's /tmp:
    its own /tmp, /proc/PID/root/tmp, B's host pid's root."""
    two_boxes(h, lambda b: [h.bin("attack-peer"), "unix", "/tmp/%s.sock" % b.name,
                            "/proc/%d/root/tmp/%s.sock" % (b.pid, b.name)])


@case("twobox-signal")
def twobox_signal(h):
    """Box A sends SIGKILL and SIGSTOP to B's host pid, SIGSTOP to every
    pid up to 65536, and kill(-1, SIGKILL): B lives, not stopped."""
    two_boxes(h, lambda b: [h.bin("attack-peer"), "signal", str(b.pid)])


def privileged_files(d):
    """Set-user-ID/set-group-ID files (set-user-ID directories too), file
    capabilities, ACLs and any security.*/trusted.* attribute under d, as a
    host user would find them (find -perm /6000, getcap -r, getfattr)."""
    found = []
    for root, dirs, files in os.walk(d):
        for name in dirs + files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                continue
            bits = st.st_mode & (stat.S_ISUID | stat.S_ISGID)
            if stat.S_ISDIR(st.st_mode):
                bits &= stat.S_ISUID  # a setgid directory only passes its group on
            if bits:
                found.append("%s mode %o" % (path, st.st_mode))
            for attr in os.listxattr(path, follow_symlinks=False):
                if attr.startswith(("security.", "system.", "trusted.")):
                    found.append("%s has %s" % (path, attr))
    if shutil.which("getcap"):
        out = subprocess.run(["getcap", "-r", d], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout[:65536].decode(errors="replace")
        found += ["getcap: " + line for line in out.splitlines() if line.strip()]
    return found


@case("rw-setuid")
def rw_setuid(h):
    """Leave a set-user-ID/set-group-ID file, a file capability or an ACL in
    a read-write grant: chmod and its variants, a mode on open, openat,
    openat2, creat, mkdir and mknod, the setxattr family, links to the
    host's setuid programs, a file moved in from /tmp. As root the grant is
    owned by root (the box writes as root through an idmapped mount);
    unprivileged it is the caller's. Judged by walking the directory."""
    # As root: a root-owned grant (idmapped) and one of the box's host uid
    # (not idmapped); unprivileged: the caller's.
    grants = [(h.base + "/rwown", NOBODY)]
    if h.mode == "root":
        grants.append((h.base + "/rwroot", 0))
    for d, owner in grants:
        os.mkdir(d, 0o755)
        os.chown(d, owner, owner)
    # Calibration: the same attack outside the box, in a directory of the
    # box's host uid, leaves such files and the walk finds them.
    cal_dir = h.base + "/rwcal"
    os.mkdir(cal_dir, 0o755)
    os.chown(cal_dir, NOBODY, NOBODY)
    cal = h.run([], [h.bin("attack-setuid"), cal_dir], unboxed=True, quiet=True)
    h.check(privileged_files(cal_dir), "calibration: outside the box the attack leaves no setuid file", cal)
    for d, owner in grants:
        res = h.run(["--ro", h.bindir, "--rw", d], [h.bin("attack-setuid"), d],
                    expect_out="forbidden operations")
        h.expect_exit(res)
        left = privileged_files(d)
        h.check(not left, "privileged files left in the grant: %s" % left[:5], res)
        for name in os.listdir(d):
            h.check(os.lstat(os.path.join(d, name)).st_uid == owner,
                    "'%s' is not owned by the grant's owner (uid %d)" % (name, owner))


DEFAULT_DISK = 256 << 20


def tree_bytes(d):
    """Bytes the tree under d takes on disk (st_blocks) and its entries."""
    total, n = 0, 0
    for root, dirs, files in os.walk(d):
        for name in dirs + files:
            total += os.lstat(os.path.join(root, name)).st_blocks * 512
            n += 1
    return total, n


@case("disk-fill")
def disk_fill(h):
    """Fill a read-write grant, no limit flags, every write under the
    file-size limit: many small files, empty directories, fallocate (plain,
    KEEP_SIZE past the end, INSERT_RANGE), sparse files. The box meets
    ENOSPC at the default disk limit; the host directory and the host's
    free space change by no more than it."""
    d = h.base + "/rwdisk"
    os.mkdir(d, 0o755)
    if h.mode == "unpriv":
        os.chown(d, NOBODY, NOBODY)
    before = disk_free("/var/tmp")
    sampler = Sampler(lambda: disk_free("/var/tmp"))
    sampler.start()
    try:
        res = h.run(["--ro", h.bindir, "--rw", d], [h.bin("attack-disk"), d], timeout=240,
                    expect_out="forbidden operations: done")
    finally:
        free = sampler.finish()
    h.expect_exit(res)
    used, n = tree_bytes(d)
    low = min(free + [disk_free("/var/tmp")])
    log("  host directory: %d MiB in %d entries; host free disk dropped by %d MiB at most" % (
        used >> 20, n, max(0, before - low) >> 20))
    h.check(b"ENOSPC" in res.stdout, "the box never met ENOSPC", res)
    h.check(used <= DEFAULT_DISK + (4 << 20),
            "the host directory takes %d MiB (default disk limit %d MiB)" % (used >> 20, DEFAULT_DISK >> 20), res)
    h.check(before - low < DEFAULT_DISK + (64 << 20),
            "host free disk dropped by %d MiB" % ((before - low) >> 20), res)
    h.check(n > 0, "nothing the box wrote reached the host directory", res)


# ---- main ------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description="run one ward escape test")
    ap.add_argument("--ward", help="the ward binary")
    ap.add_argument("--attack", action="append", default=[], help="an attack binary (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every run's output")
    ap.add_argument("--as", dest="modes", choices=["root", "unpriv", "both"], default="both")
    ap.add_argument("--warm", choices=["pool", "zygote"],
                    help="run every box through a pool, or a python zygote (ward run --warm)")
    ap.add_argument("--libward", help="libward.so.1, for --warm (ward-dyn loads it)")
    ap.add_argument("case", choices=sorted(CASES) + ["list"])
    opts = ap.parse_args()
    if opts.case == "list":
        for name, fn in sorted(CASES.items()):
            log("%-20s %s" % (name, " ".join(fn.__doc__.split())))
        return 0
    if not opts.ward:
        ap.error("--ward is required")
    opts.ward = os.path.abspath(opts.ward)
    opts.attack = [os.path.abspath(a) for a in opts.attack]
    if os.geteuid() == 0:
        modes = ["root", "unpriv"] if opts.modes == "both" else [opts.modes]
    else:
        modes = ["user"]
        log("not root: running as uid %d only (the root and uid 65534 runs need root)" % os.geteuid())
    fn = CASES[opts.case]
    log("escape test '%s'%s: %s" % (opts.case, " through a warm %s" % opts.warm if opts.warm else "",
                                    " ".join(fn.__doc__.split())))
    failed = []
    skipped = []
    for mode in modes:
        log("\n=== as %s" % (mode if mode != "unpriv" else "uid %d (unprivileged)" % NOBODY))
        try:
            h = Host(opts, mode)
        except Exception as e:
            log("FAIL [%s]: cannot prepare the host side: %r" % (mode, e))
            failed.append((mode, ["cannot prepare the host side: %r" % e]))
            continue
        try:
            fn(h)
            h.final_checks()
        except Exception as e:  # a broken fixture is a failure, not a pass
            h.fail("the test itself failed: %r" % e)
            import traceback
            traceback.print_exc()
        finally:
            h.cleanup()
        log("=== %s: %s" % (mode, "ok" if not h.failures else "%d failure(s)" % len(h.failures)))
        for n in h.notes:
            log("    note: " + n)
        if h.failures:
            failed.append((mode, h.failures))
        elif h.skip_reason:
            skipped.append((mode, h.skip_reason))
    log("")
    gap = KNOWN_GAPS.get(opts.case)
    if gap and failed:
        log("KNOWN GAP (expected failure): %s" % gap)
    elif gap:
        log("the known gap did not show: take '%s' out of KNOWN_GAPS and should_fail" % opts.case)
    if failed:
        for mode, fails in failed:
            for f in fails:
                log("FAILED [%s] %s" % (mode, f))
        return 1
    if skipped and len(skipped) == len(modes):
        for mode, why in skipped:
            log("SKIPPED [%s] %s" % (mode, why))
        return 77  # meson's "skipped"
    log("ok: the attack '%s' failed in every mode" % opts.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
