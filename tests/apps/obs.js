// An HTTP app for the observability tests: /status/NNN answers with that
// status, /log/TAG writes one line at each console level, /slow/MS waits,
// /late/TAG answers once the client has closed its connection.
'use strict';
const http = require('http');
const port = Number(process.env.PORT || 3000);
http.createServer((req, res) => {
  const [, what, arg] = req.url.split('?')[0].split('/');
  if (what === 'status') {
    res.statusCode = Number(arg) || 500;
    res.end('status ' + res.statusCode + '\n');
  } else if (what === 'log') {
    console.debug('debug-' + arg);
    console.info('info-' + arg);
    console.log('log-' + arg);
    console.warn('warn-' + arg);
    console.error('error-' + arg);
    res.end('logged ' + process.pid + '\n');
  } else if (what === 'late') {
    // ends its response only once the client has gone (an aborted request the app still answers)
    res.on('close', () => { res.end('late\n'); console.log('late end ' + arg); });
  } else if (what === 'slow') {
    setTimeout(() => res.end('slow\n'), Number(arg) || 100);
  } else {
    res.end('ok ' + process.pid + '\n');
  }
}).listen(port, () => console.log('listening on ' + port + ' pid ' + process.pid));
