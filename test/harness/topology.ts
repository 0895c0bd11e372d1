// Three hosts (server, client, eve) on one L2 segment, each in its own network namespace.
// The segment is a bridge inside a fourth "hub" namespace, so the root namespace never
// holds a single interface of ours, and the server's firewall sees only what is addressed
// to it. Learning is off on the bridge ports: it floods like a hub, so eve can see the
// client's knocks the way an eavesdropper on a shared segment would.
//
// With `{ backend: true }` a fifth namespace, `backend`, sits behind the server on a
// routed subnet of its own (198.51.100.0/24, 2001:db8:2::/64) joined to the server by
// a veth pair: the server forwards between the two (gateway mode), and the client
// and eve route that subnet through it.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { deleteNamespacesSync, sweepStaleNamespaces, trackNamespace, untrackNamespace } from './cleanup.js';
import { run, spawnTracked, type ExecOptions, type ExecResult, type NsProcess } from './proc.js';

export type Role = 'server' | 'client' | 'eve';
export const ROLES: readonly Role[] = ['server', 'client', 'eve'];

export interface Host {
  /** A role, 'backend', or the name of an extra host (TopologyOptions.extraHosts). */
  role: Role | 'backend' | (string & {});
  /** Network namespace name (unique per run). */
  ns: string;
  /** The host's interface on the segment (inside ns). */
  ifname: string;
  ipv4: string;
  ipv6: string;
  /** With prefix length, as configured: 192.0.2.1/24, 2001:db8:1::1/64. */
  ipv4Cidr: string;
  ipv6Cidr: string;
}

