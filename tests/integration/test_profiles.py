#!/usr/bin/python3
"""Profiles: each interpreter runs a hello world and a small real program
(the scripts under examples/) with the profile picked from its name; the
profile is chosen automatically or with --profile; `ward profiles` lists
them and `ward profiles show NAME` prints one that works as a --policy."""

import collections
import hashlib
import json
import os
import random
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardtest import (PYTHON, Failure, Skip, expect, expect_eq, expect_exit, expect_in,  # noqa: E402
                      expect_ok, log, main)

PROFILES = ["python3", "lua", "node", "ruby", "perl", "sh", "native"]

# What the box always has: a profile grant outside these is observable.
DEFAULT_VIEW = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/proc",
                "/dev", "/tmp", "/etc/passwd", "/etc/group", "/etc/hostname", "/etc/hosts",
                "/etc/nsswitch.conf", "/etc/ld.so.cache", "/etc/localtime"]
DEFAULT_ENV = {"PATH", "HOME", "LANG"}

WORDS = ("the quick brown fox jumps over the lazy dog while a box keeps every "
         "untrusted program inside its walls and the dog sleeps").split()


def sample_text(seed, n=3000):
    rnd = random.Random(seed)
    lines = []
    for _ in range(n // 10):
        lines.append(" ".join(rnd.choice(WORDS).capitalize() if rnd.random() < 0.2 else rnd.choice(WORDS)
                              for _ in range(10)) + rnd.choice([".", ",", "!", ""]))
    return "\n".join(lines) + "\n"


def top_words(text, n=5):
    """What hello.lua and hello.sh print, computed on the host."""
    counts = collections.Counter(w.lower() for w in re.findall(r"[A-Za-z]+", text))
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return "".join("%d %s\n" % (c, w) for w, c in top) + "total %d\n" % sum(counts.values())


def under(path, prefix):
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def profile_text(t, name):
    r = t.ward(["profiles", "show", name])
    expect_eq(r.rc, 0, "exit status of 'ward profiles show %s'" % name, r)
    expect(r.out.strip(), "'ward profiles show %s' printed nothing" % name, r)
    return r.stdout


def observable(text):
    """From a profile's policy text: host paths it grants (at the same path)
    that the default view lacks and that exist here, and the environment
    variables it sets besides the defaults."""
    paths, env = [], {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tok = line.split()
        if tok[0].rstrip("?") in ("ro", "rw"):
            ps = [x for x in tok[1:] if x.startswith("/")]
            if len(ps) == 1 and ":" not in ps[0]:
                p = ps[0]
            elif len(ps) == 1 and ps[0].count(":") == 1 and ps[0].split(":")[0] == ps[0].split(":")[1]:
                p = ps[0].split(":")[0]
            else:
                continue
            if os.path.exists(p) and not any(under(p, d) for d in DEFAULT_VIEW):
                paths.append(os.path.normpath(p))
        elif tok[0] == "env" and len(tok) >= 2 and "=" in tok[1]:
            k, v = line.split(None, 1)[1].split("=", 1)
            if k not in DEFAULT_ENV:
                env[k] = v
    return paths, env


PY_PROBE = ("import json, os, sys\n"
            "print(json.dumps({'paths': {p: os.path.exists(p) for p in sys.argv[1:]},"
            " 'env': dict(os.environ)}))\n")


def probe_with_python(t, paths, *opts):
    r = t.py(PY_PROBE, *paths, opts=list(opts))
    expect_ok(r)
    try:
        return json.loads(r.stdout)
    except ValueError:
        raise Failure("the probe's output is not JSON" + r.describe())


def expect_sees(t, got, paths, env, what, run=None):
    for p in paths:
        expect(got["paths"].get(p), "%s: the box does not see %s, which the profile grants" % (what, p), run)
    for k, v in env.items():
        expect_eq(got["env"].get(k), v, "%s: $%s, which the profile sets" % (what, k), run)


def expect_lacks(t, got, paths, env, what):
    for p in paths:
        expect(not got["paths"].get(p), "%s: the box sees %s without the profile that grants it" % (what, p))
    for k in env:
        expect(k not in got["env"], "%s: $%s is set without the profile that sets it" % (what, k))


# --- hello world and a small real program per interpreter --------------------

HELLO = {
    "python3": [PYTHON, "-c", "print('hello from python3')"],
    "lua": ["lua5.4", "-e", "print('hello from lua')"],
    "node": ["node", "-e", "console.log('hello from node')"],
    "ruby": ["ruby", "-e", "puts 'hello from ruby'"],
    "perl": ["perl", "-e", "print qq(hello from perl\\n)"],
    "sh": ["sh", "-c", "echo hello from sh"],
    "bash": ["bash", "-c", "echo hello from bash"],
    "native": ["/usr/bin/echo", "hello from native"],
}


def test_hello_world_each_interpreter(t):
    failures = []
    for name, argv in HELLO.items():
        r = t.run(argv)
        expected = "hello from %s\n" % name
        try:
            expect_ok(r, expected)
        except Failure as e:
            failures.append("%s: %s" % (name, e))
    if failures:
        raise Failure("%d of %d interpreters failed:\n%s" % (len(failures), len(HELLO), "\n\n".join(failures)))


def test_python3_json_re_threads(t):
    """examples/hello.py: word counts with a thread per file, as JSON."""
    script = t.example("hello.py")
    files = []
    for i in range(4):
        t.write("work/text%d.txt" % i, sample_text(i))
        files.append("text%d.txt" % i)
    r = t.run(["python3", script] + files)
    expect_ok(r)
    counts = collections.Counter()
    for f in files:
        with open(t.path("work", f)) as fh:
            counts.update(re.findall(r"[a-z]+(?:'[a-z]+)*", fh.read().lower()))
    try:
        got = json.loads(r.stdout)
    except ValueError:
        raise Failure("hello.py did not print JSON" + r.describe())
    expect_eq(got.get("files"), 4, "files counted", r)
    expect_eq(got.get("words"), sum(counts.values()), "words counted", r)
    expect_eq(got.get("distinct"), len(counts), "distinct words", r)
    top = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10])
    expect_eq(list(got.get("top", {}).items()), list(top.items()), "top words", r)


