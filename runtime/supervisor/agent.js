// nrun's worker agent, preloaded with NODE_OPTIONS=--require into cluster
// workers started by the nrun supervisor.  It reports what only the worker
// sees, over the cluster channel as internal messages ({cmd:'NODE_NRUN'},
// invisible to the app): connections closed (for least-connections and
// draining), a heartbeat with event-loop lag, and it drains on request.
// It must not change the app's behaviour: all timers unref'd, no listener
// the app can see once connected (until then, for an eval: a 'newListener'
// listener and a wrapper of Module._load, both removed at the connect), and
// outside an nrun worker it does nothing.
'use strict';
(function nrunAgent() {
  // `node -e` / `node -p`: Node sets a cluster worker up only when it runs a
  // file, so the supervisor hands such a worker its channel as NRUN_CHANNEL_FD
  // and the agent connects it when the code first needs it: a require() or
  // process.getBuiltinModule(), a process.send(), a look at process.connected
  // or process.channel, or a 'message' listener (a server needs a module).
  // Code that needs none of them (`node -e 0`, a computation) does not pay
  // the 3 to 6 ms of loading the channel, net and the cluster.
  const lazyFd = process.env.NRUN_CHANNEL_FD;
  if (lazyFd !== undefined) {
    const id = process.env.NRUN_UNIQUE_ID;
    delete process.env.NRUN_CHANNEL_FD;
    delete process.env.NRUN_UNIQUE_ID;
    const fd = Number(lazyFd);
    if (!Number.isInteger(fd) || fd < 0 || id === undefined || process.channel) return;
    if (typeof process._eval !== 'string' || /\bimport\b/.test(process._eval)) {
      // ES module code loads modules without require(): connect now.
      require('child_process')._forkChild(fd, 'json');
      process.env.NODE_UNIQUE_ID = id;
      agent();
      return;
    }
    const Module = require('module');
    const load = Module._load;
    let connected = false;
    const getBuiltin = process.getBuiltinModule; // Node >= 20.16: modules without require()
    const connect = () => {
      if (connected) return;
      connected = true;
      if (Module._load === hook) Module._load = load;
      if (getBuiltin && process.getBuiltinModule === builtinHook) process.getBuiltinModule = getBuiltin;
      process.removeListener('newListener', onListener);
      delete process.send;
      delete process.connected;
      delete process.channel;
      require('child_process')._forkChild(fd, 'json');
      process.env.NODE_UNIQUE_ID = id;
      agent();
    };
    // Node's eval itself loads 'module' (and 'vm') through Module._load;
    // neither can listen or start a process.
    const harmless = new Set(['module', 'node:module', 'vm', 'node:vm']);
    const hook = function (request) {
      if (!harmless.has(request)) connect();
      return load.apply(this, arguments);
    };
    const builtinHook = function getBuiltinModule(id) {
      if (!harmless.has(id)) connect();
      return getBuiltin.apply(this, arguments);
    };
    function onListener(name) {
      if (name === 'message' || name === 'disconnect') connect();
    }
    Module._load = hook;
    if (typeof getBuiltin === 'function') process.getBuiltinModule = builtinHook;
    process.on('newListener', onListener);
    Object.defineProperty(process, 'send', {
      configurable: true, writable: true, enumerable: false,
      value: function send() {
        connect();
        return process.send.apply(process, arguments);
      },
    });
    for (const name of ['connected', 'channel']) {
      Object.defineProperty(process, name, {
        configurable: true, enumerable: false,
        get() {
          connect();
          return process[name];
        },
        set(v) {
          Object.defineProperty(process, name, { configurable: true, writable: true, enumerable: true, value: v });
        },
      });
    }
    return;
  }
  agent();
})();

function agent() {
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
  let received = 0; // connections this worker got
  let closed = 0;   // ... of which closed: received - open
  let reported = 0;
  let draining = false;
  let poll = null;
  // Servers that got connections.  Per connection only a counter moves: Node
  // itself counts a server's open connections (server._connections), so a
  // poll every 20 ms while any is open derives the closed ones and reports
  // them.  (A listener, a property or a Set entry per socket cost the workers
  // 10 % of their throughput and raised p99 by a quarter under
  // `Connection: close`.)  Plain net servers, which have no list of their
  // sockets for the drain, are the exception: their sockets are tracked.
  const servers = new Set();
  const raw = new Set();
  const http = require('http');
  let kConnections; // http.Server's own list of its connections (Node >= 18.2)

  function send(m) {
    if (!process.connected) return;
    try { process.send(Object.assign({ cmd: 'NODE_NRUN' }, m)); } catch (e) { /* channel closing */ }
  }
  function count() {
    let open = 0;
    for (const srv of servers) open += srv._connections | 0;
    closed = Math.max(closed, received - open);
    if (closed !== reported) {
      reported = closed;
      send({ act: 'conn', closed });
    }
    if (open === 0 && poll) {
      clearInterval(poll);
      poll = null;
    }
  }
  function onRawClose() { raw.delete(this); }

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
    if (ev === 'connection') {
      received++;
      if (!servers.has(this)) servers.add(this);
      if (!(this instanceof http.Server) && a && typeof a.on === 'function') {
        raw.add(a);
        a.on('close', onRawClose);
      }
      if (!poll) {
        poll = setInterval(count, 20);
        poll.unref();
      }
    } else if (draining && ev === 'request' && b) {
      b.shouldKeepAlive = false;
    }
    return emit.apply(this, arguments);
  };

  // Every open socket, for the drain (once each: an https server's sockets
  // may be both tracked here and in its connection list).
  function sockets() {
    const all = new Set(raw);
    for (const srv of servers) {
      if (kConnections === undefined)
        kConnections = Object.getOwnPropertySymbols(srv).find((x) => String(x) === 'Symbol(http.server.connections)') || null;
      const list = kConnections && srv[kConnections];
      if (list && typeof list.all === 'function')
        for (const p of list.all()) if (p && p.socket && !p.socket.destroyed) all.add(p.socket);
    }
    return all;
  }

  function drain() {
    if (draining) return;
    draining = true;
    const seen = new Map(); // socket -> [bytes read at the last sweep, idle then]
    for (const sock of sockets()) {
      const res = sock._httpMessage;
      if (res && !res.headersSent) res.shouldKeepAlive = false;
      seen.set(sock, [-1, false]);
    }
    const t = setInterval(() => {
      count();
      const now = sockets();
      for (const sock of now) {
        const busy = sock._httpMessage && !sock._httpMessage.finished;
        const s = seen.get(sock) || [-1, false];
        if (busy || sock.bytesRead !== s[0]) {
          seen.set(sock, [sock.bytesRead, false]);
        } else if (s[1]) {
          sock.destroy();
        } else {
          seen.set(sock, [s[0], true]);
        }
      }
      if (now.size === 0) clearInterval(t);
    }, 100);
    t.unref();
    count();
  }

  process.on('internalMessage', (m) => {
    if (m && m.cmd === 'NODE_NRUN' && m.act === 'drain') drain();
  });

  const hangBeat = nrunHangWatch();
  let last = Date.now();
  const hb = setInterval(() => {
    if (hangBeat) hangBeat();
    const now = Date.now();
    const lag = Math.max(0, now - last - INTERVAL);
    last = now;
    send({ act: 'ping', lag, closed });
    reported = closed;
  }, INTERVAL);
  hb.unref();
  send({ act: 'ping', lag: 0, closed: 0 });
}

