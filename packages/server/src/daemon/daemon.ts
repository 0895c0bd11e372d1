// The imperative shell around the pure core: keeps the kernel's knock data in
// step with the clock and the config. Every change is one nft transaction; if
// it fails, the last good state stays in the kernel and in memory, and we retry.
import type { ServerConfig } from '../config/types.js';
import { allElements, emptyTrie, type TrieState } from '../trie/state.js';
import { syncTrie, type TrieSync } from '../trie/sync.js';
import type { Logger } from '../log.js';
import { cachedDeriver, nextRotationMs, planEntries, type KnockEntry } from '../plan/entries.js';
import type { NftDriver } from '../nft/driver.js';
import { allowedFromJson, isOurTable, usedMarksFromJson, usedSequencesFromJson, type UsedSequence } from '../nft/inspect.js';
import { changeOps, renderChanges, renderRuleset, type AllowedCarryOver } from '../ruleset/render.js';
import { probeTimeoutUpdates } from '../nft/timeout-update.js';
import { bannedFromJson, type BannedCarryOver } from '../nft/ban.js';
import { attachTokens } from '../plan/payload-tokens.js';
import { readMode, type ServiceMode } from '../mode.js';
import { OtpknockError } from '@otpknock/shared';
import { readConsumed, writeConsumed } from '../state/consumed-file.js';
import type { TableLocks } from '../state/table-lock.js';

/** Longest a timer sleeps before re-reading the clock, so clock steps are noticed. */
const MAX_SLEEP_MS = 10_000;
const RETRY_DELAYS_MS = [1_000, 2_000, 5_000, 10_000];
/**
 * A rotation is computed this long before its boundary (plan, trie, script), so
 * that at the boundary only the nft transaction runs.
 */
export const PREPARE_LEAD_MS = 3_000;
/**
 * A prepared rotation is loaded this long before its boundary, so that the new
 * window's sequences are in the kernel when it starts: a client that knocks in
 * the first millisecond of a window opens. The new window becomes valid this
 * much early; the expiring one still ends at its boundary (its elements carry
 * their own timeouts).
 */
export const APPLY_LEAD_MS = 1_000;

export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): { cancel(): void };
  /** A clock that never steps (ms), to notice when the wall clock does; absent: not checked. */
  monotonic?(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

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
  const used = carry.used.flatMap((u) => (byPorts.get(u.ports.join(',')) ?? []).map((leaf) => ({ leaf, remainingMs: u.remainingMs })));
  const script = renderRuleset({ config, steps, actions, usedTimeoutMs: usedTimeoutMs(config), allowed: carry.allowed, used, nowMs,
    ...(carry.banned === undefined ? {} : { banned: carry.banned }),
    ...(carry.mode === undefined ? {} : { mode: carry.mode }),
  });
  return { script, trie: sync.state, conflicts: sync.conflicts, entries, carriedUsed: used.length };
}

/** Hook points for the team features (user store, status file, audit); see run.ts. */
export interface DaemonHooks {
  /** At each boundary, before rotating: a config to rotate to instead (the user store changed), or undefined. */
  beforeRotation?: () => Promise<ServerConfig | undefined>;
  /** After every committed change of the live table. Must not throw. */
  onCommit?: (state: { config: ServerConfig; trie: TrieState; nowMs: number }) => void;
}

/** What a Daemon is given besides its config, nft and logger. */
export interface DaemonOptions {
  /**
   * Ask the kernel at start, in our table, whether it updates element timeouts in
   * place (then a rotation lengthens shared prefixes with one operation, not three).
   * Off in unit tests, whose fake nft would count the probe's scripts.
   */
  probeKernelAtStart?: boolean;
  /**
   * Keep the consumed one-time sequences in state_dir (consumed.json), written at
   * every consume the audit sees and at stop, read at start: a used knock stays
   * used across a clean stop, a restart and a reboot inside its window.
   */
  persistConsumed?: boolean;
  /** One daemon per table: the table's lock is held while we own it, released at stop. */
  tableLocks?: TableLocks;
}

