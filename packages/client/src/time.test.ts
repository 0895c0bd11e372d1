import { describe, expect, it } from 'vitest';
import { KnockError } from './errors.js';
import { TIME_MAX_MS, isoTime, parseTime } from './time.js';

function refusal(text: string): KnockError {
  try {
    parseTime(text);
  } catch (e) {
    if (e instanceof KnockError) return e;
    throw e;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe('parseTime (knock print --at)', () => {
  it('reads unix seconds and ISO 8601 dates, from 1970 to the end of year 9999', () => {
    expect(parseTime('1732571234')).toBe(1_732_571_234_000);
    expect(parseTime('1732571234.5')).toBe(1_732_571_234_500);
    expect(parseTime('2025-11-25T21:30:00Z')).toBe(Date.UTC(2025, 10, 25, 21, 30));
    expect(parseTime('0')).toBe(0);
    expect(parseTime('253402300799')).toBe(TIME_MAX_MS - 999);
    expect(parseTime('9999-12-31T23:59:59.999Z')).toBe(TIME_MAX_MS);
  });

  // 99999999999999999 s with 1-second windows is a window beyond 2⁵³: it used to be
  // refused by the derivation with a message about windowAt, not about --at.
  it.each(['99999999999999999', '253402300800', '9'.repeat(400), '+275760-09-13T00:00:00Z', '+010000-01-01T00:00:00Z', '1900-01-01', '1969-12-31T23:59:59Z', '275760-09-13'])(
    'refuses %s as out of range (exit 2), naming --at and the accepted forms',
    (text) => {
      const e = refusal(text);
      expect(e.exitCode).toBe(2);
      expect(e.message).toBe(`--at: "${text}" is out of range; expected a time from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z`);
      expect(e.hint).toBe('Use unix seconds (1732571234) or an ISO 8601 date (2025-11-25T21:30:00Z), from 0 to 253402300799 seconds.');
    },
  );

  it.each(['yesterday', '-5', '', '1e9', 'Jan 1 2026'])('refuses %j as not a time', (text) => {
    const e = refusal(text);
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(`--at: "${text}" is not a time`);
    expect(e.hint).toBe('Use unix seconds (1732571234) or an ISO 8601 date (2025-11-25T21:30:00Z).');
  });

  it('isoTime drops zero milliseconds', () => {
    expect(isoTime(0)).toBe('1970-01-01T00:00:00Z');
    expect(isoTime(1_500)).toBe('1970-01-01T00:00:01.500Z');
  });
});
