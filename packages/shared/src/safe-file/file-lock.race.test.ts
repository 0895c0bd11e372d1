// Two commands that both find the same stale lock: the one that looks second must not
// take away the fresh lock the first one made after breaking the stale one.
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// The other breaker acts between this one's look at the lock (stale) and what it does
// about it: the interleaving two processes can produce, made certain here.
const race = vi.hoisted(() => ({ lock: '', armed: false }));
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const otherBreakerWins = (path: fs.PathLike, st: fs.Stats | undefined): void => {
    if (!race.armed || path !== race.lock || st === undefined || Date.now() - st.mtimeMs < 30_000) return;
    race.armed = false;
    real.unlinkSync(race.lock); // the other command breaks the stale lock…
    real.writeFileSync(race.lock, 'other', { flag: 'wx' }); // …and takes the lock
  };
  const wrap = <F extends (path: fs.PathLike, ...rest: never[]) => fs.Stats | undefined>(f: F): F =>
    ((path: fs.PathLike, ...rest: never[]) => {
      const st = f(path, ...rest);
      otherBreakerWins(path, st);
      return st;
    }) as F;
  return { ...real, default: real, statSync: wrap(real.statSync as never), lstatSync: wrap(real.lstatSync as never) };
});

const { withFileLock } = await import('./file-lock.js');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'otpknock-lock-race-'));
  race.lock = join(dir, 'store.lock');
});
afterEach(() => {
  race.armed = false;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('withFileLock: two commands break the same stale lock', () => {
  it('the second does not remove the fresh lock the first took', async () => {
    fs.writeFileSync(race.lock, '12345');
    const old = (Date.now() - 60_000) / 1000;
    fs.utimesSync(race.lock, old, old);
    race.armed = true;
    let ran = false;
    await expect(
      withFileLock(race.lock, { busy: () => new Error('busy'), waitMs: 300 }, async () => {
        ran = true;
      }),
    ).rejects.toThrow('busy');
    expect(ran).toBe(false);
    expect(fs.readFileSync(race.lock, 'utf8')).toBe('other');
  });
});
