// state_dir/fleet.json: what this server last read from the fleet directory, and how
// the directory is doing. The daemon loads its fleet users from it (so a restart with
// the directory down keeps them: never a lockout), `otpknockd status` shows it. It
// holds this server's keys K_S: mode 0600, read with the rule for secrets.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SECRET_FILE_MAX_BYTES } from '@otpknock/shared';
import { readFileInfo, writeFileAtomic } from '@otpknock/shared/safe-file';
import { secretFileProblem } from '../config/secret-file.js';
import { parseServerUserRecord, type ServerUserRecord } from './directory.js';

export const FLEET_CACHE_FILE = 'fleet.json';
/** Room for some 10,000 records. */
const CACHE_MAX_BYTES = 16 * 1024 * 1024;

export interface FleetCache {
  version: 1;
  fleet: string;
  server: string;
  /** The directory's revision the users are from (0: never read). */
  revision: number;
  /** ISO time of the last linearizable read that confirmed the users; absent: never. */
  confirmedAt?: string;
  /** ISO time since when the directory could not be reached; absent: it can. */
  unreachableSince?: string;
  /** The last error talking to the directory. */
  lastError?: string;
  /** The daemon's pid that wrote it. */
  pid: number;
  users: ServerUserRecord[];
}

export const fleetCachePath = (stateDir: string): string => join(stateDir, FLEET_CACHE_FILE);

/** Pure: the cache's text → the cache, or why it cannot be used. Bad records are left out. */
export function parseFleetCache(text: string): FleetCache | { problem: string } {
  let d: Partial<FleetCache>;
  try {
    d = JSON.parse(text) as Partial<FleetCache>;
  } catch {
    return { problem: 'not JSON' };
  }
  if (typeof d !== 'object' || d === null || d.version !== 1 || !Array.isArray(d.users))
    return { problem: 'not a version 1 fleet cache' };
  const users: ServerUserRecord[] = [];
  for (const u of d.users) {
    const r = parseServerUserRecord(JSON.stringify(u), `users/${(u as { name?: string })?.name ?? '?'}`);
    if (!('problem' in r)) users.push(r);
  }
  return { ...(d as FleetCache), users };
}

/** The cache in `stateDir`, or undefined when there is none yet or it cannot be used (`onProblem` says why). */
export async function readFleetCache(
  stateDir: string,
  daemonUid: number,
  onProblem: (message: string) => void = () => undefined,
): Promise<FleetCache | undefined> {
  const file = fleetCachePath(stateDir);
  let info;
  try {
    info = await readFileInfo(file, Math.max(SECRET_FILE_MAX_BYTES, CACHE_MAX_BYTES));
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') onProblem(`cannot read ${file}: ${(e as Error).message}`);
    return undefined;
  }
  const problem = info.text === undefined ? `${file} is too large` : secretFileProblem(file, info, daemonUid);
  if (problem !== undefined) {
    onProblem(problem.includes('too large') ? problem : problem);
    return undefined;
  }
  const cache = parseFleetCache(info.text!);
  if ('problem' in cache) {
    onProblem(`${file}: ${cache.problem}`);
    return undefined;
  }
  return cache;
}

export async function writeFleetCache(stateDir: string, cache: FleetCache): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(fleetCachePath(stateDir), `${JSON.stringify(cache)}\n`, { mode: 0o600 });
}
