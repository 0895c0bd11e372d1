// The real client end to end: `knock` (the built bundle, as users run it) in the
// client namespace against the real otpknockd and real nftables in the server
// namespace, and a real OpenSSH session through `knock proxy`.
// Namespaces: server .1 (otpknockd, sshd on 22, a TCP service on 8080), client .2, eve .3.
// Each test knocks with a user of its own (its own secret, so its own windows) and
// afterEach closes every address again, so no test sees another's opening.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  KNOCK,
  NODE,
  describeE2E,
  knockProfile,
  openHeldConnection,
  otpknockd,
  setElementKeys,
  tcpProbe,
  testSecret,
  testUser,
  useDaemon,
  usersYaml,
  type NsRef,
} from './support/e2e.js';
import { startSshd, type Sshd } from './support/sshd.js';

const SSH_PORT = 22;
const WEB_PORT = 8080;
/** The knock parameters of the server, which every client profile must repeat. */
const PROFILE_ARGS = [
  '--method',
  'time',
  '--period',
  '30',
  '--length',
  '3',
  '--range',
  '20000-40000',
  '--exclude',
  `${SSH_PORT},${WEB_PORT}`,
];
const USERS = ['opener', 'proxy', 'alias', 'closer', 'six'].map((name) => testUser(name, `client-e2e-${name}`));

