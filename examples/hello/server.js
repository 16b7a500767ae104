// The hello example: a plain Node HTTP server with no knowledge of nrun.
// Under nrun it runs as cluster workers behind the supervisor's port.
const http = require('http');

const port = Number(process.env.PORT || 3000);
const server = http.createServer((req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.end(`hello from pid ${process.pid}\n`);
});
server.listen(port, () => {
  console.log(`listening on ${port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
