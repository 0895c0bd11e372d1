// The imperative shell around the pure core: keeps the kernel's knock data in
// step with the clock and the config. Every change is one nft transaction; if
// it fails, the last good state stays in the kernel and in memory, and we retry.
// Its parts: clock.ts (time, clock steps), schedule.ts (when to wake),
// retry.ts (after a failure), consumed.ts (used sequences across loads and
// restarts), serial-queue.ts (one change at a time); the pure planning lives in
// plan/, trie/ and ruleset/.
import { OtpknockError } from '@otpknock/shared';
import type { ServerConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { readMode } from '../mode.js';
import { bannedFromJson } from '../nft/ban.js';
import type { NftDriver } from '../nft/driver.js';
import { allowedFromJson, isOurTable, usedMarksFromJson, usedSequencesFromJson } from '../nft/inspect.js';
import { probeTimeoutUpdates } from '../nft/timeout-update.js';
import { cachedDeriver, nextRotationMs, planEntries, type KnockEntry } from '../plan/entries.js';
import { attachTokens } from '../plan/payload-tokens.js';
import { fullRuleset, tableShape, type CarryOver } from '../ruleset/full-load.js';
import { changeOps, renderChanges } from '../ruleset/render.js';
import type { TableLocks } from '../state/table-lock.js';
import { emptyTrie, type TrieState } from '../trie/state.js';
import { syncTrie, type TrieSync } from '../trie/sync.js';
import { ClockStepDetector, systemClock, type Clock } from './clock.js';
import { ConsumedSequences } from './consumed.js';
import { RetryPolicy } from './retry.js';
import {
  isTimeToPrepare,
  isTimeToLoad,
  LATE_LOAD_TOLERANCE_MS,
  loadInstant,
  planInstant,
  preparedStillFits,
  rotationTarget,
  sleepBefore,
} from './schedule.js';
import { SerialQueue } from './serial-queue.js';
import { profileChanges, profileChangesText } from '../users/profile-changes.js';
import { noUsersText } from '../users/no-users.js';

/** Hook points for the team features (user store, status file, audit); see status/attach.ts. */
export interface DaemonHooks {
  /** At each boundary, before rotating: a config to rotate to instead (the user store changed), or undefined. */
  beforeRotation?: () => Promise<ServerConfig | undefined>;
  /** After every committed change of the live table. Must not throw. */
  onCommit?: (state: { config: ServerConfig; trie: TrieState; nowMs: number }) => void;
}

/** Everything a Daemon needs, given once at construction. */
export interface DaemonOptions {
  config: ServerConfig;
  nft: NftDriver;
  log: Logger;
  /** Default: the system's clocks and timers. */
  clock?: Clock;
  hooks?: DaemonHooks;
  /**
   * Ask the kernel at start, in our table, whether it updates element timeouts in
   * place (then a rotation lengthens shared prefixes with one operation, not three).
   * Off in unit tests, whose fake nft would count the probe's scripts.
   */
  probeKernelAtStart?: boolean;
  /**
   * The consumed sequences, shared with the audit that reports each consume. With a
   * state dir they are read at start and written at stop (consumed.json), so a used
   * knock stays used across a clean stop, a restart and a reboot inside its window.
   * Default: in memory only.
   */
  consumed?: ConsumedSequences;
  /** One daemon per table: the table's lock is held while we own it, released at stop. */
  tableLocks?: TableLocks;
}

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
  /** The instant the script's element timeouts count from: when it is meant to load. */
  loadAtMs: number;
  timeoutUpdates: boolean;
  ops: number;
  computeMs: number;
}

/**
 * How new users (the user store's, the fleet's) reach the kernel: in place, element by
 * element; a whole load when the users themselves change the layout (the knock ports'
 * ranges: a code-mode user on a list-modulo server, the last user of a range gone, none
 * left at all), grants carried over; or only with a SIGHUP, when the config file's own
 * layout changed too.
 */
function usersChange(live: ServerConfig, next: ServerConfig): 'in-place' | 'full-load' | 'needs-reload' {
  const liveShape = tableShape(live);
  if (next.table !== live.table || tableShape({ ...next, users: live.users }) !== liveShape) return 'needs-reload';
  return tableShape(next) === liveShape ? 'in-place' : 'full-load';
}

export class Daemon {
  private config: ServerConfig;
  private readonly nft: NftDriver;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly hooks: DaemonHooks;
  private readonly consumed: ConsumedSequences;
  private readonly clockSteps: ClockStepDetector;
  private readonly retry = new RetryPolicy();
  private readonly queue = new SerialQueue();
  private trie: TrieState = emptyTrie();
  private prepared: PlannedChange | undefined;
  private timeoutUpdates = false;
  /** The instant the live table was planned for (its windows). */
  private plannedAtMs = 0;
  private timer: { cancel(): void } | undefined;
  private stopped = false;
  private reloadQueued = false;
  private usersQueued = false;
  /** Remembers derived windows; replaced with the config, since it keys on its users. */
  private derive = cachedDeriver();
  /** The live table has no user (a fleet server whose directory gives it nobody): said once per time it happens. */
  private withoutUsers = false;

