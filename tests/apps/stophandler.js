// An HTTP server with its own handler for the stop signal ($STOP_SIG,
// default SIGTERM), as apps that flush or close a database pool on shutdown
// have: the handler logs "stop handler <signal> <pid> inflight=<n>" and
// exits.  /slow/<ms> answers after <ms>.
'use strict';
const http = require('http');
const port = Number(process.env.PORT || 3000);
const sig = process.env.STOP_SIG || 'SIGTERM';
let inflight = 0;
const server = http.createServer((req, res) => {
  inflight++;
  res.on('finish', () => inflight--);
  if (req.url.startsWith('/slow')) {
    setTimeout(() => res.end('slow ' + process.pid + '\n'), Number(req.url.split('/')[2] || 300));
    return;
  }
  res.end('hello from ' + process.pid + '\n');
}).listen(port, () => console.log('listening on ' + port + ' pid ' + process.pid));
process.on(sig, (name) => {
  console.log('stop handler ' + name + ' ' + process.pid + ' inflight=' + inflight);
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 200).unref();
});
