// The errors a person setting up otpknockd will meet first: each names the
// problem and what to do, exits non-zero, and leaves the firewall as it was.
import { chownSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  OTPKNOCKD,
  assertBuilt,
  describeE2E,
  listRuleset,
  testUser,
  usersYaml,
  useTopology,
  writeConfig,
  type ConfigDir,
  type TestUser,
  type Topology,
} from './support/e2e.js';

const alice = testUser('alice');
const yaml = (secretFile: (u: TestUser) => string) => `
services:
  ssh: { port: 22 }
users:
${usersYaml([alice], secretFile)}
`;

describeE2E('otpknockd: errors at start', () => {
  const topo = useTopology();
  let t: Topology;
  let cfg: ConfigDir;

  beforeAll(() => {
    assertBuilt();
    t = topo();
    cfg = writeConfig(yaml);
  });
  afterAll(() => cfg?.cleanup());

  /** Runs `otpknockd ...args` (after `prefix`, a command that changes how it runs) and checks that the firewall stayed as it was. */
  async function runDaemon(args: string[], prefix: string[] = []) {
    const before = await listRuleset(t, 'server', { format: 'text' });
    const result = await t.exec('server', [...prefix, process.execPath, OTPKNOCKD, ...args], { timeoutMs: 15_000 });
    const after = await listRuleset(t, 'server', { format: 'text' });
    expect(after).toBe(before); // firewall untouched
    return result;
  }

  it('says which package to install when nft is missing', async () => {
    const r = await runDaemon(['run', '--config', cfg.file], ['/usr/bin/env', 'PATH=/nonexistent']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nft is not installed');
    expect(r.stderr).toContain('apt-get install nftables');
  });

  it('says it needs root or CAP_NET_ADMIN when run as an ordinary user', async () => {
    // The files belong to the unprivileged user, as they would for a daemon run as that user.
    for (const f of [cfg.dir, cfg.file, `${cfg.dir}/alice.secret`]) chownSync(f, 65534, 65534);
    try {
      const r = await runDaemon(
        ['run', '--config', cfg.file],
        ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/needs root or CAP_NET_ADMIN/);
    } finally {
      for (const f of [cfg.dir, cfg.file, `${cfg.dir}/alice.secret`]) chownSync(f, 0, 0);
    }
  });

  it('lists every config error with file, line and field, and exits 2', async () => {
    cfg.write('table: 9bad\nskew: 99\nservices:\n  ssh: { port: 22 }\nusers: {}\n');
    const r = await runDaemon(['run', '--config', cfg.file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${cfg.file}:1: table:`);
    expect(r.stderr).toContain(`${cfg.file}:2: skew:`);
    expect(r.stderr).toMatch(/users/);
    expect(r.stderr).toContain('nothing from it was applied');
  });

  it('refuses a secret file that others can read, like ssh does', async () => {
    cfg.write(yaml((u) => `${cfg.dir}/${u.name}.secret`));
    const { chmodSync } = await import('node:fs');
    chmodSync(`${cfg.dir}/alice.secret`, 0o644);
    try {
      const r = await runDaemon(['run', '--config', cfg.file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/permissions 0644 for .*alice\.secret are too open/);
      expect(r.stderr).toMatch(/chmod 600/);
    } finally {
      chmodSync(`${cfg.dir}/alice.secret`, 0o600);
    }
  });

  it('prints the exact ruleset with render, and changes nothing', async () => {
    const r = await runDaemon(['render', '--config', cfg.file, '--at', '2026-11-25T10:00:00Z']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^#!\/usr\/sbin\/nft -f/);
    const check = await t.exec('server', ['nft', '-c', '-f', '-'], { input: r.stdout });
    expect(check.code, check.stderr).toBe(0);
    const again = await t.exec('server', [
      process.execPath,
      OTPKNOCKD,
      'render',
      '--config',
      cfg.file,
      '--at',
      String(Date.parse('2026-11-25T10:00:00Z') / 1000),
    ]);
    expect(again.stdout).toBe(r.stdout); // the same instant renders the same script
  });
});
