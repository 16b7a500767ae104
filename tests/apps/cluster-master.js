// Node's own cluster as the peer for bench/supervisor.sh: WORKERS workers of
// hello.js, round-robin scheduling (NODE_CLUSTER_SCHED_POLICY=rr).
'use strict';
const cluster = require('cluster');
const path = require('path');
cluster.setupPrimary({ exec: path.join(__dirname, 'hello.js') });
const n = Number(process.env.WORKERS || 2);
for (let i = 0; i < n; i++) cluster.fork();
process.on('SIGTERM', () => { for (const id in cluster.workers) cluster.workers[id].kill(); process.exit(0); });
