import { describe, expect, it } from 'vitest';
import { quote } from './errors.js';
import { INSTANT_MAX_MS, isoTime, parseInstant } from './instant.js';
import { thrownOtpknockError } from './testing.js';

const refusal = (text: string, where?: string) => thrownOtpknockError(() => parseInstant(text, where));

const HINT = 'Give an ISO 8601 date such as 2026-11-25T10:00:00Z, or unix seconds such as 1764064800';

describe('parseInstant (--at of knock print and otpknockd render)', () => {
  it('reads ISO dates and unix seconds', () => {
    expect(parseInstant('2026-11-25T10:00:00Z')).toBe(Date.UTC(2026, 10, 25, 10));
    expect(parseInstant(' 1764064800 ')).toBe(1_764_064_800_000);
    expect(parseInstant('1764064800.5')).toBe(1_764_064_800_500);
    expect(parseInstant('0')).toBe(0);
    expect(parseInstant('2026-11-25 10:00')).toBe(new Date(2026, 10, 25, 10, 0).getTime()); // local time
  });

  it('refuses a local time that a daylight saving change skips, instead of moving it by an hour', () => {
    const before = process.env.TZ;
    process.env.TZ = 'Europe/Berlin'; // Node applies a changed TZ at once
    try {
      expect(refusal('2026-03-29 02:30').message).toMatch(
        /^--at: "2026-03-29 02:30" is not a valid time: 02:30 on 2026-03-29 does not exist in the local time zone/,
      );
      expect(parseInstant('2026-03-29 03:30')).toBe(Date.UTC(2026, 2, 29, 1, 30)); // CEST, UTC+2
      expect(parseInstant('2026-03-29 01:59')).toBe(Date.UTC(2026, 2, 29, 0, 59)); // CET, UTC+1
      expect(parseInstant('2026-03-29T02:30:00Z')).toBe(Date.UTC(2026, 2, 29, 2, 30)); // a zone: no gap
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });

  it('accepts the whole range from 1970 to the end of year 9999', () => {
    expect(parseInstant('253402300799')).toBe(INSTANT_MAX_MS - 999);
    expect(parseInstant('9999-12-31T23:59:59.999Z')).toBe(INSTANT_MAX_MS);
    expect(parseInstant('1970-01-01T00:00:00Z')).toBe(0);
  });

  // 99999999999999999 s with 1-second windows is a window beyond 2⁵³: it used to be
  // refused by the derivation with a message about windowAt, not about --at.
  it.each([
    '99999999999999999',
    '253402300800',
    '9'.repeat(400),
    '+275760-09-13T00:00:00Z',
    '+010000-01-01T00:00:00Z',
    '1900-01-01',
    '1969-12-31T23:59:59Z',
    '-000001-01-01T00:00:00Z',
    '275760-09-13',
  ])('refuses %s as out of range, naming the option and the accepted forms', (text) => {
    const e = refusal(text);
    expect(e.code).toBe('E_ARGUMENT');
    expect(e.where).toBe('--at');
    expect(e.what).toBe(
      `${quote(text)} is out of range; expected a time from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z (unix seconds 0 to 253402300799)`,
    );
    expect(e.hint).toBe(HINT);
  });

  it.each(['yesterday', 'tomorrow', '', '1e9', '-5', 'Jan 1 2026', 'Jan 1 1900'])(
    'refuses %j as not a time',
    (text) => {
      // V8's Date.parse would guess: "-5" is May 2001 to it, "Jan 1 1900" before the epoch.
      const e = refusal(text);
      expect(e.message).toBe(`--at: "${text}" is not a time. ${HINT}.`);
      expect(e.hint).toBe(HINT);
    },
  );

  it('names the option it was given', () => {
    expect(refusal('soon', '--since').message).toMatch(/^--since: "soon" is not a time\./);
  });

  it('isoTime drops zero milliseconds', () => {
    expect(isoTime(0)).toBe('1970-01-01T00:00:00Z');
    expect(isoTime(1_500)).toBe('1970-01-01T00:00:01.500Z');
  });
});

describe('parseInstant refuses dates and times that do not exist (no rolling over)', () => {
  const days = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

  it.each([
    // February 29 outside leap years (2100 is not one: divisible by 100, not by 400)
    ['2026-02-29T10:00:00Z', 'February 2026 has 28 days'],
    ['2027-02-29', 'February 2027 has 28 days'],
    ['2100-02-29T00:00:00Z', 'February 2100 has 28 days'],
    ['2024-02-30T10:00:00Z', 'February 2024 has 29 days'],
    ['2026-02-30T10:00:00Z', 'February 2026 has 28 days'],
    ['2026-02-31 10:00', 'February 2026 has 28 days'],
    // day 31 of the 30-day months
    ['2026-04-31T10:00:00Z', 'April 2026 has 30 days'],
    ['2026-06-31T10:00:00Z', 'June 2026 has 30 days'],
    ['2026-09-31T10:00:00Z', 'September 2026 has 30 days'],
    ['2026-11-31T10:00:00Z', 'November 2026 has 30 days'],
    ['2026-01-32T10:00:00Z', 'January 2026 has 31 days'],
    ['2026-01-00T10:00:00Z', 'day 00 does not exist'],
    ['2026-00-10T10:00:00Z', 'month 00 does not exist (01–12)'],
    ['2026-13-01T10:00:00Z', 'month 13 does not exist (01–12)'],
    ['2026-99-99', 'month 99 does not exist (01–12)'],
    // clock fields
    ['2026-11-25T24:00:00Z', 'hour 24 is out of range (00–23)'],
    ['2026-11-25T24:00Z', 'hour 24 is out of range (00–23)'],
    ['2026-11-25 99:00', 'hour 99 is out of range (00–23)'],
    ['2026-11-25T10:60:00Z', 'minute 60 is out of range (00–59)'],
    ['2026-11-25T10:00:60Z', 'second 60 is out of range (00–59); leap seconds are not supported'],
    ['2026-11-25T10:00:61Z', 'second 61 is out of range (00–59)'],
    ['2026-11-25T10:00:00+24:00', 'the zone offset +24:00 is out of range (up to ±23:59)'],
    ['2026-11-25T10:00:00-01:60', 'the zone offset -01:60 is out of range (up to ±23:59)'],
  ])('%s: %s', (text, why) => {
    const e = refusal(text);
    expect(e.code).toBe('E_ARGUMENT');
    expect(e.message).toBe(`--at: "${text}" is not a valid time: ${why}. ${HINT}.`);
  });

  it('every day that does not exist, in every month of a leap and a common year, is refused; every one that does is read exactly', () => {
    for (const year of [2024, 2026, 2100, 2000]) {
      for (let month = 1; month <= 12; month++) {
        const mm = String(month).padStart(2, '0');
        for (let day = 1; day <= 31; day++) {
          const text = `${year}-${mm}-${String(day).padStart(2, '0')}T23:59:59Z`;
          if (day <= days(year, month))
            expect(parseInstant(text), text).toBe(Date.UTC(year, month - 1, day, 23, 59, 59));
          else expect(refusal(text).message, text).toMatch(/is not a valid time: \w+ \d{4} has (28|29|30) days/);
        }
      }
    }
  });

  it('every hour, minute and second that exists is read exactly; the next one up is refused', () => {
    for (let h = 0; h <= 24; h++) {
      const text = `2026-11-25T${String(h).padStart(2, '0')}:00:00Z`;
      if (h < 24) expect(parseInstant(text)).toBe(Date.UTC(2026, 10, 25, h));
      else expect(() => parseInstant(text)).toThrow(/hour 24/);
    }
    for (let n = 0; n <= 60; n++) {
      const nn = String(n).padStart(2, '0');
      if (n < 60) {
        expect(parseInstant(`2026-11-25T10:${nn}:00Z`)).toBe(Date.UTC(2026, 10, 25, 10, n));
        expect(parseInstant(`2026-11-25T10:00:${nn}Z`)).toBe(Date.UTC(2026, 10, 25, 10, 0, n));
      } else {
        expect(() => parseInstant(`2026-11-25T10:${nn}:00Z`)).toThrow(/minute 60/);
        expect(() => parseInstant(`2026-11-25T10:00:${nn}Z`)).toThrow(/second 60/);
      }
    }
  });

  it('reads the ISO forms it documents: zones, fractions, lower case, a space for T', () => {
    const at = Date.UTC(2026, 10, 25, 10);
    expect(parseInstant('2026-11-25T10:00:00Z')).toBe(at);
    expect(parseInstant('2026-11-25t10:00:00z')).toBe(at);
    expect(parseInstant('2026-11-25T10:00Z')).toBe(at);
    expect(parseInstant('2026-11-25T11:00:00+01:00')).toBe(at);
    expect(parseInstant('2026-11-25T11:00:00+0100')).toBe(at);
    expect(parseInstant('2026-11-25T11:00:00+01')).toBe(at);
    expect(parseInstant('2026-11-25T05:30:00-04:30')).toBe(at);
    expect(parseInstant('2026-11-25T10:00:00.250Z')).toBe(at + 250);
    expect(parseInstant('2026-11-25T10:00:00.5Z')).toBe(at + 500);
    expect(parseInstant('2026-11-25')).toBe(Date.UTC(2026, 10, 25));
    expect(parseInstant('2024-02-29T12:00:00Z')).toBe(Date.UTC(2024, 1, 29, 12));
    expect(parseInstant('2000-02-29')).toBe(Date.UTC(2000, 1, 29));
  });

  it.each([
    '2026-11-25T10',
    '2026-11-25T10:00:00 UTC',
    '2026-11-25T10:00:00Z junk',
    '2026-1-5',
    '2026/11/25',
    '2026-11-25T1:00',
  ])('refuses %j as not a time', (text) => {
    expect(refusal(text).message).toBe(`--at: "${text}" is not a time. ${HINT}.`);
  });

  it('repeats at most 64 characters of what it was given', () => {
    for (const text of ['x'.repeat(1_000_000), `2026-02-30T10:00:00Z${'x'.repeat(100_000)}`, '9'.repeat(100_000)]) {
      const e = refusal(text);
      expect(e.message.length).toBeLessThan(400);
      expect(e.message).toContain(`(${text.length} characters)`);
    }
  });
});
