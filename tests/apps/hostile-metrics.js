// A worker that forges the agent's metrics batches on its cluster channel
// (fd 3): label injection, wrong types, NaN, negative and huge numbers,
// thousands of method/code pairs, a multi-megabyte batch, over and over.
// PID 1 must drop what is bad, keep a bounded record, and stay small.
'use strict';
const fs = require('fs');
const http = require('http');
const hist = new Array(12).fill(1);
const base = { cmd: 'NODE_NRUN', act: 'metrics', hist, sum: 1, inflight: 0, bytes: 1, heap: 1, handles: 1, gc: 0 };
const forged = [
  Object.assign({}, base, { req: [['GET"} evil_injected 1\n# x', 200, 1]] }),
  Object.assign({}, base, { req: [['get', 200, 1]] }),
  Object.assign({}, base, { req: [['GET', 'x', 1]] }),
  Object.assign({}, base, { req: [['GET', 200.5, 1]] }),
  Object.assign({}, base, { req: [['GET', 99999, 1]] }),
  Object.assign({}, base, { req: [['GET', 200, -1]] }),
  Object.assign({}, base, { req: [['GET', 200, 1e300]] }),
  Object.assign({}, base, { req: 'x' }),
  Object.assign({}, base, { req: [], hist: [1, 2] }),
  Object.assign({}, base, { req: [], heap: 'evil_injected' }),
  Object.assign({}, base, { req: [], el: [1, 2] }),
];
const many = [];
for (let i = 0; i < 2500; i++) many.push(['A'.repeat(1 + (i % 11)), 100 + (i % 500), i]);
const huge = JSON.stringify(Object.assign({}, base, { req: many }));
// the channel is non-blocking: write all of it, waiting out EAGAIN
function put(text) {
  const b = Buffer.from(text);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let off = 0; off < b.length;) {
    try {
      off += fs.writeSync(3, b, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}
let round = 0;
function flood() {
  let text = forged.map((m) => JSON.stringify(m).replace('1e+300', '1e300')).join('\n') + '\n';
  text += '{"cmd":"NODE_NRUN","act":"metrics","req":[["GET",200,NaN]],"hist":' + JSON.stringify(hist) + '}\n';
  text += huge + '\n';
  put(text);
  if (++round < 15) {
    setTimeout(flood, 50);
    return;
  }
  console.log('flooded');
  // then only the big one, again and again (the agent's own batch comes once a second)
  setInterval(() => put(huge + '\n' + 'x'.repeat(4e6) + '\n' + JSON.stringify(Object.assign({}, base, { req: many.concat(many) })) + '\n'), 250);
}
http.createServer((req, res) => res.end('still fine ' + process.pid + '\n')).listen(Number(process.env.PORT), flood);
