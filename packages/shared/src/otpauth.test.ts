import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OtpknockError } from './errors.js';
import { formatOtpauthUri, parseOtpauthUri } from './otpauth.js';
import { normalizeProfile } from './profile.js';
import { decodeSecret } from './secret.js';
import type { KnockProfileInput } from './types.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

function uriErr(uri: string): OtpknockError {
  try {
    parseOtpauthUri(uri);
  } catch (e) {
    expect(e).toBeInstanceOf(OtpknockError);
    return e as OtpknockError;
  }
  throw new Error('did not throw');
}

describe('parseOtpauthUri', () => {
  it('reads a plain authenticator-app URI as method time', () => {
    const p = parseOtpauthUri(`otpauth://totp/ACME%20Co:john.doe%40email.com?secret=${SECRET}&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30`);
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
    expect(p.profile).toMatchObject({ method: 'prng', length: 4, range: { min: 20000, max: 30000 }, exclude: [22, 443], tokenBytes: 8, period: 60, algorithm: 'SHA256' });
  });
  const bad: [string, string, RegExp, string?][] = [
    ['not otpauth', 'https://example.org/?secret=X', /^otpauth URI: not an otpauth:\/\/ URI/],
    ['hotp', `otpauth://hotp/a?secret=${SECRET}&counter=1`, /^otpauth URI parameter "type": unsupported OTP type "hotp"\. otpknock sequences are time-driven/],
    ['missing secret', 'otpauth://totp/a?issuer=x', /^otpauth URI parameter "secret": missing/],
    ['bad secret', 'otpauth://totp/a?secret=ABC1ABCDEFGHIJKLMNOPQRSTUVWXYZ', /^otpauth URI parameter "secret": invalid base32 character "1" at position 4/, 'E_SECRET_BASE32'],
    ['short secret', 'otpauth://totp/a?secret=JBSWY3DPEHPK3PXP', /^otpauth URI parameter "secret": secret is 80 bits long/, 'E_SECRET_SHORT'],
    ['digits 8', `otpauth://totp/a?secret=${SECRET}&digits=8`, /^otpauth URI parameter "digits": /],
    ['bad length', `otpauth://totp/a?secret=${SECRET}&length=x`, /^otpauth URI parameter "length": "x" is not a whole number/],
    ['length 9', `otpauth://totp/a?secret=${SECRET}&length=9`, /^otpauth URI parameter "length": length must be a whole number 1–8/],
    ['bad method', `otpauth://totp/a?secret=${SECRET}&method=nope`, /^otpauth URI parameter "method": unknown method "nope"/],
    ['bad range', `otpauth://totp/a?secret=${SECRET}&range=1-2-3`, /^otpauth URI parameter "range": /],
    ['bad ports', `otpauth://totp/a?secret=${SECRET}&method=list-modulo&ports=1,x`, /^otpauth URI parameter "ports": "x" is not a port number/],
    ['short list', `otpauth://totp/a?secret=${SECRET}&method=list-modulo&ports=1,2`, /^otpauth URI parameter "ports": 2 ports listed/],
    ['bad toggle', `otpauth://totp/a?secret=${SECRET}&method=static&open=1&toggle=maybe`, /^otpauth URI parameter "toggle": /],
    ['bad port', `otpauth://totp/a?secret=${SECRET}&port=70000`, /^otpauth URI parameter "port": 70000 is not a port number/],
    ['bad host', `otpauth://totp/a?secret=${SECRET}&host=a%20b`, /^otpauth URI parameter "host": /],
    ['duplicate', `otpauth://totp/a?secret=${SECRET}&length=3&length=4`, /^otpauth URI parameter "length": appears more than once/],
    ['bad algorithm', `otpauth://totp/a?secret=${SECRET}&algorithm=MD5`, /^otpauth URI parameter "algorithm": unknown algorithm/],
  ];
  for (const [name, uri, message, code = 'E_URI'] of bad) {
    it(`refuses: ${name}`, () => {
      const e = uriErr(uri);
      expect(e.code).toBe(code);
      expect(e.message).toMatch(message);
    });
  }
});

describe('formatOtpauthUri', () => {
  it('writes a URI authenticator apps read, leaving defaults out', () => {
    const uri = formatOtpauthUri({ secret: decodeSecret(SECRET), issuer: 'ACME Co', account: 'alice@example.org', profile: { method: 'time' } });
    expect(uri).toBe(`otpauth://totp/ACME%20Co:alice%40example.org?secret=${SECRET}&issuer=ACME%20Co&method=time`);
  });
  it('refuses short secrets and colons in the label', () => {
    expect(() => formatOtpauthUri({ secret: new Uint8Array(10), issuer: 'x', account: 'y', profile: { method: 'time' } })).toThrow(/80 bits/);
    expect(() => formatOtpauthUri({ secret: decodeSecret(SECRET), issuer: 'a:b', account: 'y', profile: { method: 'time' } })).toThrow(/^issuer: /);
  });

  it('keeps accounts that look like path dot segments (".", "..", "a/../b")', () => {
    for (const account of ['.', '..', 'a/../b', '%2E']) {
      for (const issuer of ['', 'ACME']) {
        const original = { secret: decodeSecret(SECRET), issuer, account, profile: normalizeProfile({ method: 'time' }) };
        expect(parseOtpauthUri(formatOtpauthUri(original))).toEqual(original);
      }
    }
    expect(parseOtpauthUri(`otpauth://totp/%2e%2E?secret=${SECRET}&method=time`).account).toBe('..');
  });

  const profileInput: fc.Arbitrary<KnockProfileInput> = fc.oneof(
    fc.record({ method: fc.constant('time'), length: fc.integer({ min: 1, max: 8 }), period: fc.integer({ min: 1, max: 3600 }), algorithm: fc.constantFrom('SHA1', 'SHA256', 'SHA512') as fc.Arbitrary<never>, range: fc.constantFrom('10000-65000', '2000-3000'), exclude: fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { maxLength: 5 }), tokenBytes: fc.constantFrom(0, 4, 16) }),
    fc.record({ method: fc.constant('prng'), length: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ method: fc.constant('list-modulo'), length: fc.constant(2), ports: fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 4, maxLength: 12 }) }),
    fc.record({ method: fc.constant('static'), open: fc.uniqueArray(fc.integer({ min: 1, max: 999 }), { minLength: 1, maxLength: 8 }), toggle: fc.constant(true) }),
    fc.record({ method: fc.constant('static'), open: fc.constant<number[]>([1, 2]), close: fc.uniqueArray(fc.integer({ min: 3, max: 999 }), { minLength: 1, maxLength: 8 }) }),
  );
  it('format → parse round trip', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        fc.string({ maxLength: 20 }).filter((s) => !s.includes(':') && s.trim() === s),
        fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes(':') && s.trim() === s && s !== ''),
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
          const original = { secret, issuer, account, profile, ...(host ? { host } : {}), ...(servicePort ? { servicePort } : {}) };
          const back = parseOtpauthUri(formatOtpauthUri(original));
          expect(back).toEqual(original);
        },
      ),
      { numRuns: 300 },
    );
  });
});
