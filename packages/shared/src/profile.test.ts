import { describe, expect, it } from 'vitest';
import { OtpknockError } from './errors.js';
import { normalizeProfile } from './profile.js';
import type { KnockProfileInput } from './types.js';

function err(input: unknown, where = 'knock'): OtpknockError {
  try {
    normalizeProfile(input as KnockProfileInput, where);
  } catch (e) {
    expect(e).toBeInstanceOf(OtpknockError);
    expect((e as OtpknockError).code).toBe('E_PROFILE');
    return e as OtpknockError;
  }
  throw new Error('did not throw');
}

describe('normalizeProfile defaults', () => {
  it('fills in every default', () => {
    expect(normalizeProfile({ method: 'time' })).toEqual({
      method: 'time', length: 3, period: 30, algorithm: 'SHA1', range: { min: 10000, max: 65000 },
      exclude: [], ports: [], open: [], close: [], toggle: false, tokenBytes: 0,
    });
  });
  it('accepts "MIN-MAX" ranges, lower-case algorithms, and sorts/dedupes exclude', () => {
    const p = normalizeProfile({ method: 'prng', range: ' 2000 - 3000 ', algorithm: 'sha-256' as never, exclude: [2500, 22, 2500] });
    expect(p.range).toEqual({ min: 2000, max: 3000 });
    expect(p.algorithm).toBe('SHA256');
    expect(p.exclude).toEqual([22, 2500]);
  });
  it('static toggle: close becomes open', () => {
    expect(normalizeProfile({ method: 'static', open: [1, 2], toggle: true }).close).toEqual([1, 2]);
  });
});

