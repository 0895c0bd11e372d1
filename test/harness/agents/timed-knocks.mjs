// Sends knocks at given wall-clock instants, each from its own local address:
// for placing knocks a few milliseconds after a window boundary. The job comes
// on stdin as JSON: {host, delayMs, jobs: [{atMs, from, ports}]}.
// Prints {"lateMs": [...]}: how late each knock's first datagram left.
import dgram from 'node:dgram';

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', async () => {
  const job = JSON.parse(input);
  const jobs = [...job.jobs].sort((a, b) => a.atMs - b.atMs);
  // Bind every socket up front, so a send costs nothing but the send.
  const sockets = await Promise.all(
    jobs.map(
      (j) =>
        new Promise((resolve, reject) => {
          const s = dgram.createSocket('udp4');
          s.once('error', reject);
          s.bind({ address: j.from, port: 0 }, () => resolve(s));
        }),
    ),
  );
  const send = (s, port) =>
    new Promise((resolve, reject) => s.send(Buffer.alloc(0), port, job.host, (e) => (e ? reject(e) : resolve())));
  const lateMs = new Array(jobs.length).fill(0);
  const knock = async (i) => {
    const j = jobs[i];
    lateMs[i] = Date.now() - j.atMs;
    for (const [k, port] of j.ports.entries()) {
      if (k > 0) await new Promise((r) => setTimeout(r, job.delayMs));
      await send(sockets[i], port);
    }
  };
  const pending = [];
  for (let i = 0; i < jobs.length; i++) {
    // Sleep coarsely, then spin the last few milliseconds for precision.
    const wait = jobs[i].atMs - Date.now();
    if (wait > 20) await new Promise((r) => setTimeout(r, wait - 15));
    while (Date.now() < jobs[i].atMs) await new Promise((r) => setTimeout(r, 0));
    pending.push(knock(i));
  }
  await Promise.all(pending);
  for (const s of sockets) s.close();
  process.stdout.write(`${JSON.stringify({ lateMs })}\n`);
});
