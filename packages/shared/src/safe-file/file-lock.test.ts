import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withFileLock } from './file-lock.js';

let dir: string;
let lock: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'otpknock-lock-'));
  lock = join(dir, 'store.lock');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const busy = () => new Error('busy');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('withFileLock', () => {
  it('runs holders one at a time, and removes the lock after each', async () => {
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        withFileLock(lock, { busy }, async () => {
          inside++;
          most = Math.max(most, inside);
          await pause(20);
          order.push(i);
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(order.sort()).toEqual([0, 1, 2, 3, 4]);
    expect(existsSync(lock)).toBe(false);
  });

  it('gives up with the busy error when the lock stays taken, and leaves the holder its lock', async () => {
    writeFileSync(lock, '12345');
    await expect(withFileLock(lock, { busy, waitMs: 200 }, async () => 'ran')).rejects.toThrow('busy');
    expect(existsSync(lock)).toBe(true);
  });

  it('breaks a stale lock (a crashed command) and runs', async () => {
    writeFileSync(lock, '12345');
    const old = (Date.now() - 60_000) / 1000;
    utimesSync(lock, old, old);
    expect(await withFileLock(lock, { busy, waitMs: 200 }, async () => 'ran')).toBe('ran');
    expect(existsSync(lock)).toBe(false);
  });

  it('removes the lock when the work throws', async () => {
    await expect(withFileLock(lock, { busy }, async () => Promise.reject(new Error('failed')))).rejects.toThrow(
      'failed',
    );
    expect(existsSync(lock)).toBe(false);
  });
});

describe('withFileLock: a holder whose lock was broken as stale', () => {
  it('leaves the lock that replaced its own in place', async () => {
    await withFileLock(lock, { busy }, async () => {
      // The holder took longer than staleMs: another command broke its lock and took one.
      rmSync(lock);
      writeFileSync(lock, 'other');
    });
    expect(readFileSync(lock, 'utf8')).toBe('other');
  });

  it('leaves no break file behind', async () => {
    writeFileSync(lock, '12345');
    const old = (Date.now() - 60_000) / 1000;
    utimesSync(lock, old, old);
    await withFileLock(lock, { busy, waitMs: 200 }, async () => undefined);
    expect(existsSync(`${lock}.break`)).toBe(false);
  });

  it('removes a break file left by a breaker that died, then breaks the stale lock', async () => {
    const old = (Date.now() - 60_000) / 1000;
    for (const f of [lock, `${lock}.break`]) {
      writeFileSync(f, '12345');
      utimesSync(f, old, old);
    }
    expect(await withFileLock(lock, { busy, waitMs: 500 }, async () => 'ran')).toBe('ran');
    expect(existsSync(`${lock}.break`)).toBe(false);
  });
});
