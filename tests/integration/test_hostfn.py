#!/usr/bin/python3
"""Host functions, from outside: tests/integration/hostfn (a C host on
libward) runs programs whose only way to the host is the channel, and
reports the run as JSON. Every client shim (Python, Lua, Node, Ruby, Perl,
ward-call for sh) round-trips JSON types, gets results and errors; hostile
programs (oversized, malformed, flooding, stalling, not reading) end in an
error reply, a violation or a limit, never a stuck or crashed host.

    test_hostfn.py --ward build/tests/integration/hostfn --as root|unpriv \
        --clients build/clients
"""

import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardtest import PYTHON, Skip, expect, expect_eq, expect_in, main  # noqa: E402

CLIENTS = None

# What every shim sends to echo(), and must get back unchanged.
VALUES = [1, -2, 3.5, "h\u00e9llo \"q\"\n\t\\", [1, [2, []]], {"a": None, "b": {"c": "d"}},
          True, False, None, 0, 123456789012]


def hostfn(t, program, *opts, timeout=60):
    """Runs hostfn OPTS -- PROGRAM; returns (Run, parsed JSON report)."""
    args = ["--clients", CLIENTS] + list(opts) + ["--"] + list(program)
    r = t.ward(args, timeout=timeout)
    expect(not r.timed_out, "hostfn did not finish within %d s" % timeout, r)
    expect_eq(r.rc, 0, "hostfn's exit status", r)
    try:
        rep = json.loads(r.out)
    except ValueError:
        expect(False, "hostfn printed no JSON", r)
    return r, rep


def expect_lines(r, rep, want):
    """The box printed a JSON object per line; compares them to want."""
    expect_eq(rep["status"], "exited", "status (%s)" % rep["message"], r)
    got = [json.loads(line) for line in rep["stdout"].splitlines() if line.strip()]
    expect_eq(got, want, "what the box printed (stderr: %r)" % rep["stderr"], r)
    expect_eq(rep["exit_code"], 0, "exit code", r)


# The same program in every language: echo, add, fn-style add, a failing
# call, an unknown function, nothing() -> null. Each prints JSON lines.
EXPECTED = [VALUES, 5, 3, ["host-error", "no post 7"], "unknown-function", None, [1, 2]]

PY = """
import json, ward
vals = json.loads(%r)
print(json.dumps(ward.call("echo", *vals)))
print(json.dumps(ward.call("add", 2, 3)))
print(json.dumps(ward.fn.add(1, 2)))
try:
    ward.fn.fail("no post 7")
except ward.Error as e:
    print(json.dumps([e.code, e.message]))
try:
    ward.call("no_such_fn")
except ward.Error as e:
    print(json.dumps(e.code))
print(json.dumps(ward.fn.nothing()))
print(json.dumps([ward.fn.count(), ward.fn.count()]))
""" % json.dumps(VALUES)

LUA = """
local ward = require("ward")
local vals = ward.decode(%s)
-- Lua tables cannot hold nil: the decoded null is ward.null, and survives.
local n = 0 for _ in pairs(vals) do n = n + 1 end
print(ward.encode(ward.call("echo", table.unpack(vals, 1, n))))
print(ward.encode(ward.call("add", 2, 3)))
print(ward.encode(ward.fn.add(1, 2)))
local ok, e = pcall(ward.fn.fail, "no post 7")
print(ward.encode({e.code, e.message}))
ok, e = pcall(ward.call, "no_such_fn")
print(ward.encode(e.code))
print(ward.encode(ward.fn.nothing()))
print(ward.encode({ward.fn.count(), ward.fn.count()}))
"""

NODE = """
const ward = require("ward");
const vals = JSON.parse(%s);
console.log(JSON.stringify(ward.call("echo", ...vals)));
console.log(JSON.stringify(ward.call("add", 2, 3)));
console.log(JSON.stringify(ward.fn.add(1, 2)));
try { ward.fn.fail("no post 7"); } catch (e) { console.log(JSON.stringify([e.code, e.wardMessage])); }
try { ward.call("no_such_fn"); } catch (e) { console.log(JSON.stringify(e.code)); }
console.log(JSON.stringify(ward.fn.nothing()));
console.log(JSON.stringify([ward.fn.count(), ward.fn.count()]));
"""

