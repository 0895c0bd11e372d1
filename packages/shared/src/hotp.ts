// RFC 4226 HOTP on top of the keyed HMAC (hmac.ts). Cross-checked against
// otplib's own generate in hotp.test.ts.
import { OtpknockError } from './errors.js';
import { keyedHmac, type KeyedHmac } from './hmac.js';
import type { OtpAlgorithm, SecretBytes } from './types.js';

const TWO_32 = 0x1_0000_0000;

/** RFC 4226 §5.3 dynamic truncation: the 31-bit integer picked from an HMAC digest. */
export function dynamicTruncate(digest: Uint8Array, size = digest.length): number {
  const o = digest[size - 1]! & 0x0f;
  return ((digest[o]! & 0x7f) << 24) | (digest[o + 1]! << 16) | (digest[o + 2]! << 8) | digest[o + 3]!;
}

/** Splits a counter into big-endian 32-bit halves, refusing anything that is not a u64. */
export function counterWords(counter: number | bigint, where = 'counter'): [hi: number, lo: number] {
  if (typeof counter === 'bigint') {
    if (counter < 0n || counter > 0xffff_ffff_ffff_ffffn) {
      throw new OtpknockError('E_ARGUMENT', `counter ${counter} is outside 0 … 2^64−1`, { where });
    }
    return [Number(counter >> 32n), Number(counter & 0xffff_ffffn)];
  }
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new OtpknockError('E_ARGUMENT', `counter ${counter} is not a non-negative safe integer`, {
      where,
      hint: 'Pass a bigint for counters above 2^53−1',
    });
  }
  return [Math.floor(counter / TWO_32), counter % TWO_32];
}

/** HOTP value DT(HMAC(secret, u64be(counter))) of an already keyed HMAC. */
export function hotpValueKeyed(mac: KeyedHmac, hi: number, lo: number, scratch: Uint8Array): number {
  mac.digestU64Into(hi, lo, scratch);
  return dynamicTruncate(scratch, mac.size);
}

/** RFC 4226: the 31-bit dynamically truncated HMAC of the counter. */
export function hotpValue(secret: SecretBytes, counter: number | bigint, algorithm: OtpAlgorithm = 'SHA1'): number {
  const [hi, lo] = counterWords(counter);
  return hotpValueKeyed(keyedHmac(algorithm, secret), hi, lo, new Uint8Array(64));
}

/** RFC 4226: the HOTP code, `digits` (6–8) zero-padded decimal digits. */
export function hotpCode(
  secret: SecretBytes,
  counter: number | bigint,
  digits = 6,
  algorithm: OtpAlgorithm = 'SHA1',
): string {
  if (!Number.isInteger(digits) || digits < 6 || digits > 8) {
    throw new OtpknockError('E_ARGUMENT', `digits must be 6, 7 or 8, got ${digits}`, { where: 'digits' });
  }
  return String(hotpValue(secret, counter, algorithm) % 10 ** digits).padStart(digits, '0');
}