/** How far the wall clock may drift from the monotonic one between two changes before we call it a step. */
const CLOCK_STEP_TOLERANCE_MS = 2_000;

/**
 * A change of the live table, planned for the instant `target`: the trie already
 * holds it, `sync.rollback()` undoes that. A rotation is planned ahead of its
 * boundary; a reload or a late rotation is planned and applied at once.
 */
interface PlannedChange {
  target: number;
  config: ServerConfig;
  derive: ReturnType<typeof cachedDeriver>;
  sync: TrieSync;
  script: string;
  ops: number;
  computeMs: number;
}

export class Daemon {
  hooks: DaemonHooks = {};
  private trie: TrieState = emptyTrie();
  private prepared: PlannedChange | undefined;
  private timeoutUpdates = false;
  /**
   * Sequences the kernel consumed, by their ports, remembered across full loads for as
   * long as `used` would remember them (monotonic deadline): a full load renumbers the
   * leaves, and after a clock step back a window whose elements had expired comes back
   * with fresh kernel state, so its used sequences must be marked used again.
   */
  private readonly consumed = new Map<string, { ports: number[]; untilMono: number }>();
  /** Wall and monotonic time of the last change of the table, to notice clock steps. */
  private anchor: { wall: number; mono: number } | undefined;
  /** The instant the live table was planned for (its windows). */
  private plannedAtMs = 0;
  private timer: { cancel(): void } | undefined;
  private queue: Promise<void> = Promise.resolve();
  private failures = 0;
  private stopped = false;
  private reloadQueued = false;
  /** Remembers derived windows; replaced with the config, since it keys on its users. */
  private derive = cachedDeriver();
  /** consumed.json is being written; `saveAgain`: it changed meanwhile. */
  private saving: Promise<void> | undefined;
  private saveAgain = false;

  constructor(
    private config: ServerConfig,
    private readonly nft: NftDriver,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
    private readonly options: DaemonOptions = {},
  ) {}

  get currentConfig(): ServerConfig {
    return this.config;
  }

  /**
   * Refuses to take over a table of the same name that someone else made;
   * from our own, reads what a full load must keep.
   */
  private async assertTableIsOurs(table: string): Promise<CarryOver> {
    const listing = await this.nft.listText(['table', 'inet', table]);
    if (listing === null) return { allowed: [], used: [] };
    if (!isOurTable(listing)) {
      throw new OtpknockError('E_TABLE_TAKEN', `table inet ${table} already exists and was not made by otpknockd`, {
        hint: `choose another name with "table:" in the config, or remove that table if it is a leftover (nft delete table inet ${table})`,
      });
    }
    const doc = await this.nft.listJson(['table', 'inet', table]);
    return { allowed: allowedFromJson(doc), used: usedSequencesFromJson(doc), usedMarks: usedMarksFromJson(doc), banned: bannedFromJson(doc) };
  }

  private mono(): number {
    return this.clock.monotonic?.() ?? this.clock.now();
  }

  /**
   * What a full load must mark used: the kernel's consumed sequences (by the ports of
   * the leaves we know, or walked through the step map), and those remembered from
   * earlier loads. Remembers them all.
   */
  private consumedToCarry(fromKernel: UsedSequence[], usedMarks: { mark: number; remainingMs: number }[]): UsedSequence[] {
    this.rememberFromKernel(fromKernel, usedMarks);
    const now = this.mono();
    return [...this.consumed.values()].map((c) => ({ ports: c.ports, remainingMs: c.untilMono - now }));
  }

  /** Remembers a consumed sequence for `remainingMs` more (never shortens what is remembered). */
  private rememberConsumed(ports: number[], remainingMs: number): void {
    const now = this.mono();
    for (const [k, c] of this.consumed) if (c.untilMono <= now) this.consumed.delete(k);
    const key = ports.join(',');
    const untilMono = now + remainingMs;
    if ((this.consumed.get(key)?.untilMono ?? 0) < untilMono) this.consumed.set(key, { ports, untilMono });
  }

