// The record of an apply that waits for `otpknockd confirm`, and the one step
// that both `confirm` and the watchdog take to claim it: an atomic rename, so
// exactly one of them wins when they race at the deadline.
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@otpknock/shared/safe-file';

export interface PendingApply {
  id: string;
  /** The config file the daemon reads (where the new config now is). */
  live: string;
  /** The previous live config, restored by a revert. */
  backup: string;
  /** The file that was applied. */
  applied: string;
  /** Unix ms after which the watchdog reverts. */
  deadline: number;
  confirmWithinMs: number;
  watchdogPid?: number;
}

export interface ApplyOutcome {
  id: string;
  result: 'confirmed' | 'reverted';
  at: string;
  live: string;
  backup: string;
  applied: string;
  /** After a revert: did the daemon load the restored config? */
  reload?: 'loaded' | 'refused' | 'no daemon running' | 'no answer';
}

export const applyDir = (stateDir: string): string => join(stateDir, 'apply');
const pendingPath = (stateDir: string) => join(applyDir(stateDir), 'pending.json');
const lastPath = (stateDir: string) => join(applyDir(stateDir), 'last.json');
export const backupPath = (stateDir: string): string => join(applyDir(stateDir), 'previous.yaml');

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export const readPending = (stateDir: string) => readJson<PendingApply>(pendingPath(stateDir));
export const readLastOutcome = (stateDir: string) => readJson<ApplyOutcome>(lastPath(stateDir));

export async function writePending(stateDir: string, p: PendingApply): Promise<void> {
  await writeFileAtomic(pendingPath(stateDir), `${JSON.stringify(p)}\n`);
}

/**
 * Takes the pending apply for `by` (confirm or revert). Resolves with it, or
 * undefined when there is none any more (someone else claimed it first).
 */
export async function claimPending(
  stateDir: string,
  by: 'confirm' | 'revert',
  id?: string,
): Promise<PendingApply | undefined> {
  const current = await readPending(stateDir);
  if (current === undefined || (id !== undefined && current.id !== id)) return undefined;
  const claimed = join(applyDir(stateDir), `${by}-${current.id}.json`);
  try {
    await rename(pendingPath(stateDir), claimed);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw e;
  }
  const p = await readJson<PendingApply>(claimed);
  await rm(claimed, { force: true });
  return p;
}

export async function recordOutcome(stateDir: string, o: ApplyOutcome): Promise<void> {
  await writeFileAtomic(lastPath(stateDir), `${JSON.stringify(o)}\n`);
}
