#!/usr/bin/python3
"""The broker (--audit, virtual files): denied reads, writes and execs are
listed on stderr and in the report; virtual files have the exact content
and cannot be written; programs (python, threads, pipelines, relative
paths) work unchanged under the broker; a run without these options has
no broker at all."""

import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardtest import PYTHON, expect, expect_eq, expect_exit, expect_in, expect_not_in, expect_ok, main  # noqa: E402


def denials(r):
    expect(r.report is not None, "no report", r)
    expect_in("broker", r.report["layers"], "report layers", r)
    return r.report["denials"]


def path_under(path, top):
    return path == top or path.startswith(top + "/")


def find(ds, syscall, path):
    return [d for d in ds if d["syscall"] == syscall and d["path"] == path]


def test_no_broker_without_options(t):
    r = t.run(["/bin/cat", "/etc/hostname"])
    expect_ok(r, "ward\n")
    expect_not_in("broker", r.report["layers"], "report layers", r)
    expect_not_in("denials", r.report, "report keys", r)


def test_audit_denied_read(t):
    r = t.run(["/bin/cat", "/etc/shadow"], "--audit")
    expect_exit(r, 1, "exited")
    expect_in(b'ward: denied open("/etc/shadow", O_RDONLY): not granted\n', r.err, "stderr", r)
    d = find(denials(r), "open", "/etc/shadow")
    expect(d, "no denial record for /etc/shadow", r)
    expect_eq(d[0]["decision"], "denied", "decision", r)
    expect_eq(d[0]["errno"], "ENOENT", "errno", r)
    expect_eq(d[0]["flags"], "O_RDONLY", "flags", r)
    expect_eq(r.report["denials_dropped"], 0, "denials_dropped", r)


def test_ask_without_application_refuses(t):
    # ward run has no application to ask: accesses under an ask prefix are
    # refused (fail closed), listed on stderr and in the report; the
    # others are as granted.
    t.write("data/ok", "OK\n")
    t.write("data/secret", "SECRET-ask\n")
    pol = t.write("ask.policy", "ro %s /data\nask /data/secret\n" % t.path("data"))
    r = t.run(["/bin/sh", "-c", "cat /data/ok; cat /data/secret"], "--policy", pol)
    expect_exit(r, 1, "exited")
    expect_eq(r.out, b"OK\n", "stdout", r)
    expect_in(b'ward: denied open("/data/secret", O_RDONLY): no application to ask\n', r.err,
              "stderr", r)
    d = find(denials(r), "open", "/data/secret")
    expect(d, "no denial record for /data/secret", r)
    expect_eq(d[0]["errno"], "EACCES", "errno", r)
    expect_in("broker", r.report["layers"], "layers", r)


def test_audit_denied_write_and_permission(t):
    d = t.mkdir("data")
    t.write("data/file", "x\n")
    secret = t.write("data/secret", "s\n", mode=0o600)
    os.chown(secret, 0, 0)
    r = t.sh("echo y > %s/file; cat %s/secret; echo done" % (d, d), opts=["--audit", "--ro", d])
    expect_exit(r, 0, "exited")
    ds = denials(r)
    w = find(ds, "open", d + "/file")
    expect(w and w[0]["reason"] == "read-only" and w[0]["errno"] == "EROFS",
           "no read-only denial for the write", r)
    expect_in("O_WRONLY|O_CREAT|O_TRUNC", w[0]["flags"], "flags of the write", r)
    p = find(ds, "open", d + "/secret")
    expect(p and p[0]["errno"] == "EACCES", "no EACCES denial for the 0600 root file", r)
    with open(d + "/file") as f:
        expect_eq(f.read(), "x\n", "the read-only file", r)


def test_audit_denied_exec(t):
    t.write("work/notexec.sh", "#!/bin/sh\necho ran\n", mode=0o644)
    r = t.sh("./notexec.sh; /nonexistent/prog; echo done", opts=["--audit"])
    expect_exit(r, 0, "exited")
    expect_not_in(b"ran", r.out, "stdout", r)
    ds = denials(r)
    expect(find(ds, "exec", "./notexec.sh"), "no exec denial for ./notexec.sh", r)
    expect(find(ds, "exec", "/nonexistent/prog"), "no exec denial for /nonexistent/prog", r)
    expect_in(b'ward: denied exec("./notexec.sh"): permission denied', r.err, "stderr", r)


