#!/usr/bin/python3
"""The options of `ward run` that shape the box: --ro, --rw (with HOST:BOX
mappings), --tmpfs, --cwd, --env, --hostname, --exec, --net, --policy and
--report. Outcomes are judged on the host: files written or left alone, a
host listener that saw no connection, the report."""

import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardtest import (M, NOBODY, PYTHON, REQUIRED_LAYERS, Run, collect, expect,  # noqa: E402
                      expect_eq, expect_exit, expect_in, expect_not_in, expect_ok,
                      expect_report, extract_json, landlock_abi, main, pids_with_token)

# Tries to write a path; prints "wrote" or the errno's name.
TRY_WRITE = """
import errno, sys
for p in sys.argv[1:]:
    try:
        with open(p, 'w') as f:
            f.write('written by the box')
        print('wrote')
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))
"""

READ = "import sys\nfor p in sys.argv[1:]: sys.stdout.write(open(p).read())\n"
EXISTS = "import os, sys\nfor p in sys.argv[1:]: print(int(os.path.exists(p)))\n"


def data_dir(t):
    """A host directory with a file, both writable by uid 65534 (the box's
    host uid): only the box's own view can keep the box from writing."""
    d = t.mkdir("data", 0o777)
    secret = "data-" + secrets.token_hex(8) + "\n"
    t.write("data/file.txt", secret, 0o666)
    return d, secret


def test_ro_readable_not_writable(t):
    d, secret = data_dir(t)
    f = os.path.join(d, "file.txt")
    r = t.py(READ, f, opts=["--ro", d])
    expect_ok(r, secret)
    r = t.py(TRY_WRITE, f, os.path.join(d, "new.txt"), opts=["--ro", d])
    expect_ok(r)
    expect_not_in("wrote", r.stdout, "a write under --ro succeeded", r)
    with open(f) as fh:
        expect_eq(fh.read(), secret, "host file under --ro after the run", r)
    expect(not os.path.exists(os.path.join(d, "new.txt")), "a file was created under --ro", r)


def test_rw_writes_appear_on_host(t):
    d, secret = data_dir(t)
    f, new = os.path.join(d, "file.txt"), os.path.join(d, "new.txt")
    r = t.py(TRY_WRITE, f, new, opts=["--rw", d])
    expect_ok(r, "wrote\nwrote\n")
    for p in (f, new):
        with open(p) as fh:
            expect_eq(fh.read(), "written by the box", "host content of %s" % p, r)
    st = os.stat(new)
    expect_eq((st.st_uid, st.st_gid), (NOBODY, NOBODY), "host owner of a file the box created", r)


def test_ro_file_grant(t):
    """A single file granted read-only; its siblings stay out of the box."""
    d, secret = data_dir(t)
    t.write("data/other.txt", "other\n", 0o666)
    f = os.path.join(d, "file.txt")
    r = t.py(EXISTS + READ.replace("for p in sys.argv[1:]", "for p in sys.argv[1:2]"),
             f, os.path.join(d, "other.txt"), opts=["--ro", f])
    expect_ok(r, "1\n0\n" + secret)


def test_ro_mapping(t):
    """--ro HOST:BOX shows the host path at BOX only (run from a directory
    that does not contain HOST, so the implicit cwd does not expose it)."""
    d, secret = data_dir(t)
    r = t.py(EXISTS + "print(open('/data/file.txt').read(), end='')", "/data", d,
             opts=["--ro", d + ":/data"])
    expect_ok(r, "1\n0\n" + secret)
    r = t.py(TRY_WRITE, "/data/file.txt", opts=["--ro", d + ":/data"])
    expect_ok(r)
    expect_not_in("wrote", r.stdout, "a write to a --ro HOST:BOX grant succeeded", r)
    with open(os.path.join(d, "file.txt")) as fh:
        expect_eq(fh.read(), secret, "host file under --ro HOST:BOX", r)


def test_rw_mapping(t):
    d, _ = data_dir(t)
    r = t.py(TRY_WRITE, "/out/made.txt", opts=["--rw", d + ":/out"])
    expect_ok(r, "wrote\n")
    with open(os.path.join(d, "made.txt")) as fh:
        expect_eq(fh.read(), "written by the box", "host file written through /out", r)


def test_relative_host_path(t):
    """A relative HOST is taken from ward's current directory."""
    d, secret = data_dir(t)
    r = t.py("print(open('/d/file.txt').read(), end='')", opts=["--ro", "../data:/d"])
    expect_ok(r, secret)


