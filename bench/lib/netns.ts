// Throw-away network namespaces for benchmarks, built on the e2e harness's process and
// cleanup helpers: names unique per run (okb<id>p<pid>-<role>), tracked so the harness's
// exit/SIGINT/SIGTERM/SIGHUP handlers remove them even when the bench throws or is
// interrupted, and every command time-limited. Nothing is ever created in the root
// namespace: each veth pair is born inside one of our namespaces with its peer in another.
import { randomBytes } from 'node:crypto';
import {
  deleteNamespacesSync,
  run,
  spawnTracked,
  sweepStaleNamespaces,
  trackNamespace,
  untrackNamespace,
  type ExecOptions,
  type ExecResult,
  type NsProcess,
} from '@otpknock/e2e-harness';

/** Every bench namespace: okb<6 hex id>p<owner pid>-<role>. */
export const BENCH_NAMESPACE_PATTERN = /^okb([0-9a-f]{6})p(\d+)-([a-z0-9]+)$/;

export interface BenchLink {
  /** Interface names, inside each side's namespace. */
  aIf: string;
  bIf: string;
}

export interface BenchNet {
  readonly id: string;
  /** Full namespace name of a role added with addNamespace. */
  ns(role: string): string;
  addNamespace(role: string): Promise<string>;
  /** A veth pair between two of our namespaces, addresses assigned, links up. */
  link(a: string, aCidr: string, b: string, bCidr: string): Promise<BenchLink>;
  /** `ip netns exec <ns> argv…`, time-limited (default 10 s). */
  exec(role: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** A long-running `ip netns exec <ns> argv…` (a daemon, a capture); destroy() kills it at the latest. */
  spawn(role: string, argv: readonly string[], opts?: { env?: NodeJS.ProcessEnv }): NsProcess;
  /** Kills whatever runs inside and deletes every namespace. Idempotent, synchronous. */
  destroy(): void;
}

/** Removes bench namespaces left by a run that was SIGKILLed (owner pid dead). */
export function sweepStaleBenchNamespaces(): string[] {
  return sweepStaleNamespaces(BENCH_NAMESPACE_PATTERN);
}

async function ip(args: string[]): Promise<void> {
  await run(['ip', ...args], { check: true, timeoutMs: 5_000 });
}

export function createBenchNet(): BenchNet {
  sweepStaleBenchNamespaces();
  const id = randomBytes(3).toString('hex');
  const base = `okb${id}p${process.pid}`;
  const names = new Map<string, string>();
  let links = 0;
  let destroyed = false;

  const ns = (role: string): string => {
    const name = names.get(role);
    if (name === undefined) throw new Error(`bench namespace ${role} does not exist in run ${id}`);
    return name;
  };

  return {
    id,
    ns,
    async addNamespace(role) {
      if (destroyed) throw new Error('bench network already destroyed');
      if (!/^[a-z0-9]{1,12}$/.test(role) || names.has(role)) throw new Error(`bad or duplicate namespace role ${role}`);
      const name = `${base}-${role}`;
      names.set(role, name);
      trackNamespace(name); // before creating: a failure half-way is still cleaned up
      await ip(['netns', 'add', name]);
      await ip(['-n', name, 'link', 'set', 'lo', 'up']);
      return name;
    },
    async link(a, aCidr, b, bCidr) {
      const n = links++;
      // Interface names are limited to 15 characters.
      const aIf = `okb${id}-${n}a`;
      const bIf = `okb${id}-${n}b`;
      await ip(['-n', ns(a), 'link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', ns(b)]);
      for (const [role, ifname, cidr] of [
        [a, aIf, aCidr],
        [b, bIf, bCidr],
      ] as const) {
        const v6 = cidr.includes(':');
        await ip(['-n', ns(role), ...(v6 ? ['-6'] : []), 'addr', 'add', cidr, 'dev', ifname, ...(v6 ? ['nodad'] : [])]);
        await ip(['-n', ns(role), 'link', 'set', ifname, 'up']);
      }
      return { aIf, bIf };
    },
    exec(role, argv, opts) {
      if (destroyed) throw new Error('bench network already destroyed');
      return run(['ip', 'netns', 'exec', ns(role), ...argv], opts);
    },
    spawn(role, argv, opts) {
      if (destroyed) throw new Error('bench network already destroyed');
      return spawnTracked(['ip', 'netns', 'exec', ns(role), ...argv], opts);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      const all = [...names.values()];
      deleteNamespacesSync(all);
      for (const name of all) untrackNamespace(name);
    },
  };
}
