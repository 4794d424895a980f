#!/usr/bin/python3
"""Ask rules, from outside: tests/integration/hostfn (a C host on libward)
runs programs under `ask` rules with an access handler that allows only
the paths it is given. What a refused access would have read never reaches
the box's output, what it would have written or created never reaches the
host's files, and the run's report lists each refusal. A slow handler
stalls only the box's own call: output keeps flowing and the wall clock
still ends the run.

    test_ask.py --ward build/tests/integration/hostfn --as root|unpriv
"""

import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardtest import PYTHON, expect, expect_eq, expect_in, expect_not_in, main  # noqa: E402

SECRET = "SECRET-7f3a9c"


def setup(t, extra=""):
    """A data directory (read-only at /data) with ok.txt and secret.txt, an
    output directory (read-write at /out) and a policy asking for both."""
    t.write("data/ok.txt", "OK-CONTENT\n")
    t.write("data/secret.txt", SECRET + "\n")
    t.mkdir("out")
    return t.write("box.policy", "ro %s /data\nrw %s /out\nask /data\nask /out\n%s" % (
        t.path("data"), t.path("out"), extra))


def hostfn(t, program, *opts, timeout=60):
    """Runs hostfn OPTS -- PROGRAM; returns (Run, its JSON)."""
    r = t.ward(["--no-functions"] + list(opts) + ["--"] + list(program), timeout=timeout)
    expect(not r.timed_out, "hostfn did not finish within %d s" % timeout, r)
    expect_eq(r.rc, 0, "hostfn's exit status", r)
    try:
        return r, json.loads(r.out)
    except ValueError:
        expect(False, "hostfn printed no JSON", r)


def denials(rep):
    return [(d["syscall"], d["path"], d["reason"]) for d in rep["report"].get("denials", [])]


def test_handler_allows_one_file_denies_another(t):
    policy = setup(t)
    r, rep = hostfn(t, ["/bin/sh", "-c", "cat /data/ok.txt; cat /data/secret.txt; echo rc=$?"],
                    "--profile", "sh", "--policy", policy, "--allow", "/data/ok.txt")
    expect_eq(rep["status"], "exited", "status (%s)" % rep["message"], r)
    expect_in("OK-CONTENT", rep["stdout"], "the allowed file's content", r)
    expect_not_in(SECRET, rep["stdout"] + rep["stderr"], "the refused file's content", r)
    expect_in("rc=1", rep["stdout"], "cat's status on the refused file", r)
    expect_in("Permission denied", rep["stderr"], "the box's error for the refused file", r)
    expect_in("open /data/ok.txt r", rep["asked"], "the handler was asked about ok.txt", r)
    expect_in("open /data/secret.txt r", rep["asked"], "the handler was asked about secret.txt", r)
    expect(rep["off_thread"], "the handler ran on the broker's thread, not the caller's", r)
    expect_in(("open", "/data/secret.txt", "denied by the application"), denials(rep),
              "the report's denials", r)
    expect_not_in("/data/ok.txt", [d[1] for d in denials(rep)], "denied paths", r)


def test_outside_the_prefixes_nobody_is_asked(t):
    policy = setup(t)
    r, rep = hostfn(t, ["/bin/sh", "-c", "cat /etc/hostname >/dev/null; echo done"],
                    "--profile", "sh", "--policy", policy, "--handler")
    expect_eq(rep["stdout"], "done\n", "stdout", r)
    expect_eq([a for a in rep["asked"] if " /data" in a or " /out" in a], [],
              "questions about paths under the prefixes", r)


def test_without_handler_everything_under_ask_is_refused(t):
    policy = setup(t)
    r, rep = hostfn(t, ["/bin/sh", "-c", "cat /data/ok.txt; echo rc=$?"],
                    "--profile", "sh", "--policy", policy)
    expect_eq(rep["stdout"], "rc=1\n", "stdout", r)
    expect_in(("open", "/data/ok.txt", "no application to ask"), denials(rep), "denials", r)


