// Replacing a file so that a crash, a power cut or a concurrent reader sees the old
// content or the new, never a torn or empty file, and never a secret under a loose mode:
//   1. a temp file in the same directory, created O_EXCL|O_NOFOLLOW with the mode
//      (fchmod'ed too, whatever the umask), so its bytes are private from the start;
//   2. the data written and fsynced;
//   3. renamed over the target (atomic within a filesystem);
//   4. the directory fsynced, so that the rename itself survives a power cut.
// node:fs callbacks rather than write-file-atomic, which fsyncs the file but not the
// directory, and opens its temp file without O_EXCL; and rather than node:fs/promises,
// which the knock client would otherwise load at every start.
import {
  close,
  closeSync,
  constants,
  fchmod,
  fchmodSync,
  fsync,
  fsyncSync,
  open,
  openSync,
  rename,
  renameSync,
  unlink,
  unlinkSync,
  write,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** Permission bits of the new file, whatever the umask. Default 0o600. */
  mode?: number;
  /**
   * fsync the file and the directory (default true). false only for a cache whose
   * loss in a power cut costs nothing, written where the fsync would be felt (knock's
   * used-windows file, on every knock): still atomic, still private.
   */
  fsync?: boolean;
}

type Callback<T> = (error: NodeJS.ErrnoException | null, value: T) => void;

/** A node:fs callback call as a promise. */
export function fsCall<T = void>(f: (done: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => f((error, value) => (error ? reject(error) : resolve(value))));
}

const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

// Hidden, and unique per call: two writers of one file never share a temp file.
const tempPath = (file: string): string =>
  join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);

const bytesOf = (data: string | Uint8Array): Uint8Array =>
  typeof data === 'string' ? Buffer.from(data, 'utf8') : data;

/** Writes `data` to `file` atomically and durably (see above), with `mode` (default 0600). */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const mode = options.mode ?? 0o600;
  const durable = options.fsync ?? true;
  const tmp = tempPath(file);
  const bytes = bytesOf(data);
  const fd = await fsCall<number>((cb) => open(tmp, TEMP_FLAGS, mode, cb));
  try {
    try {
      await fsCall((cb) => fchmod(fd, mode, cb));
      for (let done = 0; done < bytes.length;) {
        done += await fsCall<number>((cb) => write(fd, bytes, done, bytes.length - done, null, cb));
      }
      if (durable) await fsCall((cb) => fsync(fd, cb));
    } finally {
      await fsCall((cb) => close(fd, cb));
    }
    await fsCall((cb) => rename(tmp, file, cb));
  } catch (e) {
    await fsCall((cb) => unlink(tmp, cb)).catch(() => undefined);
    throw e;
  }
  if (durable) await syncDirectory(dirname(file));
}

/** writeFileAtomic for synchronous callers (the same steps). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const mode = options.mode ?? 0o600;
  const durable = options.fsync ?? true;
  const tmp = tempPath(file);
  const bytes = bytesOf(data);
  const fd = openSync(tmp, TEMP_FLAGS, mode);
  try {
    try {
      fchmodSync(fd, mode);
      for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // never made, or gone
    }
    throw e;
  }
  if (durable) syncDirectorySync(dirname(file));
}

/** syncDirectory for synchronous callers. */
export function syncDirectorySync(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
  } finally {
    closeSync(fd);
  }
}

/** fsync of a directory: makes a rename (or a creation, a removal) in it durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const fd = await fsCall<number>((cb) => open(dir, constants.O_RDONLY | constants.O_DIRECTORY, cb));
  try {
    await fsCall((cb) => fsync(fd, cb)).catch((e: NodeJS.ErrnoException) => {
      // A filesystem that cannot sync directories (EINVAL) has nothing to make durable.
      if (e.code !== 'EINVAL') throw e;
    });
  } finally {
    await fsCall((cb) => close(fd, cb));
  }
}
