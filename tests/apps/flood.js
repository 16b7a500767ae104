// Serves HTTP while flooding stdout (1 KB lines, bursts every ms) and writing
// one 100 KB line without a newline in between: the log collector must keep
// lines whole, split the long one, and keep serving the other workers.
'use strict';
const http = require('http');
const pad = 'x'.repeat(1000);
let n = 0;
http.createServer((req, res) => res.end('ok ' + process.pid + '\n')).listen(Number(process.env.PORT), () => {
  process.stdout.write('L'.repeat(100000) + '\n');
  const t = setInterval(() => {
    for (let i = 0; i < 64; i++) process.stdout.write('flood ' + process.pid + ' ' + (n++) + ' ' + pad + '\n');
  }, 1);
  setTimeout(() => clearInterval(t), Number(process.env.FLOOD_MS || 3000));
});
