#!/usr/bin/python3
"""`ward serve`, from outside: a client speaking Piston's v2 API over HTTP
(http.client) against a ward-serve started as root or as uid 65534. Judges
the HTTP status, the JSON the service answers, its access log, its exit
status and the host (no request file ever lands there).

    test_serve.py --ward build/src/cli/ward --as root|unpriv
"""

import atexit
import http.client
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wardtest import Skip, expect, expect_eq, expect_in, expect_not_in, main  # noqa: E402

READ_CAP = 4 << 20  # the most read of one HTTP answer
LOG_CAP = 2000      # stderr lines kept of a server
OUTPUT_MAX = 4096   # the servers' output_max (OL, EL)


class Server:
    """A ward serve process on 127.0.0.1:<free port>."""

    def __init__(self, t, config=None, extra_env=None):
        cfg = {"output_max": OUTPUT_MAX, "workers": 2, "queue": 8}
        cfg.update(config or {})
        self.config_path = t.write("serve-%s.json" % secrets.token_hex(4), json.dumps(cfg))
        self.t = t
        self.lines = []
        self.proc = t.popen(["serve", "--listen", "127.0.0.1:0", "--config", self.config_path],
                            env=t.env(extra_env) if extra_env else None,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
        self.ready = threading.Event()
        self.port = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(90) or not self.port:
            self.kill()
            raise AssertionError("ward serve did not start:\n" + "\n".join(self.lines[-20:]))
        atexit.register(self.kill)

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if len(self.lines) < LOG_CAP:
                self.lines.append(line)
            m = re.search(r"serving on 127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                self.ready.set()
        self.ready.set()

    def request(self, method, path, body=None, headers=None, timeout=60):
        """(status, headers dict, parsed JSON or text)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            h = dict(headers or {})
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                h.setdefault("Content-Type", "application/json")
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read(READ_CAP)
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = data.decode("utf-8", "replace")
            return r.status, {k.lower(): v for k, v in r.getheaders()}, parsed
        finally:
            c.close()

    def execute(self, req, **kw):
        return self.request("POST", "/api/v2/execute", req, **kw)

    def ok(self, req, **kw):
        st, _, body = self.execute(req, **kw)
        expect_eq(st, 200, "HTTP status of %r (%r)" % (req.get("language"), body))
        return body

    def log_entries(self):
        out = []
        for line in self.lines:
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def stop(self, sig=signal.SIGTERM, timeout=60):
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("ward serve did not stop on signal %d" % sig)
        self.reader.join(10)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


_shared = {}


def server(t):
    """The shared server (default configuration but a small output_max)."""
    s = _shared.get("s")
    if s is None or s.proc.poll() is not None:
        s = _shared["s"] = Server(t)
    return s


def installed(prog):
    return shutil.which(prog, path="/usr/bin:/bin") is not None


def py(code, **extra):
    req = {"language": "python", "version": "*", "files": [{"content": code}]}
    req.update(extra)
    return req


# --- endpoints --------------------------------------------------------------

def test_runtimes(t):
    s = server(t)
    st, h, body = s.request("GET", "/api/v2/runtimes")
    expect_eq(st, 200, "status")
    expect_in("application/json", h.get("content-type", ""), "content type")
    by = {rt["language"]: rt for rt in body}
    want = {"python": ("python3", ["py", "python3"]), "javascript": ("node", ["node", "js"]),
            "ruby": ("ruby", []), "lua": ("lua", []), "perl": ("perl", []),
            "bash": ("bash", ["sh"]), "c": ("gcc", ["gcc"]), "c++": ("g++", ["cpp", "g++"])}
    for lang, (prog, aliases) in want.items():
        if not installed(prog):
            expect(lang not in by, "%s listed but %s is not installed" % (lang, prog))
            continue
        expect(lang in by, "%s missing from %r" % (lang, body))
        expect(re.fullmatch(r"\d+\.\d+\.\d+", by[lang]["version"]), "version of %s" % lang)
        for a in aliases:
            expect_in(a, by[lang]["aliases"], "aliases of " + lang)
    host = subprocess.run(["/usr/bin/python3", "--version"], capture_output=True, text=True)
    expect_in(by["python"]["version"], host.stdout, "python's version")


def test_execute_python(t):
    s = server(t)
    body = s.ok(py("import sys\nprint('hi', sys.argv[1:], input())\n"
                   "print('err', file=sys.stderr)\n",
                   stdin="from stdin\n", args=["a b", "-c"]))
    expect_eq(body["language"], "python", "language")
    run = body["run"]
    expect_eq(run["stdout"], "hi ['a b', '-c'] from stdin\n", "stdout")
    expect_eq(run["stderr"], "err\n", "stderr")
    # stdout is block-buffered (a pipe): written at exit, right after stderr
    expect_in(run["output"], (run["stderr"] + run["stdout"], run["stdout"] + run["stderr"]),
              "output")
    expect_eq((run["code"], run["signal"], run["status"], run["message"]), (0, None, None, None),
              "outcome")
    for k in ("cpu_time", "wall_time", "memory"):
        expect(isinstance(run[k], int) and run[k] >= 0, "%s is a count" % k)
    expect("compile" not in body, "no compile stage for python")
    # an alias and a version selector
    body = s.ok({"language": "py", "version": "3.x", "files": [{"content": "print(2)"}]})
    expect_eq(body["run"]["stdout"], "2\n", "via alias py")
    # SemVer selectors against the installed version
    v = body["version"]
    major, minor, _ = v.split(".")
    for sel, match in ((v, True), ("^" + major, True), (">=%s <%d" % (major, int(major) + 1), True),
                       ("1 || " + major, True), ("~%s.%s" % (major, minor), True),
                       ("%s.%s.x" % (major, minor), True), ("v" + v, True),
                       (str(int(major) + 1), False), ("<" + major, False), ("garbage", False)):
        st, _, b = s.execute({"language": "python3", "version": sel,
                              "files": [{"content": "print(3)"}]})
        expect_eq(st, 200 if match else 400, "selector %r against %s" % (sel, v))


def test_languages(t):
    s = server(t)
    progs = [("javascript", "node", "console.log(6*7)"), ("ruby", "ruby", "puts 6*7"),
             ("lua", "lua", "print(6*7)"), ("perl", "perl", "print 6*7, qq(\\n)"),
             ("bash", "bash", "echo $((6*7))")]
    for lang, prog, code in progs:
        if not installed(prog):
            continue
        body = s.ok({"language": lang, "version": "*", "files": [{"content": code}]})
        expect_eq(body["run"]["stdout"], "42\n", "%s's output (%r)" % (lang, body["run"]))


def test_c_and_cxx(t):
    s = server(t)
    if not installed("gcc"):
        raise Skip("no gcc")
    c = ('#include <stdio.h>\n#include "lib.h"\nint main(int c, char **v) '
         '{ char b[64]; fgets(b, 64, stdin); printf("%s %d %s", v[1], twice(21), b); return 3; }\n')
    body = s.ok({"language": "c", "version": "*", "stdin": "in\n", "args": ["A"],
                 "files": [{"name": "main.c", "content": c},
                           {"name": "lib.h", "content": "int twice(int);\n"},
                           {"name": "lib.c", "content": "int twice(int x) { return 2 * x; }\n"}]})
    expect_eq((body["compile"]["code"], body["compile"]["status"]), (0, None),
              "compile outcome (%r)" % body["compile"])
    expect_eq(body["compile"]["stdout"], "", "compile stdout (the program is not shown)")
    expect_eq(body["run"]["stdout"], "A 42 in\n", "run stdout")
    expect_eq((body["run"]["code"], body["run"]["status"]), (3, "RE"), "run outcome")
    # a failed compile: Piston's quirk, run is the compile stage
    body = s.ok({"language": "c", "version": "*", "files": [{"content": "int main( {"}]})
    expect(body["compile"]["code"] != 0, "compile failed")
    expect_in("error", body["compile"]["stderr"], "compiler's message")
    expect_eq(body["run"], body["compile"], "run filled with the compile stage")
    if installed("g++"):
        body = s.ok({"language": "cpp", "version": "*", "files": [
            {"content": "#include <iostream>\nint main() { std::cout << \"c++\" << std::endl; }"}]})
        expect_eq(body["run"]["stdout"], "c++\n", "c++ output")


def test_response_file_name(t):
    """A file named "@opts" is a file for gcc, not a response file whose
    options (-wrapper) would run a command at compile."""
    s = server(t)
    if not installed("gcc"):
        raise Skip("no gcc")
    canary = "ward-wrapper-" + secrets.token_hex(6)
    opts = {"name": "opts", "content": "-wrapper /bin/sh,-c,echo\\ %s>&2;exit\\ 1 x.c" % canary}
    for name in ("@opts", "d/@opts"):
        st, _, body = s.execute({"language": "c", "version": "*", "files": [
            {"name": name, "content": "int main(){}"}, dict(opts, name=name.replace("@", ""))]})
        expect(canary not in json.dumps(body), "the -wrapper command ran (%r)" % body)
        expect_eq(st, 400, "status for %r (%r)" % (name, body))
        expect_in("files[0].name", body["message"], "message")
    # a file starting with '-' is a file too, and '@' is fine elsewhere
    body = s.ok({"language": "c", "version": "*", "files": [
        {"name": "-main.c", "content": "int main(){return 4;}"},
        {"name": "a@b.c", "content": "int f(void){return 1;}"}]})
    expect_eq(body["run"]["code"], 4, "-main.c compiled (%r)" % body["compile"])


def test_statuses(t):
    s = server(t)
    run = s.ok(py("import sys; sys.exit(2)"))["run"]
    expect_eq((run["status"], run["code"]), ("RE", 2), "RE")
    run = s.ok(py("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"))["run"]
    expect_eq((run["status"], run["signal"], run["code"]), ("SG", "SIGSEGV", None), "SG")
    run = s.ok(py("import time\nwhile True: time.sleep(1)", run_timeout=500))["run"]
    expect_eq((run["status"], run["signal"]), ("TO", "SIGKILL"), "TO (wall)")
    run = s.ok(py("while True: pass", run_cpu_time=300))["run"]
    expect_eq(run["status"], "TO", "TO (cpu)")
    run = s.ok(py("import sys\nwhile True: sys.stdout.write('x' * 1000)"))["run"]
    expect_eq(run["status"], "OL", "OL (%r)" % run["message"])
    expect_eq(len(run["stdout"]), OUTPUT_MAX, "stdout cut at output_max")
    run = s.ok(py("import sys\nwhile True: sys.stderr.write('x' * 1000)"))["run"]
    expect_eq(run["status"], "EL", "EL")
    run = s.ok(py("b = []\nwhile True: b.append(bytearray(8 << 20))\n",
                  run_memory_limit=64 << 20))["run"]
    expect_eq(run["status"], "ML", "memory-limit kill (%r)" % run)
    expect_eq(run["code"], None, "no exit code after a memory kill")


# Alternates stderr and stdout (stderr first), each line flushed; before the
# next line it waits until ward's controller has taken the last one out of
# the box's pipe (FIONREAD 0), and a moment more for ward-serve's reader.
INTERLEAVE = """import fcntl, struct, sys, termios, time
def unread(fd):
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\\0" * 4))[0]
for i in range(3):
    for f, name in ((sys.stderr, "e"), (sys.stdout, "o")):
        f.write("%s%d\\n" % (name, i))
        f.flush()
        while unread(f.fileno()):
            time.sleep(0.001)
        time.sleep(0.2)
"""


def test_output_interleaved(t):
    """Piston's output: stdout and stderr in the order the program wrote
    them, not one after the other."""
    s = server(t)
    run = s.ok(py(INTERLEAVE))["run"]
    expect_eq((run["stdout"], run["stderr"]), ("o0\no1\no2\n", "e0\ne1\ne2\n"), "the streams")
    expect_eq(run["output"], "e0\no0\ne1\no1\ne2\no2\n", "output in the order written")
    # a compiled program: the run's output is interleaved too, the
    # compile's output is its stderr (its stdout is the program)
    if installed("gcc"):
        code = ("#include <stdio.h>\n#include <unistd.h>\nint main(void) {\n"
                "  for (int i = 0; i < 3; i++) {\n"
                "    dprintf(2, \"e%d\\n\", i); usleep(200000);\n"
                "    dprintf(1, \"o%d\\n\", i); usleep(200000);\n  }\n  return 0;\n}\n")
        body = s.ok({"language": "c", "version": "*", "files": [{"name": "m.c", "content": code}]})
        expect_eq(body["run"]["output"], "e0\no0\ne1\no1\ne2\no2\n", "C run's output")
        expect_eq(body["compile"]["output"], body["compile"]["stderr"], "compile's output")


def test_stream_caps(t):
    """stdout_max and stderr_max cap each stream on its own: a flood on
    one never crowds the other out of its field or of output."""
    s = Server(t, {"stdout_max": 100, "stderr_max": 3000})
    try:
        # stdout first, then a flood on stderr: EL, stdout whole
        run = s.ok(py("import sys\nprint('A' * 50, flush=True)\n"
                      "while True: sys.stderr.write('x' * 1000)"))["run"]
        expect_eq((run["status"], run["message"]), ("EL", "stderr length exceeded"), "EL")
        expect_eq(run["stdout"], "A" * 50 + "\n", "stdout kept whole beside a stderr flood")
        expect_eq(run["stderr"], "x" * 3000, "stderr cut at stderr_max")
        expect_eq(run["output"], "A" * 50 + "\n" + "x" * 3000, "output: both streams' kept bytes")
        # stderr between two stdout writes, the second one past stdout_max
        run = s.ok(py("import sys\nprint('B' * 60, flush=True)\n"
                      "sys.stderr.write('y' * 2000); sys.stderr.flush()\n"
                      "import time; time.sleep(0.2)\n"
                      "print('C' * 60, flush=True)"))["run"]
        expect_eq((run["status"], run["message"]), ("OL", "stdout length exceeded"), "OL")
        expect_eq(run["stdout"], ("B" * 60 + "\n" + "C" * 60)[:100], "stdout cut at stdout_max")
        expect_eq(run["stderr"], "y" * 2000, "stderr whole (under its cap)")
        expect_eq(run["output"], "B" * 60 + "\n" + "y" * 2000 + "C" * 39,
                  "output: what each stream kept, in order")
        # under both caps: no status
        run = s.ok(py("import sys\nprint('D' * 99, end='')\nsys.stderr.write('z' * 3000)"))["run"]
        expect_eq((run["status"], len(run["stdout"]), len(run["stderr"])), (None, 99, 3000),
                  "at the caps")
        expect_eq(s.stop(), 0, "exit status")
    finally:
        s.kill()


# --- errors -----------------------------------------------------------------

def test_errors(t):
    s = server(t)
    good = py("print(1)")
    cases = [
        ({k: v for k, v in good.items() if k != "language"}, "language"),
        ({k: v for k, v in good.items() if k != "version"}, "version"),
        (dict(good, files="x"), "files"),
        (dict(good, files=[{"name": "a.py"}]), "files[0].content"),
        (dict(good, files=[{"content": "1", "encoding": "rot13"}]), "files[0].encoding"),
        (dict(good, files=[{"content": "!!!", "encoding": "base64"}]), "files[0].content"),
        (dict(good, files=[{"content": "zz", "encoding": "hex"}]), "files[0].content"),
        (dict(good, files=[{"content": "AA==", "encoding": "base64"}]), "utf8"),
        (dict(good, run_timeout=10 ** 9), "run_timeout"),
        (dict(good, compile_timeout=-5), "compile_timeout"),
        (dict(good, run_memory_limit="big"), "run_memory_limit"),
        (dict(good, run_cpu_time=1.5), "run_cpu_time"),
        (dict(good, args="x"), "args"),
        (dict(good, args=[1]), "args[0]"),
        (dict(good, stdin=5), "stdin"),
        (dict(good, language="cobol"), "cobol-* runtime is unknown"),
        # a message quoting the request, cut inside a UTF-8 sequence
        (dict(good, language="\u00e9" * 200), "\u00e9\u00e9"),
        (dict(good, version="1.0.0"), "python-1.0.0 runtime is unknown"),
        ([1, 2], "object"),
    ]
    for req, field in cases:
        st, _, body = s.execute(req)
        expect_eq(st, 400, "status for %r" % (req,))
        expect_in(field, body["message"], "message for %r" % (req,))
    st, _, body = s.request("POST", "/api/v2/execute", b"{not json",
                            {"Content-Type": "application/json"})
    expect_eq(st, 400, "malformed JSON")
    for ctype, data in (("application/x-www-form-urlencoded", json.dumps(good)),
                        (None, json.dumps(good)), ("text/plain", "print(1)")):
        st, _, body = s.request("POST", "/api/v2/execute", data.encode(),
                                {"Content-Type": ctype} if ctype else {})
        expect_eq((st, body["message"]), (415, "requests must be of type application/json"),
                  "415 for %s" % ctype)
    # text/plain holding JSON: what the npm piston-client sends
    st, _, body = s.request("POST", "/api/v2/execute", json.dumps(good).encode(),
                            {"Content-Type": "text/plain;charset=UTF-8"})
    expect_eq(st, 200, "JSON sent as text/plain")
    big = py("#" + "x" * (2 << 20))
    st, _, body = s.execute(big)
    expect_eq(st, 413, "oversized body")
    expect_in("too large", body["message"], "413's message")
    # far over the cap: refused before it is read, the connection closed
    try:
        st = s.execute(py("#" + "x" * (20 << 20)))[0]
    except OSError:
        st = 413  # closed while the client was still sending: also a refusal
    expect_eq(st, 413, "far oversized body")
    st, _, _ = s.request("GET", "/api/v2/nothing")
    expect_eq(st, 404, "unknown path")
    # the server still serves after all that
    expect_eq(s.ok(good)["run"]["stdout"], "1\n", "still serving")


def raw_status(s, data):
    """The status answered to raw request bytes (None: none)."""
    with socket.create_connection(("127.0.0.1", s.port)) as k:
        k.settimeout(10)
        k.sendall(data)
        try:
            got = k.recv(4096)
        except (socket.timeout, ConnectionError):
            return None
    m = re.match(rb"HTTP/1\.[01] (\d{3})", got)
    return int(m.group(1)) if m else None


def test_input_checks(t):
    """Framing that two parsers could read two ways, and client mistakes
    that would reach the box as a setup error (200 "XX"), are 400s that
    name the field."""
    s = server(t)
    body = json.dumps(py("print(1)")).encode()
    head = b"POST /api/v2/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    st = raw_status(s, head + b"Content-Length: %d\r\nContent-Length: 3\r\n\r\n" % len(body)
                    + body)
    expect_eq(st, 400, "two different Content-Length headers")
    st = raw_status(s, head + b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n"
                    % len(body) + body)
    expect_eq(st, 400, "Content-Length with Transfer-Encoding")
    for field in ("run_memory_limit", "compile_memory_limit"):
        st, _, b = s.execute(py("print(1)", **{field: 1000}))
        expect_eq(st, 400, "%s below the box's minimum (%r)" % (field, b))
        expect_in(field, b["message"], "message")
    st, _, b = s.execute(py("print(1)", args=["a" * (200 << 10)]))
    expect_eq(st, 400, "an argument over 128 KiB (%r)" % (b if st != 200 else b["run"]["message"]))
    expect_in("args[0]", b["message"], "message")
    st, _, b = s.execute(py("print(1)", args=["a" * (100 << 10)] * 6))
    expect_eq(st, 400, "600 KiB of arguments")
    expect_in("args", b["message"], "message")
    expect_eq(s.ok(py("import sys; print(len(sys.argv[1]))", args=["a" * (100 << 10)]))
              ["run"]["stdout"], "102400\n", "a 100 KiB argument")
    # limits past libward's range are refused at start
    cfg = t.write("serve-big.json", json.dumps({"run_timeout": 9223372036854775807}))
    r = t.ward(["serve", "--listen", "127.0.0.1:0", "--config", cfg], timeout=30)
    expect(r.rc not in (0, None), "started with run_timeout 2^63-1 (%r)" % r.rc)
    expect_in("run_timeout", r.err.decode(), "message")


def test_names(t):
    s = server(t)
    canary = "ward-serve-canary-" + secrets.token_hex(6)
    bad = ["../" + canary, "/tmp/" + canary, "a/../../" + canary, "..", "a/..", "./x",
           "a//b", "a\nb", "a\x01b", "x" * 300, "dir/", "a/./b"]
    for name in ("a..b", "..a", "b..", "d/..e"):
        req = py("print(2)")
        req["files"] = [{"name": name, "content": "print(2)"}]
        expect_eq(s.ok(req)["run"]["stdout"], "2\n", "name %r" % name)
    for name in bad:
        req = py("print(1)")
        req["files"] = [{"name": name, "content": "print(1)"}]
        st, _, body = s.execute(req)
        expect_eq(st, 400, "status for name %r" % name)
        expect_in("files[0].name", body["message"], "message for %r" % name)
    # a good nested name, and a file the box writes: none reaches the host
    code = ("print(open('d/e/" + canary + "').read())\n"
            "open('/tmp/" + canary + "-w', 'w').write('x')\n")
    req = py(code)
    req["files"] = [{"name": "main.py", "content": code},
                    {"name": "d/e/" + canary, "content": "data"}]
    body = s.ok(req)
    expect_eq(body["run"]["stdout"], "data\n", "nested file read (%r)" % body["run"])
    for d in ("/tmp", "/var/tmp", t.dir, os.path.dirname(t.dir), "/"):
        for n in os.listdir(d):
            expect(canary not in n, "a request file reached the host: %s/%s" % (d, n))


def test_encodings(t):
    s = server(t)
    data = bytes(range(256)) * 3
    req = py("import hashlib\nprint(hashlib.sha256(open('b.bin','rb').read()).hexdigest(),"
             " open('h.txt','rb').read())")
    req["files"] += [{"name": "b.bin", "content": __import__("base64").b64encode(data).decode(),
                      "encoding": "base64"},
                     {"name": "h.txt", "content": b"\x00hi".hex(), "encoding": "hex"}]
    body = s.ok(req)
    want = "%s b'\\x00hi'\n" % __import__("hashlib").sha256(data).hexdigest()
    expect_eq(body["run"]["stdout"], want, "decoded files")
    # files and stdin share the box's stdin: each keeps its exact bytes
    req = py("import sys\nd = sys.stdin.read()\nprint(len(open('big.txt').read()), len(d), d[-3:])",
             stdin="s" * 150000 + "end")
    req["files"].append({"name": "big.txt", "content": "b" * 200000})
    body = s.ok(req)
    expect_eq(body["run"]["stdout"], "200000 150003 end\n", "file and stdin sizes")
    # invalid UTF-8 out of the box becomes U+FFFD, the JSON stays valid
    body = s.ok(py("import sys; sys.stdout.buffer.write(b'a\\xffb')"))
    expect_eq(body["run"]["stdout"], "a\ufffdb", "replacement character")


# --- operator ---------------------------------------------------------------

def test_health_metrics_log(t):
    s = server(t)
    st, _, body = s.request("GET", "/healthz")
    expect_eq((st, body), (200, {"status": "ok"}), "healthz")
    st, _, body = s.request("GET", "/readyz")
    expect_eq((st, body["ready"]), (200, True), "readyz")
    expect(body["layers"]["landlock_abi"] >= 1, "readyz names the layers")
    s.ok(py("print(1)"))
    s.ok(py("import time\nwhile True: time.sleep(1)", run_timeout=300))
    st, h, text = s.request("GET", "/metrics")
    expect_eq(st, 200, "metrics")
    expect_in("text/plain", h["content-type"], "metrics type")
    for want in ('ward_requests_total{language="python",status="OK"}',
                 'ward_requests_total{language="python",status="TO"}',
                 'ward_limit_hits_total{limit="wall-time"}',
                 'ward_request_duration_seconds_bucket{le="+Inf"}',
                 "ward_queue_depth 0", "ward_boxes_running 0", 'ward_http_responses_total{code="200"}'):
        expect_in(want, text, "metrics")
    time.sleep(0.2)
    entries = s.log_entries()
    expect(entries, "access log lines")
    for e in entries:
        for k in ("time", "remote", "method", "path", "code", "ms"):
            expect(k in e, "access log field %s in %r" % (k, e))
    expect(any(e["path"] == "/api/v2/execute" and e["language"] == "python" and
               e["status"] == "TO" for e in entries), "an execution logged with its status")


def wait_box_running(s):
    """Until a box runs (the slow request was admitted)."""
    deadline = time.monotonic() + 30
    while 'ward_boxes_running 1' not in s.request("GET", "/metrics")[2]:
        expect(time.monotonic() < deadline, "no box started")
        time.sleep(0.05)


def test_busy_503(t):
    s = Server(t, {"workers": 1, "queue": 0, "retry_after": 7})
    try:
        slow = {}
        th = threading.Thread(target=lambda: slow.update(
            r=s.execute(py("import time; time.sleep(2); print('slow')"))))
        th.start()
        wait_box_running(s)
        st, h, body = s.execute(py("print(1)"))
        expect_eq(st, 503, "status when full")
        expect_in("busy", body["message"], "message")
        expect_eq(h.get("retry-after"), "7", "Retry-After")
        th.join(60)
        expect_eq(slow["r"][0], 200, "the admitted request was answered")
        expect_eq(slow["r"][2]["run"]["stdout"], "slow\n", "its output")
        expect_eq(s.execute(py("print(1)"))[0], 200, "served again once free")
    finally:
        s.kill()


def test_drain(t):
    s = Server(t)
    res = {}
    th = threading.Thread(target=lambda: res.update(
        r=s.execute(py("import time; time.sleep(2); print('finished')"))))
    th.start()
    wait_box_running(s)
    rc = s.stop(signal.SIGTERM)
    th.join(30)
    expect_eq(rc, 0, "exit status after SIGTERM")
    expect_eq(res["r"][0], 200, "the running request was answered")
    expect_eq(res["r"][2]["run"]["stdout"], "finished\n", "and finished")
    try:
        http.client.HTTPConnection("127.0.0.1", s.port, timeout=5).request("GET", "/healthz")
        refused = False
    except OSError:
        refused = True
    expect(refused, "no longer listening")


def test_drain_slow_client(t):
    """A client trickling its body does not hold a SIGTERM drain: the
    server stops reading bodies, finishes what it admitted and exits."""
    s = Server(t, {"connection_timeout": 30})
    stop = threading.Event()
    k = socket.create_connection(("127.0.0.1", s.port))
    try:
        k.sendall(b"POST /api/v2/execute HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  b"application/json\r\nContent-Length: 1000\r\n\r\n{")

        def trickle():
            for _ in range(200):  # a byte every 0.3 s, for at most a minute
                if stop.wait(0.3):
                    return
                try:
                    k.sendall(b" ")
                except OSError:
                    return
        th = threading.Thread(target=trickle, daemon=True)
        th.start()
        time.sleep(1)
        expect_eq(s.stop(signal.SIGTERM, timeout=20), 0, "exit status with a slow client")
    finally:
        stop.set()
        k.close()
        s.kill()


def test_token_and_reload(t):
    tok = "tok-" + secrets.token_hex(8)
    tf = t.write("token", tok + "\n", mode=0o600)
    s = Server(t, {"token_file": tf})
    try:
        expect_eq(s.request("GET", "/api/v2/runtimes")[0], 401, "no token")
        expect_eq(s.request("GET", "/metrics", headers={"Authorization": "Bearer x"})[0], 401,
                  "wrong token")
        auth = {"Authorization": "Bearer " + tok}
        expect_eq(s.request("GET", "/api/v2/runtimes", headers=auth)[0], 200, "right token")
        for scheme in ("bearer ", "BEARER  "):
            expect_eq(s.request("GET", "/api/v2/runtimes",
                                headers={"Authorization": scheme + tok})[0], 200,
                      "scheme %r (case-insensitive)" % scheme)
        expect_eq(s.request("GET", "/healthz")[0], 200, "healthz needs no token")
        req = py("print(1)", run_timeout=2000)
        expect_eq(s.execute(req, headers=auth)[0], 200, "run_timeout 2000 allowed")
        # SIGHUP: a lower maximum now refuses it
        with open(s.config_path, "w") as f:
            json.dump({"output_max": OUTPUT_MAX, "run_timeout": 1000, "token_file": tf}, f)
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any("reloaded" in x for x in s.lines):
            time.sleep(0.05)
        st, _, body = s.execute(req, headers=auth)
        expect_eq(st, 400, "run_timeout above the reloaded maximum")
        expect_in("run_timeout", body["message"], "message")
        expect_eq(s.stop(), 0, "exit status")
    finally:
        s.kill()


def test_hostile_clients(t):
    """Slow clients, a client leaving mid-run, many idle connections and
    a fork bomb: the service answers everyone else and recovers."""
    s = Server(t, {"connection_timeout": 2, "max_connections": 2000,
                   "max_connections_per_ip": 2000})
    socks = []
    try:
        # slowloris: half a request line, never finished
        slow = socket.create_connection(("127.0.0.1", s.port))
        socks.append(slow)
        slow.sendall(b"POST /api/v2/execute HTTP/1.1\r\nHost: x\r\nContent-Le")
        # many idle connections (as many as this process may open, up to 1000)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 1200)), hard))
        n = min(1000, max(soft, min(hard, 1200)) - 100)
        for _ in range(n):
            socks.append(socket.create_connection(("127.0.0.1", s.port)))
        expect_eq(s.request("GET", "/healthz")[0], 200, "healthz with %d idle connections" % n)
        # a client that leaves while its box runs
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        c.request("POST", "/api/v2/execute",
                  json.dumps(py("import time; time.sleep(1)")).encode(),
                  {"Content-Type": "application/json"})
        c.close()
        run = s.ok({"language": "bash", "version": "*",
                    "files": [{"content": "f() { f | f & }; f; sleep 2; echo survived"}]})["run"]
        expect(run["status"] is not None or "survived" in run["stdout"], "fork bomb ended")
        # the slow client was dropped after connection_timeout
        slow.settimeout(10)
        expect_eq(slow.recv(100), b"", "slow client closed by the server")
        deadline = time.monotonic() + 20
        while 'ward_boxes_running 0' not in s.request("GET", "/metrics")[2]:
            expect(time.monotonic() < deadline, "boxes still running")
            time.sleep(0.1)
        expect_eq(s.ok(py("print(5)"))["run"]["stdout"], "5\n", "still serving")
        for k in socks:
            k.close()
        expect_eq(s.stop(), 0, "exit status")
        expect(any(e["code"] == 499 or e["path"] == "/api/v2/execute"
                   for e in s.log_entries()), "the left request was logged")
    finally:
        for k in socks:
            k.close()
        s.kill()


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def host_procs_with(needle):
    """pids on the host whose command line holds needle."""
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid():
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    if needle.encode() in f.read(65536):
                        found.append(int(d))
            except OSError:
                pass
    return found


def test_many_requests_at_once(t):
    """1000 connections each sending a whole request at the same moment:
    every one is answered, 200 (run) or 503 with Retry-After, none
    dropped and none left hanging."""
    s = Server(t, {"max_connections": 2000, "max_connections_per_ip": 2000, "retry_after": 3})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 1200)), hard))
    n = min(1000, max(soft, min(hard, 1200)) - 100)
    body = json.dumps({"language": "bash", "version": "*", "files": [{"content": "echo hi"}]})
    req = ("POST /api/v2/execute HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
           % (len(body), body)).encode()
    socks = []
    try:
        for _ in range(n):
            socks.append(socket.create_connection(("127.0.0.1", s.port), timeout=30))
        for k in socks:
            k.sendall(req)
        answers = {}
        deadline = time.monotonic() + 240
        for k in socks:  # each answer is read to the server's close
            k.settimeout(max(1, deadline - time.monotonic()))
            data = b""
            try:
                while len(data) < 65536:
                    chunk = k.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except socket.timeout:
                data += b" (no answer in time)"
            head, _, rest = data.partition(b"\r\n\r\n")
            status = head.split(b" ")[1].decode() if head.startswith(b"HTTP/1.1 ") else repr(data)
            answers[status] = answers.get(status, 0) + 1
            if status == "503":
                expect_in(b"\r\nRetry-After: 3", head, "the 503's Retry-After")
            elif status == "200":
                expect_eq(json.loads(rest)["run"]["stdout"], "hi\n", "a run's stdout")
        expect_eq(set(answers) - {"200", "503"}, set(), "answers to %d requests: %r" % (n, answers))
        expect(answers.get("200"), "some were run: %r" % answers)
        expect_eq(s.ok(py("print(5)"))["run"]["stdout"], "5\n", "still serving")
        expect_eq(s.stop(), 0, "exit status")
    finally:
        for k in socks:
            k.close()
        s.kill()


def pools_settled(s, timeout=30):
    """Waits until every pool of warm boxes is full again (each holds
    warm_boxes, 2 by default, ready boxes and their fds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = s.request("GET", "/metrics")[2]
        pools = re.search(r"^ward_pools (\d+)$", m, re.M)
        ready = re.search(r"^ward_pool_boxes_ready (\d+)$", m, re.M)
        if pools and ready and int(ready.group(1)) == 2 * int(pools.group(1)):
            return
        time.sleep(0.2)


def test_clients_leaving(t):
    """Clients that leave half way through their body, or before their
    run is answered, and boxes that leave a daemon behind or close their
    output and never end: the service frees all of it (its fds back to
    where they were) and no process of those boxes is left on the host.
    libmicrohttpd (0.9.75, epoll) notices a client gone half way through
    its body only at connection_timeout, as it would a slow one: short
    here."""
    s = Server(t, {"run_timeout": 1000, "connection_timeout": 3})
    try:
        pid = s.proc.pid  # setpriv and ward exec: ward-serve's
        expect_eq(s.ok(py("print(1)"))["run"]["stdout"], "1\n", "a first run")
        # Both runtimes' pools made and full: their ready boxes hold fds.
        expect_eq(s.ok({"language": "bash", "version": "*", "files": [{"content": "echo 1"}]})
                  ["run"]["stdout"], "1\n", "a first bash run")
        pools_settled(s)
        base = fd_count(pid)
        mark = "ward-left-" + secrets.token_hex(6)
        body = json.dumps(py("import time; time.sleep(0.5); print(1)")).encode()
        for i in range(20):
            k = socket.create_connection(("127.0.0.1", s.port))
            head = ("POST /api/v2/execute HTTP/1.1\r\nHost: x\r\nContent-Type: "
                    "application/json\r\nContent-Length: %d\r\n\r\n" % len(body)).encode()
            # half the body, or all of it (then the run starts and nobody waits)
            k.sendall(head + (body[:len(body) // 2] if i % 2 else body))
            k.close()
        deadline = time.monotonic() + 60
        while True:  # the runs nobody waits for
            m = s.request("GET", "/metrics")[2]
            if "ward_boxes_running 0\n" in m and "ward_queue_depth 0\n" in m:
                break
            expect(time.monotonic() < deadline, "the left requests never ran out")
            time.sleep(0.2)
        # a daemon left behind when the program exits
        run = s.ok({"language": "bash", "version": "*", "args": [mark],
                    "files": [{"content": "setsid bash -c 'exec -a \"$0\" sleep 1000' \"$1\" "
                               "</dev/null >/dev/null 2>&1 &\nsleep 0.2\necho started"}]})["run"]
        expect_eq((run["stdout"], run["status"]), ("started\n", None), "the daemon's parent")
        # output closed, then never ending: the run's time limit ends it
        run = s.ok({"language": "bash", "version": "*", "args": [mark],
                    "files": [{"content": "exec >&- 2>&-\nexec -a \"$1\" sleep 1000"}]})["run"]
        expect_eq(run["status"], "TO", "a box with its output closed, sleeping")
        deadline = time.monotonic() + 30
        while True:
            m = s.request("GET", "/metrics")[2]
            left = host_procs_with(mark)
            pools_settled(s)
            fds = fd_count(pid)
            if ("ward_boxes_running 0\n" in m and not left and fds <= base) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.2)
        expect_eq(left, [], "processes of the boxes left on the host")
        expect(fds <= base, "ward-serve's fds: %d, %d before the clients left" % (fds, base))
        expect_eq(s.ok(py("print(5)"))["run"]["stdout"], "5\n", "still serving")
        expect_eq(s.stop(), 0, "exit status")
    finally:
        for p in host_procs_with(mark):
            os.kill(p, signal.SIGKILL)
        s.kill()


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f.read(8192).splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def hold_bodies(s, n, path, headers, size=1 << 20):
    """n connections, each sending `path` a body of size bytes less one
    and then waiting: the sockets (the caller closes them)."""
    socks = []
    head = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n" % (
        path, size, "".join("%s: %s\r\n" % kv for kv in headers.items()))).encode()
    body = b"x" * (size - 1)
    for _ in range(n):
        k = socket.create_connection(("127.0.0.1", s.port))
        socks.append(k)
        k.settimeout(5)
        try:
            k.sendall(head + body)
        except OSError:
            pass  # answered and closed early
    return socks


def early_answer(s, path, headers):
    """The status answered to a 1 MiB POST of which only the headers were
    sent (None: no answer before the body)."""
    with socket.create_connection(("127.0.0.1", s.port)) as k:
        k.settimeout(10)
        k.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n" % (
            path, 1 << 20, "".join("%s: %s\r\n" % kv for kv in headers.items()))).encode())
        try:
            data = k.recv(4096)
        except socket.timeout:
            return None
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(m.group(1)) if m else None


