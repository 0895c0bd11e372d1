// What the `knock` client costs a user, measured in network namespaces (issue 4):
//   1. cold start: `knock --version`, `--help`, `print HOST`, and `knock HOST --no-wait`
//      (sends 3 UDP datagrams and exits) next to Node's own floor (an empty module) and
//      knockd's C client `knock` sending the same 3 datagrams — interleaved runs;
//   2. end to end: from starting `knock HOST` to its exit 0, which it does as soon as the
//      protected service accepted a TCP connection (`knock HOST && ssh HOST`), ≥ 20 runs
//      against the real otpknockd (built bundle), each with a fresh user so each knock is a
//      first, one-time sequence; `otpknockd close CLIENT` between runs (outside the timing);
//   3. the same runs on the wire (AF_PACKET capture with kernel timestamps on the server's
//      interface, bench/lib/wire-capture.py): start → first knock datagram, first → last
//      datagram, last datagram → SYN-ACK (the kernel's knock handling plus the client's
//      first connect), SYN-ACK → the client's exit.
// knockd and fwknop end to end, daemons included, are bench/peers.ts (issue 7).
// Everything runs in two namespaces this bench creates (RFC 5737 addresses) and removes at
// the end, on failure and on Ctrl-C. As root, after `pnpm build`:
//   pnpm bench:client [--runs N]   (= pnpm build && node --conditions=source --import tsx bench/client.ts)
// Prints a Markdown report and writes bench/results/client.{md,json}.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeSecret, generateSecret } from '@otpknock/shared';
import { agentPath, type NsProcess } from '@otpknock/e2e-harness';
import { machineInfo, machineLine } from './lib/machine.js';
import { markdownTable } from './lib/markdown.js';
import { wholeNumberOption } from './lib/options.js';
import { createBenchNet, type BenchNet } from './lib/netns.js';
import { median, ms } from './lib/stats.js';

// Strict: an unknown argument is refused (a typo would otherwise run the default bench for minutes).
const { values: options } = parseArgs({
  args: process.argv.slice(2),
  options: { runs: { type: 'string', default: '24' } },
});
/** Timed `knock HOST` runs (end to end and wire), each with its own user. */
const RUNS = wholeNumberOption('runs', options.runs, 20, 100);
const WARMUP = 2;
/** Runs of each cold-start case. */
const COLD_RUNS = 20;
const SERVICE_PORT = 22;
/** Pause between two timed knocks (outside the timing): the server's per-source store
 * budget (storeBudget in ruleset/render.ts: 4 stores/s after a burst of 8) must not throttle
 * the bench's own knocks. */
