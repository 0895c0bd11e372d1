// `knock`'s executable (dist/knock.js): runs the bundled CLI (dist/knock-cli.js) through
// V8's code cache (dist/knock-cli.v8cache, code-cache.ts) when one made by this Node for
// this very bundle lies beside it. The package's postinstall makes it, and so does the
// build; by hand: node -e "require('DIST/knock.js').writeCodeCache()". Without a usable
// one (scripts disabled, another Node since, a damaged file) knock compiles the bundle
// as Node would: slower to start by a few ms, nothing else changes.
// Built as CommonJS (scripts/build.mjs); loads only Node's modules that knock loads anyway.
import { join } from 'node:path';
import * as cache from './code-cache.js';

export const CLI_FILE = join(__dirname, 'knock-cli.js');
export const CACHE_FILE = join(__dirname, 'knock-cli.v8cache');

/** Compiles the bundle beside this file (with its cache when usable); `.cache` says which. */
export const compileCli = () => cache.compileCli(CLI_FILE, CACHE_FILE);

/** Makes the code cache beside this file with the running Node. */
export const writeCodeCache = () => cache.writeCodeCache(CLI_FILE, CACHE_FILE);

// Run as `knock`; required (postinstall, build, tests) it only exports the above.
if (require.main === module) cache.runCli(compileCli().script, CLI_FILE, __dirname, require);
