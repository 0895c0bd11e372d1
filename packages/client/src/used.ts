// Remembers, per secret, the newest window this client sent an open sequence for, so
// that a retry or a second `knock` in the same window uses the next window instead of
// a sequence the server has already consumed (see window.ts). Kept in a small state
// file of its own, not in the profile store: it changes on every knock.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomicSync } from '@otpknock/shared/safe-file';

/** `$XDG_STATE_HOME/otpknock/used-windows.json`, by default under `~/.local/state`. */
export function usedWindowsPath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const stateHome = env['XDG_STATE_HOME'] || join(home, '.local', 'state');
  return join(stateHome, 'otpknock', 'used-windows.json');
}

/**
 * The state's key for a secret and the knock parameters: a short one-way hash (the file
 * never holds secrets). With the parameters in it, a corrected profile (another range or
 * exclude list) starts afresh instead of waiting out the windows its wrong knocks used.
 */
export function secretKey(secretBase32: string, knock?: object): string {
  const hash = createHash('sha256')
    .update('otpknock used-window\0')
    .update(secretBase32.replace(/[\s=]/g, '').toUpperCase());
  if (knock !== undefined) hash.update('\0').update(JSON.stringify(knock));
  return hash.digest('hex').slice(0, 24);
}

export interface UsedEntry {
  window: number;
  /** Unix ms when it was recorded; entries older than a day are dropped. */
  at: number;
}

type UsedState = Record<string, UsedEntry>;

const MAX_AGE_MS = 24 * 3600 * 1000;

function readState(file: string): UsedState {
  try {
    const data: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as UsedState) : {};
  } catch {
    return {}; // missing or damaged: nothing remembered, the server's skew still covers a retry
  }
}

/** The newest window recorded for this key, if any. */
export function lastUsedWindow(file: string, key: string): number | undefined {
  return lastUsed(file, key)?.window;
}

/** The newest window recorded for this key and when (unix ms) it was recorded, if any. */
export function lastUsed(file: string, key: string): UsedEntry | undefined {
  const entry = readState(file)[key];
  return entry && Number.isSafeInteger(entry.window) && Number.isFinite(entry.at) ? entry : undefined;
}

/** Records a sent window. Best effort: a read-only home only loses the memory. */
export function recordUsedWindow(file: string, key: string, window: number, now: number = Date.now()): boolean {
  try {
    const state = readState(file);
    for (const [k, v] of Object.entries(state)) if (!(now - v.at < MAX_AGE_MS)) delete state[k];
    const previous = state[key]?.window;
    state[key] = { window: previous !== undefined && previous > window ? previous : window, at: now };
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Atomic and private, not fsynced: it is written on every knock, and losing it in a
    // power cut costs at most a retry (the server's skew covers it).
    writeFileAtomicSync(file, JSON.stringify(state) + '\n', { fsync: false });
    return true;
  } catch {
    return false;
  }
}
