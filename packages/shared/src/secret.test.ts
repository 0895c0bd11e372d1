import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OtpknockError } from './errors.js';
import { decodeSecret, encodeSecret, generateSecret } from './secret.js';

function caught(fn: () => unknown): OtpknockError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OtpknockError);
    return err as OtpknockError;
  }
  throw new Error('did not throw');
}

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

  it('names the bad character and its position', () => {
    const e = caught(() => decodeSecret('GEZDGNBVGY3TQOJ1GEZDGNBVGY3TQOJQ', 'users.alice.secret'));
    expect(e.code).toBe('E_SECRET_BASE32');
    expect(e.message).toMatch(/^users\.alice\.secret: invalid base32 character "1" at position 16\./);
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

  it('generates random secrets of the asked size', () => {
    expect(generateSecret()).toHaveLength(20);
    expect(generateSecret(32)).toHaveLength(32);
    expect(generateSecret()).not.toEqual(generateSecret());
    expect(caught(() => generateSecret(8)).code).toBe('E_ARGUMENT');
  });
});
