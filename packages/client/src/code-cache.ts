// V8's code cache for the bundled CLI: the bundle's functions compiled once, where it is
// installed, by the Node that will run it, so that a start skips parsing and compiling
// them (~4–6 ms of CPU per `knock HOST` on a 2-core machine; bench/README.md). launch.ts
// uses it on every start; the package's postinstall and the build make it.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Script } from 'node:vm';

/** What became of the code cache in one start. */
export type CacheState = 'used' | 'absent' | 'stale' | 'rejected';

// The cache file: a SHA-256 of (bundle, V8 data), then V8's data. V8 itself checks its
// version and flags, but of the source only the length, and it crashes on damaged data:
// the digest ties the data to this very bundle and catches damage before V8 reads it.
const DIGEST_BYTES = 32;

function digest(bundle: Uint8Array, data: Uint8Array): Buffer {
  return createHash('sha256').update(bundle).update(data).digest();
}

/** The V8 data in `cacheFile` when it was made for `bundle` (the bundle's bytes); 'absent' or 'stale' otherwise. */
export function readCodeCache(bundle: Uint8Array, cacheFile: string): Buffer | 'absent' | 'stale' {
  let file: Buffer;
  try {
    file = readFileSync(cacheFile);
  } catch {
    return 'absent';
  }
  const data = file.subarray(DIGEST_BYTES);
  return file.length > DIGEST_BYTES && digest(bundle, data).equals(file.subarray(0, DIGEST_BYTES)) ? data : 'stale';
}

// The wrapper of Node's CommonJS loader, so that the bundle runs as if required.
const wrap = (bundle: Buffer) =>
  `(function (exports, require, module, __filename, __dirname) {${bundle.toString()}\n})`;

/** Compiles the bundle `cliFile`, with the cache when `cacheFile` holds a good one; does not run it. */
export function compileCli(cliFile: string, cacheFile: string): { script: Script; cache: CacheState } {
  const bundle = readFileSync(cliFile);
  const cached = readCodeCache(bundle, cacheFile);
  if (typeof cached === 'string') return { script: new Script(wrap(bundle), { filename: cliFile }), cache: cached };
  const script = new Script(wrap(bundle), { filename: cliFile, cachedData: cached });
  return { script, cache: script.cachedDataRejected ? 'rejected' : 'used' };
}

/** Runs a script from compileCli as Node would run `cliFile` itself, with `require` for Node's own modules. */
export function runCli(script: Script, cliFile: string, dirname: string, require: NodeJS.Require): void {
  const run = script.runInThisContext() as (
    exports: object,
    require: NodeJS.Require,
    module: { exports: object },
    filename: string,
    dirname: string,
  ) => void;
  const module = { exports: {} };
  run.call(module.exports, module.exports, require, module, cliFile, dirname);
}

/**
 * Makes `cacheFile` for the bundle `cliFile` with the running Node: every function compiled
 * now (`--no-lazy`), whichever command runs later. Written to a temporary file and renamed,
 * readable by all (it holds compiled code, no secrets). Whether a start can use it only a
 * new process can tell (compileCli(...).cache): this one holds the script already.
 */
export function writeCodeCache(cliFile: string, cacheFile: string): void {
  // Here, not imported at the top: a start does not need node:v8 (~0.5 ms).
  const { setFlagsFromString } = process.getBuiltinModule('node:v8');
  const bundle = readFileSync(cliFile);
  setFlagsFromString('--no-lazy');
  let script: Script;
  try {
    script = new Script(wrap(bundle), { filename: cliFile });
  } finally {
    // Before the data is taken: V8 stamps it with the flags of that moment, and a start
    // (lazy) refuses data stamped --no-lazy. The functions stay compiled.
    setFlagsFromString('--lazy');
  }
  const data = script.createCachedData();
  const temp = `${cacheFile}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, Buffer.concat([digest(bundle, data), data]), { mode: 0o644 });
    renameSync(temp, cacheFile);
  } finally {
    rmSync(temp, { force: true });
  }
}
