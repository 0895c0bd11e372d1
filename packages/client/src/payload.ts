// Faux payloads: the bytes each knock packet carries, built by the shared
// payload module (docs/protocol.md §11): empty, a DNS query, an NTP request,
// random or custom bytes, with the window's payload token at its fixed place
// when the profile has one (token_bytes > 0).
import { buildPayload, parsePayloadSpec, type KnockSequences, type RandomFill } from '@otpknock/shared';
import type { PayloadSetting } from './profile.js';

/** One payload per port of `ports` (same order); each datagram gets fresh random bytes. */
export function knockPayloads(
  setting: PayloadSetting,
  ports: readonly number[],
  sequences?: KnockSequences,
  random?: RandomFill,
): Uint8Array[] {
  const spec = parsePayloadSpec(setting);
  return ports.map(() => buildPayload(spec, sequences?.token, random));
}
