// HMAC for the short messages otpknock hashes (8–28 bytes), fast enough for a
// server that derives 10,000 users × 3 windows at every rotation.
//
// node:crypto costs ~2 µs per HMAC in call overhead alone; here the key's
// ipad/opad blocks are compressed once per key and each short message then
// costs exactly two compression-function calls, with no allocation.
// SHA-512 (rare in practice) goes through node:crypto.
// Cross-checked against node:crypto in hmac.test.ts.
import { createHash, createHmac } from 'node:crypto';
import type { OtpAlgorithm } from './types.js';
import { sha1Block, sha1Block20, sha1Block8 } from './sha1-unrolled.js';

export type HmacHash = OtpAlgorithm;

/** An HMAC keyed once, applied to many short messages. */
export interface KeyedHmac {
  readonly hash: HmacHash;
  /** Digest length in bytes. */
  readonly size: number;
  /** HMAC of `msg`, written into `out` (at least `size` bytes); returns `out`. */
  digestInto(msg: Uint8Array, out: Uint8Array): Uint8Array;
  /** HMAC of `msg` as a new array. */
  digest(msg: Uint8Array): Uint8Array;
  /** HMAC of the 8-byte big-endian message hi‖lo (an HOTP counter), into `out`. */
  digestU64Into(hi: number, lo: number, out: Uint8Array): Uint8Array;
}

const SHA256_K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const SHA256_IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const SHA1_IV = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];

function sha1Compress(state: Int32Array, w: Int32Array): void {
  sha1Block(state, w);
}

