// Files holding secrets must be private, the way ssh insists on a private key that only
// its owner can read: refuse otherwise, and say how to fix it.
import { closeSync, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { PATH_MAX, shownPath } from '@otpknock/shared';
import { KnockError, EXIT, usageError } from './errors.js';

/** Throws unless `stats` describe a regular file that only its owner (us or root) can use. */
export function assertPrivate(stats: Stats, file: string, what: string, uid: number | undefined = process.getuid?.()): void {
  if (!stats.isFile()) throw usageError(`${file}: ${what} is not a regular file`);
  const loose = stats.mode & 0o077;
  if (loose !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
    throw usageError(
      `${file}: permissions ${mode} are too open: the ${what} holds secrets and must not be accessible by group or others`,
      `Run: chmod 600 '${file}'`,
    );
  }
  if (uid !== undefined && stats.uid !== uid && stats.uid !== 0) {
    throw usageError(`${file}: the ${what} belongs to another user (uid ${stats.uid})`, `Use a file of your own, or: chown ${uid} '${file}'`);
  }
}

/**
 * Reads a file that must be private and at most `maxBytes` long. Checks the open
 * descriptor, so that the file checked is the file read. Returns undefined when the
 * file does not exist and `missingOk` is set.
 */
export function readPrivateFile(file: string, what: string, maxBytes: number, missingOk = false): string | undefined {
  if (file.length > PATH_MAX) throw usageError(`${shownPath(file)}: cannot open the ${what}: a path has at most ${PATH_MAX} characters`);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && missingOk) return undefined;
    if (code === 'ENOENT') throw usageError(`${file}: no such ${what}`);
    if (code === 'EACCES') throw usageError(`${file}: cannot read the ${what} (permission denied)`);
    if (code === 'EISDIR') throw usageError(`${file}: the ${what} is a directory`);
    throw new KnockError(EXIT.USAGE, `${file}: cannot open the ${what}: ${(error as Error).message}`);
  }
  try {
    const stats = fstatSync(fd);
    assertPrivate(stats, file, what);
    if (stats.size > maxBytes) {
      throw usageError(`${file}: the ${what} is ${stats.size} bytes; at most ${maxBytes} are accepted`, `Check that it is the right file: a ${what} is ${maxBytes >= 1 << 20 ? 'a few kilobytes' : 'a line of text'}.`);
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
