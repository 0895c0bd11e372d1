// Gateway checks (docs/gateway.md): DNAT rules in the ruleset whose ports no
// forwarded service guards (a port forward or a Docker-published port that anyone
// reaches without a knock), forwarded services with nothing to guard, forwarding
// switched off, and routed destinations this host cannot route. Pure: the
// ruleset, the forwarding switches and route lookups in, findings out.
import type { ServiceConfig } from '../config/types.js';
import { serviceScopeText } from '../config/forward.js';
import { finding, type Finding } from './finding.js';
import type { Ruleset } from './ruleset.js';

type Interval = readonly [number, number];

/** A DNAT of another table's rule: the TCP ports it takes (undefined: every port) and where to. */
export interface DnatRule {
  where: string;
  ports?: Interval[];
  /** "198.51.100.2:8080"; undefined for iptables-nft's DNAT target, whose destination nft does not show. */
  to?: string;
}

/** What `ip route get ADDR` said: the interface it leaves by, that it is local, or why there is no route. */
export type RouteFact = { dev: string } | { local: true } | { error: string };

export interface GatewayFacts {
  services: readonly ServiceConfig[];
  dnat: readonly DnatRule[];
  /** net.ipv4.ip_forward and net.ipv6.conf.all.forwarding; undefined when unreadable. */
  forwarding: { v4?: boolean; v6?: boolean };
  /** Per routed destination (as in the config). */
  routes: ReadonlyMap<string, RouteFact>;
}

type Expr = Record<string, unknown>;

/** The TCP dport intervals a match's right side names; undefined when it cannot be read (a named set). */
function portIntervals(right: unknown): Interval[] | undefined {
  if (typeof right === 'number') return [[right, right]];
  const r = right as { set?: unknown[]; range?: [number, number] } | null;
  if (r?.range) return [r.range];
  if (Array.isArray(r?.set)) {
    const out = r.set.map(portIntervals);
    return out.every((x) => x !== undefined) ? out.flat() : undefined;
  }
  return undefined;
}

const isLoopback = (addr: string) => addr.startsWith('127.') || addr === '::1';

/** A match on UDP: `udp dport …` or `meta l4proto udp`. */
function isUdp(e: Expr): boolean {
  const m = e.match as
    { left?: { payload?: { protocol?: string }; meta?: { key?: string } }; right?: unknown } | undefined;
  return m?.left?.payload?.protocol === 'udp' || (m?.left?.meta?.key === 'l4proto' && m.right === 'udp');
}

/** Every DNAT in the ruleset outside our table (nft's dnat statement or iptables-nft's DNAT target). */
export function dnatRules(ruleset: Ruleset, ourTable: string): DnatRule[] {
  const out: DnatRule[] = [];
  for (const rule of ruleset.rules) {
    if (rule.family === 'inet' && rule.table === ourTable) continue;
    const expr = (rule.expr ?? []) as Expr[];
    const dnat = expr.find((e) => 'dnat' in e)?.dnat as { addr?: string; port?: number } | undefined;
    const xt = expr.some((e) => (e.xt as { name?: string } | undefined)?.name === 'DNAT');
    if (dnat === undefined && !xt) continue;
    if (dnat?.addr !== undefined && isLoopback(dnat.addr)) continue; // stays on this host
    if (expr.some(isUdp)) continue; // knocking guards TCP services
    const dport = expr.find((e) => {
      const m = e.match as { op?: string; left?: { payload?: { protocol?: string; field?: string } } } | undefined;
      return m?.op === '==' && m.left?.payload?.protocol === 'tcp' && m.left.payload.field === 'dport';
    })?.match as { right?: unknown } | undefined;
    const ports = dport === undefined ? undefined : portIntervals(dport.right);
    if (dport !== undefined && ports === undefined) continue; // a named set: cannot tell which ports
    const addr = dnat?.addr?.includes(':') ? `[${dnat.addr}]` : dnat?.addr;
    out.push({
      where: `table ${rule.family} ${rule.table}, chain ${rule.chain}`,
      ...(ports === undefined ? {} : { ports }),
      ...(addr === undefined ? {} : { to: dnat?.port === undefined ? addr : `${addr}:${dnat.port}` }),
    });
  }
  return out;
}