/** A namespace by role ('server') or by its full name (e.g. topo.hub). */
export type NsRef = Role | 'hub' | 'backend' | (string & {});

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface Topology {
  /** Random per-topology id, part of every name. */
  readonly id: string;
  readonly server: Host;
  readonly client: Host;
  readonly eve: Host;
  /**
   * With `{ backend: true }`: the host behind the server (role 'backend', namespace
   * `…-backend`), on 198.51.100.2/24 and 2001:db8:2::2/64; the server's side of the link
   * is `gateway`. Throws without it.
   */
  readonly backend: Host;
  /** The server's interface and addresses on the backend link (198.51.100.1, 2001:db8:2::1). */
  readonly gateway: Omit<Host, 'role' | 'ns'>;
  readonly hosts: Readonly<Record<Role, Host>>;
  /** The extra hosts asked for (TopologyOptions.extraHosts), by name; on the same segment. */
  readonly extra: Readonly<Record<string, Host>>;
  /** The namespace holding the bridge. */
  readonly hub: string;
  readonly bridge: string;
  /** All namespaces of this topology (hub included). */
  readonly namespaces: readonly string[];
  /** Interface names (hub-side and host-side veths, bridge): all unique per run. */
  readonly interfaces: readonly string[];
  readonly destroyed: boolean;
  /** The full namespace name for a role or name; throws for namespaces not ours. */
  nsName(ns: NsRef): string;
  /** Runs `ip netns exec <ns> argv…` and collects output; see ExecOptions (timeout, input, check). */
  exec(ns: NsRef, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Starts a long-running process in ns; it is killed by destroy() if still running. */
  spawn(ns: NsRef, argv: readonly string[], opts?: SpawnOptions): NsProcess;
  /** Kills every process in our namespaces and deletes them. Idempotent. */
  destroy(): Promise<void>;
}

const PLAN: Record<Role, { v4: string; v6: string; tag: string }> = {
  server: { v4: '192.0.2.1', v6: '2001:db8:1::1', tag: 's' },
  client: { v4: '192.0.2.2', v6: '2001:db8:1::2', tag: 'c' },
  eve: { v4: '192.0.2.3', v6: '2001:db8:1::3', tag: 'e' },
};

async function ip(args: string[]): Promise<void> {
  await run(['ip', ...args], { check: true, timeoutMs: 5_000 });
}

export interface TopologyOptions {
  /** Add the backend namespace behind the server (routed subnet, forwarding on in the server). */
  backend?: boolean;
  /**
   * More hosts on the segment (e.g. a fleet: servers, etcd members). name: [a-z0-9]{1,4}
   * (part of namespace and interface names, which have at most 15 characters); ipv4 in
   * 192.0.2.0/24 other than .1–.3, ipv6 in 2001:db8:1::/64.
   */
  extraHosts?: { name: string; ipv4: string; ipv6: string }[];
}

const BACKEND = { v4: '198.51.100.2', v6: '2001:db8:2::2', gw4: '198.51.100.1', gw6: '2001:db8:2::1' };

export async function createTopology(opts: TopologyOptions = {}): Promise<Topology> {
  sweepStaleNamespaces();
  const id = randomBytes(3).toString('hex');
  const base = `okt${id}p${process.pid}`;
  const hub = `${base}-hub`;
  // Interface names are limited to 15 characters: okt + 6 hex + short suffix.
  const bridge = `okt${id}-br`;
  const hosts = Object.fromEntries(
    ROLES.map((role) => {
      const p = PLAN[role];
      const host: Host = {
        role,
        ns: `${base}-${role}`,
        ifname: `okt${id}-${p.tag}`,
        ipv4: p.v4,
        ipv6: p.v6,
        ipv4Cidr: `${p.v4}/24`,
        ipv6Cidr: `${p.v6}/64`,
      };
      return [role, host];
    }),
  ) as Record<Role, Host>;
  const backendHost = {
    role: 'backend' as const,
    ns: `${base}-backend`,
    ifname: `okt${id}-b`,
    ipv4: BACKEND.v4,
    ipv6: BACKEND.v6,
    ipv4Cidr: `${BACKEND.v4}/24`,
    ipv6Cidr: `${BACKEND.v6}/64`,
  };
  const gateway = {
    ifname: `okt${id}-gb`,
    ipv4: BACKEND.gw4,
    ipv6: BACKEND.gw6,
    ipv4Cidr: `${BACKEND.gw4}/24`,
    ipv6Cidr: `${BACKEND.gw6}/64`,
  };
  const extra: Record<string, Host> = {};
  for (const x of opts.extraHosts ?? []) {
    if (!/^[a-z0-9]{1,4}$/.test(x.name) || x.name in PLAN || x.name in extra)
      throw new Error(`extra host name ${x.name}: expected 1-4 of a-z 0-9, unique, not a role`);
    if (!x.ipv4.startsWith('192.0.2.') || !x.ipv6.startsWith('2001:db8:1::'))
      throw new Error(`extra host ${x.name}: addresses must be in 192.0.2.0/24 and 2001:db8:1::/64`);
    extra[x.name] = {
      role: x.name,
      ns: `${base}-x${x.name}`,
      ifname: `okt${id}-x${x.name}`,
      ipv4: x.ipv4,
      ipv6: x.ipv6,
      ipv4Cidr: `${x.ipv4}/24`,
      ipv6Cidr: `${x.ipv6}/64`,
    };
  }
  const onSegment: { host: Host; hubSide: string }[] = [
    ...ROLES.map((r) => ({ host: hosts[r], hubSide: `okt${id}-h${PLAN[r].tag}` })),
    ...Object.values(extra).map((h) => ({ host: h, hubSide: `okt${id}-y${h.role}` })),
  ];
  const namespaces = [hub, ...onSegment.map((a) => a.host.ns), ...(opts.backend ? [backendHost.ns] : [])];
  const interfaces = [
    bridge,
    ...onSegment.flatMap((a) => [a.host.ifname, a.hubSide]),
    ...(opts.backend ? [backendHost.ifname, gateway.ifname] : []),
  ];

  let destroyed = false;
  let destroying: Promise<void> | undefined;
  const spawned = new Set<NsProcess>();

  const nsName = (ns: NsRef): string => {
    if (ns === 'hub') return hub;
    if (ns === 'backend' && opts.backend) return backendHost.ns;
    if ((ROLES as readonly string[]).includes(ns)) return hosts[ns as Role].ns;
    if (Object.hasOwn(extra, ns)) return extra[ns]!.ns;
    if (namespaces.includes(ns)) return ns;
    throw new Error(`namespace ${ns} is not part of topology ${id} (refusing to run outside our namespaces)`);
  };
  const live = (what: string) => {
    if (destroyed) throw new Error(`topology ${id} is destroyed; cannot ${what}`);
  };

  const topo: Topology = {
    id,
    server: hosts.server,
    client: hosts.client,
    eve: hosts.eve,
    get backend() {
      if (!opts.backend) throw new Error('this topology has no backend: createTopology({ backend: true })');
      return backendHost;
    },
    get gateway() {
      if (!opts.backend) throw new Error('this topology has no backend: createTopology({ backend: true })');
      return gateway;
    },
    hosts,
    extra,
    hub,
    bridge,
    namespaces,
    interfaces,
    get destroyed() {
      return destroyed;
    },
    nsName,
    exec(ns, argv, opts) {
      live('exec');
      return run(['ip', 'netns', 'exec', nsName(ns), ...argv], opts);
    },
    spawn(ns, argv, opts = {}) {
      live('spawn');
      // `ip netns exec` execs the command in place: the pid we track is the command itself.
      const p = spawnTracked(['ip', 'netns', 'exec', nsName(ns), ...argv], opts);
      spawned.add(p);
      void p.exited.then(() => spawned.delete(p));
      return p;
    },
    destroy() {
      destroying ??= (async () => {
        destroyed = true;
        for (const p of spawned) p.child.kill('SIGKILL');
        // Bounded wait so the pids are reaped before the namespaces go.
        await Promise.race([Promise.all([...spawned].map((p) => p.exited)), sleep(2_000)]);
        // Also whatever else runs inside (e.g. a daemon a test started on its own).
        deleteNamespacesSync(namespaces);
        for (const ns of namespaces) untrackNamespace(ns);
      })();
      return destroying;
    },
  };

  try {
    // Track before creating, so a failure half-way is still cleaned up.
    for (const ns of namespaces) {
      trackNamespace(ns);
      await ip(['netns', 'add', ns]);
    }
    await ip(['-n', hub, 'link', 'add', bridge, 'type', 'bridge', 'mcast_snooping', '0']);
    await ip(['-n', hub, 'link', 'set', bridge, 'up']);
    await Promise.all(
      onSegment.map(async ({ host: h, hubSide }) => {
        // Created inside the hub and born with its peer in the host: never in the root namespace.
        await ip(['-n', hub, 'link', 'add', hubSide, 'type', 'veth', 'peer', 'name', h.ifname, 'netns', h.ns]);
        await ip(['-n', hub, 'link', 'set', hubSide, 'master', bridge]);
        await ip(['-n', hub, 'link', 'set', hubSide, 'type', 'bridge_slave', 'learning', 'off']);
        await ip(['-n', hub, 'link', 'set', hubSide, 'up']);
        await ip(['-n', h.ns, 'link', 'set', 'lo', 'up']);
        await ip(['-n', h.ns, 'addr', 'add', h.ipv4Cidr, 'dev', h.ifname]);
        // nodad: the address is usable at once instead of after ~1 s of duplicate detection.
        await ip(['-n', h.ns, '-6', 'addr', 'add', h.ipv6Cidr, 'dev', h.ifname, 'nodad']);
        await ip(['-n', h.ns, 'link', 'set', h.ifname, 'up']);
      }),
    );
    if (opts.backend) await addBackend(hosts, backendHost, gateway);
  } catch (e) {
    await topo.destroy();
    throw e;
  }
  return topo;
}

/** The backend behind the server: a veth born in the server with its peer in the backend, routes both ways. */
async function addBackend(
  hosts: Record<Role, Host>,
  backend: Host,
  gateway: { ifname: string; ipv4Cidr: string; ipv6Cidr: string; ipv4: string; ipv6: string },
): Promise<void> {
  const server = hosts.server.ns;
  await ip([
    '-n',
    server,
    'link',
    'add',
    gateway.ifname,
    'type',
    'veth',
    'peer',
    'name',
    backend.ifname,
    'netns',
    backend.ns,
  ]);
  // No duplicate address detection on the new link: while the link-local addresses are
  // tentative (~1 s) the first forwarded IPv6 SYN is lost and a 1 s probe times out.
  const sysctl = (ns: string, ...settings: string[]) =>
    run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', ...settings], { check: true, timeoutMs: 5_000 });
  await sysctl(server, `net.ipv6.conf.${gateway.ifname}.accept_dad=0`);
  await sysctl(backend.ns, `net.ipv6.conf.${backend.ifname}.accept_dad=0`);
  await ip(['-n', server, 'addr', 'add', gateway.ipv4Cidr, 'dev', gateway.ifname]);
  await ip(['-n', server, '-6', 'addr', 'add', gateway.ipv6Cidr, 'dev', gateway.ifname, 'nodad']);
  await ip(['-n', server, 'link', 'set', gateway.ifname, 'up']);
  await ip(['-n', backend.ns, 'link', 'set', 'lo', 'up']);
  await ip(['-n', backend.ns, 'addr', 'add', backend.ipv4Cidr, 'dev', backend.ifname]);
  await ip(['-n', backend.ns, '-6', 'addr', 'add', backend.ipv6Cidr, 'dev', backend.ifname, 'nodad']);
  await ip(['-n', backend.ns, 'link', 'set', backend.ifname, 'up']);
  await ip(['-n', backend.ns, 'route', 'add', 'default', 'via', gateway.ipv4]);
  await ip(['-n', backend.ns, '-6', 'route', 'add', 'default', 'via', gateway.ipv6]);
  // Forwarding is a per-namespace setting: this changes only the server namespace.
  await sysctl(server, 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
  for (const role of ['client', 'eve'] as const) {
    await ip(['-n', hosts[role].ns, 'route', 'add', '198.51.100.0/24', 'via', hosts.server.ipv4]);
    await ip(['-n', hosts[role].ns, '-6', 'route', 'add', '2001:db8:2::/64', 'via', hosts.server.ipv6]);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Creates a topology, runs fn, and always destroys it. */
export async function withTopology<T>(fn: (topo: Topology) => Promise<T>, opts: TopologyOptions = {}): Promise<T> {
  const topo = await createTopology(opts);
  try {
    return await fn(topo);
  } finally {
    await topo.destroy();
  }
}

/**
 * Vitest hooks: one topology for the enclosing describe (beforeAll/afterAll).
 * Call inside describeE2E; use the returned getter inside tests: `topo().exec(...)`.
 */
export function useTopology(opts: TopologyOptions = {}): () => Topology {
  let topo: Topology | undefined;
  beforeAll(async () => {
    topo = await createTopology(opts);
  });
  afterAll(async () => {
    await topo?.destroy();
  });
  return () => {
    if (!topo)
      throw new Error('useTopology(): topology not created yet (use it inside a test, not at collection time)');
    return topo;
  };
}
