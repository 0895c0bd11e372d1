// Which windows the server makes live (docs/protocol.md §3, §5.4).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeSecret, type KnockProfile } from '@otpknock/shared';
import { attachTokens } from './payload-tokens.js';
import { planEntries, validWindows } from './entries.js';
import { serverConfig, timeProfile, user } from '@otpknock/server/testing';

interface Vector {
  name: string;
  secret: string;
  profile: KnockProfile;
  window: number;
  open: number[];
  close: number[];
  token?: string;
}
const { vectors } = JSON.parse(
  readFileSync(new URL('../../../../docs/test-vectors.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] };

describe('validWindows', () => {
  const alice = user('alice');

  it('is the current window ± skew', () => {
    const now = 1_770_000_000_000;
    const w = Math.floor(now / 30_000);
    expect(validWindows(alice, 1, now)).toEqual([w - 1, w, w + 1]);
    expect(validWindows(alice, 2, now)).toEqual([w - 2, w - 1, w, w + 1, w + 2]);
    expect(validWindows(alice, 0, now)).toEqual([w]);
  });

  it('leaves out windows below 0 (the spec clamps W − skew at 0)', () => {
    expect(validWindows(alice, 1, 0)).toEqual([0, 1]);
    expect(validWindows(alice, 3, 31_000)).toEqual([0, 1, 2, 3, 4]); // window 1: −2 and −1 do not exist
  });

  it('is window 0 alone for static profiles, whatever the time and skew', () => {
    const fixed = user('fixed', {
      profile: { ...timeProfile(), method: 'static', open: [7000, 8000], close: [8000, 7000] },
    });
    for (const now of [0, 31_000, 1_770_000_000_000]) expect(validWindows(fixed, 2, now)).toEqual([0]);
  });
});

describe('static profiles', () => {
  it("make live the test vectors' sequences and payload token at any time (window 0)", () => {
    const statics = vectors.filter((v) => v.profile.method === 'static' && v.token !== undefined);
    expect(statics.length).toBeGreaterThan(0);
    for (const v of statics) {
      const config = serverConfig({
        users: [user('fixed', { secret: decodeSecret(v.secret), profile: v.profile })],
        payload: { require: 'token', shape: 'none' },
      });
      for (const now of [1_000, 1_770_000_000_000]) {
        const entries = attachTokens(config, planEntries(config, now));
        expect(entries.map((e) => [e.action, e.window, e.ports])).toEqual([
          ['open', 0, v.open],
          ['close', 0, v.close],
        ]);
        // The kernel compares the first 4 bytes of the token (§11).
        for (const e of entries) expect(e.token, v.name).toBe(`0x${v.token!.slice(0, 8)}`);
      }
    }
  });
});
