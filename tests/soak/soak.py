#!/usr/bin/python3
"""soak.py — many boxes, four at a time, then a look for anything left behind.

    /usr/bin/python3 soak.py --ward PATH --libsoak PATH --as root|unpriv
                             [--runs N] [--jobs 4] [--lib-runs N] [--seed S]

Runs N boxes through the ward command, JOBS at a time, mixing ordinary
programs (echo, an exit code, python, stdin, a signal) with fork, thread and
memory bombs, output floods on stdout and stderr, CPU spins, wall-time
kills, daemons and SIGTERM-ignorers. Each run's status (from its report)
and exit code are checked against what its kind must give. Then, in turn:

- processes: every box's argv carries a token of this soak; no process
  with the token may be left once ward returned (each run, and at the end);
- cgroups: ward names a run's cgroups run-PID-... (PID: ward's or the
  library user's); none of ours may be left under /sys/fs/cgroup/*/ward/;
- mounts: the host's mount table (/proc/self/mountinfo) must not have
  gained an entry under /tmp, /var/tmp, /dev/shm, /run, the soak's scratch
  directory, or one naming ward;
- temporary files: ward runs with TMPDIR and its current directory in the
  soak's scratch directory, which must hold only what the soak put there;
  /tmp, /var/tmp and /dev/shm must not have gained an entry named after
  this soak or one of its ward processes;
- the library user (libsoak, one process running LIB_RUNS boxes through
  ward_run and ward_spawn): every run's status right, its fd count the same
  at every sample, and its memory flat over the second half (malloc's bytes
  in use within 64 KiB, resident size within 512 KiB, from the middle
  sample to the last).

Short form (CI): the defaults. Long form: --runs 3000 --lib-runs 2000.
Prints one summary line "soak: ..." with the figures; exit status 0 when
nothing leaked and every status was right, 1 otherwise, 77 when not root.
Reads at most 64 KiB of any box's output (the rest stays in a file the
output limit bounds)."""

import argparse
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from wardtest import EXIT, NOBODY, PYTHON, BOX_PATH, cgroup_usable, unpriv_prefix  # noqa: E402

K, M = 1 << 10, 1 << 20
READ_CAP = 64 * K
CG_PARENTS = ("/sys/fs/cgroup/ward", "/sys/fs/cgroup/unified/ward",
              "/sys/fs/cgroup/memory/ward", "/sys/fs/cgroup/pids/ward",
              "/sys/fs/cgroup/cpu/ward", "/sys/fs/cgroup/cpu,cpuacct/ward")
TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")

FORKER = """
import os, sys, time
for i in range(int(sys.argv[1])):
    if os.fork() == 0:
        time.sleep(1)
        os._exit(0)
print('forked all')
"""
THREADS = """
import threading, sys, time
for i in range(int(sys.argv[1])):
    threading.Thread(target=time.sleep, args=(1,)).start()
print('started all')
"""
MEMORY = """
import sys
b = []
for i in range(int(sys.argv[1])):
    b.append(bytearray(4 << 20))
print('allocated all')
"""


# --- the kinds of run --------------------------------------------------------
# Each kind: (weight, function(token, cgroup) -> (opts, argv, stdin bytes or
# None, check)); check(rc, status, out, err, out_size) returns what is wrong,
# or None.

def want(rc, status, out=None):
    def check(r, s, o, e, size):
        if (r, s) != (rc, status):
            return "expected exit %d (%s), got %s (%s)" % (rc, status, r, s)
        if out is not None and o != out:
            return "expected stdout %r, got %r" % (out, o[:200])
        return None
    return check


