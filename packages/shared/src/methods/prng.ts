// `prng`: HMAC-SHA256 in counter mode, read as big-endian u32 words, with
// rejection sampling so that every pick is exactly uniform.
import type { KeyedHmac } from '../hmac.js';

const LABEL = new TextEncoder().encode('otpknock-prng-v1');
const TWO_32 = 0x1_0000_0000;

/** Pick values for window W from the stream HMAC-SHA256(secret, "otpknock-prng-v1" ‖ u64be(W) ‖ u32be(b)). */
export function prngPickValues(mac: KeyedHmac, window: number): (j: number, m: number) => number {
  const msg = new Uint8Array(LABEL.length + 12);
  msg.set(LABEL);
  const view = new DataView(msg.buffer);
  view.setUint32(LABEL.length, Math.floor(window / TWO_32));
  view.setUint32(LABEL.length + 4, window % TWO_32);
  const block = new Uint8Array(32);
  const words = new DataView(block.buffer);
  let b = 0;
  let next = 8; // word index within the current block; 8 = exhausted
  const word = (): number => {
    if (next === 8) {
      view.setUint32(LABEL.length + 8, b++);
      mac.digestInto(msg, block);
      next = 0;
    }
    return words.getUint32(4 * next++);
  };
  return (_j, m) => {
    const limit = TWO_32 - (TWO_32 % m);
    for (;;) {
      const x = word();
      if (x < limit) return x;
    }
  };
}
