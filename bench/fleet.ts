// Fleet propagation (docs/fleet.md): the time from a change in the fleet directory to
// the last server's table, with 10, 100 and 1,000 servers' worth of keys. A real 3-member
// etcd cluster (Debian's etcd-server) and three real otpknockd servers in namespaces; the
// other servers are simulated (bench/lib/fleet-sim.ts: the daemon's own FleetSync per
// server — read, watch, fleet.json written — without an nft table, in one process).
// The change: a revocation of alice on every server (what `fleet revoke alice --all` does),
// timed from its first txn; real servers: until status.json, which the daemon writes
// after the kernel took the change, no longer lists alice.
// Run (root, nft, etcd-server): pnpm bench:fleet [--sizes 10,100,1000]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NODE, createTopology, nodeSourceArgv, pollUntil, type NsProcess, type Topology } from '@otpknock/e2e-harness';
import { machineInfo, machineLine } from './lib/machine.js';
import { markdownTable } from './lib/markdown.js';
import { median } from './lib/stats.js';
import { ETCD_ROOT_PASSWORD, haveEtcd, startEtcdCluster, type EtcdCluster } from '../test/support/etcd.js';
import { OTPKNOCKD, assertBuilt, testUser, usersYaml, writeConfig, type ConfigDir } from '../test/support/otpknockd.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10,100,1000' } } });
const SIZES = values.sizes.split(',').map(Number);
const REAL = [
  { name: 'web-1', host: 'server' },
  { name: 'web-2', host: 's2' },
  { name: 'web-3', host: 's3' },
];
const ETCD = [
  { host: 'e1', ip: '192.0.2.101' },
  { host: 'e2', ip: '192.0.2.102' },
  { host: 'e3', ip: '192.0.2.103' },
];

