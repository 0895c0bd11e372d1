import { createServer, connect, type Server, type Socket } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { spliceConnection } from './proxy.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

async function serve(handler: (s: Socket) => void): Promise<number> {
  server = createServer({ allowHalfOpen: true }, handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

async function connected(port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port });
  await new Promise((resolve, reject) => s.once('connect', resolve).once('error', reject));
  return s;
}

function sink(): { stream: Writable; data: () => Buffer; ended: () => boolean } {
  const chunks: Buffer[] = [];
  let ended = false;
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
    final(cb) {
      ended = true;
      cb();
    },
  });
  return { stream, data: () => Buffer.concat(chunks), ended: () => ended };
}

describe('spliceConnection', () => {
  it('echo: input reaches the server, the answer reaches output; stdin EOF half-closes', async () => {
    // The echo server answers until our FIN, then closes: the half-close must carry through.
    const port = await serve((s) => {
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
    });
    const input = new PassThrough();
    const out = sink();
    const done = spliceConnection(await connected(port), input, out.stream);
    const big = Buffer.alloc(1 << 20, 7); // 1 MiB: exercises backpressure
    input.write('hello ');
    input.end(big);
    expect(await done).toEqual({ end: 'closed' });
    expect(out.data().length).toBe(6 + big.length);
    expect(out.data().subarray(0, 6).toString()).toBe('hello ');
    expect(out.ended()).toBe(false); // our stdout is never ended
  });

  it('the server closing first ends the splice although input stays open', async () => {
    const port = await serve((s) => s.end('bye\n'));
    const input = new PassThrough(); // never ends, like ssh's pipe
    const out = sink();
    expect(await spliceConnection(await connected(port), input, out.stream)).toEqual({ end: 'closed' });
    expect(out.data().toString()).toBe('bye\n');
  });

  it('a reset connection is an error', async () => {
    const port = await serve((s) => {
      s.write('x');
      setTimeout(() => s.resetAndDestroy(), 20);
    });
    const result = await spliceConnection(await connected(port), new PassThrough(), sink().stream);
    expect(result.end).toBe('error');
  });
});
