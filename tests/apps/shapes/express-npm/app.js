// An express service started by `npm start`.
const express = require('express');
const app = express();
const port = process.env.PORT || 8080;

app.get('/', (req, res) => res.json({
  greeting: 'hello',
  event: process.env.npm_lifecycle_event || null,
  express: require('express/package.json').version,
  pid: process.pid,
}));
app.get('/healthz', (req, res) => res.send('ok'));

app.listen(port, () => console.log(`greeter listening on ${port}`));
