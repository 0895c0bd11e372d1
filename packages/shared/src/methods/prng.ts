// `prng`: HMAC-SHA256 in counter mode, read as big-endian u32 words, with
// rejection sampling so that every pick is exactly uniform.
import type { KeyedHmac } from '../hmac.js';
import type { PickSource } from '../port-pool.js';

const LABEL = new TextEncoder().encode('otpknock-prng-v1');
const TWO_32 = 0x1_0000_0000;

/** The stream HMAC-SHA256(secret, "otpknock-prng-v1" ‖ u64be(W) ‖ u32be(b)), b = 0, 1, … */
export class PrngPicks implements PickSource {
  private readonly msg = new Uint8Array(LABEL.length + 12);
  private readonly block = new Uint8Array(32);
  private b = 0;
  private next = 8; // next word in `block`; 8 = exhausted

  constructor(private readonly mac: KeyedHmac) {
    this.msg.set(LABEL);
  }

  reset(window: number): this {
    putU32(this.msg, LABEL.length, Math.floor(window / TWO_32));
    putU32(this.msg, LABEL.length + 4, window % TWO_32);
    this.b = 0;
    this.next = 8;
    return this;
  }

  private word(): number {
    if (this.next === 8) {
      putU32(this.msg, LABEL.length + 8, this.b++);
      this.mac.digestInto(this.msg, this.block);
      this.next = 0;
    }
    const o = 4 * this.next++;
    const k = this.block;
    return k[o]! * 0x100_0000 + ((k[o + 1]! << 16) | (k[o + 2]! << 8) | k[o + 3]!);
  }

  value(_j: number, m: number): number {
    const limit = TWO_32 - (TWO_32 % m);
    for (;;) {
      const x = this.word();
      if (x < limit) return x;
    }
  }
}

function putU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = v >>> 16;
  buf[at + 2] = v >>> 8;
  buf[at + 3] = v;
}
