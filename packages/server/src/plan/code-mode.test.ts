// Code mode on both sides (protocol.md §10): what the client knocks with a code is a
// sequence the server loads, on ports its knock_ports set sends to the knock chains —
// for a list-modulo user too, whose own pool is only its port list.
import { describe, expect, it } from 'vitest';
import { deriveCodeSequences, normalizeProfile, parseOtpauthUri, totpCodeOf } from '@otpknock/shared';
import { serverConfig, user } from '@otpknock/server/testing';
import { knockPortIntervals } from '../nft/knock-ports.js';
import { onboardingUri } from '../users/onboarding.js';
import { planEntries } from './entries.js';

const NOW = 1_770_000_000_000;
const inIntervals = (p: number, iv: readonly [number, number][]) => iv.some(([lo, hi]) => p >= lo && p <= hi);

describe('code mode: client and server agree', () => {
  it('a list-modulo user: the code-mode sequences the client derives from the URI are loaded, on knock ports', () => {
    const profile = normalizeProfile({ method: 'list-modulo', ports: [7001, 7002, 7003, 7004, 7005, 7006] });
    const c = serverConfig({ users: [user('alice', { codeMode: true, profile })] });
    const alice = c.users[0]!;
    const intervals = knockPortIntervals(c);
    const client = normalizeProfile(parseOtpauthUri(onboardingUri(c, alice, { host: 'gw.example.org' })).profile);
    for (let i = 0; i < 50; i++) {
      const now = NOW + i * 30_000;
      const w = Math.floor(now / 30_000);
      const code = totpCodeOf(alice.secret, client, w); // what the app shows
      const knocked = deriveCodeSequences(client, code, w).open;
      const loaded = planEntries(c, now).find((e) => e.source === 'code' && e.window === w);
      expect(loaded?.ports).toEqual(knocked);
      for (const p of knocked) expect(inIntervals(p, intervals), `port ${p} of window ${w}`).toBe(true);
    }
    expect(inIntervals(7001, intervals)).toBe(true); // the list itself still is
  });

  it('excluded ports stay out of knock_ports; a code-mode sequence that hits one is not loaded', () => {
    // Every other port of a small range excluded: about 7 windows in 8 hit one.
    const exclude = Array.from({ length: 50 }, (_, i) => 10000 + 2 * i);
    const profile = normalizeProfile({ method: 'time', range: '10000-10099', exclude });
    const c = serverConfig({ users: [user('alice', { codeMode: true, profile })] });
    const alice = c.users[0]!;
    const intervals = knockPortIntervals(c);
    for (const p of exclude) expect(inIntervals(p, intervals)).toBe(false);
    let hits = 0;
    for (let i = 0; i < 40; i++) {
      const now = NOW + i * 30_000;
      const w = Math.floor(now / 30_000);
      const seq = deriveCodeSequences(profile, totpCodeOf(alice.secret, profile, w), w).open;
      const loaded = planEntries(c, now).find((e) => e.source === 'code' && e.window === w);
      if (seq.some((p) => exclude.includes(p))) {
        hits++;
        expect(loaded).toBeUndefined();
      } else expect(loaded?.ports).toEqual(seq);
    }
    expect(hits).toBeGreaterThan(0);
  });

  it('has no effect for a static user (configuration.md): no code-mode sequence is loaded', () => {
    const profile = normalizeProfile({ method: 'static', open: [7000, 8000], toggle: true });
    const c = serverConfig({ users: [user('alice', { codeMode: true, profile })] });
    const entries = planEntries(c, NOW);
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.filter((e) => e.source === 'code')).toEqual([]);
  });
});
