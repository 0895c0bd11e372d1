import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectWithin, probeOnce, waitForService } from './wait.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

async function listen(host: string, port = 0): Promise<number> {
  server = createServer((s) => s.end());
  await new Promise<void>((resolve) => server!.listen(port, host, resolve));
  return (server.address() as { port: number }).port;
}

/** A port that refuses: bound once, then closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('waiting for the service', () => {
  it('an open port: true, at once', async () => {
    const port = await listen('127.0.0.1');
    const t = performance.now();
    expect(await waitForService({ address: '127.0.0.1', port, timeoutMs: 2000 })).toBe(true);
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('IPv6 loopback', async () => {
    const port = await listen('::1');
    expect(await waitForService({ address: '::1', port, timeoutMs: 2000 })).toBe(true);
  });

  it('a closed port: false after the timeout, not before', async () => {
    const port = await closedPort();
    const t = performance.now();
    expect(await waitForService({ address: '127.0.0.1', port, timeoutMs: 400, intervalMs: 50 })).toBe(false);
    const took = performance.now() - t;
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(1500);
  });

  it('a port that opens while we wait: found by the polling', async () => {
    const port = await closedPort();
    setTimeout(() => void listen('127.0.0.1', port), 250);
    const socket = await connectWithin({ address: '127.0.0.1', port, timeoutMs: 3000, intervalMs: 50 });
    expect(socket).toBeDefined();
    expect(socket!.remotePort).toBe(port);
    socket!.destroy();
  });

  it('an abort ends the wait at once with no connection, also when aborted before it starts', async () => {
    const port = await closedPort();
    const aborter = new AbortController();
    const t = performance.now();
    const waiting = connectWithin({
      address: '127.0.0.1',
      port,
      timeoutMs: 5000,
      intervalMs: 20,
      signal: aborter.signal,
    });
    setTimeout(() => aborter.abort(), 50);
    expect(await waiting).toBeUndefined();
    expect(performance.now() - t).toBeLessThan(1000);
    expect(
      await connectWithin({ address: '127.0.0.1', port, timeoutMs: 5000, signal: AbortSignal.abort() }),
    ).toBeUndefined();
  });
});

describe('the attempt before the knock (probeOnce)', () => {
  it('an open port: open, with the connected socket for the caller', async () => {
    const port = await listen('127.0.0.1');
    const p = probeOnce({ address: '127.0.0.1', port, answerWithinMs: 900 });
    expect((await p.outcome).kind).toBe('open');
    expect(p.localAddress).toBe('127.0.0.1');
    const socket = p.take();
    expect(socket).toBeDefined();
    expect(p.take()).toBeUndefined();
    p.cancel(); // taken: left to the caller
    expect(socket!.destroyed).toBe(false);
    socket!.destroy();
  });

  it('a closed port: the error code (ECONNREFUSED), and the local address stays known', async () => {
    const port = await closedPort();
    const p = probeOnce({ address: '127.0.0.1', port, answerWithinMs: 900 });
    expect(await p.outcome).toEqual({ kind: 'error', code: 'ECONNREFUSED' });
    expect(p.settled).toEqual({ kind: 'error', code: 'ECONNREFUSED' });
    expect(p.take()).toBeUndefined();
  });

  it('cancelled before an answer: silent', async () => {
    const port = await listen('127.0.0.1');
    const p = probeOnce({ address: '127.0.0.1', port, answerWithinMs: 900 });
    p.cancel();
    expect(await p.outcome).toEqual({ kind: 'silent' });
  });

  it('connectWithin tells every failed attempt', async () => {
    const port = await closedPort();
    const codes = new Set<string>();
    const s = await connectWithin({ address: '127.0.0.1', port, timeoutMs: 300, onFailure: (c) => codes.add(c) });
    expect(s).toBeUndefined();
    expect([...codes]).toEqual(['ECONNREFUSED']);
  });
});
