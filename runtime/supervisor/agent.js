// nrun's worker agent, preloaded with NODE_OPTIONS=--require into cluster
// workers started by the nrun supervisor.  It reports what only the worker
// sees, over the cluster channel as internal messages ({cmd:'NODE_NRUN'},
// invisible to the app): connections closed (for least-connections and
// draining), a heartbeat with event-loop lag, and it drains on request.
// It must not change the app's behaviour: no listeners the app can see, all
// timers unref'd, and outside an nrun worker it does nothing.
'use strict';
(function nrunAgent() {
  const cluster = require('cluster');
  if (!cluster.isWorker || typeof process.send !== 'function' || !process.channel) return;
  // Node sets a worker up only when it runs a file (process.argv[1]): for
  // `node -e` / `node -p` / stdin, do it here, or listen() would never return.
  if (!cluster.worker && typeof cluster._setupWorker === 'function') {
    cluster._setupWorker();
    delete process.env.NODE_UNIQUE_ID;
  }
  const net = require('net');
  const INTERVAL = 1000;
  let closed = 0;
  let reported = 0;
  let flushing = false;
  let draining = false;
  const live = new Set();

  function send(m) {
    if (!process.connected) return;
    try { process.send(Object.assign({ cmd: 'NODE_NRUN' }, m)); } catch (e) { /* channel closing */ }
  }
  function flush() {
    flushing = false;
    if (closed !== reported) {
      reported = closed;
      send({ act: 'conn', closed });
    }
  }

  // A worker that never listens (a script) must end when its work ends, as
  // it would without the cluster channel: the channel is unref'd until the
  // app asks for a server.
  process.channel.unref();
  const getServer = cluster._getServer;
  cluster._getServer = function () {
    if (process.channel) process.channel.ref();
    return getServer.apply(this, arguments);
  };

  // Draining: every response from now on says `Connection: close`; a socket
  // with no response in flight (Node's own socket._httpMessage) and no bytes
  // read across two sweeps 100 ms apart is idle and closed.  Nothing is added
  // per request before a drain.
  const emit = net.Server.prototype.emit;
  net.Server.prototype.emit = function (ev, a, b) {
    if (ev === 'connection' && a && typeof a.once === 'function' && !a._nrunTracked) {
      a._nrunTracked = true;
      live.add(a);
      a.once('close', () => {
        live.delete(a);
        closed++;
        // Batched: at most one report per 20 ms (at once while draining).
        if (draining) setImmediate(flush);
        else if (!flushing) { flushing = true; setTimeout(flush, 20).unref(); }
      });
    } else if (draining && ev === 'request' && b) {
      b.shouldKeepAlive = false;
    }
    return emit.apply(this, arguments);
  };

  function sweep() {
    for (const sock of live) {
      const busy = sock._httpMessage && !sock._httpMessage.finished;
      if (busy || sock.bytesRead !== sock._nrunRead) {
        sock._nrunRead = sock.bytesRead;
        sock._nrunIdle = false;
      } else if (sock._nrunIdle) {
        sock.destroy();
      } else {
        sock._nrunIdle = true;
      }
    }
  }

  function drain() {
    if (draining) return;
    draining = true;
    for (const sock of live) {
      const res = sock._httpMessage;
      if (res && !res.headersSent) res.shouldKeepAlive = false;
      sock._nrunRead = -1;
    }
    const t = setInterval(() => {
      sweep();
      if (live.size === 0) clearInterval(t);
    }, 100);
    t.unref();
    flush();
  }

  process.on('internalMessage', (m) => {
    if (m && m.cmd === 'NODE_NRUN' && m.act === 'drain') drain();
  });

  let last = Date.now();
  const hb = setInterval(() => {
    const now = Date.now();
    const lag = Math.max(0, now - last - INTERVAL);
    last = now;
    send({ act: 'ping', lag, closed });
    reported = closed;
  }, INTERVAL);
  hb.unref();
  send({ act: 'ping', lag: 0, closed: 0 });
})();
