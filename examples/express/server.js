// The express example: an ordinary Express app, nothing nrun-specific.
const express = require('express');

const app = express();
const port = Number(process.env.PORT || 3000);

app.get('/', (req, res) => {
  res.type('text/plain').send(`hello from express, pid ${process.pid}\n`);
});

app.get('/health', (req, res) => {
  res.json({ status: 'ok', express: require('express/package.json').version });
});

const server = app.listen(port, () => {
  console.log(`listening on ${port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
