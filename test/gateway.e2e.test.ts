// Gateway mode end to end (issue #16, docs/gateway.md): the server namespace is a
// router running otpknockd; behind it, on a routed subnet of its own, the backend
// runs the real TCP services. The server DNATs its public port 8443 to the
// backend's 8080 (as a router's port forward does) and routes 198.51.100.0/24 and
// 2001:db8:2::/64. Knocks go to the gateway; the kernel guards the forwarded
// connections by their original destination.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  NODE,
  applyNft,
  describeE2E,
  openHeldConnection,
  pollUntil,
  sendUdp,
  setElementKeys,
  startService,
  tcpProbe,
  useTopology,
  type NsProcess,
  type Topology,
  KNOCK,
  REPO_ROOT,
  otpknockd,
  startDaemon,
  usersYaml,
  writeConfig,
  type ConfigDir,
  type TestUser,
} from './support/e2e.js';
import { alice, aliceKnocks, counter, PERIOD, profile } from './support/gateway.js';

const PUBLIC_PORT = 8443; // the gateway's port forward …
const BACKEND_PORT = 8080; // … to the backend's service
const ROUTED_PORT = 2222; // guarded on the routed backend address (IPv4)
const ROUTED6_PORT = 2223; // guarded on the routed backend prefix (IPv6)
const UNGUARDED_PORT = 9090; // a backend port no service names: routed as before

const config = (secretFile: (u: TestUser) => string) => `
skew: 1
ban: off
step_timeout: 2s
knock: ${JSON.stringify(profile)}
services:
  ssh: { port: 22 }
  nas: { port: ${PUBLIC_PORT}, forward: dnat, open_for: 30s }
  lan: { port: ${ROUTED_PORT}, forward: 198.51.100.2 }
  lan6: { port: ${ROUTED6_PORT}, forward: 2001:db8:2::/64 }
users:
${usersYaml([alice], secretFile)}
`;

/** The router's own port forward (what a home router or `iptables -t nat … -j DNAT` sets up). */
const portForward = (t: Topology) => `
table ip gw_nat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "${t.server.ifname}" ip daddr ${t.server.ipv4} tcp dport ${PUBLIC_PORT} dnat to ${t.backend.ipv4}:${BACKEND_PORT}
	}
}
table ip6 gw_nat6 {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "${t.server.ifname}" ip6 daddr ${t.server.ipv6} tcp dport ${PUBLIC_PORT} dnat to [${t.backend.ipv6}]:${BACKEND_PORT}
	}
}
`;

const { knock } = aliceKnocks();

