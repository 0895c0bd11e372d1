// Authenticator-app mode (`knock HOST --code 123456`), docs/protocol.md §10:
// the knock of window W is derived from the 6-digit TOTP code an authenticator
// app shows for the same secret, not from the secret itself. Weaker: a window
// has only 10^6 possible codes, so only where the operator enables it.
import { OtpknockError } from './errors.js';
import { hotpCode } from './hotp.js';
import { sequenceDeriver } from './derive.js';
import type { KnockProfile, KnockSequences, SecretBytes } from './types.js';

/** The ASCII label in front of the code: K_code = "otpknock-code-v1:" ‖ code. */
export const CODE_KEY_LABEL = 'otpknock-code-v1:';

/**
 * The profile code-mode sequences are drawn with: the user's method is replaced
 * by `time`, `exclude` is emptied (a person without their profile does not know
 * the server's list) and there is no payload token; length, range, period and
 * algorithm stay the user's.
 */
export function codeModeProfile(profile: KnockProfile): KnockProfile {
  return { ...profile, method: 'time', exclude: [], ports: [], open: [], close: [], toggle: false, tokenBytes: 0 };
}

/** Checks a code as typed: exactly six digits (spaces allowed, as apps group them "123 456"). */
export function normalizeCode(code: string, where = 'code'): string {
  const c = typeof code === 'string' ? code.replace(/\s+/g, '') : '';
  if (!/^\d{6}$/.test(c)) {
    throw new OtpknockError('E_ARGUMENT', 'expected the 6-digit code your authenticator app shows', {
      where,
      hint: 'Type the six digits, e.g. --code 123456',
    });
  }
  return c;
}

/** The key bytes of a code: ASCII "otpknock-code-v1:" ‖ the six digits. */
export function codeKey(code: string): Uint8Array {
  return new TextEncoder().encode(CODE_KEY_LABEL + normalizeCode(code));
}

/** The code an authenticator app shows in window W: RFC 6238 TOTP, 6 digits, the profile's algorithm. */
export function totpCodeOf(secret: SecretBytes, profile: KnockProfile, window: number): string {
  return hotpCode(secret, window, 6, profile.algorithm);
}

/** The code-mode open (and close) sequence of window W for a code. */
export function deriveCodeSequences(profile: KnockProfile, code: string, window: number): KnockSequences {
  return sequenceDeriver(codeModeProfile(profile), codeKey(code))(window);
}
