import { describe, expect, it } from 'vitest';
import { codeKey, codeModeProfile, deriveCodeSequences, normalizeCode, totpCodeOf } from './code-mode.js';
import { hotpCode } from './hotp.js';
import { normalizeProfile } from './profile.js';

const SECRET = new TextEncoder().encode('12345678901234567890');

describe('code mode', () => {
  it('uses the RFC 6238 code an authenticator app shows (T = 59 s → 287082 with SHA1)', () => {
    const p = normalizeProfile({ method: 'time' });
    expect(totpCodeOf(SECRET, p, 1)).toBe('287082');
    expect(totpCodeOf(SECRET, p, 1)).toBe(hotpCode(SECRET, 1));
  });

  it('keys the derivation with "otpknock-code-v1:" and the six digits, over the profile without exclude', () => {
    expect(new TextDecoder().decode(codeKey('123 456'))).toBe('otpknock-code-v1:123456');
    const p = normalizeProfile({ method: 'prng', exclude: [22], tokenBytes: 8 });
    expect(codeModeProfile(p)).toMatchObject({ method: 'time', exclude: [], tokenBytes: 0 });
    const a = deriveCodeSequences(p, '123456', 100);
    expect(a.open).toHaveLength(3);
    expect(deriveCodeSequences(p, '123456', 100)).toEqual(a);
    expect(deriveCodeSequences(p, '123457', 100).open).not.toEqual(a.open);
    expect(deriveCodeSequences(p, '123456', 101).open).not.toEqual(a.open);
  });

  it('refuses anything but six digits', () => {
    for (const bad of ['12345', '1234567', 'abcdef', '']) expect(() => normalizeCode(bad)).toThrow(/6-digit code/);
  });
});
