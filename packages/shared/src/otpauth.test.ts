import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { thrownOtpknockError } from './testing.js';
import { labelProblem } from './names.js';
import { formatOtpauthUri, MAX_URI_LENGTH, parseOtpauthUri } from './otpauth.js';
import { normalizeProfile } from './profile.js';
import { decodeSecret } from './secret.js';
import type { KnockProfileInput } from './types.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

const uriErr = (uri: string) => thrownOtpknockError(() => parseOtpauthUri(uri));

describe('the payload parameter (the payload the server requires)', () => {
  it('round-trips, canonical, and is left out when none', () => {
    const base = { secret: decodeSecret(SECRET), issuer: 'gw', account: 'alice', profile: { method: 'time' as const } };
    expect(parseOtpauthUri(formatOtpauthUri({ ...base, payload: 'dns' })).payload).toBe('dns');
    expect(parseOtpauthUri(formatOtpauthUri({ ...base, payload: 'random:32' })).payload).toBe('random');
    expect(formatOtpauthUri({ ...base, payload: 'none' })).not.toContain('payload=');
    expect(parseOtpauthUri(formatOtpauthUri(base)).payload).toBeUndefined();
  });
  it('a bad one is named without repeating its value', () => {
    const e = uriErr(`otpauth://totp/alice?secret=${SECRET}&payload=${SECRET}x`);
    expect(e.where).toBe('otpauth URI parameter "payload"');
    expect(e.message).not.toContain(SECRET);
  });
});

describe('parseOtpauthUri', () => {
  it('reads a plain authenticator-app URI as method time', () => {
    const p = parseOtpauthUri(
      `otpauth://totp/ACME%20Co:john.doe%40email.com?secret=${SECRET}&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30`,
    );
    expect(p.issuer).toBe('ACME Co');
    expect(p.account).toBe('john.doe@email.com');
    expect(p.secret).toEqual(decodeSecret(SECRET));
    expect(p.profile).toEqual(normalizeProfile({ method: 'time' }));
    expect(p.host).toBeUndefined();
  });
  it('reads otpknock parameters', () => {
    const p = parseOtpauthUri(
      `otpauth://totp/alice?secret=${SECRET.toLowerCase()}&method=prng&length=4&range=20000-30000&exclude=22,443&tokenBytes=8&host=gw.example.org&port=2222&period=60&algorithm=SHA256&image=x`,
    );
    expect(p.issuer).toBe('');
    expect(p.account).toBe('alice');
    expect(p.host).toBe('gw.example.org');
    expect(p.servicePort).toBe(2222);
    expect(p.profile).toMatchObject({
      method: 'prng',
      length: 4,
      range: { min: 20000, max: 30000 },
      exclude: [22, 443],
      tokenBytes: 8,
      period: 60,
      algorithm: 'SHA256',
    });
  });
  const bad: [string, string, RegExp, string?][] = [
    ['not otpauth', 'https://example.org/?secret=X', /^otpauth URI: not an otpauth:\/\/ URI/],
    [
      'hotp',
      `otpauth://hotp/a?secret=${SECRET}&counter=1`,
      /^otpauth URI parameter "type": unsupported OTP type "hotp"\. otpknock sequences are time-driven/,
    ],
    ['missing secret', 'otpauth://totp/a?issuer=x', /^otpauth URI parameter "secret": missing/],
    [
      'bad secret',
      'otpauth://totp/a?secret=ABC1ABCDEFGHIJKLMNOPQRSTUVWXYZ',
      /^otpauth URI parameter "secret": invalid base32 character at position 4\. /,
      'E_SECRET_BASE32',
    ],
    [
      'short secret',
      'otpauth://totp/a?secret=JBSWY3DPEHPK3PXP',
      /^otpauth URI parameter "secret": secret is 80 bits long/,
      'E_SECRET_SHORT',
    ],
    ['digits 8', `otpauth://totp/a?secret=${SECRET}&digits=8`, /^otpauth URI parameter "digits": /],
    ['bad length', `otpauth://totp/a?secret=${SECRET}&length=x`, /^otpauth URI parameter "length": not a whole number/],
    [
      'length 9',
      `otpauth://totp/a?secret=${SECRET}&length=9`,
      /^otpauth URI parameter "length": length must be a whole number 1–8/,
    ],
    [
      'bad method',
      `otpauth://totp/a?secret=${SECRET}&method=nope`,
      /^otpauth URI parameter "method": unknown method; expected one of time, list-modulo, prng, static/,
    ],
    ['bad range', `otpauth://totp/a?secret=${SECRET}&range=1-2-3`, /^otpauth URI parameter "range": /],
    [
      'bad ports',
      `otpauth://totp/a?secret=${SECRET}&method=list-modulo&ports=1,x`,
      /^otpauth URI parameter "ports": item 2 of the list is not a port number/,
    ],
    [
      'short list',
      `otpauth://totp/a?secret=${SECRET}&method=list-modulo&ports=1,2`,
      /^otpauth URI parameter "ports": 2 ports listed/,
    ],
    [
      'bad toggle',
      `otpauth://totp/a?secret=${SECRET}&method=static&open=1&toggle=maybe`,
      /^otpauth URI parameter "toggle": /,
    ],
    [
      'bad port',
      `otpauth://totp/a?secret=${SECRET}&port=70000`,
      /^otpauth URI parameter "port": 70000 is not a port number/,
    ],
    ['bad host', `otpauth://totp/a?secret=${SECRET}&host=a%20b`, /^otpauth URI parameter "host": /],
    [
      'duplicate',
      `otpauth://totp/a?secret=${SECRET}&length=3&length=4`,
      /^otpauth URI parameter "length": appears more than once/,
    ],
    [
      'bad algorithm',
      `otpauth://totp/a?secret=${SECRET}&algorithm=MD5`,
      /^otpauth URI parameter "algorithm": unknown algorithm/,
    ],
  ];
  for (const [name, uri, message, code = 'E_URI'] of bad) {
    it(`refuses: ${name}`, () => {
      const e = uriErr(uri);
      expect(e.code).toBe(code);
      expect(e.message).toMatch(message);
    });
  }
});

