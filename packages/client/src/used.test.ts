// docs/knock.md FILES: used-windows.json holds the newest window knocked per secret,
// keyed by a truncated hash (no secret), entries dropped after a day.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lastUsedWindow, recordUsedWindow, secretKey, usedWindowsPath } from './used.js';
import { tempDir, TEST_SECRET } from '@otpknock/client/testing';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const DAY = 24 * 3600 * 1000;

describe('used windows', () => {
  it('live in $XDG_STATE_HOME/otpknock, by default ~/.local/state/otpknock', () => {
    expect(usedWindowsPath({ XDG_STATE_HOME: '/s' }, '/home/a')).toBe('/s/otpknock/used-windows.json');
    expect(usedWindowsPath({}, '/home/a')).toBe('/home/a/.local/state/otpknock/used-windows.json');
  });

  it('keep the newest window per key, never the secret, and drop entries older than a day', () => {
    const file = join(dir, 'state', 'used-windows.json');
    const key = secretKey(TEST_SECRET, { method: 'time' });
    expect(key).toMatch(/^[0-9a-f]{24}$/);
    const t0 = 1_800_000_000_000;
    expect(recordUsedWindow(file, key, 10, t0)).toBe(true);
    expect(recordUsedWindow(file, key, 9, t0 + 1)).toBe(true);
    expect(lastUsedWindow(file, key)).toBe(10);
    expect(readFileSync(file, 'utf8')).not.toContain(TEST_SECRET.slice(0, 6));
    const other = secretKey(TEST_SECRET, { method: 'time', range: { min: 20000, max: 30000 } });
    expect(other).not.toBe(key); // a corrected profile starts afresh
    recordUsedWindow(file, other, 5, t0 + DAY - 1);
    expect(lastUsedWindow(file, key)).toBe(10);
    recordUsedWindow(file, other, 6, t0 + DAY + 1);
    expect(lastUsedWindow(file, key)).toBeUndefined();
    expect(lastUsedWindow(file, other)).toBe(6);
  });
});
