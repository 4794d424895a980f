#!/usr/bin/python3
"""Read-write grants and who owns what the box writes. As root the box
writes into a granted directory as that directory's owner (an idmapped
mount), unprivileged as the caller; either way it must never leave a
set-user-ID or set-group-ID file, a file capability or an ACL on the host,
and a grant it cannot write fails before the run, naming the fix. Judged
from the host: owners, modes and extended attributes of what was left."""

import os
import resource
import stat
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardtest import (NOBODY, Skip, descendants, expect, expect_eq, expect_in,  # noqa: E402
                      expect_ok, main, only_as)

# Writes a file and a directory; prints "wrote" or the errno's name.
WRITE = """
import errno, os, sys
d = sys.argv[1]
try:
    with open(os.path.join(d, 'new.txt'), 'w') as f:
        f.write('written by the box')
    os.mkdir(os.path.join(d, 'sub'))
    print('wrote')
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
"""

# Every way a program could try to leave a privileged file in directory
# argv[1]; prints one line per try. The judge is the host's look after.
PRIVILEGED = r"""
import ctypes, errno, os, shutil, stat, sys
libc = ctypes.CDLL(None, use_errno=True)
d = sys.argv[1]
def p(name): return os.path.join(d, name)
def attempt(what, fn):
    try:
        fn()
        print(what, 'ok')
    except OSError as e:
        print(what, errno.errorcode.get(e.errno, e.errno))
def sysc(nr, *args):
    r = libc.syscall(nr, *args)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    if nr == 437:
        os.close(r)
AT_FDCWD = ctypes.c_long(-100)
for i, mode in enumerate((0o4755, 0o2755, 0o6755, 0o4777 | 0o10000000)):
    f = p('f%d' % i)
    with open(f, 'w') as fh:
        fh.write('#!/bin/sh\n')
    attempt('chmod %o' % mode, lambda: sysc(90, f.encode(), ctypes.c_long(mode)))
    attempt('fchmodat %o' % mode, lambda: sysc(268, AT_FDCWD, f.encode(), ctypes.c_long(mode)))
    attempt('fchmodat2 %o' % mode, lambda: sysc(452, AT_FDCWD, f.encode(), ctypes.c_long(mode), 0))
    fd = os.open(f, os.O_RDONLY)
    attempt('fchmod %o' % mode, lambda: sysc(91, fd, ctypes.c_long(mode)))
    os.close(fd)
    attempt('open %o' % mode, lambda: os.close(os.open(p('o%d' % i), os.O_CREAT | os.O_WRONLY, mode)))
    attempt('open-syscall %o' % mode, lambda: sysc(2, p('s%d' % i).encode(), os.O_CREAT | os.O_WRONLY, ctypes.c_long(mode)))
    attempt('openat %o' % mode, lambda: sysc(257, AT_FDCWD, p('a%d' % i).encode(), os.O_CREAT | os.O_WRONLY, ctypes.c_long(mode)))
    attempt('creat %o' % mode, lambda: sysc(85, p('c%d' % i).encode(), ctypes.c_long(mode)))
    attempt('mkdir %o' % mode, lambda: os.mkdir(p('d%d' % i), mode))
    attempt('mkdirat %o' % mode, lambda: sysc(258, AT_FDCWD, p('e%d' % i).encode(), ctypes.c_long(mode)))
    attempt('mknod %o' % mode, lambda: os.mknod(p('n%d' % i), stat.S_IFREG | mode))
    how = (ctypes.c_uint64 * 3)(os.O_CREAT | os.O_WRONLY, mode, 0)
    attempt('openat2 %o' % mode, lambda: sysc(437, AT_FDCWD, p('t%d' % i).encode(), how, 24))
# A file capability (cap_setuid+ep, VFS_CAP_REVISION_2) and ACLs.
cap = bytes.fromhex('01000002' '80000000' '80000000' '00000000' '00000000')
acl = bytes.fromhex('02000000' '0100070000000000' '0400050000000000' '2000050000000000')
for name, value in (('security.capability', cap), ('system.posix_acl_access', acl),
                    ('system.posix_acl_default', acl), ('trusted.x', b'1'), ('user.x', b'1')):
    target = d if name.endswith('default') else p('f0')
    attempt('setxattr ' + name, lambda: os.setxattr(target, name, value))
    attempt('lsetxattr ' + name, lambda: os.setxattr(target, name, value, follow_symlinks=False))
# Setuid files from elsewhere: hard links (other mounts), copies keeping
# the mode, a file made in the box's /tmp and moved in.
for src in ('/usr/bin/passwd', '/usr/bin/su', '/usr/bin/mount'):
    if os.path.exists(src):
        attempt('link ' + src, lambda: os.link(src, p('l-' + os.path.basename(src))))
        attempt('copy2 ' + src, lambda: shutil.copy2(src, p('c-' + os.path.basename(src))))
attempt('tmp+chmod', lambda: (open('/tmp/x', 'w').close(), os.chmod('/tmp/x', 0o4755)))
attempt('rename from tmp', lambda: os.rename('/tmp/x', p('from-tmp')))
attempt('copy from tmp', lambda: shutil.copy2('/tmp/x', p('copied-tmp')))
"""


