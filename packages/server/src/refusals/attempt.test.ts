import { sequenceDeriver, windowAt } from '@otpknock/shared';
import { describe, expect, it } from 'vitest';
import { serverConfig, timeProfile, user } from '@otpknock/server/testing';
import { explainAttempt } from './attempt.js';
import type { SourceRecord } from './book.js';

const NOW = Date.UTC(2026, 11, 4, 12, 0, 10);
const W = windowAt(NOW, 30);
const profile = timeProfile({ exclude: [22] });
const alice = user('alice', { profile });
const config = serverConfig({ users: [alice], skew: 1, stepTimeoutMs: 200 });
const open = (window: number) => sequenceDeriver(profile, alice.secret)(window).open;

/** A source whose refused (bad) ports came at these times (ms before NOW). */
function source(packets: [port: number, msBefore: number][]): SourceRecord {
  const recent = packets.map(([port, before]) => ({ t: NOW - before, kind: 'bad' as const, port }));
  return {
    address: '192.0.2.2',
    family: 4,
    firstMs: recent[0]!.t,
    lastMs: recent.at(-1)!.t,
    refused: recent.length,
    recent,
  };
}

describe('explainAttempt: the ports of the failed knock', () => {
  it('datagrams further apart than step_timeout: a live sequence that did not advance, and why', () => {
    // knock --delay 500 twice (window W, then W+1), a step_timeout of 200ms: the first
    // port of each advances, the server forgets it, the other two are refused one by one
    const [, a2, a3] = open(W);
    const [, b2, b3] = open(W + 1);
    const rec = source([
      [a2!, 2500],
      [a3!, 2000],
      [b2!, 500],
      [b3!, 0],
    ]);
    const e = explainAttempt(rec, config);
    expect(e).toMatchObject({ cause: 'timing', user: 'alice' });
    expect(e.text).toMatch(
      /\(live\), but it did not advance: .*; here they came more than step_timeout \(200ms\) apart/,
    );
    // the same ports close together: the last run alone explains them, and says nothing of the spacing
    const close = explainAttempt(
      source([
        [a2!, 40],
        [a3!, 30],
        [b2!, 10],
        [b3!, 0],
      ]),
      config,
    );
    expect(close.cause).toBe('timing');
    expect(close.text).not.toMatch(/here they came/);
  });

  it('the sequence of another window, sent slowly: the clock, with the spacing said', () => {
    const ports = open(W + 3);
    const e = explainAttempt(
      source(ports.map((p, i) => [p, (ports.length - 1 - i) * 500] as [number, number])),
      config,
    );
    expect(e).toMatchObject({ cause: 'clock', windowOffset: 3 });
    expect(e.text).toMatch(/\(its datagrams came more than step_timeout \(200ms\) apart\)$/);
  });

  it('a last run that explains nothing is widened to the attempt span', () => {
    const stale = open(W + 3); // a clock-off attempt 10 s ago…
    const junk = [10_001, 10_002, 10_003]; // …then three unknown ports close together
    const e = explainAttempt(
      source([...stale.map((p) => [p, 10_000] as [number, number]), ...junk.map((p) => [p, 0] as [number, number])]),
      config,
    );
    // the unknown last run is widened: the older ports say clock
    expect(e.cause).toBe('clock');
    // with a wide step_timeout the junk and the stale ports are one run: clock too, without the note
    const wide = explainAttempt(
      source([...stale.map((p) => [p, 1000] as [number, number]), ...junk.map((p) => [p, 0] as [number, number])]),
      { ...config, stepTimeoutMs: 5000 },
    );
    expect(wide.cause).toBe('clock');
    expect(wide.text).not.toMatch(/its datagrams came/);
  });

  it('ports that match nothing, however spread: unknown, naming the last ones', () => {
    const e = explainAttempt(
      source([
        [10_001, 3000],
        [10_002, 0],
      ]),
      config,
    );
    expect(e.cause).toBe('unknown');
    expect(e.text).toMatch(/the ports \(10002\)/);
  });

  it('payload: { require: token }: a live sequence whose datagrams carried no token is the payload, not the timing', () => {
    const tokenConfig = serverConfig({
      users: [user('alice', { profile: { ...profile, tokenBytes: 8 } })],
      skew: 1,
      payload: { require: 'token', shape: 'none' },
    });
    const withPayload = (bytes: number) => {
      const rec = source(open(W).map((port, i) => [port, 30 - 10 * i]));
      rec.recent = rec.recent.map((p) => ({ ...p, payloadBytes: bytes }));
      return explainAttempt(rec, tokenConfig);
    };
    const none = withPayload(0);
    expect(none).toMatchObject({ cause: 'payload', user: 'alice' });
    expect(none.text).toMatch(
      new RegExp(
        `alice's sequence of window ${W} \\(live\\), but the server requires a payload token \\(payload: \\{ require: token, shape: none \\}: at least 4 bytes\\) and the datagrams did not carry one \\(0 bytes of payload\\).*otpknockd user uri alice`,
      ),
    );
    // a token there (maybe the wrong one): the kernel cannot tell more; timing, and it says token
    const carried = withPayload(8);
    expect(carried).toMatchObject({ cause: 'timing', user: 'alice' });
    expect(carried.text).toMatch(/or with a payload token that is not theirs for that window/);
    // without a payload requirement the payload is never the cause, nor mentioned
    const plain = explainAttempt(source(open(W).map((port, i) => [port, 30 - 10 * i])), config);
    expect(plain.cause).toBe('timing');
    expect(plain.text).not.toMatch(/payload/);
  });
});
