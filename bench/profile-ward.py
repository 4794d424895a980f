#!/usr/bin/python3
"""profile-ward.py — where does `ward run -- /bin/true` spend its time?

Records kernel tracepoints (every syscall entry/exit, fork, exec, exit)
system-wide with `perf record` while startbench runs ward N times, plus a
uprobe on ward's main() so that the dynamic loader and libc start-up can be
told apart from ward's own code. Then, per run, it places milestones on a
timeline that starts when the driver forks (the spawn) and prints their
medians, the time between consecutive milestones, the syscalls that cost
the most time in total, and one run's full syscall trace.

Tracepoints cost little (a few µs per syscall on this VM); the uprobe traps
once per run. Absolute numbers are therefore slightly above startbench's:
read the split, not the sum. Needs root and perf (linux-perf).

usage: profile-ward.py --ward PATH --startbench PATH [--runs N]
                       [--trace-run K] [-- ARGS...]
ARGS default to: run --quiet -- /bin/true (the payload follows the last --)
"""

import argparse
import collections
import os
import re
import statistics
import subprocess
import sys
import tempfile

TRACEFS = "/sys/kernel/tracing/events/syscalls"
# Only the syscalls that mark a step of the launch sequence are traced:
# recording every syscall (raw_syscalls) slows a run down 2-3x on this VM
# and would distort the split.
# The milestones need only these; --detail traces the rest of TRACED too.
MILESTONES = ["clone", "clone3", "unshare", "mount", "open_tree",
              "pivot_root", "landlock_create_ruleset",
              "landlock_restrict_self", "seccomp", "execve"]
TRACED = ["clone", "clone3", "vfork", "unshare", "setns", "mount", "umount",
          "pivot_root", "fsopen", "fsmount", "move_mount", "open_tree",
          "mount_setattr", "landlock_create_ruleset", "landlock_add_rule",
          "landlock_restrict_self", "seccomp", "prctl", "capset", "setsid",
          "sethostname", "execve", "exit_group", "wait4", "waitid",
          "mkdir", "mkdirat", "rmdir", "close_range", "pidfd_open",
          "ppoll", "poll", "epoll_wait", "epoll_pwait"]

# Syscalls that mark a step of the launch sequence when ward makes them.
MOUNT_CALLS = {"mount", "umount", "fsopen", "fsconfig", "fsmount",
               "move_mount", "open_tree", "mount_setattr"}
NS_FLAGS = 0x10000000 | 0x20000 | 0x20000000 | 0x40000000 | 0x8000000 \
    | 0x4000000 | 0x2000000  # USER NS PID NET IPC UTS CGROUP


def die(msg):
    sys.stderr.write("profile-ward.py: %s\n" % msg)
    sys.exit(2)


LINE = re.compile(r"^\s*(?P<comm>.+?)\s+(?P<pid>\d+)/(?P<tid>\d+)\s+"
                  r"\[\d+\]\s+(?P<time>[\d.]+):\s+(?P<event>[\w:]+):\s?"
                  r"(?P<rest>.*)$")


def parse(script_out):
    """Yields (time, pid, tid, comm, kind, data) in time order."""
    evs = []
    for line in script_out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        t = float(m.group("time"))
        pid, tid = int(m.group("pid")), int(m.group("tid"))
        ev, rest, comm = m.group("event"), m.group("rest"), m.group("comm")
        if ev.startswith("syscalls:sys_enter_"):
            args = [int(v, 16) for v in
                    re.findall(r"\w+: (0x[0-9a-f]+)", rest)]
            evs.append((t, pid, tid, comm, "enter",
                        (ev[len("syscalls:sys_enter_"):], args)))
        elif ev.startswith("syscalls:sys_exit_"):
            mm = re.match(r"(-?0x[0-9a-f]+|-?\d+)", rest.strip())
            ret = int(mm.group(1), 0) if mm else 0
            evs.append((t, pid, tid, comm, "exit",
                        (ev[len("syscalls:sys_exit_"):], ret)))
        elif ev == "sched:sched_process_fork":
            mm = re.search(r"child_pid=(\d+)", rest)
            evs.append((t, pid, tid, comm, "fork", int(mm.group(1))))
        elif ev == "sched:sched_process_exec":
            mm = re.search(r"filename=(\S+)", rest)
            evs.append((t, pid, tid, comm, "exec", mm.group(1)))
        elif ev == "sched:sched_process_exit":
            evs.append((t, pid, tid, comm, "pexit", None))
        elif ev.startswith("probe_"):
            evs.append((t, pid, tid, comm, "main", None))
    evs.sort(key=lambda e: e[0])
    return evs