  constructor(private readonly options: DaemonOptions) {
    this.config = options.config;
    this.nft = options.nft;
    this.log = options.log;
    this.clock = options.clock ?? systemClock;
    this.hooks = options.hooks ?? {};
    this.consumed = options.consumed ?? new ConsumedSequences(this.clock, () => undefined);
    this.clockSteps = new ClockStepDetector(this.clock);
  }

  /** Why the last reload was refused (the config error or nft's), for the pid file; undefined after a good one. */
  lastReloadProblem: string | undefined;

  get currentConfig(): ServerConfig {
    return this.config;
  }

  async start(): Promise<void> {
    await this.options.tableLocks?.hold(this.config.table);
    await this.queue.run(async () => {
      await this.consumed.load();
      await this.loadFull(this.config, 'start');
    });
    this.schedule();
  }

  /** Applies a new config. A failure leaves the old config and rules in place. */
  reload(next: () => Promise<ServerConfig>): Promise<void> {
    if (this.reloadQueued) return this.queue.idle(); // a storm of SIGHUPs coalesces into one reload
    this.reloadQueued = true;
    return this.queue.run(async () => {
      this.reloadQueued = false;
      if (this.stopped) return;
      this.discardPrepared();
      let config: ServerConfig;
      this.lastReloadProblem = undefined;
      try {
        config = await next();
      } catch (err) {
        this.lastReloadProblem = (err as Error).message;
        this.log.error('reload', `new config refused, still running the old one: ${this.lastReloadProblem}`);
        return;
      }
      const before = this.config;
      try {
        await this.moveTo(config);
        const changes = profileChanges(before, config);
        if (changes.length > 0)
          this.log.warn('profiles', profileChangesText(changes), { users: changes.map((c) => c.user).join(',') });
      } catch (err) {
        this.lastReloadProblem = `nft refused it: ${(err as Error).message}`;
        this.log.error('reload', `could not load the new config, still running the old one: ${(err as Error).message}`);
      }
      this.schedule();
    });
  }

