// The daemon's memory of removed users survives a restart (issue #13 §3): a user removed
// while the daemon ran is still explained as removed after `systemctl restart`, from
// state_dir/former-secrets.json (0600, the secret kept like the user store keeps it).
// The real daemon and nftables in namespaces (server 192.0.2.1, eve .3).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseOtpauthUri, type KnockProfile, type SecretBytes } from '@otpknock/shared';
import { describeE2E, pollUntil, sendUdp } from '@otpknock/e2e-harness';
import { otpknockd, sequencesFor, testUser, useDaemon, usersYaml } from './support/otpknockd.js';

const PERIOD = 10;
const alice = testUser('alice', 'memory-alice');

interface WhyJson {
  refusals: { explanation?: { cause: string; user?: string; text: string } } | null;
}

describeE2E('otpknockd: a removed user is still explained after a restart', () => {
  const fx = useDaemon({
    services: [22],
    config: (secretFile) => `
user_store: users.d
skew: 1
step_timeout: 2s
knock: { method: time, period: ${PERIOD}, range: 20000-40000 }
services:
  ssh: { port: 22, open_for: 30s }
users:
${usersYaml([alice], secretFile)}
`,
  });
  const cli = (args: string[]) => otpknockd(fx.t, [...args, '--config', fx.cfg.file]);

  it('removed, restarted, knocked: why says removed (and when), not unknown', async () => {
    let mark = fx.daemon.mark();
    const added = await cli(['user', 'add', 'carol', '--json', '--host', '192.0.2.1']);
    expect(added.code, added.stderr).toBe(0);
    const carol = parseOtpauthUri((JSON.parse(added.stdout) as { uri: string }).uri);
    const secret: SecretBytes = carol.secret;
    const profile = carol.profile as KnockProfile;
    const applied = (mark: number) =>
      fx.daemon.waitForLine(/"event":"users".*sequences updated in place/, {
        after: mark,
        timeoutMs: 2 * (PERIOD + 5) * 1000,
      });
    await applied(mark);
    mark = fx.daemon.mark();
    const removed = await cli(['user', 'remove', 'carol']);
    expect(removed.code, removed.stderr).toBe(0);
    await applied(mark);
    const file = join(fx.cfg.dir, 'state', 'former-secrets.json');
    await pollUntil(() => statSync(file, { throwIfNoEntry: false }) !== undefined, {
      timeoutMs: 5_000,
      message: 'former-secrets.json written',
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // a restart: the daemon's memory is gone, the file is not
    await fx.daemon.stop('SIGTERM', 10_000);
    await fx.start();
    await fx.daemon.waitForLine(/reading opens from NFLOG group/, { timeoutMs: 15_000 });
    const into = (Date.now() / 1000) % PERIOD;
    if (into > PERIOD - 3) await new Promise((r) => setTimeout(r, (PERIOD - into + 0.2) * 1000));
    await sendUdp(fx.t, 'eve', fx.t.server.ipv4, sequencesFor(secret, profile, 0).open, { delayMs: 5 });
    let last: WhyJson | undefined;
    const report = await pollUntil(
      async () => {
        const r = await cli(['why', fx.t.eve.ipv4, '--json']);
        last = JSON.parse(r.stdout) as WhyJson;
        return last.refusals?.explanation !== undefined ? last : false;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: 'the knock explained' },
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\nlast: ${JSON.stringify(last)}\n${fx.daemon.stderr().slice(-3000)}`);
    });
    expect(report.refusals?.explanation).toMatchObject({ cause: 'removed', user: 'carol' });
    expect(report.refusals?.explanation?.text).toMatch(/user carol, who was removed at \S+Z/);
  }, 90_000);
});
