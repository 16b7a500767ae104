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

  // The app's own handler for the container's stop signal (docker stop
  // delivers it to the app; here PID 1 gets it and drains): when the drain is
  // over and Node's cluster disconnect has closed the servers, nothing is in
  // flight, and an app with a listener for that signal gets it then, as it
  // would under docker.  Without a listener nothing changes.
  function stopHandlers(sig) {
    if (typeof sig !== 'string' || !/^SIG[A-Z0-9]+$/.test(sig)) return;
    process.once('disconnect', () => {
      if (process.listenerCount(sig) > 0) process.emit(sig, sig);
    });
  }

  function drain(sig) {
    if (draining) return;
    draining = true;
    stopHandlers(sig);
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

  const level = logLevel();
  const dye = dyeing(send);
  process.on('internalMessage', (m) => {
    if (!m || m.cmd !== 'NODE_NRUN') return;
    if (m.act === 'drain') drain(m.sig);
    else if (m.act === 'loglevel') level.set(m.level);
    else if (m.act === 'dye') dye.set(m.rules);
  });
  requestMetrics(send, INTERVAL, dye);

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

// Request metrics (issue 15 item 1): per request only a start time on the
// request and, when Node detaches the response from its socket (the end of
// every response, ServerResponse.prototype.detachSocket), a few counters:
// no listener, no closure, no string made per request.  A batch goes to PID 1 every second
// with the Node figures (heap, event-loop delay, handles, GC time).
function requestMetrics(send, interval, dye) {
  const http = require('http');
  const perf = require('perf_hooks');
  const performance = perf.performance;
  const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);
  const hist = new Array(BOUNDS.length + 1).fill(0); // per bucket, the last one +Inf
  const counts = Object.create(null); // method -> requests by status code (no string made per request)
  let sum = 0, inflight = 0, bytes = 0, gc = 0;
  const srv = http.Server.prototype;
  const emit = srv.emit;
  // A request's start time lives on its socket: an HTTP/1 socket carries
  // one request at a time but for pipelining, and a field of the socket set
  // at its connection (before http adds its own fields) and only ever a
  // number is rewritten in place.  A field added to every request, or one
  // that changes type, gives Node's objects several hidden classes and
  // slows http's own code for the whole process.  A pipelined request (its
  // socket's slot is taken) keeps its start on its response.
  srv.emit = function (ev, req, res) {
    if (ev === 'request' && req !== undefined) {
      const t = performance.now();
      const sock = req.socket;
      if (sock && sock._nrunT0 === -1) sock._nrunT0 = t;
      else if (res) {
        res._nrunT0 = t;
        if (sock && sock._nrunP >= 0) sock._nrunP++;
      }
      inflight++;
      if (dye.on) dye.start(req, res);
    } else if (ev === 'connection' && req !== undefined && req !== null) {
      req._nrunT0 = -1; // the start of the request in flight, -1 if none, -2 once closed
      req._nrunB = 0;   // the bytes out counted so far
      req._nrunP = 0;   // pipelined requests in flight (their start on their response)
      req.on('close', socketClosed);
    }
    return emit.apply(this, arguments);
  };
  const res = http.ServerResponse.prototype;
  const detach = res.detachSocket;
  res.detachSocket = function detachSocket(socket) {
    let t0 = this._nrunT0;
    if (t0 !== undefined) {
      this._nrunT0 = undefined;
      if (socket && socket._nrunT0 === -2) return detach.call(this, socket); // counted at its close
      if (socket && socket._nrunP > 0) socket._nrunP--;
      ended(this, t0, socket);
    } else if (socket && (t0 = socket._nrunT0) >= 0) {
      socket._nrunT0 = -1;
      ended(this, t0, socket);
    }
    return detach.call(this, socket);
  };
  // A client that goes away mid-request (its connection closes before the
  // response ends) leaves a response that never detaches: its request, and
  // any pipelined behind it, leave the in-flight count here, once (-2 marks
  // the socket so a late detach of one of them does not count it again).
  // One shared listener per connection, none per request.
  function socketClosed() {
    const open = (this._nrunT0 >= 0 ? 1 : 0) + (this._nrunP | 0);
    this._nrunT0 = -2;
    this._nrunP = 0;
    inflight -= open;
  }
  function ended(res, t0, socket) {
    const req = res.req;
    const s = (performance.now() - t0) / 1000;
    inflight--;
    sum += s;
    let i = 0;
    while (i < BOUNDS.length && s > BOUNDS[i]) i++;
    hist[i]++;
    const method = req && METHODS.has(req.method) ? req.method : 'OTHER';
    const byCode = counts[method] || (counts[method] = new Float64Array(1000));
    const code = res.statusCode | 0;
    byCode[code >= 0 && code < 1000 ? code : 0]++;
    let sent = 0;
    if (socket) {
      const b = written(socket);
      sent = b - (socket._nrunB | 0);
      socket._nrunB = b;
      bytes += sent;
    }
    if (dye.pending !== 0 && req && req._nrunDye !== undefined) dye.end(req, res, s, socket, sent);
  }
  // A socket's bytes out.  socket.bytesWritten copies the socket's write
  // queue into a new array and walks it, on every read; when the response
  // is done (detachSocket runs at its 'finish') the queue is almost always
  // empty, and the count of what went to the kernel is one field.
  function written(socket) {
    const d = socket._bytesDispatched;
    if (typeof d === 'number' && !socket._pendingData && socket.writableLength === 0) return d;
    return socket.bytesWritten | 0;
  }
  let elh = null;
  try { elh = perf.monitorEventLoopDelay({ resolution: 10 }); elh.enable(); } catch (e) { elh = null; }
  try {
    const obs = new perf.PerformanceObserver((list) => {
      for (const e of list.getEntries()) gc += e.duration / 1000;
    });
    obs.observe({ entryTypes: ['gc'] });
  } catch (e) { /* no gc entries */ }
  const t = setInterval(() => {
    const req = [];
    for (const method of Object.keys(counts)) {
      const byCode = counts[method];
      for (let code = 100; code < 1000 && req.length < 32; code++) // 32: what PID 1 keeps per worker
        if (byCode[code] > 0) req.push([method, code, byCode[code]]);
    }
    const m = { act: 'metrics', req, hist, sum, inflight, bytes, gc,
      heap: process.memoryUsage().heapUsed,
      handles: typeof process.getActiveResourcesInfo === 'function' ? process.getActiveResourcesInfo().length : 0 };
    if (elh) {
      // the histogram holds whole timer intervals: the delay is what exceeds the resolution
      const d = (v) => Math.max(0, v / 1e9 - 0.01);
      m.el = [d(elh.percentile(50)), d(elh.percentile(99)), d(elh.max)];
      elh.reset();
    }
    send(m);
  }, interval);
  t.unref();
}

