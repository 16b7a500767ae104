// The app of the redis/postgres compose test (tests/e2e/base_db.bats): no
// npm client library, only node's net module.  GET / counts the visit in
// redis (INCR over RESP, the service named by REDIS_HOST) and says whether
// postgres (PGHOST) accepts a TCP connection: "visits N, postgres up".
'use strict';
const http = require('http');
const net = require('net');

function incr(host, cb) {
  const s = net.connect(6379, host);
  let buf = '';
  s.on('connect', () => s.write('*2\r\n$4\r\nINCR\r\n$6\r\nvisits\r\n'));
  s.on('data', (d) => {
    buf += d;
    if (buf.endsWith('\r\n')) { s.end(); cb(null, buf.trim()); }
  });
  s.on('error', (e) => cb(e));
}

function reachable(host, port, cb) {
  const s = net.connect(port, host, () => { s.end(); cb(true); });
  s.on('error', () => cb(false));
}

http.createServer((req, res) => {
  incr(process.env.REDIS_HOST, (err, reply) => {
    if (err) { res.statusCode = 502; return res.end('redis error: ' + err.code + '\n'); }
    reachable(process.env.PGHOST, 5432, (up) => {
      res.end('visits ' + reply.replace(/^:/, '') + ', postgres ' + (up ? 'up' : 'down') + '\n');
    });
  });
}).listen(3000, () => console.log('app listening on 3000'));