// Hang diagnostics (--hang-report, README "Hang diagnostics").  A loop stuck
// in JavaScript (`while (true) {}`) runs no timer, no signal handler and no
// process.report trigger of its own, and the supervisor will kill it when
// its heartbeat stops.  So a worker thread watches a counter the heartbeat
// bumps; once it has not moved for NRUN_HANG_MS (2/3 of the heartbeat
// timeout) the thread attaches the inspector to the main thread
// (Session.connectToMainThread: V8 interrupts the loop), pauses it, writes
// the stuck stack and a Node diagnostic report (process.report, evaluated in
// the paused frame; the environment left out: it may hold secrets; and
// the watch thread's own report, the shared objects and limits, to keep it
// one log line) to
// stderr -- the worker's log -- and lets it run on.  Costs a worker thread
// (about 10 MB RSS), hence opt-in.  Returns the beat function, or null.
function nrunHangWatch() {
  const limit = Number(process.env.NRUN_HANG_MS);
  delete process.env.NRUN_HANG_MS;
  if (!(limit > 0)) return null;
  let Worker;
  try { ({ Worker } = require('worker_threads')); require('inspector'); } catch (e) { return null; }
  const beat = new Int32Array(new SharedArrayBuffer(4));
  const code = `'use strict';
    const { workerData } = require('worker_threads');
    const fs = require('fs');
    const inspector = require('inspector');
    const beat = workerData.beat, limit = workerData.limit;
    let seen = Atomics.load(beat, 0), since = Date.now(), fired = false;
    function out(text) { try { fs.writeSync(2, text); } catch (e) { /* stderr gone */ } }
    function capture(ms) {
      const s = new inspector.Session();
      const urls = new Map();
      let done = false;
      const finish = () => { if (done) return; done = true; s.post('Debugger.resume', () => { try { s.disconnect(); } catch (e) {} }); };
      s.connectToMainThread();
      s.on('Debugger.scriptParsed', (m) => urls.set(m.params.scriptId, m.params.url));
      s.once('Debugger.paused', (m) => {
        const frames = m.params.callFrames;
        const stack = frames.map((f) => '    at ' + (f.functionName || '<anonymous>') + ' (' +
          (urls.get(f.location.scriptId) || '<unknown>') + ':' + (f.location.lineNumber + 1) + ':' +
          ((f.location.columnNumber | 0) + 1) + ')');
        out('nrun: hang: the event loop of pid ' + process.pid + ' is blocked for ' + ms + ' ms; JavaScript stack:\\n' +
            stack.join('\\n') + '\\n');
        const expr = '(() => { const r = globalThis.process.report.getReport(); delete r.environmentVariables; ' +
          'delete r.sharedObjects; delete r.userLimits; delete r.workers; return JSON.stringify(r); })()';
        s.post('Debugger.evaluateOnCallFrame', { callFrameId: frames[0].callFrameId, expression: expr,
          returnByValue: true, silent: true }, (err, r) => {
          if (!err && r && r.result && typeof r.result.value === 'string')
            out('nrun: hang: diagnostic report ' + r.result.value + '\\n');
          finish();
        });
      });
      s.post('Debugger.enable', () => s.post('Debugger.pause'));
      setTimeout(finish, 5000).unref();
    }
    setInterval(() => {
      const b = Atomics.load(beat, 0);
      if (b !== seen) { seen = b; since = Date.now(); fired = false; return; }
      if (fired || Date.now() - since < limit) return;
      fired = true;
      try { capture(Date.now() - since); } catch (e) { out('nrun: hang: no report: ' + e.message + '\\n'); }
    }, 200);`;
  try {
    const w = new Worker(code, { eval: true, workerData: { beat, limit }, stdout: false, stderr: false,
      env: {}, name: 'nrun-hang-watch' });
    w.unref();
    w.on('error', () => {});
  } catch (e) {
    return null;
  }
  return () => Atomics.add(beat, 0, 1);
}
