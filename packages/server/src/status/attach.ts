// The team features around a running daemon, attached through its hooks:
// - the user store is checked at every window boundary and applied in place;
// - the status file (state_dir/status.json) is rewritten after every change;
// - the audit: NFLOG events from the final chains → user/window via the trie →
//   a log line and a line in state_dir/audit.jsonl;
// - refused knocks (same NFLOG group): explained per source (refusals/), logged,
//   kept in state_dir/refusals.json for `why` and `status`.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@otpknock/shared/safe-file';
import { appendAudit, type AuditEvent } from '../audit/audit-file.js';
import { LeafBook } from '../audit/leaf-book.js';
import {
  FORWARD_PREFIX,
  OPEN_PREFIX,
  REPLAY_PREFIX,
  startNflogReader,
  type NflogPacket,
  type NflogReader,
} from '../audit/nflog.js';
import { loadConfig } from '../config/index.js';
import type { ServerConfig } from '../config/types.js';
import type { ConsumedSequences } from '../daemon/consumed.js';
import type { DaemonHooks } from '../daemon/daemon.js';
import { usedTimeoutMs } from '../ruleset/full-load.js';
import type { KnockEntry } from '../plan/entries.js';
import type { TrieState } from '../trie/state.js';
import type { Logger } from '../log.js';
import { storeSignature } from '../users/store.js';
import { RefusalWatch } from '../refusals/watch.js';
import { NftDriver } from '../nft/driver.js';
import { bannedFromJson } from '../nft/ban.js';
import { statusSnapshot, STATUS_FILE } from './snapshot.js';

export interface TeamFeatures {
  /** For the Daemon's constructor. */
  readonly hooks: DaemonHooks;
  /** Resolves when the audit reader is bound (or has failed, which is logged). */
  readonly auditReady: Promise<boolean>;
  stop(): void;
}

/**
 * `initial`: the daemon's config at start (the hooks see every later one);
 * `consumed`: where the audit reports each consumed sequence (the daemon's too).
 */
export function createTeamFeatures(
  initial: ServerConfig,
  configFile: string,
  log: Logger,
  consumed: ConsumedSequences,
): TeamFeatures {
  const book = new LeafBook();
  let config: ServerConfig = initial;
  let stopped = false;
  const beforeRotation = userStoreWatcher(() => config, configFile, log);
  const writeStatus = statusWriter(log);
  const nft = new NftDriver();
  // Only the two ban sets: listing the whole table (the knock data) every few seconds would cost at scale.
  const refusals = new RefusalWatch(log, initial, async () => {
    const out = [];
    for (const set of ['banned4', 'banned6']) {
      const doc = await nft.listJson(['set', 'inet', config.table, set]);
      if (doc === null) return undefined;
      out.push(...bannedFromJson(doc));
    }
    return out;
  });
  void refusals.load(); // before the first packet can come: the reader starts below
  const audit = new AuditReader(log, (p) => {
    const entry = book.get(p.mark);
    if (!refusals.onPacket(p, entry)) onAuditPacket(p, entry, config, consumed, log);
  });

  const onCommit = ({ config: c, trie, nowMs }: { config: ServerConfig; trie: TrieState; nowMs: number }) => {
    if (stopped) return;
    config = c;
    // A reload that changes audit_nflog_group loads chains that log to the new group.
    if (c.auditNflogGroup !== audit.group) void audit.start(c.auditNflogGroup);
    book.record(trie, nowMs);
    refusals.configChanged(c);
    writeStatus(c, trie, nowMs);
  };

  return {
    hooks: { beforeRotation, onCommit },
    auditReady: audit.start(config.auditNflogGroup),
    stop: () => {
      stopped = true;
      audit.stop();
      refusals.stop();
    },
  };
}

/** At each boundary: the config with the user store as it is now, when the store changed. */
function userStoreWatcher(
  current: () => ServerConfig,
  configFile: string,
  log: Logger,
): () => Promise<ServerConfig | undefined> {
  const dir0 = current().userStore;
  let signature: Promise<string> | undefined = dir0 === undefined ? undefined : storeSignature(dir0);
  return async () => {
    const dir = current().userStore;
    if (dir === undefined) return undefined;
    const now = await storeSignature(dir);
    if (now === (await signature)) return undefined;
    signature = Promise.resolve(now);
    try {
      const next = await loadConfig(configFile);
      log.info('users', 'the user store changed; applying it from this window on', { users: next.users.length });
      return next;
    } catch (e) {
      log.error(
        'users',
        `the user store changed but cannot be used, still running the previous users: ${(e as Error).message}`,
      );
      return undefined;
    }
  };
}

