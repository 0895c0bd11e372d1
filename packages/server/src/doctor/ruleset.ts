// Other firewalls in the way: reads `nft -j list ruleset` and asks, for each
// protected service and for knock UDP, whether some other table's base chain on
// the packet's path drops it. In nftables an `accept` in one base chain does
// not stop another base chain on the same hook from dropping the packet, so a
// drop anywhere (our table aside) is a drop. Pure: JSON in, findings out.
//
// The evaluation is abstract: each match is "yes", "no" or "maybe" (addresses,
// interfaces, rate limits: things we cannot know about the future client), a
// definite drop is a problem and a drop behind a "maybe" is a warning.
import { finding, type Finding } from './finding.js';

type Interval = readonly [number, number];
type Tri = 'yes' | 'no' | 'maybe';

export interface FirewallContext {
  /** Our own table (family inet), which is left out. */
  ourTable: string;
  services: readonly { name: string; port: number }[];
  /** Knock UDP ports, as merged intervals. */
  knockPorts: readonly Interval[];
  /** Priority of our input chain (`filter`, 0): knocks dropped by chains that run before it never reach us. */
  ourInputPriority?: number;
}

/** A packet we ask about. */
export interface Probe {
  family: 4 | 6;
  proto: 'tcp' | 'udp';
  dport: number;
  /** conntrack state the other chains see: new TCP connections; knocks are untracked (`notrack` in our raw chain). */
  ct: 'new' | 'untracked';
}

interface NftChain {
  family: string;
  table: string;
  name: string;
  type?: string;
  hook?: string;
  prio?: number;
  policy?: string;
  dev?: string;
}
type Expr = Record<string, unknown>;
interface NftRule {
  family: string;
  table: string;
  chain: string;
  expr?: Expr[];
}
interface NftSet {
  family: string;
  table: string;
  name: string;
  elem?: unknown[];
}

export interface Ruleset {
  chains: NftChain[];
  rules: NftRule[];
  sets: NftSet[];
}

/** The parts of `nft -j list ruleset` that matter here. */
export function parseRuleset(doc: unknown): Ruleset {
  const list = (doc as { nftables?: unknown[] } | null)?.nftables;
  if (!Array.isArray(list)) throw new Error('not the output of nft -j list ruleset (no "nftables" array)');
  const out: Ruleset = { chains: [], rules: [], sets: [] };
  for (const o of list as Record<string, unknown>[]) {
    if (o.chain) out.chains.push(o.chain as NftChain);
    else if (o.rule) out.rules.push(o.rule as NftRule);
    else if (o.set) out.sets.push(o.set as NftSet);
    else if (o.map) out.sets.push(o.map as NftSet);
  }
  return out;
}

/** The services our loaded table guards today (its guard_NAME chains); empty without the table. */
export function guardedServices(doc: unknown, ourTable: string): Set<string> {
  const chains = parseRuleset(doc).chains.filter((c) => c.family === 'inet' && c.table === ourTable);
  return new Set(chains.filter((c) => c.name.startsWith('guard_')).map((c) => c.name.slice('guard_'.length)));
}

/** What a chain does with a probe: a definite verdict, and drops that might apply. */
interface ChainOutcome {
  verdict: 'accept' | 'drop' | 'continue';
  /** The rule (or policy) that decided a definite drop. */
  dropBy?: string;
  /** Drops that apply to some packets like the probe (conditions we cannot decide). */
  maybeDrops: string[];
}

const FAMILY_OF_TABLE: Record<string, (4 | 6)[]> = { ip: [4], ip6: [6], inet: [4, 6], netdev: [4, 6], bridge: [4, 6] };

/** Hooks a packet to a local service passes, in order; ingress is per device. */
const INPUT_PATH_HOOKS = new Set(['ingress', 'prerouting', 'input']);

