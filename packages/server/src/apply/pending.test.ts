import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyDir,
  claimPending,
  readLastOutcome,
  readPending,
  recordOutcome,
  writePending,
  type PendingApply,
} from './pending.js';

const dirs: string[] = [];
async function stateDir(): Promise<string> {
  const d = mkdtempSync(join(tmpdir(), 'otpknock-pending-'));
  dirs.push(d);
  await mkdir(applyDir(d), { recursive: true });
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const pending = (id: string): PendingApply => ({
  id,
  live: '/etc/x.yaml',
  backup: '/var/lib/x/previous.yaml',
  applied: '/root/new.yaml',
  deadline: 1,
  confirmWithinMs: 5000,
});

describe('claimPending', () => {
  it('hands a pending apply to exactly one of confirm and revert when they race', async () => {
    const d = await stateDir();
    await writePending(d, pending('a1'));
    const [c, r] = await Promise.all([claimPending(d, 'confirm'), claimPending(d, 'revert', 'a1')]);
    expect([c, r].filter((x) => x !== undefined)).toHaveLength(1);
    expect(await readPending(d)).toBeUndefined();
  });

  it('does not take an apply with another id (the watchdog of an older apply)', async () => {
    const d = await stateDir();
    await writePending(d, pending('new'));
    expect(await claimPending(d, 'revert', 'old')).toBeUndefined();
    expect((await readPending(d))?.id).toBe('new');
  });

  it('finds nothing when nothing is pending; outcomes are kept', async () => {
    const d = await stateDir();
    expect(await claimPending(d, 'confirm')).toBeUndefined();
    await recordOutcome(d, {
      id: 'x',
      result: 'reverted',
      at: 'now',
      live: 'l',
      backup: 'b',
      applied: 'a',
      reload: 'loaded',
    });
    expect(await readLastOutcome(d)).toMatchObject({ result: 'reverted', reload: 'loaded' });
  });
});
