import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeSecret,
  deriveCodeSequences,
  deriveSequences,
  normalizeProfile,
  windowAt,
  windowStartMs,
  type KnockProfile,
} from '@otpknock/shared';
import { networkError } from './errors.js';
import { knockClose, knockOpen, type OpenRequest } from './knock.js';
import { silentLogger } from './log.js';
import type { KnockSend } from './send.js';
import { tempDir, testProfile, TEST_SECRET } from '@otpknock/client/testing';
import { lastUsedWindow, secretKey } from './used.js';
import type { Probe, ProbeOutcome, WaitOptions } from './wait.js';

/** A connection attempt before the knock that sees `outcome` (default: silence, as a guarded port). */
function fakeProbe(outcome: ProbeOutcome = { kind: 'silent' }, localAddress = '192.0.2.2'): Probe {
  let taken = false;
  return {
    outcome: Promise.resolve(outcome),
    settled: outcome,
    localAddress,
    take: () => (outcome.kind === 'open' && !taken ? ((taken = true), outcome.socket) : undefined),
    cancel() {},
  };
}

const profile = testProfile('h', { knock: normalizeProfile({ method: 'time', period: 30 }) });
const secret = decodeSecret(TEST_SECRET);
const T0 = 1_764_106_205_000; // 5 s into a window
const W = windowAt(T0, 30);
const fakeSocket = { destroy() {} } as unknown as Socket;

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

function harness(opensOn: (knock: KnockSend, connects: number) => boolean, extra: Partial<OpenRequest> = {}) {
  const sent: KnockSend[] = [];
  const waited: WaitOptions[] = [];
  const slept: number[] = [];
  let clock = T0;
  let lastKnock: KnockSend | undefined;
  const req: OpenRequest = {
    profile,
    addresses: [{ address: '192.0.2.1', family: 4 }],
    servicePort: 22,
    wait: true,
    timeoutMs: 3000,
    retries: 1,
    delayMs: 5,
    log: silentLogger,
    usedFile: join(dir, 'used.json'),
    now: () => clock,
    send: async (k) => {
      sent.push(k);
      lastKnock = k;
      return { sourcePort: 40000, queuedAt: [], sentAt: [] };
    },
    connect: async (o) => {
      waited.push(o);
      clock += o.timeoutMs ?? 0;
      return lastKnock && opensOn(lastKnock, waited.length) ? fakeSocket : undefined;
    },
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
    probe: () => fakeProbe(),
    ...extra,
  };
  return { req, sent, waited, slept, advance: (ms: number) => (clock += ms), clock: () => clock };
}

const openOf = (w: number) => deriveSequences(profile.knock, secret, w).open;

describe('knockOpen --code with a profile whose exclude list the code lands on', () => {
  it('says so and sends nothing: the server cannot see that knock (protocol.md §10)', async () => {
    const base = normalizeProfile({ method: 'time', period: 30, range: '10000-10099' });
    const hit = deriveCodeSequences(base, '123456', W).open[1]!;
    const knock = normalizeProfile({ method: 'time', period: 30, range: '10000-10099', exclude: [hit] });
    expect(deriveCodeSequences(knock, '123456', W).open).toEqual(deriveCodeSequences(base, '123456', W).open);
    const h = harness(() => true, { profile: { ...profile, knock }, code: '123456' });
    await expect(knockOpen(h.req)).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringContaining(`lands on port ${hit}, which the server leaves out`),
      hint: expect.stringMatching(/wait for the next code \(in about 25 s\)/),
    });
    expect(h.sent).toEqual([]);
  });
});

