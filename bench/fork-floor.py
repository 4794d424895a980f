#!/usr/bin/python3
"""fork-floor.py -- what a fork-per-request python costs here, with no box.

The floor under any zygote: a python with the preload imported and its
objects frozen (gc.freeze) forks one child per request, which compiles and
runs the request and exits -- no namespaces, no cgroup, no confinement, no
controller. Interleaved against a bare `python3 -c CODE` (posix_spawn) in
the same run:

  latency      request -> first output and -> result (the child's stdout at
               EOF: it has exited and its memory is torn down), sequential,
               a pause before each; median and p90;
  throughput   --threads clients for --seconds each, requests/s, and the CPU
               the whole machine spent per request (/proc/stat), so the
               best rate two CPUs allow follows;
  page faults  the child's minor faults, from the fork to its exit.

Variants: bare; fork (the server forks a child per request); prefork (the
server keeps one child forked ahead, which has compiled and run a line of
its own and waits for the request: what ward's zygote boxes do, without the
box; the next one is forked once the request's child has exited, or at
once for a request that finds none ready, as ward's pools refill).

usage: fork-floor.py [--rounds N] [--seconds S] [--threads N] [--code CODE]
No timing is asserted; a request that does not print what it should is an
error (exit 1).
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

PY = "/usr/bin/python3"

# The fork server: its requests arrive on the fd in argv[1] (SOCK_SEQPACKET),
# each the code and the write end of a pipe; the child's stdout is the pipe.
SERVER = r"""
import gc, os, resource, select, socket, sys, json, re
s = socket.socket(fileno=int(sys.argv[1]))
prefork = sys.argv[2] == 'prefork'
gc.collect()
gc.freeze()

def run(msg, fds, f0):
    os.dup2(fds[0], 1)
    exec(compile(msg, '<string>', 'exec'), {'__name__': '__main__'})
    sys.stdout.flush()
    os.write(fds[1], b'%d' % (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0))
    os._exit(0)

def ready_child():
    # forked ahead, a compile and run of its own done, waiting for a request
    global last_child
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    last_child = os.fork()
    if last_child == 0:
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        s.close()
        a.close()
        exec(compile(b'x = 1\nprint\n', '/x.py', 'exec'), {})
        msg, fds, _, _ = socket.recv_fds(b, 1 << 16, 2)
        if not msg:
            os._exit(0)
        run(msg, fds, f0)
    b.close()
    return a

# prefork: as ward's pools do, the next child is forked once the request
# is complete (its child has exited), not beside it; at once when a
# request finds none ready.
ready = ready_child() if prefork else None
busy = None  # the pidfd of the child serving the last request
while True:
    if busy is not None:
        r, _, _ = select.select([s, busy], [], [])
        if busy in r:
            os.close(busy)
            busy = None
            if ready is None:
                ready = ready_child()
        if s not in r:
            continue
    msg, fds, _, _ = socket.recv_fds(s, 1 << 16, 2)
    if not msg:
        break
    if prefork:
        if ready is None:
            ready = ready_child()
        socket.send_fds(ready, [msg], fds)
        ready.close()
        ready = None
        if busy is not None:
            os.close(busy)
        busy = os.pidfd_open(last_child)
    elif os.fork() == 0:
        run(msg, fds, resource.getrusage(resource.RUSAGE_SELF).ru_minflt)
    for fd in fds:
        os.close(fd)
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] <= 0:
                break
        except ChildProcessError:
            break
"""

ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}


class ForkServer:
    def __init__(self, mode):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.lock = threading.Lock()
        self.proc = subprocess.Popen([PY, "-I", "-S", "-c", SERVER, str(theirs.fileno()), mode],
                                     pass_fds=(theirs.fileno(),), env=ENV)
        theirs.close()

    def request(self, code):
        """(first output ms, result ms, stdout, the child's page faults)"""
        r, w = os.pipe()
        fr, fw = os.pipe()
        t0 = time.monotonic()
        with self.lock:
            socket.send_fds(self.sock, [code.encode()], [w, fw])
        os.close(w)
        os.close(fw)
        out, first = read_all(r, t0)
        res = time.monotonic()
        faults = os.read(fr, 64)
        os.close(fr)
        return first, (res - t0) * 1e3, out, int(faults or b"-1")

    def close(self):
        self.sock.close()
        self.proc.wait()


def read_all(fd, t0):
    out, first = b"", None
    while True:
        b = os.read(fd, 4096)
        if first is None:
            first = (time.monotonic() - t0) * 1e3
        if not b:
            break
        out += b
    os.close(fd)
    return out, first


def bare(code):
    r, w = os.pipe()
    t0 = time.monotonic()
    pid = os.posix_spawn(PY, [PY, "-c", code], ENV,
                         file_actions=[(os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_CLOSE, r)],
                         setsid=True)
    os.close(w)
    out, first = read_all(r, t0)
    _, _, ru = os.wait4(pid, 0)
    return first, (time.monotonic() - t0) * 1e3, out, ru.ru_minflt


def cpu_busy():
    f = open("/proc/stat").readline().split()[1:]
    v = [int(x) for x in f]
    idle = v[3] + v[4]
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--code", default="print(1)")
    a = ap.parse_args()
    expect = b"1\n" if a.code == "print(1)" else None
    fs, pre = ForkServer("fork"), ForkServer("prefork")
    run = {"bare": bare, "fork": fs.request, "prefork": pre.request}
    lat = {k: [] for k in run}
    bad = 0
    for i in range(a.rounds + 1):
        ks = list(run)
        for k in ks[i % len(ks):] + ks[:i % len(ks)]:
            time.sleep(0.02)
            first, res, out, faults = run[k](a.code)
            if expect is not None and out != expect:
                bad += 1
            if i:
                lat[k].append((first, res, faults))
    load = os.getloadavg()[0]
    print(f"fork-floor: python {a.code!r}, {a.rounds} rounds, load {load:.2f}, {os.cpu_count()} CPUs")
    print(f"{'variant':8} {'first output':>16} {'result':>16} {'ratio':>7} {'faults':>7}")
    base = statistics.median(r for _, r, _ in lat["bare"])
    for k, v in lat.items():
        f = [x[0] for x in v]
        r = [x[1] for x in v]
        print(f"{k:8} {statistics.median(f):7.2f} /{q(f, 0.9):7.2f} {statistics.median(r):7.2f} /"
              f"{q(r, 0.9):7.2f} {statistics.median(r) / base:6.3f}x {statistics.median(x[2] for x in v):7.0f}")
    print(f"throughput, {a.threads} clients x {a.seconds:g} s: requests/s, CPU ms per request, "
          f"the rate 2 CPUs' worth of that CPU allows")
    for k in run:
        n = [0]
        stop = time.monotonic() + a.seconds
        def client():
            while time.monotonic() < stop:
                _, _, out, _ = run[k](a.code)
                n[0] += 1
        c0, t0 = cpu_busy(), time.monotonic()
        ts = [threading.Thread(target=client) for _ in range(a.threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        dt, cpu = time.monotonic() - t0, cpu_busy() - c0
        per = cpu / n[0] * 1e3
        print(f"{k:8} {n[0] / dt:7.1f} req/s  {per:6.1f} ms CPU/request  "
              f"ceiling {os.cpu_count() * 1e3 / per:6.1f} req/s")
    fs.close()
    pre.close()
    if bad:
        print(f"fork-floor: {bad} requests printed the wrong output", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
