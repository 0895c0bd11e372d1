// Property tests for the otpauth:// parser as an attack surface: whatever a
// URI holds (pasted, mangled, hostile), parsing either returns a valid profile
// or throws an OtpknockError that names the parameter, never another kind of
// error, and never repeats the secret back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OtpknockError } from './errors.js';
import { formatOtpauthUri, parseOtpauthUri } from './otpauth.js';
import { PROFILE_FIELDS, normalizeProfile } from './profile.js';
import { encodeSecret } from './secret.js';

const secretArb = fc.uint8Array({ minLength: 16, maxLength: 40 });
const profileArb = fc.oneof(
  fc.record({
    method: fc.constant('time'),
    length: fc.integer({ min: 1, max: 8 }),
    period: fc.integer({ min: 1, max: 3600 }),
  }),
  fc.record({
    method: fc.constant('prng'),
    length: fc.integer({ min: 1, max: 8 }),
    range: fc.constantFrom('10000-65000', '2000-3000'),
  }),
  fc.record({
    method: fc.constant('list-modulo'),
    length: fc.constant(2),
    ports: fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 4, maxLength: 10 }),
  }),
  fc.record({
    method: fc.constant('static'),
    open: fc.uniqueArray(fc.integer({ min: 1, max: 999 }), { minLength: 1, maxLength: 8 }),
    toggle: fc.constant(true),
  }),
);
const validUriArb = fc.tuple(secretArb, profileArb).map(([secret, profile]) => ({
  secret,
  uri: formatOtpauthUri({
    secret,
    issuer: 'acme',
    account: 'alice',
    profile: normalizeProfile(profile),
    host: 'gw.example.org',
    servicePort: 22,
  }),
}));

/** Parses; returns the result, or the OtpknockError; any other throw fails the property. */
function parseOrError(uri: string): ReturnType<typeof parseOtpauthUri> | OtpknockError {
  try {
    return parseOtpauthUri(uri);
  } catch (e) {
    if (e instanceof OtpknockError) return e;
    throw new Error(
      `parseOtpauthUri threw a ${(e as Error)?.constructor?.name}: ${(e as Error)?.message} for ${JSON.stringify(uri)}`,
    );
  }
}

/** A hostile edit of a valid URI. */
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ maxLength: 8, unit: 'binary' }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 12 }) }),
  fc.record({
    kind: fc.constant('param' as const),
    name: fc.constantFrom(
      'period',
      'length',
      'range',
      'ports',
      'open',
      'close',
      'exclude',
      'digits',
      'algorithm',
      'method',
      'toggle',
      'tokenBytes',
      'port',
      'host',
    ),
    value: fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.integer().map(String),
      fc.constant(''),
      fc.constant('99999999999'),
      fc.constant('-1'),
      fc.constant('1e3'),
      fc.constant('0x10'),
    ),
  }),
);

type Mutation =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; n: number }
  | { kind: 'param'; name: string; value: string };

function mutate(uri: string, m: Mutation): string {
  if (m.kind === 'insert') {
    const at = m.at % (uri.length + 1);
    return uri.slice(0, at) + m.text + uri.slice(at);
  }
  if (m.kind === 'delete') {
    const at = m.at % (uri.length + 1);
    return uri.slice(0, at) + uri.slice(at + m.n);
  }
  const url = new URL(uri);
  url.searchParams.set(m.name, m.value);
  return url.toString();
}

describe('otpauth URI parser under hostile input', () => {
  it('arbitrary text: a value or an OtpknockError, nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200, unit: 'binary' }),
          fc.webUrl(),
          fc.string({ maxLength: 80 }).map((s) => `otpauth://totp/${s}`),
        ),
        (text) => {
          parseOrError(text);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a mangled valid URI: parses to a valid profile, or an E_ error naming where, without the secret in it', () => {
    fc.assert(
      fc.property(validUriArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), ({ secret, uri }, mutations) => {
        let text = uri;
        for (const m of mutations) {
          try {
            text = mutate(text, m);
          } catch {
            return; // the edit broke the URL so badly that URL() refuses to set a parameter: nothing to parse
          }
        }
        const r = parseOrError(text);
        if (r instanceof OtpknockError) {
          expect(r.code).toMatch(/^E_/);
          expect(r.where ?? '').toMatch(/otpauth URI/);
          expect(r.message).not.toContain(encodeSecret(secret));
        } else {
          // whatever parsed is a complete, valid profile
          expect(normalizeProfile(r.profile)).toEqual(r.profile);
          expect(r.secret.length).toBeGreaterThanOrEqual(16);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('a parameter given twice is always refused, naming it', () => {
    fc.assert(
      fc.property(validUriArb, fc.nat(), ({ uri }, pick) => {
        const names = [...new URL(uri).searchParams.keys()];
        const name = names[pick % names.length]!;
        const value = new URL(uri).searchParams.get(name)!;
        const r = parseOrError(`${uri}&${name}=${encodeURIComponent(value)}`);
        expect(r).toBeInstanceOf(OtpknockError);
        expect((r as OtpknockError).message).toContain(`"${name}": appears more than once`);
      }),
      { numRuns: 200 },
    );
  });

  it('unknown parameters are ignored, and the secret is read case- and space-insensitively', () => {
    fc.assert(
      fc.property(
        validUriArb,
        fc.stringMatching(/^[a-z]{3,10}$/),
        fc.string({ maxLength: 10 }),
        ({ uri, secret }, name, value) => {
          fc.pre(![...PROFILE_FIELDS, 'secret', 'issuer', 'digits', 'host', 'port'].includes(name));
          const base = parseOtpauthUri(uri);
          const extra = new URL(uri);
          extra.searchParams.append(name, value);
          expect(parseOtpauthUri(extra.toString())).toEqual(base);
          const spaced = new URL(uri);
          const b32 = encodeSecret(secret);
          spaced.searchParams.set('secret', `${b32.slice(0, 4).toLowerCase()} ${b32.slice(4)}==`.replace(/=+$/, ''));
          expect(parseOtpauthUri(spaced.toString()).secret).toEqual(base.secret);
        },
      ),
      { numRuns: 200 },
    );
  });
});