def test_body_memory(t):
    """Bodies nobody will run are not read: a wrong path, no token, a
    wrong type are answered on the headers; bodies being read are capped
    by a budget (503) and connections per address by a limit. The
    server's memory, read from /proc outside it, stays bounded."""
    tok = "tok-" + secrets.token_hex(8)
    tf = t.write("token-mem", tok + "\n", mode=0o600)
    s = Server(t, {"token_file": tf, "max_connections_per_ip": 1000, "connection_timeout": 60})
    socks = []
    try:
        auth = {"Authorization": "Bearer " + tok}
        json_auth = dict(auth, **{"Content-Type": "application/json"})
        expect_eq(early_answer(s, "/api/v2/nothing", auth), 404, "wrong path answered early")
        expect_eq(early_answer(s, "/api/v2/execute", {"Content-Type": "application/json"}), 401,
                  "no token answered early")
        expect_eq(early_answer(s, "/api/v2/execute", dict(auth, **{"Content-Type": "x/y"})),
                  415, "wrong type answered early")
        before = vm_rss_kib(s.proc.pid)
        socks += hold_bodies(s, 150, "/api/v2/nothing", auth)
        socks += hold_bodies(s, 150, "/api/v2/execute", {"Content-Type": "application/json"})
        time.sleep(0.5)
        grown = vm_rss_kib(s.proc.pid) - before
        expect(grown < 32 << 10, "rss grew by %d KiB for bodies never run" % grown)
        for k in socks:
            k.close()
        socks = []
        # authorised bodies: (2 workers + 8 queued + 8) x 1 MiB at most,
        # then 503 with Retry-After before the body
        socks += hold_bodies(s, 40, "/api/v2/execute", json_auth)
        time.sleep(0.5)
        grown = vm_rss_kib(s.proc.pid) - before
        expect(grown < 48 << 10, "rss grew by %d KiB for 40 bodies held" % grown)
        st = early_answer(s, "/api/v2/execute", json_auth)
        expect_eq(st, 503, "body budget spent")
        for k in socks:
            k.close()
        socks = []
        deadline = time.monotonic() + 20
        while True:  # the budget comes back as the server sees the closes
            st, _, body = s.execute(py("print(3)"), headers=auth)
            if st != 503 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        expect_eq((st, body["run"]["stdout"]), (200, "3\n"), "served once the bodies left")
        expect_eq(s.stop(), 0, "exit status")
    finally:
        for k in socks:
            k.close()
        s.kill()


