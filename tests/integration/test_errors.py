#!/usr/bin/python3
"""Bad input gets one clear line naming the thing and the reason, the
documented exit status, and never a run: a missing program (127), a file
that is not executable (126), a bad option or value (122), a malformed
policy file (122, with FILE:LINE:), a missing host path, `--rw /`, a box
that cannot be built (125, with a setup-error report)."""

import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardtest import EXIT, Skip, expect, expect_eq, expect_exit, expect_in, expect_ok, expect_report, main  # noqa: E402


def marker_run(t, opts, expect_rc, *, cwd=None, hint=False):
    """Runs a program that would leave a marker on the host if it ran, with
    the options under test; checks ward's status, that nothing ran, and
    that the error is one well-formed line. Returns the Run."""
    out = t.mkdir("out", 0o777)
    marker = os.path.join(out, "ran")
    if os.path.exists(marker):
        os.unlink(marker)
    r = t.run(["/usr/bin/touch", marker], "--rw", out, *opts, cwd=cwd)
    expect_exit(r, expect_rc)
    expect(not os.path.exists(marker), "the program ran despite %s" % " ".join(opts), r)
    expect_eq(r.out, b"", "stdout", r)
    expect_one_line_error(r, hint)
    return r


def expect_one_line_error(r, hint=False):
    """One line: 'ward: ' and a lowercase message without a full stop. With
    hint, a second line pointing to --help is allowed (a bad option)."""
    lines = r.stderr.rstrip("\n").split("\n")
    if hint and len(lines) == 2 and "--help" in lines[1]:
        lines = lines[:1]
    expect(len(lines) == 1 and lines[0], "expected one line on stderr", r)
    line = lines[0]
    expect(line.startswith("ward: "), "the message does not start with 'ward: '", r)
    expect(not line.endswith("."), "the message ends with a full stop", r)
    first = line[len("ward: "):][:1]
    expect(not first.isupper(), "the message starts with a capital letter", r)


def test_missing_program(t):
    for prog in ("no-such-program-xyz", "./nope.sh", "/usr/bin/no-such-program-xyz"):
        r = t.run([prog, "arg"])
        expect_exit(r, EXIT["not-found"], "setup-error")
        expect_in(prog, r.stderr, "the message names the program", r)
        expect_in(prog, r.report["error"], "the report's error names the program", r)
        expect_one_line_error(r)


def test_not_executable(t):
    t.write("work/data.txt", "#!/bin/sh\necho should not run\n", 0o644)
    r = t.run(["./data.txt"])
    expect_exit(r, EXIT["not-executable"], "setup-error")
    expect_in("data.txt", r.stderr, "the message names the file", r)
    expect_eq(r.out, b"", "stdout", r)
    expect_one_line_error(r)


def test_missing_interpreter(t):
    """A script whose #! interpreter is missing in the box: the message
    names the interpreter, not the script as missing."""
    t.write("work/job.sh", "#!/no/such/interp\necho should not run\n", 0o755)
    r = t.run(["./job.sh"])
    expect_exit(r, EXIT["not-found"], "setup-error")
    expect_in("cannot execute './job.sh': its interpreter '/no/such/interp' (the #! line) was not "
              "found in the box", r.stderr, "the message names the interpreter", r)
    expect_one_line_error(r)


def test_directory_as_program(t):
    """A directory as PROGRAM is 'a directory', not 'permission denied'."""
    t.mkdir("work/sub")
    for prog in ("./sub", "/tmp"):
        r = t.run([prog])
        expect_exit(r, EXIT["not-executable"], "setup-error")
        expect_in("cannot execute '%s': is a directory" % prog, r.stderr, "the message", r)
        expect_one_line_error(r)


def test_bad_option(t):
    r = marker_run(t, ["--memroy", "1G"], EXIT["usage"], hint=True)
    expect_in("memroy", r.stderr, "the message names the option", r)


BAD_VALUES = [
    (["--memory", "12Q"], "12Q"),
    (["--memory", "0"], "0"),
    (["--memory", "-5M"], "-5M"),
    (["--output", "lots"], "lots"),
    (["--wall-time", "abc"], "abc"),
    (["--wall-time", "5 parsecs"], "5 parsecs"),
    (["--cpu-time", "0s"], "0s"),
    (["--procs", "-1"], "-1"),
    (["--procs", "many"], "many"),
    (["--open-files", "1.5"], "1.5"),
    (["--net", "wifi"], "wifi"),
    (["--cgroup", "maybe"], "maybe"),
    (["--profile", "cobol"], "cobol"),
    (["--env", "=oops"], "=oops"),
    (["--tmpfs", "relative/dir"], "relative/dir"),
    (["--cwd", "relative"], "relative"),
    (["--ro", "/usr:relative"], "relative"),
    (["--tmpfs", "/scratch:huge"], "huge"),
]