def test_tmpfs(t):
    """--tmpfs BOX:SIZE: an empty, writable, size-capped directory."""
    code = """
import errno, os, sys
print(os.listdir('/scratch'))
with open('/scratch/a', 'wb') as f:
    f.write(b'a' * (512 * 1024))
try:
    with open('/scratch/b', 'wb') as f:
        f.write(b'b' * (2 * 1024 * 1024))
    print('no limit')
except OSError as e:
    print(errno.errorcode[e.errno])
"""
    r = t.py(code, opts=["--tmpfs", "/scratch:1M"])
    expect_ok(r, "[]\nENOSPC\n")
    # Without SIZE, the tmp-size limit caps it.
    r = t.py(code, opts=["--tmpfs", "/scratch", "--tmp-size", "1M"])
    expect_ok(r, "[]\nENOSPC\n")
    r = t.py(code, opts=["--tmpfs", "/scratch:8M"])
    expect_ok(r, "[]\nno limit\n")


def test_cwd(t):
    d, _ = data_dir(t)
    r = t.py("import os; print(os.getcwd())", opts=["--cwd", "/tmp"])
    expect_ok(r, "/tmp\n")
    r = t.run(["/usr/bin/ls"], "--ro", d + ":/data", "--cwd", "/data")
    expect_ok(r, "file.txt\n")
    # By default: the current directory (exposed at the same path).
    r = t.py("import os; print(os.getcwd())")
    expect_ok(r, t.work + "\n")


def test_box_identity(t):
    """Inside: uid/gid 1000, user box, home /tmp. Outside: the program runs
    as host uid 65534 in both modes, never as root, with no capabilities."""
    token = "ident-%d" % random.getrandbits(40)
    code = ("import os, pwd, sys, time\n"
            "p = pwd.getpwuid(os.getuid())\n"
            "print(os.getuid(), os.getgid(), os.geteuid(), p.pw_name, p.pw_dir, os.getgroups(), flush=True)\n"
            "time.sleep(1)\n")
    status = {}

    def during(p):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not status:
            for pid in pids_with_token(token):
                try:
                    with open("/proc/%d/status" % pid) as f:
                        fields = dict(line.split(":", 1) for line in f if ":" in line)
                    with open("/proc/%d/cmdline" % pid, "rb") as f:
                        if f.read().startswith(PYTHON.encode()):
                            status.update(fields)
                except OSError:
                    pass
            time.sleep(0.02)

    r = t.py(code, token, during=during)
    expect_ok(r, "1000 1000 1000 box /tmp []\n")  # no supplementary groups
    expect(status, "the boxed program was not found on the host", r)
    expect_eq(status["Uid"].split(), ["65534"] * 4, "host uids of the boxed program", r)
    expect_eq(status["Gid"].split(), ["65534"] * 4, "host gids of the boxed program", r)
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        expect_eq(int(status[cap], 16), 0, "%s of the boxed program" % cap, r)
    expect_eq(status["NoNewPrivs"].strip(), "1", "NoNewPrivs of the boxed program", r)
    expect_eq(status["Seccomp"].strip(), "2", "seccomp mode of the boxed program", r)


def child_pids(root):
    """The host pids below root, from /proc/PID/task/TID/children."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                    kids = [int(k) for k in f.read().split()]
            except (OSError, ValueError):
                continue
            out += kids
            todo += kids
    return out


# Runs in the box: its session and pid as the box sees them, then calls
# the allowlist refuses although nothing else in the box would (a
# personality change, an mqueue in the box's own IPC namespace), then
# waits to be seen from outside.
SESSION_AND_FILTER = """
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return 'ok' if r >= 0 else os.strerror(ctypes.get_errno())
name = ctypes.create_string_buffer(b'/q')
print(os.getsid(0) == os.getpid(), call(135, 0x0008), call(240, ctypes.addressof(name), 0o100, 0o600, 0),
      flush=True)
