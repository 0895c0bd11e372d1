// A lock file for read-modify-write of a small store by short-lived commands
// (otpknockd user …, knock add/import/remove): O_EXCL create, our pid inside,
// removed when done. A lock older than `staleMs` is taken to be left by a crashed
// command and broken.
// Plain node:fs calls: the knock client loads node:fs anyway, node:fs/promises not.
import { closeSync, constants, openSync, statSync, unlinkSync, writeSync } from 'node:fs';

export interface FileLockOptions {
  /** The error to throw when the lock stays taken for `waitMs`. */
  busy: () => Error;
  /** How long to wait for another holder. Default 5 s. */
  waitMs?: number;
  /** A lock file older than this is stale. Default 30 s. */
  staleMs?: number;
}

export async function withFileLock<T>(lock: string, options: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  const waitMs = options.waitMs ?? 5_000;
  const staleMs = options.staleMs ?? 30_000;
  const giveUpAt = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
      const st = statSync(lock, { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs > staleMs) {
        removeLock(lock);
        continue;
      }
      if (Date.now() >= giveUpAt) throw options.busy();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    removeLock(lock);
  }
}

function removeLock(lock: string): void {
  try {
    unlinkSync(lock);
  } catch {
    // gone already (broken as stale by another command)
  }
}