def bomb(limit, fallback_text):
    """A limit hit: with a cgroup, ward names it; without one (an ordinary
    user here), the rlimit fallback makes the program's own call fail and it
    ends its own way: exit 1 with fallback_text (Python's exception) on
    stderr, or ward named the limit anyway (ward(1) LIMITS)."""
    def check(r, s, o, e, size, cgroup):
        if (r, s) == (EXIT[limit], limit):
            return None
        if not cgroup and (r, s) == (1, "exited") and fallback_text in e:
            return None
        return "expected exit %d (%s)%s, got %s (%s), stderr %r" % (
            EXIT[limit], limit, "" if cgroup else " or exit 1 with %r" % fallback_text, r, s,
            e[-300:])
    return check


def kinds():
    sh = "/bin/sh"
    k = {}
    k["echo"] = (6, lambda t, cg: ([], ["/bin/echo", t], None, want(0, "exited", t + "\n")))
    k["exit-code"] = (4, lambda t, cg: ([], [sh, "-c", "exit 7", t], None, want(7, "exited")))
    k["python"] = (4, lambda t, cg: ([], [PYTHON, "-c", "print(sum(range(1000)))", t], None,
                                     want(0, "exited", "499500\n")))
    k["stdin"] = (3, lambda t, cg: ([], [sh, "-c", "cat", t], (t * 100).encode(),
                                    want(0, "exited", t * 100)))
    k["signal"] = (2, lambda t, cg: ([], [sh, "-c", "kill -SEGV $$", t], None,
                                     want(128 + 11, "signaled")))
    k["fork-bomb"] = (2, lambda t, cg: (["--procs", "16"], [PYTHON, "-c", FORKER, "100", t], None,
                                        lambda *a: bomb("procs-limit", "BlockingIOError")(*a, cg)))
    k["thread-bomb"] = (2, lambda t, cg: (["--procs", "16"], [PYTHON, "-c", THREADS, "200", t],
                                          None, lambda *a: bomb("procs-limit",
                                                                "can't start new thread")(*a, cg)))
    k["memory-bomb"] = (2, lambda t, cg: (["--memory", "64M"], [PYTHON, "-c", MEMORY, "64", t],
                                          None, lambda *a: bomb("memory-limit",
                                                                "MemoryError")(*a, cg)))

    def flood_check(r, s, o, e, size):
        if (r, s) != (EXIT["output-limit"], "output-limit"):
            return "expected exit %d (output-limit), got %s (%s)" % (EXIT["output-limit"], r, s)
        if size != 256 * K:
            return "expected exactly 256K of output, got %d bytes" % size
        return None
    k["stdout-flood"] = (2, lambda t, cg: (["--output", "256K"], [sh, "-c", 'exec yes "$0"', t],
                                           None, flood_check))
    k["stderr-flood"] = (2, lambda t, cg: (["--output", "256K", "--quiet"],
                                           [sh, "-c", 'exec yes "$0" >&2', t], None, flood_check))
    k["cpu-spin"] = (1, lambda t, cg: (["--cpu-time", "1s"], [sh, "-c", "while :; do :; done", t],
                                       None, want(EXIT["cpu-limit"], "cpu-limit")))
    k["wall-time"] = (2, lambda t, cg: (["--wall-time", "300ms"], [sh, "-c", "sleep 30; :", t],
                                        None, want(EXIT["time-limit"], "time-limit")))
    k["daemon"] = (3, lambda t, cg: ([], [sh, "-c", "(sh -c 'sleep 30; :' \"$0\" &); "
                                          "setsid sh -c 'sleep 30; :' \"$0\" & echo up", t],
                                     None, want(0, "exited", "up\n")))
    k["term-ignorer"] = (2, lambda t, cg: (["--wall-time", "300ms"],
                                           [sh, "-c", "trap '' TERM; sleep 30 & wait; :", t],
                                           None, want(EXIT["time-limit"], "time-limit")))
    k["term-ignoring-daemon"] = (2, lambda t, cg: (
        [], [sh, "-c", "(trap '' TERM HUP; sh -c 'trap \"\" TERM; sleep 30; :' \"$0\" &); echo up",
             t], None, want(0, "exited", "up\n")))
    return k


# --- host state --------------------------------------------------------------

