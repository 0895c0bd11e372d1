// A fleet end to end (docs/fleet.md): a real 3-member etcd cluster (Debian's
// etcd-server, one member per namespace: e1–e3, 192.0.2.101–103) and five real
// otpknockd servers (web-1 on the harness's server .1, web-2–web-5 on .12–.15), each
// with a local user of its own; people enrolled once with `otpknockd fleet`, knocking
// with the real `knock` from the client (.2). Period 5 s: "within one window" is 5 s.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeSecret, deriveSequences, normalizeProfile, windowAt } from '@otpknock/shared';
import {
  NODE,
  describeE2E,
  pollUntil,
  sendUdp,
  startService,
  tcpProbe,
  useTopology,
  type NsProcess,
  type Topology,
  KNOCK,
  OTPKNOCKD,
  assertBuilt,
  testUser,
  usersYaml,
  writeConfig,
  type ConfigDir,
} from './support/e2e.js';
import { ETCD_ROOT_PASSWORD, haveEtcd, startEtcdCluster, type EtcdCluster } from './support/etcd.js';

const PERIOD = 5;
const WINDOW_MS = PERIOD * 1000;
const SERVERS = [
  { name: 'web-1', host: 'server', ip: '192.0.2.1' },
  { name: 'web-2', host: 's2', ip: '192.0.2.12' },
  { name: 'web-3', host: 's3', ip: '192.0.2.13' },
  { name: 'web-4', host: 's4', ip: '192.0.2.14' },
  { name: 'web-5', host: 's5', ip: '192.0.2.15' },
];
const ETCD = [
  { host: 'e1', ip: '192.0.2.101' },
  { host: 'e2', ip: '192.0.2.102' },
  { host: 'e3', ip: '192.0.2.103' },
];
const extraHosts = [
  ...SERVERS.slice(1).map((s) => ({ name: s.host, ipv4: s.ip, ipv6: `2001:db8:1::${s.ip.split('.')[3]}` })),
  ...ETCD.map((e) => ({ name: e.host, ipv4: e.ip, ipv6: `2001:db8:1::${e.ip.split('.')[3]}` })),
];