def test_audit_denied_exec_outside_the_exec_list(t):
    """Landlock refuses an exec outside --exec; the refusal must still be
    audited (the broker checks the same list): the program, a listed file,
    an unlisted one, and a listed script whose interpreter is not listed."""
    t.write("work/listed.sh", "#!/usr/bin/env true\n", mode=0o755)
    script = ("echo hi | /usr/bin/tr a-z A-Z; /bin/ls /; echo ls=$?; ./listed.sh; echo script=$?")
    r = t.sh(script, opts=["--audit", "--exec", "/usr/bin/tr", "--exec", t.path("work", "listed.sh")])
    expect_exit(r, 0, "exited")
    expect_eq(r.out, b"HI\nls=126\nscript=126\n", "stdout", r)
    expect_in(b'ward: denied exec("/bin/ls"): not in the exec list\n', r.err, "stderr", r)
    d = find(denials(r), "exec", "/bin/ls")
    expect(d and d[0]["errno"] == "EACCES", "no EACCES denial record for /bin/ls", r)
    d = find(denials(r), "exec", "./listed.sh")
    expect(d and d[0]["reason"] == "its interpreter is not in the exec list",
           "no denial record for the script's unlisted interpreter", r)
    expect(not find(denials(r), "exec", "/usr/bin/tr"), "the listed tr was recorded as denied", r)
    expect(not find(denials(r), "exec", "/bin/sh"), "the program itself was recorded as denied", r)


def test_exec_list_directory_and_symlink(t):
    """A listed directory allows what is below it (as Landlock does), and a
    symlink to a listed file is that file: the broker refuses neither."""
    r = t.sh("/usr/bin/tr a b </dev/null; echo tr=$?; /bin/true; echo true=$?; /bin/ls -d / >/dev/null; echo ls=$?",
             opts=["--audit", "--exec", "/usr/bin"])
    expect_exit(r, 0, "exited")
    expect_eq(r.out, b"tr=0\ntrue=0\nls=0\n", "stdout", r)
    expect(not [d for d in denials(r) if d["syscall"] == "exec"], "exec denials under a listed directory", r)


def test_exec_list_check_is_linear_in_depth(t):
    """Each exec outside the exec list makes the broker look for a listed
    directory above the file. That work is the controller's (outside the
    box's cgroup and --cpu-time): it must grow with the depth, not with its
    square (each parent opened again from the root: ~0.3 s of ward's CPU
    per exec 1900 directories deep). 30 refused execs there cost ward 10 s
    before, well under a second now: the bound is 3 s."""
    import resource
    script = ("p=/tmp/a; i=1; while [ $i -lt 1900 ]; do p=$p/a; i=$((i+1)); done; mkdir -p $p && cd $p || exit 9;"
              "printf '#!/bin/sh\\nexit 0\\n' > x; chmod 755 x; n=0;"
              "while [ $n -lt 30 ]; do ./x 2>/dev/null; n=$((n+1)); done; echo done")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = t.sh(script, opts=["--audit", "--exec", "/bin/sh", "--exec", "/usr/bin/mkdir", "--exec", "/usr/bin/chmod",
                          "--wall-time", "120s"], timeout=150)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    expect_ok(r, "done\n")
    expect(len([d for d in denials(r) if d["syscall"] == "exec"]) >= 1, "no exec denial recorded", r)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    expect(cpu < 3.0, "30 refused execs 1900 directories deep cost %.1f s of CPU" % cpu, r)


def test_audit_line_escapes_control_characters(t):
    r = t.py("import os\ntry: open('/x\\nward: forged\\x1b[2J')\nexcept OSError: pass", opts=["--audit"])
    expect_exit(r, 0, "exited")
    lines = r.err.decode().splitlines()
    expect(not any(l.startswith("ward: forged") for l in lines), "a box path forged a line", r)
    expect_in('denied open("/x\\x0award: forged\\x1b[2J", O_RDONLY): not granted', r.err.decode(), "stderr", r)


