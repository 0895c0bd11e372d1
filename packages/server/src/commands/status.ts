// `otpknockd status [--json]`: what is live right now. The kernel table is read
// directly (grants and their remaining time, counters, consumed sequences); the
// daemon's status file adds what only it knows (users with live sequences).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { OtpknockError, windowAt } from '@otpknock/shared';
import { isAccessEvent, readAudit, type AuditEvent } from '../audit/audit-file.js';
import { loadConfig } from '../config/index.js';
import { readMode, type ServiceMode } from '../mode.js';
import { NftDriver } from '../nft/driver.js';
import { allowedFromJson, countersFromJson } from '../nft/inspect.js';
import { STATUS_FILE, type StatusSnapshot } from '../status/snapshot.js';
import { bannedFromJson } from '../nft/ban.js';
import type { RefusalsFile } from '../refusals/book.js';
import { readRefusals, timeLeft } from '../refusals/file.js';
import { DEFAULT_CONFIG, EXIT } from './common.js';
import { readFleetCache, type FleetCache } from '../fleet/cache.js';
import { readDaemonState, runningDaemon, type DaemonState } from '../apply/daemon-state.js';
import { looseSettingsOf } from '../apply/live-target.js';
import { ConfigError } from '../config/errors.js';
import type { ServerConfig } from '../config/types.js';
import { noUsersText } from '../users/no-users.js';

export interface StatusReport {
  table: string;
  /** False when our table is not in the kernel (daemon stopped, or never started). */
  loaded: boolean;
  /** The global mode (`otpknockd mode`): knock, open or closed. */
  mode: ServiceMode;
  daemon: { pid: number; running: boolean; startedAt: string; updatedAt: string } | null;
  /** period (s) → current window. */
  currentWindows: Record<string, number>;
  /** Users with live sequences, from the daemon's status file (empty when it cannot be current). */
  users: StatusSnapshot['users'];
  inactiveUsers: string[];
  /**
   * Set when the status file's users cannot be current (the daemon is not running, or
   * the table is gone): when they were last true. `users` is then empty, these are in
   * `lastKnownUsers`.
   */
  usersAsOf: string | null;
  lastKnownUsers: StatusSnapshot['users'];
  grants: { service: string; family: 4 | 6; address: string; remainingMs: number }[];
  counters: Record<string, number>;
  consumedSequences: number;
  knocksInProgress: number;
  /** Sources banned for too many bad knocks right now. */
  bannedSources: number;
  /** The banned addresses (IPv6: /64 prefixes), with their time left and why (as the daemon saw the ban). */
  banned: { address: string; family: 4 | 6; remainingMs: number; since?: string; source?: string; why?: string }[];
  /** The sources whose knocks were refused most recently, with the daemon's explanation (refusals.json). */
  recentRefusals: { address: string; refused: number; last: string; cause?: string; user?: string; why?: string }[];
  recentOpens: AuditEvent[];
  /** With a fleet: how its directory is doing, from state_dir/fleet.json; null without a fleet. */
  fleet?: FleetStatus | null;
  /**
   * The running daemon's last reload, when it refused it (SIGHUP: systemctl reload or
   * apply): when and why; the config it ran before stays live. Null once a reload succeeds.
   */
  reloadRefused: { at: string; reason: string } | null;
  /** Set when the config file does not load now (the running daemon keeps the one it loaded before): the first line of why. */
  configProblem?: string;
  /** Set when the running daemon's table has no user at all (it opens for nobody by knock): what that means. */
  noUsers?: string | null;
}

export interface FleetStatus {
  name: string;
  server: string;
  /** False while the daemon cannot confirm its users with the directory. */
  reachable: boolean;
  revision: number;
  confirmedAt: string | null;
  unreachableSince: string | null;
  lastError: string | null;
  users: number;
}

/** Pure: the fleet line's data from the fleet cache (undefined: never read). */
export function fleetStatusOf(name: string, server: string, cache: FleetCache | undefined): FleetStatus {
  return {
    name,
    server,
    reachable: cache !== undefined && cache.unreachableSince === undefined && cache.confirmedAt !== undefined,
    revision: cache?.revision ?? 0,
    confirmedAt: cache?.confirmedAt ?? null,
    unreachableSince: cache?.unreachableSince ?? null,
    lastError: cache?.lastError ?? null,
    users: cache?.users.length ?? 0,
  };
}

