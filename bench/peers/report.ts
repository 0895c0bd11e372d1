// The report: the Markdown table and targets printed on stdout, and bench/results/peers.{md,json}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineLine, type Machine } from '../lib/machine.js';
import { markdownTable } from '../lib/markdown.js';
import { int, median, ms } from '../lib/stats.js';
import type { FloodRow } from './floods.js';
import { KNOCK_GAP_MS, opened, type KnockRun } from './knock.js';
import {
  CONNECT_INTERVAL_MS,
  CPU_JUNK,
  CPU_RATE,
  CPU_ROUNDS,
  FLOOD_KNOCKS,
  FLOOD_MAX_SECONDS,
  FLOOD_RATES,
  RESULTS_DIR,
  RSS_RUNS,
  RUNS,
  WARMUP_RUNS,
  WIRE_TARGET_MS,
} from './params.js';
import type { Peer, PeerKey } from './peer.js';
import type { ServerFigures } from './server-figures.js';

export interface Results {
  machine: Machine;
  loadBefore: number[];
  loadAfter: number[];
  wallS: number;
  peers: Peer[];
  latency: Map<PeerKey, { runs: KnockRun[]; rss: KnockRun[] }>;
  idleRssKiB: Map<PeerKey, number[]>;
  cpu: Map<PeerKey, { cpuMsPer100k: number }[]>;
  floods: Map<PeerKey, FloodRow[]>;
  server: ServerFigures;
  installed: string[];
  /** `node -e 0`, start → exit. */
  nodeStartMs: number[];
}

const spread = (xs: readonly (number | null | undefined)[], f: (x: number) => string, unit = ''): string => {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (v.length === 0) return '—';
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  const missing = xs.length - v.length;
  return `${f(median(v))}${unit} (${f(lo)}–${f(hi)})${missing ? ` · ${missing} failed` : ''}`;
};
const mib = (kib: number) => (kib / 1024).toFixed(1);

/** For knocks that did not open under a flood: did their datagrams reach the server? */
function failedNotes(r: Results): string {
  const lines: string[] = [];
  for (const p of r.peers) {
    const failed = r.floods
      .get(p.key)!
      .flatMap((f) =>
        f.knocks.filter((k) => !opened(p, k)).map((k) => ({ rate: f.rate, datagrams: k.datagrams ?? 0 })),
      );
    if (failed.length === 0) continue;
    lines.push(
      `- ${p.label}: ${failed.length} knock(s) did not open under a flood; the client's datagrams seen on the server's interface: ${failed.map((f) => `${f.datagrams} (at ${int(f.rate)}/s)`).join(', ')}`,
    );
  }
  return lines.length ? `\nKnocks that failed under a flood:\n${lines.join('\n')}\n` : '';
}

