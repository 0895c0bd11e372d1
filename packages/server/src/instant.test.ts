import { describe, expect, it } from 'vitest';
import { OtpknockError } from '@otpknock/shared';
import { INSTANT_MAX_MS, parseInstant } from './instant.js';

function refusal(text: string): OtpknockError {
  try {
    parseInstant(text);
  } catch (e) {
    if (e instanceof OtpknockError) return e;
    throw e;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe('parseInstant (--at)', () => {
  it('reads ISO dates and unix seconds', () => {
    expect(parseInstant('2026-11-25T10:00:00Z')).toBe(Date.UTC(2026, 10, 25, 10));
    expect(parseInstant('1764064800')).toBe(1_764_064_800_000);
    expect(parseInstant('1764064800.5')).toBe(1_764_064_800_500);
    expect(parseInstant('0')).toBe(0);
    expect(parseInstant('2026-11-25 10:00')).toBe(new Date(2026, 10, 25, 10, 0).getTime()); // local time
  });

  it('accepts the whole range from 1970 to the end of year 9999', () => {
    expect(parseInstant('253402300799')).toBe(INSTANT_MAX_MS - 999);
    expect(parseInstant('9999-12-31T23:59:59.999Z')).toBe(INSTANT_MAX_MS);
    expect(parseInstant('1970-01-01T00:00:00Z')).toBe(0);
  });

  it.each(['99999999999999999', '253402300800', '9'.repeat(400), '+275760-09-13T00:00:00Z', '+010000-01-01T00:00:00Z', '1969-12-31T23:59:59Z', '-000001-01-01T00:00:00Z'])(
    'refuses %s as out of range, naming the option and the accepted forms',
    (text) => {
      const e = refusal(text);
      expect(e.code).toBe('E_ARGUMENT');
      expect(e.where).toBe('--at');
      expect(e.what).toBe(`"${text}" is out of range; expected a time from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z (unix seconds 0 to 253402300799)`);
      expect(e.hint).toBe('give an ISO date such as 2026-11-25T10:00:00Z, or unix seconds');
    },
  );

  it('refuses what is not a time', () => {
    expect(refusal('tomorrow').what).toBe('"tomorrow" is not a time');
    expect(refusal('').what).toBe('"" is not a time');
    // V8's Date.parse would guess: "-5" is May 2001 to it, "Jan 1 1900" before the epoch.
    expect(refusal('-5').what).toBe('"-5" is not a time');
    expect(refusal('Jan 1 1900').what).toBe('"Jan 1 1900" is not a time');
    expect(refusal('-5').hint).toBe('give an ISO date such as 2026-11-25T10:00:00Z, or unix seconds');
  });
});