def test_listing_a_directory_is_no_create(t):
    # glibc's __O_TMPFILE includes O_DIRECTORY: a directory open must be
    # asked as a read of a directory, never as a create.
    policy = setup(t)
    r, rep = hostfn(t, [PYTHON, "-c", "import os; print(sorted(os.listdir('/data')))"],
                    "--profile", "python3", "--policy", policy, "--allow", "/data")
    expect_eq(rep["stdout"], "['ok.txt', 'secret.txt']\n", "stdout (%s)" % rep["stderr"][-300:], r)
    expect_in("open /data rd", rep["asked"], "the question about listing /data", r)
    expect_eq([a for a in rep["asked"] if a.startswith("open /data ") and "c" in a.split()[-1]], [],
              "questions asking to create /data", r)


def test_resolved_path_is_asked(t):
    # A symlink outside the prefixes into one is asked as its target; the
    # box's /proc links around the rules are refused.
    policy = setup(t, "tmpfs /tmp\n")
    script = ("ln -s /data/secret.txt /tmp/l; cat /tmp/l; cat /proc/self/root/data/secret.txt;"
              "cat /proc/self/cwd/../data/secret.txt; exec 3</data/secret.txt; echo open=$?")
    r, rep = hostfn(t, ["/bin/sh", "-c", script], "--profile", "sh", "--policy", policy,
                    "--allow", "/data/ok.txt")
    expect_not_in(SECRET, rep["stdout"] + rep["stderr"], "the refused file's content", r)
    expect_in("open /data/secret.txt r", rep["asked"], "the symlink's target was asked", r)
    got = denials(rep)
    expect_in(("open", "/tmp/l", "denied by the application"), got, "denials", r)
    expect_in(("open", "/proc/self/root/data/secret.txt", "a /proc link under ask rules"), got,
              "denials", r)
    expect_eq(rep["status"], "exited", "status", r)


def test_proc_fd_reopen_is_asked(t):
    # Reopening an allowed read-only fd for writing through /proc/self/fd
    # is asked as its target with the new access.
    policy = setup(t)
    t.write("out/file", "FILE\n")
    script = ("exec 3</out/file; echo x >/proc/self/fd/3; echo rc=$?; echo y >/dev/fd/3;"
              "echo rc=$?; exec 0</out/file; echo z >/dev/stdin; echo rc=$?")
    r, rep = hostfn(t, ["/bin/sh", "-c", script], "--profile", "sh", "--policy", policy,
                    "--allow", "/out/file")
    expect_eq(rep["stdout"], "rc=0\nrc=0\nrc=0\n", "stdout (allowed: the handler says yes)", r)
    expect_eq(rep["asked"].count("open /out/file wc"), 3,
              "reopens for writing asked (/proc/self/fd/3, /dev/fd/3, /dev/stdin)", r)
    # Below an allowed directory's fd, the kernel would look the name up
    # itself: refused.
    r, rep = hostfn(t, ["/bin/sh", "-c", "exec 3</out; cat /proc/self/fd/3/file; echo rc=$?"],
                    "--profile", "sh", "--policy", policy, "--allow", "/out")
    expect_eq(rep["stdout"], "rc=1\n", "stdout (a name below /proc/self/fd/3)", r)
    expect_in(("open", "/proc/self/fd/3/file", "a /proc link under ask rules"), denials(rep),
              "denials", r)