def test_readme_command(t):
    """The README's first command, `ward run -- python3 examples/hello.py`,
    run from a directory holding examples/: the script counts itself."""
    if not t.examples:
        raise Skip("no --examples directory given")
    t.mkdir("work/examples")
    with open(os.path.join(t.examples, "hello.py"), "rb") as f:
        src = f.read()
    t.write("work/examples/hello.py", src)
    r = t.run(["python3", "examples/hello.py"])
    expect_ok(r)
    got = json.loads(r.stdout)
    words = re.findall(r"[a-z]+(?:'[a-z]+)*", src.decode().lower())
    expect_eq(got.get("words"), len(words), "words hello.py counted in itself", r)


def test_node_crypto_hash(t):
    script = t.example("hello.js")
    data = random.Random(7).randbytes(300 * 1024)
    t.write("work/blob.bin", data)
    r = t.run(["node", script, "blob.bin"])
    expect_ok(r, "%s  %d  blob.bin\n" % (hashlib.sha256(data).hexdigest(), len(data)))
    r = t.run(["node", script], input=data[:1000])
    expect_ok(r, "%s  1000  -\n" % hashlib.sha256(data[:1000]).hexdigest())


def test_ruby_json(t):
    script = t.example("hello.rb")
    rnd = random.Random(3)
    items = [{"name": "item%02d" % i, "qty": rnd.randint(1, 9), "cents": rnd.randint(1, 5000)}
             for i in range(40)]
    r = t.run(["ruby", script], input=json.dumps({"items": items}).encode())
    expect_ok(r)
    lines = sorted(({"name": i["name"], "total": i["qty"] * i["cents"]} for i in items),
                   key=lambda x: (-x["total"], x["name"]))
    expect_eq(json.loads(r.stdout), {"lines": lines, "total": sum(x["total"] for x in lines)},
              "hello.rb's totals", r)


def test_lua_string_table(t):
    script = t.example("hello.lua")
    text = sample_text(11)
    r = t.run(["lua5.4", script], input=text.encode())
    expect_ok(r, top_words(text))


def test_lua_by_plain_name(t):
    """`lua` (a Debian alternatives link to lua5.4) runs with the lua profile."""
    r = t.run(["lua", "-e", "print(_VERSION)"])
    expect_ok(r, "Lua 5.4\n")


