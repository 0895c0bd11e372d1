// Property tests of the derivation from an attacker's point of view (derive.test.ts
// checks the structural properties): the sequences depend on every bit of the
// secret, are spread evenly over the pool, do not depend on how a window was
// reached, and a code-mode knock is unrelated to the secret's own knock.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveCodeSequences, totpCodeOf } from './code-mode.js';
import { deriveSequences } from './derive.js';
import { normalizeProfile } from './profile.js';
import { derivePayloadToken } from './token.js';
import type { KnockProfile } from './types.js';

const secretArb = fc.uint8Array({ minLength: 16, maxLength: 40 });
const windowArb = fc.integer({ min: 0, max: 2 ** 40 });
const methodArb = fc.constantFrom('time', 'prng', 'list-modulo');
// Long enough that chance equality is negligible: the same offset at all 3 steps of two
// consecutive windows happens with probability ~(1/3000)², 1e-7 (it was 1e-5 with 300 ports).
const LIST = Array.from({ length: 3000 }, (_, i) => 7000 + i * 3);

function profileOf(method: string, extra: Partial<KnockProfile> = {}): KnockProfile {
  return normalizeProfile(method === 'list-modulo' ? { method, ports: LIST, ...extra } : { method, ...extra });
}

describe('derivation against an attacker', () => {
  it('flipping any one bit of the secret changes the sequences (no weak bits)', () => {
    fc.assert(
      fc.property(methodArb, secretArb, windowArb, fc.nat(), (method, secret, window, bit) => {
        const p = profileOf(method);
        const flipped = Uint8Array.from(secret);
        const i = bit % (secret.length * 8);
        flipped[i >> 3]! ^= 1 << (i & 7);
        const a = deriveSequences(p, secret, window);
        const b = deriveSequences(p, flipped, window);
        // 6 ports from ≥ 3000 candidates: equal by chance with probability < 1e-14
        expect([...b.open, ...b.close]).not.toEqual([...a.open, ...a.close]);
      }),
      { numRuns: 300 },
    );
  });

  it('the window number alone decides: the period maps time to windows and nothing else', () => {
    fc.assert(
      fc.property(
        methodArb,
        secretArb,
        windowArb,
        fc.integer({ min: 1, max: 3600 }),
        (method, secret, window, period) => {
          expect(deriveSequences(profileOf(method, { period }), secret, window)).toEqual(
            deriveSequences(profileOf(method), secret, window),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('first ports are spread evenly over a small pool (no favoured port an attacker could try first)', () => {
    fc.assert(
      fc.property(fc.constantFrom('time', 'prng'), secretArb, windowArb, (method, secret, start) => {
        const p = profileOf(method, { range: { min: 20000, max: 20019 }, length: 1 });
        const counts = new Map<number, number>();
        const N = 4000;
        for (let w = start; w < start + N; w++) {
          const port = deriveSequences(p, secret, w).open[0]!;
          counts.set(port, (counts.get(port) ?? 0) + 1);
        }
        expect(counts.size).toBe(20);
        // Chi-square with 19 degrees of freedom: a uniform draw exceeds 80 with probability
        // 2e-9 (50 was exceeded by one CI run in ~10,000: p = 1.3e-4). One port drawn twice as
        // often as the others scores ~170.
        const expected = N / 20;
        const chi2 = [...counts.values()].reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
        expect(chi2).toBeLessThan(80);
      }),
      { numRuns: 8 },
    );
  });

  it('consecutive windows are unrelated: the next sequence is not a shift or permutation of this one', () => {
    fc.assert(
      fc.property(methodArb, secretArb, windowArb, (method, secret, window) => {
        const p = profileOf(method);
        const a = deriveSequences(p, secret, window);
        const b = deriveSequences(p, secret, window + 1);
        expect(b.open).not.toEqual(a.open);
        expect([...b.open].sort()).not.toEqual([...a.open].sort());
        const d = a.open.map((x, i) => b.open[i]! - x);
        expect(d.every((x) => x === d[0])).toBe(false); // not the same offset everywhere
      }),
      { numRuns: 200 },
    );
  });

  it('payload tokens differ per window and per secret', () => {
    fc.assert(
      fc.property(secretArb, secretArb, windowArb, (s1, s2, w) => {
        fc.pre(Buffer.compare(Buffer.from(s1), Buffer.from(s2)) !== 0);
        const t = derivePayloadToken(s1, w, 8);
        expect(derivePayloadToken(s1, w + 1, 8)).not.toEqual(t);
        expect(derivePayloadToken(s2, w, 8)).not.toEqual(t);
      }),
      { numRuns: 200 },
    );
  });

  it("a code-mode knock differs from the secret's own knock of the same window", () => {
    fc.assert(
      fc.property(secretArb, fc.integer({ min: 0, max: 2 ** 36 }), (secret, window) => {
        const p = profileOf('time');
        const code = totpCodeOf(secret, p, window);
        expect(deriveCodeSequences(p, code, window).open).not.toEqual(deriveSequences(p, secret, window).open);
        // and the code's knock of the next window is a different one (a seen code does not carry over)
        expect(deriveCodeSequences(p, code, window + 1).open).not.toEqual(deriveCodeSequences(p, code, window).open);
      }),
      { numRuns: 100 },
    );
  });
});