def test_hard_link_is_asked(t):
    # A hard link out from under an ask prefix is a second name for the
    # file: made by the broker only when the handler allows reading the
    # file (and creating the name), else nothing reaches the host.
    t.mkdir("p")
    t.mkdir("p/private")
    t.write("p/private/key", SECRET + "\n")
    policy = t.write("box.policy", "rw %s /p\nask /p/private\n" % t.path("p"))
    script = "ln /p/private/key /p/key; echo ln=$?; cat /p/key; ln -P /p/private/key /p/key2; echo ln=$?"
    r, rep = hostfn(t, ["/bin/sh", "-c", script], "--profile", "sh", "--policy", policy)
    expect_not_in(SECRET, rep["stdout"] + rep["stderr"], "the file linked out of the ask prefix", r)
    expect_in("ln=1\n", rep["stdout"], "ln's status", r)
    expect(not os.path.exists(t.path("p", "key")) and not os.path.exists(t.path("p", "key2")),
           "a link was made on the host", r)
    expect_in(("link", "/p/private/key", "no application to ask"), denials(rep), "denials", r)
    # allowed: the link is made and reads the same file
    r, rep = hostfn(t, ["/bin/sh", "-c", "ln /p/private/key /p/key && cat /p/key"], "--profile", "sh",
                    "--policy", policy, "--allow", "/p/private/key")
    expect_eq(rep["stdout"], SECRET + "\n", "stdout (allowed)", r)
    expect_in("link /p/private/key r", rep["asked"], "the handler was asked about the link's source", r)
    # A read-write directory is a disk layer applied after the run, which
    # applies a hard link as a copy (ward(1), --disk): the host has the
    # name, with the linked file's content.
    with open(t.path("p", "key")) as f:
        expect_eq(f.read(), SECRET + "\n", "the host's link holds the linked file", r)


def test_link_through_own_fd_is_asked(t):
    # linkat("/proc/self/fd/N" or "/dev/fd/N", NEW, AT_SYMLINK_FOLLOW),
    # also for an O_TMPFILE file: the new name under a prefix is asked like
    # any link's, and is made only after a yes.
    t.mkdir("d")
    t.mkdir("d/w")
    t.mkdir("d/secret")
    t.write("d/w/f", "FILE\n")
    policy = t.write("box.policy", "rw %s /data\nask /data/secret\n" % t.path("d"))
    # ctypes: os.link calls link(2), which follows nothing
    code = ("import ctypes, os\nl = ctypes.CDLL(None, use_errno=True)\n"
            "fd = os.open('/data/w/f', os.O_RDONLY)\n"
            "tf = os.open('/data/w', os.O_TMPFILE | os.O_WRONLY, 0o600)\nos.write(tf, b'TMP')\n"
            "for src, new in [('/proc/self/fd/%d' % fd, 'p1'), ('/dev/fd/%d' % fd, 'p2'),"
            " ('/proc/self/fd/%d' % tf, 'p3')]:\n"
            "    r = l.linkat(-100, src.encode(), -100, b'/data/secret/' + new.encode(), 0x400)\n"
            "    print('linked' if r == 0 else 'refused %d' % ctypes.get_errno())\n")
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3", "--policy", policy)
    expect_eq(rep["stdout"], "refused 13\n" * 3, "stdout (no application)", r)
    expect_eq(os.listdir(t.path("d/secret")), [], "names made under the ask prefix", r)
    got = denials(rep)
    for src in ["/proc/self/fd/3", "/dev/fd/3", "/proc/self/fd/4"]:  # the path as the box spelled it
        expect_in(("link", src, "no application to ask"), got, "denials", r)
    # allowed: the broker links the very file the fd names
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3", "--policy", policy,
                    "--allow", "/data/secret/p1", "--allow", "/data/secret/p3")
    expect_eq(rep["stdout"], "linked\nrefused 13\nlinked\n", "stdout (p1, p3 allowed)", r)
    for q in ["link /data/secret/p1 c", "link /data/secret/p2 c", "link /data/secret/p3 c"]:
        expect_in(q, rep["asked"], "questions", r)
    expect_eq(sorted(os.listdir(t.path("d/secret"))), ["p1", "p3"], "names made", r)
    with open(t.path("d/secret/p3")) as f:
        expect_eq(f.read(), "TMP", "the O_TMPFILE file linked", r)
    # Any other /proc source is refused under ask rules.
    r, rep = hostfn(t, ["/bin/sh", "-c", "ln /proc/self/status /data/w/s; echo rc=$?"],
                    "--profile", "sh", "--policy", policy)
    expect_eq(rep["stdout"], "rc=1\n", "stdout (/proc source)", r)
    expect_in(("link", "/proc/self/status", "a link from /proc under ask rules"), denials(rep),
              "denials", r)


