// The app of the compose tests: answers "app got: <body>" with what
// http://$UPSTREAM answers (a second service, reached by its service name).
'use strict';
const http = require('http');
const port = Number(process.env.PORT || 3000);
http.createServer((req, res) => {
  http.get('http://' + process.env.UPSTREAM, (up) => {
    let body = '';
    up.on('data', (d) => { body += d; });
    up.on('end', () => res.end('app got: ' + body));
  }).on('error', (e) => { res.statusCode = 502; res.end('app error: ' + e.code + '\n'); });
}).listen(port, () => console.log('app listening on ' + port));
