#!/usr/bin/python3
"""The implicit current directory: exposed read-only at the same path so
that `ward run -- python3 script.py` finds its script; not exposed (with a
one-line notice, and the run still happens) from / or $HOME; an explicit
grant wins over it; --no-cwd and `cwd off` turn it off."""

import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardtest import (expect, expect_eq, expect_in, expect_not_in, expect_ok, main)  # noqa: E402

SCRIPT = """import os, sys
nums = [int(x) for x in open('sub/numbers.txt').read().split()]
print(os.getcwd(), sum(nums), *sys.argv[1:])
"""


def project(t):
    """A project directory (the work dir) with a script and a data file,
    writable by the box's host uid so that only the box keeps it read-only."""
    os.chmod(t.work, 0o777)
    t.write("work/script.py", SCRIPT, 0o666)
    t.mkdir("work/sub", 0o777)
    t.write("work/sub/numbers.txt", " ".join(str(i) for i in range(1, 101)), 0o666)


def test_script_in_cwd_found(t):
    project(t)
    r = t.run(["python3", "script.py", "a", "b"])
    expect_ok(r, "%s 5050 a b\n" % t.work)
    expect_eq(r.err, b"", "stderr (no notice expected)", r)


def test_cwd_is_read_only(t):
    project(t)
    code = """
import errno, os
for p in ('new.txt', 'script.py', 'sub/numbers.txt'):
    try:
        with open(p, 'a') as f:
            f.write('x')
        print(p, 'written')
    except OSError as e:
        print(p, errno.errorcode[e.errno])
for op in (lambda: os.mkdir('newdir'), lambda: os.unlink('script.py'), lambda: os.rename('sub', 'sub2')):
    try:
        op()
        print('changed')
    except OSError as e:
        print(errno.errorcode[e.errno])
"""
    r = t.py(code)
    expect_ok(r)
    expect_not_in("written", r.stdout, "a write in the implicit current directory", r)
    expect_not_in("changed", r.stdout, "a change in the implicit current directory", r)
    expect_eq(sorted(os.listdir(t.work)), ["script.py", "sub"], "the work directory on the host", r)
    with open(os.path.join(t.work, "script.py")) as f:
        expect_eq(f.read(), SCRIPT, "script.py on the host", r)


def test_explicit_grant_wins(t):
    """--rw . makes the current directory writable."""
    project(t)
    r = t.py("open('new.txt', 'w').write('hello')", opts=["--rw", "."])
    expect_ok(r)
    with open(os.path.join(t.work, "new.txt")) as f:
        expect_eq(f.read(), "hello", "file written in the current directory with --rw .", r)


def notice_line(r):
    lines = r.stderr.rstrip("\n").split("\n")
    expect(len(lines) == 1 and lines[0], "expected a one-line notice on stderr", r)
    expect_in("--ro", lines[0], "the notice suggests --ro", r)
    return lines[0]


def test_run_from_root(t):
    r = t.py("import os, sys; print(os.getcwd(), int(os.path.exists(sys.argv[1])))", t.work, cwd="/")
    expect_ok(r, "/ 0\n")
    expect_in("'/'", notice_line(r), "the notice names the directory", r)


def test_run_from_root_quiet(t):
    r = t.run(["/usr/bin/echo", "hi"], "--quiet", cwd="/")
    expect_ok(r, "hi\n")
    expect_eq(r.err, b"", "stderr with --quiet", r)


def test_run_from_home(t):
    project(t)
    r = t.py("import os, sys; print(int(os.path.exists('%s/script.py')))" % t.work,
             extra_env={"HOME": t.work})
    expect_ok(r, "0\n")
    expect_in(t.work, notice_line(r), "the notice names the directory", r)


def test_run_from_above_home(t):
    """From the directory that holds $HOME, the box would see the home
    directory through the implicit bind: not exposed either."""
    home = t.mkdir("work/home-of-user")
    with open(os.path.join(home, "id_secret"), "w") as f:
        f.write("secret\n")
    r = t.py("import os; print(int(os.path.exists('%s/id_secret')))" % home,
             extra_env={"HOME": home})
    expect_ok(r, "0\n")
    expect_in(t.work, notice_line(r), "the notice names the directory", r)


