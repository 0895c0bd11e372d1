// The whole table for a config at an instant: what a start, a reload that
// changes the table's shape, a clock step or a resync loads in one transaction.
// Pure: config, time and what to carry over in; the script and its trie out.
import type { ServerConfig } from '../config/types.js';
import type { ServiceMode } from '../mode.js';
import type { BannedCarryOver } from '../nft/ban.js';
import type { UsedSequence } from '../nft/inspect.js';
import { planEntries } from '../plan/entries.js';
import { attachTokens } from '../plan/payload-tokens.js';
import { allElements, emptyTrie } from '../trie/state.js';
import { syncTrie } from '../trie/sync.js';
import { renderRuleset, type AllowedCarryOver } from './render.js';

/** How long a consumed one-time leaf must stay refused: beyond any window it can be live in. */
export function usedTimeoutMs(config: ServerConfig): number {
  const maxPeriod = Math.max(30, ...config.users.map((u) => u.profile.period));
  return (2 * config.skew + 2) * maxPeriod * 1000;
}

/** The table without its elements: equal shapes mean a reload needs no new chains or sets. */
export function tableShape(config: ServerConfig): string {
  return renderRuleset({ config, steps: [], actions: [], usedTimeoutMs: usedTimeoutMs(config), nowMs: 0 });
}

/** What a full load keeps from the table it replaces. */
export interface CarryOver {
  allowed: AllowedCarryOver[];
  /** Sources banned by the brute-force cut-off, with their remaining time. */
  banned?: BannedCarryOver[];
  /** The global mode, from the state dir (`otpknockd mode`). */
  mode?: ServiceMode;
  used: UsedSequence[];
  /** The raw marks of the kernel's `used` set, to resolve through the live trie. */
  usedMarks?: { mark: number; remainingMs: number }[];
}

export function fullRuleset(
  config: ServerConfig,
  nowMs: number,
  carry: CarryOver = { allowed: [], used: [] },
  derive?: Parameters<typeof planEntries>[2],
) {
  const entries = attachTokens(config, planEntries(config, nowMs, derive));
  const sync = syncTrie(emptyTrie(), entries, nowMs);
  const { steps, actions } = allElements(sync.state);
  // A sequence consumed before the reload stays consumed under its new mark.
  // Paths carry the payload token when one is required (`token|ports`); the
  // consumed sequences read back from the kernel are known by their ports, so
  // match on those: a consumed sequence must never become usable again.
  const byPorts = new Map<string, number[]>();
  for (const l of sync.state.leaves.values()) {
    const k = l.entry.ports.join(',');
    byPorts.set(k, [...(byPorts.get(k) ?? []), l.mark]);
  }
  const used = carry.used.flatMap((u) =>
    (byPorts.get(u.ports.join(',')) ?? []).map((leaf) => ({ leaf, remainingMs: u.remainingMs })),
  );
  const script = renderRuleset({
    config,
    steps,
    actions,
    usedTimeoutMs: usedTimeoutMs(config),
    allowed: carry.allowed,
    used,
    nowMs,
    ...(carry.banned === undefined ? {} : { banned: carry.banned }),
    ...(carry.mode === undefined ? {} : { mode: carry.mode }),
  });
  return { script, trie: sync.state, conflicts: sync.conflicts, entries, carriedUsed: used.length };
}
