import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { sendFailure, sendKnock } from './send.js';

interface Received {
  port: number;
  from: string;
  fromPort: number;
  bytes: number[];
}

/** UDP sockets on several loopback ports that record what arrives, in arrival order. */
async function listeners(
  type: 'udp4' | 'udp6',
  host: string,
  count: number,
): Promise<{ ports: number[]; got: Received[]; close: () => void }> {
  const got: Received[] = [];
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) {
    const s = createSocket(type);
    await new Promise<void>((resolve) => s.bind(0, host, resolve));
    const port = s.address().port;
    s.on('message', (msg, rinfo) => got.push({ port, from: rinfo.address, fromPort: rinfo.port, bytes: [...msg] }));
    sockets.push(s);
  }
  return { ports: sockets.map((s) => s.address().port), got, close: () => sockets.forEach((s) => s.close()) };
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

let close = (): void => {};
afterEach(() => {
  close();
  close = () => {};
});

describe('sendKnock', () => {
  for (const [type, host, family] of [
    ['udp4', '127.0.0.1', 4],
    ['udp6', '::1', 6],
  ] as const) {
    it(`sends one datagram per port, in order, from one source (${host})`, async () => {
      const l = await listeners(type, host, 4);
      close = l.close;
      const order = [l.ports[2]!, l.ports[0]!, l.ports[3]!, l.ports[1]!];
      const sent = await sendKnock({ address: host, family, ports: order, delayMs: 20 });
      await until(() => l.got.length >= 4);
      expect(l.got.map((g) => g.port)).toEqual(order);
      expect(new Set(l.got.map((g) => `${g.from}:${g.fromPort}`)).size).toBe(1);
      expect(l.got[0]!.fromPort).toBe(sent.sourcePort);
      expect(l.got.every((g) => g.bytes.length === 0)).toBe(true);
      expect(sent.sentAt).toHaveLength(4);
      expect(sent.queuedAt).toHaveLength(4);
      // The delay sits between packets: 3 gaps of at least 20 ms, each from one packet's
      // hand-over to the next (without it the four go out within a fraction of a millisecond).
      for (let i = 1; i < 4; i++) expect(sent.queuedAt[i]! - sent.queuedAt[i - 1]!).toBeGreaterThanOrEqual(20);
    });
  }

  it('calls afterLastQueued once, when the last datagram is handed over, before it resolves', async () => {
    const l = await listeners('udp4', '127.0.0.1', 3);
    close = l.close;
    const start = performance.now();
    const calls: { at: number; resolved: boolean }[] = [];
    let resolved = false;
    const sending = sendKnock({
      address: '127.0.0.1',
      family: 4,
      ports: l.ports,
      delayMs: 4,
      afterLastQueued: () => calls.push({ at: performance.now() - start, resolved }),
    });
    const sent = await sending.then((s) => ((resolved = true), s));
    await until(() => l.got.length >= 3);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.resolved).toBe(false);
    // after the second datagram and the delay behind it, and no later than the last
    // datagram's send completed
    expect(calls[0]!.at).toBeGreaterThanOrEqual(sent.queuedAt[1]! - start + 4);
    expect(calls[0]!.at).toBeLessThanOrEqual(sent.sentAt[2]! - start);
    expect(l.got.map((g) => g.port)).toEqual(l.ports);
  });

  it('carries a payload per packet', async () => {
    const l = await listeners('udp4', '127.0.0.1', 2);
    close = l.close;
    await sendKnock({
      address: '127.0.0.1',
      family: 4,
      ports: l.ports,
      payloads: [new Uint8Array([1, 2, 3]), undefined],
      delayMs: 0,
    });
    await until(() => l.got.length >= 2);
    expect(l.got.map((g) => g.bytes)).toEqual([[1, 2, 3], []]);
  });

  it('a send that cannot work is a network error (exit 3)', async () => {
    await expect(sendKnock({ address: '::1', family: 4, ports: [9], delayMs: 0 })).rejects.toMatchObject({
      exitCode: 3,
    });
  });
});

describe('a failed send, in words', () => {
  it('names no route, an unreachable host and the local firewall, and keeps the system error', () => {
    const err = (code: string) => Object.assign(new Error(`send ${code} 198.51.100.1:9`), { code });
    expect(sendFailure(err('ENETUNREACH'))).toBe(
      'no route to it (network unreachable): check the address, the network connection or the VPN (send ENETUNREACH 198.51.100.1:9)',
    );
    expect(sendFailure(err('EPERM'))).toMatch(/^this machine's own firewall refused the packet/);
    expect(sendFailure(err('EWHATEVER'))).toBe('send EWHATEVER 198.51.100.1:9');
  });
});
