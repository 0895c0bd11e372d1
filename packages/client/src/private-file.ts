// Files holding secrets must be private, the way ssh insists on a private key that only
// its owner can read: refuse otherwise, and say how to fix it. The rule and the reading
// are @otpknock/shared/safe-file's (the daemon applies the same); the words are knock's.
import { PATH_MAX, shownPath } from '@otpknock/shared';
import {
  octalMode,
  privateFileProblem,
  privateOwners,
  readFileInfoSync,
  type FileInfo,
} from '@otpknock/shared/safe-file';
import { KnockError, EXIT, usageError } from './errors.js';

/**
 * Reads a file that must be private and at most `maxBytes` long. Judges the open
 * descriptor, so that the file checked is the file read; a FIFO does not block.
 * Returns undefined when the file does not exist and `missingOk` is set.
 */
export function readPrivateFile(file: string, what: string, maxBytes: number, missingOk = false): string | undefined {
  if (file.length > PATH_MAX)
    throw usageError(`${shownPath(file)}: cannot open the ${what}: a path has at most ${PATH_MAX} characters`);
  let info: FileInfo;
  try {
    info = readFileInfoSync(file, maxBytes);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && missingOk) return undefined;
    if (code === 'ENOENT') throw usageError(`${file}: no such ${what}`);
    if (code === 'EACCES') throw usageError(`${file}: cannot read the ${what} (permission denied)`);
    throw new KnockError(EXIT.USAGE, `${file}: cannot open the ${what}: ${(error as Error).message}`);
  }
  const uid = process.getuid?.();
  const problem = privateFileProblem(info, { owners: privateOwners(uid), maxBytes });
  switch (problem?.kind) {
    case undefined:
      return info.text;
    case 'type':
      throw usageError(
        problem.type === 'directory'
          ? `${file}: the ${what} is a directory`
          : `${file}: the ${what} is not a regular file`,
      );
    case 'owner':
      throw usageError(
        `${file}: the ${what} belongs to another user (uid ${problem.uid})`,
        `Use a file of your own, or: chown ${uid} '${file}'`,
      );
    case 'mode':
      throw usageError(
        `${file}: permissions ${octalMode(problem.mode)} are too open: the ${what} holds secrets and must not be accessible by group or others`,
        `Run: chmod 600 '${file}'`,
      );
    case 'size':
      throw usageError(
        `${file}: the ${what} is ${problem.size} bytes; at most ${maxBytes} are accepted`,
        `Check that it is the right file: a ${what} is ${maxBytes >= 1 << 20 ? 'a few kilobytes' : 'a line of text'}.`,
      );
  }
}
