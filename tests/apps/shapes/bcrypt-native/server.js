// Password hashes through bcrypt, a native module compiled in the build
// stage (node-gyp, node-addon-api).  Stateless: any worker answers.
const bcrypt = require('bcrypt');

require('http').createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    if (req.method === 'POST' && req.url === '/hash') {
      const hash = bcrypt.hashSync(body, 4);
      return res.end(JSON.stringify({hash, rounds: bcrypt.getRounds(hash)}) + '\n');
    }
    if (req.method === 'POST' && req.url === '/check') {
      let q;
      try { q = JSON.parse(body); } catch { res.statusCode = 400; return res.end('{}\n'); }
      return res.end(JSON.stringify({ok: bcrypt.compareSync(String(q.password), String(q.hash))}) + '\n');
    }
    if (req.url === '/healthz')
      return res.end(JSON.stringify({bcrypt: require('bcrypt/package.json').version}) + '\n');
    res.statusCode = 404;
    res.end('{}\n');
  });
}).listen(3000);
