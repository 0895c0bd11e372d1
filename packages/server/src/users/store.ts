// The user store on disk: a directory (default /etc/otpknock/users.d, mode 0700)
// with one 0600 file per user. Writes are atomic and durable (temp file, fsync,
// rename, directory fsync) and serialised by a lock file, so two `otpknockd user`
// runs cannot lose an update and the daemon never reads half a file.
import { lstat, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OtpknockError, SECRET_FILE_MAX_BYTES, USER_NAME_RULE, quote, userNameProblem } from '@otpknock/shared';
import { readFileInfo, withFileLock, writeFileAtomic, type FileInfo } from '@otpknock/shared/safe-file';
import { STORE_FILE_SUFFIX, formatUserRecord, recordFileName, type StoredUser } from './record.js';

/** One record file as read from the store directory. */
export interface StoreEntry {
  name: string;
  file: string;
  info?: FileInfo;
  error?: unknown;
}

/** What the loader found in the store directory. */
export interface StoreListing {
  dir: string;
  /** Set when the directory itself cannot be used (missing is not an error: no users yet). */
  error?: string;
  entries: StoreEntry[];
}

/** Reads every record file of the store (names sorted). A missing directory is an empty store. */
export async function readStoreDir(dir: string): Promise<StoreListing> {
  let names: string[];
  try {
    const st = await stat(dir);
    if (!st.isDirectory())
      return { dir, error: `${dir} is not a directory; user_store must name a directory`, entries: [] };
    if ((st.mode & 0o022) !== 0) {
      return {
        dir,
        error: `${dir} can be written by group or others (permissions ${(st.mode & 0o7777).toString(8).padStart(4, '0')}); run chmod 700 ${dir}`,
        entries: [],
      };
    }
    names = await readdir(dir);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') return { dir, entries: [] };
    return { dir, error: `cannot read the user store ${dir}: ${code ?? String(e)}`, entries: [] };
  }
  const entries: StoreEntry[] = [];
  for (const f of names.sort()) {
    if (f.startsWith('.') || !f.endsWith(STORE_FILE_SUFFIX)) continue; // temp and lock files
    const name = f.slice(0, -STORE_FILE_SUFFIX.length);
    const file = join(dir, f);
    try {
      entries.push({ name, file, info: await readFileInfo(file, SECRET_FILE_MAX_BYTES) });
    } catch (error) {
      entries.push({ name, file, error });
    }
  }
  return { dir, entries };
}

/**
 * A cheap fingerprint of the store's contents (names, sizes, mtimes, inodes): the
 * daemon compares it at every window boundary to notice `otpknockd user` changes.
 */
export async function storeSignature(dir: string): Promise<string> {
  try {
    const names = (await readdir(dir)).filter((f) => !f.startsWith('.') && f.endsWith(STORE_FILE_SUFFIX)).sort();
    const parts: string[] = [];
    for (const f of names) {
      try {
        const st = await lstat(join(dir, f));
        parts.push(`${f}:${st.ino}:${st.size}:${st.mtimeMs}`);
      } catch {
        parts.push(`${f}:gone`);
      }
    }
    return parts.join('|');
  } catch (e) {
    return `error:${(e as { code?: string }).code ?? 'unknown'}`;
  }
}

/** The last guard before a record's file name is made from a user name (the commands check it first). */
function checkName(name: string): void {
  const problem = userNameProblem(name);
  if (problem !== undefined)
    throw new OtpknockError('E_ARGUMENT', `invalid user name ${quote(name)}: it ${problem}`, {
      hint: `use ${USER_NAME_RULE}`,
    });
}

/** Writes a user's record atomically with mode 0600 (the temp file is hidden from readStoreDir). */
export async function writeUserRecord(dir: string, user: StoredUser): Promise<string> {
  checkName(user.name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, recordFileName(user.name));
  await writeFileAtomic(file, formatUserRecord(user));
  return file;
}

export async function removeUserRecord(dir: string, name: string): Promise<void> {
  checkName(name);
  await rm(join(dir, recordFileName(name)));
}

/** Runs `fn` holding the store's lock file; waits up to 5 s for another holder. */
export async function withStoreLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lock = join(dir, '.lock');
  const busy = () =>
    new OtpknockError('E_BUSY', `the user store ${dir} is locked by another otpknockd user command`, {
      hint: `wait and try again; if none is running, remove ${lock}`,
    });
  return withFileLock(lock, { busy }, fn);
}