  /** Remembers what the kernel's `used` set holds: by ports, or by marks of the live trie. */
  private rememberFromKernel(fromKernel: UsedSequence[], usedMarks: { mark: number; remainingMs: number }[]): void {
    for (const u of fromKernel) this.rememberConsumed(u.ports, u.remainingMs);
    if (usedMarks.length === 0) return;
    const byMark = new Map<number, number[]>();
    for (const l of this.trie.leaves.values()) byMark.set(l.mark >>> 0, l.entry.ports);
    for (const u of usedMarks) {
      const ports = byMark.get(u.mark >>> 0);
      if (ports) this.rememberConsumed(ports, Math.max(u.remainingMs, 1000));
    }
  }

  /**
   * A one-time sequence the kernel just consumed (seen by the audit): remembered
   * and written to state_dir, so that even a crash followed by a reboot inside
   * its window cannot make it usable again.
   */
  noteConsumed(ports: readonly number[]): void {
    this.rememberConsumed([...ports], usedTimeoutMs(this.config));
    void this.saveConsumed();
  }

  /** Writes what we remember to consumed.json; writes coalesce, one at a time. Never throws. */
  private saveConsumed(): Promise<void> {
    if (this.options.persistConsumed !== true) return Promise.resolve();
    if (this.saving) {
      this.saveAgain = true;
      return this.saving;
    }
    const write = async (): Promise<void> => {
      do {
        this.saveAgain = false;
        const mono = this.mono();
        const wall = this.clock.now();
        const records = [...this.consumed.values()].filter((c) => c.untilMono > mono).map((c) => ({ ports: c.ports, untilMs: wall + (c.untilMono - mono) }));
        try {
          await writeConsumed(this.config.stateDir, records);
        } catch (e) {
          this.log.warn('state', `cannot keep the consumed sequences in ${this.config.stateDir}: ${(e as Error).message}; a restart may forget them`);
        }
      } while (this.saveAgain);
    };
    this.saving = write().finally(() => (this.saving = undefined));
    return this.saving;
  }

  /** At start: the sequences consumed before the last stop, from consumed.json. */
  private async rememberFromFile(stateDir: string): Promise<void> {
    if (this.options.persistConsumed !== true) return;
    const wall = this.clock.now();
    for (const r of await readConsumed(stateDir, wall, (m) => this.log.warn('state', m))) this.rememberConsumed(r.ports, r.untilMs - wall);
  }

  private markCommitted(): void {
    const mono = this.clock.monotonic?.();
    this.anchor = mono === undefined ? undefined : { wall: this.clock.now(), mono };
  }

  /** How far the wall clock stepped since the last change (0: it did not). */
  private clockStep(): number {
    const mono = this.clock.monotonic?.();
    if (mono === undefined || this.anchor === undefined) return 0;
    const drift = this.clock.now() - this.anchor.wall - (mono - this.anchor.mono);
    return Math.abs(drift) > CLOCK_STEP_TOLERANCE_MS ? drift : 0;
  }

  /**
   * The instant a change planned now is for: now, or the boundary whose window was
   * loaded ahead of it (APPLY_LEAD_MS), so that a reload in that second keeps it.
   */
  private planInstant(): number {
    const now = this.clock.now();
    return this.plannedAtMs > now && this.plannedAtMs <= now + APPLY_LEAD_MS + 5 ? this.plannedAtMs : now;
  }

  /** Forgets a rotation computed ahead, putting the trie back as it was. */
  private discardPrepared(): void {
    this.prepared?.sync.rollback();
    this.prepared = undefined;
  }

