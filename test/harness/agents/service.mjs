// The protected TCP service: listens on IPv4 and IPv6, greets each connection with one
// line, then echoes every line back so a held connection can prove it is still alive.
// argv: name port [port…]. Prints JSON lines: {"event":"listening"}, {"event":"connection",…}.
import net from 'node:net';

const [name = 'service', ...portArgs] = process.argv.slice(2);
const ports = portArgs.map(Number);
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const strip = (a) => (a ?? '').replace(/^::ffff:/, '');

const servers = [];
for (const port of ports) {
  for (const host of ['0.0.0.0', '::']) {
    const server = net.createServer((sock) => {
      const remote = strip(sock.remoteAddress);
      emit({ event: 'connection', port, remote, remotePort: sock.remotePort });
      sock.write(`${name} hello ${remote} port ${port}\n`);
      sock.setEncoding('utf8');
      let buf = '';
      sock.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          sock.write(buf.slice(0, i + 1));
          buf = buf.slice(i + 1);
        }
      });
      sock.on('error', () => {});
      sock.on('close', () => emit({ event: 'close', port, remote, remotePort: sock.remotePort }));
    });
    servers.push(
      new Promise((resolve, reject) => {
        server.once('error', reject);
        // ipv6Only: two separate sockets, so v4 peers show as plain 192.0.2.x
        server.listen({ host, port, ipv6Only: host === '::' }, resolve);
      }),
    );
  }
}
Promise.all(servers).then(
  () => emit({ event: 'listening', ports }),
  (e) => {
    emit({ event: 'error', message: String(e && e.message) });
    process.exit(1);
  },
);
