#!/usr/bin/python3
"""What passes through the box unchanged: stdin (10 MB, byte-exact, from a
pipe or a file), stdout and stderr (binary, separate), the arguments, the
program's exit code, and a death by signal as 128+N with the signal's name
in the report."""

import hashlib
import json
import os
import random
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardtest import (M, PYTHON, READ_CAP, Failure, expect, expect_eq, expect_exit, expect_gone,  # noqa: E402
                      expect_in, expect_ok, main)

STDIN = random.Random(42).randbytes(10 * M)


def test_stdin_10mb_sha256(t):
    r = t.run(["/usr/bin/sha256sum"], input=STDIN)
    expect_ok(r, "%s  -\n" % hashlib.sha256(STDIN).hexdigest())


def test_stdin_10mb_roundtrip(t):
    r = t.run(["/usr/bin/cat"], input=STDIN)
    expect_exit(r, 0, "exited")
    expect_eq(len(r.out), len(STDIN), "bytes that came back", r)
    expect(r.out == STDIN, "stdout differs from the 10 MB fed on stdin", r)
    expect_eq(r.report["output_bytes"], len(STDIN), "report output_bytes", r)


def test_stdin_from_file(t):
    path = t.write("input.bin", STDIN)
    with open(path, "rb") as f:
        r = t.run([PYTHON, "-c", "import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())"],
                  stdin=f)
    expect_ok(r, hashlib.sha256(STDIN).hexdigest() + "\n")


def test_stdin_empty(t):
    r = t.run(["/usr/bin/wc", "-c"])
    expect_ok(r, "0\n")


def test_stdout_binary(t):
    """Every byte value, no trailing newline, from a file and from a program."""
    blob = bytes(range(256)) * 64 + random.Random(8).randbytes(3 * M) + b"\x00\r\n\x1b[2J\xff"
    d = t.mkdir("data")
    t.write("data/blob.bin", blob)
    r = t.run(["/usr/bin/cat", os.path.join(d, "blob.bin")], "--ro", d)
    expect_exit(r, 0, "exited")
    expect(r.out == blob, "stdout is not the file byte for byte (%d of %d bytes)" % (len(r.out), len(blob)), r)
    r = t.py("import sys; sys.stdout.buffer.write(bytes(range(256)) * 1000)")
    expect_ok(r, bytes(range(256)) * 1000)


def test_stdout_stderr_separate(t):
    r = t.sh("echo out1; echo err1 >&2; echo out2; echo err2 >&2")
    expect_ok(r, "out1\nout2\n")
    expect_eq(r.err, b"err1\nerr2\n", "stderr", r)


def test_arguments_untouched(t):
    args = ["plain", "with space", "", "--memory", "1G", "--", "-x", "ünïcødé", "a'b\"c", "$HOME", "*"]
    r = t.run([PYTHON, "-c", "import json, sys; print(json.dumps(sys.argv[1:]))"] + args)
    expect_ok(r)
    expect_eq(json.loads(r.stdout), args, "arguments the program got", r)


def test_exit_codes(t):
    for code in (0, 1, 42, 255):
        r = t.sh("exit %d" % code)
        expect_exit(r, code, "exited")
        expect_eq(r.report["exit_code"], code, "report exit_code", r)
        expect_eq(r.report["signal"], None, "report signal", r)
        r = t.py("import sys; sys.exit(%d)" % code)
        expect_exit(r, code, "exited")


def test_killed_by_signal(t):
    cases = [("sh", ["/bin/sh", "-c", "kill -TERM $$"], signal.SIGTERM),
             ("sh", ["/bin/sh", "-c", "kill -INT $$"], signal.SIGINT),
             ("python3", [PYTHON, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"], signal.SIGSEGV),
             ("python3", [PYTHON, "-c", "import os; os.abort()"], signal.SIGABRT),
             ("python3", [PYTHON, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGUSR1)"], signal.SIGUSR1)]
    for _, argv, sig in cases:
        r = t.run(argv)
        expect_exit(r, 128 + sig, "signaled")
        expect_eq(r.report["signal"], sig.name, "report signal", r)
        expect_eq(r.report["exit_code"], None, "report exit_code", r)



def test_harness_read_cap(t):
    """The harness reads at most its cap from a run: a box that floods
    past it (here with an output limit above the cap, as if the limit did
    not hold) fails the test with a clear message, is killed, and what was
    kept is bounded."""
    token = "flood-%d" % random.getrandbits(40)
    cap = 4 * M
    try:
        t.py("import sys\nwhile True: sys.stdout.write('x' * 65536)", token,
             opts=["--output", "1G"], read_cap=cap, timeout=60)
    except Failure as e:
        msg = str(e)
        expect_in("more than %d bytes, the harness's cap" % cap, msg, "the failure says why")
        expect(len(msg) < 20000, "the failure message is bounded (%d characters)" % len(msg))
    else:
        raise Failure("a run flooding past the harness's cap did not fail the test")
    expect_gone(token, None)
    expect(READ_CAP > 64 * M, "the default cap admits the default output limit")


if __name__ == "__main__":
    sys.exit(main())