time.sleep(1)
"""


def test_new_session_and_filter(t):
    """The program leads a session of its own (setsid: no controlling
    terminal to push keystrokes into, CVE-2017-5226), seen on the host: its
    session id is its own pid, not ward's session. And the allowlist is
    loaded: a personality change and mq_open, which nothing else in the box
    refuses, fail (the memory guard alone, a second filter, does not refuse
    them, so 'Seccomp: 2' alone proves nothing)."""
    token = "session-%d" % random.getrandbits(40)
    seen = {}

    def during(p):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not seen:
            # ward's own descendants only: reading every host process's
            # cmdline can block behind another process's mmap lock.
            for pid in child_pids(p.pid):
                try:
                    with open("/proc/%d/cmdline" % pid, "rb") as f:
                        cmdline = f.read()
                    if not cmdline.startswith(PYTHON.encode()) or token.encode() not in cmdline:
                        continue
                    with open("/proc/%d/stat" % pid) as f:
                        stat = f.read()
                    with open("/proc/%d/status" % pid) as f:
                        status = dict(line.split(":", 1) for line in f if ":" in line)
                except OSError:
                    continue
                fields = stat[stat.rindex(")") + 2:].split()
                seen.update(pid=pid, sid=int(fields[3]), ward=p.pid, status=status)
            time.sleep(0.02)

    r = t.py(SESSION_AND_FILTER, token, during=during)
    expect_ok(r)
    expect(seen, "the boxed program was not found on the host", r)
    expect_eq(seen["sid"], seen["pid"], "the host session id of the boxed program (its own pid: "
              "a new session; ward's session is %d)" % seen["ward"], r)
    leader, personality, mq = r.stdout.split(None, 2)
    expect_eq(leader, "True", "inside the box, getsid(0) == getpid()", r)
    expect_eq(personality, "Function", "personality(PER_LINUX32) in the box (ENOSYS, the "
              "allowlist's default)", r)
    expect_in("Operation not permitted", mq, "mq_open in the box (EPERM, on the deny list)", r)
    expect_eq(seen["status"]["Seccomp"].strip(), "2", "seccomp mode of the boxed program", r)
    expect(int(seen["status"]["Seccomp_filters"]) >= 1, "no seccomp filter on the boxed program", r)


def test_signals_default(t):
    """The program starts with every signal at its default and none
    blocked, whatever the caller of ward ignored or blocked: execve keeps
    ignored signals and the mask (a program that finds SIGTERM ignored
    cannot be stopped by it). The box's init resets only the signals its
    /proc status lists as ignored or caught; this checks the outcome."""
    ignored = [signal.SIGUSR1, signal.SIGPIPE, signal.SIGQUIT, signal.SIGHUP,
               signal.SIGRTMIN + 5, signal.SIGRTMAX]
    blocked = [signal.SIGUSR2, signal.SIGRTMIN + 6]

    def prepare():
        for s in ignored:
            signal.signal(s, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, blocked)

    def status_of(argv):
        r = Run(argv)
        p = subprocess.Popen(argv, cwd=t.work, env=t.env(), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True, preexec_fn=prepare, restore_signals=False)
        r.out, r.err, r.timed_out, r.capped = collect(p, None, time.monotonic() + 60, 1 << 16)
        r.rc = p.returncode
        expect_ok(r)
        fields = dict(line.split(":", 1) for line in r.stdout.splitlines() if ":" in line)
        return r, {k: int(fields[k], 16) for k in ("SigIgn", "SigBlk", "SigCgt")}

    # The premise: what the caller sets up reaches a program it starts
    # (with what the harness's python ignores itself, SIGXFSZ).
    r, bare = status_of(["/bin/cat", "/proc/self/status"])
    for k, sigs in (("SigIgn", ignored), ("SigBlk", blocked)):
        want = sum(1 << (s - 1) for s in sigs)
        expect_eq(bare[k] & want, want, "%s of a bare cat" % k, r)
    r, boxed = status_of(t.argv(["run", "--", "/bin/cat", "/proc/self/status"]))
    for k in ("SigIgn", "SigBlk", "SigCgt"):
        expect_eq(boxed[k], 0, "%s of the boxed program" % k, r)


def test_default_view(t):
    """The documented view of a box with no profile: the /dev and /etc
    entries, a private /tmp (1777), a read-only root, a /proc with only the
    box's processes."""
    code = """
import os, stat
print(' '.join(sorted(os.listdir('/dev'))))
print(' '.join(sorted(os.listdir('/etc'))))
print(oct(stat.S_IMODE(os.stat('/tmp').st_mode)), os.readlink('/dev/shm'))
try:
    os.mkdir('/newdir')
    print('root writable')
except OSError as e:
    print('root', e.errno)
print(len([d for d in os.listdir('/proc') if d.isdigit()]))
open('/tmp/x', 'w').write('tmp is writable')
print(open('/tmp/x').read())
"""
    r = t.py(code, opts=["--profile", "none"])
    expect_ok(r)
    lines = r.stdout.splitlines()
    expect(len(lines) == 6, "expected six lines from the probe", r)
    expect_eq(lines[0].split(), sorted(["null", "zero", "full", "random", "urandom", "fd", "stdin",
                                        "stdout", "stderr", "shm"]), "the box's /dev", r)
    allowed = {"passwd", "group", "hostname", "hosts", "nsswitch.conf", "ld.so.cache", "localtime"}
    extra = set(lines[1].split()) - allowed
    expect(not extra, "/etc holds more than the documented files: %s" % sorted(extra), r)
    expect(set(lines[1].split()) >= {"passwd", "group", "hostname", "hosts", "nsswitch.conf"},
           "/etc lacks a file ward writes", r)
    expect_eq(lines[2], "0o1777 /tmp", "/tmp mode and /dev/shm", r)
    expect(lines[3] != "root writable", "the box's root is writable", r)
    expect(int(lines[4]) <= 3, "/proc shows %s processes" % lines[4], r)
    expect_eq(lines[5], "tmp is writable", "/tmp", r)


