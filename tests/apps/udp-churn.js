// A worker that opens dgram client sockets in bursts and closes them, as a
// metrics or syslog client may: ROUNDS bursts of BURST sockets, each burst on
// a loopback address of its own (127.0.0.N: new keys for the master), all
// closed before the next; then an HTTP server on PORT says how it went.
const dgram = require('dgram');
const http = require('http');
const burst = Number(process.env.BURST || 40), rounds = Number(process.env.ROUNDS || 4);
async function one(addr) {
    const s = dgram.createSocket('udp4');
    await new Promise((ok, bad) => { s.once('error', bad); s.bind({ port: 0, address: addr }, ok); });
    return s;
}
(async () => {
    let state = 'ok';
    try {
        for (let r = 0; r < rounds; r++) {
            const socks = [];
            for (let i = 0; i < burst; i++) socks.push(await one(`127.0.0.${r + 1}`));
            await Promise.all(socks.map((s) => new Promise((ok) => s.close(ok))));
        }
    } catch (e) {
        state = `bind failed: ${e.code}`;
    }
    console.log(`churn done: ${state}`);
    http.createServer((q, res) => res.end(`${state}\n`)).listen(Number(process.env.PORT || 3000));
})();