def test_thread_own_cwd_is_asked_as_the_process(t):
    # /proc/self/cwd is the process's (the thread group leader's) working
    # directory, whichever thread names it; a thread cloned without
    # CLONE_FS has its own. The broker asked about the calling thread's
    # (outside the prefix) while the kernel opened the leader's (inside
    # it): a listing and an O_TMPFILE there, unasked.
    t.mkdir("d")
    t.mkdir("d/w")
    t.mkdir("d/secret")
    t.write("d/secret/f", "SECRET\n")
    prog = os.path.join(os.path.dirname(os.path.abspath(t.ward_path)), "thread-fs")
    policy = t.write("box.policy", "rw %s /data\nask /data/secret\nro %s /t\n"
                     % (t.path("d"), os.path.dirname(prog)))
    r, rep = hostfn(t, ["/t/thread-fs", "/data/secret", "/data/w"], "--profile", "native",
                    "--policy", policy)
    expect_eq(rep["stdout"], "cwd Permission denied\ntmpfile Permission denied\n",
              "stdout (no application)", r)
    expect_eq(sorted(os.listdir(t.path("d/secret"))), ["f"], "files under the ask prefix", r)


def test_dev_links_cannot_be_replaced(t):
    # The broker takes /dev/fd/N and /dev/std* for ward's links to the
    # caller's /proc/self/fd: a box that could replace them (its /dev was a
    # writable tmpfs of its own) had the kernel follow its own symlink,
    # under an ask prefix, unasked. /dev is read-only once populated.
    t.mkdir("d")
    t.mkdir("d/secret")
    t.write("d/secret/f", "SECRET\n")
    policy = t.write("box.policy", "rw %s /data\nask /data/secret\n" % t.path("d"))
    script = ("rm -f /dev/stdin /dev/fd; ln -s /data/secret/f /dev/stdin;"
              " ln -s /data/secret /dev/fd; cat /dev/stdin </dev/null; cat /dev/fd/f;"
              " echo new > /dev/fd/new; echo done")
    r, rep = hostfn(t, ["/bin/sh", "-c", script], "--profile", "sh", "--policy", policy)
    expect_not_in("SECRET", rep["stdout"], "stdout", r)
    expect_eq(sorted(os.listdir(t.path("d/secret"))), ["f"], "files under the ask prefix", r)


