// Reading state_dir/refusals.json (written by the daemon, refusals/watch.ts) for
// `otpknockd why` and `status`; absent or damaged reads as nothing seen.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REFUSALS_FILE, type RefusalsFile } from './book.js';

export async function readRefusals(stateDir: string): Promise<RefusalsFile | null> {
  try {
    const file = JSON.parse(await readFile(join(stateDir, REFUSALS_FILE), 'utf8')) as RefusalsFile;
    return file.version === 1 && Array.isArray(file.sources) && Array.isArray(file.bans) ? file : null;
  } catch {
    return null;
  }
}

/** Milliseconds as a person reads a time left: 9m58s, 42s, 1h05m. */
export function timeLeft(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