describe('normalizeProfile errors name the field', () => {
  const cases: [string, unknown, RegExp][] = [
    ['unknown method', { method: 'magic' }, /^knock\.method: unknown method "magic"\. Use one of time, list-modulo, prng, static\.$/],
    ['length 0', { method: 'time', length: 0 }, /^knock\.length: length must be a whole number 1–8, got 0\.$/],
    ['length 9', { method: 'time', length: 9 }, /^knock\.length: /],
    ['length 2.5', { method: 'time', length: 2.5 }, /^knock\.length: /],
    ['period 0', { method: 'time', period: 0 }, /^knock\.period: /],
    ['period 3601', { method: 'time', period: 3601 }, /^knock\.period: /],
    ['period string', { method: 'time', period: '30' }, /^knock\.period: .*got "30"/],
    ['algorithm', { method: 'time', algorithm: 'MD5' }, /^knock\.algorithm: unknown algorithm "MD5"/],
    ['range syntax', { method: 'time', range: '10000..20000' }, /^knock\.range: "10000\.\.20000" is not a port range\. Write it as MIN-MAX/],
    ['range min > max', { method: 'time', range: '20000-10000' }, /^knock\.range: min 20000 is above max 10000/],
    ['range max out of bounds', { method: 'time', range: { min: 1, max: 70000 } }, /^knock\.range\.max: 70000 is not a port number/],
    ['range type', { method: 'time', range: 5 }, /^knock\.range: 5 is not a port range/],
    ['range too small', { method: 'time', length: 3, range: '100-104' }, /^knock\.range: range 100-104 leaves 5 ports after 0 exclusions, but length 3 needs 6/],
    ['range too small after exclusions', { method: 'prng', length: 2, range: '100-104', exclude: [101, 103] }, /^knock\.range: range 100-104 leaves 3 ports after 2 exclusions, but length 2 needs 4/],
    ['exclude port 0', { method: 'time', exclude: [22, 0] }, /^knock\.exclude\[1\]: 0 is not a port number\. Ports are whole numbers 1–65535\.$/],
    ['exclude not list', { method: 'time', exclude: 22 }, /^knock\.exclude: expected a list of ports/],
    ['list empty', { method: 'list-modulo' }, /^knock\.ports: the port list is empty/],
    ['list duplicate', { method: 'list-modulo', ports: [1, 2, 3, 4, 5, 3] }, /^knock\.ports: port 3 is listed twice/],
    ['list too short', { method: 'list-modulo', ports: [1, 2, 3, 4, 5] }, /^knock\.ports: 5 ports listed, but length 3 needs at least 6/],
    ['list port non-integer', { method: 'list-modulo', ports: [1, 2, 3.5] }, /^knock\.ports\[2\]: 3\.5 is not a port number/],
    ['list port out of range', { method: 'list-modulo', ports: [1, 2, 65536] }, /^knock\.ports\[2\]: 65536 is not a port number/],
    ['list entry excluded', { method: 'list-modulo', ports: [1, 2, 3, 4, 5, 22], exclude: [22] }, /^knock\.ports\[5\]: port 22 is also in exclude/],
    ['ports with time', { method: 'time', ports: [1, 2] }, /^knock\.ports: ports applies only to method list-modulo/],
    ['open with prng', { method: 'prng', open: [1, 2] }, /^knock\.open: open and close apply only to method static/],
    ['static open empty', { method: 'static', close: [1] }, /^knock\.open: the static open sequence is empty/],
    ['static open > 8', { method: 'static', open: [1, 2, 3, 4, 5, 6, 7, 8, 9], close: [10] }, /^knock\.open: 9 ports in the open sequence; at most 8/],
    ['static open duplicate', { method: 'static', open: [1, 2, 1], close: [3] }, /^knock\.open: port 1 appears twice in the open sequence/],
    ['static close duplicate', { method: 'static', open: [1], close: [3, 3] }, /^knock\.close: port 3 appears twice in the close sequence/],
    ['static close missing', { method: 'static', open: [1, 2] }, /^knock\.close: static close sequence missing\. .*toggle: true/],
    ['static close = open', { method: 'static', open: [1, 2], close: [1, 2] }, /^knock\.close: close is the same sequence as open\. Use different ports, or set toggle: true\.$/],
    ['static open prefix of close', { method: 'static', open: [1, 2], close: [1, 2, 3] }, /^knock\.close: the open sequence is a prefix of the close sequence, so the knock state machine would never reach the longer one/],
    ['static close prefix of open', { method: 'static', open: [1, 2, 3], close: [1] }, /^knock\.close: the close sequence is a prefix of the open sequence/],
    ['static toggle with different close', { method: 'static', open: [1, 2], close: [3], toggle: true }, /^knock\.close: a separate close sequence was given although toggle is set/],
    ['static port excluded', { method: 'static', open: [1, 22], close: [3], exclude: [22] }, /^knock\.open\[1\]: port 22 is in exclude/],
    ['toggle on time', { method: 'time', toggle: true }, /^knock\.toggle: toggle applies only to method static/],
    ['toggle not boolean', { method: 'static', open: [1], toggle: 'yes' }, /^knock\.toggle: expected true or false/],
    ['tokenBytes 3', { method: 'time', tokenBytes: 3 }, /^knock\.tokenBytes: tokenBytes must be 0 \(no token\) or a whole number 4–16, got 3\.$/],
    ['tokenBytes 17', { method: 'time', tokenBytes: 17 }, /^knock\.tokenBytes: /],
    ['not an object', null, /^knock: expected a knock profile object/],
  ];
  for (const [name, input, message] of cases) {
    it(name, () => {
      const e = err(input);
      expect(e.message).toMatch(message);
      expect(e.where).toMatch(/^knock/);
    });
  }
  it('works without where: messages start with the field name', () => {
    expect(() => normalizeProfile({ method: 'time', length: 0 })).toThrow(/^length: /);
  });
  it('accepts the boundaries', () => {
    expect(normalizeProfile({ method: 'time', length: 1, range: '1-2' }).range).toEqual({ min: 1, max: 2 });
    expect(normalizeProfile({ method: 'time', length: 8, range: '65520-65535' }).length).toBe(8);
    expect(normalizeProfile({ method: 'list-modulo', length: 1, ports: [1, 65535] }).ports).toEqual([1, 65535]);
    expect(normalizeProfile({ method: 'static', open: [1, 2, 3, 4, 5, 6, 7, 8], close: [2] }).open).toHaveLength(8);
    expect(normalizeProfile({ method: 'time', tokenBytes: 16, period: 3600 }).tokenBytes).toBe(16);
  });
});
