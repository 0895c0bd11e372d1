import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { thrownOtpknockError } from './testing.js';
import { decodeSecret, encodeSecret, generateSecret, MAX_SECRET_BYTES } from './secret.js';

const caught = thrownOtpknockError;

describe('base32 secrets', () => {
  it('decodes the RFC 4648 test vector and authenticator-app spellings', () => {
    const bytes = new TextEncoder().encode('12345678901234567890');
    const b32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    expect(encodeSecret(bytes)).toBe(b32);
    expect(decodeSecret(b32)).toEqual(bytes);
    expect(decodeSecret('gezd gnbv gy3t qojq gezd gnbv gy3t qojq')).toEqual(bytes);
    expect(decodeSecret('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====\n')).toEqual(bytes);
  });

  it('round-trips: decode(encode(x)) = x', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 64 }), (x) => {
        expect(decodeSecret(encodeSecret(x))).toEqual(x);
        expect(decodeSecret(encodeSecret(x).toLowerCase())).toEqual(x);
      }),
    );
  });

  it('names the position of a bad character, never the character (messages end up in logs)', () => {
    const e = caught(() => decodeSecret('GEZDGNBVGY3TQOJ1GEZDGNBVGY3TQOJQ', 'users.alice.secret'));
    expect(e.code).toBe('E_SECRET_BASE32');
    expect(e.message).toMatch(/^users\.alice\.secret: invalid base32 character at position 16\. /);
    expect(e.message).not.toContain('"1"');
    expect(e.where).toBe('users.alice.secret');
  });

  it('refuses = padding in the middle', () => {
    expect(caught(() => decodeSecret('GEZD=GNBVGY3TQOJQGEZDGNBVGY3TQOJQ')).code).toBe('E_SECRET_BASE32');
  });

  it('refuses secrets under 128 bits, saying how many bits were given', () => {
    const e = caught(() => decodeSecret('JBSWY3DPEHPK3PXP'));
    expect(e.code).toBe('E_SECRET_SHORT');
    expect(e.message).toMatch(/secret: secret is 80 bits long; at least 128 bits/);
    expect(e.message).toMatch(/otpknockd user add/);
    expect(e.message).toMatch(/160-bit/);
    expect(caught(() => decodeSecret('')).code).toBe('E_SECRET_SHORT');
    expect(caught(() => decodeSecret(42 as unknown as string)).code).toBe('E_SECRET_BASE32');
  });

  it('accepts up to 512 bits and refuses anything longer, without repeating it', () => {
    expect(MAX_SECRET_BYTES).toBe(64);
    expect(decodeSecret(encodeSecret(new Uint8Array(64).fill(7)))).toHaveLength(64);
    for (const text of [
      encodeSecret(new Uint8Array(65).fill(7)),
      'A'.repeat(104),
      'QXJV'.repeat(25_000),
      `${'QXJV'.repeat(30)}!!!`,
    ]) {
      const e = caught(() => decodeSecret(text, 'users.alice.secret'));
      expect(e.code).toBe('E_SECRET_LONG');
      expect(e.message).toMatch(
        /^users\.alice\.secret: secret is longer than 512 bits \(103 base32 characters\), the most accepted\. /,
      );
      expect(e.message).not.toMatch(/QXJ|XJV|JVQ|VQX|AAA/);
    }
  });

  // Every kind of bad character at the start, in the middle and at the end of a secret
  // made of letters that no message uses: the message names the position only.
  it.each(['1', '0', '8', '9', '!', '-', '"', '\u0000', '\u001b', 'é', '😀', '=', '\u202e'])(
    'a bad character %j: its position, not the character, not the secret',
    (bad) => {
      const secret = 'QXJVQXJVQXJVQXJVQXJVQXJVQXJVQXJV';
      for (const at of [0, 13, secret.length]) {
        const text = secret.slice(0, at) + bad + secret.slice(at) + (bad === '=' ? 'Q' : '');
        const e = caught(() => decodeSecret(text, 'secret file /etc/k'));
        expect(e.code).toBe('E_SECRET_BASE32');
        expect(e.message).toBe(
          `secret file /etc/k: invalid base32 character at position ${at + 1}. A base32 secret uses only the letters A–Z and the digits 2–7 (0, 1, 8 and 9 are not base32); copy it again from its source.`,
        );
        expect(e.message).not.toMatch(/QX|XJ|JV|VQ/);
      }
    },
  );

  it('generates random secrets of the asked size', () => {
    expect(generateSecret()).toHaveLength(20);
    expect(generateSecret(32)).toHaveLength(32);
    expect(generateSecret()).not.toEqual(generateSecret());
    expect(caught(() => generateSecret(8)).code).toBe('E_ARGUMENT');
    expect(generateSecret(64)).toHaveLength(64);
    expect(caught(() => generateSecret(65)).code).toBe('E_ARGUMENT');
  });
});