def test_perl_core_modules(t):
    script = t.example("hello.pl")
    rnd = random.Random(5)
    nums = [rnd.randint(-1000, 1000) for _ in range(500)]
    r = t.run(["perl", script], input="".join("%d\n" % n for n in nums).encode())
    expect_ok(r)
    expect_eq(json.loads(r.stdout), {"count": len(nums), "sum": sum(nums), "min": min(nums),
                                     "max": max(nums), "distinct": len(set(nums))},
              "hello.pl's statistics", r)


def test_sh_coreutils_pipeline(t):
    script = t.example("hello.sh")
    text = sample_text(13)
    r = t.run(["sh", script], input=text.encode())
    expect_ok(r, top_words(text))


# --- choosing the profile -----------------------------------------------------

def test_profiles_lists_each(t):
    r = t.ward(["profiles"])
    expect_eq(r.rc, 0, "exit status of 'ward profiles'", r)
    names = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    for p in PROFILES:
        expect_in(p, names, "profile names listed by 'ward profiles'", r)
    for line in r.stdout.splitlines():
        if line.split() and line.split()[0] in PROFILES:
            expect(len(line.split()) >= 2, "'ward profiles' gives no summary for %r" % line.strip(), r)


def test_profiles_show_unknown(t):
    r = t.ward(["profiles", "show", "cobol"])
    expect_eq(r.rc, 122, "exit status of 'ward profiles show cobol'", r)
    expect_in("cobol", r.stderr, "the error names the profile", r)


def test_profile_show_feeds_back_as_policy(t):
    """Each `ward profiles show NAME`, fed back with --profile none --policy,
    gives the box what the profile gives it, and its interpreter works."""
    checked = 0
    for name in PROFILES:
        text = profile_text(t, name)
        pol = t.write("%s.policy" % name, text)
        paths, env = observable(text)
        got = probe_with_python(t, paths, "--profile", "none", "--policy", pol)
        expect_sees(t, got, paths, env, "profile %s as a policy file" % name)
        checked += len(paths) + len(env)
        if name != "native":
            argv = HELLO[name]
            r = t.run(argv, "--profile", "none", "--policy", pol)
            expect_ok(r, "hello from %s\n" % name)
    log("# %d observable grants checked" % checked)


def test_explicit_profile(t):
    """--profile NAME gives that profile's grants to any program; --profile
    none gives none of them."""
    seen = 0
    for name in PROFILES:
        paths, env = observable(profile_text(t, name))
        if not paths and not env:
            continue
        seen += 1
        got = probe_with_python(t, paths, "--profile", name)
        expect_sees(t, got, paths, env, "--profile %s" % name)
        got = probe_with_python(t, paths, "--profile", "none")
        expect_lacks(t, got, paths, env, "--profile none")
    if not seen:
        raise Skip("no profile grants anything observable beyond the default view")


def test_unknown_profile_refused(t):
    r = t.run(["/usr/bin/echo", "ran"], "--profile", "cobol")
    expect_exit(r, 122)
    expect_in("cobol", r.stderr, "the error names the profile", r)
    expect_eq(r.out, b"", "stdout (nothing may run)", r)


# How each interpreter reports whether paths exist and what the environment
# holds, as JSON-free lines: "1"/"0" per path, then NAME=VALUE lines.
AUTO_PROBES = {
    "python3": lambda ps: [PYTHON, "-c",
                           "import os,sys\nfor p in sys.argv[1:]: print(int(os.path.exists(p)))\n"
                           "for k,v in os.environ.items(): print('%s=%s' % (k, v))"] + ps,
    "perl": lambda ps: ["perl", "-e",
                        'print((-e $_ ? 1 : 0), "\\n") for @ARGV; print "$_=$ENV{$_}\\n" for keys %ENV'] + ps,
    "ruby": lambda ps: ["ruby", "-e",
                        "ARGV.each { |p| puts(File.exist?(p) ? 1 : 0) }; ENV.each { |k, v| puts \"#{k}=#{v}\" }"] + ps,
    "node": lambda ps: ["node", "-e",
                        "const fs=require('fs'); for (const p of process.argv.slice(1)) console.log(fs.existsSync(p)?1:0);"
                        " for (const [k,v] of Object.entries(process.env)) console.log(k+'='+v)"] + ps,
    # lua takes the first argument after -e as a script: the probe is one
    "lua": lambda ps: ["lua5.4", "probe.lua"] + ps,
    "sh": lambda ps: ["sh", "-c", 'for p; do if [ -e "$p" ]; then echo 1; else echo 0; fi; done; env', "sh"] + ps,
}