describe('parseOtpauthUri: labels (docs/protocol.md §7: neither issuer nor account may contain ":")', () => {
  const ok = (label: string, q = '') => parseOtpauthUri(`otpauth://totp/${label}?secret=${SECRET}${q}`);
  it('splits the label at its first colon; the issuer parameter wins', () => {
    expect(ok('acme:alice')).toMatchObject({ issuer: 'acme', account: 'alice' });
    expect(ok('acme:alice', '&issuer=ACME%20Co')).toMatchObject({ issuer: 'ACME Co', account: 'alice' });
    expect(ok('alice')).toMatchObject({ issuer: '', account: 'alice' });
    expect(ok(`${'i'.repeat(128)}:${'a'.repeat(128)}`).account).toHaveLength(128);
  });
  it.each([
    [
      'a colon in the account',
      'acme:alice:x',
      '',
      'label',
      'the account contains ":", which separates issuer and account in the label',
    ],
    ['an encoded colon in the account', 'acme:alice%3Ax', '', 'label', 'the account contains ":"'],
    ['a colon in the issuer parameter', 'acme:alice', '&issuer=ac%3Ame', 'issuer', 'the issuer contains ":"'],
    ['a control character in the account', 'acme:al%0Aice', '', 'label', 'the account contains a control character'],
    ['a NUL in the issuer parameter', 'alice', '&issuer=a%00b', 'issuer', 'the issuer contains a control character'],
    ['an escape sequence in the issuer', '%1B%5B2J:alice', '', 'label', 'the issuer contains a control character'],
    [
      'an account of 129 characters',
      `acme:${'a'.repeat(129)}`,
      '',
      'label',
      'the account is 129 characters long; at most 128 are allowed',
    ],
    [
      'an issuer of 100,000 characters',
      'alice',
      `&issuer=${'i'.repeat(100_00)}`,
      'issuer',
      'the issuer is 10000 characters long; at most 128 are allowed',
    ],
  ])('refuses %s', (_what, label, q, param, message) => {
    const e = uriErr(`otpauth://totp/${label}?secret=${SECRET}${q}`);
    expect(e.code).toBe('E_URI');
    expect(e.message.startsWith(`otpauth URI parameter "${param}": ${message}`), e.message).toBe(true);
    expect(e.message).not.toMatch(/iiii|aaaa|alice/);
  });
});

