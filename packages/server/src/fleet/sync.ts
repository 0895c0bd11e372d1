// Keeps state_dir/fleet.json in step with this server's part of the fleet directory:
// a linearizable read of its prefix, then a watch for every change; a fresh
// linearizable read every check_interval confirms the users (a watch on a member cut
// off from the majority would stay silent, so silence proves nothing). When the
// directory cannot be reached the last users stay — never a lockout — and the log and
// `otpknockd status` say since when; when it returns, the next read catches up.
import { OtpknockError } from '@otpknock/shared';
import type { FleetConfig } from '../config/fleet.js';
import type { Logger } from '../log.js';
import { writeFleetCache, type FleetCache } from './cache.js';
import { parseServerUserRecord, serverUsersPrefix, type ServerUserRecord } from './directory.js';
import type { EtcdClient, EtcdError, WatchEvent } from './etcd.js';

export interface FleetSyncOptions {
  fleet: FleetConfig & { server: string };
  stateDir: string;
  etcd: EtcdClient;
  log: Logger;
  /** Called after fleet.json changed users (the daemon then applies them). */
  onUsersChanged: () => void;
  /** The users kept from before (fleet.json), until the directory says otherwise. */
  initial?: FleetCache;
  now?: () => number;
}

export class FleetSync {
  private users = new Map<string, ServerUserRecord>();
  private revision = 0;
  private confirmedMs: number | undefined;
  private unreachableSinceMs: number | undefined;
  private lastError: string | undefined;
  private cancelWatch: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private stale = false;
  private writing = Promise.resolve();
  private readonly prefix: string;
  private readonly now: () => number;

  constructor(private readonly o: FleetSyncOptions) {
    this.prefix = serverUsersPrefix(o.fleet.name, o.fleet.server);
    this.now = o.now ?? Date.now;
    for (const u of o.initial?.users ?? []) this.users.set(u.name, u);
    this.revision = o.initial?.revision ?? 0;
    if (o.initial?.confirmedAt !== undefined) this.confirmedMs = Date.parse(o.initial.confirmedAt);
  }

  /** The names of the users this server has from the directory now. */
  userNames(): string[] {
    return [...this.users.keys()];
  }

  /** One read of the directory, bounded by the request timeout; false when it could not be reached. */
  async refresh(): Promise<boolean> {
    try {
      const { revision, kvs } = await this.o.etcd.rangePrefix(this.prefix);
      const next = new Map<string, ServerUserRecord>();
      for (const kv of kvs) {
        const r = parseServerUserRecord(kv.value, kv.key);
        if ('problem' in r) this.o.log.warn('fleet', `directory record left out: ${r.problem}`);
        else next.set(r.name, r);
      }
      const changed = !sameUsers(this.users, next);
      this.users = next;
      this.revision = revision;
      this.confirmedMs = this.now();
      if (this.unreachableSinceMs !== undefined)
        this.o.log.info(
          'fleet',
          `directory reachable again at ${this.o.etcd.endpoint}; caught up to revision ${revision}`,
        );
      this.unreachableSinceMs = undefined;
      this.lastError = undefined;
      const wasStale = this.stale;
      this.stale = false;
      await this.persist();
      if (changed || wasStale) this.o.onUsersChanged();
      return true;
    } catch (e) {
      await this.unreachable(e instanceof OtpknockError ? e.what : (e as Error).message);
      return false;
    }
  }

  /** Reads, watches and confirms until stop(). */
  start(): void {
    void this.cycle();
  }

  stop(): void {
    this.stopped = true;
    this.cancelWatch?.();
    clearTimeout(this.timer);
  }

  /** A read, a watch from the revision read, and the next confirmation after check_interval. */
  private async cycle(): Promise<void> {
    if (this.stopped) return;
    const ok = await this.refresh();
    if (this.stopped) return;
    if (ok && this.cancelWatch === undefined) this.watch();
    if (!ok) {
      this.cancelWatch?.();
      this.cancelWatch = undefined;
      this.checkStale();
    }
    this.timer = setTimeout(() => void this.cycle(), this.o.fleet.checkIntervalMs);
  }

