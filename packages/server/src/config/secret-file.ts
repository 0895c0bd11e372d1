// Rules for files that hold secrets, as pure functions of the file's metadata.
// Reading the file happens at the edge (load.ts); judging it happens here.
import { PATH_MAX, SECRET_FILE_MAX_BYTES, shownPath } from '@otpknock/shared';

/** What the loader learned about a file (config or secret). */
export interface FileInfo {
  type: 'file' | 'directory' | 'other';
  /** st_mode permission bits and up (only the low 12 bits are looked at). */
  mode: number;
  uid: number;
  size: number;
  /** The file's text; absent for non-regular files and files over the size limit. */
  text?: string;
}

/** Secret files are a line of base32; anything larger is a mistake (the same bound as knock's). */
export { SECRET_FILE_MAX_BYTES };

export function octalMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * Why a secret file must not be used, or undefined when it is fine: it must be a
 * regular file, owned by root or the daemon's uid, with no permission bits for
 * group or others (the way ssh treats a private key).
 */
export function secretFileProblem(file: string, info: FileInfo, daemonUid: number): string | undefined {
  if (info.type !== 'file') {
    return `${file} is not a regular file (it is ${info.type === 'directory' ? 'a directory' : 'a device, socket or pipe'}); expected a file holding the base32 secret`;
  }
  if (info.uid !== 0 && info.uid !== daemonUid) {
    const owners = daemonUid === 0 ? 'root' : `root or uid ${daemonUid} (the daemon's uid)`;
    return `${file} is owned by uid ${info.uid}; expected ${owners}; run chown root ${file}`;
  }
  if ((info.mode & 0o077) !== 0) {
    return `permissions ${octalMode(info.mode)} for ${file} are too open: group and others must have no access to a secret; run chmod 600 ${file}`;
  }
  if (info.size > SECRET_FILE_MAX_BYTES || info.text === undefined) {
    return `${file} is ${info.size} bytes, too large for a secret file; expected one line of base32 text`;
  }
  return undefined;
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
