// Which knock sequences must be live at a given instant: config × clock → entries.
// Pure: the daemon feeds it the config and the time, the trie turns it into
// kernel elements.
import {
  deriveCodeSequences,
  nextWindowBoundaryMs,
  sequenceDeriver,
  totpCodeOf,
  windowAt,
  windowStartMs,
  type KnockSequences,
} from '@otpknock/shared';
import type { ServerConfig, UserConfig } from '../config/types.js';
import { BREAK_GLASS_USER } from '../config/break-glass.js';

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
  /**
   * With `payload.require: token`: the payload token bytes the kernel must see
   * in each datagram, as an nft hex value (set by payload-match.ts).
   */
  token?: string;
  /**
   * Which of the user's secrets it comes from: absent for the current one, `grace` for
   * an older secret during a rotation's grace period, `code` for the authenticator-app
   * code mode. Part of `key`.
   */
  source?: 'grace' | 'code';
  /**
   * Unix ms at which the sequence stops being valid (its window leaves current ± skew,
   * or its grace ends); the kernel drops it then by itself. Absent: never (static).
   */
  expiresMs?: number;
  /** The window length (rotating methods): a first step may outlive the sequence by one. */
  periodMs?: number;
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

/** Entry cache keys are window × GRACE_SLOTS + number of live grace secrets. */
const GRACE_SLOTS = 1024;

type Derive = ((user: UserConfig, window: number) => KnockSequences) & {
  /** A user's entries of one window, kept by a cached deriver so a rotation rebuilds only the new window. */
  entries?: Map<UserConfig, Map<number, KnockEntry[]>>;
};

/**
 * A user as seen with one of its grace secrets: the same object for the same
 * (user, secret), so a cached deriver keeps its keyed HMAC across rotations.
 */
const graceViews = new WeakMap<UserConfig, Map<Uint8Array, UserConfig>>();
function graceView(user: UserConfig, secret: Uint8Array): UserConfig {
  let views = graceViews.get(user);
  if (!views) graceViews.set(user, (views = new Map()));
  let view = views.get(secret);
  if (!view) views.set(secret, (view = { ...user, secret, graceSecrets: [] }));
  return view;
}

/** Code mode: the sequence derived from the authenticator-app code of the window. */
const deriveCode: Derive = (user, window) =>
  deriveCodeSequences(user.profile, totpCodeOf(user.secret, user.profile, window), window);

/** Derivation without memory: fine for one-shot renders. */
const deriveOnce: Derive = (user, window) => sequenceDeriver(user.profile, user.secret)(window);

/**
 * Derivation that keys each user's HMAC once and remembers the windows it has
 * derived, so a rotation only computes the one new window per user. Forgets
 * windows that are no longer valid.
 */
export function cachedDeriver(): Derive & {
  prune(keep: (window: number) => boolean): void;
  entries: Map<UserConfig, Map<number, KnockEntry[]>>;
} {
  const perUser = new Map<
    UserConfig,
    { derive: (w: number) => KnockSequences; windows: Map<number, KnockSequences> }
  >();
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
  const entries = new Map<UserConfig, Map<number, KnockEntry[]>>();
  const prune = (keep: (window: number) => boolean) => {
    for (const entry of perUser.values()) for (const w of entry.windows.keys()) if (!keep(w)) entry.windows.delete(w);
    for (const byWindow of entries.values())
      for (const k of byWindow.keys()) if (!keep(Math.floor(k / GRACE_SLOTS))) byWindow.delete(k);
  };
  return Object.assign(derive, { prune, entries });
}

/** Every sequence that must be live at `nowMs`, in a deterministic order. */
export function planEntries(config: ServerConfig, nowMs: number, derive: Derive = deriveOnce): KnockEntry[] {
  const entries: KnockEntry[] = [];
  for (const user of config.users) {
    if (user.disabled) continue;
    const serviceMask = serviceMaskOf(config, user);
    if (serviceMask === 0) continue;
    const oneTime = user.profile.method !== 'static';
    // Grace secrets end exactly at their `until`: judged at every rotation.
    const grace = (user.graceSecrets ?? []).filter((g) => g.untilMs > nowMs);
    const codeMode = user.codeMode === true && user.profile.method !== 'static';
    let cache = derive.entries?.get(user);
    if (derive.entries && !cache) derive.entries.set(user, (cache = new Map()));
    for (const window of validWindows(user, config.skew, nowMs)) {
      // Same user object, window and set of live grace secrets: the same entries
      // (same objects, so the trie recognises them at a glance).
      const cacheKey = window * GRACE_SLOTS + grace.length;
      const cached = cache?.get(cacheKey);
      if (cached) {
        for (const e of cached) entries.push(e);
        continue;
      }
      const first = entries.length;
      // Valid while the window is within current ± skew: until the start of window + skew + 1.
      const windowEnd = oneTime ? windowStartMs(window + config.skew + 1, user.profile.period) : undefined;
      const entry = (
        action: KnockAction,
        ports: number[],
        source: 'grace' | 'code' | undefined,
        tag: string,
        end: number | undefined,
      ): KnockEntry => {
        // Built field by field: tens of thousands per rotation at scale.
        const e: KnockEntry = {
          key: `${user.name}/${window}/${action}${source ? `/${source}${tag}` : ''}`,
          user: user.name,
          window,
          action,
          ports,
          serviceMask,
          oneTime: oneTime || source === 'code',
        };
        if (source) e.source = source;
        if (end !== undefined) e.expiresMs = end;
        if (oneTime || source === 'code') e.periodMs = user.profile.period * 1000;
        return e;
      };
      const add = (seq: KnockSequences, source?: 'grace', tag = '', untilMs?: number) => {
        const end =
          windowEnd === undefined ? untilMs : untilMs === undefined ? windowEnd : Math.min(windowEnd, untilMs);
        if (seq.toggle) entries.push(entry('toggle', seq.open, source, tag, end));
        else entries.push(entry('open', seq.open, source, tag, end), entry('close', seq.close, source, tag, end));
      };
      add(derive(user, window));
      grace.forEach((g, i) => add(derive(graceView(user, g.secret), window), 'grace', String(i), g.untilMs));
      if (codeMode) {
        // Drawn without the exclude list (a person without their profile does not know
        // it): a sequence on an excluded port can never arrive, so it is not loaded.
        const open = deriveCode(user, window).open;
        if (!open.some((p) => user.profile.exclude.includes(p)))
          entries.push(entry('open', open, 'code', '', windowEnd));
      }
      cache?.set(cacheKey, entries.slice(first));
    }
  }
  // Break-glass: static and repeatable, live whatever the clock says.
  const bg = config.breakGlass;
  if (bg !== undefined) {
    let serviceMask = 0;
    config.services.forEach((s, i) => {
      if (bg.services.includes(s.name)) serviceMask |= 1 << i;
    });
    entries.push({
      key: `${BREAK_GLASS_USER}/0/open`,
      user: BREAK_GLASS_USER,
      window: 0,
      action: 'open',
      ports: bg.ports,
      serviceMask,
      oneTime: false,
    });
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
  // The end of a rotation's grace (a static user's too) is a change of plan.
  for (const u of config.users)
    for (const g of u.graceSecrets ?? []) if (g.untilMs > nowMs) next = Math.min(next, g.untilMs);
  return next;
}