describe('knockOpen', () => {
  it("knocks the current window's open sequence and reports the service open", async () => {
    const h = harness(() => true);
    const r = await knockOpen(h.req);
    expect(r).toMatchObject({ open: true, attempts: 1, window: W });
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]).toMatchObject({ address: '192.0.2.1', family: 4, ports: openOf(W), delayMs: 5 });
    expect(h.sent[0]!.payloads).toEqual(openOf(W).map(() => new Uint8Array(0)));
    expect(lastUsedWindow(join(dir, 'used.json'), secretKey(TEST_SECRET, profile.knock))).toBe(W);
  });

  it('starts connecting before it writes down the used window (the SYN follows the last datagram at once)', async () => {
    const h = harness(() => true);
    const usedAtConnect: (number | undefined)[] = [];
    const connect = h.req.connect!;
    h.req.connect = (o) => {
      usedAtConnect.push(lastUsedWindow(join(dir, 'used.json'), secretKey(TEST_SECRET, profile.knock)));
      return connect(o);
    };
    expect(await knockOpen(h.req)).toMatchObject({ open: true, window: W });
    expect(usedAtConnect).toEqual([undefined]);
    expect(lastUsedWindow(join(dir, 'used.json'), secretKey(TEST_SECRET, profile.knock))).toBe(W);
  });

  it('retries once with the next window when the service does not open in time', async () => {
    const h = harness((_k, n) => n === 2);
    const r = await knockOpen(h.req);
    expect(r).toMatchObject({ open: true, attempts: 2, window: W + 1 });
    expect(h.sent.map((k) => k.ports)).toEqual([openOf(W), openOf(W + 1)]);
  });

  it('gives up after 1 + retries knocks', async () => {
    const h = harness(() => false, { retries: 2 });
    const r = await knockOpen(h.req);
    // W, W+1, then W+2 only once W+1 is current: 27 s away, more than a timeout: not waited for.
    expect(r).toMatchObject({ open: false, attempts: 2, usedUpUntilMs: windowStartMs(W + 1, 30) });
    expect(h.sent).toHaveLength(2);
    expect(h.slept).toEqual([]);
  });

  it('near the boundary the third knock waits for the next window (once), and the whole run stays bounded', async () => {
    const h = harness(() => false, { retries: 2 });
    h.advance(16_000); // 21 s into the window: the third knock comes 3 s before W+1 starts
    const r = await knockOpen(h.req);
    expect(h.slept).toHaveLength(1);
    expect(r).toMatchObject({ open: false, attempts: 3, window: W + 2 });
    expect(h.clock() - (T0 + 16_000)).toBeLessThanOrEqual((2 + 2) * 3000);
  });

  it('a second run in the same window uses W+1; a third gives up at once when the next window is far', async () => {
    const h = harness(() => true);
    await knockOpen(h.req);
    h.advance(1000);
    const second = await knockOpen(h.req);
    expect(second.window).toBe(W + 1);

    const h3 = harness(() => false, { retries: 0 });
    const third = await knockOpen(h3.req);
    expect(h3.sent).toEqual([]);
    expect(h3.slept).toEqual([]);
    expect(third).toMatchObject({ open: false, attempts: 0, usedUpUntilMs: windowStartMs(W + 1, 30) });
  });

  it('a third run near the boundary waits for the next window and knocks W+2', async () => {
    const h = harness(() => true);
    await knockOpen(h.req);
    await knockOpen(h.req);
    const h3 = harness(() => false, { retries: 0 });
    h3.advance(23_000); // 2 s before W+1 starts
    const third = await knockOpen(h3.req);
    expect(h3.slept).toEqual([2000]);
    expect(third.window).toBe(W + 2);
  });

  it('the attempt before the knock finds a live earlier opening: no knock sent', async () => {
    const h = harness(() => true);
    await knockOpen(h.req);
    await knockOpen(h.req);
    const h3 = harness(() => true, { probe: () => fakeProbe({ kind: 'open', socket: fakeSocket }) });
    h3.req.send = async () => {
      throw new Error('must not knock');
    };
    expect(await knockOpen(h3.req)).toMatchObject({ open: true, attempts: 0 });
  });

  it('a port that answered the attempt before the knock is reported open before the knock', async () => {
    const h = harness(() => true, { probe: () => fakeProbe({ kind: 'open', socket: fakeSocket }) });
    expect(await knockOpen(h.req)).toMatchObject({ open: true, attempts: 1, openBeforeKnock: true });
    const g = harness(() => true);
    expect(await knockOpen(g.req)).toMatchObject({ open: true, openBeforeKnock: false });
  });

  it('a knock answered with a reset reports what the attempts before and after it saw, without a retry', async () => {
    const h = harness(() => false, { probe: () => fakeProbe({ kind: 'error', code: 'ECONNREFUSED' }) });
    h.req.connect = async (o) => {
      o.onFailure?.('ECONNREFUSED');
      h.advance(o.timeoutMs ?? 0);
      return undefined;
    };
    expect(await knockOpen(h.req)).toMatchObject({
      open: false,
      attempts: 1,
      observed: { before: 'ECONNREFUSED', after: ['ECONNREFUSED'], localAddress: '192.0.2.2' },
    });
  });

  it('refused before the knock and after it: the wait for the service stops at once', async () => {
    const aborted: boolean[] = [];
    const waitFor = (before: ProbeOutcome) => {
      const h = harness(() => false, { probe: () => fakeProbe(before) });
      h.req.connect = async (o) => {
        o.onFailure?.('ECONNREFUSED');
        aborted.push(o.signal?.aborted === true);
        return undefined;
      };
      return knockOpen(h.req);
    };
    await waitFor({ kind: 'error', code: 'ECONNREFUSED' });
    // silent before, refused after: the knock was let in, the service may be starting: wait on
    await waitFor({ kind: 'silent' });
    expect(aborted).toEqual([true, false]);
  });

  it('the used windows are kept per secret and profile: a corrected profile knocks the current window', async () => {
    const h = harness(() => false);
    await knockOpen(h.req);
    const fixed = { ...profile, knock: normalizeProfile({ method: 'time', period: 30, exclude: [22] }) };
    const g = harness(() => true, { profile: fixed });
    expect(await knockOpen(g.req)).toMatchObject({ open: true, window: W });
  });

  it('--no-wait: one knock, no connection', async () => {
    const h = harness(() => true, { wait: false });
    expect(await knockOpen(h.req)).toMatchObject({ open: false, attempts: 1 });
    expect(h.waited).toHaveLength(0);
  });

  it('falls back to the next address when sending fails, and to the next on retry', async () => {
    const h = harness((k) => k.address === '198.51.100.1', {
      addresses: [
        { address: '2001:db8::1', family: 6 },
        { address: '192.0.2.1', family: 4 },
        { address: '198.51.100.1', family: 4 },
      ],
    });
    const send = h.req.send!;
    h.req.send = async (k) => {
      if (k.family === 6) throw networkError('cannot send the knock to 2001:db8::1: ENETUNREACH');
      return send(k);
    };
    const r = await knockOpen(h.req);
    expect(h.sent.map((k) => k.address)).toEqual(['192.0.2.1', '198.51.100.1']);
    expect(r).toMatchObject({ open: true, attempts: 2, address: { address: '198.51.100.1' } });
  });

  it('every address failing to send is a network error', async () => {
    const h = harness(() => true);
    h.req.send = async () => {
      throw networkError('cannot send the knock to 192.0.2.1: EHOSTUNREACH');
    };
    await expect(knockOpen(h.req)).rejects.toMatchObject({ exitCode: 3 });
  });

  it('starts waiting for the service from the last datagram, before the send has finished', async () => {
    const h = harness(() => true);
    const events: string[] = [];
    const send = h.req.send!;
    h.req.send = async (k) => {
      const sent = send(k);
      events.push('last datagram queued');
      k.afterLastQueued?.();
      await new Promise((r) => setTimeout(r, 5));
      events.push('send done');
      return sent;
    };
    const connect = h.req.connect!;
    h.req.connect = (o) => {
      events.push('connecting');
      return connect(o);
    };
    expect(await knockOpen(h.req)).toMatchObject({ open: true, attempts: 1 });
    expect(events).toEqual(['last datagram queued', 'connecting', 'send done']);
  });

  it('a send that fails after the wait began ends that wait and goes on with the next address', async () => {
    const h = harness(() => true, {
      addresses: [
        { address: '192.0.2.1', family: 4 },
        { address: '198.51.100.1', family: 4 },
      ],
    });
    const send = h.req.send!;
    h.req.send = async (k) => {
      if (k.address !== '192.0.2.1') return send(k);
      k.afterLastQueued?.();
      throw networkError('cannot send the knock to 192.0.2.1: EHOSTUNREACH');
    };
    const aborted: string[] = [];
    const connect = h.req.connect!;
    h.req.connect = (o) => {
      if (o.address !== '192.0.2.1') return connect(o);
      // a service that never opens: only the abort ends this wait
      return new Promise((resolve) =>
        o.signal!.addEventListener('abort', () => (aborted.push(o.address), resolve(undefined))),
      );
    };
    expect(await knockOpen(h.req)).toMatchObject({ open: true, attempts: 1, address: { address: '198.51.100.1' } });
    expect(aborted).toEqual(['192.0.2.1']);
  });

  it('static profiles send the same sequence every time and remember nothing', async () => {
    const fixed = testProfile('s', {
      knock: normalizeProfile({ method: 'static', open: [7000, 8000, 9000], close: [9000, 8000, 7000] }),
    });
    const h = harness(() => false, { profile: fixed });
    await knockOpen(h.req);
    expect(h.sent.map((k) => k.ports)).toEqual([
      [7000, 8000, 9000],
      [7000, 8000, 9000],
    ]);
    expect(lastUsedWindow(join(dir, 'used.json'), secretKey(TEST_SECRET, profile.knock))).toBeUndefined();
  });

  it("static profiles send the test vectors' payload token, that of window 0, whatever the clock (protocol §5.4)", async () => {
    const vectorsFile = new URL('../../../docs/test-vectors.json', import.meta.url);
    const { vectors } = JSON.parse(readFileSync(vectorsFile, 'utf8')) as {
      vectors: { secret: string; profile: KnockProfile; open: number[]; close: number[]; token?: string }[];
    };
    const statics = vectors.filter((v) => v.profile.method === 'static' && v.token !== undefined);
    expect(statics.length).toBeGreaterThan(0);
    for (const v of statics) {
      const fixed = testProfile('s', { knock: v.profile, secret: v.secret });
      for (const now of [1_000, T0]) {
        const h = harness(() => true, { profile: fixed, now: () => now });
        await knockOpen(h.req);
        const sent = h.sent[0]!;
        expect(sent.ports).toEqual(v.open);
        // Payload setting none: each datagram is the token alone (§11).
        expect((sent.payloads ?? []).map((p) => Buffer.from(p ?? []).toString('hex'))).toEqual(
          v.open.map(() => v.token),
        );
      }
    }
  });
});

describe('knockClose', () => {
  it("sends the current window's close sequence", async () => {
    const sent: KnockSend[] = [];
    const r = await knockClose({
      profile,
      addresses: [{ address: '192.0.2.1', family: 4 }],
      delayMs: 3,
      log: silentLogger,
      now: () => T0,
      send: async (k) => {
        sent.push(k);
        return { sourcePort: 1, queuedAt: [], sentAt: [] };
      },
    });
    expect(r.window).toBe(W);
    expect(sent[0]!.ports).toEqual(deriveSequences(profile.knock, secret, W).close);
  });
});
