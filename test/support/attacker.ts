// Attacker and victim tooling for the adversarial suite: forged-source floods,
// random knocks and a sniffer in eve (test/harness/agents/raw-knock.py), a
// legitimate user knocking from many addresses (knock-attempts.mjs), and the
// dynamic sets of the live table, found by reading `otpknockd render` at run time
// (no set or map name is assumed).
import { NODE, agentPath, run, type NsProcess, type Topology } from '@otpknock/e2e-harness';
import { OTPKNOCKD } from './otpknockd.js';

const RAW_AGENT = agentPath('raw-knock.py');
const PYTHON = '/usr/bin/python3';

export async function macOf(t: Topology, role: 'server' | 'client' | 'eve'): Promise<string> {
  const r = await t.exec(role, ['ip', '-j', 'link', 'show', 'dev', t[role].ifname], { check: true });
  const [link] = JSON.parse(r.stdout) as { address: string }[];
  if (!link) throw new Error(`no link ${t[role].ifname} in ${role}`);
  return link.address;
}

export interface FloodJob {
  family: 4 | 6;
  /** Destination ports, round robin. */
  ports: number[];
  count: number;
  seconds: number;
  /** Packets per second cap (0: as fast as it goes). */
  pps?: number;
}

export interface FloodResult {
  sent: number;
  seconds: number;
  pps: number;
  distinctSources: number;
}

/** Starts a forged-source flood from eve to the server; resolves with the agent's report when it ends by itself. */
export async function startFlood(
  t: Topology,
  job: FloodJob,
): Promise<{ process: NsProcess; done: Promise<FloodResult> }> {
  const full = {
    mode: 'flood',
    iface: t.eve.ifname,
    srcMac: await macOf(t, 'eve'),
    dstMac: await macOf(t, 'server'),
    dst: job.family === 4 ? t.server.ipv4 : t.server.ipv6,
    ...job,
  };
  const p = t.spawn('eve', [PYTHON, RAW_AGENT]);
  p.write(`${JSON.stringify(full)}\n`);
  const done = (async () => {
    const line = await p.waitForLine((l) => l.startsWith('{"sent"'), {
      timeoutMs: (job.seconds + 15) * 1000,
      stream: 'stdout',
    });
    return JSON.parse(line) as FloodResult;
  })();
  return { process: p, done };
}

