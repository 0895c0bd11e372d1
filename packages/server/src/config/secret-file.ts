// The daemon's words for files that hold secrets (secret files, user records). The
// rule itself — regular file, owned by root or the daemon, no bits for group or
// others, small — is @otpknock/shared/safe-file's, the same one knock applies; reading
// happens at the edge (load.ts, users/store.ts), judging here, as pure functions.
import { PATH_MAX, SECRET_FILE_MAX_BYTES, shownPath } from '@otpknock/shared';
import { octalMode, privateFileProblem, privateOwners, type FileInfo } from '@otpknock/shared/safe-file';

export type { FileInfo };
export { octalMode };

/**
 * Why a secret file must not be used, or undefined when it is fine. The message
 * names the file: it follows the config field that names it.
 */
export function secretFileProblem(file: string, info: FileInfo, daemonUid: number): string | undefined {
  const problem = privateFileProblem(info, { owners: privateOwners(daemonUid), maxBytes: SECRET_FILE_MAX_BYTES });
  switch (problem?.kind) {
    case undefined:
      return undefined;
    case 'type':
      return `${file} is not a regular file (it is ${problem.type === 'directory' ? 'a directory' : 'a device, socket or pipe'}); expected a file holding the base32 secret`;
    case 'owner':
      return `${file} is owned by uid ${problem.uid}; expected ${daemonUid === 0 ? 'root' : `root or uid ${daemonUid} (the daemon's uid)`}; run chown root ${file}`;
    case 'mode':
      return `permissions ${octalMode(problem.mode)} for ${file} are too open: group and others must have no access to a secret; run chmod 600 ${file}`;
    case 'size':
      return `${file} is ${problem.size} bytes, too large for a secret file; expected one line of base32 text`;
  }
}

/** Message for a failed open/read, from its errno code. */
export function readFailure(file: string, error: unknown, daemonUid: number): string {
  if (file.length > PATH_MAX) return `cannot read ${shownPath(file)}: a path has at most ${PATH_MAX} characters`;
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return `${file} does not exist; expected a file holding the base32 secret (mode 0600)`;
    case 'EACCES':
    case 'EPERM':
      return `cannot read ${file}: permission denied (the daemon runs as uid ${daemonUid})`;
    case 'ENOTDIR':
      return `cannot read ${file}: a component of the path is not a directory`;
    case 'ELOOP':
      return `cannot read ${file}: too many symbolic links`;
    default:
      return `cannot read ${file}: ${typeof code === 'string' ? code : String((error as Error)?.message ?? error)}`;
  }
}

/** The secret in a secret file: `#` comment lines dropped, all whitespace removed. */
export function secretFromFileText(text: string): string {
  return text
    .split(/\r?\n/)
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('')
    .replace(/\s+/g, '');
}
