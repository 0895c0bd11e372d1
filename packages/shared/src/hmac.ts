// HMAC for the derivation, from node:crypto (OpenSSL): audited code, not hash
// functions of our own. A hand-written SHA-1/SHA-256 was ~2–10× faster, but the
// daemon's work it saved was ~0.3 s of a rotation at 10,000 users, computed 3 s
// ahead (bench/hmac.ts; the figures and the decision are in bench/README.md).
import { createHmac } from 'node:crypto';
import type { OtpAlgorithm } from './types.js';

export type HmacHash = OtpAlgorithm;

/** An HMAC with its hash and key fixed, applied to many short messages. */
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

const NODE_NAME = { SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' } as const satisfies Record<HmacHash, string>;
const SIZE = { SHA1: 20, SHA256: 32, SHA512: 64 } as const satisfies Record<HmacHash, number>;

class NodeHmac implements KeyedHmac {
  readonly size: number;
  private readonly name: string;
  private readonly counter = new Uint8Array(8);

  constructor(
    readonly hash: HmacHash,
    private readonly key: Uint8Array,
  ) {
    this.name = NODE_NAME[hash];
    this.size = SIZE[hash];
  }

  digestInto(msg: Uint8Array, out: Uint8Array): Uint8Array {
    out.set(createHmac(this.name, this.key).update(msg).digest());
    return out;
  }

  digest(msg: Uint8Array): Uint8Array {
    return new Uint8Array(createHmac(this.name, this.key).update(msg).digest());
  }

  digestU64Into(hi: number, lo: number, out: Uint8Array): Uint8Array {
    const c = this.counter;
    c[0] = hi >>> 24;
    c[1] = hi >>> 16;
    c[2] = hi >>> 8;
    c[3] = hi;
    c[4] = lo >>> 24;
    c[5] = lo >>> 16;
    c[6] = lo >>> 8;
    c[7] = lo;
    return this.digestInto(c, out);
  }
}

/** An HMAC keyed with `key`, for repeated use on short messages. */
export function keyedHmac(hash: HmacHash, key: Uint8Array): KeyedHmac {
  return new NodeHmac(hash, key);
}
