import { describe, expect, it } from 'vitest';
import { OtpknockError } from './errors.js';
import { INSTANT_MAX_MS, isoTime, parseInstant } from './instant.js';

function refusal(text: string, where?: string): OtpknockError {
  try {
    parseInstant(text, where);
  } catch (e) {
    if (e instanceof OtpknockError) return e;
    throw e;
  }
  throw new Error(`expected ${text} to be refused`);
}

const HINT = 'Give an ISO 8601 date such as 2026-11-25T10:00:00Z, or unix seconds such as 1764064800';

describe('parseInstant (--at of knock print and otpknockd render)', () => {
  it('reads ISO dates and unix seconds', () => {
    expect(parseInstant('2026-11-25T10:00:00Z')).toBe(Date.UTC(2026, 10, 25, 10));
    expect(parseInstant(' 1764064800 ')).toBe(1_764_064_800_000);
    expect(parseInstant('1764064800.5')).toBe(1_764_064_800_500);
    expect(parseInstant('0')).toBe(0);
    expect(parseInstant('2026-11-25 10:00')).toBe(new Date(2026, 10, 25, 10, 0).getTime()); // local time
  });

  it('accepts the whole range from 1970 to the end of year 9999', () => {
    expect(parseInstant('253402300799')).toBe(INSTANT_MAX_MS - 999);
    expect(parseInstant('9999-12-31T23:59:59.999Z')).toBe(INSTANT_MAX_MS);
    expect(parseInstant('1970-01-01T00:00:00Z')).toBe(0);
  });

  // 99999999999999999 s with 1-second windows is a window beyond 2⁵³: it used to be
  // refused by the derivation with a message about windowAt, not about --at.
  it.each(['99999999999999999', '253402300800', '9'.repeat(400), '+275760-09-13T00:00:00Z', '+010000-01-01T00:00:00Z', '1900-01-01', '1969-12-31T23:59:59Z', '-000001-01-01T00:00:00Z', '275760-09-13'])(
    'refuses %s as out of range, naming the option and the accepted forms',
    (text) => {
      const e = refusal(text);
      expect(e.code).toBe('E_ARGUMENT');
      expect(e.where).toBe('--at');
      expect(e.what).toBe(`"${text}" is out of range; expected a time from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z (unix seconds 0 to 253402300799)`);
      expect(e.hint).toBe(HINT);
    },
  );

  it.each(['yesterday', 'tomorrow', '', '1e9', '-5', 'Jan 1 2026', 'Jan 1 1900'])('refuses %j as not a time', (text) => {
    // V8's Date.parse would guess: "-5" is May 2001 to it, "Jan 1 1900" before the epoch.
    const e = refusal(text);
    expect(e.message).toBe(`--at: "${text}" is not a time. ${HINT}.`);
    expect(e.hint).toBe(HINT);
  });

  it('names the option it was given', () => {
    expect(refusal('soon', '--since').message).toMatch(/^--since: "soon" is not a time\./);
  });

  it('isoTime drops zero milliseconds', () => {
    expect(isoTime(0)).toBe('1970-01-01T00:00:00Z');
    expect(isoTime(1_500)).toBe('1970-01-01T00:00:01.500Z');
  });
});