def privileged_left(d):
    """What a host user would find: set-user-ID/set-group-ID files (and
    set-user-ID directories), file capabilities, ACLs, any security.* or
    trusted.* attribute. A list of strings, empty when clean."""
    found = []
    for root, dirs, files in os.walk(d):
        for name in dirs + files + ([] if root != d else ["."]):
            path = os.path.normpath(os.path.join(root, name))
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                continue
            bits = st.st_mode & (stat.S_ISUID | stat.S_ISGID)
            if stat.S_ISDIR(st.st_mode):
                bits &= stat.S_ISUID  # a set-group-ID directory only passes on a group
            if bits:
                found.append("%s mode %o" % (path, st.st_mode))
            for attr in os.listxattr(path, follow_symlinks=False):
                if attr.startswith(("security.", "system.", "trusted.")):
                    found.append("%s has %s" % (path, attr))
    return found


def owned_dir(t, name, uid, gid, mode=0o755):
    d = t.mkdir(name, mode)
    os.chown(d, uid, gid)
    return d


def test_rw_root_owned_dir_writable(t):
    """`ward run --rw ./out` as root: the box writes as the owner (root),
    not as nobody; what it made is root's on the host."""
    if t.unpriv:
        raise Skip("as root only (unprivileged, the box writes as the caller)")
    d = owned_dir(t, "out", 0, 0)
    r = t.py(WRITE, d, opts=["--rw", d])
    expect_ok(r, "wrote\n")
    for name in ("new.txt", "sub"):
        st = os.stat(os.path.join(d, name))
        expect_eq((st.st_uid, st.st_gid), (0, 0), "host owner of %s" % name, r)
    with open(os.path.join(d, "new.txt")) as f:
        expect_eq(f.read(), "written by the box", "host content", r)


def test_rw_mount_points_honour_umask(t):
    """The mount points ward makes for a grant nested in a read-write one
    (and the directories on the way) land in the directory's disk layer
    and reach the host: they are made with the caller's umask, as before
    the box's root was built with umask 0 for ward's own files."""
    d = owned_dir(t, "out", 65534, 65534)
    old = os.umask(0o077)
    try:
        r = t.run(["/bin/true"], "--no-cwd", "--rw", d, "--ro", "/usr/share/doc:%s/a/b/c" % d,
                  "--ro", "/etc/hostname:%s/f/file" % d)
    finally:
        os.umask(old)
    expect_ok(r)
    for rel, want in (("a", 0o700), ("a/b", 0o700), ("a/b/c", 0o700), ("f", 0o700),
                      ("f/file", 0o600)):
        st = os.lstat(os.path.join(d, rel))
        expect_eq(oct(st.st_mode & 0o777), oct(want), "host mode of %s" % rel, r)


def test_rw_other_owner(t):
    """A directory owned by another user: the box writes as that user (as
    root), and that user's existing files are the box's to change."""
    if t.unpriv:
        raise Skip("as root only")
    d = owned_dir(t, "out", 4321, 4322)
    old = os.path.join(d, "old.txt")
    with open(old, "w") as f:
        f.write("old\n")
    os.chown(old, 4321, 4322)
    os.chmod(old, 0o600)
    r = t.sh("id -u; echo new >> out/old.txt && cat out/old.txt && echo x > out/new.txt && echo ok",
             opts=["--rw", d], cwd=t.dir)
    expect_ok(r, "1000\nold\nnew\nok\n")
    st = os.stat(os.path.join(d, "new.txt"))
    expect_eq((st.st_uid, st.st_gid), (4321, 4322), "host owner of a file the box created", r)


def test_rw_unpriv_writes_as_caller(t):
    if not t.unpriv:
        raise Skip("unprivileged only")
    d = owned_dir(t, "out", NOBODY, NOBODY)
    r = t.py(WRITE, d, opts=["--rw", d])
    expect_ok(r, "wrote\n")
    st = os.stat(os.path.join(d, "new.txt"))
    expect_eq((st.st_uid, st.st_gid), (NOBODY, NOBODY), "host owner of a file the box created", r)


def test_rw_never_leaves_privileged_files(t):
    """The box tries every way to leave a set-user-ID/set-group-ID file, a
    file capability or an ACL in its grant: a directory owned by root
    (idmapped: the box is its owner) and one owned by the box's own host
    uid (65534: no idmap, the box is its owner too). None is left."""
    dirs = [owned_dir(t, "own", NOBODY, NOBODY)]
    if not t.unpriv:
        dirs.append(owned_dir(t, "root", 0, 0))
    for d in dirs:
        r = t.py(PRIVILEGED, d, opts=["--rw", d], timeout=120)
        left = privileged_left(d)
        expect(not left, "privileged files left on the host: %s" % left[:5], r)
        expect(r.rc == 0, "the attack script ran to its end", r)
        expect_in("chmod 4755 EPERM", r.stdout, "chmod is refused", r)
        expect_in("open 4755 EPERM", r.stdout, "open with a setuid mode is refused", r)
        expect_in("mkdir 2755 EPERM", r.stdout, "mkdir with a setgid mode is refused", r)
        if not t.unpriv:
            for name in os.listdir(d):
                st = os.lstat(os.path.join(d, name))
                owner = 0 if d.endswith("root") else NOBODY
                expect_eq(st.st_uid, owner, "owner of %s" % name, r)


