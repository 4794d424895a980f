#!/usr/bin/python3
"""With no limit given, the defaults stop the classic abuses: a fork bomb,
a memory bomb, a /tmp fill and an output flood each end in bounded time
with bounded use of the host, judged from the host (process counts and
resident memory under ward, the bytes that came out).

On this host a run without --memory/--procs uses rlimits (cgroup v1 is
attached only on request, and never for an unprivileged user), so the
memory bomb is stopped by RLIMIT_DATA (the allocation fails) unless a
cgroup is in use; both outcomes are accepted, the bounds are not relaxed."""

import os
import random
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardtest import (EXIT, G, M, Sampler, descendants, expect, expect_eq, expect_exit,  # noqa: E402
                      expect_finished, expect_gone, expect_report, log, main, pids_with_token, rss_total)

FORK_BOMB = """
import os, sys, time
end = time.time() + float(sys.argv[1])
while time.time() < end:
    try:
        os.fork()
    except OSError:
        time.sleep(0.01)
"""


def test_fork_bomb(t):
    token = "bomb-%d" % random.getrandbits(40)
    samplers = []

    def during(p):
        s = Sampler(lambda: len(descendants(p.pid)), every=0.1)
        s.start()
        samplers.append(s)
        h = Sampler(lambda: len(pids_with_token(token)), every=0.25)
        h.start()
        samplers.append(h)

    r = t.py(FORK_BOMB, 5, token, during=during, timeout=90)
    under_ward, with_token = (max(s.finish(), default=0) for s in samplers)
    log("# at most %d processes under ward, %d bomb processes on the host" % (under_ward, with_token))
    expect_finished(r, within=60)
    expect_report(r)
    expect_eq(r.report["limits"]["procs"], 128, "report limits.procs", r)
    expect(under_ward <= 128 + 2, "%d processes under ward with the default 128" % under_ward, r)
    # ward's own command line holds the token too (and so may the box's init)
    expect(with_token <= 128 + 2, "%d bomb processes on the host" % with_token, r)
    expect(under_ward >= 16, "calibration: only %d processes seen: did the bomb run?" % under_ward, r)
    expect_gone(token, r)


MEMORY_BOMB = """
chunks = []
for i in range(64):
    chunks.append(bytearray(64 << 20))  # 4 GiB in all, every page touched
print('allocated all', flush=True)
"""


def test_memory_bomb(t):
    samplers = []

    def during(p):
        s = Sampler(lambda: rss_total(descendants(p.pid)), every=0.05)
        s.start()
        samplers.append(s)

    r = t.py(MEMORY_BOMB, during=during, timeout=120)
    most = max(samplers[0].finish(), default=0)
    # The resident memory of the box's processes, seen from the host (the
    # host's MemAvailable moves with everything else running here).
    log("# the box's processes held at most %d MiB" % (most >> 20))
    expect_finished(r, within=60)
    expect_report(r)
    expect("allocated all" not in r.stdout, "the memory bomb got 4 GiB", r)
    expect(r.rc != 0, "the memory bomb exited 0", r)
    expect(r.status in ("memory-limit", "exited", "signaled"), "status %r" % r.status, r)
    if r.status == "memory-limit":
        expect_eq(r.rc, EXIT["memory-limit"], "exit status of a memory-limit run", r)
    expect(r.report["peak_memory_bytes"] <= 1 * G + 64 * M,
           "peak_memory_bytes %d above the default 1G" % r.report["peak_memory_bytes"], r)
    expect(most <= 1 * G + 128 * M, "the box's processes held %d MiB with the default 1G"
           % (most >> 20), r)
    expect(most >= 256 * M, "calibration: the box held only %d MiB: did the bomb run?" % (most >> 20), r)


def test_tmp_fill(t):
    r = t.sh("dd if=/dev/zero of=/tmp/fill bs=1M 2>/dev/null; echo dd=$?; stat -c %s /tmp/fill",
             timeout=60)
    expect_finished(r, within=30)
    expect_eq(r.rc, 0, "exit status", r)
    lines = r.stdout.split()
    expect(len(lines) == 2 and lines[0] != "dd=0", "dd did not fail filling /tmp", r)
    expect(lines[1].isdigit(), "no size of /tmp/fill printed", r)
    size = int(lines[1])
    expect(60 * M <= size <= 64 * M, "/tmp took %d bytes with the default 64M" % size, r)


def test_output_flood(t):
    r = t.run(["/usr/bin/yes"], timeout=120)
    expect_exit(r, EXIT["output-limit"], "output-limit")
    expect(r.wall <= 60, "the flood took %.1f s to stop" % r.wall, r)
    expect_eq(len(r.out), 64 * M, "bytes of `yes` that came out with the default 64M limit", r)
    expect(r.out == b"y\n" * (32 * M), "the output is not the first 64M of `yes`", r)


def test_stderr_flood(t):
    r = t.sh("yes >&2", timeout=120)
    expect_exit(r, EXIT["output-limit"], "output-limit")
    # ward's own one-line message comes after the program's 64M
    expect(64 * M <= len(r.err) <= 64 * M + 200, "%d bytes on stderr" % len(r.err), r)
    expect_eq(r.out, b"", "stdout", r)


if __name__ == "__main__":
    sys.exit(main())
