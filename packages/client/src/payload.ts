// Faux payloads: the bytes each knock packet carries. Only `none` (empty datagrams)
// exists so far; canned shapes and custom bytes come with the side-features issue.
// send.ts already takes one payload per packet, so they plug in here.
import type { KnockSequences } from '@otpknock/shared';
import type { PayloadSetting } from './profile.js';

/** One payload per port of `ports` (same order). */
export function knockPayloads(setting: PayloadSetting, ports: readonly number[], _sequences?: KnockSequences): Uint8Array[] {
  switch (setting) {
    case 'none':
      return ports.map(() => new Uint8Array(0));
  }
}