def test_bad_values(t):
    for opts, value in BAD_VALUES:
        r = marker_run(t, opts, EXIT["usage"])
        expect_in(value, r.stderr, "the message names the value of %s" % opts[0], r)
        expect_in(opts[0].lstrip("-"), r.stderr, "the message names the option", r)


# Values with which the box itself cannot start (measured: the box's setup
# holds up to 8 descriptors at once; init and the program are two
# processes; below ~300K not even /bin/true loads): refused before the run
# with the usage status, naming the option, the value and the smallest
# that works, never a setup error in the kernel's words.
TOO_SMALL = [
    (["--open-files", str(n)], str(n), "at least 8") for n in range(1, 8)
] + [
    (["--procs", "1"], "1", "at least 2"),
    (["--memory", "256K"], "256K", "at least 1M"),
    (["--memory", "1000000"], "1000000", "at least 1M"),
]


def test_too_small_to_start(t):
    for opts, value, least in TOO_SMALL:
        r = marker_run(t, opts, EXIT["usage"])
        expect_in("%s: '%s' is too small (%s" % (opts[0], value, least), r.stderr,
                  "the message names the option, the value and the smallest that works", r)
    # The same values from a policy file name FILE:LINE.
    pol = t.write("small.policy", "# limits\nopen-files 4\n")
    r = marker_run(t, ["--policy", pol], EXIT["usage"])
    expect_in("small.policy:2: open-files: '4' is too small (at least 8", r.stderr,
              "the policy file's message", r)
    # The smallest values do start a box.
    r = t.run(["/bin/true"], "--open-files", "8", "--procs", "2", "--memory", "1M")
    expect_exit(r, 0, "exited")


def test_raw_bytes_escaped(t):
    """Bytes that are not UTF-8, and control characters, in a policy file
    or an option are quoted as \\xNN: the message stays one printable line
    and no escape sequence reaches the terminal."""
    pol = t.write("raw.policy", b"ro /no\xffsuch\x1b[2J\n")
    r = marker_run(t, ["--policy", pol], EXIT["usage"])
    expect_in(b"raw.policy:1: ro: host path '/no\\xffsuch\\x1b[2J' does not exist", r.err,
              "the policy file's message", r)
    r = marker_run(t, ["--ro", os.fsdecode(b"/no\xfesuch\x07")], EXIT["usage"])
    expect_in(b"'/no\\xfesuch\\x07'", r.err, "the option's message", r)
    for run in (r,):
        run.err.decode("utf-8")  # raises if not UTF-8
        expect(not any(c < 0x20 and c != 0x0a for c in run.err), "a control character on stderr", run)


def test_report_and_learn_same_file(t):
    """--report and --learn naming one file (by the same name, another
    spelling, or a hard link) are refused before the run: one would
    replace the other."""
    out = t.mkdir("out", 0o777)
    marker = os.path.join(out, "ran")
    same = os.path.join(out, "same.json")
    t.write("out/a.json", "")
    os.link(t.path("out/a.json"), t.path("out/b.json"))
    for report, learn in ((same, same), (same, out + "/./same.json"),
                          (t.path("out/a.json"), t.path("out/b.json"))):
        r = t.ward(["run", "--report", report, "--learn", learn, "--rw", out, "--",
                    "/usr/bin/touch", marker])
        expect_exit(r, EXIT["usage"])
        expect_in("--report '%s' and --learn '%s' are the same file" % (report, learn), r.stderr,
                  "the message names both options and files", r)
        expect(not os.path.exists(marker), "the program ran", r)
        expect_one_line_error(r)
    expect(not os.path.exists(same), "a file was written", None)


