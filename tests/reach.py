#!/usr/bin/python3
"""reach.py — run a test command with the source and build trees reachable
by uid 65534, wherever the clone is.

usage: reach.py --tree DIR [--tree DIR]... -- COMMAND [ARG]...

The unprivileged variants of the tests run ward, and programs built on
libward, as uid 65534. In a clone under a directory 65534 cannot search (a
clone in /root, which is 0700), those programs, the client shims and the
examples cannot be reached at their paths. Copying them would change the
paths the tests pass and break the builds' relative rpaths; changing the
permissions of the user's directories is not the suite's business.

Instead, when run as root and some DIR is out of 65534's reach, the
command runs in a private mount namespace where each blocked ancestor of
DIR is covered by an empty tmpfs (mode 0755) holding only DIR, bound at
its own path: every path stays the same, 65534 reaches exactly the trees
the tests use and nothing else under the blocked directory, and nothing
is left behind (the namespace ends with the command). A DIR that is
itself out of reach (a clone made 0700) is covered the same way by a
tmpfs holding each of its entries, bound at its own path. Otherwise, the
command runs as is.
"""

import ctypes
import os
import stat
import sys

NOBODY = 65534


MS_BIND, MS_REC = 4096, 16384
libc = ctypes.CDLL(None, use_errno=True)


def mount(source, target, fstype, flags, data):
    enc = (lambda v: v.encode() if v is not None else None)
    if libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) < 0:
        e = ctypes.get_errno()
        sys.exit("reach.py: cannot mount '%s' on '%s': %s" % (source, target, os.strerror(e)))


def searchable(st):
    """Whether uid/gid 65534 (no supplementary groups) may search the
    directory with this stat (mode bits; ACLs are not consulted)."""
    if st.st_uid == NOBODY:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == NOBODY:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def blocked_ancestor(tree):
    """The topmost ancestor of tree (tree itself excluded) that 65534
    cannot search, or None."""
    path = "/"
    for part in tree.strip("/").split("/")[:-1]:
        path = os.path.join(path, part)
        if not searchable(os.stat(path)):
            return path
    return None


def open_top(tree, fd):
    """Covers tree (which 65534 cannot search) with a tmpfs of mode 0755
    holding each of its entries, the original bound over it (fd: the
    tree, opened before)."""
    names = os.listdir(fd)
    mount("ward-reach", tree, "tmpfs", 0, "mode=0755,size=1M")
    for name in names:
        src = "/proc/self/fd/%d/%s" % (fd, name)
        dst = os.path.join(tree, name)
        st = os.lstat(src)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(src), dst)
            continue
        if stat.S_ISDIR(st.st_mode):
            os.mkdir(dst, 0o755)
        elif stat.S_ISREG(st.st_mode):
            os.close(os.open(dst, os.O_CREAT | os.O_WRONLY, 0o644))
        else:
            continue
        mount(src, dst, None, MS_BIND | MS_REC, None)
    os.close(fd)


def main():
    args = sys.argv[1:]
    if "--" not in args:
        sys.exit("usage: reach.py --tree DIR [--tree DIR]... -- COMMAND [ARG]...")
    split = args.index("--")
    opts, cmd = args[:split], args[split + 1:]
    if not cmd or len(opts) % 2 or any(o != "--tree" for o in opts[::2]):
        sys.exit("usage: reach.py --tree DIR [--tree DIR]... -- COMMAND [ARG]...")
    trees = sorted({os.path.realpath(t) for t in opts[1::2]})
    # A tree inside another comes along with it.
    trees = [t for t in trees if not any(t != o and t.startswith(o + "/") for o in trees)]
    blocked = [(t, blocked_ancestor(t)) for t in trees]
    blocked = [(t, b) for t, b in blocked if b]
    closed = [t for t in trees if not searchable(os.stat(t))]
    if os.geteuid() != 0 or not (blocked or closed):
        os.execvp(cmd[0], cmd)
    if os.environ.get("WARD_REACH_NS") != str(os.getpid()):
        # Into a private mount namespace: util-linux unshare (without
        # --fork) execs us again there, in this same process.
        env = dict(os.environ, WARD_REACH_NS=str(os.getpid()))
        argv = ["unshare", "--mount", "--propagation", "private", "--",
                sys.executable, os.path.abspath(__file__)] + args
        os.execvpe("unshare", argv, env)
    del os.environ["WARD_REACH_NS"]
    cwd = os.getcwd()
    # Handles on the trees, taken before they or their ancestors are
    # covered.
    fds = {t: os.open(t, os.O_PATH | os.O_DIRECTORY) for t, _ in blocked}
    tops = {t: os.open(t, os.O_RDONLY | os.O_DIRECTORY) for t in closed}
    covered = set()
    for t, b in blocked:
        if b not in covered:
            mount("ward-reach", b, "tmpfs", 0, "mode=0755,size=1M")
            covered.add(b)
        os.makedirs(t, mode=0o755, exist_ok=True)
        # mount(2) itself: mount(8) would canonicalize the magic link to
        # the (now covered) path.
        mount("/proc/self/fd/%d" % fds[t], t, None, MS_BIND | MS_REC, None)
        os.close(fds[t])
        # Directories between the cover and the tree were made 0755 by
        # makedirs (the umask may have narrowed them).
        d = os.path.dirname(t)
        while d != b and d != "/":
            os.chmod(d, 0o755)
            d = os.path.dirname(d)
    for t in closed:
        open_top(t, tops[t])
    # The same directory, now through the covered path.
    try:
        os.chdir(cwd)
    except OSError:
        pass
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
