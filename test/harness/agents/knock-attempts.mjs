// A legitimate user knocking again and again (e.g. during an attack), each attempt
// from its own source address: send the knock's UDP datagrams from SRC, then try
// TCP connects from SRC to the service (a new try every 150 ms, like the knock
// client) until one is accepted or timeoutMs passes.
// Job on stdin: {server, servicePort, delayMs, timeoutMs, gapMs, concurrency, attempts: [{src, ports}]}.
// One JSON line per attempt {event:"attempt", i, src, ok, ms}, then {event:"done", ok, failed}.
import dgram from 'node:dgram';
import net from 'node:net';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function knock(job, src, ports) {
  const sock = dgram.createSocket(net.isIPv6(src) ? 'udp6' : 'udp4');
  await new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: src, port: 0 }, resolve);
  });
  for (const [i, port] of ports.entries()) {
    if (i > 0 && job.delayMs > 0) await sleep(job.delayMs);
    await new Promise((resolve, reject) =>
      sock.send(Buffer.alloc(0), port, job.server, (e) => (e ? reject(e) : resolve())),
    );
  }
  sock.close();
}

function connectOnce(job, src, ms) {
  return new Promise((resolve) => {
    const s = net.connect({ host: job.server, port: job.servicePort, localAddress: src });
    const done = (ok) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function waitOpen(job, src) {
  // Overlapping tries, a new one every 150 ms (a dropped SYN is retransmitted only
  // after a second), at most 8; true as soon as one is accepted.
  return new Promise((resolve) => {
    const deadline = Date.now() + job.timeoutMs;
    let pending = 0;
    let settled = false;
    let timer;
    const finish = (ok) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok);
    };
    const launch = (n) => {
      const left = deadline - Date.now();
      if (left <= 0 || n >= 8) {
        if (pending === 0) finish(false);
        return;
      }
      pending++;
      connectOnce(job, src, left).then((ok) => {
        pending--;
        if (ok) finish(true);
        else if (pending === 0 && Date.now() >= deadline) finish(false);
      });
      timer = setTimeout(() => launch(n + 1), 150);
    };
    launch(0);
    setTimeout(() => {
      if (pending === 0) finish(false);
    }, job.timeoutMs + 50);
  });
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', async () => {
  const job = JSON.parse(input);
  let ok = 0;
  let failed = 0;
  let next = 0;
  // `concurrency` users at a time, each working through the list.
  const worker = async () => {
    while (next < job.attempts.length) {
      const i = next++;
      const a = job.attempts[i];
      const started = Date.now();
      await knock(job, a.src, a.ports);
      const opened = await waitOpen(job, a.src);
      if (opened) ok++;
      else failed++;
      process.stdout.write(
        JSON.stringify({ event: 'attempt', i, src: a.src, ok: opened, ms: Date.now() - started }) + '\n',
      );
      if (job.gapMs > 0) await sleep(job.gapMs);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, job.concurrency ?? 1) }, worker));
  process.stdout.write(JSON.stringify({ event: 'done', ok, failed }) + '\n');
});