def descendants(pid):
    kids, todo = [], [pid]
    while todo:
        p = todo.pop()
        c = []
        try:
            for tid in os.listdir("/proc/%d/task" % p):  # a thread's children are its own
                with open("/proc/%d/task/%s/children" % (p, tid)) as f:
                    c += [int(x) for x in f.read(65536).split()]
        except OSError:
            pass
        kids += c
        todo += c
    return kids


def box_inits(pid):
    """The box inits (pid 1 of their namespace) below pid."""
    out = []
    for k in descendants(pid):
        try:
            with open("/proc/%d/status" % k) as f:
                ns = [x for x in f.read(8192).splitlines() if x.startswith("NSpid:")]
        except OSError:
            continue
        if ns and ns[0].split()[-1] == "1" and len(ns[0].split()) > 2:
            out.append(k)
    return out


def mem_contains(pid, needle, cap=2 << 30):
    """Whether needle is in pid's readable memory (read from outside,
    at most cap bytes)."""
    seen = 0
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read(1 << 20).splitlines()
    fd = os.open("/proc/%d/mem" % pid, os.O_RDONLY)
    try:
        for line in maps:
            parts = line.split()
            if parts[1][0] != "r" or (len(parts) > 5 and parts[5] in ("[vvar]", "[vsyscall]")):
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            tail = b""
            for off in range(lo, hi, 1 << 20):
                if seen >= cap:
                    raise AssertionError("more than %d bytes of memory" % cap)
                try:
                    chunk = os.pread(fd, min(1 << 20, hi - off), off)
                except OSError:
                    break
                seen += len(chunk)
                if needle in tail + chunk:
                    return True
                tail = chunk[-len(needle):]
    finally:
        os.close(fd)
    return False