def test_renaming_an_ancestor_of_a_prefix_is_asked(t):
    # Renaming a directory above an ask prefix moves what the prefix
    # guards out from under it, and the reverse moves content in. (The
    # directories are made in the box: the read-write layer is an overlay,
    # where a directory of the lower layer is not renamed but copied.)
    t.mkdir("s")
    policy = t.write("box.policy", "rw %s /s\nask /s/a/secret\nask /s/n/secret\n" % t.path("s"))
    xchg = ("%s -c \"import ctypes; l = ctypes.CDLL(None, use_errno=True);"
            " r = l.renameat2(-100, b'/s/x', -100, b'/s/a', 2); print('xchg', r, ctypes.get_errno())\"" % PYTHON)
    script = ("mkdir -p /s/a/secret && echo %s >/s/a/secret/key && mkdir -p /s/m/secret /s/x &&"
              " echo P >/s/m/secret/p && mv -T /s/a /s/b; echo mv=$?; cat /s/b/secret/key;"
              " mv -T /s/m /s/n; echo mv=$?; %s" % (SECRET, xchg))
    allow = ["--allow", "/s/a/secret", "--allow", "/s/a/secret/key"]
    r, rep = hostfn(t, ["/bin/sh", "-c", script], "--profile", "python3", "--policy", policy, *allow)
    expect_not_in(SECRET, rep["stdout"], "the guarded file read after a rename", r)
    expect_eq(rep["stdout"], "mv=1\nmv=1\nxchg -1 13\n", "stdout", r)
    expect_eq(sorted(os.listdir(t.path("s"))), ["a", "m", "x"], "the host's /s", r)
    for q in ["rename /s/a cd", "rename /s/n cd"]:
        expect_in(q, rep["asked"], "questions", r)
    got = denials(rep)
    for n in ["/s/a", "/s/m", "/s/x"]:
        expect_in(("rename", n, "denied by the application"), got, "denials", r)
    # allowed: the rename is made
    r, rep = hostfn(t, ["/bin/sh", "-c", "mv -T /s/a /s/b && cat /s/b/secret/key"], "--profile", "sh",
                    "--policy", policy, "--allow", "/s/a", *allow)
    expect_eq(rep["stdout"], SECRET + "\n", "stdout (allowed)", r)
    # without an application: refused
    r, rep = hostfn(t, ["/bin/sh", "-c", "mv -T /s/m /s/n; echo mv=$?"], "--profile", "sh",
                    "--policy", policy)
    expect_eq(rep["stdout"], "mv=1\n", "stdout (no application)", r)
    expect_in(("rename", "/s/m", "no application to ask"), denials(rep), "denials", r)


def test_tmpfile_is_asked_before_the_inode_exists(t):
    # O_TMPFILE is asked as a create in the directory, before the kernel
    # makes the unnamed file: the question names the directory.
    policy = setup(t)
    code = ("import os\ntry:\n    os.open('/out', os.O_TMPFILE | os.O_WRONLY, 0o600); print('made')\n"
            "except OSError as e: print('refused', e.errno)\n")
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3", "--policy", policy)
    expect_eq(rep["stdout"], "refused 13\n", "stdout (no application)", r)
    expect_in(("open", "/out", "no application to ask"), denials(rep), "denials", r)
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3", "--policy", policy,
                    "--allow", "/out")
    expect_eq(rep["stdout"], "made\n", "stdout (the directory allowed)", r)
    expect_eq([a for a in rep["asked"] if a.startswith("open /out")], ["open /out wcd"],
              "questions", r)


def test_nothing_created_or_truncated_before_the_answer(t):
    policy = setup(t)
    t.write("out/keep", "KEEP\n")
    script = ("echo a >/out/yes; echo b >/out/no; echo c >/out/keep; mkdir /out/dir;"
              "mv /out/yes /out/moved; rm -f /out/keep; echo done")
    r, rep = hostfn(t, ["/bin/sh", "-c", script], "--profile", "sh", "--policy", policy,
                    "--allow", "/out/yes", "--allow", "/out")
    expect_eq(rep["stdout"], "done\n", "stdout", r)
    expect_eq(sorted(os.listdir(t.path("out"))), ["keep", "yes"], "the host's /out", r)
    with open(t.path("out/keep")) as f:
        expect_eq(f.read(), "KEEP\n", "a refused truncation left the file alone", r)
    with open(t.path("out/yes")) as f:
        expect_eq(f.read(), "a\n", "the allowed file", r)
    asked = rep["asked"]
    for q in ["open /out/yes wc", "open /out/no wc", "open /out/keep w", "mkdir /out/dir cd",
              "rename /out/yes c", "unlink /out/keep c"]:
        expect_in(q, asked, "questions", r)
    got = denials(rep)
    for d in [("open", "/out/no"), ("open", "/out/keep"), ("mkdir", "/out/dir"),
              ("rename", "/out/yes"), ("unlink", "/out/keep")]:
        expect_in(d + ("denied by the application",), got, "denials", r)