def test_rw_setuid_file_grant_refused(t):
    """A read-write grant of a set-user-ID program itself is refused before
    the run as root: the box, writing as its owner, could rewrite it through
    a shared mapping (the kernel strips the bit on write(2), not there)."""
    if t.unpriv:
        raise Skip("as root only (unprivileged, the box is never another user)")
    d = owned_dir(t, "out", 0, 0)
    prog = os.path.join(d, "prog")
    with open(prog, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(prog, 0o4755)
    marker = os.path.join(t.dir, "ran")
    r = t.run(["/bin/sh", "-c", "echo ran", marker], "--rw", prog)
    expect_eq(r.rc, 125, "exit status", r)
    expect_in(prog, r.stderr, "the message names the file", r)
    expect_in("--ro", r.stderr, "the message names a fix", r)
    expect_eq(r.stdout, "", "the program's output", r)
    expect_eq(os.stat(prog).st_mode & 0o7777, 0o4755, "the file's mode", r)


MMAP_REWRITE = """
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 4096, mmap.MAP_SHARED)
m[0:10] = b'#!/bin/id\\n'
m.flush()
print('rewritten')
"""


def test_rw_setuid_rewritten_through_mapping(t):
    """A set-user-ID program in a read-write directory grant, rewritten by
    the box through a shared mapping (which keeps the bit on the file it
    changes): on the host it is either untouched, or rewritten without the
    bit."""
    if t.unpriv:
        raise Skip("as root only (unprivileged, the box is never another user)")
    d = owned_dir(t, "out", 0, 0)
    prog = os.path.join(d, "prog")
    with open(prog, "w") as f:
        f.write("#!/bin/sh\n" + "#" * 8192)
    os.chmod(prog, 0o4755)
    r = t.py(MMAP_REWRITE, prog, opts=["--rw", d])
    with open(prog, "rb") as f:
        head = f.read(10)
    mode = os.stat(prog).st_mode
    expect(head == b"#!/bin/sh\n" or not mode & 0o6000,
           "the host file was rewritten and kept mode %o" % mode, r)
    expect_eq(privileged_left(d) if head != b"#!/bin/sh\n" else [], [], "privileged files", r)


def test_rw_unwritable_fails_before_run(t):
    """A read-write grant the box could not write fails before the run,
    naming the reason and the fix: unprivileged, a directory the caller
    cannot write; as root, a file system that cannot be idmapped."""
    if t.unpriv:
        d = owned_dir(t, "out", 0, 0)
        want = "uid %d" % NOBODY
    else:
        d = "/sys/kernel/mm"
        want = "cannot be idmapped"
    r = t.run(["/bin/echo", "ran"], "--rw", d)
    expect_eq(r.rc, 125, "exit status", r)
    expect_eq(r.stdout, "", "the program's output", r)
    expect_in(d, r.stderr, "the message names the grant", r)
    expect_in(want, r.stderr, "the message says why", r)


def test_rw_world_writable_not_idmapped(t):
    """A directory others may write (a shared /tmp-like one) is not
    idmapped: the box writes as its own host uid there, and cannot remove
    another user's file despite owning nothing but its own."""
    d = owned_dir(t, "shared", 0, 0, 0o1777)
    theirs = os.path.join(d, "theirs.txt")
    with open(theirs, "w") as f:
        f.write("keep\n")
    os.chown(theirs, 4321, 4321)
    r = t.sh("echo x > shared/mine.txt; rm -f shared/theirs.txt; echo done",
             opts=["--rw", d], cwd=t.dir)
    expect_eq(r.stdout, "done\n", "stdout", r)
    expect(os.path.exists(theirs), "the box removed another user's file", r)
    expect_eq(os.stat(os.path.join(d, "mine.txt")).st_uid, NOBODY, "owner of the box's file", r)


# Fills directory argv[1]: many small files (each far under the file-size
# limit) until an error, then fallocate; prints what stopped each.
FILL = r"""
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
d = sys.argv[1]
n = 0
try:
    for i in range(1000000):
        with open(os.path.join(d, 'f%d' % i), 'w') as f:
            f.write('x' * 1000)
        n += 1
except OSError as e:
    print('files', n, errno.errorcode.get(e.errno, e.errno))
for i in range(8):
    for name in ('f%d' % j for j in range(64)):
        try:
            os.unlink(os.path.join(d, name))
        except OSError:
            pass
    fd = os.open(os.path.join(d, 'big%d' % i), os.O_CREAT | os.O_WRONLY, 0o644)
    r = libc.fallocate(fd, 0, ctypes.c_long(0), ctypes.c_long(48 << 20))
    print('fallocate', r, errno.errorcode.get(ctypes.get_errno(), 0) if r else '')
    r = libc.fallocate(fd, 1, ctypes.c_long(0), ctypes.c_long(1 << 30))
    print('fallocate-keep-size', r, errno.errorcode.get(ctypes.get_errno(), 0) if r else '')
    os.close(fd)
"""


def tree_bytes(d):
    """Bytes the tree under d takes on the host's disk (st_blocks), and its
    entry count."""
    total, n = os.lstat(d).st_blocks * 512, 0
    for root, dirs, files in os.walk(d):
        for name in dirs + files:
            total += os.lstat(os.path.join(root, name)).st_blocks * 512
            n += 1
    return total, n


def test_disk_limit_many_files_and_fallocate(t):
    """A box fills a read-write grant with files each under the file-size
    limit, then with fallocate: it gets ENOSPC at the disk limit, and the
    host directory grows by no more than the limit."""
    d = owned_dir(t, "out", 0 if not t.unpriv else NOBODY, 0 if not t.unpriv else NOBODY)
    limit = 8 << 20
    r = t.py(FILL, d, opts=["--rw", d, "--disk", "8M"], timeout=120)
    expect(r.rc == 0, "the fill script ran to its end", r)
    expect_in("files ", r.stdout, "the small files stopped", r)
    expect_in("ENOSPC", r.stdout, "the box got ENOSPC", r)
    expect_in("fallocate-keep-size -1 ENOSYS", r.stdout, "fallocate with KEEP_SIZE is refused", r)
    used, n = tree_bytes(d)
    expect(n > 100, "the files that fit were applied to the host (%d entries)" % n, r)
    expect(used <= limit + (1 << 20), "the host directory takes %d bytes, disk limit %d" % (used, limit), r)
    expect_eq(r.report["limits"].get("disk"), limit, "the report's disk limit", r)


def test_disk_limit_default_and_directive(t):
    """The default disk limit is in the report; `disk SIZE` in a policy file
    sets it."""
    d = owned_dir(t, "out", 0 if not t.unpriv else NOBODY, 0 if not t.unpriv else NOBODY)
    r = t.run(["/bin/true"], "--rw", d)
    expect_ok(r)
    expect_eq(r.report["limits"].get("disk"), 256 << 20, "the default disk limit", r)
    pol = t.write("p.policy", "rw %s\ndisk 2M\n" % d)
    r = t.sh("head -c 3000000 /dev/zero > out/big; echo $?", opts=["--policy", pol], cwd=t.dir)
    expect_eq(r.report["limits"].get("disk"), 2 << 20, "the policy's disk limit", r)
    expect(os.path.getsize(os.path.join(d, "big")) <= 2 << 20, "the host file is over the limit", r)


def test_disk_file_grant_keep_size(t):
    """A read-write grant of one file is bounded by the file-size limit:
    fallocate past its end with FALLOC_FL_KEEP_SIZE (which the file-size
    limit does not check) is refused."""
    f = t.write("one.txt", "x\n", 0o666)
    code = ("import ctypes, os, sys\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "fd = os.open(sys.argv[1], os.O_WRONLY)\n"
            "for mode in (1, 0x20, 0x11):\n"
            "    print(libc.fallocate(fd, mode, ctypes.c_long(0), ctypes.c_long(256 << 20)))\n")
    r = t.py(code, f, opts=["--rw", f, "--file-size", "1M"])
    expect_ok(r, "-1\n-1\n-1\n")
    expect(os.lstat(f).st_blocks * 512 <= 1 << 20, "the file grew on the host", r)


def test_disk_apply_never_follows_links(t):
    """What the box wrote is applied to the host directory when the run
    ends, one name at a time, never through a symbolic link: a host link in
    the grant that the box replaces by a directory, and links the box
    makes, lead nothing outside."""
    victim = t.mkdir("victim", 0o777)
    d = owned_dir(t, "out", 0 if not t.unpriv else NOBODY, 0 if not t.unpriv else NOBODY)
    os.symlink(victim, os.path.join(d, "x"))
    script = ("rm out/x && mkdir out/x && echo box > out/x/planted && "
              "ln -s %s out/y && mkdir out/z && ln -s %s out/z/w && echo ok" % (victim, victim))
    r = t.sh(script, opts=["--rw", d], cwd=t.dir)
    expect_ok(r, "ok\n")
    expect_eq(os.listdir(victim), [], "files in the directory a link pointed to", r)
    expect(os.path.isdir(os.path.join(d, "x")) and not os.path.islink(os.path.join(d, "x")),
           "the box's directory replaced the host link", r)
    expect_eq(os.readlink(os.path.join(d, "y")), victim, "the box's link (made, not followed)", r)


def test_disk_apply_semantics(t):
    """After the run the host directory is what the box left: removed
    files and trees, a tree replaced by a new one with the same name, a
    file replaced by a directory and the reverse, appends, renames, modes
    (without set-user-ID), an empty file, a sparse file (still sparse)."""
    d = owned_dir(t, "out", 0 if not t.unpriv else NOBODY, 0 if not t.unpriv else NOBODY)
    owner = os.stat(d).st_uid
    def put(rel, text):
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        while p != d:
            os.chown(p, owner, owner)
            p = os.path.dirname(p)
    for rel in ("gone.txt", "tree/a/b.txt", "again/old.txt", "f2d", "d2f/x", "log", "mv-src", "mode"):
        put(rel, rel + "\n")
    script = ("set -e; cd out; rm gone.txt; rm -r tree; rm -r again; mkdir again; echo new > again/new.txt; "
              "rm f2d; mkdir f2d; echo in > f2d/in; rm -r d2f; echo file > d2f; echo more >> log; "
              "mv mv-src mv-dst; chmod 640 mode; : > empty; "
              "python3 -c \"f=open('sparse','wb'); f.seek(8<<20); f.write(b'z')\"; echo ok")
    r = t.sh(script, opts=["--rw", d], cwd=t.dir)
    expect_ok(r, "ok\n")
    names = sorted(os.listdir(d))
    expect_eq(names, sorted(["again", "f2d", "d2f", "log", "mv-dst", "mode", "empty", "sparse"]),
              "host entries", r)
    expect_eq(os.listdir(os.path.join(d, "again")), ["new.txt"], "a replaced tree", r)
    expect_eq(open(os.path.join(d, "f2d", "in")).read(), "in\n", "a file replaced by a directory", r)
    expect_eq(open(os.path.join(d, "d2f")).read(), "file\n", "a directory replaced by a file", r)
    expect_eq(open(os.path.join(d, "log")).read(), "log\nmore\n", "an append", r)
    expect_eq(open(os.path.join(d, "mv-dst")).read(), "mv-src\n", "a rename", r)
    expect_eq(os.stat(os.path.join(d, "mode")).st_mode & 0o7777, 0o640, "a chmod", r)
    st = os.stat(os.path.join(d, "sparse"))
    expect_eq(st.st_size, (8 << 20) + 1, "the sparse file's size", r)
    expect(st.st_blocks * 512 < 1 << 20, "the sparse file became dense on the host", r)
    for name in names:
        expect_eq(os.lstat(os.path.join(d, name)).st_uid, owner, "owner of %s" % name, r)


def test_disk_keeps_host_directory_bits(t):
    """Writing into a host directory that is sticky and set-group-ID (a
    shared directory inside the grant) leaves those bits as they were."""
    d = owned_dir(t, "out", 0 if not t.unpriv else NOBODY, 0 if not t.unpriv else NOBODY)
    shared = os.path.join(d, "shared")
    os.mkdir(shared)
    os.chown(shared, os.stat(d).st_uid, os.stat(d).st_gid)
    os.chmod(shared, 0o3777)
    # (GNU chmod's "775" would keep the set-group-ID bit, which the box
    # may not set: EPERM. The box changes the permission bits only.)
    r = t.sh("echo x > out/shared/new && python3 -c 'import os; os.chmod(\"out/shared\", 0o775)' && echo ok",
             opts=["--rw", d], cwd=t.dir)
    expect_ok(r, "ok\n")
    expect_eq(os.stat(shared).st_mode & 0o7777, 0o3775, "the shared directory's mode", r)
    expect(os.path.exists(os.path.join(shared, "new")), "the box's file was not applied", r)


def test_disk_layer_is_the_grant(t):
    """The disk layer lies over the grant the box was given, even when a
    symbolic link is on the way to its box path (a host link in a read-only
    grant pointing at /etc): never over the host directory the link names."""
    base = t.mkdir("base")
    os.symlink("/etc", os.path.join(base, "link"))
    data = owned_dir(t, "data", 0 if not t.unpriv else NOBODY, 0 if not t.unpriv else NOBODY)
    with open(os.path.join(data, "mine"), "w") as f:
        f.write("grant\n")
    box = os.path.join(base, "link", "ssl")
    r = t.sh("ls \"$1\"; echo new > \"$1\"/new", box, opts=["--ro", base, "--rw", "%s:%s" % (data, box)])
    expect_eq(r.stdout, "mine\n", "what the box sees at %s" % box, r)
    expect(os.path.exists(os.path.join(data, "new")), "the box's write did not reach the grant", r)
    expect(not os.path.exists("/etc/ssl/new"), "the box wrote into the host's /etc/ssl", r)


def test_disk_writes_are_the_boxs_own(t):
    """The controller applies as the box: a change the box's host identity
    could not make on the host (removing another user's file from a sticky
    world-writable directory) is not made, and the run says so."""
    d = owned_dir(t, "shared", 0, 0, 0o1777)
    theirs = os.path.join(d, "theirs.txt")
    with open(theirs, "w") as f:
        f.write("keep\n")
    os.chown(theirs, 4321, 4321)
    r = t.sh("rm -f shared/theirs.txt; echo x > shared/mine.txt; echo done", opts=["--rw", d], cwd=t.dir)
    expect_eq(r.stdout, "done\n", "stdout", r)
    expect(os.path.exists(theirs), "the box removed another user's file", r)
    expect_in("not applied", r.stderr, "the notice says a write was not applied", r)
    expect_in("theirs.txt", r.report.get("disk_error") or "", "the report's disk_error", r)
    expect(os.path.exists(os.path.join(d, "mine.txt")), "the box's own file was not applied", r)


def test_doctor_says_idmap(t):
    """`ward doctor` says whether the current directory's file system can be
    idmapped (as root), and that it is not needed unprivileged."""
    r = t.ward(["doctor"])
    line = [x for x in r.stdout.splitlines() if x.startswith("idmapped mounts")]
    expect(len(line) == 1, "no 'idmapped mounts' line", r)
    expect_in("not used" if t.unpriv else "yes", line[0], "the idmap line", r)
    if not t.unpriv:
        r = t.ward(["doctor"], cwd="/sys/kernel/mm")
        line = [x for x in r.stdout.splitlines() if x.startswith("idmapped mounts")]
        expect(len(line) == 1 and "sysfs" in line[0] and " no " in line[0],
               "doctor in a sysfs directory does not say it cannot idmap", r)


def test_rw_symlink_grant_refused(t):
    """A read-write grant that is a symbolic link (one a box left in an
    earlier read-write tree: jobs/out -> a root-owned directory, and
    jobs/result.txt -> a root-owned file) fails before the run, naming the
    link; as root, a path through such a link is not written as the owner
    of where it leads. Judged from the host: the targets are unchanged."""
    user = NOBODY if t.unpriv else 1000
    jobs = owned_dir(t, "jobs", user, user)
    target = t.mkdir("standin", 0o755)
    os.chown(target, 0, 0)
    os.makedirs(os.path.join(target, "sub"))
    passwd = os.path.join(target, "passwd")
    with open(passwd, "w") as f:
        f.write("root:x:0:0::/root:/bin/sh\n")
    r = t.sh('ln -s "$1" out && ln -s "$1/passwd" result.txt && echo ok', target,
             opts=["--rw", jobs], cwd=jobs)
    expect_ok(r, "ok\n")
    expect(os.path.islink(os.path.join(jobs, "out")), "the box's link was applied", r)
    out, res = os.path.join(jobs, "out"), os.path.join(jobs, "result.txt")
    r = t.sh('echo "toor::0:0::/:/bin/sh" > "$1/passwd"; echo new > "$1/planted"; echo ran',
             out, opts=["--rw", out], cwd=t.work)
    expect_eq(r.rc, 125, "exit status of a symlink directory grant", r)
    expect_in("'%s'" % out, r.stderr, "the message names the grant", r)
    expect_in("symbolic link", r.stderr, "the message says why", r)
    r = t.sh('echo "FILEGRANT::0:0::/:/bin/sh" >> "$1"; echo ran', res, opts=["--rw", res],
             cwd=t.work)
    expect_eq(r.rc, 125, "exit status of a symlink file grant", r)
    expect_in("symbolic link", r.stderr, "the message says why", r)
    if not t.unpriv:
        sub = os.path.join(out, "sub")
        r = t.sh('echo new > "$1/planted"; echo ran', sub, opts=["--rw", sub], cwd=t.work)
        expect_eq(r.rc, 125, "exit status of a grant through a link to a root-owned directory", r)
        expect_in("symbolic link", r.stderr, "the message says why", r)
    with open(passwd) as f:
        expect_eq(f.read(), "root:x:0:0::/root:/bin/sh\n", "the root-owned file", r)
    expect_eq(sorted(os.listdir(target)), ["passwd", "sub"], "the root-owned directory", r)
    expect_eq(os.listdir(os.path.join(target, "sub")), [], "the root-owned subdirectory", r)


def test_rw_root_owned_never_as_root(t):
    """As root, a root-owned directory grant: the box itself never writes as
    root (its writes land in its tmpfs; the grant beneath is read-only), and
    the controller applies them as the owner without any capability: a
    directory a host user made meanwhile, which root could write only with
    CAP_DAC_OVERRIDE, is refused. A root-owned file grant that uid 65534
    cannot write fails before the run, naming the fix."""
    if t.unpriv:
        raise Skip("as root only")
    d = owned_dir(t, "out", 0, 0)
    theirs = os.path.join(d, "theirs.txt")
    with open(theirs, "w") as f:
        f.write("keep\n")
    os.chown(theirs, 4321, 4321)
    os.chmod(theirs, 0o644)
    sig = t.mkdir("sig")
    script = ("echo x >> out/theirs.txt 2>/dev/null && echo wrote-theirs; "
              "mkdir out/later && echo box > out/later/f && echo ok; "
              "i=0; while [ ! -e sig/go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done")
    p = t.popen(["run", "--rw", d, "--ro", sig, "--", "/bin/sh", "-c", script],
                cwd=t.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = p.stdout.readline(100)
        # The host owner of 'later' is 4321, 0755: root without
        # CAP_DAC_OVERRIDE cannot write there.
        later = os.path.join(d, "later")
        os.mkdir(later, 0o755)
        os.chown(later, 4321, 4321)
        open(os.path.join(sig, "go"), "w").close()
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, 9)
            p.wait()
    expect_eq(line, b"ok\n", "the box wrote (and could not write another user's file)")
    expect_eq(p.returncode, 123, "exit status when a write could not be applied (%r)" % err[:300])
    expect_in(b"not applied", err, "the message says what was lost")
    expect_eq(os.listdir(later), [], "a directory only root with CAP_DAC_OVERRIDE could write")
    with open(theirs) as f:
        expect_eq(f.read(), "keep\n", "another user's file in the root-owned directory")
    f = t.write("root-file", "old\n", 0o644)
    os.chown(f, 0, 0)
    r = t.sh('echo new > "$1"; echo ran', f, opts=["--rw", f], cwd=t.work)
    expect_eq(r.rc, 125, "exit status of a root-owned file grant", r)
    expect_in("owned by root", r.stderr, "the message says why", r)
    expect_in("chown", r.stderr, "the message names the fix", r)
    expect_eq(open(f).read(), "old\n", "the root-owned file", r)


def proc_comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def _lowest_free_fd(pid):
    used = {int(n) for n in os.listdir("/proc/%d/fd" % pid)}
    n = 0
    while n in used:
        n += 1
    return n


@only_as("root")
def test_disk_layer_not_received_is_reported(t):
    """When the controller cannot receive a read-write directory's changes
    from the box (here: no descriptor free for the layer, its open-file
    limit lowered while the box runs), the run says that they are lost
    (io-error, 123): never exit 0 with the box's writes silently gone.
    As root only: the harness may not lower the limit of an unprivileged
    ward (prlimit: EPERM); the path is the same either way."""
    owner = NOBODY if t.unpriv else 1000
    d = owned_dir(t, "out", owner, owner)
    lowered = []

    def during(p):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not lowered:
            kids = descendants(p.pid)
            ward = [q for q in [p.pid] + kids if proc_comm(q) == "ward"]
            if ward and any(proc_comm(q) == "sleep" for q in kids):
                n = _lowest_free_fd(ward[0])
                resource.prlimit(ward[0], resource.RLIMIT_NOFILE, (n, n))
                lowered.append(n)
            time.sleep(0.05)

    r = t.sh("echo data > out/w && sleep 2 && echo ok", opts=["--rw", d], cwd=t.dir, during=during)
    expect(lowered, "the box's sleep was never seen", r)
    expect_eq(r.stdout, "ok\n", "the box's output", r)
    expect_eq(r.rc, 123, "exit status when the box's writes are lost", r)
    expect_in("changes from the box", r.stderr, "the message says what was lost", r)


def test_disk_apply_keeps_host_file_over_limit(t):
    """A file that does not fit in what is left of the disk limit when it
    is applied (hard links are applied as copies of their own) leaves the
    host's file as it was, never truncated or removed; the run's status
    says writes were lost (io-error, 123). Directories are charged a block
    each (100 of them: within the layer's entry count)."""
    owner = NOBODY if t.unpriv else 1000
    d = owned_dir(t, "out", owner, owner)
    for name in ("a", "b", "c", "big"):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(b"keep" * (1 << 18 if name == "big" else 1))
        os.chown(p, owner, owner)
    script = ("cd out && echo x >> big && mkdir d && i=0; while [ $i -lt 100 ]; do mkdir d/$i; "
              "i=$((i+1)); done; rm a b c && head -c 3000000 /dev/zero | tr '\\0' a > a && "
              "ln a b && ln a c && echo ok")
    r = t.sh(script, opts=["--rw", d, "--disk", "8M"], cwd=t.dir, timeout=120)
    expect_eq(r.stdout, "ok\n", "the box's output", r)
    expect_eq(r.rc, 123, "exit status when writes were not applied", r)
    expect_in("not applied", r.stderr, "the message says what was lost", r)
    with open(os.path.join(d, "big"), "rb") as f:
        expect_eq(f.read(), b"keep" * (1 << 18) + b"x\n", "the appended host file", r)
    expect_eq(len(os.listdir(os.path.join(d, "d"))), 100, "empty directories applied", r)
    full = b"a" * 3000000
    kept = 0
    for name in ("a", "b", "c"):
        p = os.path.join(d, name)
        data = open(p, "rb").read() if os.path.exists(p) else None
        expect(data in (full, b"keep"),
               "'%s' is the box's whole file or the host's old one, not %r" %
               (name, None if data is None else data[:20] + b"... %d bytes" % len(data)), r)
        kept += data == b"keep"
    expect(kept >= 1, "a file that did not fit kept the host's content", r)


def test_disk_apply_read_only_directories(t):
    """Directories the box leaves read-only (chmod 555, as Go's module cache
    does) or without any permission keep their contents on the host, with
    the modes the box gave them."""
    owner = NOBODY if t.unpriv else 1000
    d = owned_dir(t, "out", owner, owner)
    script = ("cd out && mkdir -p cache/mod locked && echo data > cache/mod/file && "
              "chmod 444 cache/mod/file && chmod 555 cache/mod && echo secret > locked/f && "
              "chmod 000 locked && echo ok")
    r = t.sh(script, opts=["--rw", d], cwd=t.dir)
    try:
        expect_ok(r, "ok\n")
        mod, locked = os.path.join(d, "cache", "mod"), os.path.join(d, "locked")
        expect_eq(os.stat(mod).st_mode & 0o7777, 0o555, "mode of a read-only directory", r)
        expect_eq(os.stat(locked).st_mode & 0o7777, 0o000, "mode of a mode-000 directory", r)
        for p in (os.path.join(mod, "file"), os.path.join(locked, "f")):
            expect(os.path.exists(p), "'%s' was applied" % p, r)
        with open(os.path.join(mod, "file")) as f:
            expect_eq(f.read(), "data\n", "a file in a read-only directory", r)
        with open(os.path.join(locked, "f")) as f:
            expect_eq(f.read(), "secret\n", "a file in a mode-000 directory", r)
    finally:
        for p in (os.path.join(d, "cache", "mod"), os.path.join(d, "locked")):
            if os.path.isdir(p):
                os.chmod(p, 0o755)


def du_kib(d):
    """KiB the host's file system uses for d and all below it."""
    total = 0
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            total += os.lstat(os.path.join(root, n)).st_blocks // 2
    return total


def test_disk_limit_counts_directories(t):
    """Directories and symlinks take no page of the disk layer but a block
    on the host: a box making as many as it can, then a file as large as
    it can, grows the host directory by no more than --disk."""
    owner = NOBODY if t.unpriv else 1000
    d = owned_dir(t, "out", owner, owner)
    script = ("cd out; i=0; while mkdir d$i 2>/dev/null; do i=$((i+1)); done; "
              "j=0; while ln -s $(printf '%0200d' $j) l$j 2>/dev/null && [ $j -lt 2000 ]; do j=$((j+1)); done; "
              "head -c 8388608 /dev/urandom > big 2>/dev/null; echo $i $j")
    r = t.sh(script, opts=["--rw", d, "--disk", "4M"], cwd=t.dir)
    expect_eq(r.status, "exited", "status", r)
    used = du_kib(d)
    expect(used <= 4096 + 64, "the host directory grew by %d KiB with --disk 4M" % used, r)


def test_disk_apply_never_chmods_with_capabilities(t):
    """A directory another user makes in a shared (1777, root-owned) grant
    while the box has one of the same name: the apply must not change the
    other user's directory (it runs without capabilities, so the kernel
    refuses: the run is an io-error, the directory keeps its mode)."""
    if t.unpriv:
        raise Skip("as root only (the apply has capabilities to drop only as root)")
    d = owned_dir(t, "pub", 0, 0, 0o1777)
    victim = os.path.join(d, "victim")

    def during(p):
        time.sleep(1.0)
        subprocess.run(["setpriv", "--reuid=4321", "--regid=4321", "--clear-groups",
                        "mkdir", "-m", "755", victim], check=True)
    r = t.sh("mkdir -m 777 pub/victim; chmod 777 pub/victim; sleep 3; echo done",
             opts=["--rw", d], cwd=t.dir, during=during)
    expect(os.path.isdir(victim), "the other user's directory is gone", r)
    st = os.stat(victim)
    expect_eq((st.st_uid, st.st_mode & 0o7777), (4321, 0o755),
              "owner and mode of the other user's directory", r)
    expect_eq(r.status, "io-error", "status (a write that could not be applied)", r)


def test_disk_apply_stays_out_of_submounts(t):
    """A mount below a read-write directory grant, which the box never sees
    (an overlay layer does not cross mounts): what the box does at that
    path is not applied inside the mount."""
    if t.unpriv:
        raise Skip("as root only (mounts a bind)")
    d = owned_dir(t, "out", 1000, 1000)
    other = owned_dir(t, "other", 1000, 1000)
    with open(os.path.join(other, "precious"), "w") as f:
        f.write("precious\n")
    m = os.path.join(d, "m")
    os.mkdir(m)
    os.chown(m, 1000, 1000)
    subprocess.run(["mount", "--bind", other, m], check=True)
    try:
        r = t.sh("ls out/m; rm -rf out/m && mkdir out/m && echo box > out/m/new && echo ok",
                 opts=["--rw", d], cwd=t.dir)
        expect_ok(r, "ok\n")
    finally:
        subprocess.run(["umount", m], check=True)
    expect_eq(sorted(os.listdir(other)), ["precious"], "the submount's contents", r)


if __name__ == "__main__":
    sys.exit(main())