def test_box_holds_no_secrets(t):
    """A box's init, a fork of ward-serve, holds neither the service's
    stdio (its access log) nor the bearer token nor another request's
    code: judged from /proc outside the box, as root."""
    if os.geteuid() != 0:
        raise Skip("reads another user's /proc/PID/mem and fd: root only")
    tok = "tok-" + secrets.token_hex(12)
    tf = t.write("token-secret", tok + "\n", mode=0o600)
    # Fresh boxes: their init is a fork of ward-serve itself (a pool's box
    # is made before any request, a zygote's is a fork of python).
    s = Server(t, {"token_file": tf, "warm_boxes": 0})
    try:
        # The server's program, not ward: under ASan its forks map the
        # sanitizer's shadow, terabytes too many to read back here.
        with open("/proc/%d/maps" % s.proc.pid) as f:
            if "libasan" in f.read(1 << 20):
                raise Skip("ward-serve is built with ASan (its memory is too large to scan)")
        auth = {"Authorization": "Bearer " + tok}
        other = "ward-other-request-" + secrets.token_hex(8)
        # a finished request whose code must not linger in the heap
        s.ok(py("print(1) # " + other + "\n" + "#" * 100000), headers=auth)
        res = {}
        th = threading.Thread(target=lambda: res.update(r=s.execute(
            py("import time; time.sleep(4); print('done')"), headers=auth)))
        th.start()
        deadline = time.monotonic() + 30
        inits = []
        while not inits and time.monotonic() < deadline:
            inits = box_inits(s.proc.pid)
            time.sleep(0.05)
        expect(inits, "no box init found below the server")
        init = inits[0]
        null = os.stat("/dev/null")
        for fd in (0, 1, 2):  # its path reads differently from the box's mounts
            st = os.stat("/proc/%d/fd/%d" % (init, fd))
            expect_eq((st.st_rdev, st.st_ino), (null.st_rdev, null.st_ino),
                      "the box init's fd %d is /dev/null (%s)" % (
                          fd, os.readlink("/proc/%d/fd/%d" % (init, fd))))
        expect(not mem_contains(init, tok.encode()), "the token is in the box init's memory")
        expect(not mem_contains(init, other.encode()),
               "another request's code is in the box init's memory")
        th.join(60)
        expect_eq(res["r"][0], 200, "the request ran")
        expect_eq(s.stop(), 0, "exit status")
    finally:
        s.kill()