function portIn(port: number, right: unknown, sets: (name: string) => unknown[] | undefined): Tri {
  if (typeof right === 'number') return right === port ? 'yes' : 'no';
  if (typeof right === 'string') {
    if (right.startsWith('@')) {
      const elems = sets(right.slice(1));
      if (elems === undefined) return 'maybe';
      return anyOf(elems.map((e) => portIn(port, e, sets)));
    }
    return 'maybe'; // a service name such as "ssh": resolved by nft, rare in JSON output
  }
  if (typeof right === 'object' && right !== null) {
    const r = right as { range?: [number, number]; set?: unknown[]; elem?: { val?: unknown } };
    if (Array.isArray(r.range)) return port >= r.range[0] && port <= r.range[1] ? 'yes' : 'no';
    if (Array.isArray(r.set)) return anyOf(r.set.map((e) => portIn(port, e, sets)));
    if (r.elem !== undefined) return portIn(port, r.elem.val, sets);
  }
  return 'maybe';
}

function anyOf(values: Tri[]): Tri {
  if (values.includes('yes')) return 'yes';
  if (values.includes('maybe')) return 'maybe';
  return 'no';
}

function negate(t: Tri): Tri {
  return t === 'yes' ? 'no' : t === 'no' ? 'yes' : 'maybe';
}

const PROTO_NUMBERS: Record<string, string> = { '6': 'tcp', '17': 'udp' };

function protoIs(probe: Probe, right: unknown): Tri {
  const names = (Array.isArray(right) ? right : ((right as { set?: unknown[] })?.set ?? [right])).map(
    (x) => PROTO_NUMBERS[String(x)] ?? String(x),
  );
  return names.includes(probe.proto) ? 'yes' : 'no';
}

function asList(right: unknown): string[] {
  if (Array.isArray(right)) return right.map(String);
  const set = (right as { set?: unknown[] } | null)?.set;
  if (Array.isArray(set)) return set.map(String);
  return [String(right)];
}

/** Does one `match` expression hold for the probe? */
function evalMatch(
  m: { op?: string; left?: unknown; right?: unknown },
  probe: Probe,
  sets: (name: string) => unknown[] | undefined,
): Tri {
  const left = m.left as Record<string, Record<string, unknown>> | undefined;
  const op = m.op ?? '==';
  let t: Tri = 'maybe';
  const payload = left?.payload;
  const meta = left?.meta;
  const ct = left?.ct;
  if (payload && typeof payload.protocol === 'string') {
    const p = payload.protocol;
    if (p === 'tcp' || p === 'udp' || p === 'th') {
      if (p !== 'th' && p !== probe.proto) return op === '!=' ? 'maybe' : 'no';
      t = payload.field === 'dport' ? portIn(probe.dport, m.right, sets) : 'maybe';
    } else if (p === 'ip' || p === 'ip6') {
      if ((p === 'ip') !== (probe.family === 4)) return 'no';
      t = payload.field === 'protocol' || payload.field === 'nexthdr' ? protoIs(probe, m.right) : 'maybe';
    } else return 'maybe';
  } else if (meta && typeof meta.key === 'string') {
    const key = meta.key;
    if (key === 'l4proto') t = protoIs(probe, m.right);
    else if (key === 'nfproto') t = asList(m.right).includes(probe.family === 4 ? 'ipv4' : 'ipv6') ? 'yes' : 'no';
    else if (key === 'iifname' || key === 'iif') t = asList(m.right).every((x) => x === 'lo') ? 'no' : 'maybe';
    else if (key === 'pkttype') t = asList(m.right).includes('host') ? 'yes' : 'maybe';
    else t = 'maybe';
  } else if (ct && ct.key === 'state') {
    t = asList(m.right).includes(probe.ct) ? 'yes' : 'no';
    // `ct state != established` style, or a bitmask test of the state
    if (op === 'in') return t;
  } else {
    return 'maybe';
  }
  if (op === '!=') return negate(t);
  if (op === '==' || op === 'in') return t;
  return 'maybe';
}

interface EvalEnv {
  ruleset: Ruleset;
  probe: Probe;
  family: string;
  table: string;
  sets: (name: string) => unknown[] | undefined;
}

function describeRule(r: NftRule): string {
  return `a rule in chain ${r.chain}`;
}

