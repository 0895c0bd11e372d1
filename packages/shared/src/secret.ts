// Shared secrets as authenticator apps show them: RFC 4648 base32.
import { randomBytes } from 'node:crypto';
import { OtpknockError } from './errors.js';
import type { SecretBytes } from './types.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) {
  VALUE[ALPHABET.charCodeAt(i)] = i;
  VALUE[ALPHABET.toLowerCase().charCodeAt(i)] = i;
}

/** Shortest secret accepted: 128 bits. */
export const MIN_SECRET_BYTES = 16;
/** Length of secrets we generate: 160 bits, as RFC 4226 recommends. */
export const RECOMMENDED_SECRET_BYTES = 20;
/**
 * Longest secret accepted: 512 bits (103 base32 characters), otplib's own limit and
 * SHA-512's output. HMAC hashes a key longer than its block first, so a longer secret
 * adds nothing; a longer "secret" is a wrong file or a paste gone wrong.
 */
export const MAX_SECRET_BYTES = 64;

/** Largest file (or stdin) read for a secret: a line of base32, with room for comments. */
export const SECRET_FILE_MAX_BYTES = 64 * 1024;

const NOT_BASE32_HINT =
  'A base32 secret uses only the letters A–Z and the digits 2–7 (0, 1, 8 and 9 are not base32); copy it again from its source';

/**
 * Decodes a base32 secret (RFC 4648 alphabet, any case; spaces and trailing
 * '=' padding ignored) and refuses anything shorter than 128 or longer than 512 bits.
 * Errors say where and what, never a character of the secret (they end up in logs).
 */
export function decodeSecret(text: string, where = 'secret'): SecretBytes {
  if (typeof text !== 'string') {
    throw new OtpknockError('E_SECRET_BASE32', `expected a base32 string, got ${typeof text}`, {
      where,
      hint: 'Give the secret as base32 text, e.g. as printed by `otpknockd user add`',
    });
  }
  // Trailing padding may be followed only by whitespace.
  const end = text.replace(/[\s=]*$/, '').length;
  let bits = 0;
  let acc = 0;
  const out: number[] = [];
  for (let i = 0; i < end; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x20 || ch === 0x09 || ch === 0x0a || ch === 0x0d) continue;
    const v = ch < 128 ? VALUE[ch]! : -1;
    if (v < 0)
      throw new OtpknockError('E_SECRET_BASE32', `invalid base32 character at position ${i + 1}`, {
        where,
        hint: NOT_BASE32_HINT,
      });
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >>> bits) & 0xff);
      if (out.length > MAX_SECRET_BYTES) throw tooLong(where);
    }
  }
  if (out.length < MIN_SECRET_BYTES) {
    throw new OtpknockError(
      'E_SECRET_SHORT',
      `secret is ${out.length * 8} bits long; at least ${MIN_SECRET_BYTES * 8} bits (${Math.ceil((MIN_SECRET_BYTES * 8) / 5)} base32 characters) are required`,
      {
        where,
        hint: `Generate a new secret with \`otpknockd user add\` (${RECOMMENDED_SECRET_BYTES * 8}-bit secrets are recommended)`,
      },
    );
  }
  return Uint8Array.from(out);
}

function tooLong(where: string): OtpknockError {
  return new OtpknockError(
    'E_SECRET_LONG',
    `secret is longer than ${MAX_SECRET_BYTES * 8} bits (${Math.ceil((MAX_SECRET_BYTES * 8) / 5)} base32 characters), the most accepted`,
    {
      where,
      hint: 'Check that the file or parameter holds just the secret; generate a new one with `otpknockd user add` if in doubt',
    },
  );
}

/** Base32 (RFC 4648 alphabet, upper case, no padding) of `bytes`. */
export function encodeSecret(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >>> bits) & 31];
    }
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

/** A fresh random secret (default 20 bytes = 160 bits; 16 to 64). */
export function generateSecret(bytes: number = RECOMMENDED_SECRET_BYTES): SecretBytes {
  if (!Number.isInteger(bytes) || bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) {
    throw new OtpknockError('E_ARGUMENT', `cannot generate a ${bytes}-byte secret`, {
      where: 'generateSecret',
      hint: `Use ${MIN_SECRET_BYTES}–${MAX_SECRET_BYTES} bytes (${RECOMMENDED_SECRET_BYTES} recommended)`,
    });
  }
  return new Uint8Array(randomBytes(bytes));
}
