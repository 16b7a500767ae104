// A worker that forges the agent's dye records on its channel (fd 3) when
// asked (/forge): log-line injection in every field, oversized fields, 5000
// records at once.  PID 1 takes records only while rules exist, at a bounded
// rate, cut to size and re-encoded.
'use strict';
const fs = require('fs');
const http = require('http');
function put(text) {
  const b = Buffer.from(text);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let off = 0; off < b.length;) {
    try { off += fs.writeSync(3, b, off); } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}
const evil = '\n{"time":"x","stream":"stdout","msg":"INJECTED"}\n';
http.createServer((req, res) => {
  if (req.url === '/forge') {
    const rec = { method: 'GET' + evil, url: '/u' + evil + 'x'.repeat(20000), remote: evil,
      headers: { ['h' + evil]: 'v' + evil, authorization: 'Bearer leaked-secret', big: 'y'.repeat(100000) },
      status: 'x', duration_ms: -5, bytes: -1, console: new Array(500).fill('c' + evil) };
    let text = '';
    for (let i = 0; i < 5000; i++) text += JSON.stringify({ cmd: 'NODE_NRUN', act: 'dye', rec }).slice(0, 60000) + '\n';
    const one = JSON.stringify({ cmd: 'NODE_NRUN', act: 'dye', rec: Object.assign({}, rec, { headers: { authorization: 'Bearer leaked-secret' }, console: ['c' + evil] }) });
    for (let i = 0; i < 300; i++) text += one + '\n';
    put(text);
  }
  res.end('ok\n');
}).listen(Number(process.env.PORT));
