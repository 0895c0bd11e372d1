import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NobleCryptoPlugin, generateSync } from 'otplib';
import { hotpCode, hotpValue } from './hotp.js';
import { keyedHmac } from './hmac.js';
import { windowAt } from './window.js';
import type { OtpAlgorithm } from './types.js';

const ascii = (s: string) => new TextEncoder().encode(s);
const KEY1 = ascii('12345678901234567890');
const KEY256 = ascii('12345678901234567890123456789012');
const KEY512 = ascii('1234567890123456789012345678901234567890123456789012345678901234');
const KEYS: Record<OtpAlgorithm, Uint8Array> = { SHA1: KEY1, SHA256: KEY256, SHA512: KEY512 };

describe('RFC 4226 appendix D', () => {
  const codes = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  const truncated = [
    1284755224, 1094287082, 137359152, 1726969429, 1640338314, 868254676, 1918287922, 82162583, 673399871, 645520489,
  ];
  codes.forEach((code, c) => {
    it(`counter ${c}`, () => {
      expect(hotpValue(KEY1, c)).toBe(truncated[c]);
      expect(hotpCode(KEY1, c)).toBe(code);
      expect(hotpCode(KEY1, BigInt(c))).toBe(code);
      expect(generateSync({ strategy: 'hotp', secret: KEY1, counter: c })).toBe(code);
    });
  });
});

describe('RFC 6238 appendix B', () => {
  const table: [number, string, string, string][] = [
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    [20000000000, '65353130', '77737706', '47863826'],
  ];
  for (const [t, sha1, sha256, sha512] of table) {
    it(`T = ${t}`, () => {
      const c = windowAt(t * 1000, 30);
      const want: Record<OtpAlgorithm, string> = { SHA1: sha1, SHA256: sha256, SHA512: sha512 };
      for (const alg of ['SHA1', 'SHA256', 'SHA512'] as const) {
        expect(hotpCode(KEYS[alg], c, 8, alg)).toBe(want[alg]);
        const lower = alg.toLowerCase() as 'sha1' | 'sha256' | 'sha512';
        expect(generateSync({ secret: KEYS[alg], algorithm: lower, digits: 8, epoch: t, period: 30 })).toBe(want[alg]);
      }
    });
  }
});

describe('HOTP against otplib', () => {
  it('agrees for random secrets, counters and algorithms', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 80 }),
        fc.oneof(fc.nat(), fc.maxSafeNat()),
        fc.constantFrom<OtpAlgorithm>('SHA1', 'SHA256', 'SHA512'),
        (secret, counter, alg) => {
          const otplib = generateSync({ strategy: 'hotp', secret, counter, algorithm: alg.toLowerCase() as 'sha1' });
          expect(hotpCode(secret, counter, 6, alg)).toBe(otplib);
        },
      ),
      { numRuns: 300 },
    );
  });
  it('accepts bigint counters up to 2^64−1 and refuses others', () => {
    expect(hotpCode(KEY1, 2n ** 64n - 1n)).toMatch(/^\d{6}$/);
    expect(() => hotpValue(KEY1, 2n ** 64n)).toThrow(/counter/);
    expect(() => hotpValue(KEY1, -1)).toThrow(/counter/);
    expect(() => hotpValue(KEY1, 1.5)).toThrow(/counter/);
    expect(() => hotpCode(KEY1, 0, 5)).toThrow(/digits/);
  });
});

describe('keyedHmac', () => {
  // An independent implementation to check against: @noble/hashes, through otplib's crypto plugin.
  const noble = new NobleCryptoPlugin();
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const nobleName = (alg: OtpAlgorithm) => alg.toLowerCase() as 'sha1' | 'sha256' | 'sha512';

  it('matches @noble/hashes for all key and message lengths', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 120 }),
        fc.constantFrom<OtpAlgorithm>('SHA1', 'SHA256', 'SHA512'),
        (key, msg, alg) => {
          const mac = keyedHmac(alg, key);
          const want = hex(noble.hmac(nobleName(alg), key, msg));
          expect(hex(mac.digest(msg))).toBe(want);
          const out = new Uint8Array(mac.size + 3).fill(0xee);
          expect(mac.digestInto(msg, out)).toBe(out);
          expect(hex(out.subarray(0, mac.size))).toBe(want);
          expect(hex(out.subarray(mac.size))).toBe('eeeeee'); // nothing written past the digest
        },
      ),
      { numRuns: 500 },
    );
  });
  it('digestU64Into is the HMAC of the 8-byte big-endian counter', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        fc.nat(0xffffffff),
        fc.nat(0xffffffff),
        fc.constantFrom<OtpAlgorithm>('SHA1', 'SHA256', 'SHA512'),
        (key, hi, lo, alg) => {
          const msg = new Uint8Array(8);
          new DataView(msg.buffer).setUint32(0, hi);
          new DataView(msg.buffer).setUint32(4, lo);
          const mac = keyedHmac(alg, key);
          expect(hex(mac.digestU64Into(hi, lo, new Uint8Array(64)).subarray(0, mac.size))).toBe(
            hex(noble.hmac(nobleName(alg), key, msg)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
  it("returns digests of the hash's size, as plain Uint8Arrays", () => {
    for (const [alg, size] of [
      ['SHA1', 20],
      ['SHA256', 32],
      ['SHA512', 64],
    ] as const) {
      const d = keyedHmac(alg, KEY1).digest(ascii('x'));
      expect(d.length).toBe(size);
      expect(keyedHmac(alg, KEY1).size).toBe(size);
      expect(Object.getPrototypeOf(d)).toBe(Uint8Array.prototype);
    }
  });
});
