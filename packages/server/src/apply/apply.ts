// `otpknockd apply` / `confirm` / `revert`: install a new config for the running
// daemon the way iptables-apply installs rules. The new file is checked first
// (nothing changes if it is invalid); the live config is backed up; a detached
// watchdog puts the backup back and reloads unless `confirm` comes in time.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { OtpknockError } from '@otpknock/shared';
import { writeFileAtomic } from '@otpknock/shared/safe-file';
import { formatDuration } from '../config/index.js';
import { profileChangesText } from '../users/profile-changes.js';
import { DEFAULTS } from '../config/schema.js';
import { fullRuleset } from '../ruleset/full-load.js';
import { NftDriver } from '../nft/driver.js';
import { tableHolder } from '../state/table-lock.js';
import { appendOperatorRecord, currentOperator, operatorRecord } from '../audit/operator.js';
import { isDaemonProcess, readDaemonState, runningDaemon, type DaemonState } from './daemon-state.js';
import { loadForLive, stateDirOf } from './live-target.js';

export { stateDirOf };
import {
  applyDir,
  backupPath,
  claimPending,
  readLastOutcome,
  readPending,
  recordOutcome,
  writePending,
  type ApplyOutcome,
  type PendingApply,
} from './pending.js';

/** A failure of apply/confirm/revert: exit 1, with what to do. */
export class ApplyError extends OtpknockError {
  constructor(what: string, hint?: string) {
    super('E_APPLY', what, hint === undefined ? {} : { hint });
    this.name = 'ApplyError';
  }
}

export const CONFIRM_WITHIN = { min: 5_000, max: 3_600_000 } as const;
const RELOAD_WAIT_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends SIGHUP and waits until the daemon says the reload finished; its verdict. */
export async function reloadDaemon(stateDir: string, daemon: DaemonState): Promise<'loaded' | 'refused' | 'no answer'> {
  const before = daemon.generation;
  process.kill(daemon.pid, 'SIGHUP');
  const until = Date.now() + RELOAD_WAIT_MS;
  while (Date.now() < until) {
    await sleep(100);
    const now = await readDaemonState(stateDir);
    if (now !== undefined && now.pid === daemon.pid && now.generation > before)
      return now.lastReload?.result ?? 'loaded';
    if (!(await isDaemonProcess(daemon.pid))) return 'no answer';
  }
  return 'no answer';
}

/**
 * Copies `from` over `to` atomically and durably (fsynced file and directory: the
 * live config and its backup must survive a power cut right after apply), keeping
 * `from`'s permission bits.
 */
async function installFile(from: string, to: string): Promise<void> {
  const mode = (await stat(from)).mode & 0o7777;
  await writeFileAtomic(to, await readFile(from, 'utf8'), { mode });
}

export interface ApplyOptions {
  configFile: string;
  confirmWithinMs: number;
  /** How the watchdog is started: argv of this program, without the subcommand. */
  selfArgv: string[];
  print: (line: string) => void;
}

export interface ApplyResult {
  pending: PendingApply;
  daemon: DaemonState;
}

/** Validates, backs up, installs, reloads and arms the watchdog. */
export async function applyConfig(opts: ApplyOptions): Promise<ApplyResult> {
  const newFile = resolve(opts.configFile);
  // 1. The new file must be valid as a whole — as it will be at the live file's place,
  // relative paths included — and acceptable to nft (nothing changes otherwise).
  const { config, daemon, baseDir, changes } = await loadForLive(newFile);
  await new NftDriver().check(fullRuleset(config, Date.now()).script);
  const stateDir = config.stateDir;

  // 2. The running daemon, and the config file it reads.
  if (daemon === undefined) {
    // The pid file may be missing while a daemon holds the table (another state_dir
    // in NEWFILE, a file removed by hand): say who runs, not "put the file in place".
    const holder = await tableHolder(config.table);
    if (holder !== undefined) {
      throw new ApplyError(
        `otpknockd runs as pid ${holder.pid} for table inet ${config.table}${holder.config === undefined ? '' : ` (config ${holder.config})`}, but ${join(stateDir, 'daemon.json')} does not name it`,
        `apply follows the daemon through that file: give the new file the daemon's state_dir, or restart the daemon (systemctl restart otpknockd) so that it writes the file again`,
      );
    }
    throw new ApplyError(
      `no running otpknockd found (no live pid in ${join(stateDir, 'daemon.json')}, and nobody holds table inet ${config.table})`,
      'start it (systemctl start otpknockd); without a daemon, just put the file in place',
    );
  }
  const live = daemon.config;
  if ((await realpath(newFile)) === (await realpath(live).catch(() => live))) {
    throw new ApplyError(
      `${newFile} is the live config itself, so there would be nothing to go back to`,
      `write the new config to another file (e.g. cp ${live} /root/otpknockd.new.yaml, edit that) and apply that file`,
    );
  }

  // 3. One apply at a time.
  await mkdir(applyDir(stateDir), { recursive: true, mode: 0o700 });
  const existing = await readPending(stateDir);
  if (existing !== undefined) {
    throw new ApplyError(
      `an apply of ${existing.applied} is still waiting for confirmation (until ${new Date(existing.deadline).toISOString()})`,
      'run "otpknockd confirm" to keep it or "otpknockd revert" to go back, then apply again',
    );
  }

  // 4. Back up the live config, arm the watchdog, then install and reload.
  const backup = backupPath(stateDir);
  await installFile(live, backup);
  const pending: PendingApply = {
    id: randomBytes(6).toString('hex'),
    live,
    backup,
    applied: newFile,
    deadline: Date.now() + opts.confirmWithinMs,
    confirmWithinMs: opts.confirmWithinMs,
  };
  await writePending(stateDir, pending);
  const watchdog = spawn(
    process.execPath,
    [...opts.selfArgv, 'apply-watchdog', '--state-dir', stateDir, '--id', pending.id],
    {
      detached: true, // its own session: survives the ssh session that ran apply
      stdio: 'ignore',
    },
  );
  watchdog.unref();
  pending.watchdogPid = watchdog.pid;
  await writePending(stateDir, pending);

  await installFile(newFile, live);
  const result = await reloadDaemon(stateDir, daemon);
  if (result !== 'loaded') {
    const restored = await revertApply(stateDir, pending.id, 'the daemon did not load it');
    const reason = (await readDaemonState(stateDir))?.lastReload?.reason;
    throw new ApplyError(
      result === 'refused'
        ? `the daemon refused ${newFile} on reload${reason === undefined ? ' (see its log: journalctl -u otpknockd)' : `: ${reason}`}; the previous config was put back${restored ? '' : ' (or had already been)'}`
        : `the daemon did not answer the reload within ${RELOAD_WAIT_MS / 1000}s; the previous config was put back`,
    );
  }
  const at = new Date(pending.deadline);
  opts.print(
    [
      `otpknockd apply: ${newFile} is valid and nft accepts it.`,
      ...(baseDir === undefined
        ? []
        : [`  relative paths (secret_file, user_store) resolved against ${baseDir}, where it is installed`]),
      ...(changes.length === 0 ? [] : [`  note: ${profileChangesText(changes)}`]),
      `  previous config saved to ${backup}`,
      `  installed as ${live}; otpknockd (pid ${daemon.pid}) reloaded: table inet ${config.table} now runs the new config.`,
      '',
      'Check NOW, from a NEW connection, that you can still get in (e.g. knock myserver && ssh myserver).',
      'Then keep the new config with:',
      '',
      '    otpknockd confirm' + (stateDir === DEFAULTS.stateDir ? '' : ` --state-dir ${stateDir}`),
      '',
      `within ${formatDuration(opts.confirmWithinMs)} (before ${at.toISOString()}), or the previous config is restored and reloaded automatically.`,
      'Established connections are never cut, by the new config or by the revert.',
    ].join('\n'),
  );
  return { pending, daemon };
}