if (!haveEtcd()) throw new Error('etcd-server is not installed (apt-get install etcd-server etcd-client)');
assertBuilt();
const t: Topology = await createTopology({
  extraHosts: [
    { name: 's2', ipv4: '192.0.2.12', ipv6: '2001:db8:1::12' },
    { name: 's3', ipv4: '192.0.2.13', ipv6: '2001:db8:1::13' },
    { name: 'sim', ipv4: '192.0.2.50', ipv6: '2001:db8:1::50' },
    ...ETCD.map((e) => ({ name: e.host, ipv4: e.ip, ipv6: `2001:db8:1::${e.ip.split('.')[3]}` })),
  ],
});
const home = mkdtempSync(join(tmpdir(), 'otpknock-bench-fleet-'));
const configs: ConfigDir[] = [];
const daemons: NsProcess[] = [];
let etcd: EtcdCluster | undefined;
const rows: string[][] = [];
try {
  etcd = await startEtcdCluster(t, ETCD);
  const admin = join(home, 'fleet.yaml');
  writeFileSync(join(home, 'root.credentials'), `user: root\npassword: ${ETCD_ROOT_PASSWORD}\n`, { mode: 0o600 });
  writeFileSync(admin, `name: acme\nendpoints: [${etcd.endpoints.join(', ')}]\ncredentials_file: root.credentials\n`);
  const fleet = async (args: string[]) => {
    const r = await t.exec('e1', [NODE, OTPKNOCKD, 'fleet', ...args, '-d', admin], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`fleet ${args[0]}: ${r.stderr}`);
  };
  await fleet(['init', '--period', '30']);
  for (const [i, s] of REAL.entries()) {
    const cfg = writeConfig((secretFile) =>
      [
        'log_format: json',
        'services:',
        '  ssh: { port: 22 }',
        'users:',
        usersYaml([testUser(`local${i}`)], secretFile),
        'fleet:',
        '  name: acme',
        `  server: ${s.name}`,
        `  endpoints: [${etcd!.endpoints.join(', ')}]`,
        '  credentials_file: etcd.credentials',
      ].join('\n'),
    );
    configs.push(cfg);
    await fleet(['server', 'add', s.name, '--credentials-out', join(cfg.dir, 'etcd.credentials')]);
    const d = t.spawn(s.host, [NODE, OTPKNOCKD, 'run', '--config', cfg.file, '--log-format', 'json']);
    await d.waitForLine(/"event":"start"/, { timeoutMs: 30_000 });
    daemons.push(d);
  }
  const live = (i: number): string[] => {
    try {
      return (
        JSON.parse(readFileSync(join(configs[i]!.dir, 'state', 'status.json'), 'utf8')) as { users: { name: string }[] }
      ).users.map((u) => u.name);
    } catch {
      return [];
    }
  };
  for (const n of SIZES) {
    const sims = Array.from({ length: Math.max(0, n - REAL.length) }, (_, i) => `sim${n}-${i}`);
    const stateRoot = mkdtempSync('/dev/shm/otpknock-fleet-sim-');
    const sim = t.spawn('sim', nodeSourceArgv('bench/lib/fleet-sim.ts'));
    sim.write(
      `${JSON.stringify({ endpoints: etcd.endpoints, fleet: 'acme', servers: sims, stateRoot, user: 'root', password: ETCD_ROOT_PASSWORD })}\n`,
    );
    await sim.waitForLine(/"ready"/, { timeoutMs: 300_000 });
    const servers = [...REAL.map((s) => s.name), ...sims];
    await fleet(['enrol', 'alice', '--servers', servers.join(','), '--json']);
    const simHas = () =>
      new Map(
        sim.lines().flatMap((l) => {
          try {
            const j = JSON.parse(l.text) as { server?: string; alice?: boolean; t?: number };
            return j.server ? [[j.server, j] as const] : [];
          } catch {
            return [];
          }
        }),
      );
    await pollUntil(
      () =>
        REAL.every((_, i) => live(i).includes('alice')) &&
        [...simHas().values()].filter((j) => j.alice).length === sims.length,
      { timeoutMs: 300_000, intervalMs: 100, message: `alice on all ${n} servers` },
    );
    const mark = sim.mark();
    sim.write(`${JSON.stringify({ revoke: 'alice' })}\n`);
    const revokeLine = await sim.waitForLine(/"revokeStart"/, { after: mark, timeoutMs: 120_000 });
    const { revokeStart: started, revokeEnd: committed } = JSON.parse(revokeLine) as {
      revokeStart: number;
      revokeEnd: number;
    };
    const realDone = await Promise.all(
      REAL.map(async (_, i) => {
        await pollUntil(() => !live(i).includes('alice'), { timeoutMs: 120_000, intervalMs: 5 });
        return Date.now();
      }),
    );
    await pollUntil(
      () =>
        sim
          .lines()
          .slice(mark)
          .filter((l) => l.text.includes('"alice":false')).length >= sims.length,
      { timeoutMs: 300_000, intervalMs: 20 },
    );
    const simDone = sim
      .lines()
      .slice(mark)
      .flatMap((l) => {
        try {
          const j = JSON.parse(l.text) as { alice?: boolean; t?: number };
          return j.alice === false && j.t ? [j.t] : [];
        } catch {
          return [];
        }
      });
    const fromCommit = (x: number) => `${x - started} ms`;
    rows.push([
      String(n),
      String(servers.length),
      `${committed - started} ms`,
      sims.length ? fromCommit(median(simDone)) : '-',
      sims.length ? fromCommit(Math.max(...simDone)) : '-',
      fromCommit(Math.max(...realDone)),
      fromCommit(Math.max(...realDone, ...simDone)),
    ]);
    console.error(`n=${n}: ${rows.at(-1)!.join(' | ')}`);
    await fleet(['remove', 'alice']);
    await sim.stop('SIGTERM', 5_000);
    rmSync(stateRoot, { recursive: true, force: true });
  }
} finally {
  await Promise.all(daemons.map((d) => d.stop('SIGTERM', 5_000)));
  await etcd?.remove();
  await t.destroy();
  for (const c of configs) c.cleanup();
  rmSync(home, { recursive: true, force: true });
}

const report = [
  '## Fleet propagation: directory change → last server',
  '',
  machineLine(machineInfo()),
  '',
  'A 3-member etcd 3.4 cluster and 3 real otpknockd servers in namespaces; the other servers simulated (the daemon’s FleetSync each, in one process, state on /dev/shm). The change: a revocation of alice on every server (FleetAdmin.revoke, what `fleet revoke alice --all` does: one record per server, txns of at most 128 operations). Times from the change’s start (its first txn sent); real servers: until their status.json, written after the kernel took the change, no longer lists alice; simulated: until their fleet.json is written (when a daemon would apply it).',
  '',
  markdownTable(
    [
      'servers',
      'records changed',
      'txns (start → last committed)',
      'simulated p50',
      'simulated last',
      'real servers last (kernel)',
      'last server',
    ],
    rows,
    ['right', 'right', 'right', 'right', 'right', 'right', 'right'],
  ),
].join('\n');
process.stdout.write(`${report}\n`);
const out = fileURLToPath(new URL('results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'fleet.md'), `${report}\n`);