describeE2E('fleet: one enrolment, many servers, revocation everywhere within a window', () => {
  if (!haveEtcd()) {
    it('SKIPPED: etcd-server is not installed (apt-get install etcd-server etcd-client; scripts/setup.sh does)', () => {
      if (process.env['OTPKNOCK_E2E'] === 'required')
        throw new Error('etcd-server is required (OTPKNOCK_E2E=required)');
    });
    return;
  }
  const topo = useTopology({ extraHosts });
  let t: Topology;
  let etcd: EtcdCluster;
  let admin: string;
  let home: string;
  const configs = new Map<string, ConfigDir>();
  const daemons = new Map<string, NsProcess>();
  const server = (name: string) => SERVERS.find((s) => s.name === name)!;

  /** otpknockd fleet … as the admin, in e1's namespace. */
  const fleet = async (args: string[]) => {
    const r = await t.exec('e1', [NODE, OTPKNOCKD, 'fleet', ...args, '-d', admin], { timeoutMs: 20_000 });
    if (r.code !== 0) throw new Error(`otpknockd fleet ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  const enrolUri = async (args: string[]) => (JSON.parse(await fleet([...args, '--json'])) as { uri: string }).uri;
  /** The users with live sequences on a server, from its status file (rewritten after every change). */
  const liveUsers = (name: string): string[] => {
    try {
      const s = JSON.parse(readFileSync(join(configs.get(name)!.dir, 'state', 'status.json'), 'utf8')) as {
        users: { name: string }[];
      };
      return s.users.map((u) => u.name);
    } catch {
      return [];
    }
  };
  const fleetState = (name: string) =>
    JSON.parse(readFileSync(join(configs.get(name)!.dir, 'state', 'fleet.json'), 'utf8')) as {
      unreachableSince?: string;
      confirmedAt?: string;
      users: { name: string; key: string }[];
    };
  /** Waits until every named server's kernel table has (or no longer has) `user`; ms each took from `since`. */
  const propagation = async (names: string[], user: string, present: boolean, since: number) =>
    Promise.all(
      names.map(async (n) => {
        await pollUntil(() => liveUsers(n).includes(user) === present, {
          timeoutMs: 3 * WINDOW_MS,
          intervalMs: 20,
          message: `${user} ${present ? 'live' : 'gone'} on ${n}`,
        });
        return Date.now() - since;
      }),
    );
  /** Imports a fleet URI into a store of its own (one per person and secret). */
  const importStore = async (uri: string, store: string) => {
    const r = await t.exec('client', ['sh', '-c', 'exec "$0" "$1" --config "$2" import -', NODE, KNOCK, store], {
      input: `${uri}\n`,
      env: { ...process.env, XDG_STATE_HOME: join(home, 'state') },
    });
    expect(r.code, r.stderr).toBe(0);
  };
  /** `knock NAME` with the real client from the client namespace: exit 0 when the service opened. */
  const knock = async (store: string, name: string, extra: string[] = []) =>
    t.exec('client', [NODE, KNOCK, '--config', store, name, '--timeout', '2', '--retries', '1', ...extra], {
      env: { ...process.env, XDG_STATE_HOME: join(home, 'state') },
      timeoutMs: 20_000,
    });

  async function startServer(s: (typeof SERVERS)[number]): Promise<NsProcess> {
    const proc = t.spawn(s.host, [
      NODE,
      OTPKNOCKD,
      'run',
      '--config',
      configs.get(s.name)!.file,
      '--log-format',
      'json',
    ]);
    await proc.waitForLine(/"event":"start"|otpknockd: /, { timeoutMs: 30_000 });
    if (!/"event":"start"/.test(proc.stderr())) throw new Error(`${s.name} did not start:\n${proc.stderr()}`);
    daemons.set(s.name, proc);
    return proc;
  }

  beforeAll(async () => {
    assertBuilt();
    t = topo();
    home = mkdtempSync(join(tmpdir(), 'otpknock-fleet-'));
    etcd = await startEtcdCluster(t, ETCD);
    admin = join(home, 'fleet.yaml');
    writeFileSync(join(home, 'root.credentials'), `user: root\npassword: ${ETCD_ROOT_PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(admin, `name: acme\nendpoints: [${etcd.endpoints.join(', ')}]\ncredentials_file: root.credentials\n`);
    await fleet(['init', '--period', String(PERIOD), '--port', '22']);
    for (const [i, s] of SERVERS.entries()) {
      const cfg = writeConfig((secretFile) =>
        [
          'log_format: json',
          `knock: { period: ${PERIOD} }`,
          'services:',
          // A short opening, so that a refused knock is not hidden by an earlier grant.
          '  ssh: { port: 22, open_for: 1s }',
          'users:',
          usersYaml([testUser(`local${i + 1}`)], secretFile),
          'fleet:',
          '  name: acme',
          `  server: ${s.name}`,
          // Each server starts with another member, as a fleet spreads its load.
          `  endpoints: [${[...etcd.endpoints.slice(i % 3), ...etcd.endpoints.slice(0, i % 3)].join(', ')}]`,
          '  credentials_file: etcd.credentials',
          '  check_interval: 2s',
          '  timeout: 1s',
          // web-4 drops the directory's users when it cannot confirm them for 10 s.
          ...(s.name === 'web-4' ? ['  max_stale: 10s'] : []),
        ].join('\n'),
      );
      configs.set(s.name, cfg);
      await fleet(['server', 'add', s.name, '--host', s.ip, '--credentials-out', join(cfg.dir, 'etcd.credentials')]);
      await startService(t, s.host, 22);
    }
    await Promise.all(SERVERS.map((s) => startServer(s)));
  }, 180_000);

  afterAll(async () => {
    await Promise.all([...daemons.values()].map((d) => d.stop('SIGTERM', 5_000)));
    await etcd?.remove();
    for (const c of configs.values()) c.cleanup();
    if (home) rmSync(home, { recursive: true, force: true });
  }, 60_000);

  it('enrol once: every allowed server takes the person within one window, the real knock opens each, no other server does', async () => {
    const since = Date.now();
    const uri = await enrolUri(['enrol', 'alice', '--servers', 'web-1,web-2,web-3,web-4']);
    const took = await propagation(['web-1', 'web-2', 'web-3', 'web-4'], 'alice', true, since);
    for (const ms of took) expect(ms).toBeLessThan(WINDOW_MS);
    const store = join(home, 'alice.json');
    await importStore(uri, store);
    for (const n of ['web-1', 'web-2', 'web-3', 'web-4']) {
      const r = await knock(store, n);
      expect(r.code, `knock ${n}: ${r.stderr}`).toBe(0);
    }
    // web-5 is not hers: its table never gets her, and her secret knocked at it (a
    // profile that lists web-5, as if she guessed) opens nothing.
    expect(liveUsers('web-5')).not.toContain('alice');
    const guessed = join(home, 'alice-guess.json');
    await importStore(uri.replace('servers=', `servers=web-5%40${server('web-5').ip},`), guessed);
    expect((await knock(guessed, 'web-5', ['--retries', '0'])).code).not.toBe(0);
    expect(liveUsers('web-5')).toEqual(['local5']);
    // No server holds her secret K: only keys derived for itself.
    const k = decodeSecret(new URL(uri).searchParams.get('secret')!);
    for (const s of SERVERS.slice(0, 4)) {
      const text = readFileSync(join(configs.get(s.name)!.dir, 'state', 'fleet.json'), 'utf8');
      expect(text).not.toContain(new URL(uri).searchParams.get('secret'));
      expect(fleetState(s.name).users.find((u) => u.name === 'alice')?.key).toHaveLength(52);
    }
    expect(k.length).toBe(20);
  });

  it("a key stolen from one server's state opens that server only", async () => {
    const profile = normalizeProfile({ method: 'time', period: PERIOD }, 'fleet');
    const stolen = decodeSecret(fleetState('web-1').users.find((u) => u.name === 'alice')!.key);
    // A fresh window the person has not used, away from its end.
    await pollUntil(() => Date.now() % WINDOW_MS < 1500 && Date.now() % WINDOW_MS > 200, {
      timeoutMs: 2 * WINDOW_MS,
      intervalMs: 20,
    });
    const open = deriveSequences(profile, stolen, windowAt(Date.now(), PERIOD)).open;
    for (const n of ['web-2', 'web-3']) {
      await sendUdp(t, 'eve', server(n).ip, open, { delayMs: 5 });
      expect(await tcpProbe(t, 'eve', server(n).ip, 22)).toMatchObject({ state: 'closed' });
    }
    await sendUdp(t, 'eve', server('web-1').ip, open, { delayMs: 5 });
    expect(await tcpProbe(t, 'eve', server('web-1').ip, 22)).toMatchObject({ state: 'open' });
  });

  it("a server's directory credentials cannot read another server's keys nor the people's secrets", async () => {
    const creds = readFileSync(join(configs.get('web-1')!.dir, 'etcd.credentials'), 'utf8');
    const user = /user: (\S+)/.exec(creds)![1]!;
    const password = /password: (\S+)/.exec(creds)![1]!;
    const as = (prefix: string) => etcd.etcdctl(['get', '--prefix', prefix, '--keys-only'], `${user}:${password}`);
    const own = await as('/otpknock/acme/servers/web-1/');
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toContain('/otpknock/acme/servers/web-1/users/alice');
    for (const other of [
      '/otpknock/acme/servers/web-2/',
      '/otpknock/acme/people/',
      '/otpknock/acme/servers/',
      '/otpknock/',
    ]) {
      const r = await as(other);
      expect(r.code, other).not.toBe(0);
      expect(r.stderr).toMatch(/permission denied/);
      expect(r.stdout).not.toContain('web-2/users');
    }
  });

  it('revoke: every server refuses the person within one window', async () => {
    const since = Date.now();
    await fleet(['revoke', 'alice', '--all']);
    const took = await propagation(['web-1', 'web-2', 'web-3', 'web-4'], 'alice', false, since);
    for (const ms of took) expect(ms).toBeLessThan(WINDOW_MS);
    const r = await knock(join(home, 'alice.json'), 'web-2', ['--retries', '0']);
    expect(r.code).not.toBe(0);
  });

  it('rotate with grace: old and new secret both open until the grace ends, then only the new one', async () => {
    const old = join(home, 'bob-old.json');
    await importStore(await enrolUri(['enrol', 'bob', '--servers', 'web-1,web-2']), old);
    await propagation(['web-1', 'web-2'], 'bob', true, Date.now());
    expect((await knock(old, 'web-1')).code).toBe(0);
    const graceMs = 12_000;
    const rotatedAt = Date.now();
    const fresh = join(home, 'bob-new.json');
    await importStore(await enrolUri(['rotate', 'bob', '--grace', `${graceMs / 1000}s`]), fresh);
    await pollUntil(() => fleetState('web-2').users.find((u) => u.name === 'bob')?.key !== undefined, {
      timeoutMs: WINDOW_MS,
    });
    await new Promise((r) => setTimeout(r, 1_000)); // the change is applied in place within ~a second
    expect((await knock(fresh, 'web-2')).code, 'new secret').toBe(0);
    expect((await knock(old, 'web-2')).code, 'old secret within the grace').toBe(0);
    // After the grace (and the window it ends in), the old secret is refused everywhere.
    await new Promise((r) => setTimeout(r, Math.max(0, rotatedAt + graceMs + WINDOW_MS - Date.now())));
    expect((await knock(old, 'web-1', ['--retries', '0'])).code, 'old secret after the grace').not.toBe(0);
    expect((await knock(fresh, 'web-1')).code, 'new secret after the grace').toBe(0);
  }, 60_000);

  it('one etcd member down: changes still reach every server within one window', async () => {
    await etcd.stop('e1');
    const since = Date.now();
    await fleet(['grant', 'bob', 'web-3', 'web-4']);
    const took = await propagation(['web-3', 'web-4'], 'bob', true, since);
    for (const ms of took) expect(ms).toBeLessThan(WINDOW_MS);
  });

  it('the whole cluster down: servers say so, keep their users and keep knocking working, also after a restart', async () => {
    await etcd.stop('e2'); // e3 alone: no quorum, so nothing can be confirmed
    await Promise.all(
      SERVERS.map((s) =>
        pollUntil(() => fleetState(s.name).unreachableSince !== undefined, {
          timeoutMs: 15_000,
          intervalMs: 100,
          message: `${s.name} notices the directory is unreachable`,
        }),
      ),
    );
    await etcd.stop('e3');
    // max_stale on web-4: bob goes there once not confirmed for 10 s; the others keep him.
    const confirmed = Date.parse(fleetState('web-4').confirmedAt!);
    await pollUntil(() => !liveUsers('web-4').includes('bob'), {
      timeoutMs: 30_000,
      message: 'web-4 drops bob (max_stale)',
    });
    expect(Date.now() - confirmed).toBeGreaterThanOrEqual(10_000);
    expect(liveUsers('web-4')).toEqual(['local4']);
    expect(daemons.get('web-4')!.stderr()).toMatch(/not confirmed for \d+ s \(max_stale\): dropping its 1 users/);
    for (const n of ['web-1', 'web-2', 'web-3']) expect(liveUsers(n)).toContain('bob');
    const status = await t.exec('server', [NODE, OTPKNOCKD, 'status', '--config', configs.get('web-1')!.file]);
    expect(status.stdout).toMatch(
      /fleet acme, server web-1: directory UNREACHABLE since .*serving the 1 users last confirmed/,
    );
    expect(daemons.get('web-1')!.stderr()).toMatch(/directory unreachable: .*keeping the 1 users last read/);
    const fresh = join(home, 'bob-new.json');
    expect((await knock(fresh, 'web-1')).code, 'bob on web-1 with the directory down').toBe(0);
    // A restart without the directory starts from STATE_DIR/fleet.json.
    await daemons.get('web-2')!.stop('SIGTERM', 5_000);
    await startServer(server('web-2'));
    await pollUntil(() => liveUsers('web-2').includes('bob'), {
      timeoutMs: 10_000,
      message: 'bob live on web-2 after restart',
    });
    expect((await knock(fresh, 'web-2')).code, 'bob on web-2 after a restart without etcd').toBe(0);
  }, 90_000);

  it('the directory returns: every server catches up, and a revocation reaches all of them within one window', async () => {
    await Promise.all(ETCD.map((e) => etcd.start(e.host)));
    await Promise.all(
      SERVERS.map((s) =>
        pollUntil(() => fleetState(s.name).unreachableSince === undefined, {
          timeoutMs: 30_000,
          intervalMs: 100,
          message: `${s.name} reaches the directory again`,
        }),
      ),
    );
    expect(daemons.get('web-3')!.stderr()).toMatch(
      /directory reachable again at http:\/\/.*; caught up to revision \d+/,
    );
    await pollUntil(() => liveUsers('web-4').includes('bob'), { timeoutMs: 10_000, message: 'bob back on web-4' });
    const since = Date.now();
    await fleet(['revoke', 'bob', '--all']);
    const took = await propagation(['web-1', 'web-2', 'web-3', 'web-4'], 'bob', false, since);
    for (const ms of took) expect(ms).toBeLessThan(WINDOW_MS);
    // Audit lines carry the server's identity (a knock from before, on web-1).
    const audit = readFileSync(join(configs.get('web-1')!.dir, 'state', 'audit.jsonl'), 'utf8');
    expect(audit).toMatch(/"server":"web-1","fleet":"acme"/);
    expect(daemons.get('web-1')!.stderr()).toMatch(/"message":"alice: open ssh for 192\.0\.2\.2 on web-1"/);
  }, 90_000);

  it('disable, enable, uri, list, remove, and removing a server', async () => {
    const uri = await enrolUri(['enrol', 'carol', '--servers', 'web-1,web-5']);
    await propagation(['web-1', 'web-5'], 'carol', true, Date.now());
    await fleet(['disable', 'carol']);
    await propagation(['web-1', 'web-5'], 'carol', false, Date.now());
    await fleet(['enable', 'carol']);
    await propagation(['web-1', 'web-5'], 'carol', true, Date.now());
    const again = await enrolUri(['uri', 'carol']);
    expect(new URL(again).searchParams.get('secret')).toBe(new URL(uri).searchParams.get('secret'));
    const list = JSON.parse(await fleet(['list', '--json'])) as { name: string; servers: string[]; state: string }[];
    expect(list.find((p) => p.name === 'carol')).toMatchObject({ servers: ['web-1', 'web-5'], state: 'enabled' });
    expect(JSON.stringify(list)).not.toContain(new URL(uri).searchParams.get('secret'));
    await fleet(['server', 'remove', 'web-5']);
    await propagation(['web-5'], 'carol', false, Date.now());
    expect(await fleet(['server', 'list'])).not.toContain('web-5');
    const users = await etcd.etcdctl(['user', 'list']);
    expect(users.stdout).not.toContain('otpknock.acme.web-5');
    await fleet(['remove', 'carol']);
    await propagation(['web-1'], 'carol', false, Date.now());
    expect(JSON.parse(await fleet(['list', '--json']))).not.toContainEqual(expect.objectContaining({ name: 'carol' }));
  }, 60_000);
});