/** Pure: whether the running daemon's live table has no user at all (not: a stopped daemon's). */
export function liveTableWithoutUsers(r: StatusReport): boolean {
  return (
    r.daemon?.running === true &&
    r.loaded &&
    r.usersAsOf === null &&
    r.users.length === 0 &&
    r.inactiveUsers.length === 0
  );
}

function fleetLine(f: FleetStatus): string {
  const head = `fleet ${f.name}, server ${f.server}:`;
  if (f.reachable)
    return `${head} directory reachable, revision ${f.revision}, confirmed ${f.confirmedAt} (${f.users} users)`;
  if (f.confirmedAt === null && f.unreachableSince === null) return `${head} directory never read yet`;
  return `${head} directory UNREACHABLE since ${f.unreachableSince ?? '?'} (${f.lastError ?? 'unknown error'}); serving the ${f.users} users last confirmed ${f.confirmedAt ?? 'never'}`;
}

/** How many banned addresses and refusing sources status lists. */
export const STATUS_LIST_MAX = 20;

/** Pure: the banned addresses of the kernel with what the daemon knows of each ban. */
function bannedList(doc: unknown, refusals: RefusalsFile | null): StatusReport['banned'] {
  return bannedFromJson(doc)
    .sort((a, b) => b.remainingMs - a.remainingMs)
    .slice(0, STATUS_LIST_MAX)
    .map((b) => {
      const ban = refusals?.bans.find((x) => x.address === b.address);
      const src = ban === undefined ? undefined : refusals?.sources.find((s) => s.address === ban.source);
      const why = src?.explanation === undefined ? undefined : `${src.explanation.cause}: ${src.explanation.text}`;
      return {
        address: b.address,
        family: b.family,
        remainingMs: b.remainingMs,
        ...(ban === undefined ? {} : { since: new Date(ban.atMs).toISOString(), source: ban.source }),
        ...(why === undefined ? {} : { why }),
      };
    });
}

function recentRefusals(refusals: RefusalsFile | null): StatusReport['recentRefusals'] {
  return (refusals?.sources ?? []).slice(0, STATUS_LIST_MAX).map((s) => ({
    address: s.address,
    refused: s.refused,
    last: new Date(s.lastMs).toISOString(),
    ...(s.explanation === undefined
      ? {}
      : {
          cause: s.explanation.cause,
          ...(s.explanation.user === undefined ? {} : { user: s.explanation.user }),
          why: s.explanation.text,
        }),
  }));
}

