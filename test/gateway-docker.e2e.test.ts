// Gateway mode on a Docker host (issue #16, docs/gateway.md#a-docker-host).
//
// dockerd cannot run on the test machines (Debian 12's docker.io 20.10.24 stops
// with "Devices cgroup isn't mounted" there), so the gateway namespace gets
// Docker's published-port ruleset exactly as Docker 20.10–27 writes it with
// iptables-nft for `docker run -p 9443:8080` on the default bridge: the rules of
// moby's integration/network/bridge/iptablesdoc (commit ac4a95d1d0, the last one
// before Docker 28's DOCKER-FORWARD chains), loaded with iptables-nft-restore,
// with the FORWARD policy DROP that dockerd sets when it enables forwarding
// itself. Only the names are ours: docker0 is the gateway's link to the backend,
// 172.17.0.0/16 is 198.51.100.0/24, the container is the backend (198.51.100.2).
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  describeE2E,
  openHeldConnection,
  run,
  startService,
  tcpProbe,
  useTopology,
  type NsProcess,
  type Topology,
  otpknockd,
  startDaemon,
  usersYaml,
  writeConfig,
  type ConfigDir,
  type TestUser,
} from './support/e2e.js';
import { alice, aliceKnocks, counter, profile } from './support/gateway.js';

const HOST_PORT = 9443; // -p 9443:8080
const CONTAINER_PORT = 8080;
const UNPUBLISHED_PORT = 2222; // a container port nobody published

/** `iptables-save` of the filter and nat tables after dockerd started and ran one container with -p. */
const dockerRuleset = (t: Topology) => {
  const bridge = t.gateway.ifname; // docker0
  const container = t.backend.ipv4; // 172.17.0.2
  return `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o ${bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o ${bridge} -j DOCKER
-A FORWARD -i ${bridge} ! -o ${bridge} -j ACCEPT
-A FORWARD -i ${bridge} -o ${bridge} -j ACCEPT
-A DOCKER -d ${container}/32 ! -i ${bridge} -o ${bridge} -p tcp -m tcp --dport ${CONTAINER_PORT} -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i ${bridge} ! -o ${bridge} -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o ${bridge} -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 198.51.100.0/24 ! -o ${bridge} -j MASQUERADE
-A POSTROUTING -s ${container}/32 -d ${container}/32 -p tcp -m tcp --dport ${CONTAINER_PORT} -j MASQUERADE
-A DOCKER -i ${bridge} -j RETURN
-A DOCKER ! -i ${bridge} -p tcp -m tcp --dport ${HOST_PORT} -j DNAT --to-destination ${container}:${CONTAINER_PORT}
COMMIT
`;
};

const config = (secretFile: (u: TestUser) => string) => `
skew: 1
ban: off
knock: ${JSON.stringify(profile)}
services:
  web: { port: ${HOST_PORT}, forward: dnat }
  raw: { port: ${UNPUBLISHED_PORT}, forward: 198.51.100.2 }
users:
${usersYaml([alice], secretFile)}
`;

const { knock } = aliceKnocks();

describeE2E("gateway mode on a Docker host (Docker's published-port ruleset, iptables-nft)", () => {
  const topo = useTopology({ backend: true });
  let cfg: ConfigDir;
  let daemon: NsProcess | undefined;

  beforeAll(async () => {
    const t = topo();
    await startService(t, 'backend', [CONTAINER_PORT, UNPUBLISHED_PORT], { name: 'container' });
    await run(['ip', 'netns', 'exec', t.server.ns, 'iptables-nft-restore'], {
      input: dockerRuleset(t),
      check: true,
      timeoutMs: 10_000,
    });
    cfg = writeConfig(config);
  });
  afterAll(async () => {
    await daemon?.stop('SIGTERM');
    cfg?.cleanup();
  });

  it('without otpknockd the published port is open to everybody: Docker accepts it in FORWARD (ufw or an input-hook knocker never sees it)', async () => {
    const t = topo();
    const probe = await tcpProbe(t, 'eve', t.server.ipv4, HOST_PORT);
    expect(probe).toMatchObject({ state: 'open' });
    expect(probe.greeting).toBe(`container hello ${t.eve.ipv4} port ${CONTAINER_PORT}`);
  });

  it('doctor recognises the published port as reachable without a knock when no service guards it, and says what to add', async () => {
    const t = topo();
    const unguarded = writeConfig(
      (secretFile) => `services:\n  ssh: { port: 22 }\nusers:\n${usersYaml([alice], secretFile)}\n`,
    );
    try {
      const r = await otpknockd(t, ['doctor', '--config', unguarded.file]);
      expect(r.stdout).toContain(
        `WARNING  gateway: TCP port ${HOST_PORT} is DNATed (table ip nat, chain DOCKER) and this host forwards, but no service guards it: anyone reaches it without a knock`,
      );
      expect(r.stdout).toContain(
        `fix: to guard it with a knock add to services: NAME: { port: ${HOST_PORT}, forward: dnat }`,
      );
      // With the service declared: no such warning, the forwarded services named as guarded.
      const guarded = await otpknockd(t, ['doctor', '--config', cfg.file]);
      expect(guarded.stdout).not.toContain(`TCP port ${HOST_PORT} is DNATed`);
      expect(guarded.stdout).toContain(
        'ok       gateway: forwarded services guarded on the forward hook: web (TCP 9443, forwarded (DNAT)), raw (TCP 2222, forwarded to 198.51.100.2)',
      );
    } finally {
      unguarded.cleanup();
    }
  });

  it("with otpknockd: our drop holds whatever Docker's DOCKER chain accepts; a knock opens it to the knocker only", async () => {
    const t = topo();
    const held = await openHeldConnection(t, 'eve', t.server.ipv4, HOST_PORT); // established before the guard
    daemon = await startDaemon(t, cfg.file);
    expect(await tcpProbe(t, 'client', t.server.ipv4, HOST_PORT)).toMatchObject({ state: 'closed', reason: 'timeout' });
    expect(await held.echo('still up')).toContain('still up'); // a live connection is not cut by the new guard
    await held.close();
    await knock(t, 'client');
    const probe = await tcpProbe(t, 'client', t.server.ipv4, HOST_PORT);
    expect(probe).toMatchObject({ state: 'open' });
    expect(probe.greeting).toBe(`container hello ${t.client.ipv4} port ${CONTAINER_PORT}`);
    expect(await tcpProbe(t, 'eve', t.server.ipv4, HOST_PORT, 500)).toMatchObject({ state: 'closed' });
    expect(await counter(t, 'forwarded')).toBeGreaterThanOrEqual(1);
  });

  it("Docker's drop holds whatever a knock grants: an unpublished container port stays closed (FORWARD policy DROP)", async () => {
    const t = topo();
    // The client holds a grant for raw (198.51.100.2:2222) from the knock above; Docker drops it anyway.
    expect(await tcpProbe(t, 'client', t.backend.ipv4, UNPUBLISHED_PORT, 500)).toMatchObject({ state: 'closed' });
    const policyDrops = await run(
      ['ip', 'netns', 'exec', t.server.ns, 'iptables-nft', '-L', 'FORWARD', '-v', '-x', '-n'],
      {
        check: true,
        timeoutMs: 5_000,
      },
    );
    expect(policyDrops.stdout).toMatch(/policy DROP [1-9]\d* packets/);
  });
});
