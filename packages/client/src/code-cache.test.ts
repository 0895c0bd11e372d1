import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Script } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileCli, runCli, writeCodeCache } from './code-cache.js';
import { tempDir } from '@otpknock/client/testing';

let dir: string;
let cleanup: () => void;
let cli: string;
let cacheFile: string;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  cli = join(dir, 'cli.js');
  cacheFile = join(dir, 'cli.v8cache');
  // A bundle of its own per test: V8 keeps compiled scripts per process, and a source it
  // holds already would be taken from there, whatever the cache says.
  writeFileSync(cli, bundleText(randomUUID()));
});
afterEach(() => cleanup());

/** A small CommonJS bundle that reports what it was run with. */
function bundleText(id: string): string {
  return `// ${id}
"use strict";
function twice(x) { return x * 2; }
globalThis.__codeCacheTest = { sep: require("node:path").sep, file: __filename, dir: __dirname, twice: twice(21), self: this === module.exports };
`;
}

/** Runs a compiled bundle the way launch.ts does; what it saw. */
function runBundle(script: Script): unknown {
  const g = globalThis as { __codeCacheTest?: unknown };
  runCli(script, cli, dir, createRequire(import.meta.url));
  const seen = g.__codeCacheTest;
  delete g.__codeCacheTest;
  return seen;
}

const RAN = () => ({ sep: '/', file: cli, dir, twice: 42, self: true });

describe('code cache', () => {
  it('absent: the bundle compiles without it', () => {
    const { script, cache } = compileCli(cli, cacheFile);
    expect(cache).toBe('absent');
    expect(runBundle(script)).toEqual(RAN());
  });

  it('made with mode 0644 and taken: a digest, then V8 data for this bundle', () => {
    writeCodeCache(cli, cacheFile);
    expect(statSync(cacheFile).mode & 0o777).toBe(0o644);
    expect(readFileSync(cacheFile).length).toBeGreaterThan(32);
    const { script, cache } = compileCli(cli, cacheFile);
    expect(cache).toBe('used');
    expect(runBundle(script)).toEqual(RAN());
  });

  it('taken by a new Node process (this one holds the script already, whatever the cache says)', () => {
    writeCodeCache(cli, cacheFile);
    const module = fileURLToPath(new URL('./code-cache.ts', import.meta.url));
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import(${JSON.stringify(module)}).then((m) => process.stdout.write(m.compileCli(${JSON.stringify(cli)}, ${JSON.stringify(cacheFile)}).cache))`,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.stdout, r.stderr).toBe('used');
  });

  it('stale when the bundle changed, even to one of the same length (V8 would only compare lengths)', () => {
    writeCodeCache(cli, cacheFile);
    const text = readFileSync(cli, 'utf8');
    const changed = text.replace('x * 2', 'x + 2');
    expect(changed.length).toBe(text.length);
    writeFileSync(cli, changed);
    expect(compileCli(cli, cacheFile).cache).toBe('stale');
  });

  it('stale, not a crash of V8, when the file is damaged or cut short', () => {
    writeCodeCache(cli, cacheFile);
    const good = readFileSync(cacheFile);
    const damaged = Buffer.from(good);
    for (let i = 40; i < damaged.length; i += 97) damaged[i] = damaged[i]! ^ 0x5a;
    writeFileSync(cacheFile, damaged);
    expect(compileCli(cli, cacheFile).cache).toBe('stale');
    writeFileSync(cacheFile, good.subarray(0, good.length - 100));
    expect(compileCli(cli, cacheFile).cache).toBe('stale');
    writeFileSync(cacheFile, good.subarray(0, 20));
    expect(compileCli(cli, cacheFile).cache).toBe('stale');
  });

  it('rejected by V8 (here: made for another source), and the bundle compiles without it', () => {
    const other = join(dir, 'other.js');
    writeFileSync(other, bundleText(`${randomUUID()} and something longer`));
    writeCodeCache(other, cacheFile);
    // The digest made right for this bundle, so that V8 itself has to refuse the data.
    const data = readFileSync(cacheFile).subarray(32);
    const { createHash } = process.getBuiltinModule('node:crypto');
    const digest = createHash('sha256').update(readFileSync(cli)).update(data).digest();
    writeFileSync(cacheFile, Buffer.concat([digest, data]));
    const { script, cache } = compileCli(cli, cacheFile);
    expect(cache).toBe('rejected');
    expect(runBundle(script)).toEqual(RAN());
  });
});