def test_denials_capped(t):
    r = t.py("import os\nfor i in range(200):\n  try: os.open('/nope/%d' % i, os.O_RDONLY)\n  except OSError: pass",
             opts=["--audit"])
    expect_exit(r, 0, "exited")
    ds = [d for d in denials(r) if d["path"].startswith("/nope/")]
    expect_eq(len(ds), 64 - (len(r.report["denials"]) - len(ds)), "records kept", r)
    expect(r.report["denials_dropped"] >= 200 - 64, "dropped count %d" % r.report["denials_dropped"], r)
    expect_in(b"more denials not recorded", r.err, "stderr", r)


def test_virtual_files_exact_content(t):
    blob = bytes(range(256)) * 40 + b"\n"
    host = t.write("motd.bin", blob)
    r = t.run([PYTHON, "-c", "import sys; sys.stdout.buffer.write(open('/etc/motd','rb').read());"
               "sys.stdout.buffer.write(open('/data/config.json','rb').read())"],
              "--file", "/etc/motd=" + host, "--file-text", '/data/config.json={"a":1}')
    expect_ok(r, blob + b'{"a":1}')
    expect_eq(r.report["denials"], [], "denials", r)


def test_virtual_files_not_writable(t):
    host = t.write("motd.txt", "original\n", mode=0o666)
    code = r"""
import errno, os, stat
bad = 0
for flags in (os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_TRUNC, os.O_WRONLY | os.O_APPEND):
    try:
        os.open('/etc/motd', flags); bad += 1; print('opened', flags)
    except OSError as e:
        assert e.errno == errno.EROFS, e
fd = os.open('/etc/motd', os.O_RDONLY)
try:
    os.write(fd, b'x'); bad += 1
except OSError as e:
    print('write', e.errno)
try:
    os.fchmod(fd, 0o666); print('fchmod ok')
except OSError as e:
    print('fchmod', e.errno)
# Unprivileged, the memfd belongs to the box's own uid, which may chmod
# it and reopen it read-write: its seals still refuse every write.
try:
    rw = os.open('/proc/self/fd/%d' % fd, os.O_RDWR)
    try:
        os.write(rw, b'x'); bad += 1; print('wrote through a reopened fd')
    except OSError as e:
        print('write after reopen', e.errno)
    try:
        os.ftruncate(rw, 0); bad += 1; print('truncated')
    except OSError as e:
        print('truncate', e.errno)
except OSError as e:
    print('reopen', e.errno)
st = os.stat('/etc/motd')
print(stat.S_IMODE(st.st_mode) == 0o444, st.st_size, os.access('/etc/motd', os.W_OK))
print(open('/etc/motd').read(), end='')
raise SystemExit(bad)
"""
    r = t.py(code, opts=["--file", "/etc/motd=" + host, "--audit"])
    expect_exit(r, 0, "exited")
    expect_in(b"True 9 False\noriginal\n", r.out, "stdout", r)
    with open(host) as f:
        expect_eq(f.read(), "original\n", "the host file", r)
    expect(find(denials(r), "open", "/etc/motd"), "no denial for the write", r)


def test_virtual_files_from_policy(t):
    host = t.write("content.txt", "from a file\n")
    pol = t.write("v.policy", 'audit on\nfile /etc/motd content.txt\ntext /data/x "line1\\nline2"\n')
    r = t.sh("cat /etc/motd /data/x; cat /etc/nothing-here", opts=["--policy", pol])
    expect_exit(r, 1, "exited")
    expect_eq(r.out, b"from a file\nline1\nline2", "stdout", r)
    expect_in(b'ward: denied open("/etc/nothing-here", O_RDONLY): not granted', r.err, "stderr", r)
    expect(os.path.exists(host), "host file", r)


def test_python_imports_brokered(t):
    r = t.py("import json, re, email, http.client, os, threading\nprint(json.dumps({'ok': 1}))", opts=["--audit"])
    expect_ok(r, '{"ok": 1}\n')


