// A plain HTTP server: answers "hello from <pid>" on $PORT (default 3000).
'use strict';
const http = require('http');
const port = Number(process.env.PORT || 3000);
http.createServer((req, res) => {
  if (req.url === '/crash') process.exit(3);
  if (req.url === '/hang') { for (;;) {} }
  if (req.url === '/leave') {
    // leave the cluster but keep running (a timer): the supervisor must notice
    require('cluster').worker.disconnect();
    setInterval(() => {}, 1000);
    res.end('leaving\n');
    return;
  }
  if (req.url === '/grow') { global.hog = Buffer.alloc(150e6, 1); res.end('grown\n'); return; }
  if (req.url.startsWith('/slow')) {
    const ms = Number(req.url.split('/')[2] || 300);
    setTimeout(() => res.end('slow ' + process.pid + '\n'), ms);
    return;
  }
  res.end('hello from ' + process.pid + '\n');
}).listen(port, () => console.log('listening on ' + port + ' pid ' + process.pid));
