// A TCP connection held open from inside a namespace. Every stdin line is sent to the
// peer; every line from the peer is printed. Prints JSON lines:
// {"event":"connected"}, {"event":"line","text":…}, {"event":"closed","error"?}.
// argv: host port connectTimeoutMs.
import net from 'node:net';
import readline from 'node:readline';

const [host, portArg, timeoutArg] = process.argv.slice(2);
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const sock = net.connect({ host, port: Number(portArg) });
const timer = setTimeout(() => {
  emit({ event: 'closed', error: 'connect timeout' });
  process.exit(1);
}, Number(timeoutArg));
sock.setEncoding('utf8');
let buf = '';
sock.on('connect', () => {
  clearTimeout(timer);
  emit({ event: 'connected', local: sock.localAddress, localPort: sock.localPort });
});
sock.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    emit({ event: 'line', text: buf.slice(0, i) });
    buf = buf.slice(i + 1);
  }
});
sock.on('error', (e) => emit({ event: 'error', error: e.code ?? e.message }));
sock.on('close', () => {
  clearTimeout(timer);
  emit({ event: 'closed' });
  process.exit(0);
});
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (l) => sock.write(l + '\n'));
rl.on('close', () => sock.end());
