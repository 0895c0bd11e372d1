// A fleet end to end (docs/fleet.md): a real 3-member etcd cluster (Debian's
// etcd-server, one member per namespace: e1–e3, 192.0.2.101–103) speaking TLS with
// client certificates (made by openssl for the test) and five real otpknockd servers
// (web-1 on the harness's server .1, web-2–web-5 on .12–.15). web-1–web-4 reach etcd
// over https (ca_file, cert_file, key_file) and each has a local user of its own;
// web-5 reaches it over plain http and has no local user: only fleet people. People
// are enrolled once with `otpknockd fleet` (over https, as the admin), knocking with
// the real `knock` from the client (.2). Period 5 s: "within one window" is 5 s.
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
  knockThenProbe,
  assertBuilt,
  testUser,
  usersYaml,
  writeConfig,
  type ConfigDir,
  type ConfigText,
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
/** The list from its `first`-th element on, then the rest. */
const rotateList = <T>(list: readonly T[], first: number): T[] => [...list.slice(first), ...list.slice(0, first)];
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

  /** otpknockd fleet … as the admin (directory file `-d`), in e1's namespace. */
  const fleetWith = (directory: string, args: string[]) =>
    t.exec('e1', [NODE, OTPKNOCKD, 'fleet', ...args, '-d', directory], { timeoutMs: 20_000 });
  const fleet = async (args: string[]) => {
    const r = await fleetWith(admin, args);
    if (r.code !== 0) throw new Error(`otpknockd fleet ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  /** The TLS keys of a fleet section or directory file: the CA that signed the members' certificates (or `ca`), and a client certificate. */
  const tlsYaml = (indent: string, ca = etcd.pki!.ca) =>
    [`ca_file: ${ca}`, `cert_file: ${etcd.pki!.client.cert}`, `key_file: ${etcd.pki!.client.key}`].map(
      (l) => `${indent}${l}`,
    );
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

  /** A server's config; web-5 (plain http, no local user) differs; `ca` replaces the right CA. */
  const serverYaml =
    (s: (typeof SERVERS)[number], i: number, opts: { ca?: string; extra?: string[] } = {}): ConfigText =>
    (secretFile) =>
      [
        'log_format: json',
        `knock: { period: ${PERIOD} }`,
        'services:',
        // A short opening, so that a refused knock is not hidden by an earlier grant.
        '  ssh: { port: 22, open_for: 1s }',
        ...(s.name === 'web-5' ? [] : ['users:', usersYaml([testUser(`local${i + 1}`)], secretFile)]),
        ...(opts.extra ?? []),
        'fleet:',
        '  name: acme',
        `  server: ${s.name}`,
        // Each server starts with another member, as a fleet spreads its load.
        `  endpoints: [${rotateList(s.name === 'web-5' ? etcd.httpEndpoints : etcd.endpoints, i % 3).join(', ')}]`,
        '  credentials_file: etcd.credentials',
        ...(s.name === 'web-5' ? [] : tlsYaml('  ', opts.ca)),
        '  check_interval: 2s',
        '  timeout: 1s',
        // web-4 drops the directory's users when it cannot confirm them for 10 s.
        ...(s.name === 'web-4' ? ['  max_stale: 10s'] : []),
      ].join('\n');

  beforeAll(async () => {
    assertBuilt();
    t = topo();
    home = mkdtempSync(join(tmpdir(), 'otpknock-fleet-'));
    etcd = await startEtcdCluster(t, ETCD, { tls: true });
    admin = join(home, 'fleet.yaml');
    writeFileSync(join(home, 'root.credentials'), `user: root\npassword: ${ETCD_ROOT_PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(
      admin,
      [
        'name: acme',
        `endpoints: [${etcd.endpoints.join(', ')}]`,
        'credentials_file: root.credentials',
        ...tlsYaml(''),
      ].join('\n'),
    );
    await fleet(['init', '--period', String(PERIOD), '--port', '22']);
    for (const [i, s] of SERVERS.entries()) {
      const cfg = writeConfig(serverYaml(s, i));
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
    expect(liveUsers('web-5')).toEqual([]); // web-5 has no local user, and nobody of the fleet yet
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

  it('TLS: a wrong CA, no client certificate or one with a CN is a clear error naming the endpoint and the problem; a server with a wrong CA keeps its users and table', async () => {
    const pki = etcd.pki!;
    const adminText = readFileSync(admin, 'utf8');
    const variants: [string, string, RegExp, number?][] = [
      [
        'another CA',
        adminText.replace(pki.ca, pki.otherCa),
        /^otpknockd: https:\/\/192\.0\.2\.10\d:2379: TLS: its certificate is not signed by a CA in ca_file \S+other-ca\.pem \(unable to verify the first certificate, UNABLE_TO_VERIFY_LEAF_SIGNATURE\); ca_file must hold the CA that signed the etcd members' certificates/,
      ],
      [
        'no client certificate',
        adminText.replace(/^(cert|key)_file: .*$/gm, ''),
        /^otpknockd: https:\/\/192\.0\.2\.10\d:2379: TLS: etcd refused the connection without a client certificate \(alert bad certificate\); it runs with --client-cert-auth: set cert_file and key_file/,
      ],
      [
        'a client certificate with a CN',
        adminText.replace(pki.client.cert, pki.clientWithCn.cert).replace(pki.client.key, pki.clientWithCn.key),
        /etcd's JSON gateway refuses client certificates with a Common Name \(CN\): issue cert_file without a CN/,
      ],
      // Refused before any connection (exit 2, a config error).
      [
        'a key of another certificate',
        adminText.replace(pki.client.key, pki.member('e1').key),
        /^otpknockd: fleet\.key_file: \S+member-e1\.key is not the private key of \S+client\.pem/,
        2,
      ],
      [
        'a ca_file that is not PEM',
        adminText.replace(pki.ca, join(home, 'root.credentials')),
        /^otpknockd: fleet\.ca_file: \S+root\.credentials holds no PEM certificate/,
        2,
      ],
    ];
    for (const [what, text, message, code = 1] of variants) {
      const file = join(home, 'admin-variant.yaml');
      writeFileSync(file, text);
      const r = await fleetWith(file, ['list']);
      expect(r.code, what).toBe(code);
      expect(r.stderr, what).toMatch(message);
      expect(r.stderr, what).not.toMatch(/internal error|\n\s+at /);
    }
    // web-3 restarted with another CA: it cannot confirm its users, says why, and keeps them.
    const web3 = server('web-3');
    const before = liveUsers('web-3');
    expect(before).toEqual(['alice', 'local3']);
    await daemons.get('web-3')!.stop('SIGTERM', 5_000);
    configs.get('web-3')!.write(serverYaml(web3, 2, { ca: pki.otherCa }));
    const wrong = await startServer(web3);
    expect(wrong.stderr()).toMatch(
      /directory unreachable: https:\/\/192\.0\.2\.10\d:2379: TLS: its certificate is not signed by a CA in ca_file \S+other-ca\.pem .*keeping the 1 users last read/,
    );
    await pollUntil(() => liveUsers('web-3').join() === before.join(), { timeoutMs: 5_000, message: 'web-3 users' });
    const status = await t.exec(web3.host, [NODE, OTPKNOCKD, 'status', '--config', configs.get('web-3')!.file]);
    expect(status.stdout).toMatch(
      /fleet acme, server web-3: directory UNREACHABLE since \S+ \(https:\/\/\S+: TLS: its certificate is not signed by a CA in ca_file \S+other-ca\.pem .*\); serving the 1 users last confirmed/,
    );
    expect((await knock(join(home, 'alice.json'), 'web-3')).code, 'alice on web-3, kept').toBe(0);
    // The right CA again: reachable, confirmed.
    await daemons.get('web-3')!.stop('SIGTERM', 5_000);
    configs.get('web-3')!.write(serverYaml(web3, 2));
    await startServer(web3);
    await pollUntil(() => fleetState('web-3').unreachableSince === undefined, {
      timeoutMs: 10_000,
      message: 'web-3 reaches the directory with the right CA',
    });
  }, 60_000);

  it('revoke: every server refuses the person within one window', async () => {
    const since = Date.now();
    await fleet(['revoke', 'alice', '--all']);
    const took = await propagation(['web-1', 'web-2', 'web-3', 'web-4'], 'alice', false, since);
    for (const ms of took) expect(ms).toBeLessThan(WINDOW_MS);
    const r = await knock(join(home, 'alice.json'), 'web-2', ['--retries', '0']);
    expect(r.code).not.toBe(0);
  });

  it('a server with only fleet people obeys the revocation of the last one: it opens for nobody by knock, says so, and opens again on enrolment', async () => {
    const web5 = server('web-5');
    const cfg = configs.get('web-5')!;
    const otpknockdOn5 = (args: string[]) => t.exec(web5.host, [NODE, OTPKNOCKD, ...args, '--config', cfg.file]);
    // Nobody was enrolled for web-5 when it started: it started anyway, opening for nobody.
    expect(daemons.get('web-5')!.stderr()).toMatch(
      /NO USERS \(fleet acme gives server web-5 nobody, and it has no local user\): the table opens for nobody by knock/,
    );
    const store = join(home, 'dana.json');
    await importStore(await enrolUri(['enrol', 'dana', '--servers', 'web-5']), store);
    await propagation(['web-5'], 'dana', true, Date.now());
    expect((await knock(store, 'web-5')).code, 'dana enrolled').toBe(0);
    const since = Date.now();
    await fleet(['revoke', 'dana', 'web-5']);
    const [took] = await propagation(['web-5'], 'dana', false, since);
    expect(took).toBeLessThan(WINDOW_MS);
    expect((await knock(store, 'web-5', ['--retries', '0'])).code, 'dana revoked').not.toBe(0);
    expect(fleetState('web-5').users).toEqual([]);
    const status = await otpknockdOn5(['status']);
    expect(status.stdout).toMatch(
      /\nusers: NO USERS \(fleet acme gives server web-5 nobody, and it has no local user\): the table opens for nobody by knock; otpknockd mode open opens the services from the console\nusers with live sequences: none\n/,
    );
    expect(status.stdout).toMatch(
      /fleet acme, server web-5: directory reachable, revision \d+, confirmed \S+ \(0 users\)/,
    );
    expect((await otpknockdOn5(['check'])).stdout).toMatch(/\(0 users, 1 services\)\n {2}note: NO USERS \(fleet acme/);
    const doctor = JSON.parse((await otpknockdOn5(['doctor', '--json'])).stdout) as {
      findings: { check: string; severity: string; message: string }[];
    };
    expect(doctor.findings.find((f) => f.check === 'fleet')).toMatchObject({
      severity: 'warning',
      message: expect.stringMatching(/no local user and no break_glass on server web-5.*closed to all/),
    });
    // The ways in that stay: mode open from the console, and break_glass once configured.
    expect((await otpknockdOn5(['mode', 'open'])).code).toBe(0);
    expect(await tcpProbe(t, 'eve', web5.ip, 22)).toMatchObject({ state: 'open' });
    expect((await otpknockdOn5(['mode', 'knock'])).code).toBe(0);
    expect(await tcpProbe(t, 'eve', web5.ip, 22, 500)).toMatchObject({ state: 'closed' });
    const breakGlass = [11111, 28222, 13333, 24444, 15555, 26666, 17777, 29888];
    cfg.write(
      serverYaml(web5, 4, { extra: [`break_glass: { sequence: [${breakGlass.join(', ')}], services: [ssh] }`] }),
    );
    daemons.get('web-5')!.signal('SIGHUP');
    await pollUntil(() => /"event":"reload".*loaded table/.test(daemons.get('web-5')!.stderr()), {
      timeoutMs: 10_000,
      message: 'web-5 reloads with break_glass',
    });
    expect(await knockThenProbe(t, 'eve', web5.ip, breakGlass)).toMatchObject({ state: 'open' });
    // Enrolled again (the same secret): her knock opens.
    await fleet(['grant', 'dana', 'web-5']);
    await propagation(['web-5'], 'dana', true, Date.now());
    expect((await knock(store, 'web-5')).code, 'dana granted again').toBe(0);
    expect(daemons.get('web-5')!.stderr()).toMatch(/users again: 1; their knocks open/);
  }, 60_000);

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
      /directory reachable again at https:\/\/.*; caught up to revision \d+/,
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
