// An express service on FROM alpine:3.19 with node from `apk add nodejs npm`
// (Alpine 3.19's node 20: the pinned release node:20 has, here;
// tests/e2e/build_alpine.bats).
const express = require('express');
const app = express();
const port = process.env.PORT || 8080;

app.get('/', (req, res) => res.json({
  greeting: 'hello from alpine',
  node: process.execPath,
  express: require('express/package.json').version,
}));
app.get('/healthz', (req, res) => res.send('ok'));

app.listen(port, () => console.log(`listening on ${port}`));
