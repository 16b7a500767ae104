// A UDP echo server (dgram), unmodified for a cluster: each datagram is
// answered with "<text> pid=<worker pid> from=<sender address>".  A second
// socket on PORT+1 (if TWICE is set) checks a worker's second bind.
const dgram = require('dgram');
const port = Number(process.env.PORT || 5353);
function serve(p) {
    const s = dgram.createSocket('udp4');
    s.on('message', (m, r) => s.send(`${m} pid=${process.pid} from=${r.address}`, r.port, r.address));
    s.on('error', (e) => { console.error('udp error', e.code); process.exit(3); });
    s.bind(p, () => console.log(`udp listening on ${s.address().port}`));
}
serve(port);
if (process.env.TWICE) serve(port + 1);
