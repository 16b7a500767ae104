// Listens at once but is "ready" only 500 ms later (process.send('ready')), for --wait-ready.
'use strict';
const http = require('http');
http.createServer((req, res) => res.end('ready-app ' + process.pid + '\n')).listen(Number(process.env.PORT), () => {
  setTimeout(() => process.send && process.send('ready'), 500);
});
