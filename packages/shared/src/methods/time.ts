// `time` and `list-modulo`: one HOTP per pick at counter C = W × 256 + j.
import { hotpValueKeyed } from '../hotp.js';
import type { KeyedHmac } from '../hmac.js';

const TWO_24 = 0x100_0000;

/** Pick values for window W: v_j = DT(HMAC(secret, u64be(W × 256 + j))), optionally mod `modulus`. */
export function hotpPickValues(mac: KeyedHmac, window: number, modulus?: number): (j: number) => number {
  // u64be(W × 256 + j) as two 32-bit words, exact for any safe-integer W.
  const hi = Math.floor(window / TWO_24);
  const loBase = (window % TWO_24) * 256;
  const scratch = new Uint8Array(64);
  return (j) => {
    const v = hotpValueKeyed(mac, hi, loBase + j, scratch);
    return modulus === undefined ? v : v % modulus;
  };
}