function elemCount(doc: unknown, name: (n: string) => boolean): number {
  const list = (doc as { nftables?: Record<string, unknown>[] } | null)?.nftables ?? [];
  let n = 0;
  for (const o of list) {
    const s = (o.set ?? o.map) as { name?: string; elem?: unknown[] } | undefined;
    if (s?.name !== undefined && name(s.name)) n += s.elem?.length ?? 0;
  }
  return n;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/** Pure: the report from the kernel's JSON listing, the status file and the audit tail. */
export function buildStatus(
  table: string,
  doc: unknown | null,
  snapshot: StatusSnapshot | null,
  audit: AuditEvent[],
  now: number,
  periods: number[],
  mode: ServiceMode = 'knock',
  isAlive: (pid: number) => boolean = alive,
  refusals: RefusalsFile | null = null,
  pidFile: DaemonState | undefined = undefined,
): StatusReport {
  const currentWindows: Record<string, number> = {};
  for (const p of periods) currentWindows[String(p)] = windowAt(now, p);
  const daemon =
    snapshot === null
      ? null
      : {
          pid: snapshot.pid,
          running: isAlive(snapshot.pid),
          startedAt: snapshot.startedAt,
          updatedAt: snapshot.updatedAt,
        };
  // A stopped daemon rotates nothing: what its file says was true at its last change only.
  const current = snapshot !== null && daemon!.running && doc !== null;
  const stale = snapshot !== null && !current;
  return {
    table,
    loaded: doc !== null,
    mode,
    daemon,
    currentWindows,
    users: current ? snapshot.users : [],
    inactiveUsers: current ? snapshot.inactiveUsers : [],
    usersAsOf: stale ? snapshot.updatedAt : null,
    lastKnownUsers: stale ? snapshot.users : [],
    grants:
      doc === null
        ? []
        : allowedFromJson(doc).map((g) => ({
            service: g.service,
            family: g.family,
            address: g.address,
            remainingMs: g.remainingMs,
          })),
    counters: doc === null ? {} : countersFromJson(doc),
    consumedSequences: doc === null ? 0 : elemCount(doc, (n) => n === 'used'),
    knocksInProgress: doc === null ? 0 : elemCount(doc, (n) => /^progress[46]$/.test(n)),
    bannedSources: doc === null ? 0 : elemCount(doc, (n) => /^banned[46]$/.test(n)),
    banned: doc === null ? [] : bannedList(doc, refusals),
    recentRefusals: recentRefusals(refusals),
    recentOpens: audit.filter(isAccessEvent).slice(-20),
    reloadRefused: reloadRefusedOf(pidFile, isAlive),
  };
}

/** Pure: the pid file's last reload when the daemon that wrote it runs and refused it. */
function reloadRefusedOf(
  pidFile: DaemonState | undefined,
  isAlive: (pid: number) => boolean,
): StatusReport['reloadRefused'] {
  const last = pidFile?.lastReload;
  if (last?.result !== 'refused' || !isAlive(pidFile!.pid)) return null;
  return { at: last.at, reason: last.reason ?? 'see its log: journalctl -u otpknockd' };
}

/** How many lines of a refused reload's reason status prints. */
const REASON_LINES = 10;

function reloadRefusedLines(r: NonNullable<StatusReport['reloadRefused']>): string[] {
  const reason = r.reason.split('\n').filter((l) => l.trim() !== '');
  const more = reason.length - REASON_LINES;
  return [
    `config: the last reload, at ${r.at}, was REFUSED; the config loaded before it stays live until a reload succeeds (fix the file, then: systemctl reload otpknockd). Why:`,
    ...reason.slice(0, REASON_LINES).map((l) => `  ${l}`),
    ...(more > 0
      ? [`  … ${more} more line${more === 1 ? '' : 's'} (otpknockd check --config FILE lists them all)`]
      : []),
  ];
}

export function formatStatus(r: StatusReport): string {
  const lines: string[] = [];
  lines.push(
    `table inet ${r.table}: ${r.loaded ? 'loaded' : 'NOT loaded (the protected services are not guarded by otpknock)'}`,
  );
  lines.push(`mode: ${r.mode}`);
  if (r.fleet) lines.push(fleetLine(r.fleet));
  if (r.configProblem !== undefined)
    lines.push(
      `config file: does not load now${r.reloadRefused ? '' : ` (${r.configProblem})`}; this status reads its table and state_dir as written, and the running daemon's files`,
    );
  if (r.reloadRefused) lines.push(...reloadRefusedLines(r.reloadRefused));
  lines.push(
    r.daemon === null
      ? 'daemon: no status file'
      : `daemon: pid ${r.daemon.pid} ${r.daemon.running ? 'running' : 'NOT running'}, last change ${r.daemon.updatedAt}`,
  );
  lines.push(
    `current window: ${
      Object.entries(r.currentWindows)
        .map(([p, w]) => `${w} (${p}s)`)
        .join(', ') || '-'
    }`,
  );
  const names = (users: StatusReport['users']) =>
    users.map((u) => `${u.name}${u.sources.length > 1 ? ` [${u.sources.join('+')}]` : ''}`).join(', ') || 'none';
  if (r.noUsers) lines.push(`users: ${r.noUsers}`);
  if (r.usersAsOf === null) lines.push(`users with live sequences: ${names(r.users)}`);
  else {
    const why = r.daemon?.running ? 'the table is not loaded' : 'nothing rotates while the daemon is not running';
    lines.push(
      `users with live sequences: unknown (${why}); at the daemon's last change, ${r.usersAsOf}: ${names(r.lastKnownUsers)}`,
    );
  }
  if (r.inactiveUsers.length > 0) lines.push(`users without live sequences: ${r.inactiveUsers.join(', ')}`);
  lines.push(
    `counters: ${
      Object.entries(r.counters)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || '-'
    }`,
  );
  lines.push(
    `consumed sequences: ${r.consumedSequences}, knocks in progress: ${r.knocksInProgress}, banned sources: ${r.bannedSources}`,
  );
  if (r.banned.length > 0) lines.push('banned (otpknockd unban ADDR lifts a ban):');
  for (const b of r.banned)
    lines.push(
      `  ${b.address.padEnd(40)} ${timeLeft(b.remainingMs)} left${b.since ? `, since ${b.since}` : ''}: too many bad knocks${b.why ? ` (${b.why})` : ''}`,
    );
  lines.push(
    r.recentRefusals.length === 0
      ? 'recent refused knocks: none'
      : 'recent refused knocks (otpknockd why ADDR for one):',
  );
  for (const f of r.recentRefusals)
    lines.push(
      `  ${f.last}  ${f.address.padEnd(40)} ${String(f.refused).padStart(4)} refused  ${f.cause ? `${f.cause}${f.user ? ` (${f.user})` : ''}` : 'not explained yet'}`,
    );
  lines.push(r.grants.length === 0 ? 'grants: none' : 'grants:');
  for (const g of r.grants)
    lines.push(`  ${g.service.padEnd(12)} ${g.address.padEnd(40)} ${(g.remainingMs / 1000).toFixed(1)}s left`);
  lines.push(r.recentOpens.length === 0 ? 'recent opens: none' : 'recent opens:');
  for (const e of r.recentOpens)
    lines.push(
      `  ${e.time}  ${(e.user ?? '?').padEnd(12)} ${e.event} ${e.services.join(',')} for ${e.address}${e.source ? ` (${e.source})` : ''}${e.destination ? ` to ${e.destination}` : ''}`,
    );
  return `${lines.join('\n')}\n`;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description(
      'Show the current window, users with live sequences, banned addresses, recent refused knocks and why, live grants with their remaining time, counters and recent opens.',
    )
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
    .option('--json', 'print JSON')
    .action(async (o: { config: string; json?: boolean }) => {
      const target = await statusTarget(o.config);
      const nft = new NftDriver();
      const doc = await nft.listJson(['table', 'inet', target.table]);
      const snapshot = await readSnapshot(target.stateDir);
      const periods =
        target.config === undefined
          ? Object.keys(snapshot?.currentWindows ?? {}).map(Number)
          : [...new Set(target.config.users.filter((u) => u.profile.method !== 'static').map((u) => u.profile.period))];
      const report = buildStatus(
        target.table,
        doc,
        snapshot,
        await readAudit(target.stateDir, 200),
        Date.now(),
        periods,
        readMode(target.stateDir),
        undefined,
        await readRefusals(target.stateDir),
        target.daemon,
      );
      const fleet = target.config?.fleet;
      if (fleet?.server !== undefined) {
        const cache = await readFleetCache(target.stateDir, process.getuid?.() ?? 0);
        report.fleet = fleetStatusOf(fleet.name, fleet.server, cache);
      }
      if (target.configProblem !== undefined) report.configProblem = target.configProblem;
      report.noUsers = liveTableWithoutUsers(report) ? noUsersText(target.config ?? {}) : null;
      process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
      if (!report.loaded) process.exitCode = EXIT.failure;
    });
}

interface StatusTarget {
  table: string;
  stateDir: string;
  /** The config, when it loads. */
  config?: ServerConfig;
  /** Why it does not, when the daemon of its state_dir runs on the config it loaded before. */
  configProblem?: string;
  daemon?: DaemonState;
}

/**
 * What status reports on: the config file's table and state_dir. When the file does
 * not load (say, after an edit the daemon refused on reload) but the daemon of its
 * state_dir runs, status still reports on that daemon, reading the two loosely.
 */
async function statusTarget(file: string): Promise<StatusTarget> {
  try {
    const config = await loadConfig(file, { allowNoUsers: true });
    return { table: config.table, stateDir: config.stateDir, config, daemon: await readDaemonState(config.stateDir) };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const loose = await looseSettingsOf(file);
    const daemon = await runningDaemon(loose.stateDir);
    if (daemon === undefined) throw e;
    return { ...loose, daemon, configProblem: e.message.split('\n')[0]! };
  }
}

async function readSnapshot(stateDir: string): Promise<StatusSnapshot | null> {
  try {
    return JSON.parse(await readFile(join(stateDir, STATUS_FILE), 'utf8')) as StatusSnapshot;
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw new OtpknockError('E_STATUS', `cannot read ${join(stateDir, STATUS_FILE)}: ${(e as Error).message}`);
  }
}
