// The daemon's side of refused knocks: takes the refusals the kernel logs
// (nft/refusal-log.ts) from the audit's NFLOG reader, remembers them per source
// (book.ts), explains each source's failed knock once it has gone quiet
// (explain.ts), logs one line per explanation, and keeps state_dir/refusals.json
// for `otpknockd why` and `status`. Bans the kernel imposes are logged and
// appended to the audit. Bounded everywhere: the kernel logs a few packets a
// second per source, the book keeps MAX_SOURCES, at most EXPLAIN_PER_TICK
// explanations run per tick and LOG_PER_SECOND lines are logged.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@otpknock/shared/safe-file';
import { appendAudit } from '../audit/audit-file.js';
import { REPLAY_PREFIX, type NflogPacket } from '../audit/nflog.js';
import { formatDuration } from '../config/index.js';
import type { ServerConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { BAD_PREFIX, BANNED_PREFIX, BAN_PREFIX, CLOSED_PREFIX } from '../nft/refusal-log.js';
import type { KnockEntry } from '../plan/entries.js';
import { RefusalBook, REFUSALS_FILE, QUIET_MS, banKeyOf, type RefusalsFile, type SourceRecord } from './book.js';
import { explainAttempt } from './attempt.js';
import type { Explanation } from './explain.js';
import { FormerSecrets } from './former.js';
import { FORMER_FILE, readFormerSecrets, writeFormerSecrets } from './former-file.js';

/** Explanations made per tick (a tick every QUIET_MS while any are due)… */
export const EXPLAIN_PER_TICK = 16;
/** …and no new one is started after this long in one tick: the daemon's rotations come first. */
export const TICK_MS = 50;
/** Explanation lines logged per second at most; the rest are counted and said in one line. */
export const LOG_PER_SECOND = 10;
/** An explanation equal to a source's previous one is not logged again within this time. */
export const REPEAT_QUIET_MS = 60_000;
/** While bans it saw are running, the daemon looks this often whether one was lifted (otpknockd unban). */
export const BAN_CHECK_MS = 5_000;

/** The kernel's banned keys right now (undefined: could not be read). */
export type BannedNow = () => Promise<{ address: string; family: 4 | 6 }[] | undefined>;

const PREFIX_KIND = new Map([
  [BAD_PREFIX, 'bad'],
  [BANNED_PREFIX, 'banned'],
  [CLOSED_PREFIX, 'closed'],
] as const);

export class RefusalWatch {
  private readonly book: RefusalBook;
  private readonly former = new FormerSecrets();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private formerWriting: Promise<void> = Promise.resolve();
  private writeQueued = false;
  private logWindow = { second: 0, lines: 0, suppressed: 0 };
  private stopped = false;
  private banTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private config: ServerConfig,
    private readonly bannedNow?: BannedNow,
    private readonly now: () => number = Date.now,
  ) {
    this.book = new RefusalBook(() => this.config.ban?.forMs ?? 0);
  }

  /**
   * Reads what the previous run left in refusals.json, so `why` keeps its history over a
   * restart, and the former secrets it kept, so a removed user is still explained.
   */
  async load(): Promise<void> {
    try {
      const file = JSON.parse(await readFile(join(this.config.stateDir, REFUSALS_FILE), 'utf8')) as RefusalsFile;
      this.book.load(file);
    } catch {
      // none yet, or damaged: start empty
    }
    const kept = await readFormerSecrets(this.config.stateDir, process.getuid?.() ?? 0, (m) =>
      this.log.warn('refused', m),
    );
    if (this.former.restore(kept, this.now())) this.writeFormer();
  }

  /** After every committed change: the config now live (removed users and replaced secrets are kept). */
  configChanged(config: ServerConfig): void {
    this.config = config;
    if (this.former.update(config, this.now())) this.writeFormer();
  }

  /** Rewrites former-secrets.json with the list as it is now, one write at a time. */
  private writeFormer(): void {
    this.formerWriting = this.formerWriting.then(() =>
      writeFormerSecrets(this.config.stateDir, this.former.all).catch((e: unknown) =>
        this.log.warn('refused', `cannot write ${FORMER_FILE}: ${(e as Error).message}`),
      ),
    );
  }

  /** A packet from the audit group: a refusal is taken (true), anything else is left to the audit (false). */
  onPacket(p: NflogPacket, entry: KnockEntry | undefined): boolean {
    const refusal = p.prefix === BAN_PREFIX || PREFIX_KIND.has(p.prefix as typeof BAD_PREFIX);
    if (this.stopped) return refusal;
    const t = p.receivedMs || this.now();
    if (p.prefix === BAN_PREFIX) {
      this.book.add(p.saddr, p.family, { t, kind: 'ban' });
      this.banned(p, t);
      return true;
    }
    if (p.prefix === REPLAY_PREFIX) {
      this.book.add(p.saddr, p.family, { t, kind: 'replay', ...(entry ? { user: entry.user } : {}) });
      this.wake();
      return false; // the audit logs and records replays as before
    }
    const kind = PREFIX_KIND.get(p.prefix as typeof BAD_PREFIX);
    if (kind === undefined) return false;
    this.book.add(p.saddr, p.family, {
      t,
      kind,
      ...(p.dport === undefined ? {} : { port: p.dport }),
      ...(p.payloadBytes === undefined ? {} : { payloadBytes: p.payloadBytes }),
    });
    this.wake();
    return true;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.banTimer) clearTimeout(this.banTimer);
    this.timer = undefined;
  }

  /** Checks the bans it saw imposed against the kernel while any is running: a lifted one is logged. */
  private watchBans(): void {
    if (this.banTimer !== undefined || this.stopped || this.bannedNow === undefined) return;
    this.banTimer = setTimeout(() => {
      void this.checkBans().finally(() => {
        this.banTimer = undefined;
        if (this.book.runningBans(this.now()).length > 0) this.watchBans();
      });
    }, BAN_CHECK_MS);
    this.banTimer.unref();
  }

  private async checkBans(): Promise<void> {
    const now = this.now();
    const running = this.book.runningBans(now);
    if (running.length === 0) return;
    const kernel = await this.bannedNow?.().catch(() => undefined);
    if (kernel === undefined) return;
    const there = new Set(kernel.map((b) => `${b.family}/${b.address}`));
    for (const ban of running) {
      // a ban ends at untilMs by itself (give the kernel's garbage collection a second)
      if (there.has(`${ban.family}/${ban.address}`) || this.now() > ban.untilMs - 1_000) continue;
      this.book.lifted(ban, now);
      this.log.info(
        'unban',
        `the ban of ${ban.address} was lifted with ${formatDuration(Math.max(0, Math.round((ban.untilMs - now) / 1000)) * 1000)} left (otpknockd unban)`,
        {
          address: ban.address,
        },
      );
      this.scheduleWrite();
    }
  }

  /** Resolves when the state files have every change made so far. */
  flushed(): Promise<void> {
    return Promise.all([this.writing, this.formerWriting]).then(() => undefined);
  }

  private wake(): void {
    if (this.timer === undefined && !this.stopped) this.timer = setTimeout(() => this.tick(), QUIET_MS);
  }

  private tick(): void {
    this.timer = undefined;
    const now = this.now();
    const started = performance.now();
    for (const rec of this.book.due(now, EXPLAIN_PER_TICK)) {
      if (performance.now() - started > TICK_MS) break;
      const e = this.explain(rec);
      const previous = rec.explanation;
      this.book.explained(rec, e, now);
      const repeated = previous?.text === e.text && now - previous.atMs < REPEAT_QUIET_MS;
      if (!repeated) this.logExplanation(rec, e, now);
    }
    this.book.prune(now);
    this.scheduleWrite();
    if (this.book.pending) this.wake();
  }

  /** What the source's latest refusal says. */
  private explain(rec: SourceRecord): Explanation {
    const last = rec.recent[rec.recent.length - 1];
    if (last?.kind === 'closed')
      return {
        cause: 'closed',
        text: 'the mode is closed: every knock is ignored, valid ones too, until "otpknockd mode knock"',
      };
    if (last?.kind === 'banned') {
      const ban = this.book.banOf(banKeyOf(rec.address, rec.family));
      const before =
        rec.explanation && rec.explanation.cause !== 'banned' ? `; its bad knocks: ${rec.explanation.text}` : '';
      return {
        cause: 'banned',
        text: `the address is banned${ban ? ` until ${new Date(ban.untilMs).toISOString()}` : ''} for too many bad knocks (ban in the config): its knocks are ignored, valid ones too; "otpknockd unban ${banKeyOf(rec.address, rec.family)}" lifts it${before}`,
      };
    }
    if (last?.kind === 'replay')
      return {
        cause: 'replay',
        ...(last.user === undefined ? {} : { user: last.user }),
        text: `a replay: ${last.user ?? 'a user'}'s sequence was complete, but it had been used already (a knock opens once); the client must wait for the next window`,
      };
    return explainAttempt(rec, this.config, this.former.all);
  }

  private logExplanation(rec: SourceRecord, e: Explanation, now: number): void {
    const second = Math.floor(now / 1000);
    const w = this.logWindow;
    if (w.second !== second) {
      if (w.suppressed > 0)
        this.log.warn(
          'refused',
          `${w.suppressed} more refused knocks explained but not logged (otpknockd status lists them)`,
        );
      this.logWindow = { second, lines: 0, suppressed: 0 };
    }
    if (this.logWindow.lines >= LOG_PER_SECOND) {
      this.logWindow.suppressed++;
      return;
    }
    this.logWindow.lines++;
    this.log.warn('refused', `knock from ${rec.address} refused: ${e.text}`, {
      address: rec.address,
      cause: e.cause,
      user: e.user,
      window_offset: e.windowOffset,
    });
  }

  private banned(p: NflogPacket, t: number): void {
    const ban = this.config.ban;
    const key = banKeyOf(p.saddr, p.family);
    const rec = this.book.source(p.saddr);
    const reason =
      ban === null
        ? 'too many bad knocks'
        : `${ban.after} bad knock${ban.after === 1 ? '' : 's'} within ${formatDuration(ban.withinMs)}`;
    const until = new Date(t + (ban?.forMs ?? 0)).toISOString();
    this.log.warn(
      'ban',
      `banned ${key}${key === p.saddr ? '' : ` (from ${p.saddr})`} for ${formatDuration(ban?.forMs ?? 0)}: ${reason}`,
      { address: key, source: p.saddr, until, last_cause: rec?.explanation?.cause },
    );
    appendAudit(this.config.stateDir, {
      time: new Date(t).toISOString(),
      event: 'ban',
      services: [],
      address: key,
      family: p.family,
      until,
      reason,
    }).catch((e: unknown) => this.log.warn('audit', `cannot append to the audit file: ${(e as Error).message}`));
    this.scheduleWrite();
    this.watchBans();
  }

  /** Rewrites refusals.json, at most one write at a time and one queued. */
  private scheduleWrite(): void {
    if (this.writeQueued) return;
    this.writeQueued = true;
    this.writing = this.writing.then(async () => {
      this.writeQueued = false;
      try {
        const dir = this.config.stateDir;
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const snapshot = this.book.snapshot(this.now(), process.pid);
        await writeFileAtomic(join(dir, REFUSALS_FILE), `${JSON.stringify(snapshot)}\n`, { fsync: false });
      } catch (e) {
        this.log.warn('refused', `cannot write ${REFUSALS_FILE}: ${(e as Error).message}`);
      }
    });
  }
}