/** Runs a chain on the probe (jumps followed, bounded depth). */
function evalChain(env: EvalEnv, chainName: string, depth: number, seen: Set<string>): ChainOutcome {
  const maybeDrops: string[] = [];
  if (depth > 16 || seen.has(chainName)) return { verdict: 'continue', maybeDrops };
  const inner = new Set(seen).add(chainName);
  const rules = env.ruleset.rules.filter(
    (r) => r.family === env.family && r.table === env.table && r.chain === chainName,
  );
  for (const rule of rules) {
    let cond: Tri = 'yes';
    for (const e of rule.expr ?? []) {
      const key = Object.keys(e)[0] ?? '';
      if (key === 'match') {
        const t = evalMatch(e.match as Record<string, unknown>, env.probe, env.sets);
        if (t === 'no') {
          cond = 'no';
          break;
        }
        if (t === 'maybe') cond = 'maybe';
      } else if (key === 'limit' || key === 'quota' || key === 'vmap') {
        if (key === 'vmap') {
          // A verdict map: its drops may apply; accepts are not a reason to stop.
          const data = JSON.stringify(e.vmap);
          if (/"drop"|"reject"/.test(data)) maybeDrops.push(`a verdict map in chain ${chainName}`);
          break;
        }
        cond = cond === 'no' ? 'no' : 'maybe';
      } else if (key === 'accept') {
        if (cond === 'yes') return { verdict: 'accept', maybeDrops };
        break;
      } else if (key === 'drop' || key === 'reject') {
        if (cond === 'yes') return { verdict: 'drop', dropBy: describeRule(rule), maybeDrops };
        maybeDrops.push(describeRule(rule));
        break;
      } else if (key === 'jump' || key === 'goto') {
        const target = (e[key] as { target?: string }).target ?? '';
        const sub = evalChain(env, target, depth + 1, inner);
        maybeDrops.push(...sub.maybeDrops.map((d) => (cond === 'yes' ? d : `${d} (reached conditionally)`)));
        if (cond === 'yes' && sub.verdict !== 'continue') return { ...sub, maybeDrops };
        if (cond === 'maybe' && sub.verdict === 'drop') maybeDrops.push(sub.dropBy ?? `chain ${target}`);
        if (cond === 'yes' && key === 'goto') return { verdict: 'continue', maybeDrops };
        break;
      } else if (key === 'return') {
        if (cond === 'yes') return { verdict: 'continue', maybeDrops };
        break;
      } else if (key === 'queue') {
        maybeDrops.push(`a queue rule in chain ${chainName} (userspace decides)`);
        break;
      }
      // Anything else (counter, log, set updates, mangling) has no verdict of its own.
    }
  }
  return { verdict: 'continue', maybeDrops };
}

function setLookup(ruleset: Ruleset, family: string, table: string) {
  return (name: string): unknown[] | undefined => {
    const s = ruleset.sets.find((x) => x.family === family && x.table === table && x.name === name);
    return s ? (s.elem ?? []) : undefined;
  };
}

export interface ChainVerdict {
  chain: NftChain;
  verdict: 'accept' | 'drop' | 'continue';
  dropBy?: string;
  maybeDrops: string[];
}

/** Every other base chain on the probe's path, with what it does to it. */
export function baseChainVerdicts(ruleset: Ruleset, probe: Probe, ourTable: string): ChainVerdict[] {
  const out: ChainVerdict[] = [];
  for (const chain of ruleset.chains) {
    if (chain.hook === undefined || !INPUT_PATH_HOOKS.has(chain.hook)) continue;
    if (chain.type !== undefined && chain.type !== 'filter') continue;
    if (chain.family === 'inet' && chain.table === ourTable) continue;
    if (!(FAMILY_OF_TABLE[chain.family] ?? []).includes(probe.family)) continue;
    if (chain.family === 'bridge') continue; // bridged traffic is not ours to judge
    const env: EvalEnv = {
      ruleset,
      probe,
      family: chain.family,
      table: chain.table,
      sets: setLookup(ruleset, chain.family, chain.table),
    };
    const r = evalChain(env, chain.name, 0, new Set());
    if (r.verdict === 'continue' && chain.policy === 'drop') {
      out.push({
        chain,
        verdict: 'drop',
        dropBy: 'its policy drop (no rule accepts the packet first)',
        maybeDrops: r.maybeDrops,
      });
    } else {
      out.push({
        chain,
        verdict: r.verdict === 'continue' ? 'accept' : r.verdict,
        ...(r.dropBy ? { dropBy: r.dropBy } : {}),
        maybeDrops: r.maybeDrops,
      });
    }
  }
  return out;
}

