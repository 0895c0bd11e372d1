import { describe, expect, it } from 'vitest';
import { RetryPolicy } from './retry.js';

describe('RetryPolicy', () => {
  it('backs off 1, 2, 5, 10, 10 s, asks for a resync after two failures, and starts over after a success', () => {
    const r = new RetryPolicy();
    expect(r.clear).toBe(true);
    expect([r.failed(), r.shouldResync, r.failed(), r.shouldResync, r.failed(), r.failed(), r.failed()]).toEqual([
      1_000,
      false,
      2_000,
      true,
      5_000,
      10_000,
      10_000,
    ]);
    expect(r.attempts).toBe(5);
    expect(r.clear).toBe(false);
    r.succeeded();
    expect([r.clear, r.shouldResync, r.failed()]).toEqual([true, false, 1_000]);
  });
});
