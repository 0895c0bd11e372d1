// The profile store: one JSON file (0600) per user, or the file given with --config.
// Reading is a plain read of that JSON (every knock does it; it stays small and fast).
// Writing (add, import, remove) replaces the file atomically and durably under a lock
// file, both from @otpknock/shared/safe-file.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { withFileLock, writeFileAtomic } from '@otpknock/shared/safe-file';
import { KnockError, EXIT } from './errors.js';
import { readPrivateFile } from './private-file.js';
import { emptyStore, parseStore, type StoreData } from './profile.js';

/** The store lives in `$XDG_CONFIG_HOME/otpknock/`. */
export const PROJECT_NAME = 'otpknock';
export const STORE_FILE_NAME = 'profiles.json';

/**
 * Where the per-user store lives: `$XDG_CONFIG_HOME/otpknock/profiles.json`, by
 * default `~/.config/otpknock/profiles.json` (where knock's earlier writer, conf, put it).
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
  const busy = () =>
    new KnockError(EXIT.USAGE, `the profile store ${file} is being changed by another knock command`, {
      hint: `wait and try again; if none is running, remove ${file}.lock`,
    });
  return withFileLock(`${file}.lock`, { busy, waitMs: 10_000 }, () => writeStore(file, change));
}

async function writeStore<T>(file: string, change: (data: StoreData) => T): Promise<T> {
  const data = readStore(file);
  const result = change(data);
  await writeFileAtomic(file, formatStore(data), { mode: 0o600 });
  return result;
}

/** The store's text: tab-indented JSON, as earlier knock versions (through conf) wrote it. */
export function formatStore(data: StoreData): string {
  return JSON.stringify({ version: data.version, profiles: data.profiles }, undefined, '\t');
}