def test_per_ip_limit(t):
    """max_connections_per_ip: the connection past it is closed unanswered."""
    s = Server(t, {"max_connections_per_ip": 4})
    socks = []
    try:
        for _ in range(4):
            socks.append(socket.create_connection(("127.0.0.1", s.port)))
        time.sleep(0.2)
        k = socket.create_connection(("127.0.0.1", s.port))
        socks.append(k)
        k.settimeout(10)
        try:
            k.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            got = k.recv(100)
        except OSError:
            got = b""
        expect_eq(got, b"", "the fifth connection from one address")
        for k in socks:
            k.close()
        socks = []
        time.sleep(0.2)
        expect_eq(s.request("GET", "/healthz")[0], 200, "served once the others left")
    finally:
        for k in socks:
            k.close()
        s.kill()


PISTON_CLIENT_JS = """
import piston from 'piston-client';
const client = piston({server: process.argv[2]});
const rts = await client.runtimes();
const py = await client.execute('python', 'print(input() * 2)', {stdin: 'ab'});
const c = await client.execute('c', '#include <stdio.h>\\nint main(int n, char **v) { printf("%s%s", v[1], v[3]); }');
const bad = await client.execute({language: 'python', version: '9.9.9', files: [{content: '1'}]});
console.log(JSON.stringify({runtimes: rts.map(r => r.language), py: py.run.stdout,
                            c: c.run && c.run.stdout, bad: bad.message || bad}));
"""


