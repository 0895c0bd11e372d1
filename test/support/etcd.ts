// A real etcd cluster (Debian's etcd-server) for the fleet tests and bench: one member
// per harness namespace, on the segment's RFC 5737 addresses, data dirs in a temp dir
// (removed by remove()). Members are ours: stopped by pid, killed with the topology.
// With `tls`, members speak TLS to clients and to each other (certificates made by
// openssl: ./etcd-pki.ts), demand client certificates, and also serve plain http on
// port 2378 for a client without TLS.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil, type NsProcess, type Topology } from '@otpknock/e2e-harness';
import { makeEtcdPki, type EtcdPki } from './etcd-pki.js';

export interface EtcdMember {
  /** The harness host (an extra host's name) the member runs in. */
  host: string;
  ip: string;
}

export interface EtcdCluster {
  /** The client URLs: https:// with `tls`, http:// without. */
  readonly endpoints: string[];
  /** Plain http client URLs (the same as `endpoints` without `tls`; port 2378 with it). */
  readonly httpEndpoints: string[];
  /** With `tls`: the CA, the members' and a client's certificates. */
  readonly pki?: EtcdPki;
  readonly dataRoot: string;
  /** Stops one member (SIGTERM, waits). */
  stop(host: string): Promise<void>;
  /** Starts a stopped member again with its data dir. */
  start(host: string): Promise<void>;
  /** Runs etcdctl (as root unless `user` is given) against every endpoint, in the first member's namespace. */
  etcdctl(
    args: string[],
    user?: string,
    input?: string,
  ): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Stops every member and removes the data dirs. */
  remove(): Promise<void>;
}

export const ETCD_ROOT_PASSWORD = 'root-test-password';

/** Whether Debian's etcd-server is installed (scripts/setup.sh installs it). */
export const haveEtcd = (): boolean => existsSync('/usr/bin/etcd') && existsSync('/usr/bin/etcdctl');

export async function startEtcdCluster(
  t: Topology,
  members: EtcdMember[],
  opts: { tls?: boolean } = {},
): Promise<EtcdCluster> {
  const dataRoot = mkdtempSync(join(tmpdir(), 'otpknock-etcd-'));
  let pki: EtcdPki | undefined;
  try {
    pki = opts.tls ? makeEtcdPki(join(dataRoot, 'pki'), members) : undefined;
  } catch (e) {
    rmSync(dataRoot, { recursive: true, force: true }); // openssl failed: leave no temp dir behind
    throw e;
  }
  const scheme = pki ? 'https' : 'http';
  const initial = members.map((m) => `${m.host}=${scheme}://${m.ip}:2380`).join(',');
  const endpoints = members.map((m) => `${scheme}://${m.ip}:2379`);
  const httpEndpoints = pki ? members.map((m) => `http://${m.ip}:2378`) : endpoints;
  const procs = new Map<string, NsProcess>();
  const tlsFlags = (m: EtcdMember) =>
    pki === undefined
      ? []
      : [
          `--cert-file=${pki.member(m.host).cert}`,
          `--key-file=${pki.member(m.host).key}`,
          `--trusted-ca-file=${pki.ca}`,
          '--client-cert-auth',
          `--peer-cert-file=${pki.member(m.host).cert}`,
          `--peer-key-file=${pki.member(m.host).key}`,
          `--peer-trusted-ca-file=${pki.ca}`,
          '--peer-client-cert-auth',
        ];
  const launch = (m: EtcdMember) => {
    const argv = [
      'etcd',
      `--name=${m.host}`,
      `--data-dir=${join(dataRoot, m.host)}`,
      `--listen-client-urls=${scheme}://${m.ip}:2379${pki ? `,http://${m.ip}:2378` : ''}`,
      `--advertise-client-urls=${scheme}://${m.ip}:2379`,
      `--listen-peer-urls=${scheme}://${m.ip}:2380`,
      `--initial-advertise-peer-urls=${scheme}://${m.ip}:2380`,
      ...tlsFlags(m),
      `--initial-cluster=${initial}`,
      `--initial-cluster-token=otpknock-${t.id}`,
      '--initial-cluster-state=new',
      // A short election timeout: the tests stop members and want a new leader soon.
      '--heartbeat-interval=100',
      '--election-timeout=1000',
      '--logger=zap',
      '--log-level=error',
    ];
    procs.set(m.host, t.spawn(m.host, argv));
  };
  const first = members[0]!;
  const clientTls = pki ? [`--cacert=${pki.ca}`, `--cert=${pki.client.cert}`, `--key=${pki.client.key}`] : [];
  const etcdctl: EtcdCluster['etcdctl'] = async (args, user = `root:${ETCD_ROOT_PASSWORD}`, input) => {
    const r = await t.exec(
      first.host,
      [
        'etcdctl',
        `--endpoints=${endpoints.join(',')}`,
        ...clientTls,
        ...(user === '' ? [] : [`--user=${user}`]),
        ...args,
      ],
      { timeoutMs: 15_000, ...(input === undefined ? {} : { input }) },
    );
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  };
  const cluster: EtcdCluster = {
    endpoints,
    httpEndpoints,
    ...(pki === undefined ? {} : { pki }),
    dataRoot,
    async stop(host) {
      await procs.get(host)?.stop('SIGTERM', 5_000);
      procs.delete(host);
    },
    async start(host) {
      launch(members.find((m) => m.host === host)!);
      await pollUntil(
        async () =>
          (
            await t.exec(
              host,
              [
                'etcdctl',
                `--endpoints=${endpoints[members.findIndex((m) => m.host === host)]}`,
                ...clientTls,
                'endpoint',
                'health',
              ],
              { timeoutMs: 5_000 },
            )
          ).code === 0,
        { timeoutMs: 20_000, intervalMs: 200, message: `etcd member ${host} healthy again` },
      ).catch(() => undefined); // without quorum it is not "healthy"; the caller checks what it needs
    },
    etcdctl,
    async remove() {
      await Promise.all([...procs.keys()].map((h) => cluster.stop(h)));
      rmSync(dataRoot, { recursive: true, force: true });
    },
  };
  try {
    members.forEach(launch);
    await pollUntil(async () => (await etcdctl(['endpoint', 'health'], '')).code === 0, {
      timeoutMs: 30_000,
      intervalMs: 250,
      message: 'etcd cluster healthy',
    });
    // etcd auth: a root user with the root role; the fleet commands add the servers' users.
    for (const args of [
      ['user', 'add', `root:${ETCD_ROOT_PASSWORD}`],
      ['user', 'grant-role', 'root', 'root'],
      ['auth', 'enable'],
    ]) {
      const r = await etcdctl(args, '');
      if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${r.stderr}`);
    }
  } catch (e) {
    await cluster.remove();
    throw e;
  }
  return cluster;
}
