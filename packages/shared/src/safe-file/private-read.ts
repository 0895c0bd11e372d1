// Reading files that hold secrets (the daemon's secret files and user records, the
// client's profile store and secret files), and the one rule for them, the way ssh
// treats a private key: a regular file, owned by root or by us, that group and others
// cannot use at all, and small. Reading and judging are separate, so that the daemon's
// config parser can judge pure data and report every problem at once; each tool says
// the verdict in its own location format (a config field, a file).
import {
  close,
  closeSync,
  constants,
  fstat,
  fstatSync,
  open,
  openSync,
  readFile,
  readFileSync,
  type Stats,
} from 'node:fs';
import { fsCall } from './atomic-write.js';

/** What opening a file found. */
export interface FileInfo {
  type: 'file' | 'directory' | 'other';
  /** st_mode: permission bits and up (only the low 12 bits are looked at). */
  mode: number;
  uid: number;
  size: number;
  /** The file's text; absent for non-regular files and files over the size limit. */
  text?: string;
}

// Non-blocking, so that a FIFO in place of a file cannot hang the reader; no
// controlling terminal from a tty device.
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

function describe(st: Stats): FileInfo {
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other';
  return { type, mode: st.mode, uid: st.uid, size: st.size };
}

/**
 * Opens `path` once and describes what was opened (no race between the check and the
 * read); only a regular file within `maxBytes` is read. Throws the errno error of the
 * open (`ENOENT`, `EACCES`, …).
 */
export async function readFileInfo(path: string, maxBytes: number): Promise<FileInfo> {
  const fd = await fsCall<number>((cb) => open(path, READ_FLAGS, cb));
  try {
    const info = describe(await fsCall<Stats>((cb) => fstat(fd, cb)));
    if (info.type === 'file' && info.size <= maxBytes)
      info.text = await fsCall<string>((cb) => readFile(fd, 'utf8', cb));
    return info;
  } finally {
    await fsCall((cb) => close(fd, cb));
  }
}

/** readFileInfo for synchronous callers (the knock client reads its store at every start). */
export function readFileInfoSync(path: string, maxBytes: number): FileInfo {
  const fd = openSync(path, READ_FLAGS);
  try {
    const info = describe(fstatSync(fd));
    if (info.type === 'file' && info.size <= maxBytes) info.text = readFileSync(fd, 'utf8');
    return info;
  } finally {
    closeSync(fd);
  }
}

/** Why a file must not be trusted with a secret. */
export type PrivateFileProblem =
  | { kind: 'type'; type: 'directory' | 'other' }
  | { kind: 'owner'; uid: number; owners: readonly number[] }
  | { kind: 'mode'; mode: number }
  | { kind: 'size'; size: number; maxBytes: number };

export interface PrivateFileRule {
  /** Who may own the file: root and the reader's uid. Absent: anyone (no uids on this platform). */
  owners?: readonly number[];
  /** Largest size accepted. */
  maxBytes: number;
}

/** Who may own a private file read by a process running as `uid` (`process.getuid?.()`): root and itself. */
export const privateOwners = (uid: number | undefined): number[] | undefined =>
  uid === undefined ? undefined : [...new Set([0, uid])];

/** The first thing wrong with a file meant to hold secrets, or undefined when it may be used. */
export function privateFileProblem(info: FileInfo, rule: PrivateFileRule): PrivateFileProblem | undefined {
  if (info.type !== 'file') return { kind: 'type', type: info.type };
  if (rule.owners !== undefined && !rule.owners.includes(info.uid))
    return { kind: 'owner', uid: info.uid, owners: rule.owners };
  if ((info.mode & 0o077) !== 0) return { kind: 'mode', mode: info.mode & 0o7777 };
  if (info.size > rule.maxBytes || info.text === undefined)
    return { kind: 'size', size: info.size, maxBytes: rule.maxBytes };
  return undefined;
}

/** Permission bits as `chmod` and `ls -l` users know them: 0644. */
export function octalMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}
