// One TCP connection attempt: "open" once the handshake completes, otherwise "closed"
// with the reason (timeout = dropped, refused = RST, unreachable = ICMP error).
// argv: host port timeoutMs. Prints one JSON line.
import net from 'node:net';
import { setImmediate } from 'node:timers';

const [host, portArg, timeoutArg] = process.argv.slice(2);
const port = Number(portArg);
const timeoutMs = Number(timeoutArg);
const started = Date.now();
let finished = false;
const finish = (r) => {
  if (finished) return;
  finished = true;
  process.stdout.write(JSON.stringify({ ...r, elapsedMs: Date.now() - started }) + '\n');
  sock.destroy();
  process.exit(0);
};
const sock = net.connect({ host, port });
// At the timeout, let the event loop's poll phase run first (setImmediate comes after it): a
// process held off the CPU past timeoutMs (a loaded machine) would otherwise call "timeout" a
// handshake the kernel had completed long before.
const timer = setTimeout(
  () => setImmediate(() => connected || finish({ state: 'closed', reason: 'timeout' })),
  timeoutMs,
);
sock.setEncoding('utf8');
let connected = false;
let buf = '';
sock.on('connect', () => {
  connected = true;
  // The greeting is a bonus: wait for it briefly, the handshake alone means "open".
  clearTimeout(timer);
  setTimeout(() => finish({ state: 'open', reason: 'connected' }), Math.min(1000, timeoutMs));
});
sock.on('data', (d) => {
  buf += d;
  const i = buf.indexOf('\n');
  if (i >= 0) finish({ state: 'open', reason: 'connected', greeting: buf.slice(0, i) });
});
sock.on('close', () => connected && finish({ state: 'open', reason: 'connected' }));
sock.on('error', (e) => {
  if (connected) return finish({ state: 'open', reason: 'connected', error: e.code });
  const reason =
    e.code === 'ECONNREFUSED'
      ? 'refused'
      : ['EHOSTUNREACH', 'ENETUNREACH', 'EACCES', 'EPERM'].includes(e.code)
        ? 'unreachable'
        : 'error';
  finish({ state: 'closed', reason, error: e.code ?? String(e.message) });
});
