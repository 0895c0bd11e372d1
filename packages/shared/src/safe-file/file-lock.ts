// A lock file for read-modify-write of a small store by short-lived commands
// (otpknockd user …, knock add/import/remove): O_EXCL create, our pid inside,
// removed when done. A lock older than `staleMs` is taken to be left by a crashed
// command and broken.
//
// Breaking is where two waiters can race: both find the same stale lock; the first
// removes it and takes a fresh lock of its own; the second, acting on what it saw a
// moment ago, must not remove that fresh lock. So breakers take turns through a second
// O_EXCL file (`LOCK.break`), and under it remove the lock only if it is still the very
// file they judged stale (same device, inode and mtime). A holder, likewise, removes
// only its own lock, not one that replaced it after its own was broken.
// Plain node:fs calls: the knock client loads node:fs anyway, node:fs/promises not.
import { closeSync, constants, fstatSync, openSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';

export interface FileLockOptions {
  /** The error to throw when the lock stays taken for `waitMs`. */
  busy: () => Error;
  /** How long to wait for another holder. Default 5 s. */
  waitMs?: number;
  /** A lock file older than this is stale. Default 30 s. */
  staleMs?: number;
}

const POLL_MS = 50;

export async function withFileLock<T>(lock: string, options: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  const waitMs = options.waitMs ?? 5_000;
  const staleMs = options.staleMs ?? 30_000;
  const giveUpAt = Date.now() + waitMs;
  let mine: Stats | undefined;
  while ((mine = create(lock)) === undefined) {
    const seen = statSync(lock, { throwIfNoEntry: false });
    if (seen === undefined) continue; // released in the meantime: try again at once
    if (isStale(seen, staleMs) && breakStale(lock, seen, staleMs)) continue;
    if (Date.now() >= giveUpAt) throw options.busy();
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  try {
    return await fn();
  } finally {
    removeIfSame(lock, mine);
  }
}

/** Creates `path` with O_EXCL and our pid inside; its stats, or undefined when it exists. */
function create(path: string): Stats | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (e) {
    if ((e as { code?: string }).code === 'EEXIST') return undefined;
    throw e;
  }
  try {
    writeSync(fd, String(process.pid));
    return fstatSync(fd);
  } finally {
    closeSync(fd);
  }
}

const isStale = (st: Stats, staleMs: number): boolean => Date.now() - st.mtimeMs > staleMs;

const sameFile = (a: Stats, b: Stats): boolean => a.dev === b.dev && a.ino === b.ino && a.mtimeMs === b.mtimeMs;

/**
 * Removes the stale lock `judged` unless another breaker got there first. True when
 * the lock is gone or replaced (try to take it again), false when another breaker is
 * at work (wait).
 */
function breakStale(lock: string, judged: Stats, staleMs: number): boolean {
  const guard = `${lock}.break`;
  const held = create(guard);
  if (held === undefined) {
    // Breaking takes microseconds: a guard this old was left by a breaker that died.
    const other = statSync(guard, { throwIfNoEntry: false });
    if (other !== undefined && isStale(other, staleMs)) removeIfSame(guard, other);
    return false;
  }
  try {
    const now = statSync(lock, { throwIfNoEntry: false });
    if (now !== undefined && sameFile(now, judged)) unlink(lock);
  } finally {
    removeIfSame(guard, held);
  }
  return true;
}

/** Removes `path` if it is still the file `st` describes. */
function removeIfSame(path: string, st: Stats): void {
  const now = statSync(path, { throwIfNoEntry: false });
  if (now !== undefined && sameFile(now, st)) unlink(path);
}

function unlink(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') throw e;
  }
}