const KNOCK_PACING_MS = 600;
const STATIC_PORTS = [7001, 7002, 7003];
const SERVER = '192.0.2.1';
const CLIENT = '192.0.2.2';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const LIB = fileURLToPath(new URL('./lib/', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const NODE = process.execPath;
const PYTHON = '/usr/bin/python3';
const OTPKNOCKD = join(REPO, 'packages/server/dist/otpknockd.js');
const KNOCK = join(REPO, 'packages/client/dist/knock.js');
const KNOCKD_CLIENT = '/usr/bin/knock';

const log = (s: string) => process.stderr.write(`bench/client: ${s}\n`);
const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

interface Run {
  case: string;
  run: number;
  startNs: number;
  endNs: number;
  wallMs: number;
  cpuMs: number;
  maxRssKiB: number;
  exit: number;
  stderr: string;
}

interface Packet {
  t: number;
  kind: 'udp' | 'syn' | 'synack';
  dport: number;
}

/** bench/lib/time-runs.py in a namespace: fork/exec/wait4, interleaved. */
async function timeRuns(
  net: BenchNet,
  role: string,
  runs: number,
  cases: { name: string; argv: string[] }[],
  env: Record<string, string>,
): Promise<Run[]> {
  const job = { runs, cases, env };
  const r = await net.exec(role, [PYTHON, join(LIB, 'time-runs.py')], {
    input: JSON.stringify(job),
    timeoutMs: 30_000 * runs * cases.length + 10_000,
  });
  if (r.code !== 0) throw new Error(`time-runs failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Run);
}

function stats(xs: number[]): string[] {
  if (xs.length === 0) return ['–', '–', '–'];
  return [ms(Math.min(...xs)), `**${ms(median(xs))}**`, ms(Math.max(...xs))];
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces, nftables)');
  for (const f of [OTPKNOCKD, KNOCK]) if (!existsSync(f)) throw new Error(`${f} is missing: run "pnpm build" first`);
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing (apt-get install python3)`);
  const machine = machineInfo();
  const loadBefore = load();
  const began = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'otpknock-bench-client-'));
  const net = createBenchNet();
  let daemon: NsProcess | undefined;
  let capture: NsProcess | undefined;
  try {
    await net.addNamespace('srv');
    await net.addNamespace('cli');
    const link = await net.link('srv', `${SERVER}/24`, 'cli', `${CLIENT}/24`);

    // Users: one per timed knock (and warm-up), so every knock is the first of its window.
    const users = Array.from({ length: RUNS + WARMUP }, (_, i) => `u${String(i).padStart(2, '0')}`);
    mkdirSync(join(dir, 'secrets'), { mode: 0o700 });
    for (const u of users) {
      const f = join(dir, 'secrets', u);
      writeFileSync(f, `${encodeSecret(generateSecret())}\n`, { mode: 0o600 });
      chmodSync(f, 0o600);
    }
    const config = join(dir, 'otpknockd.yaml');
    writeFileSync(
      config,
      [
        `state_dir: ${join(dir, 'state')}`,
        // The cold-start runs send static junk knocks: no ban for them.
        'ban: off',
        'knock: { method: time, length: 3, period: 30, range: 10000-65000 }',
        `services:\n  ssh: { port: ${SERVICE_PORT}, open_for: 30s }`,
        'users:',
        ...users.map((u) => `  ${u}: { secret_file: ${join(dir, 'secrets', u)} }`),
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const svc = net.spawn('srv', [NODE, agentPath('service.mjs'), 'bench', String(SERVICE_PORT)]);
    await svc.waitForLine('"event":"listening"', { timeoutMs: 10_000 });
    daemon = net.spawn('srv', [NODE, OTPKNOCKD, 'run', '--config', config, '--log-format', 'json']);
    await daemon.waitForLine(/"event":"start"|otpknockd: /, { timeoutMs: 15_000 });
    if (!/"event":"start"/.test(daemon.stderr())) throw new Error(`otpknockd did not start:\n${daemon.stderr()}`);

    // The client's profiles: one per user (knock add, exactly as a user does it), and a
    // static one for the send-only cold start (its junk goes nowhere the server cares about).
    const store = join(dir, 'profiles.json');
    // The timed commands get a clean environment, as a user's shell has: this process's
    // may carry NODE_OPTIONS or NODE_EXTRA_CA_CERTS (~40 ms more per Node start, on the
    // machine these figures come from), which is not the client's cost.
    const env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: dir,
      XDG_STATE_HOME: join(dir, 'client-state'),
      XDG_CONFIG_HOME: join(dir, 'client-config'),
    };
    const knock = (...a: string[]) => [NODE, KNOCK, '--config', store, ...a];
    log(`adding ${users.length + 1} client profiles`);
    for (const u of users) {
      const r = await net.exec('cli', knock('add', u, '--address', SERVER, '--secret-file', join(dir, 'secrets', u)), {
        env: { ...process.env, ...env },
        timeoutMs: 15_000,
      });
      if (r.code !== 0) throw new Error(`knock add ${u} failed: ${r.stderr}`);
    }
    const fixed = await net.exec(
      'cli',
      knock(
        'add',
        'fixed',
        '--address',
        SERVER,
        '--method',
        'static',
        '--open',
        STATIC_PORTS.join(','),
        '--close',
        [...STATIC_PORTS].reverse().join(','),
        '--secret-file',
        join(dir, 'secrets', users[0]!),
      ),
      {
        env: { ...process.env, ...env },
        timeoutMs: 15_000,
      },
    );
    if (fixed.code !== 0) throw new Error(`knock add fixed failed: ${fixed.stderr}`);

    // 1. Cold start.
    const empty = join(dir, 'empty.mjs');
    writeFileSync(empty, '');
    const cold = [
      { name: 'node, an empty module (the floor)', argv: [NODE, empty] },
      { name: 'knock --version', argv: knock('--version') },
      { name: 'knock --help', argv: knock('--help') },
      { name: 'knock print HOST', argv: knock('print', 'fixed') },
      { name: 'knock HOST --no-wait (send 3 datagrams)', argv: knock('fixed', '--no-wait') },
      ...(existsSync(KNOCKD_CLIENT)
        ? [
            {
              name: "knockd's knock -u HOST p1 p2 p3 (C)",
              argv: [KNOCKD_CLIENT, '-u', SERVER, ...STATIC_PORTS.map(String)],
            },
          ]
        : []),
    ];
    log(`cold start: ${cold.length} cases × ${COLD_RUNS} runs, interleaved (load ${load()})`);
    const coldRuns = await timeRuns(net, 'cli', COLD_RUNS, cold, env);
    for (const r of coldRuns) if (r.exit !== 0) throw new Error(`${r.case} exited ${r.exit}: ${r.stderr}`);

    // 2 + 3. End to end, with the wire capture running on the server's interface.
    capture = net.spawn('srv', [
      PYTHON,
      join(LIB, 'wire-capture.py'),
      JSON.stringify({ ifname: link.aIf, client: CLIENT, maxSeconds: 600 }),
    ]);
    await capture.waitForLine('"event":"ready"', { timeoutMs: 10_000 });
    const closeClient = async () => {
      const r = await net.exec('srv', [NODE, OTPKNOCKD, 'close', CLIENT, '--config', config], { timeoutMs: 15_000 });
      if (r.code !== 0) throw new Error(`otpknockd close failed: ${r.stderr}`);
    };
    log(`end to end: ${WARMUP} warm-up + ${RUNS} knocks, one user each (load ${load()})`);
    const e2e: Run[] = [];
    for (let i = 0; i < users.length; i++) {
      await closeClient();
      await sleep(KNOCK_PACING_MS);
      // Keep clear of a window boundary: a knock that straddles one is not what we time.
      const into = (Date.now() / 1000) % 30;
      if (into > 29) await sleep((30 - into + 0.1) * 1000);
      const [r] = await timeRuns(net, 'cli', 1, [{ name: users[i]!, argv: knock(users[i]!) }], env);
      if (!r || r.exit !== 0) throw new Error(`knock ${users[i]} did not open (exit ${r?.exit}): ${r?.stderr}`);
      if (i >= WARMUP) e2e.push(r);
    }
    await closeClient();
    const status = await net.exec('srv', [NODE, OTPKNOCKD, 'status', '--json', '--config', config], {
      timeoutMs: 15_000,
    });
    const counters = (JSON.parse(status.stdout) as { counters: Record<string, number> }).counters;
    capture.child.stdin?.end();
    await Promise.race([capture.exited, sleep(3_000)]);
    const packets = capture
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{"t"'))
      .map((l) => JSON.parse(l) as Packet);

    // Per run: the client's packets between its start and its exit.
    const wire = e2e.map((r) => {
      const mine = packets.filter((p) => p.t >= r.startNs && p.t <= r.endNs);
      const synack = mine.find((p) => p.kind === 'synack');
      const udps = mine.filter((p) => p.kind === 'udp' && (!synack || p.t <= synack.t));
      const first = udps[0];
      const last = udps.at(-1);
      // The SYN that was answered: the last one sent to the service port before the SYN-ACK.
      const syn = mine
        .filter((p) => p.kind === 'syn' && p.dport === SERVICE_PORT && (!synack || p.t <= synack.t))
        .at(-1);
      if (!first || !last || !synack || !syn) return undefined;
      return {
        startToFirst: (first.t - r.startNs) / 1e6,
        firstToLast: (last.t - first.t) / 1e6,
        lastToSynack: (synack.t - last.t) / 1e6,
        lastToSyn: (syn.t - last.t) / 1e6,
        synToSynack: (synack.t - syn.t) / 1e6,
        synackToExit: (r.endNs - synack.t) / 1e6,
        datagrams: udps.length,
      };
    });
    const complete = wire.filter((w): w is NonNullable<typeof w> => w !== undefined);
    const selfReported = e2e
      .map((r) => Number(/open \((\d+(?:\.\d+)?) s\)/.exec(r.stderr)?.[1] ?? Number.NaN) * 1000)
      .filter((x) => !Number.isNaN(x));
    const loadAfter = load();
    const took = (performance.now() - began) / 1000;

    // ---------- report ----------
    const coldRows = cold.map((c) => {
      const rs = coldRuns.filter((r) => r.case === c.name);
      return [
        c.name,
        ...stats(rs.map((r) => r.wallMs)),
        ms(median(rs.map((r) => r.cpuMs))),
        `${(median(rs.map((r) => r.maxRssKiB)) / 1024).toFixed(1)} MiB`,
      ];
    });
    const e2eRows = [
      ['`knock HOST` start → exit 0 (service open)', ...stats(e2e.map((r) => r.wallMs))],
      ["  knock's own figure: first datagram → connection accepted (10 ms steps)", ...stats(selfReported)],
      [
        '  wire: start → first knock datagram (Node start-up, profile, derivation)',
        ...stats(complete.map((w) => w.startToFirst)),
      ],
      ['  wire: first → last datagram (3 datagrams, 5 ms apart)', ...stats(complete.map((w) => w.firstToLast))],
      ['  **wire: last datagram → SYN-ACK**', ...stats(complete.map((w) => w.lastToSynack))],
      ["    of which last datagram → the client's SYN (client)", ...stats(complete.map((w) => w.lastToSyn))],
      [
        '    of which SYN → SYN-ACK (server kernel: knock already applied)',
        ...stats(complete.map((w) => w.synToSynack)),
      ],
      ['  wire: SYN-ACK → exit', ...stats(complete.map((w) => w.synackToExit))],
      ['  CPU time of the client (user + system)', ...stats(e2e.map((r) => r.cpuMs))],
    ];
    const md = [
      `## bench/client.ts — the knock client`,
      '',
      `${machineLine(machine)} · whole run ${took.toFixed(0)} s · load average (1/5/15 min) before ${loadBefore}, after ${loadAfter}`,
      '',
      `Cold start: ${COLD_RUNS} runs per row, interleaved, in the client namespace (fork/exec/wait4 from bench/lib/time-runs.py; ms).`,
      '`knock HOST --no-wait` uses a static profile (same 3 UDP ports as the knockd client row); knockd\'s client is C and is there as the floor of "send 3 datagrams".',
      '',
      markdownTable(['command', 'min', 'median', 'max', 'CPU median', 'peak RSS'], coldRows, [
        'left',
        'right',
        'right',
        'right',
        'right',
        'right',
      ]),
      '',
      `End to end: ${e2e.length} runs of \`knock HOST\` (after ${WARMUP} warm-ups) against otpknockd (built bundle) in the server namespace, one fresh user per run (time method, 3 ports, 30 s windows); \`otpknockd close ${CLIENT}\` before each run, outside the timing. Wire times from an AF_PACKET capture with kernel timestamps on the server's interface (${complete.length} of ${e2e.length} runs matched; ms).`,
      '',
      markdownTable(['', 'min', 'median', 'max'], e2eRows, ['left', 'right', 'right', 'right']),
      '',
      `Knocks that opened at the first try: ${e2e.filter((r) => !/knocking again/.test(r.stderr)).length} of ${e2e.length}. The server's counters afterwards: completed ${counters['completed'] ?? '?'}, bad_knocks ${counters['bad_knocks'] ?? '?'}, stores_throttled ${counters['stores_throttled'] ?? '?'} (${KNOCK_PACING_MS} ms between knocks, outside the timing).`,
      '',
    ].join('\n');
    process.stdout.write(`${md}\n`);
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'client.md'), `${md}\n`);
    writeFileSync(
      join(RESULTS_DIR, 'client.json'),
      `${JSON.stringify({ machine, loadBefore, loadAfter, tookS: took, counters, cold: coldRuns, e2e, wire }, null, 1)}\n`,
    );
  } finally {
    if (capture?.running) await capture.stop('SIGTERM', 1_000);
    if (daemon?.running) await daemon.stop('SIGTERM', 3_000);
    net.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/client: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