describeE2E('gateway mode: forwarded services behind otpknockd', () => {
  const topo = useTopology({ backend: true });
  let cfg: ConfigDir;
  let daemon: NsProcess;

  beforeAll(async () => {
    const t = topo();
    await startService(t, 'backend', [BACKEND_PORT, ROUTED_PORT, ROUTED6_PORT, UNGUARDED_PORT, PUBLIC_PORT], {
      name: 'backend',
    });
    await applyNft(t, 'server', portForward(t));
    cfg = writeConfig(config);
    daemon = await startDaemon(t, cfg.file);
  });
  afterAll(async () => {
    await daemon?.stop('SIGTERM');
    cfg?.cleanup();
  });

  it('without a knock: the port forward and the guarded routed ports are dropped; other routed traffic is not touched', async () => {
    const t = topo();
    expect(await tcpProbe(t, 'client', t.server.ipv4, PUBLIC_PORT)).toMatchObject({
      state: 'closed',
      reason: 'timeout',
    });
    expect(await tcpProbe(t, 'client', t.server.ipv6, PUBLIC_PORT)).toMatchObject({
      state: 'closed',
      reason: 'timeout',
    });
    expect(await tcpProbe(t, 'client', t.backend.ipv4, ROUTED_PORT)).toMatchObject({
      state: 'closed',
      reason: 'timeout',
    });
    expect(await tcpProbe(t, 'client', t.backend.ipv6, ROUTED6_PORT)).toMatchObject({ state: 'closed' });
    // Not DNATed and not a guarded destination: routed as before (the backend's 8080 directly, its 9090).
    expect(await tcpProbe(t, 'client', t.backend.ipv4, BACKEND_PORT)).toMatchObject({ state: 'open' });
    expect(await tcpProbe(t, 'client', t.backend.ipv4, UNGUARDED_PORT)).toMatchObject({ state: 'open' });
    // The dnat service's port, routed to the backend without a DNAT (a LAN's own outgoing connection): not guarded.
    expect(await tcpProbe(t, 'client', t.backend.ipv4, PUBLIC_PORT)).toMatchObject({ state: 'open' });
    // The routed IPv4 guard names one address: the same port elsewhere on IPv6 is the IPv6 service's business only.
    expect(await counter(t, 'refused')).toBeGreaterThanOrEqual(3);
  });

  it('a knock opens the forwarded services to the knocking address only, through the DNAT to the backend', async () => {
    const t = topo();
    await knock(t, 'client');
    const probe = await tcpProbe(t, 'client', t.server.ipv4, PUBLIC_PORT);
    // The backend's greeting: it saw the client's own address (no masquerade) on its port 8080.
    expect(probe).toMatchObject({ state: 'open' });
    expect(probe.greeting).toBe(`backend hello ${t.client.ipv4} port ${BACKEND_PORT}`);
    expect(await tcpProbe(t, 'client', t.backend.ipv4, ROUTED_PORT)).toMatchObject({ state: 'open' });
    expect(await setElementKeys(t, 'server', 'otpknock', 'allowed4_nas')).toEqual([t.client.ipv4]);
    // Another address: still dropped, on both.
    expect(await tcpProbe(t, 'eve', t.server.ipv4, PUBLIC_PORT, 500)).toMatchObject({ state: 'closed' });
    expect(await tcpProbe(t, 'eve', t.backend.ipv4, ROUTED_PORT, 500)).toMatchObject({ state: 'closed' });
  });

  it('refuses a replay of the used sequence from another address', async () => {
    const t = topo();
    const seq = await knock(t, 'client');
    await pollUntil(async () => (await counter(t, 'completed')) >= 2, {
      message: 'the second knock completed',
      timeoutMs: 3_000,
    });
    await sendUdp(t, 'eve', t.server.ipv4, seq, { delayMs: 5 });
    await pollUntil(async () => (await counter(t, 'replays')) >= 1, {
      message: "eve's replay counted",
      timeoutMs: 3_000,
    });
    expect(await setElementKeys(t, 'server', 'otpknock', 'allowed4_nas')).toEqual([t.client.ipv4]);
    expect(await tcpProbe(t, 'eve', t.server.ipv4, PUBLIC_PORT, 500)).toMatchObject({ state: 'closed' });
  });

  it('over IPv6: a knock opens the DNATed port and the routed prefix', async () => {
    const t = topo();
    await knock(t, 'client', 6);
    expect(await tcpProbe(t, 'client', t.backend.ipv6, ROUTED6_PORT)).toMatchObject({ state: 'open' });
    const probe = await tcpProbe(t, 'client', t.server.ipv6, PUBLIC_PORT);
    expect(probe).toMatchObject({ state: 'open' });
    expect(probe.greeting).toBe(`backend hello ${t.client.ipv6} port ${BACKEND_PORT}`);
    expect(await tcpProbe(t, 'eve', t.server.ipv6, PUBLIC_PORT, 500)).toMatchObject({ state: 'closed' });
  });

  it('audits each forwarded connection with the backend it went to, and status shows the grants', async () => {
    const t = topo();
    const audit = join(cfg.dir, 'state', 'audit.jsonl');
    const forwards = () =>
      readFileSync(audit, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((e) => e.event === 'forward');
    await pollUntil(() => forwards().some((e) => e.destination === `${t.backend.ipv4}:${BACKEND_PORT}`), {
      message: 'a forward event to the backend in audit.jsonl',
      timeoutMs: 5_000,
    });
    expect(forwards()).toContainEqual(
      expect.objectContaining({
        services: ['nas'],
        address: t.client.ipv4,
        family: 4,
        destination: `${t.backend.ipv4}:${BACKEND_PORT}`,
      }),
    );
    // the event as docs/gateway.md shows it: the same fields, no more
    const page = readFileSync(join(REPO_ROOT, 'docs/gateway.md'), 'utf8');
    const shown = JSON.parse(/```json\n(.*)\n```/.exec(page)![1]!) as Record<string, unknown>;
    for (const e of forwards()) expect(Object.keys(e).sort()).toEqual(Object.keys(shown).sort());
    expect(forwards()).toContainEqual(
      expect.objectContaining({ services: ['nas'], destination: `[${t.backend.ipv6}]:${BACKEND_PORT}` }),
    );
    const status = await otpknockd(t, ['status', '--config', cfg.file]);
    expect(status.stdout).toMatch(new RegExp(`nas\\s+${t.client.ipv4.replace(/\./g, '\\.')}`));
    expect(status.stdout).toContain(`to ${t.backend.ipv4}:${BACKEND_PORT}`);
  });

  it('doctor: the forwarded services are guarded; a forward to an address of the gateway itself is a problem', async () => {
    const t = topo();
    const r = await otpknockd(t, ['doctor', '--config', cfg.file]);
    expect(r.stdout).toContain(
      `ok       gateway: forwarded services guarded on the forward hook: nas (TCP ${PUBLIC_PORT}, forwarded (DNAT)), lan (TCP ${ROUTED_PORT}, forwarded to 198.51.100.2), lan6 (TCP ${ROUTED6_PORT}, forwarded to 2001:db8:2::/64)`,
    );
    const self = writeConfig(
      (secretFile) =>
        `services:\n  nas: { port: ${PUBLIC_PORT}, forward: dnat }\n  me: { port: 2224, forward: ${t.server.ipv4} }\nusers:\n${usersYaml([alice], secretFile)}\n`,
    );
    try {
      const bad = await otpknockd(t, ['doctor', '--config', self.file]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain(
        `PROBLEM  gateway: service me is forwarded to ${t.server.ipv4}, which is an address of this host: connections to it are delivered here (input hook), never forwarded`,
      );
    } finally {
      self.cleanup();
    }
  });

  it('mode open lets everybody through the forward, mode closed nobody; knock mode is back to grants', async () => {
    const t = topo();
    expect((await otpknockd(t, ['mode', 'open', '--config', cfg.file])).code).toBe(0);
    expect(await tcpProbe(t, 'eve', t.server.ipv4, PUBLIC_PORT)).toMatchObject({ state: 'open' });
    expect((await otpknockd(t, ['mode', 'closed', '--config', cfg.file])).code).toBe(0);
    expect(await tcpProbe(t, 'client', t.server.ipv4, PUBLIC_PORT, 500)).toMatchObject({ state: 'closed' });
    expect((await otpknockd(t, ['mode', 'knock', '--config', cfg.file])).code).toBe(0);
    expect(await tcpProbe(t, 'client', t.server.ipv4, PUBLIC_PORT)).toMatchObject({ state: 'open' });
    expect(await tcpProbe(t, 'eve', t.server.ipv4, PUBLIC_PORT, 500)).toMatchObject({ state: 'closed' });
  });

  it('keeps a live forwarded connection through a rotation, a reload and a restart', async () => {
    const t = topo();
    await knock(t, 'client');
    const held = await openHeldConnection(t, 'client', t.server.ipv4, PUBLIC_PORT);
    expect(held.greeting).toBe(`backend hello ${t.client.ipv4} port ${BACKEND_PORT}`);
    // The grant goes; the connection must not.
    expect((await otpknockd(t, ['close', t.client.ipv4, '--config', cfg.file])).code).toBe(0);
    const mark = daemon.mark();
    await daemon.waitForLine(/"event":"rotation"/, { after: mark, timeoutMs: (PERIOD + 3) * 1000 });
    expect(await held.echo('after rotation')).toContain('after rotation');
    daemon.signal('SIGHUP');
    await daemon.waitForLine(/"event":"reload"/, { after: mark, timeoutMs: 10_000 });
    expect(await held.echo('after reload')).toContain('after reload');
    await daemon.stop('SIGTERM'); // keep_table_on_stop (default): the guard stays, the restart replaces it
    daemon = await startDaemon(t, cfg.file);
    expect(await held.echo('after restart')).toContain('after restart');
    // … while a new connection without a grant is refused.
    expect(await tcpProbe(t, 'client', t.server.ipv4, PUBLIC_PORT, 500)).toMatchObject({ state: 'closed' });
    await held.close();
  });

  it("docs/gateway.md's home-router ruleset (port forward and masquerade) is one nft takes as written (nft -c)", async () => {
    const page = readFileSync(join(REPO_ROOT, 'docs/gateway.md'), 'utf8');
    const router = /```\n(table ip nat \{[\s\S]*?\n\})\n```/.exec(page)![1]!;
    expect(router).toContain('dnat to 198.51.100.10:443');
    const r = await topo().exec('server', ['nft', '-c', '-f', '-'], { input: `${router}\n`, timeoutMs: 10_000 });
    expect(r.code, r.stderr).toBe(0);
  });

  it('the knock client opens a forwarded service: knock HOST -p PUBLIC_PORT waits for it through the DNAT', async () => {
    const t = topo();
    const home = join(cfg.dir, 'client-home');
    const knockCli = (args: string[]) =>
      t.exec(
        'client',
        [
          '/usr/bin/env',
          `HOME=${home}`,
          `XDG_CONFIG_HOME=${home}/config`,
          `XDG_STATE_HOME=${home}/state`,
          NODE,
          KNOCK,
          ...args,
        ],
        {
          timeoutMs: 30_000,
        },
      );
    const add = await knockCli([
      'add',
      'gw',
      '--address',
      t.server.ipv4,
      '--secret-file',
      join(cfg.dir, `${alice.name}.secret`),
      '--period',
      String(PERIOD),
      '--range',
      '20000-40000',
    ]);
    expect(add.code, add.stderr).toBe(0);
    // Its first sequence may be one this suite knocked already (one-time): knock then retries with the next window's.
    const r = await knockCli(['gw', '-p', String(PUBLIC_PORT), '--timeout', '3', '--retries', '2']);
    expect(r.code, r.stderr).toBe(0);
  });
});
