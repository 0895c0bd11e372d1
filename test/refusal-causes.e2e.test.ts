// Two more causes of a refused knock, end to end (issue #13 §3), with the real daemon and
// nftables in namespaces (server 192.0.2.1, client .2, eve .3):
// - the daemon's memory of removed users survives a restart: a user removed while the
//   daemon ran is still explained as removed after `systemctl restart`, from
//   state_dir/former-secrets.json (0600, the secret kept like the user store keeps it);
// - a knock with the right ports but without the payload token the server requires
//   (payload: { require: token }) is explained as `payload`, not as a vague `timing`: the
//   kernel logs each refused datagram's UDP payload length with it, and the daemon sees
//   that none could hold the token.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseOtpauthUri, type KnockProfile, type KnockProfileInput, type SecretBytes } from '@otpknock/shared';
import { describeE2E, pollUntil, sendUdp, tcpProbe } from '@otpknock/e2e-harness';
import { otpknockd, sequencesFor, testUser, useDaemon, usersYaml, type DaemonFixture } from './support/otpknockd.js';

const PERIOD = 10;

interface WhyJson {
  refusals: {
    recent: { kind: string; port?: number; payloadBytes?: number }[];
    explanation?: { cause: string; user?: string; text: string };
  } | null;
}

/** Waits, when needed, until at least 3 s remain in the current window. */
async function awayFromBoundary(): Promise<void> {
  const into = (Date.now() / 1000) % PERIOD;
  if (into > PERIOD - 3) await new Promise((r) => setTimeout(r, (PERIOD - into + 0.2) * 1000));
}

/** `otpknockd why ADDR --json` once it has an explanation (the daemon's log when it never comes). */
async function explained(fx: DaemonFixture, addr: string): Promise<WhyJson> {
  let last: WhyJson | undefined;
  return pollUntil(
    async () => {
      const r = await otpknockd(fx.t, ['why', addr, '--json', '--config', fx.cfg.file]);
      last = JSON.parse(r.stdout) as WhyJson;
      return last.refusals?.explanation !== undefined ? last : false;
    },
    { timeoutMs: 10_000, intervalMs: 100, message: 'the knock explained' },
  ).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\nlast: ${JSON.stringify(last)}\n${fx.daemon.stderr().slice(-3000)}`);
  });
}

const alice = testUser('alice', 'memory-alice');

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
    await awayFromBoundary();
    await sendUdp(fx.t, 'eve', fx.t.server.ipv4, sequencesFor(secret, profile, 0).open, { delayMs: 5 });
    const report = await explained(fx, fx.t.eve.ipv4);
    expect(report.refusals?.explanation).toMatchObject({ cause: 'removed', user: 'carol' });
    expect(report.refusals?.explanation?.text).toMatch(/user carol, who was removed at \S+Z/);
  }, 90_000);
});

const payer = testUser('alice', 'payload-alice');
const tokenProfile: KnockProfileInput = { method: 'time', period: PERIOD, range: '20000-40000', tokenBytes: 8 };

describeE2E('otpknockd: a knock without the required payload token says so', () => {
  const fx = useDaemon({
    services: [22],
    config: (secretFile) => `
skew: 1
step_timeout: 2s
payload: { require: token }
knock: { method: time, period: ${PERIOD}, range: 20000-40000, token_bytes: 8 }
services:
  ssh: { port: 22, open_for: 30s }
users:
${usersYaml([payer], secretFile)}
`,
  });

  it("the live sequence's ports in empty datagrams: cause payload, naming the user and the requirement", async () => {
    await awayFromBoundary();
    const seq = sequencesFor(payer.secret, tokenProfile).open;
    await sendUdp(fx.t, 'client', fx.t.server.ipv4, seq, { delayMs: 5 });
    expect(await tcpProbe(fx.t, 'client', fx.t.server.ipv4, 22)).not.toMatchObject({ state: 'open' });
    const report = await explained(fx, fx.t.client.ipv4);
    expect(report.refusals?.explanation).toMatchObject({ cause: 'payload', user: 'alice' });
    expect(report.refusals?.explanation?.text).toMatch(
      /the server requires a payload token \(payload: \{ require: token, shape: none \}: at least 4 bytes\) and the datagrams did not carry one \(0 bytes of payload\).*otpknockd user uri alice/,
    );
    expect(report.refusals?.recent.filter((p) => p.kind === 'bad').map((p) => p.payloadBytes)).toEqual(
      seq.map(() => 0),
    );
    await fx.daemon.waitForLine(/"event":"refused".*"cause":"payload"/, { timeoutMs: 5_000 });
  });
});
