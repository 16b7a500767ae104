// socket.io over HTTP long-polling: the handshake's session lives in the
// memory of the worker that made it, so every request of a client must
// reach that worker.  Answers on $PORT; GET /pid says which worker answers.
'use strict';
const http = require('http');
const { Server } = require('socket.io');
const port = Number(process.env.PORT || 3000);
const server = http.createServer((req, res) => {
  if (req.url === '/pid') { res.end(process.pid + '\n'); return; }
  res.statusCode = 404;
  res.end();
});
const io = new Server(server, { transports: ['polling'] });
io.on('connection', (socket) => {
  socket.on('ping-me', (v) => socket.emit('pong', v, process.pid));
});
server.listen(port, () => console.log('socket.io on ' + port + ' pid ' + process.pid));