RUBY = """
require "ward"
require "json"
vals = JSON.parse(%s)
puts JSON.generate(Ward.call("echo", *vals))
puts JSON.generate(Ward.call("add", 2, 3))
puts JSON.generate(Ward.fn.add(1, 2))
begin
  Ward.fn.fail("no post 7")
rescue Ward::Error => e
  puts JSON.generate([e.code, e.host_message])
end
begin
  Ward.call("no_such_fn")
rescue Ward::Error => e
  puts JSON.generate(e.code)
end
puts JSON.generate(Ward.fn.nothing)
puts JSON.generate([Ward.fn.count, Ward.fn.count])
"""

PERL = """
use strict; use warnings; use Ward; use JSON::PP;
my $j = JSON::PP->new->utf8->canonical->allow_nonref;
my $vals = $j->decode(%s);
print $j->encode(Ward::call("echo", @$vals)), "\\n";
print $j->encode(Ward::call("add", 2, 3)), "\\n";
print $j->encode(Ward->fn->add(1, 2)), "\\n";
eval { Ward->fn->fail("no post 7") }; print $j->encode([$@->code, $@->message]), "\\n";
eval { Ward::call("no_such_fn") }; print $j->encode($@->code), "\\n";
print $j->encode(Ward->fn->nothing), "\\n";
print $j->encode([Ward->fn->count, Ward->fn->count]), "\\n";
"""


def quoted(lang):
    """VALUES as a source-code string literal (JSON text in a JSON string,
    which every one of these languages reads the same)."""
    return json.dumps(json.dumps(VALUES))


def test_python(t):
    r, rep = hostfn(t, [PYTHON, "-c", PY], "--profile", "python3")
    expect_lines(r, rep, EXPECTED)
    expect_eq(rep["calls"], 2, "count() calls seen by the host", r)


def test_lua(t):
    if not os.path.exists(os.path.join(CLIENTS, "lua", "ward_core.so")):
        raise Skip("the Lua shim's ward_core was not built (no liblua5.4-dev)")
    r, rep = hostfn(t, ["lua5.4", "-e", LUA % quoted("lua")], "--profile", "lua")
    # Lua has no distinct empty array/object: {} encodes as [].
    want = json.loads(json.dumps(EXPECTED))
    expect_lines(r, rep, want)


def test_node(t):
    r, rep = hostfn(t, ["node", "-e", NODE % quoted("node")], "--profile", "node")
    expect_lines(r, rep, EXPECTED)


def test_ruby(t):
    r, rep = hostfn(t, ["ruby", "-e", RUBY % quoted("ruby")], "--profile", "ruby")
    expect_lines(r, rep, EXPECTED)


def test_perl(t):
    r, rep = hostfn(t, ["perl", "-e", PERL % quoted("perl")], "--profile", "perl")
    # Perl's JSON::PP encodes 3.5 as 3.5 and booleans as true/false: same.
    expect_lines(r, rep, EXPECTED)


def test_sh_ward_call(t):
    script = r"""
        set -e
        /run/ward/bin/ward-call add 2 3
        /run/ward/bin/ward-call echo '[1,{"a":null}]' plain "two words" 2.5 true
        /run/ward/bin/ward-call echo '"h\u00e9llo"'
        /run/ward/bin/ward-call fail 'no post 7' 2>err || echo "rc=$?"
        cat err
        /run/ward/bin/ward-call no_such_fn 2>err || echo "rc=$?"
        cat err
        /run/ward/bin/ward-call nothing
    """
    r, rep = hostfn(t, ["/bin/sh", "-c", "cd /tmp && " + script], "--profile", "sh")
    expect_eq(rep["status"], "exited", "status (%s)" % rep["message"], r)
    expect_eq(rep["stdout"],
              "5\n"
              '[[1,{"a":null}],"plain","two words",2.5,true]\n'
              '["h\u00e9llo"]\n'
              "rc=1\n"
              "ward-call: host-error: no post 7\n"
              "rc=1\n"
              "ward-call: unknown-function: no host function 'no_such_fn'\n"
              "null\n", "ward-call's output", r)