describe('parseOtpauthUri: hosts (the same rule as knock add --address)', () => {
  it.each(['gw.example.org', '192.0.2.10', '2001:db8::10', '[2001:db8::10]', 'gw'])('accepts host=%s', (host) => {
    expect(parseOtpauthUri(`otpauth://totp/a?secret=${SECRET}&host=${encodeURIComponent(host)}`).host).toBe(host);
  });
  it.each([
    ['a b', 'contains " "'],
    ['gw/x', 'contains "/"'],
    ['a=b', 'contains "="'],
    ['', 'is empty'],
    ['fe80::1%eth0', 'has a zone (scope) id'],
    ['999.1.1.1', 'is not a valid IPv4 address'],
    ['h'.repeat(254), 'is 254 characters long; at most 253 are allowed'],
    [`${'l'.repeat(64)}.example`, 'has a label of 64 characters'],
    ['gw\u0000', 'contains a control character'],
  ])('refuses host=%j', (host, problem) => {
    const e = uriErr(`otpauth://totp/a?secret=${SECRET}&host=${encodeURIComponent(host)}`);
    expect(e.message).toMatch(
      new RegExp(`^otpauth URI parameter "host": not a host name or address: it ${problem.replace(/[()]/g, '\\$&')}`),
    );
    expect(e.message).not.toMatch(/hhhh|llll/);
  });
});

describe('parseOtpauthUri: size', () => {
  it(`reads a URI of up to ${MAX_URI_LENGTH} characters (a long exclude list) and refuses a longer one without reading it`, () => {
    const exclude = Array.from({ length: 2600 }, (_, i) => 10001 + i * 2);
    const long = formatOtpauthUri({
      secret: decodeSecret(SECRET),
      issuer: 'acme',
      account: 'alice',
      profile: normalizeProfile({ method: 'time', exclude }),
    });
    expect(long.length).toBeGreaterThan(15_000);
    expect(long.length).toBeLessThanOrEqual(MAX_URI_LENGTH);
    expect(parseOtpauthUri(long).profile.exclude).toEqual(exclude);
    for (const size of [MAX_URI_LENGTH + 1, 1_000_000]) {
      const uri = `otpauth://totp/acme:alice?secret=${SECRET}&x=${'x'.repeat(size)}`;
      const e = uriErr(uri);
      expect(e.message).toBe(
        `otpauth URI: ${uri.length} characters long; at most 16384 are accepted. Check that it holds just the one URI that otpknockd user add printed.`,
      );
    }
  });
  it('does not write a URI that knock import would refuse', () => {
    const exclude = Array.from({ length: 4000 }, (_, i) => 10001 + i * 2);
    expect(() =>
      formatOtpauthUri({
        secret: decodeSecret(SECRET),
        issuer: 'acme',
        account: 'alice',
        profile: normalizeProfile({ method: 'time', exclude }),
      }),
    ).toThrow(/^profile: the URI would be \d+ characters long; at most 16384 are accepted by knock import/);
  });
});

// A URI pasted with a character lost or added can carry the secret in any parameter.
// Whatever the error, no message repeats any part of it: the secret below is made of
// letters no message uses, and a run of 3 of them would show.
describe('parseOtpauthUri: no message repeats any part of the secret', () => {
  const S = 'QXJVWYQXJVWYQXJVWYQXJVWYQXJVWYQX';
  const PART = /[QXJVWY]{3,}/;
  const mangled: [string, string][] = [
    ['the secret with a bad character', `otpauth://totp/acme:alice?secret=${S.slice(0, 10)}1${S.slice(10)}`],
    ['the secret too short', `otpauth://totp/acme:alice?secret=${S.slice(0, 20)}`],
    ['the secret too long', `otpauth://totp/acme:alice?secret=${S.repeat(4)}`],
    ['the secret in the label ("?" lost)', `otpauth://totp/acme:alice:secret=${S}`],
    ['the secret in period', `otpauth://totp/a?period=30secret=${S}&secret=${S}`],
    ['the secret in length', `otpauth://totp/a?secret=${S.slice(0, 26)}&length=${S.slice(26)}`],
    ['the secret in tokenBytes', `otpauth://totp/a?secret=${S}&tokenBytes=${S}`],
    ['the secret in port', `otpauth://totp/a?secret=${S}&port=${S}`],
    ['the secret in digits', `otpauth://totp/a?secret=${S}&digits=${S}`],
    ['the secret in method', `otpauth://totp/a?secret=${S}&method=time${S}`],
    ['the secret in algorithm', `otpauth://totp/a?secret=${S}&algorithm=SHA1${S}`],
    ['the secret in range', `otpauth://totp/a?secret=${S}&range=10000-65000${S}`],
    ['the secret in ports', `otpauth://totp/a?secret=${S}&method=list-modulo&ports=1,2,3,4,5,6${S}`],
    ['the secret in exclude', `otpauth://totp/a?secret=${S}&exclude=22${S}`],
    ['the secret in open', `otpauth://totp/a?secret=${S}&method=static&open=1,2${S}&toggle=1`],
    ['the secret in toggle', `otpauth://totp/a?secret=${S}&method=static&open=1,2&toggle=1${S}`],
    ['the secret in host', `otpauth://totp/a?secret=${S}&host=gw.example.org&${S}=1&host=x${S}`],
    ['the secret in host, alone', `otpauth://totp/a?secret=${S}&host=gw${S}/`],
    ['the secret as a parameter name, twice', `otpauth://totp/a?secret=${S}&${S}=1&${S}=2`],
    ['the secret in the type', `otpauth://${S}/a?secret=${S}`],
  ];
  it.each(mangled)('%s', (_what, uri) => {
    const e = uriErr(uri);
    expect(e.message).not.toMatch(PART);
    expect(e.where ?? '').not.toMatch(PART);
  });
});