def procs_with(token):
    """pids whose argv holds token (not this process)."""
    found = []
    needle = token.encode()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if needle in f.read():
                    found.append(int(d))
        except OSError:
            pass
    return found


def wait_gone(token, grace=3.0):
    deadline = time.monotonic() + grace
    while True:
        left = procs_with(token)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def cgroups_of(pid):
    found = []
    for parent in CG_PARENTS:
        try:
            found += [os.path.join(parent, n) for n in os.listdir(parent)
                      if n.startswith("run-%d-" % pid)]
        except OSError:
            pass
    return found


def mounts():
    with open("/proc/self/mountinfo") as f:
        return {" ".join(line.split()[3:5]) + " " + line.split(" - ")[-1].strip() for line in f}


def tmp_entries():
    seen = {}
    for d in TMP_DIRS:
        try:
            seen[d] = set(os.listdir(d))
        except OSError:
            seen[d] = set()
    return seen


def read_capped(path):
    with open(path, "rb") as f:
        return f.read(READ_CAP).decode("utf-8", "replace")


# --- the soak ----------------------------------------------------------------

class Soak:
    def __init__(self, args):
        self.args = args
        self.unpriv = args.mode == "unpriv"
        self.session = "wsoak-" + secrets.token_hex(6)
        self.base = tempfile.mkdtemp(prefix="ward-soak-", dir="/var/tmp")
        os.chmod(self.base, 0o755)
        self.work = self.mkdir("work")
        self.tmp = self.mkdir("tmp")
        self.runs_dir = self.mkdir("runs")
        self.ward = self.reachable(os.path.abspath(args.ward))
        self.libsoak = self.reachable(os.path.abspath(args.libsoak)) if args.libsoak else None
        self.cgroup = not self.unpriv and cgroup_usable("memory") and cgroup_usable("pids")
        self.problems = []
        self.lock = threading.Lock()
        self.ward_pids = []
        self.counts = {}

    def mkdir(self, name):
        p = os.path.join(self.base, name)
        os.mkdir(p, 0o755)
        os.chown(p, NOBODY, NOBODY)
        return p

    def reachable(self, path):
        """path, or a copy in the scratch directory when uid 65534 cannot
        reach the build tree (a clone in a 0700 directory)."""
        if not self.unpriv or subprocess.run(unpriv_prefix() + ["test", "-x", path]).returncode == 0:
            return path
        copy = os.path.join(self.base, os.path.basename(path))
        shutil.copy2(path, copy)
        os.chmod(copy, 0o755)
        return copy

    def problem(self, msg):
        with self.lock:
            self.problems.append(msg)
        print("PROBLEM " + msg, file=sys.stderr, flush=True)

    def env(self, lib=False):
        env = {"PATH": BOX_PATH, "LANG": "C.UTF-8", "TMPDIR": self.tmp,
               "HOME": "/nonexistent" if self.unpriv else "/root"}
        # A sanitizer build's settings (meson test sets them) reach ward
        # and libsoak, never a box (ward gives a box its own environment).
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        if lib:
            # ASan keeps freed memory in a quarantine (256 MiB) to catch
            # use-after-free: resident size would grow by design. Off for
            # the library user, whose memory is judged; LeakSanitizer
            # still checks its heap when it exits.
            env["ASAN_OPTIONS"] = ":".join(filter(None, [
                env.get("ASAN_OPTIONS"), "quarantine_size_mb=0", "thread_local_quarantine_size_kb=0"]))
        return env

    def prefix(self):
        return unpriv_prefix() if self.unpriv else []

    def one(self, i, name, make):
        token = "%s-%d" % (self.session, i)
        opts, argv, stdin, check = make(token, self.cgroup)
        rdir = os.path.join(self.runs_dir, str(i))
        os.mkdir(rdir, 0o755)
        os.chown(rdir, NOBODY, NOBODY)
        report = os.path.join(rdir, "report.json")
        out_path, err_path = os.path.join(rdir, "out"), os.path.join(rdir, "err")
        cmd = self.prefix() + [self.ward, "run", "--report", report] + opts + ["--"] + argv
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.Popen(cmd, cwd=self.work, env=self.env(), stdout=out, stderr=err,
                                 stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                 start_new_session=True)
            with self.lock:
                self.ward_pids.append(p.pid)
            try:
                if stdin is not None:
                    p.communicate(stdin, timeout=120)
                else:
                    p.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)
                p.wait()
                self.problem("run %d (%s): ward did not return within 120 s" % (i, name))
        status = None
        try:
            with open(report) as f:
                status = json.load(f).get("status")
        except (OSError, ValueError) as e:
            self.problem("run %d (%s): no report: %s" % (i, name, e))
        o, e = read_capped(out_path), read_capped(err_path)
        what = check(p.returncode, status, o, e, os.path.getsize(out_path)
                     if name != "stderr-flood" else os.path.getsize(err_path))
        if what:
            self.problem("run %d (%s): %s; stderr %r" % (i, name, what, e[-300:]))
        left = wait_gone(token)
        if left:
            self.problem("run %d (%s): processes left after ward returned: %s" % (i, name, left))
            for pid in left:
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
        cg = cgroups_of(p.pid)
        if cg:
            self.problem("run %d (%s): cgroups left after ward returned: %s" % (i, name, cg))
        shutil.rmtree(rdir, ignore_errors=True)
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1

    def cli(self):
        table = kinds()
        names = sorted(table)
        weights = [table[n][0] for n in names]
        rnd = random.Random(self.args.seed)
        plan = rnd.choices(names, weights, k=self.args.runs)
        # Every kind at least once, even in a short run.
        for j, n in enumerate(names[:len(plan)]):
            plan[j * (len(plan) // len(names))] = n
        jobs = list(enumerate(plan))
        it = iter(jobs)
        it_lock = threading.Lock()

        def worker():
            while True:
                with it_lock:
                    nxt = next(it, None)
                if nxt is None:
                    return
                i, name = nxt
                try:
                    self.one(i, name, table[name][1])
                except Exception as e:  # the soak itself broke: say so
                    self.problem("run %d (%s): the soak broke: %r" % (i, name, e))

        ts = [threading.Thread(target=worker) for _ in range(self.args.jobs)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    def lib(self):
        """The long-lived library user: statuses, fds and memory."""
        token = self.session + "-lib"
        cmd = self.prefix() + [self.libsoak, str(self.args.lib_runs),
                               str(max(1, self.args.lib_runs // 20)), token] + (
                                   ["unpriv"] if not self.cgroup else [])
        with open(os.path.join(self.base, "lib.err"), "wb") as err:
            p = subprocess.Popen(cmd, cwd=self.work, env=self.env(lib=True), stdout=subprocess.PIPE,
                                 stderr=err, start_new_session=True)
            out = p.stdout.read(READ_CAP).decode("utf-8", "replace")
            p.stdout.close()
            p.wait()
        errs = read_capped(os.path.join(self.base, "lib.err"))
        samples = [tuple(int(x) for x in m.groups())
                   for m in re.finditer(r"^sample (\d+) (\d+) (\d+) (-?\d+)$", out, re.M)]
        done = re.search(r"^done (\d+) (\d+)$", out, re.M)
        if not done or p.returncode != 0:
            self.problem("library user: exit %s, %s; stderr %r" % (
                p.returncode, done.group(0) if done else "no 'done' line", errs[-1500:]))
        left = wait_gone(token)
        if left:
            self.problem("library user: processes left: %s" % left)
        cg = cgroups_of(p.pid)
        if cg:
            self.problem("library user: cgroups left: %s" % cg)
        self.lib_samples = samples
        if len(samples) < 2:
            self.problem("library user: %d samples" % len(samples))
            return
        fds = {s[3] for s in samples}
        if len(fds) != 1:
            self.problem("library user: fd count changed: %s" % [s[3] for s in samples])
        mid, end = samples[len(samples) // 2], samples[-1]
        heap, rss = end[2] - mid[2], (end[1] - mid[1]) * K
        if heap > 64 * K:
            self.problem("library user: heap in use grew by %d bytes from run %d to %d (%s)" % (
                heap, mid[0], end[0], [s[2] for s in samples]))
        if rss > 512 * K:
            self.problem("library user: resident size grew by %d KiB from run %d to %d (%s)" % (
                rss // K, mid[0], end[0], [s[1] for s in samples]))

    def leftovers(self, mounts_before, tmp_before):
        left = wait_gone(self.session, grace=1.0)
        if left:
            self.problem("processes with the soak's token left: %s" % left)
        watched = ("/tmp", "/var/tmp", "/dev/shm", "/run", self.base)
        for m in sorted(mounts() - mounts_before):
            point = m.split()[1]
            if "ward" in m or any(point == w or point.startswith(w + "/") for w in watched):
                self.problem("a mount appeared on the host: %s" % m)
        for pid in self.ward_pids:
            cg = cgroups_of(pid)
            if cg:
                self.problem("cgroups left: %s" % cg)
        if os.listdir(self.tmp) or os.listdir(self.work):
            self.problem("files left in TMPDIR or the current directory: %s %s" % (
                os.listdir(self.tmp), os.listdir(self.work)))
        pids = {str(p) for p in self.ward_pids}
        after = tmp_entries()
        for d in TMP_DIRS:
            for n in sorted(after[d] - tmp_before[d]):
                if self.session in n or pids & set(re.findall(r"\d+", n)):
                    self.problem("a temporary file appeared: %s/%s" % (d, n))

    def run(self):
        mounts_before, tmp_before = mounts(), tmp_entries()
        t0 = time.monotonic()
        self.cli()
        cli_wall = time.monotonic() - t0
        t1 = time.monotonic()
        self.lib_samples = []
        if self.libsoak and self.args.lib_runs:
            self.lib()
        lib_wall = time.monotonic() - t1
        self.leftovers(mounts_before, tmp_before)
        s = self.lib_samples
        print("# kinds: " + ", ".join("%s %d" % kv for kv in sorted(self.counts.items())))
        if s:
            print("# library user samples (run rss_kb heap_bytes fds): " +
                  " ".join("%d/%d/%d/%d" % x for x in s))
        print("soak: as %s%s, %d runs in %.1f s (%.1f runs/s, %d at a time), library user %d runs "
              "in %.1f s (rss %s -> %s KiB, heap %s -> %s B, fds %s -> %s), %d problems" % (
                  self.args.mode, " with cgroups" if self.cgroup else " without cgroups",
                  self.args.runs, cli_wall, self.args.runs / cli_wall if cli_wall else 0,
                  self.args.jobs, self.args.lib_runs if self.libsoak else 0, lib_wall,
                  s[0][1] if s else "-", s[-1][1] if s else "-", s[0][2] if s else "-",
                  s[-1][2] if s else "-", s[0][3] if s else "-", s[-1][3] if s else "-",
                  len(self.problems)), flush=True)
        return 1 if self.problems else 0

    def cleanup(self):
        shutil.rmtree(self.base, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ward", required=True)
    ap.add_argument("--libsoak")
    ap.add_argument("--as", dest="mode", choices=("root", "unpriv"), default="root")
    ap.add_argument("--runs", type=int, default=120)
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--lib-runs", type=int, default=60)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("the soak runs as root (the unpriv mode drops to uid %d itself)" % NOBODY)
        return 77
    if args.seed is None:
        args.seed = random.getrandbits(32)
    print("# soak as %s, seed %d" % (args.mode, args.seed), flush=True)
    soak = Soak(args)
    try:
        return soak.run()
    finally:
        soak.cleanup()


if __name__ == "__main__":
    sys.exit(main())