  /** Plans the table for the instant `target` (trie and script); nothing is sent yet. */
  private planChange(config: ServerConfig, derive: ReturnType<typeof cachedDeriver>, target: number): PlannedChange {
    const started = performance.now();
    const entries = attachTokens(config, planEntries(config, target, derive));
    const sync = syncTrie(this.trie, entries, target);
    const opts = { timeoutUpdates: this.timeoutUpdates };
    // Element timeouts count from when the script is meant to load: APPLY_LEAD_MS
    // before a boundary for a rotation, at once for anything planned for now.
    const loadAt = Math.min(target, Math.max(this.clock.now(), target - APPLY_LEAD_MS));
    const script = renderChanges(config.table, sync.changes, loadAt, opts);
    return { target, config, derive, sync, script, ops: changeOps(sync.changes, opts), computeMs: performance.now() - started };
  }


  /** Loads the whole table for `config`, keeping addresses that are allowed right now. */
  private async loadFull(config: ServerConfig, reason: string): Promise<void> {
    this.discardPrepared();
    const started = performance.now();
    const carried = await this.assertTableIsOurs(config.table);
    carried.mode = readMode(config.stateDir); // the mode survives reloads and restarts
    if (reason === 'start') await this.rememberFromFile(config.stateDir);
    carried.used = this.consumedToCarry(carried.used, carried.usedMarks ?? []);
    const derive = config === this.config ? this.derive : cachedDeriver();
    const plannedAt = this.clock.now();
    const full = fullRuleset(config, plannedAt, carried, derive);
    this.reportConflicts(full.conflicts);
    await this.nft.apply(full.script);
    if (reason === 'start' && this.options.probeKernelAtStart === true) {
      // Before the start is announced: nothing should see the probe's set come and go.
      this.timeoutUpdates = await probeTimeoutUpdates(this.nft, config.table);
    }
    this.trie = full.trie;
    this.plannedAtMs = plannedAt;
    this.config = config;
    this.derive = derive;
    this.failures = 0;
    this.markCommitted();
    this.hooks.onCommit?.({ config, trie: this.trie, nowMs: this.clock.now() });
    this.log.info(reason, `loaded table inet ${config.table}`, {
      users: config.users.length,
      services: config.services.length,
      sequences: full.entries.length - full.conflicts.length,
      carried_allowed: carried.allowed.length,
      carried_used: full.carriedUsed,
      ...(reason === 'start' && this.options.probeKernelAtStart === true ? { timeout_updates: this.timeoutUpdates } : {}),
      took_ms: Math.round(performance.now() - started),
    });
  }