def box_env(r):
    env = {}
    for line in r.stdout.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            env[k] = v
    return env


def profile_env_names(t, name):
    r = t.ward(["profiles", "show", name])
    names = set()
    for line in r.stdout.splitlines():
        tok = line.split()
        if len(tok) >= 2 and tok[0] == "env":
            names.add(tok[1].split("=", 1)[0])
    return names


def test_env_set_passthrough_and_no_leak(t):
    leaky = {"PASSME": "passed-" + secrets.token_hex(4), "LD_PRELOAD": "/nonexistent/evil.so",
             "SSH_AUTH_SOCK": "/nonexistent/agent", "PYTHONPATH": "/nonexistent"}
    r = t.run(["/usr/bin/env"], "--env", "FOO=bar baz", "--env", "PASSME", "--env", "ABSENT_VAR",
              "--env", "EMPTY=", extra_env=leaky)
    expect_ok(r)
    env = box_env(r)
    expect_eq(env.get("FOO"), "bar baz", "$FOO set with --env FOO=bar baz", r)
    expect_eq(env.get("PASSME"), leaky["PASSME"], "$PASSME passed through with --env PASSME", r)
    expect_eq(env.get("EMPTY"), "", "$EMPTY set empty with --env EMPTY=", r)
    expect("ABSENT_VAR" not in env, "--env ABSENT_VAR (unset in ward's environment) set something", r)
    expect_not_in(t.canary, r.stdout, "the host environment's canary leaked into the box", r)
    for k in ("LD_PRELOAD", "SSH_AUTH_SOCK", "PYTHONPATH", t.canary_name):
        expect(k not in env, "host variable $%s leaked into the box" % k, r)
    expect_eq(env.get("PATH"), "/usr/local/bin:/usr/bin:/bin", "default $PATH", r)
    expect_eq(env.get("HOME"), "/tmp", "default $HOME", r)
    expect_eq(env.get("LANG"), "C.UTF-8", "default $LANG", r)
    allowed = {"PATH", "HOME", "LANG", "FOO", "PASSME", "EMPTY"} | profile_env_names(t, "native")
    extra = sorted(set(env) - allowed)
    expect(not extra, "the box's environment holds more than was granted: %s" % extra, r)


def test_env_canary_absent_in_every_interpreter(t):
    """The canary in ward's environment reaches no interpreter's environment."""
    progs = [[PYTHON, "-c", "import os; print(dict(os.environ))"],
             ["sh", "-c", "env"],
             ["perl", "-e", "print map { qq($_=$ENV{$_}\\n) } keys %ENV"],
             ["node", "-e", "console.log(JSON.stringify(process.env))"],
             ["ruby", "-e", "p ENV.to_h"]]
    for argv in progs:
        r = t.run(argv)
        expect_ok(r)
        expect_not_in(t.canary, r.stdout, "canary in the environment of %s" % argv[0], r)
        expect_not_in(t.canary_name, r.stdout, "canary name in the environment of %s" % argv[0], r)