def parse_probe(out, paths):
    lines = out.splitlines()
    got = {"paths": {}, "env": {}}
    for p, line in zip(paths, lines):
        got["paths"][p] = line.strip() == "1"
    for line in lines[len(paths):]:
        if "=" in line:
            k, v = line.split("=", 1)
            got["env"][k] = v
    return got


def test_auto_profile_from_program_name(t):
    """Without --profile, the interpreter's own name picks its profile: its
    grants are there, and a program of another profile does not get them."""
    seen = 0
    native_env = observable(profile_text(t, "native"))[1]
    t.write("work/probe.lua", "for _, p in ipairs(arg) do\n"
            "  local f = io.open(p)\n  print(f and 1 or 0)\n  if f then f:close() end\nend\n")
    for name, probe in AUTO_PROBES.items():
        paths, env = observable(profile_text(t, name))
        if not paths and not env:
            log("# profile %s grants nothing observable beyond the default view" % name)
            continue
        seen += 1
        r = t.run(probe(paths))
        expect_ok(r)
        got = parse_probe(r.stdout, paths)
        if name == "lua":  # lua cannot list its environment portably
            env = {}
        expect_sees(t, got, paths, env, "auto profile for %s" % name, r)
        # the native profile (for /usr/bin/env) must not have them
        other = t.run(["/usr/bin/env"])
        expect_ok(other)
        other_env = parse_probe(other.stdout, [])["env"]
        for k in env:
            if native_env.get(k) == env[k]:
                continue
            expect(other_env.get(k) != env[k],
                   "$%s=%s of profile %s is set for /usr/bin/env too" % (k, env[k], name), other)
    if not seen:
        raise Skip("no profile grants anything observable beyond the default view")


def test_auto_profile_aliases(t):
    """python3.11 picks python3, bash and dash pick sh, and a script named by
    a path picks the profile of its #! interpreter (through /usr/bin/env)."""
    cases = []
    py_paths, py_env = observable(profile_text(t, "python3"))
    sh_paths, sh_env = observable(profile_text(t, "sh"))
    pl_paths, pl_env = observable(profile_text(t, "perl"))
    if py_paths or py_env:
        cases.append(("python3.11", ["/usr/bin/python3.11"], "python3", py_paths, py_env))
    if sh_paths or sh_env:
        cases.append(("bash", ["bash"], "sh", sh_paths, sh_env))
        cases.append(("dash", ["dash"], "sh", sh_paths, sh_env))
    if pl_paths or pl_env:
        t.write("work/job", "#!/usr/bin/env perl\n"
                'print((-e $_ ? 1 : 0), "\\n") for @ARGV; print "$_=$ENV{$_}\\n" for keys %ENV;\n', 0o755)
        cases.append(("#!/usr/bin/env perl", ["./job"], "perl", pl_paths, pl_env))
    if not cases:
        raise Skip("the python3, sh and perl profiles grant nothing observable")
    failures = []
    for what, prog, profile, paths, env in cases:
        if profile == "python3":
            argv = prog + ["-c", "import os,sys\nfor p in sys.argv[1:]: print(int(os.path.exists(p)))\n"
                           "for k,v in os.environ.items(): print('%s=%s' % (k, v))"] + paths
        elif profile == "sh":
            argv = prog + ["-c", 'for p; do if [ -e "$p" ]; then echo 1; else echo 0; fi; done; env', "sh"] + paths
        else:
            argv = prog + paths
        r = t.run(argv)
        try:
            expect_ok(r)
            expect_sees(t, parse_probe(r.stdout, paths), paths, env,
                        "auto profile for %s (expected %s)" % (what, profile), r)
        except Failure as e:
            failures.append(str(e))
    if failures:
        raise Failure("%d of %d cases failed:\n%s" % (len(failures), len(cases), "\n\n".join(failures)))


if __name__ == "__main__":
    sys.exit(main())