// The log level (issue 15 item 4): console.debug/info/log/warn/error below
// the level set with `nrun loglevel` do nothing.  The level comes from
// NRUN_LOG_LEVEL at start and from PID 1's messages afterwards.
function logLevel() {
  const ORDER = { debug: 0, info: 1, warn: 2, error: 3 };
  const methods = { debug: 0, trace: 0, info: 1, log: 1, warn: 2, error: 3 };
  const orig = {};
  for (const name of Object.keys(methods)) orig[name] = console[name];
  const noop = function () {};
  function set(l) {
    if (!Object.prototype.hasOwnProperty.call(ORDER, l)) return;
    for (const name of Object.keys(methods))
      console[name] = methods[name] >= ORDER[l] ? orig[name] : noop;
  }
  const env = process.env.NRUN_LOG_LEVEL;
  delete process.env.NRUN_LOG_LEVEL;
  if (env) set(env);
  return { set };
}

// Request dyeing (issue 15 item 5): while PID 1 has rules (`nrun dye`), a
// request that matches one (header, query, cookie, client IP) is reported in
// full when it ends -- method, url, headers, status, duration, size and the
// console output it produced (AsyncLocalStorage, created only while rules
// exist).  With no rule, a request costs one `dye.on` test.
function dyeing(send) {
  const dye = { on: false, pending: 0, rules: [], als: null, start, end };
  const MAXLINES = 50, MAXLINE = 1024;
  function v4(a) {
    const m = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a || '');
    return m ? ((+m[1] << 24) | (+m[2] << 16) | (+m[3] << 8) | +m[4]) >>> 0 : null;
  }
  function matches(req) {
    for (const r of dye.rules) {
      if (r.type === 'header') {
        if (req.headers[r.key] === r.value) return true;
      } else if (r.type === 'query') {
        const q = req.url.indexOf('?');
        if (q >= 0 && new URLSearchParams(req.url.slice(q + 1)).getAll(r.key).includes(r.value)) return true;
      } else if (r.type === 'cookie') {
        for (const part of String(req.headers.cookie || '').split(';')) {
          const eq = part.indexOf('=');
          if (eq > 0 && part.slice(0, eq).trim() === r.key && part.slice(eq + 1).trim() === r.value) return true;
        }
      } else if (r.type === 'ip') {
        const a = req.socket && req.socket.remoteAddress;
        const [net, bits] = r.value.split('/');
        const n = v4(net), x = v4(a);
        if (n !== null && x !== null) {
          const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
          if (((n & mask) >>> 0) === ((x & mask) >>> 0)) return true;
        } else if (a === net || a === '::ffff:' + net) {
          return true;
        }
      }
    }
    return false;
  }
  // called from the request hook: a record for a matching request
  function start(req, res) {
    if (!matches(req)) {
      if (dye.als) dye.als.enterWith(undefined);
      return;
    }
    const rec = { t0: Date.now(), lines: [] };
    req._nrunDye = rec;
    dye.pending++; // dyed requests in flight: while none, a request's end does not look for a record
    if (dye.als) dye.als.enterWith(rec);
  }
  function end(req, res, seconds, socket, sent) {
    const rec = req._nrunDye;
    req._nrunDye = undefined;
    dye.pending--;
    send({ act: 'dye', rec: {
      method: String(req.method), url: String(req.url), headers: req.headers, status: res.statusCode | 0,
      duration_ms: seconds * 1000, bytes: sent, remote: socket ? String(socket.remoteAddress) : '',
      console: rec.lines } });
  }
  const orig = {};
  function capture(name) {
    orig[name] = console[name];
    console[name] = function () {
      const rec = dye.als && dye.als.getStore();
      if (rec && rec.lines.length < MAXLINES) {
        try { rec.lines.push(require('util').format.apply(null, arguments).slice(0, MAXLINE)); } catch (e) { /* ignore */ }
      }
      return orig[name].apply(this, arguments);
    };
  }
  function set(rules) {
    dye.rules = Array.isArray(rules) ? rules.filter((r) => r && typeof r.key === 'string' && typeof r.value === 'string') : [];
    dye.on = dye.rules.length > 0;
    if (dye.on && !dye.als) {
      dye.als = new (require('async_hooks').AsyncLocalStorage)();
      for (const name of ['debug', 'info', 'log', 'warn', 'error']) capture(name);
    } else if (!dye.on && dye.als) {
      dye.als.disable();
      dye.als = null;
      for (const name of Object.keys(orig)) console[name] = orig[name];
    }
  }
  dye.set = set;
  return dye;
}