def test_env_overrides_defaults(t):
    r = t.run(["/usr/bin/env"], "--env", "PATH=/usr/bin", "--env", "HOME=/work",
              "--env", "LANG=C")
    expect_ok(r)
    env = box_env(r)
    expect_eq((env.get("PATH"), env.get("HOME"), env.get("LANG")), ("/usr/bin", "/work", "C"),
              "PATH, HOME, LANG given with --env", r)


def test_hostname(t):
    r = t.run(["/usr/bin/uname", "-n"])
    expect_ok(r, "ward\n")
    r = t.run(["/usr/bin/uname", "-n"], "--hostname", "judge-7")
    expect_ok(r, "judge-7\n")
    r = t.sh("cat /etc/hostname", opts=["--hostname", "judge-7"])
    expect_ok(r, "judge-7\n")


EXEC_TRY = """
import subprocess, sys
src, out = sys.argv[1], sys.argv[2]
for argv in (['/usr/bin/cp', src, out + '/copied'], ['/usr/bin/touch', out + '/marker']):
    try:
        print(argv[0], subprocess.run(argv).returncode)
    except OSError as e:
        print(argv[0], 'refused', e.strerror)
"""


def test_exec_allowlist(t):
    """With --exec, only the listed executable (besides the program) can be
    spawned. Without it, both spawn (the calibration of this test)."""
    out = t.mkdir("out", 0o777)
    t.write("work/src.txt", "copy me\n")
    r = t.py(EXEC_TRY, "src.txt", out, opts=["--rw", out])
    expect_ok(r, "/usr/bin/cp 0\n/usr/bin/touch 0\n")
    expect(os.path.exists(os.path.join(out, "marker")), "calibration: touch did not run without --exec", r)
    os.unlink(os.path.join(out, "marker"))
    os.unlink(os.path.join(out, "copied"))

    r = t.py(EXEC_TRY, "src.txt", out, opts=["--rw", out, "--exec", "/usr/bin/cp"])
    expect_ok(r)
    with open(os.path.join(out, "copied")) as f:
        expect_eq(f.read(), "copy me\n", "the file the allowed cp copied", r)
    expect(not os.path.exists(os.path.join(out, "marker")),
           "/usr/bin/touch ran although only /usr/bin/cp was allowed", r)
    lines = r.stdout.splitlines()
    expect(len(lines) == 2 and lines[0] == "/usr/bin/cp 0" and "refused" in lines[1],
           "expected cp to run and touch to be refused", r)


class Listener(threading.Thread):
    """A TCP listener on the host's 127.0.0.1 that records connections."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.done = threading.Event()
        self.start()

    def run(self):
        while not self.done.is_set():
            try:
                c, _ = self.sock.accept()
                self.accepted += 1
                c.close()
            except OSError:
                pass

    def close(self):
        self.done.set()
        self.join()
        self.sock.close()


NET_PROBE = """
import errno, fcntl, socket, struct, sys, threading
port, token = int(sys.argv[1]), sys.argv[2]
flags = struct.unpack('16sH', fcntl.ioctl(socket.socket(), 0x8913, struct.pack('16sH', b'lo', 0)))[1]
print('lo', 'up' if flags & 1 else 'down')
s = socket.socket()
s.settimeout(2)
try:
    s.connect(('127.0.0.1', port))
    print('host listener: connected')
except OSError as e:
    print('host listener:', errno.errorcode.get(e.errno, e.errno) if e.errno else 'timeout')
try:
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(1)
    def serve():
        c, _ = srv.accept()
        c.sendall(c.recv(100)[::-1])
        c.close()
    threading.Thread(target=serve, daemon=True).start()
    cli = socket.create_connection(srv.getsockname(), timeout=2)
    cli.sendall(token.encode())
    print('echo', cli.recv(100).decode())
except OSError as e:
    print('echo', errno.errorcode.get(e.errno, e.errno) if e.errno else 'timeout')