function report(r: Results) {
  const [otp, knd] = [r.peers.find((p) => p.key === 'otpknock')!, r.peers.find((p) => p.key === 'knockd')!];
  const e2e = (p: Peer) => r.latency.get(p.key)!.runs.map((x) => (opened(p, x) ? x.connectMs : null));
  const wire = (p: Peer) => r.latency.get(p.key)!.runs.map((x) => x.wireMs ?? null);
  const runs = (p: Peer, key: 'firstDatagramMs' | 'datagramSpanMs' | 'clientMs') =>
    r.latency.get(p.key)!.runs.map((x) => x[key] ?? null);
  const okMedian = (xs: (number | null)[]) => median(xs.filter((x): x is number => x !== null));
  const otpWire = wire(otp).filter((x): x is number => x !== null);
  const otpCpu = r.cpu.get('otpknock')!.map((c) => c.cpuMsPer100k);
  const otpFloods = r.floods.get('otpknock')!;
  const targets = {
    wire: {
      met: otpWire.length === RUNS && median(otpWire) < WIRE_TARGET_MS,
      median: median(otpWire),
      max: Math.max(...otpWire),
    },
    cpu: { met: otpCpu.every((c) => c === 0), values: otpCpu },
    floods: {
      met: otpFloods.every((f) => f.knocks.length === FLOOD_KNOCKS && f.ok === FLOOD_KNOCKS),
      values: otpFloods.map((f) => `${f.ok}/${f.knocks.length}`),
    },
    e2e: {
      met: okMedian(e2e(otp)) <= okMedian(e2e(knd)),
      otpknock: okMedian(e2e(otp)),
      knockd: okMedian(e2e(knd)),
      nodeStart: median(r.nodeStartMs),
    },
  };
  const peerCols = r.peers.map((p) => p.label);
  const row = (label: string, f: (p: Peer) => string) => [label, ...r.peers.map(f)];
  const srvRot = (n: number) => r.server.rotationMs.get(n) ?? [];
  const rotCell = [1, 1_000, 10_000]
    .map((n) =>
      srvRot(n).length ? `${ms(median(srvRot(n)))} (${ms(Math.min(...srvRot(n)))}–${ms(Math.max(...srvRot(n)))})` : '—',
    )
    .join(' / ');
  // server.ts measures the per-packet cost at 1 and 10,000 users (the two ends), not at 1,000.
  const ppCell = [1, 10_000]
    .map((n) => {
      const v = r.server.perPacketUs.get(n);
      return v === undefined ? '—' : `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
    })
    .join(' / ');
  const table = markdownTable(
    ['', ...peerCols],
    [
      row(`end-to-end: client start → first accepted connect, ms`, (p) => spread(e2e(p), ms)),
      row(`… client start → its first knock/SPA datagram on the wire, ms`, (p) =>
        spread(runs(p, 'firstDatagramMs'), ms),
      ),
      row(`… first → last knock datagram, ms`, (p) => spread(runs(p, 'datagramSpanMs'), ms)),
      row(`… client start → client exit, ms`, (p) => spread(runs(p, 'clientMs'), ms)),
      row("Node's own start: `node -e 0`, start → exit, ms", (p) =>
        p.key === 'otpknock' ? spread(r.nodeStartMs, ms) : 'n/a',
      ),
      row(`wire: last knock/SPA datagram → SYN-ACK, ms`, (p) => spread(wire(p), (x) => x.toFixed(3))),
      row(`… the client's share: last datagram → its first SYN, ms`, (p) =>
        spread(
          r.latency.get(p.key)!.runs.map((x) => x.firstSynMs ?? null),
          (x) => x.toFixed(3),
        ),
      ),
      row(`… the server's share: the client's first SYN → SYN-ACK, ms`, (p) =>
        spread(
          r.latency
            .get(p.key)!
            .runs.map((x) => (x.wireMs != null && x.firstSynMs != null ? x.wireMs - x.firstSynMs : null)),
          (x) => x.toFixed(3),
        ),
      ),
      row(`daemon CPU per ${int(CPU_JUNK)} junk datagrams at ${int(CPU_RATE)}/s, ms`, (p) =>
        spread(
          r.cpu.get(p.key)!.map((c) => c.cpuMsPer100k),
          (x) => x.toFixed(0),
        ),
      ),
      ...FLOOD_RATES.map((rate) =>
        row(`knocks that opened during a ${int(rate)} packets/s junk flood`, (p) => {
          const f = r.floods.get(p.key)!.find((x) => x.rate === rate)!;
          return `${f.ok}/${f.knocks.length} (daemon CPU ${f.daemonCpuPercent.toFixed(0)} %)`;
        }),
      ),
      row('daemon idle RSS, MiB', (p) => spread(r.idleRssKiB.get(p.key)!, mib)),
      row(`client peak RSS, MiB (${RSS_RUNS} runs)`, (p) =>
        spread(
          r.latency.get(p.key)!.rss.map((x) => x.maxRssKiB),
          mib,
        ),
      ),
      row('rotation at 1 / 1,000 / 10,000 users: nft at the boundary (computed 3 s ahead), ms', (p) =>
        p.key === 'otpknock' ? rotCell : 'n/a',
      ),
      row('kernel cost per junk packet at 1 / 10,000 users, µs (Δ system vs no table)', (p) =>
        p.key === 'otpknock' ? ppCell : 'n/a',
      ),
    ],
    ['left', 'right', 'right', 'right'],
  );
  const met = (b: boolean) => (b ? 'met' : '**NOT met**');
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const md = `# otpknock vs knockd vs fwknop

${machineLine(r.machine)} · load average before ${load(r.loadBefore)}, after ${load(r.loadAfter)} · whole run ${r.wallS.toFixed(0)} s

Median (min–max) of ${RUNS} knocks per program (interleaved, after ${WARMUP_RUNS} warm-up), client and servers in
network namespaces on veth pairs; ${CPU_ROUNDS} junk bursts per daemon; ${FLOOD_KNOCKS} knocks per flood. Rotation and
kernel cost per packet: ${r.server.source}${r.server.date ? ` (${r.server.date})` : ''}, median (min–max) of 3 rotations.

${table}

Targets for otpknock:
- wire latency < ${WIRE_TARGET_MS} ms: ${met(targets.wire.met)} (median ${targets.wire.median.toFixed(3)} ms, max ${targets.wire.max.toFixed(3)} ms)
- 0 daemon CPU per junk packet: ${met(targets.cpu.met)} (${targets.cpu.values.map((v) => `${v.toFixed(0)} ms`).join(', ')} per ${int(CPU_JUNK)})
- 100 % of legitimate knocks under both floods: ${met(targets.floods.met)} (${targets.floods.values.join(', ')})
- end-to-end at least as fast as knockd: ${met(targets.e2e.met)} (median ${ms(targets.e2e.otpknock)} ms vs ${ms(targets.e2e.knockd)} ms; \`node -e 0\` alone: ${ms(targets.e2e.nodeStart)} ms)
${failedNotes(r)}${r.server.error ? `\nNote: ${r.server.error}\n` : ''}`;
  return { md, targets };
}

