// What the server costs the kernel and the clock, for 1, 100, 1,000 and 10,000 users ×
// 3 windows (skew 1, default profile: time method, length 3):
//   1. the full ruleset's text size;
//   2. the initial full load (`nft -f -` in an empty namespace), median of LOAD_RUNS;
//   3. one rotation exactly as the daemon does it (plan for the next window boundary with
//      the daemon's cached deriver, syncTrie from the live state, renderChanges, `nft -f -`),
//      compute and nft apart, median of ROTATIONS successive rotations;
//   4. the kernel's per-packet cost of junk UDP across the knock range, in ONE run, sent
//      from a client namespace over veth to servers with no table / our table with 1 user /
//      with 10,000 users, interleaved over ROUNDS rounds;
//   5. gateway mode: the per-packet cost our table adds to traffic the host forwards
//      (client → gateway namespace → sink behind it), no table vs our table with
//      forwarded services, interleaved.
// Prints a Markdown report and writes bench/results/server.{md,json}.
// Run (root, nft, iproute2, python3): pnpm bench:server
//   = node --conditions=source --import tsx bench/server.ts
// `pnpm bench:server --forward-only`: part 5 alone (a minute; prints, writes no results).
// `--max-users N`, `--burst-packets N`: a smaller run for a shared machine (prints, writes no results).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  NftDriver,
  PREPARE_LEAD_MS,
  allElements,
  cachedDeriver,
  changeOps,
  fullRuleset,
  isLeaf,
  knockPortIntervals,
  nextRotationMs,
  planEntries,
  probeTimeoutUpdates,
  renderChanges,
  syncTrie,
  type ServerConfig,
  type StepElement,
  type TrieState,
} from '@otpknock/server';
import { gatewayServices, serverConfig, user } from '@otpknock/server/testing';
import { generateSecret, normalizeProfile } from '@otpknock/shared';
import { machineInfo, machineLine } from './lib/machine.js';
import { markdownTable } from './lib/markdown.js';
import { wholeNumberOption } from './lib/options.js';
import { createBenchNet, type BenchNet } from './lib/netns.js';
import { comparePlan, kernelSteps, stepKey, type PlanCheck } from './lib/plan-check.js';
import { bytes, int, median, ms, shuffled, timed, timedSync } from './lib/stats.js';

// Strict: an unknown argument is refused. Smaller runs fit a shared machine; they print their
// report but leave bench/results (the published figures) alone.
const { values: options } = parseArgs({
  args: process.argv.slice(2),
  options: {
    'forward-only': { type: 'boolean', default: false },
    'max-users': { type: 'string', default: '10000' },
    'burst-packets': { type: 'string', default: '200000' },
  },
});
const MAX_USERS = wholeNumberOption('max-users', options['max-users'], 1, 10_000);
const FULL_RUN = MAX_USERS === 10_000 && options['burst-packets'] === '200000';

/** The table sizes measured; the largest is also the big table of the per-packet part. */
const USER_COUNTS = [1, 100, 1_000, 10_000].filter((n) => n <= MAX_USERS);
const LOAD_RUNS = 3;
const ROTATIONS = 3;
const ROTATION_TARGET_MS = 500;
const TABLE = 'otpknock';