  private watch(): void {
    this.cancelWatch = this.o.etcd.watchPrefix(
      this.prefix,
      this.revision + 1,
      (events, revision) => this.apply(events, revision),
      (e: EtcdError) => {
        this.cancelWatch = undefined;
        if (this.stopped) return;
        this.o.log.warn('fleet', `directory watch ended (${e.what}); reading again`);
        clearTimeout(this.timer);
        // Not at once in a loop: a member that ends every watch would spin us.
        this.timer = setTimeout(() => void this.cycle(), 1_000);
      },
    );
  }

  private apply(events: WatchEvent[], revision: number): void {
    for (const e of events) {
      const name = e.key.slice(this.prefix.length);
      if (e.type === 'delete') this.users.delete(name);
      else {
        const r = parseServerUserRecord(e.value, e.key);
        if ('problem' in r) {
          this.o.log.warn('fleet', `directory record left out: ${r.problem}`);
          this.users.delete(name);
        } else this.users.set(r.name, r);
      }
    }
    this.revision = Math.max(this.revision, revision, ...events.map((e) => e.modRevision));
    void this.persist().then(() => this.o.onUsersChanged());
  }

  private unreachable(error: string): Promise<void> {
    // The packaged unit allows no IP sockets (RestrictAddressFamilies): say what to add.
    const message = /EAFNOSUPPORT|address family not supported/i.test(error)
      ? `${error} (the systemd unit allows no IP sockets: add the drop-in of docs/fleet.md, RestrictAddressFamilies=AF_INET AF_INET6)`
      : error;
    this.lastError = message;
    if (this.unreachableSinceMs === undefined) {
      this.unreachableSinceMs = this.now();
      const asOf =
        this.confirmedMs === undefined ? 'never confirmed' : `confirmed ${new Date(this.confirmedMs).toISOString()}`;
      this.o.log.error(
        'fleet',
        `directory unreachable: ${message}; keeping the ${this.users.size} users last read (revision ${this.revision}, ${asOf})`,
      );
    }
    return this.persist();
  }

  /** With max_stale: the directory's users go once they could not be confirmed for that long. */
  private checkStale(): void {
    const max = this.o.fleet.maxStaleMs;
    if (max === undefined || this.stale || this.users.size === 0) return;
    const since = this.confirmedMs ?? this.unreachableSinceMs ?? this.now();
    if (this.now() - since < max) return;
    this.stale = true;
    this.o.log.error(
      'fleet',
      `directory not confirmed for ${Math.round((this.now() - since) / 1000)} s (max_stale): dropping its ${this.users.size} users; local users and break_glass stay`,
    );
    this.users = new Map();
    void this.persist().then(() => this.o.onUsersChanged());
  }

  /** Writes fleet.json (one write at a time, in order). */
  private persist(): Promise<void> {
    const cache: FleetCache = {
      version: 1,
      fleet: this.o.fleet.name,
      server: this.o.fleet.server,
      revision: this.revision,
      ...(this.confirmedMs === undefined ? {} : { confirmedAt: new Date(this.confirmedMs).toISOString() }),
      ...(this.unreachableSinceMs === undefined
        ? {}
        : { unreachableSince: new Date(this.unreachableSinceMs).toISOString() }),
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
      pid: process.pid,
      users: [...this.users.values()].sort((a, b) => a.name.localeCompare(b.name)),
    };
    this.writing = this.writing
      .then(() => writeFleetCache(this.o.stateDir, cache))
      .catch((e: unknown) => this.o.log.error('fleet', `cannot write the fleet cache: ${(e as Error).message}`));
    return this.writing;
  }
}

function sameUsers(a: Map<string, ServerUserRecord>, b: Map<string, ServerUserRecord>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (JSON.stringify(b.get(k)) !== JSON.stringify(v)) return false;
  return true;
}