describe('formatOtpauthUri', () => {
  it('writes a URI authenticator apps read, leaving defaults out', () => {
    const uri = formatOtpauthUri({
      secret: decodeSecret(SECRET),
      issuer: 'ACME Co',
      account: 'alice@example.org',
      profile: { method: 'time' },
    });
    expect(uri).toBe(`otpauth://totp/ACME%20Co:alice%40example.org?secret=${SECRET}&issuer=ACME%20Co&method=time`);
  });
  it('refuses short secrets and colons in the label', () => {
    expect(() =>
      formatOtpauthUri({ secret: new Uint8Array(10), issuer: 'x', account: 'y', profile: { method: 'time' } }),
    ).toThrow(/80 bits/);
    expect(() =>
      formatOtpauthUri({ secret: decodeSecret(SECRET), issuer: 'a:b', account: 'y', profile: { method: 'time' } }),
    ).toThrow(/^issuer: /);
  });

  it('keeps accounts that look like path dot segments (".", "..", "a/../b")', () => {
    for (const account of ['.', '..', 'a/../b', '%2E']) {
      for (const issuer of ['', 'ACME']) {
        const original = {
          secret: decodeSecret(SECRET),
          issuer,
          account,
          profile: normalizeProfile({ method: 'time' }),
        };
        expect(parseOtpauthUri(formatOtpauthUri(original))).toEqual(original);
      }
    }
    expect(parseOtpauthUri(`otpauth://totp/%2e%2E?secret=${SECRET}&method=time`).account).toBe('..');
  });

  const profileInput: fc.Arbitrary<KnockProfileInput> = fc.oneof(
    fc.record({
      method: fc.constant('time'),
      length: fc.integer({ min: 1, max: 8 }),
      period: fc.integer({ min: 1, max: 3600 }),
      algorithm: fc.constantFrom('SHA1', 'SHA256', 'SHA512') as fc.Arbitrary<never>,
      range: fc.constantFrom('10000-65000', '2000-3000'),
      exclude: fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { maxLength: 5 }),
      tokenBytes: fc.constantFrom(0, 4, 16),
    }),
    fc.record({ method: fc.constant('prng'), length: fc.integer({ min: 1, max: 8 }) }),
    fc.record({
      method: fc.constant('list-modulo'),
      length: fc.constant(2),
      ports: fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 4, maxLength: 12 }),
    }),
    fc.record({
      method: fc.constant('static'),
      open: fc.uniqueArray(fc.integer({ min: 1, max: 999 }), { minLength: 1, maxLength: 8 }),
      toggle: fc.constant(true),
    }),
    fc.record({
      method: fc.constant('static'),
      open: fc.constant<number[]>([1, 2]),
      close: fc.uniqueArray(fc.integer({ min: 3, max: 999 }), { minLength: 1, maxLength: 8 }),
    }),
  );
  it('format → parse round trip', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        fc.string({ maxLength: 20 }).filter((s) => labelProblem(s) === undefined && s.trim() === s),
        fc
          .string({ minLength: 1, maxLength: 20 })
          .filter((s) => labelProblem(s) === undefined && s.trim() === s && s !== ''),
        profileInput,
        fc.option(fc.domain(), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        (secret, issuer, account, input, host, servicePort) => {
          let profile;
          try {
            profile = normalizeProfile(input);
          } catch {
            return; // generated an invalid profile (e.g. too many exclusions); not this test's business
          }
          const original = {
            secret,
            issuer,
            account,
            profile,
            ...(host ? { host } : {}),
            ...(servicePort ? { servicePort } : {}),
          };
          const back = parseOtpauthUri(formatOtpauthUri(original));
          expect(back).toEqual(original);
        },
      ),
      { numRuns: 300 },
    );
  });
});
