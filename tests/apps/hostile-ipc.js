// A worker that, once listening, writes garbage and forged messages straight
// onto its cluster channel (fd 3): the master must ignore the garbage, refuse
// what it cannot serve, cap what a worker can make it open, and keep serving.
'use strict';
const fs = require('fs');
const http = require('http');
http.createServer((req, res) => res.end('still fine ' + process.pid + '\n')).listen(Number(process.env.PORT), () => {
  const lines = [
    'not json at all',
    '{"cmd":"NODE_CLUSTER","ack":"x"}',
    '{"cmd":"NODE_CLUSTER","act":"queryServer","port":"x","addressType":"udp4","seq":900}',
    '{"cmd":"NODE_CLUSTER","act":"close","key":42}',
    '{"cmd":"NODE_NRUN","act":"conn","closed":-5}',
    '{"cmd":"NODE_CLUSTER","ack":999999,"accepted":true,"seq":1}',
    '[1,2,{"cmd":3}]',
    '"\\u0000"',
    '{"cmd":"NODE_CLUSTER","act":"queryServer","address":"not-an-ip","port":1,"addressType":4,"seq":901}',
    // a forged log line and terminal escapes (ESC, and C1's CSI in UTF-8) in the address PID 1 logs
    '{"cmd":"NODE_CLUSTER","act":"queryServer","address":"bad\\nnrun: forged-line \\u001b[2J \\u009b2J","port":1,"addressType":4,"seq":902}',
  ];
  // Many listeners (ephemeral ports on distinct loopback addresses): query, "close", query the next...
  for (let i = 0; i < 80; i++) {
    const addr = `127.0.1.${i + 1}`;
    lines.push(`{"cmd":"NODE_CLUSTER","act":"queryServer","address":"${addr}","port":0,"addressType":4,"index":0,"seq":${1000 + i}}`);
    lines.push(`{"cmd":"NODE_CLUSTER","act":"close","key":"${addr}:0:4::0"}`);
  }
  fs.writeSync(3, lines.join('\n') + '\n' + 'x'.repeat(100000) + '\n');
});
