// A token server for docker-registry's token auth (the Bearer flow), as a
// test fixture: it plays the external auth service a registry trusts.
// GET /token?service=S&scope=repository:NAME:ACTIONS (any number of scope
// params), with optional Basic credentials.  Users come from --users
// "name:password,..."; a known user gets every action asked for, anybody
// else a token with no access (the registry then refuses).  The token is a
// JWT signed RS256 with --key; its x5c header carries --cert, which the
// registry's auth.token.rootcertbundle trusts.  Each request is appended to
// --log as one JSON line; the port is written to --port-file.
'use strict';
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const key = fs.readFileSync(args.key);
const certDer = Buffer.from(
  fs.readFileSync(args.cert, 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
const users = new Map((args.users || '').split(',').filter(Boolean).map((u) => {
  const i = u.indexOf(':');
  return [u.slice(0, i), u.slice(i + 1)];
}));
const b64u = (b) => Buffer.from(b).toString('base64url');

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  let user = null;
  const auth = req.headers.authorization || '';
  if (auth.startsWith('Basic ')) {
    const plain = Buffer.from(auth.slice(6), 'base64').toString();
    const i = plain.indexOf(':');
    const name = plain.slice(0, i);
    if (users.get(name) !== plain.slice(i + 1)) {
      fs.appendFileSync(args.log, JSON.stringify({ bad: name }) + '\n');
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end('{"details":"wrong username or password"}');
      return;
    }
    user = name;
  }
  const scopes = url.searchParams.getAll('scope');
  fs.appendFileSync(args.log, JSON.stringify({ user, service: url.searchParams.get('service'), scopes }) + '\n');
  const access = [];
  for (const s of scopes) {
    for (const one of s.split(' ')) {
      const [type, name, actions] = [one.split(':')[0], one.split(':').slice(1, -1).join(':'), one.split(':').pop()];
      if (type === 'repository' && user) access.push({ type, name, actions: actions.split(',') });
    }
  }
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')] };
  const claims = { iss: args.issuer, sub: user || '', aud: url.searchParams.get('service'), exp: now + 300,
    nbf: now - 10, iat: now, jti: crypto.randomBytes(8).toString('hex'), access };
  const data = b64u(JSON.stringify(header)) + '.' + b64u(JSON.stringify(claims));
  const sig = crypto.sign('sha256', Buffer.from(data), key);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ token: data + '.' + b64u(sig), expires_in: 300 }));
});
server.listen(0, '127.0.0.1', () => fs.writeFileSync(args['port-file'], String(server.address().port)));
