import { describe, expect, it } from 'vitest';
import { OtpknockError } from './errors.js';
import { thrownOtpknockError } from './testing.js';
import { checkProfile, checkProfileFields, normalizeProfile, profilePathText } from './profile.js';
import type { KnockProfileInput } from './types.js';

function err(input: unknown, where = 'knock'): OtpknockError {
  const e = thrownOtpknockError(() => normalizeProfile(input as KnockProfileInput, where));
  expect(e.code).toBe('E_PROFILE');
  return e;
}

describe('normalizeProfile defaults', () => {
  it('fills in every default', () => {
    expect(normalizeProfile({ method: 'time' })).toEqual({
      method: 'time',
      length: 3,
      period: 30,
      algorithm: 'SHA1',
      range: { min: 10000, max: 65000 },
      exclude: [],
      ports: [],
      open: [],
      close: [],
      toggle: false,
      tokenBytes: 0,
    });
  });
  it('accepts "MIN-MAX" ranges, lower-case algorithms, and sorts/dedupes exclude', () => {
    const p = normalizeProfile({
      method: 'prng',
      range: ' 2000 - 3000 ',
      algorithm: 'sha-256' as never,
      exclude: [2500, 22, 2500],
    });
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
    [
      'unknown method',
      { method: 'magic' },
      /^knock\.method: expected one of time, list-modulo, prng, static, got "magic"\.$/,
    ],
    ['length 0', { method: 'time', length: 0 }, /^knock\.length: length must be a whole number 1–8, got 0\.$/],
    ['length 9', { method: 'time', length: 9 }, /^knock\.length: /],
    ['length 2.5', { method: 'time', length: 2.5 }, /^knock\.length: /],
    ['period 0', { method: 'time', period: 0 }, /^knock\.period: /],
    ['period 3601', { method: 'time', period: 3601 }, /^knock\.period: /],
    ['period string', { method: 'time', period: '30' }, /^knock\.period: .*got "30"/],
    [
      'algorithm',
      { method: 'time', algorithm: 'MD5' },
      /^knock\.algorithm: expected one of SHA1, SHA256, SHA512, got "MD5"/,
    ],
    [
      'range syntax',
      { method: 'time', range: '10000..20000' },
      /^knock\.range: expected a port range such as 10000-65000 or \{min: 10000, max: 65000\}, got "10000\.\.20000"/,
    ],
    ['range min > max', { method: 'time', range: '20000-10000' }, /^knock\.range: min 20000 is above max 10000/],
    [
      'range max out of bounds',
      { method: 'time', range: { min: 1, max: 70000 } },
      /^knock\.range\.max: expected a port number \(an integer from 1 to 65535\), got 70000/,
    ],
    ['range type', { method: 'time', range: 5 }, /^knock\.range: expected a port range such as 10000-65000 .*, got 5/],
    [
      'range too small',
      { method: 'time', length: 3, range: '100-104' },
      /^knock\.range: range 100-104 leaves 5 ports after 0 exclusions, but length 3 needs 6/,
    ],
    [
      'range too small after exclusions',
      { method: 'prng', length: 2, range: '100-104', exclude: [101, 103] },
      /^knock\.range: range 100-104 leaves 3 ports after 2 exclusions, but length 2 needs 4/,
    ],
    [
      'exclude port 0',
      { method: 'time', exclude: [22, 0] },
      /^knock\.exclude\[1\]: expected a port number \(an integer from 1 to 65535\), got 0\.$/,
    ],
    ['exclude not list', { method: 'time', exclude: 22 }, /^knock\.exclude: expected a list of ports/],
    ['list empty', { method: 'list-modulo' }, /^knock\.ports: the port list is empty/],
    ['list duplicate', { method: 'list-modulo', ports: [1, 2, 3, 4, 5, 3] }, /^knock\.ports: port 3 is listed twice/],
    [
      'list too short',
      { method: 'list-modulo', ports: [1, 2, 3, 4, 5] },
      /^knock\.ports: 5 ports listed, but length 3 needs at least 6/,
    ],
    [
      'list port non-integer',
      { method: 'list-modulo', ports: [1, 2, 3.5] },
      /^knock\.ports\[2\]: expected a port number .*, got 3\.5/,
    ],
    [
      'list port out of range',
      { method: 'list-modulo', ports: [1, 2, 65536] },
      /^knock\.ports\[2\]: expected a port number .*, got 65536/,
    ],
    [
      'list entry excluded',
      { method: 'list-modulo', ports: [1, 2, 3, 4, 5, 22], exclude: [22] },
      /^knock\.ports\[5\]: port 22 is also in exclude/,
    ],
    ['ports with time', { method: 'time', ports: [1, 2] }, /^knock\.ports: ports applies only to method list-modulo/],
    ['open with prng', { method: 'prng', open: [1, 2] }, /^knock\.open: open and close apply only to method static/],
    ['static open empty', { method: 'static', close: [1] }, /^knock\.open: the static open sequence is empty/],
    [
      'static open > 8',
      { method: 'static', open: [1, 2, 3, 4, 5, 6, 7, 8, 9], close: [10] },
      /^knock\.open: 9 ports in the open sequence; at most 8/,
    ],
    [
      'static open duplicate',
      { method: 'static', open: [1, 2, 1], close: [3] },
      /^knock\.open: port 1 appears twice in the open sequence/,
    ],
    [
      'static close duplicate',
      { method: 'static', open: [1], close: [3, 3] },
      /^knock\.close: port 3 appears twice in the close sequence/,
    ],
    [
      'static close missing',
      { method: 'static', open: [1, 2] },
      /^knock\.close: static close sequence missing\. .*toggle: true/,
    ],
    [
      'static close = open',
      { method: 'static', open: [1, 2], close: [1, 2] },
      /^knock\.close: close is the same sequence as open\. Use different ports, or set toggle: true\.$/,
    ],
    [
      'static open prefix of close',
      { method: 'static', open: [1, 2], close: [1, 2, 3] },
      /^knock\.close: the open sequence is a prefix of the close sequence, so the knock state machine would never reach the longer one/,
    ],
    [
      'static close prefix of open',
      { method: 'static', open: [1, 2, 3], close: [1] },
      /^knock\.close: the close sequence is a prefix of the open sequence/,
    ],
    [
      'static toggle with different close',
      { method: 'static', open: [1, 2], close: [3], toggle: true },
      /^knock\.close: a separate close sequence was given although toggle is set/,
    ],
    [
      'static port excluded',
      { method: 'static', open: [1, 22], close: [3], exclude: [22] },
      /^knock\.open\[1\]: port 22 is in exclude/,
    ],
    ['toggle on time', { method: 'time', toggle: true }, /^knock\.toggle: toggle applies only to method static/],
    ['toggle not boolean', { method: 'static', open: [1], toggle: 'yes' }, /^knock\.toggle: expected true or false/],
    [
      'tokenBytes 3',
      { method: 'time', tokenBytes: 3 },
      /^knock\.tokenBytes: tokenBytes must be 0 \(no token\) or a whole number 4–16, got 3\.$/,
    ],
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

describe('checkProfile: located issues, one set of words for every format', () => {
  it('returns the profile, or every issue of the fields with its path', () => {
    expect(checkProfile({ method: 'prng', length: 2 })).toMatchObject({
      profile: { method: 'prng', length: 2, period: 30 },
      issues: [],
    });
    const { issues } = checkProfile({
      method: 'time',
      length: 0,
      exclude: [22, 0, 70000],
      range: { min: 5, max: 'x' },
      toggle: 'yes',
    });
    expect(issues.map((i) => profilePathText(i.path))).toEqual([
      'length',
      'range.max',
      'exclude[1]',
      'exclude[2]',
      'toggle',
    ]);
    expect(issues[0]).toEqual({ path: ['length'], message: 'length must be a whole number 1–8, got 0' });
    expect(issues[2]).toEqual({
      path: ['exclude', 1],
      message: 'expected a port number (an integer from 1 to 65535), got 0',
    });
  });

  it('checks the rules between fields only when the fields are valid', () => {
    expect(checkProfile({ method: 'list-modulo', length: 9 }).issues.map((i) => i.path)).toEqual([['length']]);
    expect(checkProfile({ method: 'list-modulo' }).issues).toEqual([
      { path: ['ports'], message: 'the port list is empty', hint: 'List at least 6 distinct ports' },
    ]);
  });

  it('the method defaults to time, as in every format (§2)', () => {
    expect(checkProfile({}).profile?.method).toBe('time');
    expect(checkProfile(null).issues).toEqual([
      { path: [], message: 'expected a knock profile object (method and its parameters), got nothing' },
    ]);
  });

  it('names fields as the format spells them', () => {
    const snake = { fieldName: (f: string) => f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) };
    expect(checkProfile({ tokenBytes: 2 }, snake).issues[0]?.message).toBe(
      'token_bytes must be 0 (no token) or a whole number 4–16, got 2',
    );
    expect(profilePathText(['tokenBytes'], snake.fieldName)).toBe('token_bytes');
    expect(profilePathText(['ports', 3])).toBe('ports[3]');
  });

  it('repeats no text where the format must not (an otpauth URI may carry the secret anywhere)', () => {
    const hidden = { showText: false };
    expect(checkProfile({ method: 'JBSWY3DPEHPK3PXP' }, hidden).issues[0]?.message).toBe(
      'unknown method; expected one of time, list-modulo, prng, static',
    );
    expect(checkProfile({ algorithm: 'JBSWY3DPEHPK3PXP' }, hidden).issues[0]?.message).toBe(
      'unknown algorithm; expected one of SHA1, SHA256, SHA512',
    );
    expect(checkProfile({ range: 'JBSWY3DPEHPK3PXP' }, hidden).issues[0]?.message).toBe(
      'expected a port range such as 10000-65000 or {min: 10000, max: 65000}',
    );
    expect(checkProfile({ length: 9 }, hidden).issues[0]?.message).toBe('length must be a whole number 1–8, got 9');
  });

  it('checkProfileFields judges a partial block field by field, without defaults or method rules', () => {
    expect(checkProfileFields({ ports: [1, 2], range: '20000-10000' })).toEqual({
      fields: { ports: [1, 2] },
      issues: [{ path: ['range'], message: 'min 20000 is above max 10000', hint: 'Swap them' }],
    });
    expect(checkProfileFields({ algorithm: 'sha-512', lenght: 3 })).toEqual({
      fields: { algorithm: 'SHA512' },
      issues: [],
    });
  });
});
