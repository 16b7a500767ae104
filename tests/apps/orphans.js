// Spawns children that fork grandchildren and exit at once: the grandchildren
// are re-parented to the supervisor, which must reap them when they exit.
'use strict';
const { spawn } = require('child_process');
const http = require('http');
http.createServer((req, res) => {
  for (let i = 0; i < 5; i++)
    spawn('sh', ['-c', 'sleep 0.3 & sleep 0.2 & exit 0'], { stdio: 'ignore', detached: true }).unref();
  res.end('spawned\n');
}).listen(Number(process.env.PORT));