/** A few ports standing for each knock interval: both ends and the middle. */
export function samplePorts(intervals: readonly Interval[], max = 64): number[] {
  const out = new Set<number>();
  for (const [lo, hi] of intervals) {
    out.add(lo);
    out.add(hi);
    out.add(Math.floor((lo + hi) / 2));
    if (out.size >= max) break;
  }
  return [...out].sort((a, b) => a - b);
}

function chainName(c: NftChain): string {
  const where = c.hook === 'ingress' && c.dev ? `hook ingress device ${c.dev}` : `hook ${c.hook}`;
  return `table ${c.family} ${c.table}, chain ${c.name} (${where}, priority ${c.prio ?? 0}, policy ${c.policy ?? 'accept'})`;
}

/** Which other firewall made a table, from its names, for advice in its own terms. */
export function firewallManager(
  ruleset: Ruleset,
  family: string,
  table: string,
): 'firewalld' | 'ufw' | 'docker' | 'iptables-nft' | undefined {
  if (table === 'firewalld') return 'firewalld';
  const chains = ruleset.chains.filter((c) => c.family === family && c.table === table).map((c) => c.name);
  if (chains.some((c) => c.startsWith('ufw'))) return 'ufw';
  if (chains.some((c) => c.startsWith('DOCKER'))) return 'docker';
  if (
    (family === 'ip' || family === 'ip6') &&
    ['filter', 'raw', 'mangle', 'nat', 'security'].includes(table) &&
    chains.some((c) => c === c.toUpperCase())
  )
    return 'iptables-nft';
  return undefined;
}