def test_run_from_runtime_dir(t):
    """A runtime directory ($XDG_RUNTIME_DIR here) holds host sockets that a
    read-only bind does not stop connect() to: not exposed."""
    t.write("work/marker", "x")
    r = t.py("import os; print(int(os.path.exists('%s/marker')))" % t.work,
             extra_env={"XDG_RUNTIME_DIR": t.work})
    expect_ok(r, "0\n")
    expect_in("host sockets", notice_line(r), "the notice says why", r)


def test_run_from_inside_dev_or_proc(t):
    """A working directory inside /dev or /proc would land over the box's
    own (the host's devpts at /dev/pts, the host's /proc/sys over the
    box's): not exposed, with a notice."""
    for d, probe in (("/dev/pts", "/dev/pts"), ("/proc/sys", "/proc/sys/kernel/hostname")):
        r = t.sh("cat %s 2>/dev/null || ls %s 2>/dev/null | head -1; echo done" % (probe, probe),
                 cwd=d)
        expect(r.rc == 0, "ward run from %s exits 0" % d, r)
        expect_in("inside the box's own", notice_line(r), "the notice says why", r)
        if d == "/dev/pts":
            expect_eq(r.stdout, "done\n", "no host devpts in the box", r)
        else:
            expect_eq(r.stdout, "ward\ndone\n", "the box's own /proc/sys", r)


def test_run_from_under_tmp(t):
    """A directory under /tmp is exposed at its path inside the box's own
    /tmp, which stays private and writable: the host's other files in /tmp
    are not there."""
    d = tempfile.mkdtemp(prefix="ward-integ-cwd-", dir="/tmp")
    other = tempfile.NamedTemporaryFile(prefix="ward-integ-other-", dir="/tmp")
    try:
        os.chmod(d, 0o755)
        with open(os.path.join(d, "script.py"), "w") as f:
            f.write("print('found')\n")
        code = ("import os, sys\nexec(open('script.py').read())\n"
                "open('/tmp/mine', 'w').write('x')\n"
                "print(int(os.path.exists(sys.argv[1])), os.getcwd() == sys.argv[2])")
        r = t.py(code, other.name, d, cwd=d)
        expect_ok(r, "found\n0 True\n")
        expect(not os.path.exists("/tmp/mine"), "the box wrote into the host's /tmp", r)
    finally:
        other.close()
        shutil.rmtree(d, ignore_errors=True)


def test_no_cwd(t):
    """--no-cwd and `cwd off`: the current directory is not exposed, and no
    notice says so (it was asked for)."""
    t.write("work/data.txt", "DATA-2c9e\n")
    r = t.run(["/bin/cat", "data.txt"])
    expect_ok(r, "DATA-2c9e\n")
    r = t.run(["/bin/cat", "data.txt"], "--no-cwd")
    expect_eq(r.rc, 1, "exit status", r)
    expect_not_in(b"DATA-2c9e", r.out + r.err, "output", r)
    expect_not_in(b"not exposed", r.err, "stderr", r)
    pol = t.write("nocwd.policy", "cwd off\n")
    r = t.run(["/bin/sh", "-c", "pwd; cat data.txt"], "--policy", pol)
    expect_eq(r.rc, 1, "exit status", r)
    expect_eq(r.out, b"/\n", "stdout", r)


def test_host_tree_not_visible(t):
    """Outside the grants nothing of the host exists: not the scratch
    directory around the work directory, not /root, /home or /var/log."""
    project(t)
    r = t.py("import os, sys\nfor p in sys.argv[1:]: print(p, int(os.path.exists(p)))",
             os.path.dirname(t.work) + "/reports", "/root", "/home", "/var/log", "/work", "/boot",
             "/etc/shadow", "/etc/ssh", t.work + "/script.py")
    expect_ok(r)
    for line in r.stdout.splitlines()[:-1]:
        expect(line.endswith(" 0"), "the box sees %s" % line.split()[0], r)
    expect(r.stdout.splitlines()[-1].endswith(" 1"), "the box does not see its script", r)


if __name__ == "__main__":
    sys.exit(main())
