import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readConsumed } from '../state/consumed-file.js';
import { FakeClock } from '@otpknock/server/testing';
import { ConsumedSequences } from './consumed.js';

const T0 = Date.UTC(2026, 11, 4, 12, 0, 0);

describe('ConsumedSequences', () => {
  it('remembers by ports for the longest time it was told, and forgets what ran out', async () => {
    const clock = new FakeClock(T0);
    const c = new ConsumedSequences(clock, () => undefined);
    c.remember([1, 2, 3], 60_000);
    c.remember([1, 2, 3], 10_000); // never shortened
    c.remember([4, 5, 6], 5_000);
    expect(c.toCarry()).toEqual([
      { ports: [1, 2, 3], remainingMs: 60_000 },
      { ports: [4, 5, 6], remainingMs: 5_000 },
    ]);
    await clock.advance(5_000);
    expect(c.toCarry()).toEqual([{ ports: [1, 2, 3], remainingMs: 55_000 }]);
  });

  it("resolves the kernel's used marks through the live trie's leaves, at least a second", () => {
    const c = new ConsumedSequences(new FakeClock(T0), () => undefined);
    c.rememberFromKernel(
      [{ ports: [7, 8], remainingMs: 9_000 }],
      [
        { mark: 0x8000_0001, remainingMs: 0 },
        { mark: 0x8000_0002, remainingMs: 4_000 },
      ],
      () => new Map([[0x8000_0001, [9, 10]]]),
    );
    expect(c.toCarry()).toEqual([
      { ports: [7, 8], remainingMs: 9_000 },
      { ports: [9, 10], remainingMs: 1_000 },
    ]);
  });

  it('writes consumed.json with wall-clock ends and reads it back into a new instance; writes coalesce', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpknock-consumed-'));
    try {
      const clock = new FakeClock(T0);
      const a = new ConsumedSequences(clock, () => dir);
      a.remember([1, 2], 30_000);
      const first = a.save();
      a.remember([3, 4], 30_000);
      const second = a.save(); // while the first write runs: one more write with both
      await Promise.all([first, second]);
      expect((await readConsumed(dir, T0)).map((r) => [r.ports, r.untilMs])).toEqual([
        [[1, 2], T0 + 30_000],
        [[3, 4], T0 + 30_000],
      ]);
      clock.t += 10_000;
      const b = new ConsumedSequences(clock, () => dir);
      await b.load();
      expect(b.toCarry()).toEqual([
        { ports: [1, 2], remainingMs: 20_000 },
        { ports: [3, 4], remainingMs: 20_000 },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says why it cannot write, and does not throw', async () => {
    const warnings: string[] = [];
    const c = new ConsumedSequences(
      new FakeClock(T0),
      () => '/dev/null/otpknock-state',
      (m) => warnings.push(m),
    );
    c.remember([1, 2], 1_000);
    await c.save();
    expect(warnings[0]).toMatch(
      /^cannot keep the consumed sequences in \/dev\/null\/otpknock-state: .*; a restart may forget them$/,
    );
  });
});
