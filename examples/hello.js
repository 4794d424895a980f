// Checksums of files, like sha256sum, with node's crypto module.
//
//     ward run -- node examples/hello.js [FILE...]
//
// Without FILE, reads standard input. Prints "SHA256  BYTES  NAME" per input.
'use strict';
const crypto = require('crypto');
const fs = require('fs');

function line(name, data) {
  const sum = crypto.createHash('sha256').update(data).digest('hex');
  return `${sum}  ${data.length}  ${name}`;
}

const files = process.argv.slice(2);
let status = 0;
if (files.length === 0) {
  console.log(line('-', fs.readFileSync(0)));
} else {
  for (const f of files) {
    try {
      console.log(line(f, fs.readFileSync(f)));
    } catch (e) {
      console.error(`hello.js: ${f}: ${e.code}`);
      status = 1;
    }
  }
}
process.exitCode = status;