/** "8443, 9000-9010": touching intervals merged. */
function portsText(ports: readonly Interval[]): string {
  const merged: [number, number][] = [];
  for (const [lo, hi] of [...ports].sort((a, b) => a[0] - b[0])) {
    const last = merged[merged.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return merged.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(', ');
}
const covers = (ports: readonly Interval[] | undefined, port: number) =>
  ports === undefined || ports.some(([lo, hi]) => port >= lo && port <= hi);

/** DNATed ports that no `forward: dnat` service guards, while this host forwards. */
function unguardedDnat(facts: GatewayFacts): Finding[] {
  const guarded = facts.services.filter((s) => s.forward?.kind === 'dnat').map((s) => s.port);
  const findings: Finding[] = [];
  for (const rule of facts.dnat) {
    const to = rule.to === undefined ? '' : ` to ${rule.to}`;
    if (rule.ports === undefined) {
      findings.push(
        finding(
          'gateway',
          'warning',
          `every TCP port is DNATed${to} (${rule.where}) and this host forwards: anyone reaches that host on any port without a knock`,
          'DNAT only the ports you need, each guarded by a service with forward: dnat (docs/gateway.md)',
        ),
      );
      continue;
    }
    const open = rule.ports.flatMap(([lo, hi]) =>
      hi - lo > 64
        ? [[lo, hi] as Interval]
        : Array.from({ length: hi - lo + 1 }, (_, i) => [lo + i, lo + i] as Interval),
    );
    const unguarded = open.filter(([lo, hi]) => !(lo === hi && guarded.includes(lo)));
    if (unguarded.length === 0) continue;
    const text = portsText(unguarded);
    findings.push(
      finding(
        'gateway',
        'warning',
        `TCP port ${text} is DNATed${to} (${rule.where}) and this host forwards, but no service guards it: anyone reaches it without a knock (a port forward, or a port Docker publishes, never passes the input hook, so input-hook firewalls such as ufw do not guard it either)`,
        `to guard it with a knock add to services: NAME: { port: ${unguarded[0]![0]}, forward: dnat } (docs/gateway.md)`,
      ),
    );
  }
  return findings;
}

/** The forwarded services themselves: forwarding on, a DNAT to guard, a route to their destination. */
function forwardedServiceFindings(facts: GatewayFacts, forwarded: readonly ServiceConfig[]): Finding[] {
  const findings: Finding[] = [];
  for (const s of forwarded) {
    const scope = s.forward!;
    if (scope.kind === 'dnat') {
      if (!facts.dnat.some((r) => covers(r.ports, s.port))) {
        findings.push(
          finding(
            'gateway',
            'info',
            `service ${s.name} guards TCP port ${s.port} DNATed by this host, but no DNAT rule for it is in the nftables ruleset (yet: a Docker container that is not running has none; iptables-legacy rules are not seen)`,
          ),
        );
      }
      continue;
    }
    const route = facts.routes.get(scope.destination);
    if (route === undefined) continue;
    if ('local' in route) {
      findings.push(
        finding(
          'gateway',
          'problem',
          `service ${s.name} is forwarded to ${scope.destination}, which is an address of this host: connections to it are delivered here (input hook), never forwarded, so the forward guard never sees them`,
          `declare ${s.name} without forward: (a local service), or name the address of the host behind this one`,
        ),
      );
    } else if ('error' in route) {
      findings.push(
        finding(
          'gateway',
          'problem',
          `service ${s.name} is forwarded to ${scope.destination}, but this host has no route there (${route.error})`,
          `add a route to ${scope.destination}, or fix the address in services.${s.name}.forward`,
        ),
      );
    }
  }
  return findings;
}

export function gatewayFindings(facts: GatewayFacts): Finding[] {
  const forwarded = facts.services.filter((s) => s.forward !== undefined);
  const forwards = facts.forwarding.v4 === true || facts.forwarding.v6 === true;
  const findings = forwards ? unguardedDnat(facts) : [];
  if (forwarded.length === 0) return findings;
  if (!forwards) {
    findings.push(
      finding(
        'gateway',
        'warning',
        `services ${forwarded.map((s) => s.name).join(', ')} are forwarded, but this host forwards nothing (net.ipv4.ip_forward and net.ipv6.conf.all.forwarding are off): they are unreachable, knock or not`,
        'sysctl -w net.ipv4.ip_forward=1 (and net.ipv6.conf.all.forwarding=1), persistently in /etc/sysctl.d/',
      ),
    );
  }
  findings.push(...forwardedServiceFindings(facts, forwarded));
  if (!findings.some((f) => f.severity !== 'ok')) {
    const list = forwarded.map((s) => `${s.name} (TCP ${s.port}, ${serviceScopeText(s.forward)})`).join(', ');
    findings.push(finding('gateway', 'ok', `forwarded services guarded on the forward hook: ${list}`));
  }
  return findings;
}