def runs_of(evs, driver_pid):
    """Splits the events into one list per child of the driver."""
    owner = {}          # tid -> run index
    runs = []
    for e in evs:
        t, pid, tid, comm, kind, data = e
        if kind == "fork":
            if tid == driver_pid or pid == driver_pid:
                owner[data] = len(runs)
                runs.append([e])
                continue
            if tid in owner:
                owner[data] = owner[tid]
        if tid in owner:
            runs[owner[tid]].append(e)
    return runs


def analyse(run_evs, ward_path, payload_path):
    """Milestones (name -> time) and per-syscall time for one run."""
    t0 = run_evs[0][0]
    ms = collections.OrderedDict()
    ms["spawn (driver forks)"] = 0.0
    ward_tid = run_evs[0][5]
    box_tids = set()
    pending = {}
    per_call = collections.defaultdict(float)
    trace = []
    payload_tid = None
    mount_total = 0.0
    for t, pid, tid, comm, kind, data in run_evs[1:]:
        rel = (t - t0) * 1e3
        if kind == "exec":
            if tid == ward_tid and "ward exec'd" not in ms:
                ms["ward exec'd"] = rel
            elif data == payload_path or data.endswith(
                    "/" + os.path.basename(payload_path)):
                ms["payload exec'd"] = rel
                payload_tid = tid
        elif kind == "main" and tid == ward_tid and "ward main()" not in ms:
            ms["ward main()"] = rel
        elif kind == "fork" and tid != ward_tid and "box forked" not in ms:
            pass
        elif kind == "enter":
            name, args = data
            pending[tid] = (t, name, args)
            if tid == payload_tid:
                continue
            if name in ("clone", "clone3", "unshare") and \
                    "clone/unshare with namespaces" not in ms and \
                    (name == "clone3" or (args and args[0] & NS_FLAGS)):
                ms["clone/unshare with namespaces"] = rel
            if name in MOUNT_CALLS and "first mount" not in ms:
                ms["first mount"] = rel
            if name == "landlock_create_ruleset" and \
                    "landlock start" not in ms:
                ms["landlock start"] = rel
            if name == "execve" and tid != ward_tid and \
                    "box execve()" not in ms:
                ms["box execve()"] = rel
        elif kind == "exit":
            name, ret = data
            if tid not in pending:
                continue
            ts, n, args = pending.pop(tid)
            dur = (t - ts) * 1e3
            if tid == payload_tid:
                continue
            per_call[name] += dur
            if name in MOUNT_CALLS:
                mount_total += dur
            trace.append(((ts - t0) * 1e3, dur, tid, name, args, ret))
            if name == "pivot_root":
                ms["pivot_root done"] = rel
            if name == "landlock_restrict_self":
                ms["landlock done"] = rel
            if name == "seccomp" or (name == "prctl" and args and
                                     args[0] == 22):
                ms["seccomp loaded"] = rel
        elif kind == "pexit":
            if tid == payload_tid:
                ms["payload exited"] = rel
            elif tid == ward_tid:
                ms["ward exited"] = rel
    # Everything the controller did after the payload ended.
    return ms, per_call, trace, mount_total, ward_tid


