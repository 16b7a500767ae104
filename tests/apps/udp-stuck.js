// A worker that floods its cluster channel with requests whose answers it
// does not read (exitedAfterDisconnect acks echo a 60 KB seq), so the
// master's output to it backs up (720 KB: past the socket's buffer, under
// the 1 MiB past which the master stops reading), then asks for dgram
// sockets: the master cannot hand them over.  Then it serves HTTP on PORT.
'use strict';
const fs = require('fs');
const http = require('http');
{
  const big = 'x'.repeat(60000);
  const lines = [];
  for (let i = 0; i < 12; i++)
    lines.push(`{"cmd":"NODE_CLUSTER","act":"exitedAfterDisconnect","seq":"${big}"}`);
  for (let i = 0; i < 10; i++)
    lines.push(`{"cmd":"NODE_CLUSTER","act":"queryServer","address":"127.0.0.1","port":0,"addressType":"udp4","fd":-1,"index":${100 + i},"seq":${2000 + i}}`);
  const buf = Buffer.from(lines.join('\n') + '\n');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(3, buf, off, buf.length - off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
  // not reading the channel while the master works through all that
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
  http.createServer((q, res) => res.end('ok\n')).listen(Number(process.env.PORT));
}
