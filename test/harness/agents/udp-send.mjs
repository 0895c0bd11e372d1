// Sends UDP datagrams in order. The job comes on stdin as JSON (payloads may be derived
// from a secret, and argv is visible to every process on the machine):
// {host, ports: number[], payloads: (base64|null)[], delayMs, sourcePort?}.
// Prints {"sent": n, "sourcePort": p}.
import dgram from 'node:dgram';
import net from 'node:net';

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', async () => {
  const job = JSON.parse(input);
  const sock = dgram.createSocket(net.isIPv6(job.host) ? 'udp6' : 'udp4');
  await new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(job.sourcePort ?? 0, resolve);
  });
  let sent = 0;
  for (const [i, port] of job.ports.entries()) {
    if (i > 0 && job.delayMs > 0) await new Promise((r) => setTimeout(r, job.delayMs));
    const p = job.payloads[i] ?? job.payloads[0] ?? null;
    const buf = p === null ? Buffer.alloc(0) : Buffer.from(p, 'base64');
    await new Promise((resolve, reject) => sock.send(buf, port, job.host, (e) => (e ? reject(e) : resolve())));
    sent++;
  }
  const sourcePort = sock.address().port;
  sock.close();
  process.stdout.write(JSON.stringify({ sent, sourcePort }) + '\n');
});
