// An express service on FROM alpine:3.19 with node from `apk add nodejs npm`
// (Debian's nodejs and npm here: tests/e2e/build_alpine.bats).
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
