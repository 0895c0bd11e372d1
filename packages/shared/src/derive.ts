// (profile, secret, window) → open and close sequences. See docs/protocol.md.
import { keyedHmac, type HmacHash, type KeyedHmac } from './hmac.js';
import { HotpPicks } from './methods/time.js';
import { PrngPicks } from './methods/prng.js';
import { drawPorts, profilePool } from './port-pool.js';
import { payloadTokenKeyed } from './token.js';
import { checkWindow } from './window-check.js';
import type { KnockProfile, KnockSequences, SecretBytes } from './types.js';

/** Decimal HOTP values (6 digits) for `list-modulo`. */
const LIST_MODULO_DIGITS = 1_000_000;

/** Keys an HMAC: `keyedHmac` in otpknock; bench/hmac.ts passes other implementations to compare them. */
export type HmacFactory = (hash: HmacHash, key: Uint8Array) => KeyedHmac;

/**
 * Keys the HMACs once for a (profile, secret) pair and returns a function of
 * the window. Use it to derive several windows for one user.
 */
export function sequenceDeriver(profile: KnockProfile, secret: SecretBytes): (window: number) => KnockSequences {
  return sequenceDeriverWith(keyedHmac, profile, secret);
}

/** `sequenceDeriver` with the HMAC implementation given (for benchmarks: '@otpknock/shared/testing'). */
export function sequenceDeriverWith(
  hmacOf: HmacFactory,
  profile: KnockProfile,
  secret: SecretBytes,
): (window: number) => KnockSequences {
  const L = profile.length;
  const tokenMac = profile.tokenBytes > 0 ? hmacOf('SHA256', secret) : undefined;
  const withToken = (seq: KnockSequences): KnockSequences => {
    if (tokenMac) seq.token = payloadTokenKeyed(tokenMac, seq.window, profile.tokenBytes);
    return seq;
  };
  switch (profile.method) {
    case 'static':
      return (window) => {
        checkWindow(window);
        const open = [...profile.open];
        return withToken({
          window,
          open,
          close: profile.toggle ? [...open] : [...profile.close],
          toggle: profile.toggle,
        });
      };
    case 'prng': {
      const pool = profilePool(profile);
      const picks = new PrngPicks(hmacOf('SHA256', secret));
      return (window) => {
        checkWindow(window);
        return withToken(split(window, drawPorts(pool, 2 * L, picks.reset(window)), L));
      };
    }
    case 'time':
    case 'list-modulo': {
      const pool = profilePool(profile);
      const picks = new HotpPicks(
        hmacOf(profile.algorithm, secret),
        profile.method === 'list-modulo' ? LIST_MODULO_DIGITS : 0,
      );
      return (window) => {
        checkWindow(window);
        return withToken(split(window, drawPorts(pool, 2 * L, picks.reset(window)), L));
      };
    }
    default:
      throw new Error(`unknown method ${String((profile as { method: unknown }).method)}; normalise the profile first`);
  }
}

function split(window: number, ports: number[], L: number): KnockSequences {
  return { window, open: ports.slice(0, L), close: ports.slice(L), toggle: false };
}

/** The open and close sequences (and token, if configured) of `window`. */
export function deriveSequences(profile: KnockProfile, secret: SecretBytes, window: number): KnockSequences {
  return sequenceDeriver(profile, secret)(window);
}