function rangeText(intervals: readonly Interval[], sep = '-'): string {
  return intervals.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}${sep}${hi}`)).join(',');
}

function advice(ruleset: Ruleset, c: NftChain, what: { tcp?: number; udp?: readonly Interval[] }): string {
  const mgr = firewallManager(ruleset, c.family, c.table);
  const tcp = what.tcp;
  const udp = what.udp;
  switch (mgr) {
    case 'firewalld':
      return tcp !== undefined
        ? `firewall-cmd --permanent --add-port=${tcp}/tcp && firewall-cmd --reload (otpknockd still keeps the port closed to anyone who has not knocked)`
        : `firewall-cmd --permanent --add-port=${rangeText(udp ?? [])}/udp && firewall-cmd --reload`;
    case 'ufw':
      return tcp !== undefined
        ? `ufw allow ${tcp}/tcp (otpknockd still keeps the port closed to anyone who has not knocked)`
        : `ufw allow ${rangeText(udp ?? [], ':')}/udp`;
    case 'iptables-nft':
    case 'docker': {
      const cmd = c.family === 'ip6' ? 'ip6tables' : 'iptables';
      return tcp !== undefined
        ? `${cmd} -I ${c.name} -p tcp --dport ${tcp} -j ACCEPT (and save it the way your system restores iptables rules)`
        : `${cmd} -I ${c.name} -p udp -m multiport --dports ${rangeText(udp ?? [], ':')} -j ACCEPT`;
    }
    default: {
      const match = tcp !== undefined ? `tcp dport ${tcp}` : `udp dport { ${rangeText(udp ?? [])} }`;
      return `nft insert rule ${c.family} ${c.table} ${c.name} ${match} accept (and the same in the file that loads that table at boot), or remove the table if it is a leftover: nft delete table ${c.family} ${c.table}`;
    }
  }
}

/**
 * Findings about other tables: a protected service whose new connections some
 * chain drops (a knock would open nothing), or knock UDP dropped before our
 * input chain sees it (knocks would never arrive).
 */
export function firewallFindings(doc: unknown, ctx: FirewallContext): Finding[] {
  const ruleset = parseRuleset(doc);
  const ourPrio = ctx.ourInputPriority ?? 0;
  const findings: Finding[] = [];
  const definite = new Map<string, { chain: NftChain; subjects: string[]; by: string; fix: string }>();
  const maybe = new Map<string, { chain: NftChain; subjects: string[]; by: string[] }>();
  const note = (c: NftChain, subject: string, v: ChainVerdict, fix: string) => {
    const key = `${c.family}\0${c.table}\0${c.name}`;
    if (v.verdict === 'drop') {
      const d = definite.get(key) ?? { chain: c, subjects: [], by: v.dropBy ?? '', fix };
      if (!d.subjects.includes(subject)) d.subjects.push(subject);
      definite.set(key, d);
    } else if (v.maybeDrops.length > 0) {
      const m = maybe.get(key) ?? { chain: c, subjects: [], by: [] };
      if (!m.subjects.includes(subject)) m.subjects.push(subject);
      for (const b of v.maybeDrops) if (!m.by.includes(b)) m.by.push(b);
      maybe.set(key, m);
    }
  };

  for (const s of ctx.services) {
    for (const family of [4, 6] as const) {
      const probe: Probe = { family, proto: 'tcp', dport: s.port, ct: 'new' };
      for (const v of baseChainVerdicts(ruleset, probe, ctx.ourTable)) {
        note(
          v.chain,
          `new TCP connections to ${s.name} (port ${s.port}) over IPv${family}`,
          v,
          advice(ruleset, v.chain, { tcp: s.port }),
        );
      }
    }
  }
  for (const port of samplePorts(ctx.knockPorts)) {
    for (const family of [4, 6] as const) {
      const probe: Probe = { family, proto: 'udp', dport: port, ct: 'untracked' };
      for (const v of baseChainVerdicts(ruleset, probe, ctx.ourTable)) {
        // Chains that run after our input chain see knocks we have already counted.
        if (v.chain.hook === 'input' && (v.chain.prio ?? 0) > ourPrio) continue;
        note(
          v.chain,
          `UDP knocks to port ${port} over IPv${family}`,
          v,
          advice(ruleset, v.chain, { udp: ctx.knockPorts }),
        );
      }
    }
  }

  for (const d of definite.values()) {
    findings.push(
      finding('firewall', 'problem', `${chainName(d.chain)} drops ${summarise(d.subjects)}, by ${d.by}`, d.fix),
    );
  }
  for (const [key, m] of maybe) {
    if (definite.has(key)) continue;
    findings.push(
      finding(
        'firewall',
        'warning',
        `${chainName(m.chain)} may drop ${summarise(m.subjects)} (${m.by.slice(0, 3).join('; ')}: depends on addresses or interfaces doctor cannot know)`,
        'check that the rule lets your clients through, or accept the port explicitly before it',
      ),
    );
  }
  const others = new Set(
    ruleset.chains
      .filter((c) => !(c.family === 'inet' && c.table === ctx.ourTable))
      .map((c) => `${c.family} ${c.table}`),
  );
  if (findings.length === 0) {
    findings.push(
      finding(
        'firewall',
        'ok',
        others.size === 0
          ? 'no other nftables tables'
          : `no other table drops the protected services or the knocks (${others.size} other table${others.size === 1 ? '' : 's'}: ${[...others].join(', ')})`,
      ),
    );
  }
  return findings;
}

function summarise(subjects: string[]): string {
  // "… over IPv4" and "… over IPv6" of the same thing read as one; knock ports are listed together.
  const tcp = new Map<string, Set<string>>();
  const udpPorts = new Set<number>();
  const udpFams = new Set<string>();
  for (const s of subjects) {
    const m = /^(.*) over (IPv[46])$/.exec(s);
    const base = m?.[1] ?? s;
    const fam = m?.[2] ?? '';
    const knock = /^UDP knocks to port (\d+)$/.exec(base);
    if (knock) {
      udpPorts.add(Number(knock[1]));
      udpFams.add(fam);
    } else tcp.set(base, (tcp.get(base) ?? new Set()).add(fam));
  }
  const fams = (f: Set<string>) => (f.size >= 2 ? 'IPv4 and IPv6' : ([...f][0] ?? ''));
  const parts = [...tcp].map(([base, f]) => `${base} (${fams(f)})`);
  if (udpPorts.size > 0) {
    const ports = [...udpPorts].sort((a, b) => a - b);
    parts.push(
      `UDP knocks (${fams(udpFams)}; of the ports tried, ${ports.length === 1 ? 'port' : 'ports'} ${ports.join(', ')})`,
    );
  }
  return parts.join('; ');
}
