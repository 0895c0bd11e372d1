import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { deriveSequences, sequenceDeriver } from './derive.js';
import { normalizeProfile } from './profile.js';
import { decodeSecret } from './secret.js';
import { derivePayloadToken } from './token.js';
import { windowAt } from './window.js';
import { kthNotIn } from './port-pool.js';
import type { KnockProfile, KnockProfileInput } from './types.js';

interface Vector {
  name: string;
  secret: string;
  profile: KnockProfile;
  timeMs?: number;
  window: number;
  open: number[];
  close: number[];
  token?: string;
}
const vectorsFile = new URL('../../../docs/test-vectors.json', import.meta.url);
const { vectors } = JSON.parse(readFileSync(vectorsFile, 'utf8')) as { vectors: Vector[] };

describe('docs/test-vectors.json', () => {
  it('covers every method', () => {
    expect(new Set(vectors.map((v) => v.profile.method))).toEqual(new Set(['time', 'list-modulo', 'prng', 'static']));
  });
  for (const v of vectors) {
    it(v.name, () => {
      const profile = normalizeProfile(v.profile, v.name);
      expect(profile).toEqual(v.profile); // vectors hold complete profiles
      if (v.timeMs !== undefined) expect(windowAt(v.timeMs, profile.period)).toBe(v.window);
      const seq = deriveSequences(profile, decodeSecret(v.secret), v.window);
      expect(seq.open).toEqual(v.open);
      expect(seq.close).toEqual(v.close);
      expect(seq.window).toBe(v.window);
      expect(seq.token === undefined ? undefined : Buffer.from(seq.token).toString('hex')).toBe(v.token);
    });
  }
});

/** Naive spec reading: materialise the pool, remove picked ports. */
function naivePool(p: KnockProfile): number[] {
  if (p.method === 'list-modulo') return [...p.ports];
  const out: number[] = [];
  for (let x = p.range.min; x <= p.range.max; x++) if (!p.exclude.includes(x)) out.push(x);
  return out;
}

const secretArb = fc.uint8Array({ minLength: 16, maxLength: 64 });
const windowArb = fc.oneof(fc.nat(100), fc.integer({ min: 50_000_000, max: 70_000_000 }), fc.maxSafeNat());
const profileArb: fc.Arbitrary<KnockProfile> = fc
  .record({
    method: fc.constantFrom('time', 'list-modulo', 'prng'),
    length: fc.integer({ min: 1, max: 8 }),
    algorithm: fc.constantFrom('SHA1', 'SHA256', 'SHA512'),
    min: fc.integer({ min: 1, max: 65535 }),
    span: fc.integer({ min: 0, max: 400 }),
    exclude: fc.array(fc.integer({ min: 1, max: 65535 }), { maxLength: 30 }),
    list: fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 16, maxLength: 40 }),
    tokenBytes: fc.constantFrom(0, 4, 16),
  })
  .map((r): KnockProfileInput => {
    const max = Math.min(65535, r.min + r.span + 2 * r.length);
    const near = r.exclude.map((e) => r.min + (e % (max - r.min + 1)));
    if (r.method === 'list-modulo')
      return { method: r.method, length: r.length, algorithm: r.algorithm, ports: r.list, tokenBytes: r.tokenBytes };
    return {
      method: r.method,
      length: r.length,
      algorithm: r.algorithm,
      range: { min: r.min, max },
      exclude: near,
      tokenBytes: r.tokenBytes,
    };
  })
  .filter((input) => {
    try {
      normalizeProfile(input);
      return true;
    } catch {
      return false;
    }
  })
  .map((input) => normalizeProfile(input));

describe('derivation properties', () => {
  it('ports are in the pool, never repeat, open ∩ close = ∅, deterministic', () => {
    fc.assert(
      fc.property(profileArb, secretArb, windowArb, (profile, secret, window) => {
        const pool = new Set(naivePool(profile));
        const a = deriveSequences(profile, secret, window);
        const all = [...a.open, ...a.close];
        expect(a.open).toHaveLength(profile.length);
        expect(a.close).toHaveLength(profile.length);
        for (const p of all) expect(pool.has(p)).toBe(true);
        expect(new Set(all).size).toBe(all.length);
        expect(a.toggle).toBe(false);
        expect(deriveSequences(profile, Uint8Array.from(secret), window)).toEqual(a);
        expect(a.token?.length ?? 0).toBe(profile.tokenBytes);
        if (a.token) expect(a.token).toEqual(derivePayloadToken(secret, window, profile.tokenBytes));
      }),
      { numRuns: 300 },
    );
  });

  it('a keyed deriver gives the same result as one-shot derivation', () => {
    fc.assert(
      fc.property(
        profileArb,
        secretArb,
        fc.array(windowArb, { minLength: 1, maxLength: 4 }),
        (profile, secret, windows) => {
          const derive = sequenceDeriver(profile, secret);
          for (const w of windows) expect(derive(w)).toEqual(deriveSequences(profile, secret, w));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('kthNotIn equals list removal', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 200 })),
        fc.nat(150),
        (base, offsets, k) => {
          const sorted = offsets.map((o) => base + o).sort((x, y) => x - y);
          const list: number[] = [];
          for (let x = base; list.length <= k; x++) if (!sorted.includes(x)) list.push(x);
          expect(kthNotIn(base, k, sorted)).toBe(list[k]);
        },
      ),
    );
  });

  it('different windows differ (almost always)', () => {
    const p = normalizeProfile({ method: 'time' });
    const s = decodeSecret('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    const seen = new Set<string>();
    for (let w = 59_000_000; w < 59_000_200; w++) seen.add(deriveSequences(p, s, w).open.join(','));
    expect(seen.size).toBe(200);
  });
});

describe('static and argument checks', () => {
  const s = decodeSecret('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
  it('static toggle returns the same sequence twice and the window as given', () => {
    const seq = deriveSequences(normalizeProfile({ method: 'static', open: [5, 6], toggle: true }), s, 1234);
    expect(seq).toEqual({ window: 1234, open: [5, 6], close: [5, 6], toggle: true });
  });
  it('refuses negative or fractional windows', () => {
    const p = normalizeProfile({ method: 'time' });
    expect(() => deriveSequences(p, s, -1)).toThrow(/window -1 is not a non-negative integer/);
    expect(() => deriveSequences(p, s, 1.5)).toThrow(/window/);
    expect(() => derivePayloadToken(s, 0, 0)).toThrow(/tokenBytes/);
    expect(() => derivePayloadToken(s, 0, 33)).toThrow(/tokenBytes/);
  });
  it('returned arrays are copies', () => {
    const p = normalizeProfile({ method: 'static', open: [5, 6], close: [7] });
    deriveSequences(p, s, 0).open.push(9);
    expect(p.open).toEqual([5, 6]);
  });
});