def test_threads_and_pipeline(t):
    code = r"""
import threading, os
errs = []
def work(n):
    for i in range(200):
        try:
            with open('/etc/hostname') as f: assert f.read() == 'ward\n'
            os.stat('/usr/bin')
        except Exception as e: errs.append(e)
ts = [threading.Thread(target=work, args=(n,)) for n in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print(len(errs))
"""
    r = t.py(code, opts=["--audit"])
    expect_ok(r, "0\n")
    r = t.sh("cat /etc/passwd | grep ^box | cut -d: -f1 | tr a-z A-Z", opts=["--audit"])
    expect_ok(r, "BOX\n")


def test_dotdot_resolution_races_host_renames(t):
    # openat2(RESOLVE_IN_ROOT) fails a resolution through ".." with EAGAIN
    # when any rename or mount on the host moved meanwhile (openat2(2),
    # ERRORS); open(2) never does, and concurrent runs saw "pthread.h:
    # Resource temporarily unavailable" from a compiler's include search.
    # A stress test, not a deterministic one: the race needs a rename
    # between the kernel's sequence reads, so the host renames a directory
    # in a loop while the box opens a missing path through ".." 20000
    # times (about 150 EAGAINs without the broker's retry on this machine).
    import threading
    t.mkdir("churn/a")
    stop = []

    def churn():
        a, b = t.path("churn/a"), t.path("churn/b")
        while not stop:
            os.rename(a, b)
            os.rename(b, a)

    code = ("c = {}\nfor i in range(20000):\n    try: open('/usr/lib/../nonexistent/x')\n"
            "    except OSError as e: c[e.errno] = c.get(e.errno, 0) + 1\nprint(sorted(c.items()))")
    th = threading.Thread(target=churn)
    th.start()
    try:
        r = t.py(code, opts=["--file-text", "/x/y=z"], timeout=180)
    finally:
        stop.append(1)
        th.join()
    expect_ok(r, "[(2, 20000)]\n")


def test_relative_paths_and_dirfds(t):
    t.write("work/here.txt", "here\n")
    code = r"""
import os
print(open('here.txt').read(), end='')
d = os.open('/etc', os.O_RDONLY | os.O_DIRECTORY)
print(open('hostname', opener=lambda p, f: os.open(p, f, dir_fd=d)).read(), end='')
os.chdir('/tmp'); open('made', 'w').write('m\n'); os.mkdir('sub'); os.chdir('sub')
print(open('../made').read(), end='')
st = os.stat('../made'); print(st.st_uid, st.st_gid, oct(st.st_mode & 0o777))
print(os.readlink('/proc/self/cwd'), os.path.exists('/dev/stdin'))
"""
    r = t.py(code, opts=["--audit"])
    expect_ok(r, "here\nward\nm\n1000 1000 0o644\n/tmp/sub True\n")


def test_readlink_of_a_file_is_einval(t):
    # readlink of a path that is no symlink is EINVAL, as from the kernel:
    # realpath(3) and `readlink -f` take EINVAL for "not a link" and go on
    # (the broker answered ENOENT, and both failed under --audit).
    script = r"""
realpath /etc/hostname
%(py)s -c "
import errno, os
for p in ('/etc/hostname', '/etc'):
    try:
        os.readlink(p)
    except OSError as e:
        print(errno.errorcode[e.errno])
"
""" % {"py": PYTHON}
    r = t.sh(script, opts=["--audit"])
    expect_ok(r, "/etc/hostname\nEINVAL\nEINVAL\n")


