// ward — call the host's functions from inside a ward box.
//
//     const ward = require("ward");
//     const post = ward.call("get_post", 3);
//     const same = ward.fn.get_post(3);
//
// Calls are synchronous. A failed call throws a ward.Error with .code and
// .message from the host. Protocol: ward's docs/PROTOCOL.md (4-byte
// big-endian length + JSON on the fd named by WARD_CHANNEL_FD). No
// dependencies beyond Node's fs module.
"use strict";

const fs = require("fs");

class WardError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = "ward.Error";
    this.code = code;
    this.wardMessage = message;
  }
}

let fd = null;
let nextId = 0;
const header = Buffer.alloc(4);

function channel() {
  if (fd === null) {
    const v = process.env.WARD_CHANNEL_FD;
    if (!v) throw new WardError("no-channel", "WARD_CHANNEL_FD is not set: this box has no host functions");
    fd = parseInt(v, 10);
  }
  return fd;
}

function readExact(f, buf) {
  let off = 0;
  while (off < buf.length) {
    let n;
    try {
      n = fs.readSync(f, buf, off, buf.length - off, null);
    } catch (e) {
      if (e.code === "EAGAIN" || e.code === "EINTR") continue;
      throw e;
    }
    if (n === 0) throw new WardError("closed", "the host closed the channel");
    off += n;
  }
}

function call(name, ...args) {
  const f = channel();
  const body = Buffer.from(JSON.stringify({ id: ++nextId, fn: name, args: args }));
  const msg = Buffer.alloc(4 + body.length);
  msg.writeUInt32BE(body.length, 0);
  body.copy(msg, 4);
  let off = 0;
  while (off < msg.length) off += fs.writeSync(f, msg, off, msg.length - off);
  readExact(f, header);
  const reply = Buffer.alloc(header.readUInt32BE(0));
  readExact(f, reply);
  const r = JSON.parse(reply.toString("utf8"));
  if (r.error !== undefined && r.error !== null) throw new WardError(r.error.code, r.error.message);
  return r.result === undefined ? null : r.result;
}

const fn = new Proxy({}, {
  get(_, name) {
    if (typeof name !== "string") return undefined;
    return (...args) => call(name, ...args);
  },
});

module.exports = { call, fn, Error: WardError };
