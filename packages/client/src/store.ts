// The profile store: one JSON file (0600) per user, or the file given with --config.
// Reading is a plain read of that JSON (every knock does it; it stays small and fast).
// Writing goes through `conf` (atomic write, file mode), loaded only by the commands
// that change profiles.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { withFileLock } from '@otpknock/shared/safe-file';
import { KnockError, EXIT } from './errors.js';
import { readPrivateFile } from './private-file.js';
import { emptyStore, parseStore, type StoreData } from './profile.js';

/** conf's projectName: the store lives in `$XDG_CONFIG_HOME/otpknock/`. */
export const PROJECT_NAME = 'otpknock';
export const STORE_FILE_NAME = 'profiles.json';

/**
 * Where the per-user store lives: `$XDG_CONFIG_HOME/otpknock/profiles.json`, by
 * default `~/.config/otpknock/profiles.json` (the place conf chooses on Linux).
 */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const configHome = env['XDG_CONFIG_HOME'] || join(home, '.config');
  return join(configHome, PROJECT_NAME, STORE_FILE_NAME);
}

/** The store to use: `--config FILE` or the default. */
export function storePath(configOption: string | undefined): string {
  return configOption === undefined ? defaultStorePath() : resolve(configOption);
}

/** Largest profile store read: thousands of profiles fit in far less. */
export const STORE_MAX_BYTES = 4 * 1024 * 1024;

/** Reads the store. A missing store is an empty one; a readable-by-others or oversized store is refused. */
export function readStore(file: string): StoreData {
  const text = readPrivateFile(file, 'profile store', STORE_MAX_BYTES, true);
  return text === undefined ? emptyStore() : parseStore(text, file);
}

/**
 * Changes the store: reads it (with the same checks as readStore), lets `change`
 * edit the data, and writes it back atomically with mode 0600. Returns what `change`
 * returned.
 */
export async function updateStore<T>(file: string, change: (data: StoreData) => T): Promise<T> {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Two commands changing the store at once (a provisioning loop run in parallel) would
  // each write back what they read, and one change would be lost.
  const busy = () => new KnockError(EXIT.USAGE, `the profile store ${file} is being changed by another knock command`, { hint: `wait and try again; if none is running, remove ${file}.lock` });
  return withFileLock(`${file}.lock`, { busy, waitMs: 10_000 }, () => writeStore(file, dir, change));
}

async function writeStore<T>(file: string, dir: string, change: (data: StoreData) => T): Promise<T> {
  const data = readStore(file);
  const result = change(data);
  const Conf = await loadConf();
  const ext = extname(file);
  const conf = new Conf<Record<string, unknown>>({
    projectName: PROJECT_NAME,
    cwd: dir,
    configName: basename(file, ext),
    fileExtension: ext.replace(/^\./, ''),
    configFileMode: 0o600,
    accessPropertiesByDotNotation: false, // profile names contain dots
    clearInvalidConfig: false,
  });
  if (conf.path !== resolve(file)) throw new Error(`conf would write ${conf.path}, not ${file}`);
  conf.store = { version: data.version, profiles: data.profiles };
  return result;
}

/**
 * The bundle (dist/knock.js) does not contain conf: it (with ajv and semver) is over
 * half the client's code, and parsing it cost every `knock HOST` ~8 ms although only
 * add/import/remove use it. scripts/build.mjs bundles it on its own into dist/conf.mjs,
 * beside knock.js, and defines OTPKNOCK_CONF_MODULE as './conf.mjs'; run from sources
 * (tests), it is undefined and the package is imported. The specifier is a variable so
 * that esbuild leaves the import alone.
 */
declare const OTPKNOCK_CONF_MODULE: string | undefined;

async function loadConf(): Promise<typeof import('conf').default> {
  const specifier = typeof OTPKNOCK_CONF_MODULE === 'string' ? OTPKNOCK_CONF_MODULE : 'conf';
  try {
    const mod = (await import(specifier)) as typeof import('conf');
    return mod.default;
  } catch (error) {
    throw new KnockError(EXIT.USAGE, `cannot load the conf package to write the profile store: ${(error as Error).message}`, {
      hint: 'knock.js needs conf.mjs beside it (both in the package\'s dist/, made by pnpm build); reinstall the package.',
    });
  }
}