def test_mkdir_unlink_rename(t):
    out = t.mkdir("out", 0o777)
    ro = t.mkdir("ro")
    t.write("ro/keep", "k\n")
    script = r"""
set -e
cd /tmp; umask 027; mkdir -p a/b; mv a/b a/c; ls -ld a/c | cut -c1-10; rmdir a/c; rm -r a
mkdir %(out)s/d; echo x > %(out)s/d/f; mv %(out)s/d/f %(out)s/g; rmdir %(out)s/d; ls %(out)s
mkdir %(ro)s/new 2>/dev/null || echo refused-mkdir
rm %(ro)s/keep 2>/dev/null || echo refused-rm
mv %(ro)s/keep %(ro)s/moved 2>/dev/null || echo refused-mv
mkdir /etc/x 2>/dev/null || echo refused-etc
""" % {"out": out, "ro": ro}
    r = t.sh(script, opts=["--audit", "--rw", out, "--ro", ro])
    expect_ok(r, "drwxr-x---\ng\nrefused-mkdir\nrefused-rm\nrefused-mv\nrefused-etc\n")
    expect(os.path.exists(os.path.join(out, "g")) and not os.path.exists(os.path.join(out, "d")),
           "the host side of the read-write grant", r)
    st = os.stat(os.path.join(out, "g"))
    expect_eq((st.st_uid, st.st_gid), (65534, 65534), "owner of the created file", r)
    expect(os.path.exists(os.path.join(ro, "keep")), "the read-only file is still there", r)
    ds = denials(r)
    for call, path in (("mkdir", ro + "/new"), ("unlink", ro + "/keep"), ("rename", ro + "/keep"),
                       ("mkdir", "/etc/x")):
        d = find(ds, call, path)
        expect(d and d[0]["reason"] == "read-only", "no read-only denial for %s %s" % (call, path), r)


def test_empty_name_is_no_denial(t):
    """mkdir(""), rmdir(""), unlink(""), rename("", x): ENOENT, as the
    kernel answers, and nothing recorded: there is no path to deny. The
    broker once recorded them with a path buffer it had not written (a
    previous call's stack), as "denied ... not granted"."""
    code = r"""
import os
for i in range(3):
    try: os.mkdir("/nonexistent-dir/a")
    except OSError as e: print("mkdir-other", e.errno)
    for name, f in (("mkdir", lambda: os.mkdir("")), ("rmdir", lambda: os.rmdir("")),
                    ("unlink", lambda: os.unlink("")), ("rename", lambda: os.rename("", "/tmp/x"))):
        try: f()
        except OSError as e: print(name, e.errno)
"""
    r = t.py(code, opts=["--audit"])
    expect_ok(r, "mkdir-other 2\nmkdir 2\nrmdir 2\nunlink 2\nrename 2\n" * 3)
    ds = denials(r)
    empty = [d for d in ds if d["path"] in ("", None)]
    expect(not empty, "denials recorded for an empty name: %s" % empty, r)
    others = [d for d in ds if d["path"] != "/nonexistent-dir/a"]
    expect(not others, "denials for paths the program never named: %s" % others, r)


def test_unix_sockets(t):
    """A server and a client in the box over a path socket (bind and
    connect checked by the broker, then made by the kernel); a host socket
    in a grant, one outside every grant, a host socket the box may not
    write."""
    import socket
    sockdir = t.mkdir("sock", 0o777)
    host_open = os.path.join(sockdir, "open.sock")
    host_closed = os.path.join(sockdir, "closed.sock")
    servers = []
    for path, mode in ((host_open, 0o777), (host_closed, 0o700)):
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        os.chmod(path, mode)
        os.chown(path, 0, 0)
        srv.listen(4)
        servers.append(srv)
    code = r"""
import os, socket, threading, errno
srv = socket.socket(socket.AF_UNIX); srv.bind('/tmp/s'); srv.listen(1)
print(srv.getsockname())
def serve():
    c, _ = srv.accept(); c.sendall(c.recv(10).upper()); c.close()
threading.Thread(target=serve).start()
cl = socket.socket(socket.AF_UNIX); os.chdir('/tmp'); cl.connect('s'); cl.sendall(b'ping'); print(cl.recv(10))
for p in (%r, %r, '/run/nothing.sock'):
    s = socket.socket(socket.AF_UNIX)
    try: s.connect(p); print('connected')
    except OSError as e: print(errno.errorcode[e.errno])
""" % (host_open, host_closed)
    try:
        r = t.py(code, opts=["--audit", "--ro", sockdir])
    finally:
        for srv in servers:
            srv.close()
    expect_ok(r, "/tmp/s\nb'PING'\nconnected\nEACCES\nENOENT\n")
    ds = denials(r)
    expect(find(ds, "connect", host_closed) and find(ds, "connect", host_closed)[0]["errno"] == "EACCES",
           "no EACCES denial for the closed host socket", r)
    expect(find(ds, "connect", "/run/nothing.sock"), "no denial for the socket outside the grants", r)


