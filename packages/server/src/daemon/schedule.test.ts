import { describe, expect, it } from 'vitest';
import {
  APPLY_LEAD_MS,
  MAX_SLEEP_MS,
  PREPARE_LEAD_MS,
  isTimeToLoad,
  isTimeToPrepare,
  loadInstant,
  planInstant,
  preparedStillFits,
  rotationTarget,
  sleepBefore,
} from './schedule.js';

const B = 1_800_000_000_000; // a boundary
const every30s = (ms: number) => (Math.floor(ms / 30_000) + 1) * 30_000;

describe('schedule', () => {
  it('targets the boundary after the planned instant: a boundary passed while loading is caught up, one loaded ahead is not redone', () => {
    expect(rotationTarget(B + 10, B - 30_000, every30s)).toBe(B); // the load for B-30s took until after B
    expect(rotationTarget(B - 900, B, every30s)).toBe(B + 30_000); // B was loaded a second early
    expect(rotationTarget(B - 60_000, B, every30s)).toBe(B - 30_000); // planned far ahead: the clock stepped back
  });

  it('wakes to prepare, then APPLY_LEAD_MS before the boundary to load, never sleeping more than MAX_SLEEP_MS', () => {
    expect(sleepBefore(B - 5_000, B, false)).toBe(5_000 - PREPARE_LEAD_MS);
    expect(sleepBefore(B - 5_000, B, true)).toBe(5_000 - APPLY_LEAD_MS);
    expect(sleepBefore(B - 2_000, B, false)).toBe(2_000 - APPLY_LEAD_MS); // too late to prepare: load then
    expect(sleepBefore(B - 25_000, B, false)).toBe(MAX_SLEEP_MS);
    expect(sleepBefore(B + 50, B, true)).toBe(0);
  });

  it('tells the times apart', () => {
    expect(isTimeToPrepare(B - PREPARE_LEAD_MS, B)).toBe(true);
    expect(isTimeToPrepare(B - PREPARE_LEAD_MS - 1, B)).toBe(false);
    expect(isTimeToLoad(B - APPLY_LEAD_MS - 10, B)).toBe(false);
    expect(isTimeToLoad(B - APPLY_LEAD_MS - 4, B)).toBe(true); // a timer firing a little early counts
    expect(isTimeToPrepare(B - APPLY_LEAD_MS, B)).toBe(false);
    expect(preparedStillFits(B - APPLY_LEAD_MS, B)).toBe(true);
    expect(preparedStillFits(B - 2_000, B)).toBe(false);
    expect(preparedStillFits(B + PREPARE_LEAD_MS, B)).toBe(false);
  });

  it('plans a change in the lead second for the coming boundary, and times its load', () => {
    expect(planInstant(B - 500, B)).toBe(B);
    expect(planInstant(B + 500, B)).toBe(B + 500);
    expect(planInstant(B - 5_000, B)).toBe(B - 5_000);
    expect(loadInstant(B - 3_000, B)).toBe(B - APPLY_LEAD_MS); // prepared ahead: loads a second early
    expect(loadInstant(B - 200, B)).toBe(B - 200);
    expect(loadInstant(B + 10, B + 10)).toBe(B + 10);
  });
});
