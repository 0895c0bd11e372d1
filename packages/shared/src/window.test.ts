import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nextWindowBoundaryMs, windowAt, windowStartMs } from './window.js';

describe('windows', () => {
  it('switches exactly at k × period', () => {
    expect(windowAt(59 * 1000, 30)).toBe(1);
    expect(windowAt(60_000 - 1, 30)).toBe(1);
    expect(windowAt(60_000, 30)).toBe(2);
    expect(windowAt(1_770_000_000_000, 30)).toBe(59_000_000);
    expect(windowStartMs(59_000_000, 30)).toBe(1_770_000_000_000);
    expect(nextWindowBoundaryMs(1_770_000_000_000, 30)).toBe(1_770_000_030_000);
    expect(nextWindowBoundaryMs(1_770_000_029_999, 30)).toBe(1_770_000_030_000);
  });
  it('start ≤ now < next boundary, one period apart', () => {
    fc.assert(
      fc.property(fc.nat(4_000_000_000_000), fc.integer({ min: 1, max: 3600 }), (now, period) => {
        const w = windowAt(now, period);
        expect(windowStartMs(w, period)).toBeLessThanOrEqual(now);
        expect(nextWindowBoundaryMs(now, period)).toBeGreaterThan(now);
        expect(nextWindowBoundaryMs(now, period) - windowStartMs(w, period)).toBe(period * 1000);
      }),
    );
  });
  it('refuses bad periods and times', () => {
    expect(() => windowAt(0, 0)).toThrow(/period/);
    expect(() => windowAt(0, 1.5)).toThrow(/period/);
    expect(() => windowAt(-1, 30)).toThrow(/time/);
    expect(() => windowAt(Number.NaN, 30)).toThrow(/time/);
  });
});
