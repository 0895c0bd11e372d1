import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseDurationArgument } from './duration.js';

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
    expect(() => parseDuration('30')).toThrow(
      /"30" is a bare number, which is ambiguous; add a unit, e.g. 30s or 30ms/,
    );
  });

  it.each(['', 's', '5 s', '5sec', '1.5s', '-5s', '30s1m', '5s5s', '5x', 'ms', '5mss'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(
      /expected a whole number with a unit, e.g. 500ms, 5s, 2m, 1h, 1d or 1m30s/,
    );
  });
});

describe('parseDuration: absurd lengths', () => {
  it('accepts up to 100 years', () => {
    expect(parseDuration('36500d')).toBe(36_500 * 86_400_000);
  });

  // `user rotate --grace 100000000d` added this to now and crashed in Date.toISOString.
  it.each(['36500d1ms', '100000000d', '3000000d', '1000000000000d', `${'9'.repeat(30)}ms`])(
    'refuses %s as too long, saying the limit',
    (text) => {
      expect(() => parseDuration(text)).toThrow(
        new RangeError(`"${text}" is too long a duration; expected at most 36500d (100 years)`),
      );
    },
  );
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [100, '100ms'],
    [1_500, '1s500ms'],
    [60_000, '1m'],
    [90_000, '1m30s'],
    [86_400_000, '24h'],
    [2 * 86_400_000, '2d'],
    [7 * 86_400_000 + 3_600_000, '7d1h'],
    [365 * 86_400_000, '365d'],
  ])('%i → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips', () => {
    for (const ms of [1, 999, 1_000, 61_001, 3_600_000, 86_399_999, 2 * 86_400_000 + 1, 400 * 86_400_000])
      expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});

describe('parseDurationArgument', () => {
  const grace = { min: 0, max: 365 * 86_400_000 };
  it('takes a duration within the range, and a bare 0 when 0 is allowed', () => {
    expect(parseDurationArgument('7d', '--grace', grace)).toBe(7 * 86_400_000);
    expect(parseDurationArgument('0', '--grace', grace)).toBe(0);
    expect(parseDurationArgument('0s', '--grace', grace)).toBe(0);
  });

  it('names the option and the range it expects', () => {
    expect(() => parseDurationArgument('366d', '--grace', grace)).toThrow(
      '--grace: 366d is out of range; expected 0s to 365d.',
    );
    expect(() => parseDurationArgument('0', '--for', { min: 1000, max: 7 * 86_400_000 })).toThrow(
      /^--for: "0" is a bare number/,
    );
    expect(() => parseDurationArgument('soon', '--confirm-within', { min: 5000, max: 3_600_000 })).toThrow(
      /^--confirm-within: "soon" is not a duration/,
    );
  });
});
