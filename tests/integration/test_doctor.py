#!/usr/bin/python3
"""`ward doctor` exits 0 on this host and names each layer; `ward --help`
documents every command, option and exit status; `ward --version`."""

import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardtest import EXIT, expect, expect_eq, expect_in, landlock_abi, main  # noqa: E402

RUN_OPTIONS = ["--profile", "--policy", "--ro", "--rw", "--tmpfs", "--cwd", "--env", "--hostname",
               "--exec", "--memory", "--cpu-time", "--wall-time", "--procs", "--output",
               "--file-size", "--open-files", "--tmp-size", "--net", "--report", "--cgroup", "--quiet"]


def test_doctor(t):
    r = t.ward(["doctor"])
    expect_eq(r.rc, 0, "exit status of 'ward doctor'", r)
    text = r.stdout.lower()
    for words in (("user",), ("mount", "mnt"), ("pid",), ("net",), ("ipc",), ("uts",), ("cgroup",),
                  ("seccomp",), ("notif",), ("landlock",), ("rlimit",)):
        expect(any(w in text for w in words), "'ward doctor' does not mention %s" % words[0], r)
    for ns in ("user", "pid", "ipc", "uts"):
        expect(re.search(r"\b%s\b[^\n]*\bnamespace" % ns, text) or
               re.search(r"\bnamespace[^\n]*\b%s\b" % ns, text),
               "no line about the %s namespace" % ns, r)
    abi = landlock_abi()
    landlock = [line for line in text.splitlines() if "landlock" in line]
    expect(any(str(abi) in line for line in landlock),
           "the kernel's Landlock ABI %d is not on the Landlock line" % abi, r)
    expect(re.search(r"cgroup[^\n]*\b(v1|v2|none)\b", text), "no cgroup version named", r)


def test_doctor_matches_a_run(t):
    """What doctor says about Landlock is what a run reports."""
    r = t.run(["/usr/bin/true"])
    expect_eq(r.rc, 0, "exit status", r)
    d = t.ward(["doctor"])
    expect_in(str(r.report["landlock_abi"]), d.stdout, "doctor output (the run's landlock_abi)", d)


def test_doctor_tries_a_run_and_degrades_nothing_here(t):
    """doctor's verdict comes from a real run; on this host (no seccomp
    filter over ward, a writable /proc/sys, root with every capability)
    nothing is degraded and a run says nothing about the host refusing
    anything (tests/container/run covers the hosts that do)."""
    d = t.ward(["doctor"])
    expect_in("a default 'ward run' works here (tried: ward run -- ", d.stdout, "doctor's verdict", d)
    for layer in ("box /proc", "box hostname", "inotify quotas"):
        expect(any(line.startswith(layer) and " yes " in line for line in d.stdout.splitlines()),
               "doctor's '%s' line says yes" % layer, d)
    expect("degraded" not in d.stdout, "nothing degraded on this host", d)
    r = t.run(["/bin/sh", "-c", "hostname"])
    expect_eq(r.stdout.strip(), "ward", "the box's hostname", r)
    expect("this host refuses" not in r.stderr, "no notice of a refused layer", r)


def test_help(t):
    for args in (["--help"], ["help"], ["-h"]):
        r = t.ward(args)
        expect_eq(r.rc, 0, "exit status of 'ward %s'" % " ".join(args), r)
        for word in ["run", "profiles", "doctor"] + RUN_OPTIONS:
            expect_in(word, r.stdout, "'ward %s' output" % " ".join(args), r)
        for code in (116, 117, 118, 119, 120, 122, 124, 125, 126, 127):
            expect_in(str(code), r.stdout, "exit status documented in 'ward %s'" % " ".join(args), r)


def test_run_help(t):
    r = t.ward(["run", "--help"])
    expect_eq(r.rc, 0, "exit status of 'ward run --help'", r)
    for word in RUN_OPTIONS:
        expect_in(word, r.stdout, "'ward run --help' output", r)


def test_version(t):
    for args in (["--version"], ["version"]):
        r = t.ward(args)
        expect_eq(r.rc, 0, "exit status of 'ward %s'" % args[0], r)
        expect(re.search(r"\b\d+\.\d+\.\d+\b", r.stdout), "no version number printed", r)


def test_no_arguments(t):
    r = t.ward([])
    expect_eq(r.rc, EXIT["usage"], "exit status of 'ward' alone", r)
    expect_in("run", r.stderr + r.stdout, "usage summary", r)


if __name__ == "__main__":
    sys.exit(main())
