// Listens, then crashes shortly after: drives restarts, backoff and the crash loop.
'use strict';
const http = require('http');
http.createServer((req, res) => res.end('ok\n')).listen(Number(process.env.PORT), () => {
  console.log('up ' + process.pid);
  setTimeout(() => { console.error('crashing ' + process.pid); process.exit(1); }, Number(process.env.CRASH_AFTER || 150));
});
