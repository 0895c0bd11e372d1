import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  octalMode,
  privateFileProblem,
  privateOwners,
  readFileInfo,
  readFileInfoSync,
  type FileInfo,
} from './private-read.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'otpknock-private-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe.each([
  ['readFileInfo', readFileInfo],
  ['readFileInfoSync', async (path: string, max: number) => readFileInfoSync(path, max)],
] as const)('%s', (_name, read) => {
  it('reads a regular file within the limit, and says what it is', async () => {
    const file = join(dir, 'secret');
    writeFileSync(file, 'JBSWY3DPEHPK3PXP\n', { mode: 0o600 });
    expect(await read(file, 100)).toMatchObject({
      type: 'file',
      size: 17,
      text: 'JBSWY3DPEHPK3PXP\n',
      uid: process.getuid?.(),
    });
    expect((await read(file, 100)).mode & 0o777).toBe(0o600);
  });

  it('does not read a file over the limit, a directory, or a FIFO (which would block)', async () => {
    const big = join(dir, 'big');
    writeFileSync(big, 'x'.repeat(11));
    expect(await read(big, 10)).toEqual(expect.not.objectContaining({ text: expect.anything() as unknown }));
    expect(await read(dir, 10)).toMatchObject({ type: 'directory' });
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(await read(fifo, 10)).toMatchObject({ type: 'other' });
  });

  it('throws the errno error of the open', async () => {
    await expect(read(join(dir, 'nothing'), 10)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('privateFileProblem', () => {
  const ok: FileInfo = { type: 'file', mode: 0o100600, uid: 0, size: 10, text: 'x'.repeat(10) };
  const rule = { owners: [0, 1000], maxBytes: 64 };

  it('accepts a small regular file of root or the reader, for nobody else', () => {
    expect(privateFileProblem(ok, rule)).toBeUndefined();
    expect(privateFileProblem({ ...ok, uid: 1000, mode: 0o100400 }, rule)).toBeUndefined();
  });

  it("refuses, in this order, what is not a file, a stranger's file, group or other bits, and size", () => {
    expect(privateFileProblem({ ...ok, type: 'directory', uid: 5 }, rule)).toEqual({ kind: 'type', type: 'directory' });
    expect(privateFileProblem({ ...ok, uid: 5, mode: 0o100644 }, rule)).toEqual({
      kind: 'owner',
      uid: 5,
      owners: [0, 1000],
    });
    for (const bits of [0o640, 0o620, 0o610, 0o604, 0o602, 0o601]) {
      expect(privateFileProblem({ ...ok, mode: 0o100000 | bits }, rule)).toEqual({ kind: 'mode', mode: bits });
    }
    const { text: _text, ...big } = { ...ok, size: 65 };
    expect(privateFileProblem(big, rule)).toEqual({ kind: 'size', size: 65, maxBytes: 64 });
  });

  it('checks no owner where there are no uids', () => {
    expect(privateFileProblem({ ...ok, uid: 5 }, { maxBytes: 64 })).toBeUndefined();
    expect(privateOwners(undefined)).toBeUndefined();
    expect(privateOwners(0)).toEqual([0]);
    expect(privateOwners(1000)).toEqual([0, 1000]);
  });

  it('shows modes as chmod takes them', () => {
    expect(octalMode(0o100644)).toBe('0644');
    expect(octalMode(0o104755)).toBe('4755');
  });
});