def test_piston_client(t):
    """The npm piston-client package, unchanged, against ward serve."""
    if not installed("npm") or not installed("node"):
        raise Skip("no npm or node")
    d = t.mkdir("npm")
    r = subprocess.run(["npm", "install", "--prefix", d, "--cache", os.path.join(d, "cache"),
                        "--no-audit", "--no-fund", "--loglevel=error", "piston-client@1"],
                       capture_output=True, timeout=180, cwd=d)
    if r.returncode != 0:
        raise Skip("npm could not install piston-client: %s" % r.stderr[-300:])
    script = os.path.join(d, "client.mjs")
    with open(script, "w") as f:
        f.write(PISTON_CLIENT_JS)
    s = server(t)
    r = subprocess.run(["node", script, "http://127.0.0.1:%d" % s.port], capture_output=True,
                       timeout=120, cwd=d)
    expect_eq(r.returncode, 0, "node's exit status (%r)" % r.stderr[-2000:])
    got = json.loads(r.stdout[:READ_CAP])
    expect_in("python", got["runtimes"], "runtimes")
    expect_eq(got["py"], "abab\n", "python through piston-client")
    if installed("gcc"):
        expect_eq(got["c"], "13", "c through piston-client (args 1 2 3)")
    expect_in("runtime is unknown", got["bad"], "an unknown version")