def roff_blocks(path, section):
    """The .EX/.EE blocks of a man page section, as lists of lines with
    the few roff escapes the pages use turned into text."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    body = text[text.index(".SH " + section + "\n"):]
    body = body[:body.index("\n.SH ", 1)]
    blocks, cur = [], None
    for line in body.split("\n"):
        if line == ".EX":
            cur = []
        elif line == ".EE":
            blocks.append(cur)
            cur = None
        elif cur is not None:
            for esc, ch in (("\\(aq", "'"), ("\\(dq", '"'), ("\\-", "-"), ("\\(rs", "\\")):
                line = line.replace(esc, ch)
            cur.append(line)
    return blocks


def test_man_page_errors_example(t):
    """ward-policy(5)'s ERRORS example is what ward prints: each line of
    the example file, alone on its line, gives the message shown."""
    if not t.examples:
        raise Skip("no --examples directory given (the source tree)")
    page = os.path.join(os.path.dirname(t.examples), "man", "ward-policy.5")
    lines, shown = roff_blocks(page, "ERRORS")[:2]
    messages = []
    for line in shown:  # wrapped lines go on with four blanks
        if line.startswith("    ") and messages:
            messages[-1] += " " + line.strip()
        else:
            messages.append(line)
    expect_eq(len(messages), len(lines), "messages in the example, one per line of x.policy", None)
    for n, (line, message) in enumerate(zip(lines, messages), 1):
        pol = t.write("x.policy", "#\n" * (n - 1) + line + "\n")
        r = t.ward(["run", "--policy", pol, "--", "/bin/true"])
        expect_exit(r, EXIT["usage"])
        expect_eq(r.stderr, "ward: %s/%s\n" % (os.path.dirname(pol), message),
                  "ward's message for line %d, %r" % (n, line), r)


def test_missing_exec_path_names_its_line(t):
    """An exec path that does not exist in the box is refused before the
    box is built, naming the policy file's FILE:LINE (it was a Landlock
    message from inside the box). Paths through the base view's symlinks
    (/bin -> usr/bin) and through a HOST:BOX grant are found."""
    pol = t.write("exec.policy", "# tools\nexec /usr/bin/tr\nexec /nonexistent/tool\n")
    r = marker_run(t, ["--policy", pol], EXIT["setup-error"])
    expect_in("exec.policy:3: exec: '/nonexistent/tool' does not exist in the box", r.stderr,
              "the message names the file and line", r)
    r = marker_run(t, ["--exec", "/nonexistent/other"], EXIT["setup-error"])
    expect_in("exec: '/nonexistent/other' does not exist in the box", r.stderr, "the message", r)
    tools = t.mkdir("tools")
    t.write("tools/hello.sh", "#!/bin/sh\necho hello\n", 0o755)
    r = t.run(["/opt/tools/hello.sh"], "--ro", tools + ":/opt/tools", "--exec", "/opt/tools/hello.sh",
              "--exec", "/bin/sh")
    expect_ok(r, "hello\n")


def test_option_missing_value(t):
    r = t.ward(["run", "--memory"])
    expect_exit(r, EXIT["usage"])
    expect_in("memory", r.stderr, "the message names the option", r)


def test_no_program(t):
    r = t.ward(["run"])
    expect_exit(r, EXIT["usage"])
    r = t.ward(["run", "--wall-time", "1s", "--"])
    expect_exit(r, EXIT["usage"])


BAD_POLICIES = [
    ("# a policy\nro /usr\nmemroy 256M\n", 3, "memroy"),
    ("memory lots\n", 1, "lots"),
    ("\n\n\n\nwall-time\n", 5, "wall-time"),
    ("include cobol\n", 1, "cobol"),
    ("net wifi\n", 1, "wifi"),
    ("ro /nonexistent/ward-test-path\n", 1, "/nonexistent/ward-test-path"),
    ("env =x\n", 1, "=x"),
    ("procs 12 extra\n", 1, "extra"),
]


def test_malformed_policy(t):
    for i, (text, line, token) in enumerate(BAD_POLICIES):
        name = "bad%d.policy" % i
        t.write("work/" + name, text)
        r = marker_run(t, ["--policy", name], EXIT["usage"])
        expect_in("%s:%d:" % (name, line), r.stderr, "the message gives FILE:LINE:", r)
        expect_in(token, r.stderr, "the message names the token", r)


def test_missing_policy_file(t):
    r = marker_run(t, ["--policy", "/nonexistent/judge.policy"], EXIT["usage"])
    expect_in("/nonexistent/judge.policy", r.stderr, "the message names the file", r)


def test_missing_host_path(t):
    for opt in ("--ro", "--rw"):
        for arg, named in (("/nonexistent/ward-xyz", "/nonexistent/ward-xyz"),
                           ("/nonexistent/ward-xyz:/data", "/nonexistent/ward-xyz"),
                           ("missing-relative", "missing-relative")):
            r = marker_run(t, [opt, arg], EXIT["usage"])
            expect_in(named, r.stderr, "the message names the missing path", r)


def test_rw_root_refused(t):
    for arg in ("/", "/:/host", "/.", "//"):
        r = marker_run(t, ["--rw", arg], EXIT["usage"])
        expect(re.search(r"'/[^']*'", r.stderr), "the message quotes the path", r)


def test_unknown_command(t):
    r = t.ward(["frobnicate"])
    expect_exit(r, EXIT["usage"])
    expect_in("frobnicate", r.stderr, "the message names the command", r)
    r = t.ward([])
    expect_exit(r, EXIT["usage"])


def test_setup_error(t):
    """A grant that cannot be mounted (its mount point would have to be made
    in the read-only /usr) is a setup error: 125, the program does not run,
    the report says setup-error with the message ward printed."""
    f = t.write("file.txt", "x\n")
    r = marker_run(t, ["--ro", f + ":/usr/ward-test-file"], EXIT["setup-error"])
    expect_report(r)
    expect_eq(r.status, "setup-error", "report status", r)
    msg = r.stderr.strip()
    expect_in(r.report["error"], msg, "the report's error is the message ward printed", r)
    expect_in("/usr/ward-test-file", msg, "the message names the mount point", r)


if __name__ == "__main__":
    sys.exit(main())