# The README's call examples, run as written: language tag -> (profile,
# interpreter argv before the script).
README_LANGS = {
    "python": ("python3", [PYTHON, "-c"]),
    "lua": ("lua", ["lua5.4", "-e"]),
    "js": ("node", ["node", "-e"]),
    "ruby": ("ruby", ["ruby", "-e"]),
    "perl": ("perl", ["perl", "-e"]),
    "sh": ("sh", ["/bin/sh", "-c"]),
}


def test_readme_call_examples(t):
    """Every host-function example in README.md (one block per language,
    `ward-call` by its bare name in sh) runs in a box and gets the README's
    get_post(3)."""
    readme = os.path.join(os.path.dirname(os.path.abspath(t.examples)), "README.md")
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"^```(\w+)\n(.*?)^```", text, re.M | re.S)
    blocks = [(lang, code) for lang, code in blocks if "get_post" in code and lang in README_LANGS]
    expect_eq(sorted(lang for lang, _ in blocks), sorted(README_LANGS), "languages with an example", None)
    for lang, code in blocks:
        if lang == "lua" and not os.path.exists(os.path.join(CLIENTS, "lua", "ward_core.so")):
            continue
        profile, argv = README_LANGS[lang]
        r, rep = hostfn(t, argv + [code], "--profile", profile)
        expect_eq((rep["status"], rep["exit_code"]), ("exited", 0),
                  "the README's %s example (%s; stderr %r)" % (lang, rep["message"], rep["stderr"]), r)
        if lang == "sh":
            got = json.loads(rep["stdout"]) if rep["stdout"].strip() else None
            expect_eq(got, {"title": "Limits"}, "the README's sh example's output", r)
        else:
            expect_eq(rep["stdout"].split(), ["Limits", "Limits"], "the README's %s example's output" % lang, r)


# ---- the box's view -------------------------------------------------------

def test_only_the_channel_is_open(t):
    code = ("import os; print(sorted(int(f) for f in os.listdir('/proc/self/fd')));"
            "print(os.environ['WARD_CHANNEL_FD'])")
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3")
    # 3 is listdir's own directory fd.
    expect_eq(rep["stdout"], "[0, 1, 2, 3, 4]\n4\n", "open fds and WARD_CHANNEL_FD", r)


def test_no_functions_no_channel(t):
    code = r"""
import os
print(os.environ.get("WARD_CHANNEL_FD"), os.path.exists("/run/ward"))
try:
    os.fstat(4)
    print("fd 4 open")
except OSError:
    print("fd 4 closed")
"""
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3", "--no-functions")
    expect_eq(rep["stdout"], "None False\nfd 4 closed\n", "the box without functions", r)


def test_clients_read_only(t):
    code = r"""
import ward
try:
    open("/run/ward/python/ward.py", "a")
    print("writable")
except OSError as e:
    print("refused")
"""
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3")
    expect_eq(rep["stdout"], "refused\n", "writing the shims", r)


# ---- hostile programs -----------------------------------------------------

RAW = """
import os, struct, sys, time, json
fd = 4
def send(b): os.write(fd, b)
def frame(obj): b = json.dumps(obj).encode(); return struct.pack(">I", len(b)) + b
def recv():
    n = struct.unpack(">I", os.read(fd, 4))[0]
    data = b""
    while len(data) < n: data += os.read(fd, n - len(data))
    return json.loads(data)
"""


def test_oversized_message_is_a_violation(t):
    code = RAW + "send(struct.pack('>I', 5000) + b'x' * 5000); time.sleep(30)"
    t0 = time.monotonic()
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3", "--max-message", "4096")
    expect_eq(rep["status"], "violation", "status", r)
    expect_in("larger than 4096 bytes", rep["message"], "message", r)
    expect(time.monotonic() - t0 < 20, "the box was not stopped at once", r)


