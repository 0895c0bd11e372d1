// Receives UDP on the given ports (IPv4 and IPv6) and prints one JSON line per datagram:
// {"event":"datagram", port, from, fromPort, payload (base64)}; {"event":"ready"} first.
// argv: port [port…].
import dgram from 'node:dgram';

const ports = process.argv.slice(2).map(Number);
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const binds = [];
for (const port of ports) {
  for (const [type, address] of [
    ['udp4', '0.0.0.0'],
    ['udp6', '::'],
  ]) {
    const sock = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    sock.on('message', (msg, rinfo) =>
      emit({ event: 'datagram', port, from: rinfo.address, fromPort: rinfo.port, payload: msg.toString('base64') }),
    );
    binds.push(
      new Promise((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(port, address, resolve);
      }),
    );
  }
}
Promise.all(binds).then(
  () => emit({ event: 'ready', ports }),
  (e) => {
    emit({ event: 'error', message: String(e && e.message) });
    process.exit(1);
  },
);
