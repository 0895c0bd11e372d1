import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    ['1s500ms', 1_500],
    [' 30s ', 30_000],
    ['0s', 0],
  ])('%s → %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('refuses a bare number as ambiguous', () => {
    expect(() => parseDuration('30')).toThrow(/"30" is a bare number, which is ambiguous; add a unit, e.g. 30s or 30ms/);
  });

  it.each(['', 's', '5 s', '5sec', '1.5s', '-5s', '30s1m', '5s5s', '5x', 'ms', '5mss'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/expected a whole number with a unit, e.g. 500ms, 5s, 2m, 1h, 1d or 1m30s/);
  });
});

describe('parseDuration: absurd lengths', () => {
  it('accepts up to 100 years', () => {
    expect(parseDuration('36500d')).toBe(36_500 * 86_400_000);
  });

  // `user rotate --grace 100000000d` added this to now and crashed in Date.toISOString.
  it.each(['36500d1ms', '100000000d', '3000000d', '1000000000000d', `${'9'.repeat(30)}ms`])('refuses %s as too long, saying the limit', (text) => {
    expect(() => parseDuration(text)).toThrow(new RangeError(`"${text}" is too long a duration; expected at most 36500d (100 years)`));
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [100, '100ms'],
    [1_500, '1s500ms'],
    [60_000, '1m'],
    [90_000, '1m30s'],
    [86_400_000, '24h'],
  ])('%i → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips', () => {
    for (const ms of [1, 999, 1_000, 61_001, 3_600_000, 86_399_999]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