/** Keeps the applied config: stops the watchdog. */
export async function confirmApply(stateDir: string): Promise<PendingApply> {
  const p = await claimPending(stateDir, 'confirm');
  if (p === undefined) {
    const last = await readLastOutcome(stateDir);
    throw new ApplyError(
      last === undefined
        ? `nothing to confirm: no apply is pending in ${stateDir}`
        : `nothing to confirm: the apply of ${last.applied} was already ${last.result} at ${last.at}`,
      last?.result === 'reverted'
        ? `${last.live} holds the previous config again; apply again with a longer --confirm-within if you need more time`
        : undefined,
    );
  }
  if (p.watchdogPid !== undefined) await stopWatchdog(p.watchdogPid);
  await recordOutcome(stateDir, {
    id: p.id,
    result: 'confirmed',
    at: new Date().toISOString(),
    live: p.live,
    backup: p.backup,
    applied: p.applied,
  });
  return p;
}

async function stopWatchdog(pid: number): Promise<void> {
  const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!argv.split('\0').includes('apply-watchdog')) return; // gone, or a recycled pid
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

/**
 * Puts the backup back over the live config and reloads the daemon (if one
 * runs). Returns the outcome, or undefined when there was nothing to revert.
 */
export async function revertApply(
  stateDir: string,
  id: string | undefined,
  why: string,
): Promise<ApplyOutcome | undefined> {
  const p = await claimPending(stateDir, 'revert', id);
  if (p === undefined) return undefined;
  await installFile(p.backup, p.live);
  const daemon = await runningDaemon(stateDir);
  const reload = daemon === undefined ? 'no daemon running' : await reloadDaemon(stateDir, daemon);
  const outcome: ApplyOutcome = {
    id: p.id,
    result: 'reverted',
    at: new Date().toISOString(),
    live: p.live,
    backup: p.backup,
    applied: p.applied,
    reload,
  };
  await recordOutcome(stateDir, outcome);
  await appendLog(stateDir, `reverted ${p.live} to ${p.backup} (${why}); reload: ${reload}`);
  // Every revert — by hand, after a refused reload, by the watchdog — in the audit, with why.
  const details = { reason: why, applied: p.applied, restored: p.backup, reload };
  await appendOperatorRecord(stateDir, operatorRecord(await currentOperator(), 'revert', { target: p.live, details }));
  if (p.watchdogPid !== undefined && p.watchdogPid !== process.pid) await stopWatchdog(p.watchdogPid);
  return outcome;
}

async function appendLog(stateDir: string, line: string): Promise<void> {
  await appendFile(join(applyDir(stateDir), 'apply.log'), `${new Date().toISOString()} ${line}\n`, {
    mode: 0o600,
  }).catch(() => undefined);
}

/** A pending apply whose watchdog is gone (a reboot, a kill): nobody will revert it. */
export async function isStale(p: PendingApply): Promise<boolean> {
  if (p.watchdogPid === undefined) return true;
  const argv = await readFile(`/proc/${p.watchdogPid}/cmdline`, 'utf8').catch(() => '');
  return !argv.split('\0').includes(p.id);
}

/** The detached watchdog: waits for the deadline (bounded steps), then reverts unless confirmed. */
export async function runWatchdog(stateDir: string, id: string): Promise<void> {
  for (;;) {
    const p = await readPending(stateDir);
    if (p === undefined || p.id !== id) return; // confirmed, or reverted by hand
    const left = p.deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(left, 1_000));
  }
  await revertApply(stateDir, id, `not confirmed within the time given`);
}
