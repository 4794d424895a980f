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
import socket
import struct
import threading
import time

__all__ = ["Error", "call", "fn"]


class Error(Exception):
    """A call the host refused or that failed."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


_lock = threading.Lock()
_sock = None
_next_id = 0
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_header = struct.Struct(">I")
# How long to wait for a reply awake before sleeping: a reply usually comes
# within tens of microseconds, and waking a vCPU that went idle can cost as
# much again. When a spin comes up empty (busy CPUs, a slow host
# function), the next _SPIN_SKIP calls block at once.
_SPIN_NS = 100000
_SPIN_SKIP = 8
_skip = 0
_DONTWAIT = socket.MSG_DONTWAIT


def _channel():
    global _sock
    if _sock is None:
        value = os.environ.get("WARD_CHANNEL_FD")
        if not value:
            raise Error("no-channel", "WARD_CHANNEL_FD is not set: this box has no host functions")
        # A socket object on a private copy, so that WARD_CHANNEL_FD stays
        # open for child processes whatever happens to this object.
        _sock = socket.socket(fileno=os.dup(int(value)))
    return _sock


def _recv(sock):
    data = sock.recv(65536)
    if not data:
        raise Error("closed", "the host closed the channel")
    return data


def call(name, *args):
    """Calls the host function `name` with JSON-serialisable args and
    returns its JSON result."""
    global _next_id, _skip
    with _lock:
        sock = _channel()
        _next_id += 1
        body = _encode({"id": _next_id, "fn": name, "args": args}).encode()
        sock.sendall(_header.pack(len(body)) + body)
        data = b""
        if _skip:
            _skip -= 1
        else:
            deadline = time.perf_counter_ns() + _SPIN_NS
            while True:
                try:
                    data = sock.recv(65536, _DONTWAIT)
                    break
                except BlockingIOError:
                    if time.perf_counter_ns() > deadline:
                        _skip = _SPIN_SKIP
                        break
        while len(data) < 4:
            data += _recv(sock)
        end = 4 + _header.unpack_from(data)[0]
        while len(data) < end:
            data += _recv(sock)
        reply = json.loads(data[4:end])
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
