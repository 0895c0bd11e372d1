import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  syncDirectory,
  syncDirectorySync,
  writeFileAtomic,
  writeFileAtomicSync,
  type AtomicWriteOptions,
} from './atomic-write.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'otpknock-atomic-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mode = (file: string) => statSync(file).mode & 0o7777;

describe.each([
  ['writeFileAtomic', writeFileAtomic],
  [
    'writeFileAtomicSync',
    async (file: string, data: string | Uint8Array, options?: AtomicWriteOptions) =>
      writeFileAtomicSync(file, data, options),
  ],
] as const)('%s', (_name, writeFileAtomic) => {
  it('writes a new file with mode 0600, whatever the umask, and leaves no temp file', async () => {
    const file = join(dir, 'status.json');
    const old = process.umask(0);
    try {
      await writeFileAtomic(file, '{"ok":true}\n');
    } finally {
      process.umask(old);
    }
    expect(readFileSync(file, 'utf8')).toBe('{"ok":true}\n');
    expect(mode(file)).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['status.json']);
  });

  it('replaces a file by a new one (a reader holding the old one keeps it whole) with the mode asked for', async () => {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'old\n', { mode: 0o600 });
    const before = statSync(file).ino;
    await writeFileAtomic(file, Buffer.from('new\n'), { mode: 0o640 });
    expect(readFileSync(file, 'utf8')).toBe('new\n');
    expect(statSync(file).ino).not.toBe(before);
    expect(mode(file)).toBe(0o640);
  });

  it('replaces a symbolic link at the path instead of writing through it', async () => {
    const target = join(dir, 'elsewhere');
    writeFileSync(target, 'untouched\n');
    const file = join(dir, 'link');
    symlinkSync(target, file);
    await writeFileAtomic(file, 'mine\n');
    expect(lstatSync(file).isFile()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('untouched\n');
  });

  it('leaves no temp file when the write cannot finish', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'x.json'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    // A target that is a directory: the rename fails after the temp file was written.
    mkdirSync(join(dir, 'adir', 'inside'), { recursive: true });
    await expect(writeFileAtomic(join(dir, 'adir'), 'x')).rejects.toMatchObject({ code: 'EISDIR' });
    expect(readdirSync(dir)).toEqual(['adir']);
  });

  it('without fsync (a cache): still atomic and private', async () => {
    const file = join(dir, 'used-windows.json');
    await writeFileAtomic(file, '{}\n', { fsync: false });
    expect(readFileSync(file, 'utf8')).toBe('{}\n');
    expect(mode(file)).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['used-windows.json']);
  });

  it('serves concurrent writers of one file: each write whole, no temp file left', async () => {
    const file = join(dir, 'consumed.json');
    const texts = Array.from({ length: 20 }, (_, i) => `${String(i).repeat(1000)}\n`);
    await Promise.all(texts.map((t) => writeFileAtomic(file, t)));
    expect(texts).toContain(readFileSync(file, 'utf8'));
    expect(readdirSync(dir)).toEqual(['consumed.json']);
  });
});

describe('syncDirectory', () => {
  it('syncs a directory, and refuses what is not one', async () => {
    await syncDirectory(dir);
    syncDirectorySync(dir);
    const file = join(dir, 'f');
    writeFileSync(file, '');
    chmodSync(file, 0o600);
    await expect(syncDirectory(file)).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(() => syncDirectorySync(file)).toThrow(/ENOTDIR/);
  });
});
