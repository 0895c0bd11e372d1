// What the daemon knows and the kernel does not: the status file
// (state_dir/status.json), rewritten after every change of the live table.
// `otpknockd status` joins it with what it reads from the kernel.
import { windowAt } from '@otpknock/shared';
import type { ServerConfig } from '../config/types.js';
import type { TrieState } from '../trie/state.js';

export const STATUS_FILE = 'status.json';

export interface StatusSnapshot {
  version: 1;
  pid: number;
  startedAt: string;
  updatedAt: string;
  config: string;
  table: string;
  skew: number;
  /** Current window per period in use (seconds → window). */
  currentWindows: Record<string, number>;
  /** Users with live sequences, with their windows and which secrets are live. */
  users: { name: string; windows: number[]; sources: string[]; services: string[] }[];
  /** Users defined but without live sequences (disabled, or no services). */
  inactiveUsers: string[];
  liveSequences: number;
}

export function statusSnapshot(
  config: ServerConfig,
  trie: TrieState,
  nowMs: number,
  proc: { pid: number; startedMs: number },
): StatusSnapshot {
  const perUser = new Map<string, { windows: Set<number>; sources: Set<string> }>();
  for (const leaf of trie.leaves.values()) {
    const e = leaf.entry;
    let u = perUser.get(e.user);
    if (!u) perUser.set(e.user, (u = { windows: new Set(), sources: new Set() }));
    u.windows.add(e.window);
    u.sources.add(e.source ?? 'current');
  }
  const currentWindows: Record<string, number> = {};
  for (const u of config.users)
    if (u.profile.method !== 'static') currentWindows[String(u.profile.period)] = windowAt(nowMs, u.profile.period);
  return {
    version: 1,
    pid: proc.pid,
    startedAt: new Date(proc.startedMs).toISOString(),
    updatedAt: new Date(nowMs).toISOString(),
    config: config.file,
    table: config.table,
    skew: config.skew,
    currentWindows,
    users: [...perUser]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, u]) => ({
        name,
        windows: [...u.windows].sort((a, b) => a - b),
        sources: [...u.sources].sort(),
        services: config.users.find((x) => x.name === name)?.services ?? [],
      })),
    inactiveUsers: config.users.filter((u) => !perUser.has(u.name)).map((u) => u.name),
    liveSequences: trie.leaves.size,
  };
}