  /**
   * Applies new users now, in place (element by element: knock progress, grants and
   * consumed sequences stay), when only users changed: the fleet directory's changes;
   * a whole load when the new users change the knock ports' ranges. A config that
   * cannot be loaded, or whose file also changes the table's layout, leaves the live
   * users as they are (and says so). Changes that come in a burst coalesce.
   */
  updateUsers(next: () => Promise<ServerConfig>, event: string): Promise<void> {
    if (this.usersQueued) return this.queue.idle();
    this.usersQueued = true;
    return this.queue.run(async () => {
      this.usersQueued = false;
      if (this.stopped) return;
      let config: ServerConfig;
      try {
        config = await next();
      } catch (err) {
        this.log.error(
          event,
          `the new users cannot be used, still running the previous ones: ${(err as Error).message}`,
        );
        return;
      }
      const how = usersChange(this.config, config);
      if (how === 'needs-reload') {
        this.log.warn(
          event,
          'the users changed, but so did the table layout in the config file; send SIGHUP to apply both',
        );
        return;
      }
      this.discardPrepared();
      try {
        if (how === 'full-load') await this.loadFull(config, event);
        else
          await this.syncTo(config, cachedDeriver(), event).catch(async (err: unknown) => {
            this.log.warn(
              event,
              `the change in place was refused (${(err as Error).message.split('\n')[0]}); loading the whole table`,
            );
            await this.loadFull(config, event);
          });
      } catch (err) {
        this.log.error(event, `could not apply the new users, the previous ones stay live: ${(err as Error).message}`);
      }
      this.schedule();
    });
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
      await this.queue.run(async () => {
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

  /** Brings the kernel to the plan for `target` (a boundary at most APPLY_LEAD_MS ahead; default now). */
  async rotate(target?: number): Promise<void> {
    try {
      if (this.retry.shouldResync) {
        // Repeated failures: our picture of the kernel may be wrong; resync all.
        await this.loadFull(this.config, 'resync');
      } else {
        const next = await this.hooks.beforeRotation?.();
        const p = this.prepared;
        const now = this.clock.now();
        if (p !== undefined && next === undefined && p.config === this.config && preparedStillFits(now, p.target)) {
          await this.applyChange(p, 'rotation');
          this.schedule();
          return;
        }
        this.discardPrepared(); // the store changed, or the clock jumped: compute afresh
        const at = target !== undefined && target > now ? target : now;
        const how = next === undefined ? undefined : usersChange(this.config, next);
        if (next !== undefined && how === 'in-place') {
          await this.syncTo(next, cachedDeriver(), 'users', at);
        } else if (next !== undefined && how === 'full-load') {
          await this.loadFull(next, 'users');
        } else {
          if (next !== undefined)
            this.log.warn(
              'users',
              'the user store changed, but so did the table layout in the config file; send SIGHUP to apply both',
            );
          await this.syncTo(this.config, this.derive, 'rotation', at);
        }
      }
      this.schedule();
    } catch (err) {
      const delay = this.retry.failed();
      this.log.error(
        'rotation',
        `rotation failed, the previous sequences stay live; retrying in ${delay / 1000}s: ${(err as Error).message}`,
        {
          attempt: this.retry.attempts,
        },
      );
      this.schedule(delay);
    }
  }

  /** A reload: in place when only sequences changed, else a full load (and the lock of a new table). */
  private async moveTo(config: ServerConfig): Promise<void> {
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
      // Only sequences changed (users, secrets, profiles): move the live table
      // there element by element, so knock progress, grants and consumed
      // sequences all stay. If the kernel refuses that (an element gone behind
      // our back), load the whole table instead.
      await this.syncTo(config, cachedDeriver(), 'reload').catch(async (err: unknown) => {
        this.log.warn(
          'reload',
          `the change in place was refused (${(err as Error).message.split('\n')[0]}); loading the whole table`,
        );
        await this.loadFull(config, 'reload');
      });
    } else {
      await this.loadFull(config, 'reload');
    }
  }

  /**
   * Refuses to take over a table of the same name that someone else made;
   * from our own, reads what a full load must keep.
   */
  private async readCarryOver(table: string): Promise<CarryOver> {
    const listing = await this.nft.listText(['table', 'inet', table]);
    if (listing === null) return { allowed: [], used: [] };
    if (!isOurTable(listing)) {
      throw new OtpknockError('E_TABLE_TAKEN', `table inet ${table} already exists and was not made by otpknockd`, {
        hint: `choose another name with "table:" in the config, or remove that table if it is a leftover (nft delete table inet ${table})`,
      });
    }
    const doc = await this.nft.listJson(['table', 'inet', table]);
    return {
      allowed: allowedFromJson(doc),
      used: usedSequencesFromJson(doc),
      usedMarks: usedMarksFromJson(doc),
      banned: bannedFromJson(doc),
    };
  }

  /** The ports behind each leaf mark of the live trie. */
  private portsOfMarks(): Map<number, number[]> {
    const byMark = new Map<number, number[]>();
    for (const l of this.trie.leaves.values()) byMark.set(l.mark >>> 0, l.entry.ports);
    return byMark;
  }

  /** At stop: reads the kernel's consumed sequences and writes all we know to consumed.json. */
  private async keepConsumed(): Promise<void> {
    try {
      const doc = await this.nft.listJson(['table', 'inet', this.config.table]);
      if (doc !== null)
        this.consumed.rememberFromKernel(usedSequencesFromJson(doc), usedMarksFromJson(doc), () => this.portsOfMarks());
    } catch (e) {
      this.log.warn(
        'stop',
        `cannot read the consumed sequences from the kernel: ${(e as Error).message}; keeping those the audit saw`,
      );
    }
    await this.consumed.save();
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
    // Element timeouts count from when the script is meant to load.
    const loadAtMs = loadInstant(this.clock.now(), target);
    const script = renderChanges(config.table, sync.changes, loadAtMs, opts);
    return {
      target,
      config,
      derive,
      sync,
      script,
      loadAtMs,
      timeoutUpdates: this.timeoutUpdates,
      ops: changeOps(sync.changes, opts),
      computeMs: performance.now() - started,
    };
  }

  /** Loads the whole table for `config`, keeping addresses that are allowed right now. */
  private async loadFull(config: ServerConfig, reason: string): Promise<void> {
    this.discardPrepared();
    const started = performance.now();
    const carried = await this.readCarryOver(config.table);
    carried.mode = readMode(config.stateDir); // the mode survives reloads and restarts
    this.consumed.rememberFromKernel(carried.used, carried.usedMarks ?? [], () => this.portsOfMarks());
    carried.used = this.consumed.toCarry();
    const derive = config === this.config ? this.derive : cachedDeriver();
    const plannedAt = this.clock.now();
    const full = fullRuleset(config, plannedAt, carried, derive);
    this.reportConflicts(full.conflicts);
    await this.nft.apply(full.script);
    const probe = reason === 'start' && this.options.probeKernelAtStart === true;
    // Before the start is announced: nothing should see the probe's set come and go.
    if (probe) this.timeoutUpdates = await probeTimeoutUpdates(this.nft, config.table);
    this.trie = full.trie;
    this.plannedAtMs = plannedAt;
    this.config = config;
    this.derive = derive;
    this.committed();
    this.log.info(reason, `loaded table inet ${config.table}`, {
      users: config.users.length,
      services: config.services.length,
      sequences: full.entries.length - full.conflicts.length,
      carried_allowed: carried.allowed.length,
      carried_used: full.carriedUsed,
      ...(probe ? { timeout_updates: this.timeoutUpdates } : {}),
      took_ms: Math.round(performance.now() - started),
    });
  }

  /** A table that opens for nobody by knock is worth a loud line when it comes and when it ends. */
  private sayWhenWithoutUsers(): void {
    const none = this.config.users.length === 0;
    if (none && !this.withoutUsers) this.log.error('users', noUsersText(this.config));
    if (!none && this.withoutUsers)
      this.log.info('users', `users again: ${this.config.users.length}; their knocks open`);
    this.withoutUsers = none;
  }

  /** After every change the kernel took. */
  private committed(): void {
    this.retry.succeeded();
    this.clockSteps.mark();
    this.sayWhenWithoutUsers();
    this.hooks.onCommit?.({ config: this.config, trie: this.trie, nowMs: this.clock.now() });
  }

  private reportConflicts(conflicts: { entry: KnockEntry; reason: string }[]): void {
    for (const c of conflicts) {
      this.log.warn('conflict', `sequence ${c.entry.key} left out: ${c.reason}`, {
        user: c.entry.user,
        window: c.entry.window,
      });
    }
  }

  private schedule(delayMs?: number): void {
    this.timer?.cancel();
    if (this.stopped) return;
    const now = this.clock.now();
    const target = rotationTarget(now, this.plannedAtMs, (ms) => nextRotationMs(this.config, ms));
    if (delayMs === undefined && !Number.isFinite(target)) return; // static sequences only: nothing rotates
    const wait = delayMs ?? sleepBefore(now, target, this.prepared?.target === target);
    this.timer = this.clock.setTimer(() => {
      void this.queue.run(() => this.tick(delayMs === undefined ? target : now + wait));
    }, wait);
  }

  /** Wakes before a boundary to prepare its rotation, and shortly before it to load it. */
  private async tick(target: number): Promise<void> {
    if (this.stopped) return;
    const step = this.clockSteps.step();
    if (step !== 0) {
      // The kernel's timeouts run on their own clock: after a step our picture of
      // which elements are still there is wrong. Reload it all.
      this.log.warn(
        'clock',
        `the wall clock stepped ${step > 0 ? 'forward' : 'back'} by ${Math.round(Math.abs(step) / 1000)} s; reloading the whole table`,
      );
      try {
        await this.loadFull(this.config, 'clock');
      } catch (err) {
        this.retry.failed();
        this.log.error(
          'clock',
          `could not reload after the clock step, the previous sequences stay live: ${(err as Error).message}`,
        );
      }
      this.schedule();
      return;
    }
    const now = this.clock.now();
    if (!isTimeToLoad(now, target)) {
      if (
        this.prepared === undefined &&
        this.retry.clear &&
        isTimeToPrepare(now, target) &&
        target === nextRotationMs(this.config, now)
      ) {
        this.prepared = this.planChange(this.config, this.derive, target);
      }
      this.schedule(); // prepared, or woke early (capped sleep or a clock step back): sleep again
      return;
    }
    await this.rotate(target);
  }

  /**
   * Moves the live table to the plan of `config` for `at` (default: now, or the
   * boundary loaded ahead) with element changes only, in one transaction.
   */
  private syncTo(
    config: ServerConfig,
    derive: ReturnType<typeof cachedDeriver>,
    event: string,
    at = planInstant(this.clock.now(), this.plannedAtMs),
  ): Promise<void> {
    return this.applyChange(this.planChange(config, derive, at), event);
  }

  /** Sends a planned change; on success it is the live state, on failure the trie goes back. */
  private async applyChange(p: PlannedChange, event: string): Promise<void> {
    if (this.prepared === p) this.prepared = undefined;
    const started = performance.now();
    const lateMs = this.clock.now() - p.loadAtMs;
    try {
      await this.nft.apply(this.scriptLoadedLate(p, lateMs));
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
    this.committed();
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
      late_ms: Math.max(0, Math.round(lateMs)),
    });
  }

  /**
   * The script of a change that loads `lateMs` after its planned instant (a timer or the
   * event loop held up on a busy machine): rendered again with its timeouts counted from
   * now, else every element would live that much longer, and the window that ends would
   * stay valid past its boundary.
   */
  private scriptLoadedLate(p: PlannedChange, lateMs: number): string {
    if (lateMs <= LATE_LOAD_TOLERANCE_MS) return p.script;
    return renderChanges(p.config.table, p.sync.changes, p.loadAtMs + lateMs, { timeoutUpdates: p.timeoutUpdates });
  }
}
