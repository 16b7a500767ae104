// A worker that writes requests onto its cluster channel (fd 3) and reads
// none of the answers (exitedAfterDisconnect acks echo a 60 KB seq): up to
// 40 MB, or until the master has not taken any for 2 s.  Then it serves HTTP
// on PORT.
'use strict';
const fs = require('fs');
const http = require('http');
const line = Buffer.from(`{"cmd":"NODE_CLUSTER","act":"exitedAfterDisconnect","seq":"${'x'.repeat(60000)}"}\n`);
let sent = 0, off = 0, since = Date.now();
while (sent < 40 << 20 && Date.now() - since < 2000) {
  try {
    const n = fs.writeSync(3, line, off, line.length - off);
    off = (off + n) % line.length;
    sent += n;
    since = Date.now();
  } catch (e) {
    if (e.code !== 'EAGAIN') throw e;
  }
}
// the rest of a cut line, once the loop reads the channel again (Node's own
// requests must not be glued to it)
function finish() {
  try {
    while (off) {
      const n = fs.writeSync(3, line, off, line.length - off);
      off = (off + n) % line.length;
      sent += n;
    }
  } catch (e) {
    if (e.code !== 'EAGAIN') throw e;
    return setTimeout(finish, 10);
  }
  console.log(`sent ${sent}`);
  http.createServer((q, res) => res.end('ok\n')).listen(Number(process.env.PORT));
}
finish();