def test_pipe_reopen_does_not_hold_the_broker(t):
    """Reopening a pipe whose write end is closed would block in open()
    until a writer comes: the broker must not wait there (every other
    call of the box would wait behind it, and ward at the end)."""
    code = r"""
import os
r, w = os.pipe(); os.close(w)
fd = os.open('/proc/self/fd/%d' % r, os.O_RDONLY)
print(os.read(fd, 10), open('/etc/hostname').read(), end='')
"""
    r = t.py(code, opts=["--audit", "--wall-time", "20s"], timeout=40)
    expect_ok(r, "b'' ward\n")
    expect(r.wall < 10, "the run took %.1f s" % r.wall, r)


def test_box_exits_with_pending_requests(t):
    code = r"""
import os, threading
def spin():
    while True:
        try: os.stat('/nonexistent')
        except OSError: pass
for i in range(4): threading.Thread(target=spin, daemon=True).start()
os._exit(7)
"""
    r = t.py(code, opts=["--audit", "--wall-time", "20s"])
    expect_exit(r, 7, "exited")
    expect(r.wall < 10, "the run took %.1f s" % r.wall, r)


def test_learn_round_trip(t):
    """--learn writes the grants narrowed to what the program used; that
    policy runs the program again and denies the rest of the old grant."""
    data = t.mkdir("data")
    out = t.mkdir("out", 0o777)
    for n in ("a.txt", "b.txt", "secret.txt"):
        t.write("data/" + n, n.upper())
    learned = t.path("reports", "learned.policy")
    script = "cat %s/a.txt %s/b.txt; echo x > %s/new.txt; ls %s > /dev/null" % (data, data, out, data)
    r = t.sh(script, opts=["--learn", learned, "--ro", data, "--rw", out])
    expect_ok(r, "A.TXTB.TXT")
    with open(learned) as f:
        text = f.read()
    lines = [l for l in text.splitlines() if l and not l.startswith("#")]
    expect_eq(sorted(lines), sorted(["ro %s/a.txt" % data, "ro %s/b.txt" % data, "rw %s" % out, "cwd off"]),
              "learned grants", r)
    r = t.sh("cat %s/a.txt %s/b.txt; echo y > %s/again.txt" % (data, data, out), opts=["--policy", learned])
    expect_ok(r, "A.TXTB.TXT")
    with open(os.path.join(out, "again.txt")) as f:
        expect_eq(f.read(), "y\n", "file written with the learned policy", r)
    r = t.run(["/bin/cat", data + "/secret.txt"], "--policy", learned, "--audit")
    expect_exit(r, 1, "exited")
    expect_in(('ward: denied open("%s/secret.txt", O_RDONLY): not granted' % data).encode(), r.err, "stderr", r)


def test_learn_keeps_listed_directories(t):
    """A directory the program only listed is learned read-only (an open
    with O_DIRECTORY is no create), and the learned policy lists it again."""
    data = t.mkdir("data")
    t.write("data/sub/x", "x")
    t.write("data/a.txt", "A\n")
    learned = t.path("reports", "learned.policy")
    script = "ls %s/sub; cat %s/a.txt" % (data, data)
    r = t.sh(script, opts=["--learn", learned, "--ro", data])
    expect_ok(r, "x\nA\n")
    with open(learned) as f:
        lines = [l for l in f.read().splitlines() if l and not l.startswith("#")]
    expect_in("ro %s/sub" % data, lines, "learned grants", r)
    r = t.sh(script, opts=["--policy", learned])
    expect_ok(r, "x\nA\n")