describeE2E('knock, the client: open, proxy (real OpenSSH), ssh aliases, close, wrong secret, IPv6', () => {
  const fx = useDaemon({
    services: WEB_PORT, // and sshd on SSH_PORT, started below
    config: (secretFile) => `
skew: 1
step_timeout: 2s
knock: { method: time, period: 30, length: 3, range: 20000-40000 }
services:
  ssh: { port: ${SSH_PORT}, open_for: 30s }
  web: { port: ${WEB_PORT}, open_for: 30s }
users:
${usersYaml(USERS, secretFile)}
`,
  });
  let sshd: Sshd;
  let home: string;
  let env: NodeJS.ProcessEnv;

  /**
   * A client with a profile store of its own (one per test: profiles share the server's
   * address, and a lookup by address takes the first match) and one profile in it.
   */
  const client = async (profile: string, secret: Uint8Array, extra: string[]) => {
    const p = await knockProfile(fx.t, home, profile, secret, [...PROFILE_ARGS, ...extra], { env });
    return { ...p, proxyCommand: `ProxyCommand ${NODE} ${KNOCK} --config ${p.store} proxy %h %p` };
  };
  /** The profile's address and port: the server's IPv4 address (or `host`), the web service. */
  const web = (host = fx.t.server.ipv4) => ['--address', host, '--port', String(WEB_PORT)];

  /** The next audit line of the daemon after mark (NFLOG): which user's sequence opened, for whom. */
  const auditAfter = async (mark: number) =>
    JSON.parse(await fx.daemon.waitForLine(/"event":"audit"/, { after: mark, timeoutMs: 3_000 })) as Record<
      string,
      unknown
    >;

  const closedFrom = async (ns: NsRef, host: string, port: number) =>
    expect(await tcpProbe(fx.t, ns, host, port, 500), `${host}:${port} from ${ns}`).toMatchObject({
      state: 'closed',
      reason: 'timeout',
    });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'otpknock-client-e2e-'));
    // The client's state (windows used) and default store in the temp dir, not in root's home.
    env = { ...process.env, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') };
    sshd = await startSshd(fx.t, { port: SSH_PORT });
    await fx.daemon.waitForLine(/"event":"audit".*reading opens from NFLOG group/, { timeoutMs: 5_000 });
  });

  afterEach(async () => {
    // Shut every address again (established connections stay): the next test starts closed.
    const { t, cfg } = fx;
    const closed = await Promise.all(
      [t.client.ipv4, t.client.ipv6, t.eve.ipv4, t.eve.ipv6].map((addr) =>
        otpknockd(t, ['close', addr, '--config', cfg.file], 15_000),
      ),
    );
    for (const r of closed) expect(r.code, r.stderr).toBe(0);
  });

  afterAll(async () => {
    await sshd?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('knock HOST opens the service for this address only and exits 0', async () => {
    const { t, daemon } = fx;
    const u = USERS[0]!;
    const { knock } = await client('gw', u.secret, web());
    await closedFrom('client', t.server.ipv4, WEB_PORT);
    const started = Date.now();
    const mark = daemon.mark();
    const r = await knock(['gw']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    console.log(
      `knock gw: exit 0 after ${Date.now() - started} ms (node start, knock, service answer); stderr: ${r.stderr.trim()}`,
    );
    // Really reachable: the service greets, and the kernel's allowed set holds the client.
    expect(await tcpProbe(t, 'client', t.server.ipv4, WEB_PORT)).toMatchObject({
      state: 'open',
      greeting: expect.stringContaining(`hello ${t.client.ipv4}`),
    });
    expect(await setElementKeys(t, 'server', 'otpknock', 'allowed4_web')).toContain(t.client.ipv4);
    expect(await tcpProbe(t, 'client', t.server.ipv4, SSH_PORT)).toMatchObject({ state: 'open' });
    expect(await auditAfter(mark)).toMatchObject({ user: 'opener', address: t.client.ipv4, family: 4 });
    // Only the knocking address: eve, on the same segment, is still dropped.
    await closedFrom('eve', t.server.ipv4, WEB_PORT);
  });

  it('knock proxy carries a real OpenSSH session (ProxyCommand), and ssh alone cannot connect', async () => {
    const { t, daemon } = fx;
    const u = USERS[1]!;
    const { proxyCommand } = await client('sshgw', u.secret, ['--address', t.server.ipv4]);
    const sshConfig = sshd.clientConfig({
      plain: { hostName: t.server.ipv4, connectTimeout: 1 },
      knocked: { hostName: t.server.ipv4, extra: [proxyCommand] },
    });
    const plain = await t.exec('client', ['ssh', '-F', sshConfig, 'plain', 'echo ok'], { env, timeoutMs: 15_000 });
    expect(plain.code).toBe(255);
    expect(plain.stderr).toMatch(/timed out/i);
    const before = sshd.logins().length;
    const mark = daemon.mark();
    const r = await t.exec('client', ['ssh', '-F', sshConfig, 'knocked', 'echo ok; echo "$SSH_CONNECTION"'], {
      env,
      timeoutMs: 20_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const [ok, conn] = r.stdout.trim().split('\n');
    expect(ok).toBe('ok');
    // The session's TCP connection is the one knock made from the client to port 22.
    expect(conn).toMatch(
      new RegExp(`^${t.client.ipv4.replace(/\./g, '\\.')} \\d+ ${t.server.ipv4.replace(/\./g, '\\.')} ${SSH_PORT}$`),
    );
    expect(sshd.logins().length).toBe(before + 1);
    expect(await auditAfter(mark)).toMatchObject({ user: 'proxy', address: t.client.ipv4 });
    // stdout carried only the ssh stream: nothing of knock's reached ssh's output.
    expect(r.stderr).not.toMatch(/knock:/);
  });

  it('an ssh alias resolves through `ssh -G` to the profile (knock ALIAS)', async () => {
    const { t, daemon } = fx;
    const u = USERS[2]!;
    const { knock } = await client('office', u.secret, web());
    // The alias is known only to ssh: a config whose HostName is the profile's address.
    const sshConfig = sshd.clientConfig({ 'office-alias': { hostName: t.server.ipv4 } }, 'alias_config');
    // ssh reads ~/.ssh/config from the passwd home, not $HOME: point OTPKNOCK_SSH at ssh -F.
    const wrapper = join(home, 'ssh-with-config');
    writeFileSync(wrapper, `#!/bin/sh\nexec ssh -F '${sshConfig}' "$@"\n`, { mode: 0o755 });
    const withWrapper = { env: { OTPKNOCK_SSH: wrapper } };
    const unknown = await knock(['no-such-alias'], withWrapper);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no profile for no-such-alias/);
    await closedFrom('client', t.server.ipv4, WEB_PORT);
    const mark = daemon.mark();
    const r = await knock(['office-alias', '-v'], withWrapper);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`profile office (found by ssh HostName ${t.server.ipv4})`);
    expect(await auditAfter(mark)).toMatchObject({ user: 'alias', address: t.client.ipv4 });
    expect(await tcpProbe(t, 'client', t.server.ipv4, WEB_PORT)).toMatchObject({ state: 'open' });
  });

  it('knock close shuts the address for new connections; an established one stays up', async () => {
    const { t } = fx;
    const u = USERS[3]!;
    const { knock } = await client('shut', u.secret, web());
    expect((await knock(['shut'])).code).toBe(0);
    const held = await openHeldConnection(t, 'client', t.server.ipv4, WEB_PORT);
    const r = await knock(['close', 'shut']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/sent the close sequence/);
    await closedFrom('client', t.server.ipv4, WEB_PORT);
    expect(await setElementKeys(t, 'server', 'otpknock', 'allowed4_web')).not.toContain(t.client.ipv4);
    expect(await held.echo()).toMatch(/^ping /);
    await held.close();
  });

  it('a wrong secret leaves the service closed and exits 1 after its retry', async () => {
    const { t, daemon } = fx;
    const wrong = testSecret('client-e2e-not-a-user');
    const { knock } = await client('wrong', wrong, web());
    const started = Date.now();
    const mark = daemon.mark();
    const r = await knock(['wrong', '--timeout', '1', '--retries', '1'], { ns: 'eve' });
    const took = Date.now() - started;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/not open/i);
    expect(took).toBeGreaterThanOrEqual(2_000); // two knocks, each waited for 1 s
    await closedFrom('eve', t.server.ipv4, WEB_PORT);
    expect(await setElementKeys(t, 'server', 'otpknock', 'allowed4_web')).not.toContain(t.eve.ipv4);
    expect(
      daemon
        .lines()
        .slice(mark)
        .filter((l) => l.text.includes('"event":"audit"')),
    ).toEqual([]);
  });

  it('IPv6: knock -6 opens over IPv6 only, and ssh through knock proxy works to [2001:db8:1::1]', async () => {
    const { t, cfg } = fx;
    const u = USERS[4]!;
    // A name with an IPv6 address only through the profile; -6 forces the family.
    const { knock, proxyCommand } = await client('v6', u.secret, web(t.server.ipv6));
    await closedFrom('client', t.server.ipv6, WEB_PORT);
    const r = await knock(['v6', '-6']);
    expect(r.code, r.stderr).toBe(0);
    expect(await tcpProbe(t, 'client', t.server.ipv6, WEB_PORT)).toMatchObject({
      state: 'open',
      greeting: expect.stringContaining(t.client.ipv6),
    });
    expect(await setElementKeys(t, 'server', 'otpknock', 'allowed6_web')).toContain(t.client.ipv6);
    // The IPv4 address of the same client was not opened.
    await closedFrom('client', t.server.ipv4, WEB_PORT);
    // -4 on an IPv6 profile address is a usage error, not a silent knock elsewhere.
    expect((await knock(['v6', '-4', '--no-wait'])).code).toBe(2);
    // ssh over IPv6 through the proxy (the second window of this secret).
    const sshConfig = sshd.clientConfig({ six: { hostName: t.server.ipv6, extra: [proxyCommand] } }, 'six_config');
    await otpknockd(t, ['close', t.client.ipv6, '--config', cfg.file], 15_000);
    const s = await t.exec('client', ['ssh', '-F', sshConfig, 'six', 'echo "$SSH_CONNECTION"'], {
      env,
      timeoutMs: 20_000,
    });
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout.trim()).toMatch(new RegExp(`^${t.client.ipv6} \\d+ ${t.server.ipv6} ${SSH_PORT}$`));
  });
});
