import { describe, expect, it } from 'vitest';
import { CLOCK_STEP_TOLERANCE_MS, ClockStepDetector, type Clock } from './clock.js';

const manual = (wall: number, mono: number | undefined) => {
  const c = { wall, mono };
  const clock: Clock = {
    now: () => c.wall,
    setTimer: () => ({ cancel: () => undefined }),
    ...(mono === undefined ? {} : { monotonic: () => c.mono! }),
  };
  return { c, clock };
};

describe('ClockStepDetector', () => {
  it('sees the wall clock step against the monotonic one, signed, beyond the tolerance', () => {
    const { c, clock } = manual(1_000_000, 50);
    const d = new ClockStepDetector(clock);
    expect(d.step()).toBe(0); // nothing marked yet
    d.mark();
    c.wall += 10_000;
    c.mono = c.mono! + 10_000;
    expect(d.step()).toBe(0); // both moved alike
    c.wall += CLOCK_STEP_TOLERANCE_MS; // drift within tolerance
    expect(d.step()).toBe(0);
    c.wall -= 60_000 + CLOCK_STEP_TOLERANCE_MS;
    expect(d.step()).toBe(-60_000);
    d.mark();
    expect(d.step()).toBe(0);
  });

  it('cannot tell without a monotonic clock', () => {
    const { c, clock } = manual(1_000_000, undefined);
    const d = new ClockStepDetector(clock);
    d.mark();
    c.wall += 3_600_000;
    expect(d.step()).toBe(0);
  });
});