/** `knocks` knocks of `length` uniformly random ports in [min, max] from eve's own address. */
export async function randomKnocks(
  t: Topology,
  job: { family: 4 | 6; min: number; max: number; length: number; knocks: number; seconds: number },
): Promise<{ knocks: number; sent: number; seconds: number; pps: number }> {
  const full = { mode: 'random', dst: job.family === 4 ? t.server.ipv4 : t.server.ipv6, ...job };
  const r = await t.exec('eve', [PYTHON, RAW_AGENT], {
    input: `${JSON.stringify(full)}\n`,
    timeoutMs: (job.seconds + 15) * 1000,
  });
  if (r.code !== 0) throw new Error(`random knocks failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
    knocks: number;
    sent: number;
    seconds: number;
    pps: number;
  };
}

/** Starts a sniffer in eve for UDP to `dst` in [min, max]; `result` resolves with the ports seen, in order. */
export async function startCapture(
  t: Topology,
  job: { dst: string; min: number; max: number; want: number; seconds: number },
): Promise<{ result: Promise<number[]> }> {
  const p = t.spawn('eve', [PYTHON, RAW_AGENT]);
  p.write(`${JSON.stringify({ mode: 'capture', iface: t.eve.ifname, ...job })}\n`);
  await p.waitForLine(/"event": "ready"/, { timeoutMs: 5_000, stream: 'stdout' });
  const result = (async () => {
    const line = await p.waitForLine(/"event": "captured"/, { timeoutMs: (job.seconds + 5) * 1000, stream: 'stdout' });
    return (JSON.parse(line) as { ports: number[] }).ports;
  })();
  return { result };
}

export interface Attempt {
  src: string;
  ports: number[];
}

export interface AttemptsResult {
  ok: number;
  failed: number;
  attempts: { i: number; src: string; ok: boolean; ms: number }[];
}

/** A legitimate user's knocks from the client namespace, each from its own address, each followed by a connect. */
export async function legitimateAttempts(
  t: Topology,
  server: string,
  servicePort: number,
  attempts: Attempt[],
  opts: { timeoutMs?: number; gapMs?: number; concurrency?: number } = {},
): Promise<AttemptsResult> {
  const timeoutMs = opts.timeoutMs ?? 3_000;
  const job = {
    server,
    servicePort,
    delayMs: 5,
    timeoutMs,
    gapMs: opts.gapMs ?? 20,
    concurrency: opts.concurrency ?? 1,
    attempts,
  };
  const r = await t.exec('client', [NODE, agentPath('knock-attempts.mjs')], {
    input: JSON.stringify(job),
    timeoutMs: attempts.length * (timeoutMs + 500 + (opts.gapMs ?? 20)) + 10_000,
  });
  if (r.code !== 0) throw new Error(`knock attempts failed (exit ${r.code}): ${r.stderr}`);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as { event: string; ok: boolean | number; failed?: number; i: number; src: string; ms: number },
    );
  const done = lines.find((l) => l.event === 'done');
  if (!done) throw new Error(`knock attempts did not finish: ${r.stdout}`);
  return {
    ok: done.ok as number,
    failed: done.failed ?? 0,
    attempts: lines
      .filter((l) => l.event === 'attempt')
      .map((l) => ({ i: l.i, src: l.src, ok: l.ok as boolean, ms: l.ms })),
  };
}

/** Adds `n` extra addresses of one family to the client's interface: 192.0.2.<base+i>/24 or 2001:db8:1::<hex(base+i)>/64. */
export async function addClientAddresses(t: Topology, family: 4 | 6, base: number, n: number): Promise<string[]> {
  const out: string[] = [];
  const batch: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = family === 4 ? `192.0.2.${base + i}` : `2001:db8:1::${(base + i).toString(16)}`;
    if (family === 4 && base + i > 254) throw new Error(`192.0.2.${base + i} is not an address`);
    batch.push(
      family === 4 ? `addr add ${a}/24 dev ${t.client.ifname}` : `addr add ${a}/64 dev ${t.client.ifname} nodad`,
    );
    out.push(a);
  }
  await t.exec('client', ['ip', '-batch', '-'], { input: `${batch.join('\n')}\n`, check: true });
  return out;
}

export interface DynamicSet {
  kind: 'set' | 'map';
  name: string;
  size: number;
}

/** The dynamic sets and maps (with their sizes) of the ruleset `otpknockd render` prints for a config. */
export async function dynamicSetsOf(configFile: string): Promise<DynamicSet[]> {
  const r = await run([NODE, OTPKNOCKD, 'render', '--config', configFile], { timeoutMs: 20_000, check: true });
  return parseDynamicSets(r.stdout);
}

export function parseDynamicSets(script: string): DynamicSet[] {
  const out: DynamicSet[] = [];
  let cur: { kind: 'set' | 'map'; name: string; size?: number; dynamic: boolean } | undefined;
  for (const line of script.split('\n')) {
    const open = /^\t(set|map) (\S+) \{$/.exec(line);
    if (open) {
      cur = { kind: open[1] as 'set' | 'map', name: open[2]!, dynamic: false };
      continue;
    }
    if (!cur) continue;
    if (line === '\t}') {
      if (cur.dynamic) out.push({ kind: cur.kind, name: cur.name, size: cur.size ?? Number.POSITIVE_INFINITY });
      cur = undefined;
      continue;
    }
    const size = /^\t\tsize (\d+)$/.exec(line);
    if (size) cur.size = Number(size[1]);
    if (/^\t\tflags .*\bdynamic\b/.test(line)) cur.dynamic = true;
  }
  return out;
}

/**
 * How full each dynamic set is: its distinct keys. A set that a flood churns is no
 * snapshot when listed: the listing comes in several netlink messages, each resuming
 * the hash walk by position, so keys are listed twice (CI once counted 551,801 lines
 * in a set of size 524,288) and a slow listing gathers keys that never were in the set
 * at the same time. So list after the flood, count each key once, and say how many
 * lines repeated; how full a set got during a flood is for the counters to tell.
 */
export async function dynamicSetFill(t: Topology, table: string, sets: DynamicSet[]): Promise<SetFill[]> {
  const out: SetFill[] = [];
  for (const s of sets) {
    // A set filled by a flood holds hundreds of thousands of elements: list it as
    // JSON with time to spare, and only count.
    const r = await t.exec('server', ['nft', '-j', 'list', s.kind, 'inet', table, s.name], { timeoutMs: 90_000 });
    if (r.code !== 0) throw new Error(`nft list ${s.kind} ${s.name}: ${r.stderr.trim()}`);
    const body = (
      JSON.parse(r.stdout) as { nftables: Record<string, { elem?: unknown[] } | undefined>[] }
    ).nftables.find((o) => o[s.kind])?.[s.kind];
    const listed = body?.elem ?? [];
    const keys = new Set(listed.map((e) => JSON.stringify(elementKey(e))));
    out.push({ name: s.name, elements: keys.size, repeated: listed.length - keys.size, size: s.size });
  }
  return out;
}

export interface SetFill {
  name: string;
  /** Distinct keys listed. */
  elements: number;
  /** Listing lines that repeated a key already listed (a walk of a churning hash). */
  repeated: number;
  size: number;
}

/** The key of one listed element: a map's `[key, value]` loses its value, and a key its timeout and expiry. */
export function elementKey(elem: unknown): unknown {
  const key = Array.isArray(elem) ? elem[0] : elem;
  if (key !== null && typeof key === 'object' && 'elem' in key) return (key as { elem: { val?: unknown } }).elem.val;
  return key;
}

/** Packet counts of every named counter in the table (names as the kernel lists them). */
export async function tableCounters(t: Topology, table: string): Promise<Record<string, number>> {
  // Under a flood the dump can take seconds; a failed reading must not pass for "no counter moved".
  const r = await t.exec('server', ['nft', '-j', 'list', 'counters', 'table', 'inet', table], { timeoutMs: 90_000 });
  if (r.code !== 0) throw new Error(`nft list counters table inet ${table}: exit ${r.code} ${r.stderr.trim()}`);
  const out: Record<string, number> = {};
  for (const o of (JSON.parse(r.stdout) as { nftables: { counter?: { name: string; packets: number } }[] }).nftables) {
    if (o.counter) out[o.counter.name] = o.counter.packets;
  }
  return out;
}

/** How much each counter moved between two readings (counters that did not move are left out). */
export function counterDeltas(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(after)) if (n !== (before[name] ?? 0)) out[name] = n - (before[name] ?? 0);
  return out;
}

/** "name +n, …" */
export function formatDeltas(deltas: Record<string, number>): string {
  return Object.entries(deltas)
    .map(([name, d]) => `${name} +${d.toLocaleString('en-US')}`)
    .join(', ');
}
