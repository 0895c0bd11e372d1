// Which knock sequences must be live at a given instant: config × clock → entries.
// Pure: the daemon feeds it the config and the time, the trie turns it into
// kernel elements.
import { nextWindowBoundaryMs, sequenceDeriver, windowAt, type KnockSequences } from '@otpknock/shared';
import type { ServerConfig, UserConfig } from './config/types.js';

/** What completing a sequence does to the user's services. */
export type KnockAction = 'open' | 'close' | 'toggle';

/** One live knock sequence: a user's open or close sequence of one window. */
export interface KnockEntry {
  /** Unique and stable across rotations: `user/window/action`. */
  key: string;
  user: string;
  window: number;
  action: KnockAction;
  ports: number[];
  /** Bit i set: the entry acts on config.services[i]. */
  serviceMask: number;
  /** Consumed by the kernel at first use (every rotating method; static ones repeat). */
  oneTime: boolean;
}

/** Bit mask of the services a user may open, by index in `config.services`. */
export function serviceMaskOf(config: ServerConfig, user: UserConfig): number {
  let mask = 0;
  config.services.forEach((service, index) => {
    if (user.services.includes(service.name)) mask |= 1 << index;
  });
  return mask;
}

/** The windows whose sequences are valid at `nowMs` for a user: current ± skew. */
export function validWindows(user: UserConfig, skew: number, nowMs: number): number[] {
  if (user.profile.method === 'static') return [0];
  const current = windowAt(nowMs, user.profile.period);
  const windows: number[] = [];
  for (let w = Math.max(0, current - skew); w <= current + skew; w++) windows.push(w);
  return windows;
}

type Derive = (user: UserConfig, window: number) => KnockSequences;

/** Derivation without memory: fine for one-shot renders. */
const deriveOnce: Derive = (user, window) => sequenceDeriver(user.profile, user.secret)(window);

/**
 * Derivation that keys each user's HMAC once and remembers the windows it has
 * derived, so a rotation only computes the one new window per user. Forgets
 * windows that are no longer valid.
 */
export function cachedDeriver(): Derive & { prune(keep: (window: number) => boolean): void } {
  const perUser = new Map<UserConfig, { derive: (w: number) => KnockSequences; windows: Map<number, KnockSequences> }>();
  const derive = (user: UserConfig, window: number): KnockSequences => {
    let entry = perUser.get(user);
    if (!entry) {
      entry = { derive: sequenceDeriver(user.profile, user.secret), windows: new Map() };
      perUser.set(user, entry);
    }
    let seq = entry.windows.get(window);
    if (!seq) {
      seq = entry.derive(window);
      entry.windows.set(window, seq);
    }
    return seq;
  };
  derive.prune = (keep: (window: number) => boolean) => {
    for (const entry of perUser.values()) for (const w of entry.windows.keys()) if (!keep(w)) entry.windows.delete(w);
  };
  return derive;
}

/** Every sequence that must be live at `nowMs`, in a deterministic order. */
export function planEntries(config: ServerConfig, nowMs: number, derive: Derive = deriveOnce): KnockEntry[] {
  const entries: KnockEntry[] = [];
  for (const user of config.users) {
    const serviceMask = serviceMaskOf(config, user);
    if (serviceMask === 0) continue;
    const oneTime = user.profile.method !== 'static';
    for (const window of validWindows(user, config.skew, nowMs)) {
      const seq = derive(user, window);
      const base = { user: user.name, window, serviceMask, oneTime };
      if (seq.toggle) {
        entries.push({ ...base, key: `${user.name}/${window}/toggle`, action: 'toggle', ports: seq.open });
      } else {
        entries.push({ ...base, key: `${user.name}/${window}/open`, action: 'open', ports: seq.open });
        entries.push({ ...base, key: `${user.name}/${window}/close`, action: 'close', ports: seq.close });
      }
    }
  }
  return entries;
}

/** The earliest window boundary after `nowMs` among the users' periods. */
export function nextRotationMs(config: ServerConfig, nowMs: number): number {
  const periods = new Set(config.users.filter((u) => u.profile.method !== 'static').map((u) => u.profile.period));
  let next = Number.POSITIVE_INFINITY;
  for (const period of periods) {
    next = Math.min(next, nextWindowBoundaryMs(nowMs, period));
  }
  return next;
}