def main():
    ap = argparse.ArgumentParser(usage=__doc__.split("\n\n")[-1])
    ap.add_argument("--ward", required=True)
    ap.add_argument("--startbench", required=True)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--trace-run", type=int, default=-1,
                    help="print this run's syscalls (default: the median)")
    ap.add_argument("--no-uprobe", action="store_true")
    ap.add_argument("--detail", action="store_true",
                    help="trace more syscalls (slower, distorts more)")
    ap.add_argument("rest", nargs="*")
    a = ap.parse_args()
    if os.geteuid() != 0:
        die("needs root (perf tracepoints)")
    ward = os.path.realpath(a.ward)
    rest = a.rest or ["run", "--quiet", "--", "/bin/true"]
    if "--" in rest:
        payload = rest[len(rest) - 1 - rest[::-1].index("--") + 1]
    else:
        payload = rest[-1]
    events = ["sched:sched_process_fork", "sched:sched_process_exec",
              "sched:sched_process_exit"]
    for sc in (TRACED if a.detail else MILESTONES):
        if os.path.exists(TRACEFS + "/sys_enter_" + sc):
            events += ["syscalls:sys_enter_" + sc, "syscalls:sys_exit_" + sc]
    probe = None
    if not a.no_uprobe:
        r = subprocess.run(["perf", "probe", "-q", "-x", ward, "-a", "main"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            probe = "probe_%s:main" % re.sub(r"\W", "_",
                                               os.path.basename(ward))
            events.append(probe)
        else:
            sys.stderr.write("profile-ward.py: no uprobe on main: %s"
                             % r.stderr)
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "perf.data")
        cmd = " ".join([ward] + rest)
        bench = subprocess.Popen(
            ["perf", "record", "-q", "-o", data] +
            sum([["-e", e] for e in events], []) +
            [a.startbench, "--rounds", str(a.runs), "--warmup", "0",
             "--cmd", "ward=" + cmd],
            stdout=subprocess.DEVNULL)
        bench.wait()
        if probe:
            subprocess.run(["perf", "probe", "-q", "-d", probe])
        if bench.returncode != 0:
            die("perf record / startbench failed (%d)" % bench.returncode)
        out = subprocess.run(
            ["perf", "script", "-i", data, "-F",
             "comm,pid,tid,cpu,time,event,trace"],
            capture_output=True, text=True, check=True).stdout
    evs = parse(out)
    drivers = [e for e in evs if e[4] == "exec" and
               e[5].endswith("startbench")]
    if not drivers:
        die("no startbench exec in the trace")
    runs = runs_of(evs, drivers[0][2])
    if not runs:
        die("no runs found in the trace")
    results = [analyse(r, ward, payload) for r in runs]

    order = []
    for ms, *_ in results:
        for k in ms:
            if k not in order:
                order.append(k)
    med = collections.OrderedDict()
    for k in order:
        vals = [ms[k] for ms, *_ in results if k in ms]
        med[k] = statistics.median(vals)
    print("%d runs of: %s" % (len(results), " ".join([ward] + rest)))
    print("median milestones, ms after the driver forks "
          "(and the step from the previous one):")
    prev = 0.0
    for k, v in sorted(med.items(), key=lambda kv: kv[1]):
        print("  %8.3f  (+%6.3f)  %s" % (v, v - prev, k))
        prev = v
    print("median time in mount syscalls: %.3f ms" %
          statistics.median([r[3] for r in results]))
    totals = collections.defaultdict(list)
    for _, per_call, *_ in results:
        for k, v in per_call.items():
            totals[k].append(v)
    print("syscalls by median time per run (ward + box, payload excluded):")
    top = sorted(totals.items(), key=lambda kv: -statistics.median(kv[1]))
    for k, v in top[:15]:
        print("  %8.3f ms  %s" % (statistics.median(v), k))

    # One full trace: the run whose end-to-end time is the median.
    ends = [ms.get("ward exited", 0) for ms, *_ in results]
    k = a.trace_run
    if k < 0 or k >= len(results):
        k = sorted(range(len(ends)), key=lambda i: ends[i])[len(ends) // 2]
    ms, _, trace, _, ward_tid = results[k]
    print("\nrun %d, every syscall of ward and the box before the payload "
          "(ms after the spawn, duration):" % k)
    for start, dur, tid, name, args, ret in trace:
        who = "ward" if tid == ward_tid else "box%d" % tid
        argstr = ",".join("%x" % x for x in args[:3])
        print("  %8.3f %7.3f  %-7s %s(%s) = %d" % (start, dur, who, name,
                                                   argstr, ret))


if __name__ == "__main__":
    main()