// Packet burst: bounded in count AND time; each burst stops by itself.
const BURST_PACKETS = wholeNumberOption('burst-packets', options['burst-packets'], 10_000, 200_000);
const BURST_MAX_SECONDS = 10;
const WARMUP_PACKETS = 5_000;
/** Packets for the "every packet advances" burst: each costs far more, keep it short. */
const ADVANCE_PACKETS = Math.round(BURST_PACKETS / 4);
const ROUNDS = 3;
const THROUGHPUT_TARGET = 0.9;
const FLOOD_SCRIPT = fileURLToPath(new URL('./lib/udp-flood.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/**
 * Rotations run at real window boundaries (the kernel expires ended windows by its
 * own clock), so the rotation bench uses short windows; the work of a rotation —
 * one new window per user — does not depend on the period.
 */
const ROTATION_PERIOD_S = 5;

function makeConfig(users: number, period = 30): ServerConfig {
  const profile = normalizeProfile({ method: 'time', period });
  return serverConfig({
    table: TABLE,
    skew: 1,
    // The brute-force cut-off would ban the bench's one junk source after 10 bad knocks
    // and measure only `banned → drop`; the state machine's own cost is what is measured.
    ban: null,
    users: Array.from({ length: users }, (_, i) =>
      user(`u${String(i).padStart(5, '0')}`, { secret: generateSecret(), profile: { ...profile } }),
    ),
  });
}

async function nftApply(net: BenchNet, role: string, script: string): Promise<number> {
  const [r, took] = await timed(() => net.exec(role, ['nft', '-f', '-'], { input: script, timeoutMs: 30_000 }));
  if (r.code !== 0) throw new Error(`nft -f failed in ${role} (exit ${r.code}): ${r.stderr.trim().slice(0, 2000)}`);
  return took;
}

async function nftJson(net: BenchNet, role: string, args: string[]): Promise<{ nftables: Record<string, unknown>[] }> {
  const r = await net.exec(role, ['nft', '-j', ...args], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`nft ${args.join(' ')} failed in ${role}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as { nftables: Record<string, unknown>[] };
}

async function tableExists(net: BenchNet, role: string): Promise<boolean> {
  const r = await net.exec(role, ['nft', 'list', 'tables'], { timeoutMs: 10_000 });
  return r.stdout.includes(`inet ${TABLE}`);
}

/** The plan's step elements that the kernel should hold at `atMs` (key → next). */
function planSteps(trie: TrieState, atMs: number): Map<string, number> {
  const steps = new Map<string, number>();
  for (const e of allElements(trie).steps)
    if ((e.expiresMs ?? Infinity) > atMs) steps.set(stepKey(e.state, e.port), e.next);
  // First steps outlive their sequences by a window: those left to expire count too.
  for (const [key, l] of trie.lingering) {
    if (typeof key !== 'number') throw new Error(`a token in a step key (${key}): the bench's profile has none`);
    if (l.expiresMs > atMs) steps.set(stepKey(Math.floor(key / 65_536), key % 65_536), l.next);
  }
  return steps;
}

// ---------- 1–3: ruleset size, full load, rotation ----------

/** What the probe said on this kernel (the same for every namespace). */
let timeoutUpdates = false;

const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

/** A table whose knock elements never expire: the per-packet bench outlasts any window. */
const withoutTimeouts = (script: string) => script.replace(/ timeout \d+ms :/g, ' :');

interface UsersRow {
  users: number;
  sequences: number;
  conflicts: number;
  stepElements: number;
  rulesetBytes: number;
  renderMs: number;
  loadMs: number[];
  rotations: {
    planMs: number;
    syncMs: number;
    renderMs: number;
    computeMs: number;
    nftMs: number;
    totalMs: number;
    scriptBytes: number;
    elementOps: number;
  }[];
  /** Whether the kernel's step map held the live plan after the rotations (bench/lib/plan-check.ts). */
  check: PlanCheck;
}

async function measureUsers(net: BenchNet, users: number, config: ServerConfig): Promise<UsersRow> {
  const role = `load${users}`;
  await net.addNamespace(role); // fresh, empty namespace for this size
  const now = Date.now();

  const [full, renderMs] = timedSync(() => fullRuleset(config, now));
  const rulesetBytes = Buffer.byteLength(full.script);
  const loadMs: number[] = [];
  for (let i = 0; i < LOAD_RUNS; i++) {
    if (await tableExists(net, role)) {
      const r = await net.exec(role, ['nft', 'delete', 'table', 'inet', TABLE], { timeoutMs: 30_000 });
      if (r.code !== 0) throw new Error(`delete table failed: ${r.stderr}`);
    }
    loadMs.push(await nftApply(net, role, full.script));
  }

  // The daemon's state after its start: the same table, and a deriver that remembers the
  // three live windows, so a rotation derives only the new window (as Daemon.rotate does).
  const short = {
    ...config,
    users: config.users.map((u) => ({ ...u, profile: { ...u.profile, period: ROTATION_PERIOD_S } })),
  };
  const derive = cachedDeriver();
  const renderedAt = Date.now();
  const start = fullRuleset(short, renderedAt, undefined, derive);
  await nftApply(net, role, start.script);
  // The kernel counts each timeout from the commit, the plan from the render: how late the
  // latest commit came bounds how long after its planned end an element may still be there.
  let latenessMs = Date.now() - renderedAt;
  // As the daemon: ask the kernel whether it lengthens timeouts in place, then compute
  // each rotation PREPARE_LEAD_MS before its boundary and run only nft at the boundary.
  const driver = new NftDriver({
    async run(args, input) {
      const r = await net.exec(role, ['nft', ...args], { input: input ?? '', timeoutMs: 30_000 });
      if (r.code !== 0) throw Object.assign(new Error(r.stderr), { stderr: r.stderr });
      return { stdout: r.stdout, stderr: r.stderr };
    },
  });
  const opts = { timeoutUpdates: await probeTimeoutUpdates(driver, TABLE) };
  timeoutUpdates = opts.timeoutUpdates;
  const trie: TrieState = start.trie;
  const rotations: UsersRow['rotations'] = [];
  for (let i = 0; i < ROTATIONS; i++) {
    const at = nextRotationMs(short, Date.now() + PREPARE_LEAD_MS);
    await sleepUntil(at - PREPARE_LEAD_MS);
    const t0 = performance.now();
    const entries = planEntries(short, at, derive);
    const t1 = performance.now();
    const sync = syncTrie(trie, entries, at);
    const t2 = performance.now();
    const script = renderChanges(TABLE, sync.changes, at, opts);
    const t3 = performance.now();
    const computeMs = t3 - t0;
    await sleepUntil(at);
    const nftMs = await nftApply(net, role, script);
    latenessMs = Math.max(latenessMs, Date.now() - at);
    const live = new Set<number>();
    for (const l of trie.leaves.values()) live.add(l.entry.window);
    derive.prune((w) => live.has(w));
    const c = sync.changes;
    rotations.push({
      planMs: t1 - t0,
      syncMs: t2 - t1,
      renderMs: t3 - t2,
      computeMs,
      nftMs,
      totalMs: computeMs + nftMs,
      scriptBytes: Buffer.byteLength(script),
      elementOps: changeOps(c, opts),
    });
  }
  // The kernel must hold exactly what the last plan says: the rotations added the new
  // windows, and the ended ones were dropped by their timeouts (give those a moment).
  await sleepUntil(Math.min(nextRotationMs(short, Date.now()) - 1000, Date.now() + 2500));
  const listedFrom = Date.now();
  const kernel = kernelSteps(await nftJson(net, role, ['list', 'map', 'inet', TABLE, 'step']));
  const listedTo = Date.now();
  const check = comparePlan(planSteps(trie, listedTo), kernel, latenessMs + (listedTo - listedFrom));
  if (!check.ok) console.error(`users=${users}: the kernel's step map differs from the plan: ${JSON.stringify(check)}`);
  return {
    users,
    sequences: full.entries.length - full.conflicts.length,
    conflicts: full.conflicts.length,
    stepElements: allElements(full.trie).steps.length,
    rulesetBytes,
    renderMs,
    loadMs,
    rotations,
    check,
  };
}

// ---------- 4: per-packet cost ----------

interface Target {
  key: string;
  label: string;
  role: string;
  host: string;
  serverIf: string;
  ports: number[];
  count: number;
  /** Step map of the loaded table, to predict bad_knocks; null: no table. */
  steps: Map<string, number> | null;
}

/** Where each knock packet ended, by the table's counters: every packet ends in exactly one. */
const OUTCOME_COUNTERS = [
  'bad_knocks',
  'steps_stored',
  'stores_throttled',
  'progress_full',
  'completed',
  'replays',
  'banned_knocks',
  'payload_refused',
] as const;
type Outcomes = Record<(typeof OUTCOME_COUNTERS)[number], number>;

interface Burst {
  /** Busy CPU time of the whole machine during the burst (all CPUs, /proc/stat; includes other load). */
  machineBusyS: number;
  sent: number;
  errors: number;
  seconds: number;
  utime: number;
  stime: number;
  received: number;
  /** Counter deltas over the burst; null: no table. */
  outcomes: Outcomes | null;
  /** bad_knocks by a replay of the state machine without the store budget. */
  predictedBadKnocks: number | null;
}

function stepIndex(steps: readonly StepElement[]): Map<string, number> {
  return new Map(steps.map((s) => [stepKey(s.state, s.port), s.next]));
}

/** What our knock chain does with `sent` junk packets from one source: how many are bad knocks. */
function predictBadKnocks(steps: Map<string, number>, ports: readonly number[], sent: number): number {
  let state = 0;
  let bad = 0;
  for (let i = 0; i < sent; i++) {
    const port = ports[i % ports.length]!;
    const next = steps.get(stepKey(state, port)) ?? steps.get(stepKey(0, port));
    if (next === undefined) {
      bad++;
      state = 0;
    } else state = isLeaf(next) ? 0 : next;
  }
  return bad;
}

/** Non-idle CPU seconds of the whole machine so far (/proc/stat, USER_HZ = 100). */
function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return (user + nice + system + irq + softirq + steal) / 100;
}

async function rxPackets(net: BenchNet, role: string, ifname: string): Promise<number> {
  const r = await net.exec(role, ['cat', `/sys/class/net/${ifname}/statistics/rx_packets`]);
  return Number(r.stdout.trim());
}

async function outcomes(net: BenchNet, role: string): Promise<Outcomes> {
  const j = await nftJson(net, role, ['list', 'counters', 'table', 'inet', TABLE]);
  const out = Object.fromEntries(OUTCOME_COUNTERS.map((c) => [c, 0])) as Outcomes;
  for (const o of j.nftables) {
    const c = o.counter as { name: string; packets: number } | undefined;
    if (c && c.name in out) out[c.name as keyof Outcomes] = c.packets;
  }
  return out;
}

const outcomeTotal = (o: Outcomes) => OUTCOME_COUNTERS.reduce((n, c) => n + o[c], 0);

async function burst(net: BenchNet, t: Target, count: number, sender = 'client'): Promise<Burst> {
  if (t.steps) {
    // Start from "no progress" so the prediction is exact (a source's progress outlives a burst).
    const r = await net.exec(t.role, ['nft', 'flush', 'map', 'inet', TABLE, 'progress4']);
    if (r.code !== 0) throw new Error(`flush progress4: ${r.stderr}`);
    const b = await net.exec(t.role, ['nft', 'flush', 'set', 'inet', TABLE, 'store_budget4']);
    if (b.code !== 0) throw new Error(`flush store_budget4: ${b.stderr}`);
  }
  const rx0 = await rxPackets(net, t.role, t.serverIf);
  const before = t.steps ? await outcomes(net, t.role) : null;
  const job = { host: t.host, ports: t.ports, count, maxSeconds: BURST_MAX_SECONDS, payloadBytes: 16 };
  const busy0 = machineBusySeconds();
  const r = await net.exec(sender, [PYTHON, FLOOD_SCRIPT], {
    input: JSON.stringify(job),
    timeoutMs: (BURST_MAX_SECONDS + 10) * 1000,
  });
  if (r.code !== 0) throw new Error(`udp-flood failed (exit ${r.code}): ${r.stderr.trim()}`);
  const machineBusyS = machineBusySeconds() - busy0;
  const out = JSON.parse(r.stdout.trim()) as Omit<
    Burst,
    'received' | 'outcomes' | 'predictedBadKnocks' | 'machineBusyS'
  >;
  const received = (await rxPackets(net, t.role, t.serverIf)) - rx0;
  let delta: Outcomes | null = null;
  if (before) {
    const after = await outcomes(net, t.role);
    delta = Object.fromEntries(OUTCOME_COUNTERS.map((c) => [c, after[c] - before[c]])) as Outcomes;
  }
  return {
    ...out,
    machineBusyS,
    received,
    outcomes: delta,
    predictedBadKnocks: t.steps ? predictBadKnocks(t.steps, t.ports, out.sent) : null,
  };
}

interface PacketRow {
  key: string;
  label: string;
  ports: number;
  bursts: Burst[];
  pps: number;
  cpuUsPerPacket: number;
  sysUsPerPacket: number;
  machineUsPerPacket: number;
  delivered: number;
  countersOk: boolean | null;
}

async function measurePackets(net: BenchNet, small: ServerConfig, large: ServerConfig): Promise<PacketRow[]> {
  await net.addNamespace('client');
  const targets: Target[] = [];
  const knockPorts = knockPortIntervals(large).flatMap(([lo, hi]) =>
    Array.from({ length: hi - lo + 1 }, (_, i) => lo + i),
  );
  const junk = shuffled(knockPorts, 0x5eed);
  const now = Date.now();
  const smallFull = fullRuleset(small, now);
  const largeFull = fullRuleset(large, now);
  smallFull.script = withoutTimeouts(smallFull.script);
  largeFull.script = withoutTimeouts(largeFull.script);
  const largeSteps = stepIndex(allElements(largeFull.trie).steps);
  // Junk that never starts a live sequence: every packet takes the bad-knock path, so
  // the 1-user and 10,000-user tables do exactly the same work except for the lookups.
  const firstPorts = new Set(
    allElements(largeFull.trie)
      .steps.filter((s) => s.state === 0)
      .map((s) => s.port),
  );
  const junkNoStart = junk.filter((p) => !firstPorts.has(p));

  const smallSteps = stepIndex(allElements(smallFull.trie).steps);
  // The first two ports of a live sequence, over and over: every packet advances a knock
  // (stores progress), with 1 user. Separates "more users" from "more packets advance".
  const [p1, p2] = smallFull.entries[0]!.ports;
  const advancing = [p1!, p2!];
  type Plan = {
    key: string;
    label: string;
    net: string;
    script: string | null;
    ports: number[];
    count: number;
    steps: Map<string, number> | null;
  };
  const plan: Plan[] = [
    { key: 'none', label: 'no table', net: '192.0.2', script: null, ports: junk, count: BURST_PACKETS, steps: null },
    {
      key: 'users1',
      label: 'our table, 1 user',
      net: '198.51.100',
      script: smallFull.script,
      ports: junk,
      count: BURST_PACKETS,
      steps: smallSteps,
    },
    {
      key: `users${large.users.length}`,
      label: `our table, ${int(large.users.length)} users`,
      net: '203.0.113',
      script: largeFull.script,
      ports: junk,
      count: BURST_PACKETS,
      steps: largeSteps,
    },
    {
      key: `users${large.users.length}-nostart`,
      label: `${int(large.users.length)} users, junk that starts no sequence`,
      net: '203.0.113',
      script: null,
      ports: junkNoStart,
      count: BURST_PACKETS,
      steps: largeSteps,
    },
    {
      key: 'users1-advance',
      label: '1 user, every packet advances a knock (p1, p2, p1, …)',
      net: '198.51.100',
      script: null,
      ports: advancing,
      count: ADVANCE_PACKETS,
      steps: smallSteps,
    },
  ];
  // One server namespace per table, each on its own veth pair and RFC 5737 subnet, so the
  // bursts can interleave without reloading tables.
  const byNet = new Map<string, { role: string; serverIf: string }>();
  for (const p of plan) {
    let srv = byNet.get(p.net);
    if (!srv) {
      const role = `srv${byNet.size}`;
      await net.addNamespace(role);
      const link = await net.link('client', `${p.net}.2/24`, role, `${p.net}.1/24`);
      if (p.script) await nftApply(net, role, p.script);
      srv = { role, serverIf: link.bIf };
      byNet.set(p.net, srv);
    }
    targets.push({
      key: p.key,
      label: p.label,
      role: srv.role,
      host: `${p.net}.1`,
      serverIf: srv.serverIf,
      ports: p.ports,
      count: p.count,
      steps: p.steps,
    });
  }

  return burstRows(net, targets, 'client');
}

/** Warm-up, then ROUNDS interleaved rounds of bursts to every target; one row per target (medians). */
async function burstRows(net: BenchNet, targets: readonly Target[], sender: string): Promise<PacketRow[]> {
  for (const t of targets) await burst(net, t, WARMUP_PACKETS, sender); // ARP, caches, JIT of nothing: warm
  const bursts = new Map<string, Burst[]>(targets.map((t) => [t.key, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so drift (other load on the machine) spreads evenly.
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(k + round) % targets.length]!;
      bursts.get(t.key)!.push(await burst(net, t, t.count, sender));
    }
  }

  return targets.map((t) => {
    const bs = bursts.get(t.key)!;
    // rx_packets may also count the odd neighbour discovery packet: allow a few extra.
    // Every packet arrived and ended in exactly one outcome counter of the state machine.
    const countersOk = t.steps
      ? bs.every((b) => outcomeTotal(b.outcomes!) === b.sent && b.received >= b.sent && b.received - b.sent <= 16)
      : null;
    return {
      key: t.key,
      label: t.label,
      ports: t.ports.length,
      bursts: bs,
      pps: median(bs.map((b) => b.sent / b.seconds)),
      cpuUsPerPacket: median(bs.map((b) => ((b.utime + b.stime) * 1e6) / b.sent)),
      sysUsPerPacket: median(bs.map((b) => (b.stime * 1e6) / b.sent)),
      machineUsPerPacket: median(bs.map((b) => (b.machineBusyS * 1e6) / b.sent)),
      delivered: bs.reduce((a, b) => a + b.received, 0) / bs.reduce((a, b) => a + b.sent, 0),
      countersOk,
    };
  });
}

// ---------- 5: forwarded traffic (gateway mode) ----------

/** UDP ports the forwarded bursts go to: below the knock range, one conntrack flow each. */
const FORWARD_PORTS = Array.from({ length: 100 }, (_, i) => 1000 + i);

/** A table with forwarded services (docs/gateway.md): one DNAT port, one routed destination, one routed prefix. */
function gatewayConfig(): ServerConfig {
  const c = makeConfig(1);
  return {
    ...c,
    services: gatewayServices('203.0.113.130'),
    users: c.users.map((u) => ({ ...u, services: ['ssh', 'nas', 'cam', 'lab'] })),
  };
}

/**
 * Junk UDP from a client through a gateway namespace to a sink behind it (192.0.2.0/26
 * in front, 203.0.113.0/26 behind, the next /26s for the next gateway): no table, a
 * router's conntrack table, that and ours: what our raw and forward chains add per
 * forwarded packet. UDP that is never answered stays `ct state new`, so
 * every packet runs the whole forward chain (the established accept fails): the worst
 * case; an established connection's packets stop at its first rule.
 */
async function measureForwarded(net: BenchNet): Promise<PacketRow[]> {
  await net.addNamespace('fclient');
  const table = withoutTimeouts(fullRuleset(gatewayConfig(), Date.now()).script);
  // A NAT router has conntrack on anyway (its masquerade and DNAT need it); a bare gateway does not,
  // and our table turns it on: the middle row separates that from our chains' own cost.
  const conntrack =
    'table inet router {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tct state established,related accept\n\t}\n}\n';
  const plan = [
    { key: 'forward-none', label: 'forwarded UDP, gateway without any table', link: 0, scripts: [] as string[] },
    {
      key: 'forward-conntrack',
      label: "forwarded UDP, a router's conntrack table only",
      link: 64,
      scripts: [conntrack],
    },
    {
      key: 'forward-ours',
      label: 'forwarded UDP, that and our table with 3 forwarded services (ct new: the whole forward chain)',
      link: 128,
      scripts: [conntrack, table],
    },
  ];
  const targets: Target[] = [];
  for (const [i, p] of plan.entries()) {
    const gw = `fgw${i}`;
    const sink = `fsink${i}`;
    const client = (n: number) => `192.0.2.${p.link + n}`;
    const behind = (n: number) => `203.0.113.${p.link + n}`;
    await net.addNamespace(gw);
    await net.addNamespace(sink);
    await net.link('fclient', `${client(2)}/26`, gw, `${client(1)}/26`);
    const link = await net.link(gw, `${behind(1)}/26`, sink, `${behind(2)}/26`);
    await net.exec(gw, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    await net.exec('fclient', ['ip', 'route', 'add', `${behind(0)}/26`, 'via', client(1)]);
    // The sink drops the datagrams quietly (no ICMP back, no route needed).
    await nftApply(
      net,
      sink,
      'table inet sink {\n\tchain input {\n\t\ttype filter hook input priority 0;\n\t\tudp dport 1000-1099 drop\n\t}\n}\n',
    );
    for (const script of p.scripts) await nftApply(net, gw, script);
    targets.push({
      key: p.key,
      label: p.label,
      role: sink,
      host: behind(2),
      serverIf: link.bIf,
      ports: FORWARD_PORTS,
      count: BURST_PACKETS,
      steps: null,
    });
  }
  return burstRows(net, targets, 'fclient');
}

// ---------- report ----------

function kernelIsPlan(c: PlanCheck): string {
  if (!c.ok)
    return `**NO**: ${c.counts.missing} missing, ${c.counts.wrongValue} other value, ${c.counts.extra} left behind`;
  return c.expiring === 0
    ? 'yes'
    : `yes (+${int(c.expiring)} ended, expiring: a commit ${(c.latenessMs / 1000).toFixed(1)} s late)`;
}

/** Section 5: forwarded traffic through a gateway, with and without our table. */
function forwardSection(forwarded: readonly PacketRow[]): string {
  const bare = forwarded.find((p) => p.key === 'forward-none')!;
  const router = forwarded.find((p) => p.key === 'forward-conntrack')!;
  const delta = (v: number, b: number, digits: number) => `${v - b >= 0 ? '+' : ''}${(v - b).toFixed(digits)} µs`;
  const table = markdownTable(
    [
      'gateway',
      'packets/s',
      'sender CPU µs/pkt',
      'of which system',
      "Δ system vs the router's table",
      'Δ system vs no table',
      'machine CPU µs/pkt',
      'delivered to the sink',
    ],
    forwarded.map((p) => [
      p.label,
      int(p.pps),
      p.cpuUsPerPacket.toFixed(2),
      p.sysUsPerPacket.toFixed(2),
      p.key === 'forward-ours' ? delta(p.sysUsPerPacket, router.sysUsPerPacket, 2) : '',
      p === bare ? '' : delta(p.sysUsPerPacket, bare.sysUsPerPacket, 2),
      p.machineUsPerPacket.toFixed(1),
      `${(p.delivered * 100).toFixed(2)} %`,
    ]),
    ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  return `Gateway mode (docs/gateway.md): ${ROUNDS} interleaved rounds of ${int(BURST_PACKETS)} UDP datagrams from a client
namespace through a gateway namespace (forwarding on) to a sink namespace behind it, to ${FORWARD_PORTS.length} ports below the
knock range; one gateway without any table, one with a router's ordinary conntrack table (\`ct state
established,related accept\` on forward: what a NAT router has anyway, and what our table switches on by
itself), one with that and our table for a config with a local service and three forwarded ones (a DNAT
port, a routed address, a routed IPv6 prefix). On veth the gateway's forward path and
the sink's input run in the sender's softirq, so the sender's system time per packet carries them. The
datagrams are never answered, so each stays \`ct state new\` and runs our whole forward chain (the
established accept, then each forwarded service's rule): the worst case; packets of an established
connection stop at the chain's first rule.

${table}
`;
}

function report(
  machine: ReturnType<typeof machineInfo>,
  rows: UsersRow[],
  packets: PacketRow[],
  wallS: number,
  forwarded: PacketRow[],
) {
  const big = rows[rows.length - 1]!;
  const rotation10k = median(big.rotations.map((r) => r.nftMs));
  const rotation10kTotal = median(big.rotations.map((r) => r.totalMs));
  const p1 = packets.find((p) => p.key === 'users1')!;
  const p10k = packets.find((p) => p.key === `users${big.users}`)!;
  const p10kNoStart = packets.find((p) => p.key === `users${big.users}-nostart`)!;
  const ratio = p10k.pps / p1.pps;
  const ratioNoStart = p10kNoStart.pps / p1.pps;
  const targets = {
    rotation10kMs: rotation10k,
    rotation10kWithComputeMs: rotation10kTotal,
    rotationMet: rotation10k < ROTATION_TARGET_MS,
    throughputRatio: ratio,
    throughputRatioNoStart: ratioNoStart,
    throughputMet: ratio >= THROUGHPUT_TARGET,
  };

  const t1 = markdownTable(
    [
      'users × 3 windows',
      'sequences',
      'step elements',
      'ruleset',
      'render',
      'full load (nft -f)',
      'rotation: computed ahead (plan + sync + render)',
      'rotation at the boundary: nft -f',
      'rotation: both',
      'rotation script',
      'kernel = plan',
    ],
    rows.map((r) => {
      const rot = (f: (x: UsersRow['rotations'][number]) => number) => median(r.rotations.map(f));
      return [
        int(r.users),
        int(r.sequences) + (r.conflicts ? ` (${r.conflicts} left out)` : ''),
        int(r.stepElements),
        bytes(r.rulesetBytes),
        `${ms(r.renderMs)} ms`,
        `${ms(median(r.loadMs))} ms`,
        `${ms(rot((x) => x.computeMs))} ms (${ms(rot((x) => x.planMs))} + ${ms(rot((x) => x.syncMs))} + ${ms(rot((x) => x.renderMs))})`,
        `**${ms(rot((x) => x.nftMs))} ms**`,
        `${ms(rot((x) => x.totalMs))} ms`,
        `${int(rot((x) => x.elementOps))} ops, ${bytes(rot((x) => x.scriptBytes))}`,
        kernelIsPlan(r.check),
      ];
    }),
    ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
  );
  const base = packets.find((p) => p.key === 'none')!;
  const t2 = markdownTable(
    [
      'server namespace',
      'ports sent',
      'packets/s',
      'vs 1 user',
      'sender CPU µs/pkt',
      'of which system',
      'Δ system vs no table',
      'machine CPU µs/pkt',
      'delivered',
      'every packet accounted',
      'bad / stored / throttled (predicted bad without budget)',
    ],
    packets.map((p) => [
      p.label,
      int(p.ports),
      int(p.pps),
      p.key === 'none' ? '' : `${(p.pps / p1.pps).toFixed(3)}×`,
      p.cpuUsPerPacket.toFixed(2),
      p.sysUsPerPacket.toFixed(2),
      p.key === 'none'
        ? ''
        : `${p.sysUsPerPacket - base.sysUsPerPacket >= 0 ? '+' : ''}${(p.sysUsPerPacket - base.sysUsPerPacket).toFixed(2)} µs`,
      p.machineUsPerPacket.toFixed(1),
      `${(p.delivered * 100).toFixed(2)} %`,
      p.countersOk === null
        ? 'n/a'
        : p.countersOk
          ? 'yes'
          : `**NO**: ${p.bursts.map((b) => `${int(b.outcomes ? outcomeTotal(b.outcomes) : 0)} of ${int(b.sent)}`).join(', ')}`,
      p.countersOk === null
        ? ''
        : `${int(median(p.bursts.map((b) => b.outcomes!.bad_knocks)))} / ${int(median(p.bursts.map((b) => b.outcomes!.steps_stored)))} / ${int(median(p.bursts.map((b) => b.outcomes!.stores_throttled)))} (${int(median(p.bursts.map((b) => b.predictedBadKnocks ?? 0)))})`,
    ]),
    ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left', 'right'],
  );

  const md = `# otpknockd server bench

${machineLine(machine)} · whole run ${wallS.toFixed(0)} s

Default profile (time method, length 3, period 30 s, ports 10000–65000), skew 1 (3 windows), one service.
Full load: median of ${LOAD_RUNS} into an empty namespace. Rotation: median of ${ROTATIONS} successive
rotations at real window boundaries (period ${ROTATION_PERIOD_S} s for this part: the kernel drops ended windows by
its own timeouts, so the bench waits for them; a rotation's work is one new window per user whatever the
period), as the daemon does them: the plan, trie and script are computed ${PREPARE_LEAD_MS / 1000} s before the
boundary (cached deriver), and at the boundary only \`ip netns exec … nft -f -\` runs (wall time, process start
included). Element timeouts updated in place by this kernel: ${timeoutUpdates ? 'yes' : 'no'} (otherwise a shared
prefix costs three operations instead of one). "kernel = plan": 2.5 s after the last rotation, the kernel's
\`step\` map holds exactly the elements of the live plan (key and value), and the first steps left to their extra
window; "ended, expiring": elements the plan has ended that the kernel still holds because the commit that set
their timeout came late (the kernel counts a timeout from the commit, the plan from the render) and whose timeout
runs out within that delay.

${t1}

Per-packet cost: ${ROUNDS} interleaved rounds of ${int(BURST_PACKETS)} junk UDP datagrams (16-byte payload, capped at
${BURST_MAX_SECONDS} s each) from one client namespace over veth to one server namespace per table; medians.
On veth the receiver's whole input path (netfilter included) runs in the sender's softirq, so the sender's
CPU time per packet is the kernel's cost per packet (machine CPU: every CPU's busy time during the burst from
/proc/stat, which also catches deferred kernel work, and other load on the machine). "Every packet accounted":
every packet arrived, and the table's outcome counters (bad knock, progress stored, store throttled by the
source's budget, progress set full, open, replay, banned, payload refused) moved by exactly the packets sent.
The last column shows where the packets went, and in brackets how many bad knocks a replay of the state
machine without the store budget predicts: the budget turns a flood's stores into cheap throttled drops.

${t2}

${
  big.users === 10_000
    ? `Targets: rotation at 10,000 users < ${ROTATION_TARGET_MS} ms: **${targets.rotationMet ? 'met' : 'NOT met'}** (${ms(rotation10k)} ms at the boundary; with the computation done ${PREPARE_LEAD_MS / 1000} s before it, ${ms(rotation10kTotal)} ms of work in all).
Throughput at 10,000 users ≥ ${THROUGHPUT_TARGET} × 1 user: **${targets.throughputMet ? 'met' : 'NOT met'}** (${ratio.toFixed(3)}×; junk that starts no sequence: ${ratioNoStart.toFixed(3)}×).`
    : `Targets (at 10,000 users): not measured, this run stopped at ${int(big.users)} users (--max-users).`
}

${forwardSection(forwarded)}`;
  return { md, targets };
}

async function main(): Promise<void> {
  const started = performance.now();
  if (process.getuid?.() !== 0) throw new Error('bench/server.ts needs root (network namespaces and nft)');
  const machine = machineInfo();
  if (options['forward-only']) {
    const fnet = createBenchNet();
    try {
      process.stdout.write(`${machineLine(machine)}\n\n${forwardSection(await measureForwarded(fnet))}`);
    } finally {
      fnet.destroy();
    }
    return;
  }
  const configs = new Map(USER_COUNTS.map((n) => [n, makeConfig(n)]));
  const net = createBenchNet();
  let rows: UsersRow[] = [];
  let packets: PacketRow[] = [];
  let forwarded: PacketRow[] = [];
  try {
    for (const n of USER_COUNTS) {
      rows.push(await measureUsers(net, n, configs.get(n)!));
      const r = rows[rows.length - 1]!;
      console.error(
        `users=${n}: load ${ms(median(r.loadMs))} ms, rotation ${ms(median(r.rotations.map((x) => x.totalMs)))} ms`,
      );
    }
    packets = await measurePackets(net, configs.get(1)!, configs.get(USER_COUNTS[USER_COUNTS.length - 1]!)!);
    forwarded = await measureForwarded(net);
  } finally {
    net.destroy();
  }
  rows = rows.sort((a, b) => a.users - b.users);
  const wallS = (performance.now() - started) / 1000;
  const { md, targets } = report(machine, rows, packets, wallS, forwarded);
  process.stdout.write(md);
  if (!FULL_RUN) {
    console.error('a reduced run (--max-users, --burst-packets): bench/results left as they are');
    return;
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(`${RESULTS_DIR}server.md`, md);
  const json = {
    machine,
    params: {
      userCounts: USER_COUNTS,
      windows: 3,
      skew: 1,
      profile: 'time, length 3',
      loadRuns: LOAD_RUNS,
      rotations: ROTATIONS,
      burstPackets: BURST_PACKETS,
      burstMaxSeconds: BURST_MAX_SECONDS,
      rounds: ROUNDS,
    },
    wallSeconds: wallS,
    targets,
    users: rows,
    packets,
    forwarded,
  };
  writeFileSync(`${RESULTS_DIR}server.json`, `${JSON.stringify(json, null, 2)}\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
