// `time` and `list-modulo`: one HOTP per pick at counter C = W × 256 + j.
import { dynamicTruncate } from '../hotp.js';
import type { KeyedHmac } from '../hmac.js';
import type { PickSource } from '../port-pool.js';

const TWO_24 = 0x100_0000;

/** v_j = DT(HMAC(secret, u64be(W × 256 + j))), reduced mod `modulus` when given (list-modulo). */
export class HotpPicks implements PickSource {
  private hi = 0;
  private loBase = 0;
  private readonly scratch = new Uint8Array(64);

  constructor(
    private readonly mac: KeyedHmac,
    private readonly modulus = 0,
  ) {}

  /** Starts window W. u64be(W × 256 + j) as two 32-bit words, exact for any safe-integer W. */
  reset(window: number): this {
    this.hi = Math.floor(window / TWO_24);
    this.loBase = (window % TWO_24) * 256;
    return this;
  }

  value(j: number): number {
    this.mac.digestU64Into(this.hi, this.loBase + j, this.scratch);
    const v = dynamicTruncate(this.scratch, this.mac.size);
    return this.modulus > 0 ? v % this.modulus : v;
  }
}