"""


def test_net_none(t):
    lst = Listener()
    token = secrets.token_hex(8)
    try:
        r = t.py(NET_PROBE, lst.port, token)
    finally:
        lst.close()
    expect_ok(r)
    expect_eq(lst.accepted, 0, "connections the host listener accepted from a --net none box", r)
    lines = r.stdout.splitlines()
    expect_eq(lines[0] if lines else None, "lo down", "the box's loopback with --net none", r)
    expect_not_in("host listener: connected", r.stdout, "the box reached the host", r)
    expect_not_in("echo " + token[::-1], r.stdout, "TCP over loopback worked with --net none", r)


def test_net_loopback(t):
    lst = Listener()
    token = secrets.token_hex(8)
    try:
        r = t.py(NET_PROBE, lst.port, token, opts=["--net", "loopback"])
    finally:
        lst.close()
    expect_ok(r)
    expect_eq(lst.accepted, 0, "connections the host listener accepted from a --net loopback box", r)
    lines = r.stdout.splitlines()
    expect_eq(lines[0] if lines else None, "lo up", "the box's loopback with --net loopback", r)
    expect_not_in("host listener: connected", r.stdout, "the box reached the host's loopback", r)
    expect_in("echo " + token[::-1], r.stdout, "a server and a client in the box over 127.0.0.1", r)


def test_policy_file(t):
    d, secret = data_dir(t)
    pol = t.write("judge.policy", "# a judge's policy\n\n"
                  "ro %s\n"
                  "env FROM_POLICY=yes\n"
                  "# limits\n"
                  "memory 512M\n"
                  "wall-time 20s\n"
                  "open-files 100\n" % d)
    code = "import os, resource; print(open(os.environ['F']).read(), end=''); " \
           "print(os.environ.get('FROM_POLICY')); print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    r = t.py(code, opts=["--policy", pol, "--env", "F=" + os.path.join(d, "file.txt")])
    expect_ok(r, secret + "yes\n100\n")
    expect_eq(r.report["limits"]["memory"], 512 * M, "memory limit from the policy", r)
    expect_eq(r.report["limits"]["wall-time"], 20, "wall-time limit from the policy", r)
    # Options override the policy whatever their order on the command line.
    for opts in (["--policy", pol, "--memory", "256M"], ["--memory", "256M", "--policy", pol]):
        r = t.run(["/usr/bin/true"], *opts)
        expect_ok(r)
        expect_eq(r.report["limits"]["memory"], 256 * M, "memory with %s" % " ".join(opts), r)


def test_report_file(t):
    r = t.sh("printf 12345; printf 678 >&2; exit 3")
    expect_exit(r, 3, "exited")
    rep = r.report
    expect_eq(rep["exit_code"], 3, "report exit_code", r)
    expect_eq(rep["signal"], None, "report signal", r)
    expect_eq(rep["error"], None, "report error", r)
    expect_eq(rep["output_bytes"], 8, "report output_bytes (5 on stdout, 3 on stderr)", r)
    expect(rep["wall_time_s"] <= r.wall + 0.05, "report wall_time_s %.3f exceeds the measured %.3f"
           % (rep["wall_time_s"], r.wall), r)
    for layer in REQUIRED_LAYERS:
        expect_in(layer, rep["layers"], "report layers", r)
    abi = landlock_abi()
    expect(1 <= rep["landlock_abi"] <= abi, "report landlock_abi %r, kernel offers %d"
           % (rep["landlock_abi"], abi), r)
    expect_eq(r.out, b"12345", "stdout", r)
    expect_in(b"678", r.err, "stderr", r)


def test_report_stderr(t):
    r = t.run([PYTHON, "-c", "print('to stdout')"], "--report", "-", "--quiet", report=False)
    expect_ok(r, "to stdout\n")
    rep = extract_json(r.stderr)
    expect(rep is not None, "no JSON report on stderr with --report -", r)
    r.report = rep
    expect_report(r)
    expect_eq(rep["status"], "exited", "report status", r)
    expect_eq(rep["output_bytes"], len("to stdout\n"), "report output_bytes", r)


def test_report_replaces_and_is_complete(t):
    """A second run replaces the report; the file is one JSON object."""
    path = os.path.join(t.reports, "same.json")
    for code in (0, 7):
        r = t.run(["/bin/sh", "-c", "exit %d" % code], "--report", path, report=False)
        expect_exit(r, code)
        with open(path) as f:
            rep = json.load(f)
        expect_eq(rep.get("exit_code"), code, "exit_code in the rewritten report", r)


def test_report_unwritable_refused_before_running(t):
    out = t.mkdir("out", 0o777)
    marker = os.path.join(out, "ran")
    r = t.run(["/usr/bin/touch", marker], "--rw", out, "--report",
              os.path.join(t.dir, "no", "such", "dir", "r.json"), report=False)
    expect_exit(r, 122)
    expect_in("r.json", r.stderr, "the error names the report path", r)
    expect(not os.path.exists(marker), "the program ran although the report cannot be written", r)


if __name__ == "__main__":
    sys.exit(main())