/** Prints the report (and each program's settings) and writes bench/results/peers.{md,json}. */
export function writeReport(full: Results): void {
  const { md, targets } = report(full);
  const settings = full.peers.map((p) => `- **${p.label}**: ${p.settings.join('; ')}; junk: ${p.junk.what}`).join('\n');
  const text = `${md}\nSettings:\n${settings}\n`;
  process.stdout.write(text);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'peers.md'), text);
  const json = {
    machine: full.machine,
    loadBefore: full.loadBefore,
    loadAfter: full.loadAfter,
    wallSeconds: full.wallS,
    installed: full.installed,
    nodeStartMs: full.nodeStartMs,
    params: {
      runs: RUNS,
      knockGapMs: KNOCK_GAP_MS,
      rssRuns: RSS_RUNS,
      warmupRuns: WARMUP_RUNS,
      cpuJunk: CPU_JUNK,
      cpuRate: CPU_RATE,
      cpuRounds: CPU_ROUNDS,
      floodRates: FLOOD_RATES,
      floodMaxSeconds: FLOOD_MAX_SECONDS,
      floodKnocks: FLOOD_KNOCKS,
      connectIntervalMs: CONNECT_INTERVAL_MS,
    },
    targets,
    peers: full.peers.map((p) => ({
      key: p.key,
      label: p.label,
      settings: p.settings,
      junk: p.junk.what,
      latency: full.latency.get(p.key),
      idleRssKiB: full.idleRssKiB.get(p.key),
      cpu: full.cpu.get(p.key),
      floods: full.floods.get(p.key),
    })),
    server: {
      source: full.server.source,
      date: full.server.date,
      rotationMs: Object.fromEntries(full.server.rotationMs),
      perPacketUs: Object.fromEntries(full.server.perPacketUs),
      error: full.server.error,
    },
  };
  writeFileSync(join(RESULTS_DIR, 'peers.json'), `${JSON.stringify(json, null, 2)}\n`);
}