def test_learn_complete_and_narrow(t):
    """A learned policy reruns the same program with the same result (its
    virtual files kept, the working directory the same) and allows nothing
    it did not use: not a sibling of a file read in the current directory
    (which it no longer exposes: `cwd off`), nor a grant nested in another
    written one. Its header quotes the command."""
    t.write("work/data/in.csv", "IN\n")
    t.write("work/data/unused.csv", "UNUSED-8d1f\n")
    t.mkdir("work/out", 0o777)
    learned = t.path("reports", "learned.policy")
    script = ("cat data/in.csv; cat /etc/greeting; echo; mkdir -p out/d/e; echo x > out/d/e/f; ls out; pwd;"
              "echo \"$1\"")
    r = t.sh(script, "a b'c", opts=["--learn", learned, "--rw", "out", "--file-text", "/etc/greeting=hello"])
    want = "IN\nhello\nd\n%s\na b'c\n" % t.work
    expect_ok(r, want)
    with open(learned) as f:
        text = f.read()
    expect_in("-c %s sh 'a b'\\''c'\n" % ("'" + script.replace("'", "'\\''") + "'"), text, "the header", r)
    lines = [l for l in text.splitlines() if l and not l.startswith("#")]
    expect_eq(sorted(lines), sorted(["ro %s/data/in.csv" % t.work, "rw %s/out" % t.work, "cwd off",
                                     "cwd %s" % t.work, "text /etc/greeting hello"]), "learned policy", r)
    r = t.sh(script, "a b'c", opts=["--policy", learned])
    expect_ok(r, want)
    r = t.run(["/bin/cat", "data/unused.csv"], "--policy", learned, "--audit")
    expect_exit(r, 1, "exited")
    expect_not_in(b"UNUSED-8d1f", r.out + r.err, "output of the unused sibling", r)
    expect_in(b'ward: denied open("data/unused.csv", O_RDONLY): not granted', r.err, "stderr", r)


def test_learn_never_grants_a_planted_symlink(t):
    """A program run with --learn and a read-write grant swaps what it used
    for symlinks to host paths before it exits: through /proc/self/root
    (left to the kernel, unrecorded) and through a path it spells across a
    symlink of its own (other/lnk/../b.c is src/b.c). The learned policy
    must grant none of the links, nor a directory the program never wrote
    in; rerun, it must not read the host secret or the host's / nor write
    in the host directory the links point to."""
    proj = t.mkdir("proj", 0o755)
    for d in ("src", "src/sub", "data", "out", "other"):
        t.mkdir("proj/" + d)
    t.write("proj/src/a.c", "int a;\n")
    t.write("proj/src/b.c", "int b;\n")
    secret = t.write("secret/key", "HOST-SECRET-5e1\n")
    victim = t.mkdir("victim", 0o777)
    learned = t.path("reports", "learned.policy")
    root = "/proc/self/root" + proj
    script = ("cd %(p)s; cat src/a.c; ls data; echo r > out/r;"
              "rm %(r)s/src/a.c && ln -s %(s)s src/a.c;"
              "rmdir %(r)s/data && ln -s / data;"
              "mv %(r)s/out %(r)s/.old && ln -s %(v)s out;"
              "ln -s %(p)s/src/sub other/lnk && rm other/lnk/../b.c && ln -s %(s)s src/b.c;"
              "ls -l src/a.c src/b.c data out >/dev/null && echo swapped"
              % {"p": proj, "r": root, "s": secret, "v": victim})
    r = t.sh(script, opts=["--learn", learned, "--rw", proj])
    expect_ok(r, "int a;\nswapped\n")
    for n in ("src/a.c", "src/b.c", "data", "out"):
        expect(os.path.islink(os.path.join(proj, n)), "the box did not swap %s for a symlink" % n, r)
    with open(learned) as f:
        lines = [l for l in f.read().splitlines() if l and not l.startswith("#")]
    for bad in ("/src/a.c", "/src/b.c", "/data", "/out", "/other"):
        expect(not [l for l in lines if l.startswith(("ro ", "rw ")) and path_under(l.split()[1], proj + bad)],
               "the learned policy grants %s%s: %r" % (proj, bad, lines), r)
    expect_in(b"--learn: left out", r.err, "stderr", r)
    r = t.sh("cat %(p)s/src/a.c %(p)s/src/b.c %(p)s/data%(s)s; ls %(p)s/data/; echo PWNED > %(p)s/out/planted"
             % {"p": proj, "s": secret}, opts=["--policy", learned])
    expect_not_in(b"HOST-SECRET-5e1", r.out + r.err, "the rerun's output", r)
    expect_not_in(b"vmlinuz", r.out, "the rerun's listing of data/", r)
    expect(not os.path.exists(os.path.join(victim, "planted")), "the rerun wrote in the host directory", r)


