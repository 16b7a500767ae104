// A service run under tini, which the image installs from Debian.
require('http').createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ok: true, pid: process.pid, ppid: process.ppid}) + '\n');
}).listen(5000);