# --- the native endpoint (/api/v1/run) ----------------------------------------

def native(s, req):
    return s.request("POST", "/api/v1/run", req)


def test_native_report(t):
    """/api/v1/run answers Piston's fields and ward's report; policy text is
    refused by a server that does not allow it, naming the field."""
    s = server(t)
    st, _, body = native(s, py("import sys; print(1); sys.exit(3)"))
    expect_eq(st, 200, "status (%r)" % body)
    run = body["run"]
    expect_eq((run["stdout"], run["code"]), ("1\n", 3), "Piston's fields")
    rep = run["report"]
    expect_eq((rep["status"], rep["exit_code"]), ("exited", 3), "report status and exit code")
    for k in ("wall_time_s", "cpu_time_s", "peak_memory_bytes"):
        expect(isinstance(rep[k], (int, float)) and rep[k] >= 0, "report usage %s" % k)
    expect(rep["limits"]["memory"] > 0, "report limits")
    expect_in("memory", rep["limit_source"], "report limit sources")
    expect(isinstance(rep["layers"], list) and rep["layers"], "report layers")
    # the limits stay capped by the server
    st, _, body = native(s, py("print(1)", run_timeout=10 ** 9))
    expect_eq(st, 400, "a limit above the server's (%r)" % body)
    # a built-in profile by name; an unknown one refused
    st, _, body = native(s, py("print(1)", profile="python3"))
    expect_eq(st, 200, "profile python3 (%r)" % body)
    st, _, body = native(s, py("print(1)", profile="../x"))
    expect_eq(st, 400, "unknown profile")
    expect_in("profile", body["message"], "message names the field")
    # policy text off by default: 400 naming the field
    st, _, body = native(s, py("print(1)", policy="net loopback"))
    expect_eq(st, 400, "policy text on a server without allow_policy")
    expect_in("policy", body["message"], "message names the field")
    expect_in("allow_policy", body["message"], "message names the key")