def test_learn_nothing_below_a_tmpfs(t):
    """A tmpfs in a grant hides the host files below it: what the program
    did there is no grant of those host files."""
    proj = t.mkdir("proj")
    t.write("proj/cache/token", "HIDDEN-HOST-7c2\n")
    learned = t.path("reports", "learned.policy")
    script = "echo x > /proc/self/root%(p)s/cache/token; cat %(p)s/cache/token" % {"p": proj}
    r = t.sh(script, opts=["--learn", learned, "--ro", proj, "--tmpfs", proj + "/cache"])
    expect_ok(r, "x\n")
    with open(learned) as f:
        lines = [l for l in f.read().splitlines() if l and not l.startswith("#")]
    expect(not [l for l in lines if "/cache/token" in l], "the learned policy grants a hidden file: %r" % lines, r)
    r = t.sh("cat %s/cache/token" % proj, opts=["--policy", learned])
    expect_not_in(b"HIDDEN-HOST-7c2", r.out + r.err, "the rerun's output", r)


def test_learn_writes_no_passed_through_value(t):
    """--env NAME passes the caller's value through; the learned policy
    says `env NAME` again, never the value (a token in clear in a file)."""
    learned = t.path("reports", "learned.policy")
    r = t.sh('echo "$API_TOKEN"', opts=["--learn", learned, "--env", "API_TOKEN", "--env", "MODE=fast"],
             extra_env={"API_TOKEN": "s3cr3t-9a4"})
    expect_ok(r, "s3cr3t-9a4\n")
    with open(learned) as f:
        text = f.read()
    expect_not_in("s3cr3t-9a4", text, "the learned policy", r)
    lines = text.splitlines()
    expect_in("env API_TOKEN", lines, "the learned policy", r)
    expect_in("env MODE=fast", lines, "the learned policy", r)
    r = t.sh('echo "$API_TOKEN $MODE"', opts=["--policy", learned], extra_env={"API_TOKEN": "other-1"})
    expect_ok(r, "other-1 fast\n")
    # the same written in a policy file
    t.write("env.policy", "env API_TOKEN\nenv MODE=fast\n")
    r = t.sh('echo "$API_TOKEN"', opts=["--learn", learned, "--policy", t.path("env.policy")],
             extra_env={"API_TOKEN": "s3cr3t-9a4"})
    expect_ok(r, "s3cr3t-9a4\n")
    with open(learned) as f:
        text = f.read()
    expect_not_in("s3cr3t-9a4", text, "the learned policy", r)
    expect_in("env API_TOKEN", text.splitlines(), "the learned policy", r)


def test_learn_refuses_bad_file(t):
    r = t.run(["/bin/true"], "--learn", t.dir + "/", report=False)
    expect_exit(r, 122)
    expect_in(b"--learn: ", r.err, "stderr", r)


def test_unix_connect_carries_the_box_identity(t):
    """A brokered connect to a host socket in a grant must reach the
    listener with the box's identity (SO_PEERCRED), never the controller's
    (as root: uid 0, which a daemon could trust)."""
    import socket
    import struct
    import threading
    sockdir = t.mkdir("peer", 0o777)
    path = os.path.join(sockdir, "peer.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o777)
    srv.listen(1)
    seen = []

    def serve():
        srv.settimeout(20)
        try:
            c, _ = srv.accept()
            pid, uid, gid = struct.unpack("3i", c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
            seen.append((pid, uid, gid))
            c.sendall(b"ok")
            c.close()
        except OSError:
            pass
    th = threading.Thread(target=serve)
    th.start()
    try:
        r = t.py("import socket\ns = socket.socket(socket.AF_UNIX); s.connect(%r); print(s.recv(2))" % path,
                 opts=["--audit", "--ro", sockdir])
    finally:
        th.join(25)
        srv.close()
    expect_ok(r, "b'ok'\n")
    expect(seen, "the listener saw no connection", r)
    want = 65534  # as root the box runs as host nobody; unprivileged, as uid 65534 itself
    expect(seen and seen[0][1] == want,
           "the listener saw uid %s, expected the box's host uid %d" % (seen[0][1] if seen else None, want), r)


if __name__ == "__main__":
    sys.exit(main())