def test_huge_length_no_allocation(t):
    # 4 GiB announced: refused from the header alone.
    code = RAW + "send(b'\\xff\\xff\\xff\\xff'); time.sleep(30)"
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3")
    expect_eq(rep["status"], "violation", "status", r)


def test_flood_is_a_violation(t):
    code = "import ward\nfor i in range(1000): ward.fn.nothing()\nprint('all done')"
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3", "--max-calls", "100")
    expect_eq(rep["status"], "violation", "status", r)
    expect_in("more than 100", rep["message"], "message", r)
    expect("all done" not in rep["stdout"], "the flood went on", r)


def test_malformed_gets_an_error_reply(t):
    code = RAW + r"""
for bad in [b'{not json', b'[1,2]', b'{"id":1}', b'{"id":2,"fn":"echo","args":{}}', b'\xff\xfe',
            b'{"id":3,"fn":"echo","args":[],"x":1}']:
    send(struct.pack(">I", len(bad)) + bad)
    r = recv()
    print(r["error"]["code"], r["id"])
send(frame({"id": 9, "fn": "add", "args": [1, 1]}))
print(recv())
"""
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3")
    expect_eq(rep["status"], "exited", "status (%s)" % rep["message"], r)
    expect_eq(rep["stdout"],
              "bad-request None\nbad-request None\nbad-request 1\nbad-request 2\n"
              "bad-request None\nbad-request 3\n{'id': 9, 'result': 2}\n",
              "replies to malformed requests, then a good one", r)


def test_host_timeout(t):
    code = ("import ward\ntry:\n    ward.fn.sleep(400)\nexcept ward.Error as e:\n    print(e.code)\n"
            "print(ward.fn.add(1, 1))")
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3", "--call-timeout", "100")
    expect_eq(rep["stdout"], "timeout\n2\n", "a slow host function fails the call", r)


def test_result_too_large(t):
    code = ("import ward\ntry:\n    ward.fn.big(100000)\nexcept ward.Error as e:\n    print(e.code)\n"
            "print(len(ward.fn.big(1000)))")
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3", "--max-message", "65536")
    expect_eq(rep["stdout"], "too-large\n1000\n", "results past the message limit", r)


def test_stalled_half_message_ends_at_wall_time(t):
    code = RAW + "send(struct.pack('>I', 100) + b'{\"id\"'); time.sleep(60)"
    t0 = time.monotonic()
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3", "--wall-time", "1500")
    expect_eq(rep["status"], "time-limit", "status", r)
    expect(time.monotonic() - t0 < 10, "the host waited for the rest of the message", r)


def test_box_not_reading_replies(t):
    # Requests whose replies the box never reads: the host stops reading
    # (one reply buffered), the box blocks, the wall clock ends the run.
    code = RAW + "msg = frame({'id': 1, 'fn': 'big', 'args': [60000]})\nwhile True: send(msg)"
    t0 = time.monotonic()
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3", "--wall-time", "2000")
    expect_eq(rep["status"], "time-limit", "status", r)
    expect(time.monotonic() - t0 < 15, "the run did not end at its wall time", r)


def test_output_flows_during_calls(t):
    # Output pumping goes on between calls: 800 kB of stdout interleaved
    # with 80 calls arrives whole.
    code = ("import sys, ward\nfor i in range(80):\n    sys.stdout.write('x' * 10000)\n"
            "    ward.fn.add(i, 1)\nprint()")
    r, rep = hostfn(t, [PYTHON, "-c", code], "--profile", "python3")
    expect_eq(rep["status"], "exited", "status", r)
    expect_eq(len(rep["stdout"]), 800001, "stdout bytes", r)


if __name__ == "__main__":
    if "--clients" in sys.argv:
        i = sys.argv.index("--clients")
        CLIENTS = os.path.abspath(sys.argv[i + 1])
        del sys.argv[i:i + 2]
    if not CLIENTS:
        print("test_hostfn.py: --clients DIR is required")
        sys.exit(2)
    sys.exit(main())
