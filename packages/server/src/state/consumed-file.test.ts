import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONSUMED_FILE, formatConsumed, parseConsumed, readConsumed, writeConsumed } from './consumed-file.js';

const NOW = Date.UTC(2026, 11, 4, 12, 0, 0);
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'otpknock-consumed-'));
  dirs.push(d);
  return d;
};

describe('consumed.json', () => {
  it('round-trips records and drops those that ran out', () => {
    const text = formatConsumed([
      { ports: [1000, 2000, 3000], untilMs: NOW + 60_000 },
      { ports: [4000, 5000, 6000], untilMs: NOW - 1 },
    ]);
    expect(parseConsumed(text, NOW)).toEqual([{ ports: [1000, 2000, 3000], untilMs: NOW + 60_000 }]);
  });

  it('leaves out anything malformed instead of failing the start', () => {
    expect(parseConsumed('not json', NOW)).toEqual([]);
    expect(parseConsumed('{"version":1}', NOW)).toEqual([]);
    const bad = JSON.stringify({
      version: 1,
      consumed: [
        { ports: [0, 1], until_ms: NOW + 1 },
        { ports: [], until_ms: NOW + 1 },
        { ports: [70000], until_ms: NOW + 1 },
        { ports: [22], until_ms: 'soon' },
        null,
        { ports: [22, 23], until_ms: NOW + 5 },
      ],
    });
    expect(parseConsumed(bad, NOW)).toEqual([{ ports: [22, 23], untilMs: NOW + 5 }]);
  });

  it('is written atomically, 0600, and read back; a missing file is no record', async () => {
    const dir = await tempDir();
    expect(await readConsumed(dir, NOW)).toEqual([]);
    await writeConsumed(dir, [{ ports: [10, 20], untilMs: NOW + 1000 }]);
    expect((await stat(join(dir, CONSUMED_FILE))).mode & 0o777).toBe(0o600);
    expect(await readConsumed(dir, NOW)).toEqual([{ ports: [10, 20], untilMs: NOW + 1000 }]);
    expect(JSON.parse(await readFile(join(dir, CONSUMED_FILE), 'utf8'))).toMatchObject({ version: 1 });
  });

  it('says why it cannot read a file that is there', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, CONSUMED_FILE), '{}');
    await rm(join(dir, CONSUMED_FILE));
    await (await import('node:fs/promises')).mkdir(join(dir, CONSUMED_FILE)); // a directory in its place
    const errors: string[] = [];
    expect(await readConsumed(dir, NOW, (m) => errors.push(m))).toEqual([]);
    expect(errors[0]).toMatch(/cannot read .*consumed\.json/);
  });
});