def test_racing_path_rewrite_never_reads_the_refused_file(t):
    # TOCTOU: a thread flips the path buffer between ok.txt and secret.txt
    # while the main thread opens it. The broker reads the path once and
    # asks about what it opened: a successful open is always ok.txt.
    policy = setup(t)
    code = ("import ctypes, os, threading\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "buf = ctypes.create_string_buffer(32)\n"
            "a, b = b'/data/ok.txt\\0', b'/data/secret.txt\\0'\n"
            "ctypes.memmove(buf, a, len(a)); stop = []\n"
            "def flip():\n    while not stop:\n"
            "        ctypes.memmove(buf, b, len(b)); ctypes.memmove(buf, a, len(a))\n"
            "th = threading.Thread(target=flip); th.start(); got = set(); refused = 0\n"
            "for i in range(2000):\n    fd = libc.open(buf, 0)\n"
            "    if fd < 0:\n        refused += 1\n        continue\n"
            "    got.add(os.read(fd, 100)); os.close(fd)\n"
            "stop.append(1); th.join()\nprint(sorted(got), refused)\n")
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3", "--policy", policy,
                    "--allow", "/data/ok.txt", timeout=120)
    expect_eq(rep["status"], "exited", "status (%s)" % rep["stderr"][-500:], r)
    expect_not_in(SECRET, rep["stdout"], "what the racing box read", r)
    expect_in("OK-CONTENT", rep["stdout"], "what the racing box read", r)


def test_slow_handler_does_not_stall_output(t):
    # One thread waits for a 1.5 s answer; the main thread writes 2 MB
    # meanwhile: the write ends before the answer comes.
    policy = setup(t)
    code = ("import sys, threading, time\nt0 = time.monotonic(); done = {}\n"
            "def ask():\n    try: open('/data/secret.txt').read()\n    except OSError: pass\n"
            "    done['open'] = time.monotonic() - t0\n"
            "th = threading.Thread(target=ask); th.start(); time.sleep(0.2)\n"
            "sys.stdout.write('x' * 2000000); sys.stdout.flush()\n"
            "done['write'] = time.monotonic() - t0\nth.join()\n"
            "sys.stderr.write('%.3f %.3f\\n' % (done['write'], done['open']))\n")
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3", "--policy", policy,
                    "--handler", "--ask-delay", "1500", "--wall-time", "20000")
    expect_eq(rep["status"], "exited", "status (%s)" % rep["message"], r)
    write, opened = (float(x) for x in rep["stderr"].split())
    expect(opened >= 1.4, "the open waited for the handler (%.3f s)" % opened, r)
    expect(write < opened, "2 MB of output flowed while the handler ran (write %.3f s, open %.3f s)"
           % (write, opened), r)


def test_slow_handler_and_flood_end_on_time(t):
    # A box writing output steadily (about 800 KB/s: it reaches the 1 MiB
    # output limit after the handler has been asked a few times) while its
    # other thread keeps asking a handler that takes 300 ms per answer
    # still ends on time.
    policy = setup(t)
    code = ("import sys, threading\n"
            "def ask():\n    while True:\n        try: open('/data/secret.txt')\n"
            "        except OSError: pass\n"
            "threading.Thread(target=ask, daemon=True).start()\n"
            "import time\n"
            "while True:\n    sys.stdout.write('y' * 8192); time.sleep(0.01)\n")
    t0 = time.monotonic()
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3", "--policy", policy,
                    "--handler", "--ask-delay", "300", "--wall-time", "2000", timeout=30)
    wall = time.monotonic() - t0
    expect_in(rep["status"], ["time-limit", "output-limit"], "status", r)
    expect(wall < 8, "the run ended %.1f s after it started (wall time 2 s)" % wall, r)
    expect(len(rep["asked"]) >= 2, "the handler was asked (%d times)" % len(rep["asked"]), r)


if __name__ == "__main__":
    sys.exit(main())