/** SHA-256 compression of one 16-word block `w` (extended in place to 64 words) into `state`. */
function sha256Compress(state: Int32Array, w: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15]!, y = w[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!;
  let e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + SHA256_K[i]! + w[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0; state[1] = (state[1]! + b) | 0; state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0; state[4] = (state[4]! + e) | 0; state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0; state[7] = (state[7]! + h) | 0;
}

const BLOCK = 64;
/** Longest message that fits, with padding, in the single block after ipad. */
const MAX_SHORT = BLOCK - 9;

/** Shared key set-up and block packing for the 64-byte-block hashes. */
abstract class ShortHmac implements KeyedHmac {
  abstract readonly hash: 'SHA1' | 'SHA256';
  readonly size: number;
  protected readonly inner: Int32Array;
  protected readonly outer: Int32Array;
  protected readonly state: Int32Array;
  protected readonly w = new Int32Array(64);
  private readonly fallback: KeyedHmac;

  constructor(hash: 'SHA1' | 'SHA256', key: Uint8Array, iv: readonly number[]) {
    this.size = iv.length * 4;
    this.state = new Int32Array(iv.length);
    let k = key;
    if (k.length > BLOCK) k = createHash(hash === 'SHA1' ? 'sha1' : 'sha256').update(k).digest();
    const pad = new Uint8Array(BLOCK);
    pad.set(k);
    this.inner = Int32Array.from(iv);
    this.outer = Int32Array.from(iv);
    this.loadPad(pad, 0x36);
    this.compress(this.inner, this.w);
    this.loadPad(pad, 0x5c);
    this.compress(this.outer, this.w);
    this.fallback = new NodeHmac(hash, key);
  }

  protected abstract compress(state: Int32Array, w: Int32Array): void;

  private loadPad(bytes: Uint8Array, xor: number): void {
    const x = xor * 0x01010101;
    for (let i = 0; i < 16; i++) {
      const j = i * 4;
      this.w[i] = ((bytes[j]! << 24) | (bytes[j + 1]! << 16) | (bytes[j + 2]! << 8) | bytes[j + 3]!) ^ x;
    }
  }

  protected writeState(out: Uint8Array): Uint8Array {
    const s = this.state;
    for (let i = 0; i < s.length; i++) {
      const v = s[i]!;
      out[i * 4] = v >>> 24; out[i * 4 + 1] = v >>> 16; out[i * 4 + 2] = v >>> 8; out[i * 4 + 3] = v;
    }
    return out;
  }

  digestInto(msg: Uint8Array, out: Uint8Array): Uint8Array {
    if (msg.length > MAX_SHORT) return this.fallback.digestInto(msg, out);
    const w = this.w, s = this.state, n = s.length;
    // Inner block: msg || 0x80 || zeros || bit length of (ipad block + msg).
    w.fill(0, 0, 16);
    for (let i = 0; i < msg.length; i++) w[i >> 2]! |= msg[i]! << (24 - 8 * (i & 3));
    w[msg.length >> 2]! |= 0x80 << (24 - 8 * (msg.length & 3));
    w[15] = (BLOCK + msg.length) * 8;
    s.set(this.inner);
    this.compress(s, w);
    // Outer block: inner digest || 0x80 || zeros || bit length of (opad block + digest).
    w.fill(0, 0, 16);
    for (let i = 0; i < n; i++) w[i] = s[i]!;
    w[n] = 0x80000000 | 0;
    w[15] = (BLOCK + this.size) * 8;
    s.set(this.outer);
    this.compress(s, w);
    return this.writeState(out);
  }

  digest(msg: Uint8Array): Uint8Array {
    return this.digestInto(msg, new Uint8Array(this.size));
  }

  private readonly u64 = new Uint8Array(8);
  digestU64Into(hi: number, lo: number, out: Uint8Array): Uint8Array {
    const m = this.u64;
    m[0] = hi >>> 24; m[1] = hi >>> 16; m[2] = hi >>> 8; m[3] = hi;
    m[4] = lo >>> 24; m[5] = lo >>> 16; m[6] = lo >>> 8; m[7] = lo;
    return this.digestInto(m, out);
  }
}

class Sha1Hmac extends ShortHmac {
  readonly hash = 'SHA1' as const;
  constructor(key: Uint8Array) {
    super('SHA1', key, SHA1_IV);
  }
  protected compress(state: Int32Array, w: Int32Array): void {
    sha1Compress(state, w);
  }
  // The HOTP hot path: both blocks with their constant words folded in.
  override digestU64Into(hi: number, lo: number, out: Uint8Array): Uint8Array {
    const s = this.state;
    s.set(this.inner);
    sha1Block8(s, hi | 0, lo | 0);
    const a = s[0]!, b = s[1]!, c = s[2]!, d = s[3]!, e = s[4]!;
    s.set(this.outer);
    sha1Block20(s, a, b, c, d, e);
    return this.writeState(out);
  }
}

class Sha256Hmac extends ShortHmac {
  readonly hash = 'SHA256' as const;
  constructor(key: Uint8Array) {
    super('SHA256', key, SHA256_IV);
  }
  protected compress(state: Int32Array, w: Int32Array): void {
    sha256Compress(state, w);
  }
}

class NodeHmac implements KeyedHmac {
  readonly size: number;
  private readonly name: string;
  constructor(readonly hash: HmacHash, private readonly key: Uint8Array) {
    this.name = hash.toLowerCase();
    this.size = hash === 'SHA1' ? 20 : hash === 'SHA256' ? 32 : 64;
  }
  digestInto(msg: Uint8Array, out: Uint8Array): Uint8Array {
    out.set(createHmac(this.name, this.key).update(msg).digest());
    return out;
  }
  digest(msg: Uint8Array): Uint8Array {
    return new Uint8Array(createHmac(this.name, this.key).update(msg).digest());
  }
  digestU64Into(hi: number, lo: number, out: Uint8Array): Uint8Array {
    const m = Buffer.alloc(8);
    m.writeUInt32BE(hi >>> 0, 0);
    m.writeUInt32BE(lo >>> 0, 4);
    return this.digestInto(m, out);
  }
}

/** An HMAC keyed with `key`, for repeated use on short messages. */
export function keyedHmac(hash: HmacHash, key: Uint8Array): KeyedHmac {
  if (hash === 'SHA1') return new Sha1Hmac(key);
  if (hash === 'SHA256') return new Sha256Hmac(key);
  return new NodeHmac(hash, key);
}

/** The plain node:crypto implementation, for cross-checking. */
export function nodeHmac(hash: HmacHash, key: Uint8Array): KeyedHmac {
  return new NodeHmac(hash, key);
}