/** Rewrites state_dir/status.json after every change, one write at a time. */
function statusWriter(log: Logger): (config: ServerConfig, trie: TrieState, nowMs: number) => void {
  const startedMs = Date.now();
  let writing = Promise.resolve();
  return (c, trie, nowMs) => {
    const snapshot = statusSnapshot(c, trie, nowMs, { pid: process.pid, startedMs });
    const write = async () => {
      await mkdir(c.stateDir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(join(c.stateDir, STATUS_FILE), `${JSON.stringify(snapshot, null, 2)}\n`);
    };
    writing = writing.then(write).catch((e: unknown) => {
      log.warn('status', `cannot write the status file: ${(e as Error).message}`);
    });
  };
}

/** Pure: a logged packet and the sequence behind its mark → the audit event. */
export function auditEventOf(
  p: NflogPacket,
  entry: KnockEntry | undefined,
  config: ServerConfig,
): AuditEvent | undefined {
  if (p.prefix.startsWith(`${FORWARD_PREFIX} `)) return forwardEventOf(p);
  const replay = p.prefix === REPLAY_PREFIX;
  if (!replay && p.prefix !== OPEN_PREFIX) return undefined;
  const services =
    entry === undefined
      ? []
      : config.services.filter((_, i) => (entry.serviceMask & (1 << i)) !== 0).map((s) => s.name);
  return {
    time: new Date(p.receivedMs || Date.now()).toISOString(),
    event: replay ? 'replay' : (entry?.action ?? 'open'),
    ...(entry === undefined ? {} : { user: entry.user, window: entry.window }),
    services,
    address: p.saddr,
    family: p.family,
    ...(entry?.source === undefined ? {} : { source: entry.source }),
    ...(config.fleet?.server === undefined ? {} : { server: config.fleet.server, fleet: config.fleet.name }),
  };
}

/** A new forwarded connection a grant let through: who, to which service, and where it went after DNAT. */
function forwardEventOf(p: NflogPacket): AuditEvent {
  const host = p.daddr === undefined ? undefined : p.family === 6 ? `[${p.daddr}]` : p.daddr;
  return {
    time: new Date(p.receivedMs || Date.now()).toISOString(),
    event: 'forward',
    services: [p.prefix.slice(FORWARD_PREFIX.length + 1)],
    address: p.saddr,
    family: p.family,
    ...(host === undefined ? {} : { destination: p.dport === undefined ? host : `${host}:${p.dport}` }),
  };
}

/** One completed knock or refused replay: remembered if consumed, logged, appended to the audit file. */
function onAuditPacket(
  p: NflogPacket,
  entry: KnockEntry | undefined,
  config: ServerConfig,
  consumed: ConsumedSequences,
  log: Logger,
): void {
  const ev = auditEventOf(p, entry, config);
  if (ev === undefined) return;
  if (ev.event === 'forward') {
    const to = ev.destination === undefined ? '' : ` to ${ev.destination}`;
    log.info('audit', `forwarded a connection of ${ev.address} to ${ev.services.join(',')}${to}`, {
      services: ev.services.join(','),
      address: ev.address,
      family: ev.family,
      destination: ev.destination,
    });
    appendOrWarn(config, ev, log);
    return;
  }
  const replay = ev.event === 'replay';
  // Kept in state_dir too, so a consume survives a stop or a reboot inside its window.
  if (!replay && entry?.oneTime === true) {
    consumed.remember(entry.ports, usedTimeoutMs(config));
    void consumed.save();
  }
  const services = ev.services.join(',');
  const what = replay ? 'refused a replay of a used sequence' : `${ev.event} ${services || '?'}`;
  const fields = {
    user: ev.user ?? 'unknown',
    services,
    address: ev.address,
    family: ev.family,
    window: ev.window,
    source: ev.source,
    ...(ev.server === undefined ? {} : { server: ev.server, fleet: ev.fleet }),
  };
  const on = ev.server === undefined ? '' : ` on ${ev.server}`;
  if (replay) log.warn('audit', `${ev.user ?? 'unknown user'}: ${what} from ${ev.address}${on}`, fields);
  else log.info('audit', `${ev.user ?? 'unknown user'}: ${what} for ${ev.address}${on}`, fields);
  appendOrWarn(config, ev, log);
}

function appendOrWarn(config: ServerConfig, ev: AuditEvent, log: Logger): void {
  appendAudit(config.stateDir, ev).catch((e: unknown) =>
    log.warn('audit', `cannot append to the audit file: ${(e as Error).message}`),
  );
}

/** The NFLOG reader of the audit group, restarted when the group changes. */
class AuditReader {
  private reader: NflogReader | undefined;
  group: number | undefined;

  constructor(
    private readonly log: Logger,
    private readonly onPacket: (p: NflogPacket) => void,
  ) {}

  /** Resolves to whether the group is bound (a failure is logged: knocking works without audit). */
  start(group: number): Promise<boolean> {
    this.reader?.stop();
    this.group = group;
    try {
      this.reader = startNflogReader(group, this.onPacket);
      return this.reader.ready.then(
        () => {
          this.log.info('audit', `reading opens from NFLOG group ${group}`);
          return true;
        },
        (e: unknown) => {
          this.log.warn('audit', `no audit of opens: ${(e as Error).message}; knocking works as before`);
          return false;
        },
      );
    } catch (e) {
      this.reader = undefined;
      this.log.warn('audit', `no audit of opens: ${(e as Error).message}`);
      return Promise.resolve(false);
    }
  }

  stop(): void {
    this.reader?.stop();
  }
}
