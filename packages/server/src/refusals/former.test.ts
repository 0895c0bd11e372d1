// Removed users and replaced secrets: remembered within bounds, and kept over a restart
// in a private file (state_dir/former-secrets.json).
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sequenceDeriver, windowAt } from '@otpknock/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { serverConfig, timeProfile, user } from '@otpknock/server/testing';
import { explainPorts } from './explain.js';
import { FORMER_FILE, formerFileText, parseFormerFile, readFormerSecrets, writeFormerSecrets } from './former-file.js';
import { FormerSecrets, KEEP_FORMER_MS, MAX_FORMER } from './former.js';

const NOW = Date.UTC(2026, 11, 5, 2, 0, 10);
const profile = timeProfile({ exclude: [22] });
const alice = user('alice', { profile });
const carol = user('carol', { profile });
const both = serverConfig({ users: [alice, carol] });
const aliceOnly = serverConfig({ users: [alice] });
const carolsKnock = sequenceDeriver(profile, carol.secret)(windowAt(NOW, 30)).open;

let dir = '';
afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

describe('former secrets', () => {
  it('a user removed before a restart is still explained as removed after it (the file keeps the secret)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'otpknock-former-'));
    const before = new FormerSecrets();
    before.update(both, NOW - 60_000);
    expect(before.update(aliceOnly, NOW - 30_000)).toBe(true);
    await writeFormerSecrets(dir, before.all);
    expect(statSync(join(dir, FORMER_FILE)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, FORMER_FILE), 'utf8')).not.toContain('"secret":{'); // base32 text, not bytes

    // the restarted daemon: the first config it loads has no carol
    const after = new FormerSecrets();
    after.update(aliceOnly, NOW);
    const problems: string[] = [];
    expect(after.restore(await readFormerSecrets(dir, process.getuid?.() ?? 0, (m) => problems.push(m)), NOW)).toBe(
      true,
    );
    expect(problems).toEqual([]);
    const e = explainPorts({ config: aliceOnly, ports: carolsKnock, atMs: NOW, former: after.all });
    expect(e).toMatchObject({ cause: 'removed', user: 'carol' });
    expect(e.text).toContain(`who was removed at ${new Date(NOW - 30_000).toISOString()}`);
    // without the file it would be unknown (the old behaviour after a restart)
    expect(explainPorts({ config: aliceOnly, ports: carolsKnock, atMs: NOW, former: [] }).cause).toBe('unknown');
  });

  it('restored before the first config too; a user added back with the same secret is no longer former', () => {
    const kept = new FormerSecrets();
    kept.update(both, NOW - 60_000);
    kept.update(aliceOnly, NOW - 30_000);
    const restarted = new FormerSecrets();
    restarted.restore(parseFormerFile(formerFileText(kept.all)) as never, NOW);
    expect(restarted.all.map((f) => f.user)).toEqual(['carol']);
    restarted.update(both, NOW);
    expect(restarted.all).toEqual([]);
  });

  it('bounded: at most MAX_FORMER, none older than KEEP_FORMER_MS', () => {
    const f = new FormerSecrets();
    const many = Array.from({ length: MAX_FORMER + 10 }, (_, i) => ({
      user: `u${i}`,
      secret: user(`u${i}`).secret,
      profile,
      reason: 'removed' as const,
      sinceMs: NOW - 1000 * (MAX_FORMER + 10 - i),
    }));
    f.restore(many, NOW);
    expect(f.all).toHaveLength(MAX_FORMER);
    expect(f.all[0]!.user).toBe('u10'); // the newest are kept
    f.restore([{ ...many[0]!, user: 'old', sinceMs: NOW - KEEP_FORMER_MS - 1 }], NOW);
    expect(f.all.some((x) => x.user === 'old')).toBe(false);
  });

  it('a file others can read is not trusted (it holds secrets), and damaged entries are left out', async () => {
    dir = mkdtempSync(join(tmpdir(), 'otpknock-former-'));
    const f = new FormerSecrets();
    f.update(both, NOW - 1000);
    f.update(aliceOnly, NOW);
    await writeFormerSecrets(dir, f.all);
    chmodSync(join(dir, FORMER_FILE), 0o644);
    const problems: string[] = [];
    expect(await readFormerSecrets(dir, process.getuid?.() ?? 0, (m) => problems.push(m))).toEqual([]);
    expect(problems[0]).toMatch(/former-secrets\.json is ignored: its mode is 0644: it holds secrets/);
    writeFileSync(join(dir, FORMER_FILE), '{"version":1,"entries":[{"user":"x","secret":"!!","sinceMs":1}]}', {
      mode: 0o600,
    });
    chmodSync(join(dir, FORMER_FILE), 0o600);
    expect(await readFormerSecrets(dir, process.getuid?.() ?? 0, () => undefined)).toEqual([]);
    expect(parseFormerFile('nope')).toMatchObject({ problem: expect.stringMatching(/not JSON/) });
  });
});