def test_native_policy(t):
    """With allow_policy, policy text acting on the client's own box
    applies; host paths (ro, rw, file, include), limits, tmpfs and env
    pass-through of the server's own variables are refused with 400 naming
    the line, before any host path is looked up (the same message whether
    it exists or not); a denial shows in the report of an audited run."""
    outside = t.write("native-outside/secret.txt", "outside-secret\n")
    s = Server(t, {"allow_policy": True}, extra_env={"SERVER_SECRET": "hunter2"})
    try:
        st, _, body = native(s, py("import os; print(os.environ.get('GREETING'))",
                                   policy="# a comment\nenv GREETING=hi\n"))
        expect_eq(st, 200, "an allowed policy (%r)" % body)
        expect_eq(body["run"]["stdout"], "hi\n", "the policy's variable")
        bad = [("ro /etc /data", 1, "not allowed"),
               ("\nrw %s /data" % os.path.dirname(outside), 2, "not allowed"),
               ("ro /root/nonexistent /data", 1, "not allowed"),
               ("include python3", 1, "not allowed"),
               ("env SERVER_SECRET", 1, "NAME=VALUE"),
               ("memory 64G", 1, "not allowed"),
               ("file /x %s" % outside, 1, "not allowed"),
               ("tmpfs /big 64G", 1, "not allowed"),
               ("memroy 1", 1, "not allowed")]
        for text, line, why in bad:
            st, _, body = native(s, py("import os; print(os.environ.get('SERVER_SECRET'))",
                                       policy=text))
            expect_eq(st, 400, "policy %r refused (%r)" % (text, body))
            expect_in("policy:%d:" % line, body["message"], "the line named for %r" % text)
            expect_in(why, body["message"], "the reason for %r" % text)
            expect_not_in("exist", body["message"], "nothing told of host paths for %r" % text)
        # a denial in the report when auditing is on
        st, _, body = native(s, py("try:\n open('/etc/shadow')\nexcept OSError as e:\n print(e)",
                                   audit=True))
        expect_eq(st, 200, "audited run (%r)" % body)
        denials = body["run"]["report"].get("denials") or []
        expect(any(d.get("path") == "/etc/shadow" for d in denials),
               "the refused open in the report's denials: %r" % denials)
        st, _, body = native(s, py("print(1)", policy="audit on\n"))
        expect_eq(st, 200, "audit through the policy text (%r)" % body)
        expect_in("denials", body["run"]["report"], "an audited report lists denials")
    finally:
        s.stop()


def test_zz_shared_stops(t):
    """The shared server drains and exits 0 (last)."""
    s = _shared.pop("s", None)
    if s is None:
        raise Skip("no shared server started")
    expect_eq(s.stop(), 0, "exit status after SIGTERM")


if __name__ == "__main__":
    # meson's timeout sends SIGTERM: exit through atexit, which stops the
    # servers still running (they are in sessions of their own).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
