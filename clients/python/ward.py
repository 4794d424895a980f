"""ward — call the host's functions from inside a ward box.

    import ward
    post = ward.call("get_post", 3)
    post = ward.fn.get_post(3)

A failed call raises ward.Error (its .code and .message come from the
host). The protocol is in ward's docs/PROTOCOL.md: on the file descriptor
named by WARD_CHANNEL_FD, a 4-byte big-endian length and a JSON request
{"id", "fn", "args"}; the reply has "result" or "error". Standard library
only.
"""

import json
import os
import struct
import threading

__all__ = ["Error", "call", "fn"]


class Error(Exception):
    """A call the host refused or that failed."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


_lock = threading.Lock()
_fd = None
_next_id = 0
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_header = struct.Struct(">I")


def _channel():
    global _fd
    if _fd is None:
        value = os.environ.get("WARD_CHANNEL_FD")
        if not value:
            raise Error("no-channel", "WARD_CHANNEL_FD is not set: this box has no host functions")
        _fd = int(value)
    return _fd


def _read_exact(fd, n):
    data = os.read(fd, n)
    while len(data) < n:
        more = os.read(fd, n - len(data))
        if not more:
            raise Error("closed", "the host closed the channel")
        data += more
    return data


def call(name, *args):
    """Calls the host function `name` with JSON-serialisable args and
    returns its JSON result."""
    global _next_id
    body = None
    with _lock:
        fd = _channel()
        _next_id += 1
        body = _encode({"id": _next_id, "fn": name, "args": args}).encode()
        msg = memoryview(_header.pack(len(body)) + body)
        while msg:
            msg = msg[os.write(fd, msg):]
        (n,) = _header.unpack(_read_exact(fd, 4))
        reply = json.loads(_read_exact(fd, n))
    error = reply.get("error")
    if error is not None:
        raise Error(error.get("code"), error.get("message"))
    return reply.get("result")


class _Functions:
    """ward.fn.NAME(*args) is ward.call("NAME", *args)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *args: call(name, *args)


fn = _Functions()
