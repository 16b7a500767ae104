// A worker that keeps one dgram client socket open and opens and closes
// others on the same address, as a client library with a long-lived socket
// beside per-request ones: Node's index for that address grows with each (it
// restarts only when the worker holds none), so each is a new key for the
// master.  GET /churn?n=N binds and closes N more, one at a time, and answers
// "ok N" (or how a bind failed) when done.
const dgram = require('dgram');
const http = require('http');
function bound() {
    const s = dgram.createSocket('udp4');
    return new Promise((ok, bad) => { s.once('error', bad); s.bind({ port: 0, address: '127.0.0.1' }, () => ok(s)); });
}
(async () => {
    const keep = await bound();
    let total = 0;
    http.createServer(async (q, res) => {
        const n = Number(new URL(q.url, 'http://x').searchParams.get('n') || 0);
        try {
            for (let i = 0; i < n; i++) {
                const s = await bound();
                await new Promise((ok) => s.close(ok));
                total++;
            }
            res.end(`ok ${total} ${keep.address().port > 0}\n`);
        } catch (e) {
            res.end(`bind failed: ${e.code}\n`);
        }
    }).listen(Number(process.env.PORT || 3000));
})();
