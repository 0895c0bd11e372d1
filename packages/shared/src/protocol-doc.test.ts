// docs/protocol.md and docs/test-vectors.json make promises that other
// implementations rely on; these tests hold the files and the code to them.
// (derive.test.ts checks every derivation vector; reference.test.ts has the
// independent Python implementation confirm them.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KnockProfile } from './types.js';

interface Vector { name: string; profile: KnockProfile; window: number; timeMs?: number; token?: string }
const vectorsFile = new URL('../../../docs/test-vectors.json', import.meta.url);
const file = JSON.parse(readFileSync(vectorsFile, 'utf8')) as { version: number; spec: string; vectors: Vector[] };

describe('docs/test-vectors.json', () => {
  it('static vectors use window 0, as client and server do (§5.4)', () => {
    const statics = file.vectors.filter((v) => v.profile.method === 'static');
    expect(statics.length).toBeGreaterThan(0);
    expect(statics.some((v) => v.token !== undefined)).toBe(true);
    for (const v of statics) expect({ name: v.name, window: v.window, timeMs: v.timeMs }).toEqual({ name: v.name, window: 0, timeMs: undefined });
  });
});
