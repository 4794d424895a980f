#!/usr/bin/python3
"""The controller survives a hostile box: a program that closes its stdout
early, a reader of ward's stdout that goes away, binary garbage, a program
that SIGSTOPs itself, a stderr flood, a child that keeps the pipes open
after the program exited, stdin nobody reads, and ward itself being told
to stop. In each case ward ends by itself, in bounded time, with the right
status and a report."""

import json
import os
import random
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardtest import (EXIT, M, PYTHON, READ_CAP, Failure, collect, check_report_shape, expect, expect_eq, expect_exit,  # noqa: E402
                      expect_finished, expect_gone, expect_ok, kill_group, main)


def test_program_closes_stdout_early(t):
    r = t.sh("exec >&-; sleep 0.3; echo still here >&2; exit 3")
    expect_exit(r, 3, "exited")
    expect_eq(r.err, b"still here\n", "stderr", r)


def test_reader_goes_away(t):
    """ward's stdout reader closes the pipe after a few bytes while the
    program keeps writing (`ward run -- yes | head -c 10`)."""
    rpath = os.path.join(t.reports, "reader.json")
    p = t.popen(["run", "--report", rpath, "--", "/usr/bin/yes"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    t0 = time.monotonic()
    head = p.stdout.read(10)
    p.stdout.close()
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        kill_group(p)
        p.wait()
        raise Failure("ward kept running 20 s after its stdout reader went away")
    err = p.stderr.read()
    p.stderr.close()
    wall = time.monotonic() - t0
    expect_eq(head, b"y\n" * 5, "the first bytes", None)
    expect(p.returncode >= 0, "ward died of signal %d when its reader went away (stderr: %r)"
           % (-p.returncode, err), None)
    expect(wall < 15, "ward took %.1f s to notice its reader went away" % wall, None)
    expect(os.path.exists(rpath), "no report after the reader went away (ward exited %d, stderr %r)"
           % (p.returncode, err), None)
    with open(rpath) as f:
        check_report_shape(json.load(f))


def test_binary_garbage(t):
    out = random.Random(9).randbytes(2 * M)
    err = random.Random(10).randbytes(1 * M)
    code = """
import os, random
out, err = random.Random(9).randbytes(2 << 20), random.Random(10).randbytes(1 << 20)
for i in range(0, 1 << 20, 4093):
    os.write(1, out[2 * i:2 * i + 2 * 4093])
    os.write(2, err[i:i + 4093])
"""
    r = t.py(code)
    expect_exit(r, 0, "exited")
    expect(r.out == out, "stdout differs from the garbage written (%d bytes)" % len(r.out), r)
    expect(r.err == err, "stderr differs from the garbage written (%d bytes)" % len(r.err), r)


def test_sigstop_self(t):
    r = t.py("import os, signal; print('stopping', flush=True); os.kill(os.getpid(), signal.SIGSTOP)",
             opts=["--wall-time", "1s"], timeout=30)
    expect_exit(r, EXIT["time-limit"], "time-limit")
    expect(r.wall <= 3, "ward took %.1f s with --wall-time 1s" % r.wall, r)
    expect_eq(r.out, b"stopping\n", "stdout", r)


def test_sigstop_group(t):
    """The whole box stopped (kill -STOP 0), init included if it can be."""
    r = t.sh("echo stopping; kill -STOP 0; echo resumed", opts=["--wall-time", "1s"], timeout=30)
    expect_exit(r, EXIT["time-limit"], "time-limit")
    expect(r.wall <= 3, "ward took %.1f s with --wall-time 1s" % r.wall, r)


def test_ignores_termination_signals(t):
    """A program that ignores SIGTERM, SIGINT and SIGHUP still ends at the
    wall-time limit."""
    code = ("import signal, time\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\n"
            "    signal.signal(s, signal.SIG_IGN)\ntime.sleep(30)\n")
    r = t.py(code, opts=["--wall-time", "500ms"], timeout=40)
    expect_exit(r, EXIT["time-limit"], "time-limit")
    expect(r.wall <= 2, "ward took %.1f s with --wall-time 500ms" % r.wall, r)


def test_stderr_flood(t):
    size = 20 * M
    r = t.py("import os\nb = b'e' * 65536\nfor i in range(%d): os.write(2, b)\nprint('done')" % (size // 65536),
             timeout=60)
    expect_ok(r, "done\n")
    expect_eq(len(r.err), size, "bytes on stderr", r)
    expect_eq(r.report["output_bytes"], size + 5, "report output_bytes", r)


def test_child_keeps_pipes_open(t):
    """The program exits while a background child still holds stdout and
    stderr: the run ends with the program, and the child dies with it."""
    token = "orphan-%d" % random.getrandbits(40)
    r = t.sh('%s -c "import time; time.sleep(30)" %s & echo parent done' % (PYTHON, token), timeout=40)
    expect_ok(r, "parent done\n")
    expect(r.wall < 5, "ward waited %.1f s for a background child" % r.wall, r)
    expect_gone(token, r)


def test_daemon_double_fork(t):
    token = "daemon-%d" % random.getrandbits(40)
    code = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for fd in (0, 1, 2):
            os.close(fd)
        time.sleep(30)
    os._exit(0)
os.wait()
print('parent done')
"""
    r = t.py(code, token, timeout=40)
    expect_ok(r, "parent done\n")
    expect(r.wall < 5, "ward waited %.1f s for a daemon" % r.wall, r)
    expect_gone(token, r)


def test_stdin_never_read(t):
    r = t.run(["/usr/bin/true"], input=random.Random(1).randbytes(10 * M), timeout=30)
    expect_ok(r, b"")
    expect(r.wall < 10, "ward took %.1f s when the program ignored stdin" % r.wall, r)


def test_ward_terminated(t):
    """SIGTERM to ward: the box is killed, the report written, and ward dies
    of the same signal."""
    token = "term-%d" % random.getrandbits(40)
    rpath = os.path.join(t.reports, "term.json")
    p = t.popen(["run", "--report", rpath, "--", PYTHON, "-c", "import time; print('up', flush=True); time.sleep(30)",
                 token], stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    line = p.stdout.readline()
    os.kill(p.pid, signal.SIGTERM)
    out, err, timed_out, capped = collect(p, None, time.monotonic() + 10, READ_CAP)
    expect(not capped, "ward printed more than the harness's cap after SIGTERM")
    if timed_out:
        raise Failure("ward did not end within 10 s of SIGTERM")
    expect_eq(line, b"up\n", "the program started", None)
    expect_eq(p.returncode, -signal.SIGTERM, "ward's end (negative: died of that signal); stderr %r" % err, None)
    expect(os.path.exists(rpath), "no report after SIGTERM", None)
    with open(rpath) as f:
        rep = json.load(f)
    check_report_shape(rep)
    expect_eq(rep["status"], "signaled", "report status after SIGTERM to ward", None)
    expect_gone(token, None)


def test_ward_killed(t):
    """SIGKILL to ward: nothing can be written, but the box must die too."""
    token = "kill-%d" % random.getrandbits(40)
    p = t.popen(["run", "--", PYTHON, "-c", "import time; print('up', flush=True); time.sleep(30)", token],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    line = p.stdout.readline()
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    p.stdout.close()
    expect_eq(line, b"up\n", "the program started", None)
    expect_gone(token, None, grace=3)


def test_init_limits_untouchable(t):
    """The box's init has the program's uid: lowering init's open-file
    limit (which would blind its process and memory counts) or its
    priority must be refused; the program's own limits still work."""
    code = ("import os, resource\n"
            "for what, f in (('prlimit', lambda: resource.prlimit(1, resource.RLIMIT_NOFILE, (0, 0))),\n"
            "                ('setpriority', lambda: os.setpriority(os.PRIO_PROCESS, 1, 19))):\n"
            "    try:\n"
            "        f(); print(what, 'worked')\n"
            "    except OSError as e:\n"
            "        print(what, e.errno)\n"
            "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))\n"
            "print(resource.getrlimit(resource.RLIMIT_NOFILE))\n")
    r = t.py(code)
    expect_ok(r, "prlimit 1\nsetpriority 1\n(64, 64)\n")


def test_sigchld_flood_does_not_stop_memory_count(t):
    """Without a memory cgroup, init samples the box's memory every 20 ms:
    a child stopped and continued in a tight loop (a SIGCHLD each time)
    must not postpone the samples. 6 x 50M (each under RLIMIT_DATA) held
    under --memory 64M."""
    code = ("import os, signal, time\n"
            "c = os.fork()\n"
            "if c == 0:\n"
            "    while True: time.sleep(1)\n"
            "g = os.fork()\n"
            "if g == 0:\n"
            "    while True:\n"
            "        os.kill(c, signal.SIGSTOP); os.kill(c, signal.SIGCONT)\n"
            "for i in range(5):\n"
            "    if os.fork() == 0:\n"
            "        break\n"
            "b = bytearray(50 << 20)\n"
            "for i in range(0, len(b), 4096): b[i] = 1\n"
            "time.sleep(5)\n"
            "print('held')\n")
    r = t.py(code, opts=["--cgroup", "off", "--memory", "64M", "--wall-time", "20s"])
    expect_exit(r, EXIT["memory-limit"], "memory-limit")


def test_many_short_runs(t):
    """50 runs in a row: no leak makes a later one fail."""
    for i in range(50):
        r = t.run(["/usr/bin/echo", str(i)], report=(i % 10 == 0))
        expect_finished(r)
        expect_eq((r.rc, r.out), (0, b"%d\n" % i), "run %d" % i, r)


if __name__ == "__main__":
    sys.exit(main())