  private reportConflicts(conflicts: { entry: KnockEntry; reason: string }[]): void {
    for (const c of conflicts) {
      this.log.warn('conflict', `sequence ${c.entry.key} left out: ${c.reason}`, { user: c.entry.user, window: c.entry.window });
    }
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async start(): Promise<void> {
    await this.options.tableLocks?.hold(this.config.table);
    await this.enqueue(() => this.loadFull(this.config, 'start'));
    this.schedule();
  }

  /** Applies a new config. A failure leaves the old config and rules in place. */
  reload(next: () => Promise<ServerConfig>): Promise<void> {
    if (this.reloadQueued) return this.queue; // a storm of SIGHUPs coalesces into one reload
    this.reloadQueued = true;
    return this.enqueue(async () => {
      this.reloadQueued = false;
      if (this.stopped) return;
      this.discardPrepared();
      let config: ServerConfig;
      try {
        config = await next();
      } catch (err) {
        this.log.error('reload', `new config refused, still running the old one: ${(err as Error).message}`);
        return;
      }
      try {
        if (config.table !== this.config.table) {
          const old = this.config.table;
          await this.options.tableLocks?.hold(config.table);
          try {
            await this.loadFull(config, 'reload');
          } catch (err) {
            this.options.tableLocks?.release(config.table);
            throw err;
          }
          await this.nft.deleteTable(old).catch(() => undefined);
          this.options.tableLocks?.release(old);
        } else if (tableShape(config) === tableShape(this.config)) {
          // Only sequences changed (users, secrets, profiles): move the live
          // table there element by element, so knock progress, grants and
          // consumed sequences all stay. If the kernel refuses that (an element
          // gone behind our back), load the whole table instead.
          await this.syncTo(config, cachedDeriver(), 'reload').catch(async (err: unknown) => {
            this.log.warn('reload', `the change in place was refused (${(err as Error).message.split('\n')[0]}); loading the whole table`);
            await this.loadFull(config, 'reload');
          });
        } else {
          await this.loadFull(config, 'reload');
        }
      } catch (err) {
        this.log.error('reload', `could not load the new config, still running the old one: ${(err as Error).message}`);
      }
      this.schedule();
    });
  }

  private schedule(delayMs?: number): void {
    this.timer?.cancel();
    if (this.stopped) return;
    const now = this.clock.now();
    // The next boundary after the instant the live table was planned for: one that
    // passed while nft was loading it is rotated to at once, and one loaded ahead
    // (APPLY_LEAD_MS) is not rotated to twice. A plan far ahead of the clock means
    // the clock stepped back: then from now.
    const target = nextRotationMs(this.config, this.plannedAtMs <= now + APPLY_LEAD_MS + 5 ? this.plannedAtMs : now);
    if (delayMs === undefined && !Number.isFinite(target)) return; // static sequences only: nothing rotates
    // Wake first to prepare the rotation, then shortly before the boundary to apply
    // it (or compute it then, when it could not be prepared in time).
    const prepareAt = target - PREPARE_LEAD_MS;
    const applyAt = target - APPLY_LEAD_MS;
    const wakeAt = this.prepared?.target === target || now >= prepareAt - 5 ? applyAt : prepareAt;
    const wait = delayMs ?? Math.min(MAX_SLEEP_MS, Math.max(0, wakeAt - now));
    this.timer = this.clock.setTimer(() => {
      void this.enqueue(() => this.tick(delayMs === undefined ? target : now + wait));
    }, wait);
  }

  /** Wakes before a boundary to prepare its rotation, and at it to rotate. */
  private async tick(target: number): Promise<void> {
    if (this.stopped) return;
    const step = this.clockStep();
    if (step !== 0) {
      // The kernel's timeouts run on their own clock: after a step our picture of
      // which elements are still there is wrong. Reload it all.
      this.log.warn('clock', `the wall clock stepped ${step > 0 ? 'forward' : 'back'} by ${Math.round(Math.abs(step) / 1000)} s; reloading the whole table`);
      try {
        await this.loadFull(this.config, 'clock');
      } catch (err) {
        this.failures += 1;
        this.log.error('clock', `could not reload after the clock step, the previous sequences stay live: ${(err as Error).message}`);
      }
      this.schedule();
      return;
    }
    const now = this.clock.now();
    if (now + 5 < target - APPLY_LEAD_MS) {
      if (this.prepared === undefined && this.failures === 0 && now >= target - PREPARE_LEAD_MS && target === nextRotationMs(this.config, now)) {
        this.prepared = this.planChange(this.config, this.derive, target);
      }
      this.schedule(); // prepared, or woke early (capped sleep or a clock step back): sleep again
      return;
    }
    await this.rotate(target);
  }

  /**
   * Moves the live table to the plan of `config` for now with element changes
   * only (one transaction). Commits the new state only when nft succeeded.
   */
  private syncTo(config: ServerConfig, derive: ReturnType<typeof cachedDeriver>, event: string, at = this.planInstant()): Promise<void> {
    return this.applyChange(this.planChange(config, derive, at), event);
  }

  /** Sends a planned change; on success it is the live state, on failure the trie goes back. */
  private async applyChange(p: PlannedChange, event: string): Promise<void> {
    if (this.prepared === p) this.prepared = undefined;
    const started = performance.now();
    try {
      await this.nft.apply(p.script);
    } catch (err) {
      p.sync.rollback(); // the kernel kept the previous state: so does our picture of it
      throw err;
    }
    this.trie = p.sync.state;
    this.plannedAtMs = p.target;
    this.config = p.config;
    this.derive = p.derive;
    const live = new Set<number>();
    for (const l of this.trie.leaves.values()) live.add(l.entry.window);
    p.derive.prune((w) => live.has(w));
    this.reportConflicts(p.sync.conflicts);
    this.failures = 0;
    this.markCommitted();
    this.hooks.onCommit?.({ config: p.config, trie: this.trie, nowMs: this.clock.now() });
    const c = p.sync.changes;
    this.log.info(event, event === 'rotation' ? 'knock sequences rotated' : 'sequences updated in place', {
      added: c.addSteps.length,
      removed: c.deleteSteps.length,
      replaced: c.replaceSteps.length,
      refreshed: c.refreshSteps.length,
      element_ops: p.ops,
      live: this.trie.leaves.size,
      took_ms: Math.round(performance.now() - started),
      planned_ms: Math.round(p.computeMs),
    });
  }

  /**
   * Brings the kernel to the plan for `target` (a boundary at most APPLY_LEAD_MS
   * ahead; default now): add new windows, remove expired ones.
   */
  async rotate(target?: number): Promise<void> {
    try {
      if (this.failures >= 2) {
        // Repeated failures: our picture of the kernel may be wrong; resync all.
        await this.loadFull(this.config, 'resync');
      } else {
        const next = await this.hooks.beforeRotation?.();
        const p = this.prepared;
        const now = this.clock.now();
        if (p !== undefined && next === undefined && p.config === this.config && p.target <= now + APPLY_LEAD_MS + 5 && now < p.target + PREPARE_LEAD_MS) {
          await this.applyChange(p, 'rotation');
          this.schedule();
          return;
        }
        this.discardPrepared(); // the store changed, or the clock jumped: compute afresh
        const at = target !== undefined && target > now ? target : now;
        if (next !== undefined && next.table === this.config.table && tableShape(next) === tableShape(this.config)) {
          await this.syncTo(next, cachedDeriver(), 'users', at);
        } else {
          if (next !== undefined) this.log.warn('users', 'the user store changed, but so did the table layout in the config file; send SIGHUP to apply both');
          await this.syncTo(this.config, this.derive, 'rotation', at);
        }
      }
      this.schedule();
    } catch (err) {
      const delay = RETRY_DELAYS_MS[Math.min(this.failures, RETRY_DELAYS_MS.length - 1)]!;
      this.failures += 1;
      this.log.error('rotation', `rotation failed, the previous sequences stay live; retrying in ${delay / 1000}s: ${(err as Error).message}`, {
        attempt: this.failures,
      });
      this.schedule(delay);
    }
  }

  /**
   * Stops rotating; keeps what the kernel consumed in state_dir; removes our table
   * unless the config says to keep it; lets go of the table's lock.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.discardPrepared();
    try {
      await this.enqueue(async () => {
        await this.keepConsumed();
        if (this.config.keepTableOnStop) {
          this.log.info('stop', `stopped; table inet ${this.config.table} kept (keep_table_on_stop)`);
          return;
        }
        await this.nft.deleteTable(this.config.table);
        this.log.info('stop', `stopped; table inet ${this.config.table} removed`);
      });
    } finally {
      this.options.tableLocks?.releaseAll();
    }
  }

  /** Reads the kernel's consumed sequences and writes all we know to consumed.json. */
  private async keepConsumed(): Promise<void> {
    if (this.options.persistConsumed !== true) return;
    try {
      const doc = await this.nft.listJson(['table', 'inet', this.config.table]);
      if (doc !== null) this.rememberFromKernel(usedSequencesFromJson(doc), usedMarksFromJson(doc));
    } catch (e) {
      this.log.warn('stop', `cannot read the consumed sequences from the kernel: ${(e as Error).message}; keeping those the audit saw`);
    }
    await this.saveConsumed();
  }
}
