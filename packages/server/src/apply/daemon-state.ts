// The running daemon's pid file: `STATE_DIR/daemon.json`, written by `run` at
// start and after every SIGHUP reload, removed on a clean stop. `apply`,
// `confirm` and `revert` find the daemon (and its config file) through it, and
// learn from `generation`/`lastReload` whether a reload took.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@otpknock/shared/safe-file';

export interface DaemonState {
  pid: number;
  /** Absolute path of the config file the daemon reads on SIGHUP. */
  config: string;
  startedAt: string;
  /** Counts completed reloads; apply waits for it to move after its SIGHUP. */
  generation: number;
  /** The last reload's outcome; `reason`: why the daemon refused it (the config error, one line). */
  lastReload?: { at: string; result: 'loaded' | 'refused'; reason?: string };
}

export const daemonStatePath = (stateDir: string): string => join(stateDir, 'daemon.json');

export async function readDaemonState(stateDir: string): Promise<DaemonState | undefined> {
  try {
    const s = JSON.parse(await readFile(daemonStatePath(stateDir), 'utf8')) as DaemonState;
    return typeof s.pid === 'number' && typeof s.config === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Is `pid` alive and an otpknockd `run` (not a recycled pid)? */
export async function isDaemonProcess(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as { code?: string }).code !== 'EPERM') return false;
  }
  const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8').then(
    (t) => t.split('\0'),
    () => undefined,
  );
  return argv === undefined || argv.includes('run');
}

/** The live daemon recorded in the state dir, if it is still running. */
export async function runningDaemon(stateDir: string): Promise<DaemonState | undefined> {
  const s = await readDaemonState(stateDir);
  return s !== undefined && (await isDaemonProcess(s.pid)) ? s : undefined;
}

/**
 * What `run` keeps up to date. Synchronous to call (so the daemon's signal
 * handlers go in without a gap); the writes run in order behind it. Failures
 * to write are reported, never fatal.
 */
export function recordDaemon(stateDir: string, config: string, onError: (msg: string) => void) {
  const state: DaemonState = { pid: process.pid, config, startedAt: new Date().toISOString(), generation: 0 };
  const write = async () => {
    try {
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(daemonStatePath(stateDir), `${JSON.stringify(state)}\n`);
    } catch (e) {
      onError(`cannot write ${daemonStatePath(stateDir)} (otpknockd apply needs it): ${(e as Error).message}`);
    }
  };
  let chain = write();
  const then = (job: () => Promise<void>) => (chain = chain.then(job));
  return {
    reloaded: (loaded: boolean, reason?: string) =>
      then(() => {
        state.generation += 1;
        state.lastReload = {
          at: new Date().toISOString(),
          result: loaded ? 'loaded' : 'refused',
          ...(loaded || reason === undefined ? {} : { reason }),
        };
        return write();
      }),
    /** Removes the pid file if it is still ours (never another daemon's). */
    remove: () =>
      then(async () => {
        if ((await readDaemonState(stateDir))?.pid === process.pid)
          await rm(daemonStatePath(stateDir), { force: true }).catch(() => undefined);
      }),
  };
}
