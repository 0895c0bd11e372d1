// otpknock side by side with knockd (classic sequences, libpcap + a command per open) and
// fwknop (Single Packet Authorization, libpcap), in ONE run on one machine (issue 7):
//   1. end-to-end: starting the client → the first accepted TCP connect to the service;
//   2. wire: the last knock / SPA datagram → the server's SYN-ACK (AF_PACKET capture with
//      kernel timestamps in the server's namespace);
//   3. daemon CPU per 100,000 junk UDP datagrams aimed at the knock ports / SPA port;
//   4. legitimate knocks that open during a bounded junk flood (2,000 and 10,000 packets/s);
//   5. idle RSS of each daemon, peak RSS of each client;
//   6. otpknock only: rotation time and the kernel's per-packet cost by number of users,
//      from bench/server.ts (run as it is, see runServerBench).
// Everything runs in namespaces this bench creates (client, one server per program) on
// RFC 5737 addresses, and is removed at the end, on failure and on Ctrl-C. As root:
//   pnpm bench:peers [--runs N] [--reuse-server-results] [--no-build] [--keep-temp]
// It installs knockd, fwknop-server and fwknop-client with apt-get when missing (their
// services are not started, see installPeers), builds otpknock, prints one table and writes
// bench/results/peers.{md,json}.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PREPARE_LEAD_MS } from '../packages/server/src/daemon/daemon.js';
import { encodeSecret, generateSecret } from '../packages/shared/src/index.js';
import { agentPath } from '../test/harness/node.js';
import { run, type NsProcess } from '../test/harness/proc.js';
import { benchArgs } from './lib/args.js';
import { machineInfo, machineLine, type Machine } from './lib/machine.js';
import { markdownTable } from './lib/markdown.js';
import { createBenchNet, type BenchNet } from './lib/netns.js';
import { int, median, ms, shuffled } from './lib/stats.js';

// ---------- parameters ----------

/** Timed knocks per program (end-to-end and wire). */
const ARGS = benchArgs(process.argv.slice(2), { fallback: 20, min: 3, max: 100 }, ['--no-build', '--keep-temp', '--reuse-server-results']);
const RUNS = ARGS.runs;
/** Extra knocks per program run under /usr/bin/time for the client's peak RSS (not timed). */
const RSS_RUNS = 5;
const WARMUP_RUNS = 1;
const CPU_JUNK = 100_000;
const CPU_RATE = 25_000;
const CPU_ROUNDS = 3;
const FLOOD_RATES = [2_000, 10_000];
/** A flood lasts until its knocks are done, at most this long. */
const FLOOD_MAX_SECONDS = 25;
const FLOOD_KNOCKS = 5;
/** Peers' clients only send: after they exit, a new connect() every CONNECT_INTERVAL_MS. */
const CONNECT_INTERVAL_MS = 2;
const CONNECT_TIMEOUT_S = 3;
const SERVICE_PORT = 22;
const WIRE_TARGET_MS = 1;

const REPO = fileURLToPath(new URL('../', import.meta.url));
const LIB = fileURLToPath(new URL('./lib/', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const PYTHON = '/usr/bin/python3';
const GNU_TIME = '/usr/bin/time';
const NODE = process.execPath;
const OTPKNOCKD = join(REPO, 'packages/server/dist/otpknockd.js');
const KNOCK = join(REPO, 'packages/client/dist/knock.js');
/** USER_HZ, the unit of /proc/PID/stat's CPU times (100 on every Linux architecture we run on). */
const CLK_TCK = 100;

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));
const log = (s: string) => process.stderr.write(`peers: ${s}\n`);

// ---------- installing the peers ----------

interface Need {
  /** An absolute path, or a command name looked up in PATH. */
  bin: string;
  pkg: string;
}
const NEEDS: Need[] = [
  { bin: 'ip', pkg: 'iproute2' },
  { bin: 'nft', pkg: 'nftables' },
  { bin: '/usr/sbin/knockd', pkg: 'knockd' },
  { bin: '/usr/bin/knock', pkg: 'knockd' },
  { bin: '/usr/sbin/fwknopd', pkg: 'fwknop-server' },
  { bin: '/usr/bin/fwknop', pkg: 'fwknop-client' },
  { bin: '/usr/sbin/iptables', pkg: 'iptables' },
  { bin: GNU_TIME, pkg: 'time' },
  { bin: PYTHON, pkg: 'python3' },
];

/** Pids of running knockd/fwknopd processes (anywhere). */
function peerDaemonPids(): Map<number, string> {
  const out = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
      if (comm === 'knockd' || comm === 'fwknopd') out.set(Number(d), comm);
    } catch {
      // gone
    }
  }
  return out;
}

function packageVersion(pkg: string): string | null {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}\t${Version}', pkg], { encoding: 'utf8', timeout: 10_000 });
  const [status, version] = (r.stdout ?? '').split('\t');
  return r.status === 0 && status === 'install ok installed' ? (version ?? null) : null;
}

/**
 * apt-get install what is missing. Debian's knockd and fwknop-server ship disabled
 * (/etc/default: START_KNOCKD=0, START_DAEMON="no"), but a package may still start its
 * service: every knockd/fwknopd that appears during the install is stopped by its pid
 * (systemctl when systemd runs it). The bench starts its own daemons in its namespaces.
 */
function installPeers(): string[] {
  const found = (bin: string) =>
    bin.startsWith('/') ? existsSync(bin) : (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => d && existsSync(join(d, bin)));
  const missing = [...new Set(NEEDS.filter((n) => !found(n.bin)).map((n) => n.pkg))];
  if (missing.length === 0) return [];
  log(`installing ${missing.join(' ')} (apt-get install -y)`);
  const before = peerDaemonPids();
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, stdio: ['ignore', 2, 2], timeout: 300_000 });
  let r = install();
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { env, stdio: ['ignore', 2, 2], timeout: 300_000 });
    r = install();
  }
  if (r.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed (exit ${r.status}); install them and run again`);
  const systemd = existsSync('/run/systemd/system');
  for (const [pid, comm] of peerDaemonPids()) {
    if (before.has(pid)) continue;
    log(`the package started ${comm} (pid ${pid}); stopping it`);
    const unit = comm === 'knockd' ? 'knockd' : 'fwknop-server';
    if (systemd) spawnSync('systemctl', ['stop', unit], { stdio: ['ignore', 2, 2], timeout: 30_000 });
    else {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
  return missing;
}

// ---------- small helpers ----------

/** utime + stime of a process so far, in ms (10 ms resolution). */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
}

function processRssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

async function check(net: BenchNet, role: string, argv: string[], timeoutMs = 10_000): Promise<string> {
  const r = await net.exec(role, argv, { timeoutMs });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} in ${role} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 1500)}`);
  return r.stdout;
}

async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await fn()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

// ---------- the three programs ----------

type PeerKey = 'otpknock' | 'knockd' | 'fwknop';

interface Peer {
  key: PeerKey;
  label: string;
  role: string;
  server: string;
  client: string;
  eve: string;
  serverIf: string;
  daemon: NsProcess;
  /** argv of the client for the n-th knock (otpknock: one user per knock). */
  clientArgv(n: number): string[];
  env: Record<string, string>;
  /** Takes the client's address out of the allowed state, so the next knock starts closed. */
  reset(): Promise<void>;
  junk: { ports: number[]; payload: 'zeros' | 'base64'; payloadBytes: number; what: string };
  settings: string[];
}

interface Ctx {
  net: BenchNet;
  dir: string;
  env: Record<string, string>;
}

async function startService(ctx: Ctx, role: string): Promise<void> {
  const svc = ctx.net.spawn(role, [NODE, agentPath('service.mjs'), role, String(SERVICE_PORT)]);
  await svc.waitForLine('"event":"listening"', { timeoutMs: 10_000 });
}

async function setupOtpknock(ctx: Ctx, link: Addrs, users: number): Promise<Peer> {
  const { net } = ctx;
  const dir = join(ctx.dir, 'otpknock');
  mkdirSync(join(dir, 'secrets'), { recursive: true, mode: 0o700 });
  const names = Array.from({ length: users }, (_, i) => `u${String(i + 1).padStart(2, '0')}`);
  const secretFile = (u: string) => join(dir, 'secrets', u);
  for (const u of names) writePrivate(secretFile(u), `${encodeSecret(generateSecret())}\n`);
  const config = join(dir, 'otpknockd.yaml');
  // Defaults everywhere (time method, 3 ports from 10000–65000, 30 s windows, skew 1,
  // open_for 30s, ban after 10 bad knocks), as docs/configuration.md's minimal file.
  writePrivate(
    config,
    [
      `state_dir: ${join(dir, 'state')}`,
      'services:',
      `  ssh: { port: ${SERVICE_PORT} }`,
      'users:',
      ...names.map((u) => `  ${u}: { secret_file: ${secretFile(u)} }`),
      '',
    ].join('\n'),
  );
  const daemon = net.spawn(link.role, [NODE, OTPKNOCKD, 'run', '--config', config, '--log-format', 'json']);
  await daemon.waitForLine(/"event":"start"/, { timeoutMs: 20_000 });
  // The client's profile store, one profile per user, made with the client's own CLI.
  const store = join(dir, 'profiles.json');
  const storeEnv = { ...process.env, ...ctx.env };
  // One after the other: each add rewrites the whole store.
  for (const u of names) {
    const argv = [NODE, KNOCK, '--config', store, 'add', u, '--address', link.server, '--port', String(SERVICE_PORT), '--secret-file', secretFile(u)];
    const r = await run(argv, { env: storeEnv, timeoutMs: 20_000 });
    if (r.code !== 0) throw new Error(`knock add ${u} failed: ${r.stderr.trim()}`);
  }
  const knockRange: number[] = [];
  for (let p = 10_000; p <= 65_000; p++) if (p !== SERVICE_PORT) knockRange.push(p);
  return {
    key: 'otpknock',
    label: 'otpknock',
    ...link,
    daemon,
    env: ctx.env,
    clientArgv: (n) => {
      const u = names[n];
      if (u === undefined) throw new Error(`otpknock: only ${names.length} users, knock ${n} needs another`);
      return [NODE, KNOCK, '--config', store, 'open', u, '-q'];
    },
    reset: async () => {
      await check(net, link.role, [NODE, OTPKNOCKD, 'close', link.client, '--config', config]);
    },
    junk: { ports: shuffled(knockRange, 0x5eed), payload: 'zeros', payloadBytes: 16, what: 'the whole knock range 10000–65000, shuffled' },
    settings: [
      `otpknockd run --config FILE (the built bundle, node ${process.version}): one service (tcp/${SERVICE_PORT}), ${users} users, everything else default: time method, 3 ports from 10000–65000, 30 s windows, skew 1, open_for 30s, step_timeout 5s, ban after 10 bad knocks within 1m for 10m`,
      `client: knock --config STORE open uNN -q (one user per knock, each knock a fresh sequence; defaults: 5 ms between packets, 3 s timeout, 1 retry); profiles made with knock add`,
      `between knocks: otpknockd close CLIENT (outside the timing)`,
    ],
  };
}

async function setupKnockd(ctx: Ctx, link: Addrs): Promise<Peer> {
  const { net } = ctx;
  const dir = join(ctx.dir, 'knockd');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Three distinct random UDP ports, as a knockd admin would pick them.
  const ports = shuffled(
    Array.from({ length: 55_001 }, (_, i) => 10_000 + i),
    Date.now() & 0xffff,
  ).slice(0, 3);
  const ipt = (a: string[]) => check(net, link.role, ['iptables', ...a]);
  // A default-drop rule for the service, the state rule first, and a chain of its own for
  // knockd's openings (so the bench can reset it).
  await ipt(['-N', 'KNOCKD_ALLOW']);
  await ipt(['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
  await ipt(['-A', 'INPUT', '-j', 'KNOCKD_ALLOW']);
  await ipt(['-A', 'INPUT', '-p', 'tcp', '--dport', String(SERVICE_PORT), '-j', 'DROP']);
  const rule = `-s %IP% -p tcp --dport ${SERVICE_PORT} -j ACCEPT`;
  const logFile = join(dir, 'knockd.log');
  const conf = join(dir, 'knockd.conf');
  writePrivate(
    conf,
    `[options]
    LogFile   = ${logFile}
    PidFile   = ${join(dir, 'knockd.pid')}
    Interface = ${link.serverIf}

[openSSH]
    sequence      = ${ports.map((p) => `${p}:udp`).join(',')}
    seq_timeout   = 5
    start_command = /usr/sbin/iptables -A KNOCKD_ALLOW ${rule}
    cmd_timeout   = 30
    stop_command  = /usr/sbin/iptables -D KNOCKD_ALLOW ${rule}
`,
  );
  const daemon = net.spawn(link.role, ['/usr/sbin/knockd', '-c', conf, '-i', link.serverIf]);
  await waitFor('knockd to listen', () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('listening on'));
  // Junk that hits the knock ports but never completes the sequence (p3, p2, p1, …):
  // knockd must look at every packet, and never runs its command for eve.
  const junkPorts = [ports[2]!, ports[1]!, ports[0]!];
  return {
    key: 'knockd',
    label: `knockd ${packageVersion('knockd') ?? ''}`.trim(),
    ...link,
    daemon,
    env: ctx.env,
    clientArgv: () => ['/usr/bin/knock', '-u', link.server, ...ports.map(String)],
    reset: async () => {
      await ipt(['-F', 'KNOCKD_ALLOW']);
    },
    junk: { ports: junkPorts, payload: 'zeros', payloadBytes: 16, what: 'the 3 knock ports in reverse order (never a valid sequence)' },
    settings: [
      `knockd -c knockd.conf -i IF (foreground, libpcap on the server's interface): [openSSH] sequence = 3 random UDP ports, seq_timeout = 5, start_command = iptables -A KNOCKD_ALLOW ${rule}, cmd_timeout = 30, stop_command = iptables -D … (knockd(1) example 2, UDP ports); iptables-nft`,
      `firewall: INPUT: ESTABLISHED,RELATED accept → jump KNOCKD_ALLOW → tcp/${SERVICE_PORT} drop`,
      `client: knock -u SERVER p1 p2 p3 (knockd's own client, default delay 0), then a new connect() every ${CONNECT_INTERVAL_MS} ms`,
      'between knocks: iptables -F KNOCKD_ALLOW (outside the timing)',
    ],
  };
}

async function setupFwknop(ctx: Ctx, link: Addrs): Promise<Peer> {
  const { net } = ctx;
  const dir = join(ctx.dir, 'fwknop');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Keys as fwknop's docs make them: fwknop --key-gen (Rijndael key + HMAC-SHA256 key).
  const gen = spawnSync('/usr/bin/fwknop', ['--key-gen'], { encoding: 'utf8', env: { ...process.env, ...ctx.env }, timeout: 10_000 });
  const key = /^KEY_BASE64:\s+(\S+)$/m.exec(gen.stdout ?? '')?.[1];
  const hmac = /^HMAC_KEY_BASE64:\s+(\S+)$/m.exec(gen.stdout ?? '')?.[1];
  if (!key || !hmac) throw new Error(`fwknop --key-gen printed no keys: ${gen.stderr}`);
  const access = join(dir, 'access.conf');
  writePrivate(
    access,
    `SOURCE                  ANY
REQUIRE_SOURCE_ADDRESS  Y
KEY_BASE64              ${key}
HMAC_KEY_BASE64         ${hmac}
OPEN_PORTS              tcp/${SERVICE_PORT}
FW_ACCESS_TIMEOUT       30
`,
  );
  const conf = join(dir, 'fwknopd.conf');
  writePrivate(conf, `PCAP_INTF               ${link.serverIf};\nFIREWALL_EXE            /usr/sbin/iptables;\n`);
  const rc = join(dir, 'fwknoprc');
  writePrivate(
    rc,
    `[bench]
SPA_SERVER          ${link.server}
ACCESS              tcp/${SERVICE_PORT}
ALLOW_IP            ${link.client}
KEY_BASE64          ${key}
HMAC_KEY_BASE64     ${hmac}
USE_HMAC            Y
`,
  );
  const ipt = (a: string[]) => check(net, link.role, ['iptables', ...a]);
  await ipt(['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
  await ipt(['-A', 'INPUT', '-p', 'tcp', '--dport', String(SERVICE_PORT), '-j', 'DROP']);
  const daemon = net.spawn(link.role, [
    '/usr/sbin/fwknopd', '-f', '-c', conf, '-a', access, '-d', join(dir, 'digest.cache'), '-p', join(dir, 'fwknopd.pid'), '-r', join(dir, 'run'),
  ]);
  // fwknopd adds its jump rule, then opens pcap: ready shortly after the rule is there.
  await waitFor('fwknopd to set up its chain', async () => (await net.exec(link.role, ['iptables', '-S', 'INPUT'])).stdout.includes('FWKNOP_INPUT'));
  await sleep(300);
  if (!daemon.running) throw new Error(`fwknopd exited at start:\n${daemon.stderr()}`);
  return {
    key: 'fwknop',
    label: `fwknop ${packageVersion('fwknop-server') ?? ''}`.trim(),
    ...link,
    daemon,
    env: ctx.env,
    clientArgv: () => ['/usr/bin/fwknop', '-n', 'bench', '--rc-file', rc],
    reset: async () => {
      await ipt(['-F', 'FWKNOP_INPUT']);
    },
    junk: { ports: [62_201], payload: 'base64', payloadBytes: 200, what: 'udp/62201, random base64 text of an SPA packet\'s size (200 bytes), a new one per packet' },
    settings: [
      `fwknopd -f -c fwknopd.conf -a access.conf (foreground, libpcap on the server's interface, filter "udp port 62201"; fwknopd.conf: only PCAP_INTF and FIREWALL_EXE=/usr/sbin/iptables (iptables-nft), all else default, e.g. PCAP_LOOP_SLEEP 100000 µs)`,
      `access.conf: SOURCE ANY, REQUIRE_SOURCE_ADDRESS Y, KEY_BASE64 + HMAC_KEY_BASE64 from fwknop --key-gen, OPEN_PORTS tcp/${SERVICE_PORT}, FW_ACCESS_TIMEOUT 30`,
      `firewall: INPUT: (fwknopd's jump to FWKNOP_INPUT) → ESTABLISHED,RELATED accept → tcp/${SERVICE_PORT} drop`,
      `client: fwknop -n bench --rc-file RC (stanza: SPA_SERVER, ACCESS tcp/${SERVICE_PORT}, ALLOW_IP, the keys, USE_HMAC Y), then a new connect() every ${CONNECT_INTERVAL_MS} ms`,
      'between knocks: iptables -F FWKNOP_INPUT (outside the timing)',
    ],
  };
}

interface Addrs {
  role: string;
  server: string;
  client: string;
  eve: string;
  serverIf: string;
}

async function makeLink(net: BenchNet, role: string, prefix: string): Promise<Addrs> {
  await net.addNamespace(role);
  const l = await net.link('cli', `${prefix}.2/24`, role, `${prefix}.1/24`);
  // eve, the flooder, is a second address on the client's side of the link.
  await check(net, 'cli', ['ip', 'addr', 'add', `${prefix}.66/24`, 'dev', l.aIf]);
  return { role, server: `${prefix}.1`, client: `${prefix}.2`, eve: `${prefix}.66`, serverIf: l.bIf };
}

// ---------- one knock ----------

interface KnockRun {
  startNs: number;
  endNs: number;
  exit: number | null;
  clientMs: number;
  connectMs: number | null;
  attempts: number;
  maxRssKiB: number | null;
  wireMs?: number | null;
  firstSynMs?: number | null;
  /** The client's UDP datagrams seen on the server's interface during the run. */
  datagrams?: number;
}

let knockSeq = 0;
/** Knocks from one address to one server are paced like a person's (otpknock's kernel also
 * budgets knock progress per source: a knock every ~0.3 s from one address is throttled). */
const KNOCK_GAP_MS = 600;
const lastKnockAt = new Map<PeerKey, number>();

async function knockOnce(ctx: Ctx, peer: Peer, n: number, opts: { rss?: boolean; timeoutS?: number; connect?: boolean } = {}): Promise<KnockRun> {
  let argv = peer.clientArgv(n);
  if (argv.length > 0) {
    const wait = (lastKnockAt.get(peer.key) ?? 0) + KNOCK_GAP_MS - performance.now();
    if (wait > 0) await sleep(wait);
  }
  const rssFile = join(ctx.dir, `rss-${knockSeq++}`);
  if (opts.rss) argv = [GNU_TIME, '-f', '%M', '-o', rssFile, ...argv];
  const job = {
    argv,
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...peer.env },
    log: clientLogPath(ctx, peer),
    host: peer.server,
    port: SERVICE_PORT,
    intervalMs: CONNECT_INTERVAL_MS,
    timeoutS: opts.timeoutS ?? CONNECT_TIMEOUT_S,
    connect: opts.connect ?? true,
  };
  const r = await ctx.net.exec('cli', [PYTHON, join(LIB, 'timed-client.py')], { input: JSON.stringify(job), timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`timed-client failed for ${peer.key} (exit ${r.code}): ${r.stderr.trim()}`);
  const out = JSON.parse(r.stdout.trim()) as KnockRun;
  if (argv.length > 0) lastKnockAt.set(peer.key, performance.now());
  if (opts.rss) {
    // GNU time's %M is the client's own peak (it forks the client from a small process).
    const lines = existsSync(rssFile) ? readFileSync(rssFile, 'utf8').trim().split('\n') : [];
    out.maxRssKiB = Number(lines[lines.length - 1]) || null;
  } else out.maxRssKiB = null;
  return out;
}

const clientLogPath = (ctx: Ctx, peer: Peer) => join(ctx.dir, `${peer.key}-client.log`);
const clientLog = (ctx: Ctx, peer: Peer) => (existsSync(clientLogPath(ctx, peer)) ? readFileSync(clientLogPath(ctx, peer), 'utf8').slice(-2000) : '(no output)');

const opened = (peer: Peer, r: KnockRun) => r.connectMs !== null && (peer.key !== 'otpknock' || r.exit === 0);

// ---------- 1, 2, 5: latency runs with a capture ----------

interface Packet {
  t: number;
  kind: 'udp' | 'syn' | 'synack';
  src: string;
  dst: string;
}

/** Last knock datagram → first SYN-ACK; and → the client's first SYN after it. */
function wireMs(packets: readonly Packet[], r: KnockRun): { wire: number; firstSyn: number } | null {
  const inRun = packets.filter((p) => p.t >= r.startNs && p.t <= r.endNs);
  const synack = inRun.filter((p) => p.kind === 'synack').map((p) => p.t);
  if (synack.length === 0) return null;
  const first = Math.min(...synack);
  const udp = inRun.filter((p) => p.kind === 'udp' && p.t < first).map((p) => p.t);
  if (udp.length === 0) return null;
  const last = Math.max(...udp);
  const syn = inRun.filter((p) => p.kind === 'syn' && p.t > last).map((p) => p.t);
  return { wire: (first - last) / 1e6, firstSyn: syn.length ? (Math.min(...syn) - last) / 1e6 : Number.NaN };
}

/** One capture per server interface, for the latency runs and the knocks under floods. */
async function startCaptures(ctx: Ctx, peers: Peer[]): Promise<Map<PeerKey, NsProcess>> {
  const captures = new Map<PeerKey, NsProcess>();
  for (const p of peers) {
    const cap = ctx.net.spawn(p.role, [PYTHON, join(LIB, 'wire-capture.py'), JSON.stringify({ ifname: p.serverIf, client: p.client, maxSeconds: 900 })]);
    await cap.waitForLine('"event":"ready"', { timeoutMs: 10_000 });
    captures.set(p.key, cap);
  }
  return captures;
}

async function stopCaptures(captures: Map<PeerKey, NsProcess>): Promise<Map<PeerKey, Packet[]>> {
  const out = new Map<PeerKey, Packet[]>();
  for (const [key, cap] of captures) {
    cap.child.stdin?.end();
    await Promise.race([cap.exited, sleep(2_000)]);
    if (cap.running) await cap.stop();
    const packets = cap
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{"t"'))
      .map((l) => JSON.parse(l) as Packet);
    out.set(key, packets);
  }
  return out;
}

/** Wire figures of each run from its server's capture; datagrams: the client's UDP seen there. */
function addWire(packets: readonly Packet[], runs: KnockRun[]): void {
  for (const r of runs) {
    const w = wireMs(packets, r);
    r.wireMs = w?.wire ?? null;
    r.firstSynMs = w?.firstSyn ?? null;
    r.datagrams = packets.filter((p) => p.kind === 'udp' && p.t >= r.startNs && p.t <= r.endNs).length;
  }
}

async function latencyPhase(ctx: Ctx, peers: Peer[], next: Map<PeerKey, number>): Promise<Map<PeerKey, { runs: KnockRun[]; rss: KnockRun[] }>> {
  const take = (p: Peer) => {
    const n = next.get(p.key)!;
    next.set(p.key, n + 1);
    return n;
  };
  for (const p of peers) {
    for (let i = 0; i < WARMUP_RUNS; i++) {
      await p.reset();
      const w = await knockOnce(ctx, p, take(p));
      if (!opened(p, w)) throw new Error(`${p.label}: the warm-up knock did not open the service (client exit ${w.exit}):\n${clientLog(ctx, p)}`);
    }
  }
  const res = new Map(peers.map((p) => [p.key, { runs: [] as KnockRun[], rss: [] as KnockRun[] }]));
  for (let round = 0; round < RUNS + RSS_RUNS; round++) {
    for (let k = 0; k < peers.length; k++) {
      const p = peers[(k + round) % peers.length]!; // rotate the order: drift spreads evenly
      await p.reset();
      const r = await knockOnce(ctx, p, take(p), { rss: round >= RUNS });
      (round >= RUNS ? res.get(p.key)!.rss : res.get(p.key)!.runs).push(r);
    }
    if (round % 5 === 4) log(`latency round ${round + 1}/${RUNS + RSS_RUNS}`);
  }
  return res;
}

// ---------- 3: daemon CPU per junk ----------

const PERIOD_S = 30;

/**
 * Waits until at least `seconds` (+ 1 s for the idle baseline) remain before otpknockd's
 * next rotation work: it computes a rotation PREPARE_LEAD_MS before the boundary.
 */
async function awayFromBoundary(seconds: number): Promise<void> {
  const into = (Date.now() / 1000) % PERIOD_S;
  const workStarts = PERIOD_S - PREPARE_LEAD_MS / 1000 - 0.5;
  if (into < 1.5 || into > workStarts - seconds - 1) await sleep(((PERIOD_S - into + 1.5) % PERIOD_S) * 1000);
}

interface Flood {
  sent: number;
  errors: number;
  seconds: number;
}

function floodJob(peer: Peer, count: number, rate: number, maxSeconds: number) {
  return {
    host: peer.server,
    ports: peer.junk.ports,
    count,
    maxSeconds,
    rate,
    bind: peer.eve,
    payload: peer.junk.payload,
    payloadBytes: peer.junk.payloadBytes,
  };
}

async function cpuPhase(ctx: Ctx, peers: Peer[]): Promise<Map<PeerKey, { cpuMsPer100k: number; sent: number; seconds: number; idleCpuMs: number }[]>> {
  const res = new Map(peers.map((p) => [p.key, [] as { cpuMsPer100k: number; sent: number; seconds: number; idleCpuMs: number }[]]));
  for (let round = 0; round < CPU_ROUNDS; round++) {
    for (let k = 0; k < peers.length; k++) {
      const p = peers[(k + round) % peers.length]!;
      // otpknockd rotates at every 30 s boundary: its rotation cost is measured apart (server
      // bench), so no burst (of any daemon) may contain a boundary.
      await awayFromBoundary(CPU_JUNK / CPU_RATE + 1.5);
      // Idle baseline over 1 s (timers), for the JSON.
      const i0 = processCpuMs(p.daemon.pid);
      await sleep(1_000);
      const idleCpuMs = processCpuMs(p.daemon.pid) - i0;
      const c0 = processCpuMs(p.daemon.pid);
      const job = floodJob(p, CPU_JUNK, CPU_RATE, CPU_JUNK / CPU_RATE + 4);
      const r = await ctx.net.exec('cli', [PYTHON, join(LIB, 'udp-flood.py')], { input: JSON.stringify(job), timeoutMs: 30_000 });
      if (r.code !== 0) throw new Error(`udp-flood failed: ${r.stderr.trim()}`);
      await sleep(300); // a pcap daemon may still be working through its buffer
      const c1 = processCpuMs(p.daemon.pid);
      const f = JSON.parse(r.stdout.trim()) as Flood;
      res.get(p.key)!.push({ cpuMsPer100k: ((c1 - c0) * 100_000) / f.sent, sent: f.sent, seconds: f.seconds, idleCpuMs });
    }
  }
  return res;
}

// ---------- 4: legitimate knocks during a flood ----------

interface FloodRow {
  rate: number;
  knocks: KnockRun[];
  ok: number;
  flood: Flood | null;
  daemonCpuPercent: number;
}

async function floodPhase(ctx: Ctx, peers: Peer[], next: Map<PeerKey, number>): Promise<Map<PeerKey, FloodRow[]>> {
  const res = new Map(peers.map((p) => [p.key, [] as FloodRow[]]));
  for (const rate of FLOOD_RATES) {
    for (const p of peers) {
      // Bounded by count and time, long enough for FLOOD_KNOCKS failed knocks; stopped
      // (SIGTERM, it still reports) as soon as the knocks are done.
      const flooder = ctx.net.spawn('cli', [PYTHON, join(LIB, 'udp-flood.py')]);
      flooder.write(JSON.stringify(floodJob(p, rate * FLOOD_MAX_SECONDS, rate, FLOOD_MAX_SECONDS)));
      flooder.child.stdin?.end();
      const c0 = processCpuMs(p.daemon.pid);
      const t0 = performance.now();
      await sleep(500);
      const knocks: KnockRun[] = [];
      for (let k = 0; k < FLOOD_KNOCKS && flooder.running; k++) {
        const n = next.get(p.key)!;
        next.set(p.key, n + 1);
        await p.reset();
        knocks.push(await knockOnce(ctx, p, n));
      }
      const stillFlooding = flooder.running;
      await flooder.stop('SIGTERM', 5_000);
      const cpu = processCpuMs(p.daemon.pid) - c0;
      const wall = performance.now() - t0;
      const out = flooder.stdout().trim();
      const flood = out.startsWith('{') ? (JSON.parse(out) as Flood) : null;
      const ok = knocks.filter((r) => opened(p, r)).length;
      if (!stillFlooding && knocks.length > 0) log(`${p.label} @ ${rate}/s: the flood ended before the last knock`);
      res.get(p.key)!.push({ rate, knocks, ok, flood, daemonCpuPercent: (cpu / wall) * 100 });
      log(`${p.label} under ${int(rate)} packets/s: ${ok}/${knocks.length} knocks opened`);
    }
  }
  return res;
}

// ---------- 6: bench/server.ts ----------

interface ServerFigures {
  source: string;
  date: string | null;
  rotationMs: Map<number, number[]>;
  /** Δ system µs per junk packet against no table, by users (median of bursts). */
  perPacketUs: Map<number, number>;
  error?: string;
}

/**
 * Runs bench/server.ts unchanged, from a copy in a temp directory whose `packages` and
 * `bench/lib` link back to this checkout, so it writes its results there instead of over
 * the committed bench/results/server.* (another bench's files). Falls back to the checkout's
 * bench/results/server.json when it fails, or at once with --reuse-server-results.
 */
function runServerBench(reuse: boolean): ServerFigures {
  const committed = join(RESULTS_DIR, 'server.json');
  let jsonPath = committed;
  let source = 'bench/results/server.json as it is in this checkout';
  let error: string | undefined;
  let tmp: string | undefined;
  if (!reuse) {
    tmp = mkdtempSync(join(tmpdir(), 'okb-server-'));
    try {
      mkdirSync(join(tmp, 'bench'));
      copyFileSync(join(REPO, 'bench/server.ts'), join(tmp, 'bench/server.ts'));
      symlinkSync(join(REPO, 'bench/lib'), join(tmp, 'bench/lib'));
      symlinkSync(join(REPO, 'packages'), join(tmp, 'packages'));
      symlinkSync(join(REPO, 'node_modules'), join(tmp, 'node_modules'));
      // ESM like the repository (without it tsx would load the copy as CommonJS).
      writeFileSync(join(tmp, 'package.json'), '{ "private": true, "type": "module" }\n');
      log('running bench/server.ts (about 2 minutes)');
      const r = spawnSync(NODE, ['--conditions=source', '--import', 'tsx', join(tmp, 'bench/server.ts')], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 330_000, // keeps the whole bench under 10 minutes; on timeout: the fallback
        killSignal: 'SIGKILL',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      if (r.status === 0 && existsSync(join(tmp, 'bench/results/server.json'))) {
        jsonPath = join(tmp, 'bench/results/server.json');
        source = 'bench/server.ts, run by this bench';
      } else error = `bench/server.ts failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}); its figures are the checkout's bench/results/server.json`;
    } catch (e) {
      error = `could not run bench/server.ts: ${(e as Error).message}`;
    }
  }
  const out: ServerFigures = { source, date: null, rotationMs: new Map(), perPacketUs: new Map(), error };
  try {
    const j = JSON.parse(readFileSync(jsonPath, 'utf8')) as {
      machine?: Machine;
      users?: { users: number; rotations?: { nftMs: number }[] }[];
      packets?: { key: string; sysUsPerPacket?: number }[];
    };
    out.date = j.machine?.date ?? null;
    for (const u of j.users ?? []) out.rotationMs.set(u.users, (u.rotations ?? []).map((r) => r.nftMs));
    const none = j.packets?.find((p) => p.key === 'none')?.sysUsPerPacket;
    for (const p of j.packets ?? []) {
      const m = /^users(\d+)$/.exec(p.key);
      if (m && none !== undefined && p.sysUsPerPacket !== undefined) out.perPacketUs.set(Number(m[1]), p.sysUsPerPacket - none);
    }
  } catch (e) {
    out.error = `${out.error ? `${out.error}; ` : ''}no server figures: ${(e as Error).message}`;
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  return out;
}

// ---------- report ----------

interface Results {
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
    const failed = r.floods.get(p.key)!.flatMap((f) => f.knocks.filter((k) => !opened(p, k)).map((k) => ({ rate: f.rate, datagrams: k.datagrams ?? 0 })));
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
  const okMedian = (xs: (number | null)[]) => median(xs.filter((x): x is number => x !== null));
  const otpWire = wire(otp).filter((x): x is number => x !== null);
  const otpCpu = r.cpu.get('otpknock')!.map((c) => c.cpuMsPer100k);
  const otpFloods = r.floods.get('otpknock')!;
  const targets = {
    wire: { met: otpWire.length === RUNS && median(otpWire) < WIRE_TARGET_MS, median: median(otpWire), max: Math.max(...otpWire) },
    cpu: { met: otpCpu.every((c) => c === 0), values: otpCpu },
    floods: { met: otpFloods.every((f) => f.knocks.length === FLOOD_KNOCKS && f.ok === FLOOD_KNOCKS), values: otpFloods.map((f) => `${f.ok}/${f.knocks.length}`) },
    e2e: { met: okMedian(e2e(otp)) <= okMedian(e2e(knd)), otpknock: okMedian(e2e(otp)), knockd: okMedian(e2e(knd)), nodeStart: median(r.nodeStartMs) },
  };
  const peerCols = r.peers.map((p) => p.label);
  const row = (label: string, f: (p: Peer) => string) => [label, ...r.peers.map(f)];
  const srvRot = (n: number) => r.server.rotationMs.get(n) ?? [];
  const rotCell = [1, 1_000, 10_000].map((n) => (srvRot(n).length ? `${ms(median(srvRot(n)))} (${ms(Math.min(...srvRot(n)))}–${ms(Math.max(...srvRot(n)))})` : '—')).join(' / ');
  // server.ts measures the per-packet cost at 1 and 10,000 users (the two ends), not at 1,000.
  const ppCell = [1, 10_000].map((n) => {
    const v = r.server.perPacketUs.get(n);
    return v === undefined ? '—' : `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
  }).join(' / ');
  const table = markdownTable(
    ['', ...peerCols],
    [
      row(`end-to-end: client start → first accepted connect, ms`, (p) => spread(e2e(p), ms)),
      row(`wire: last knock/SPA datagram → SYN-ACK, ms`, (p) => spread(wire(p), (x) => x.toFixed(3))),
      row(`… the client's share: last datagram → its first SYN, ms`, (p) => spread(r.latency.get(p.key)!.runs.map((x) => x.firstSynMs ?? null), (x) => x.toFixed(3))),
      row(`… the server's share: the client's first SYN → SYN-ACK, ms`, (p) =>
        spread(r.latency.get(p.key)!.runs.map((x) => (x.wireMs != null && x.firstSynMs != null ? x.wireMs - x.firstSynMs : null)), (x) => x.toFixed(3)),
      ),
      row(`daemon CPU per ${int(CPU_JUNK)} junk datagrams at ${int(CPU_RATE)}/s, ms`, (p) => spread(r.cpu.get(p.key)!.map((c) => c.cpuMsPer100k), (x) => x.toFixed(0))),
      ...FLOOD_RATES.map((rate) =>
        row(`knocks that opened during a ${int(rate)} packets/s junk flood`, (p) => {
          const f = r.floods.get(p.key)!.find((x) => x.rate === rate)!;
          return `${f.ok}/${f.knocks.length} (daemon CPU ${f.daemonCpuPercent.toFixed(0)} %)`;
        }),
      ),
      row('daemon idle RSS, MiB', (p) => spread(r.idleRssKiB.get(p.key)!, mib)),
      row(`client peak RSS, MiB (${RSS_RUNS} runs)`, (p) => spread(r.latency.get(p.key)!.rss.map((x) => x.maxRssKiB), mib)),
      row('rotation at 1 / 1,000 / 10,000 users: nft at the boundary (computed 3 s ahead), ms', (p) => (p.key === 'otpknock' ? rotCell : 'n/a')),
      row('kernel cost per junk packet at 1 / 10,000 users, µs (Δ system vs no table)', (p) => (p.key === 'otpknock' ? ppCell : 'n/a')),
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

// ---------- main ----------

async function main(): Promise<void> {
  const started = performance.now();
  if (process.getuid?.() !== 0) throw new Error('bench/peers.ts needs root (apt-get, network namespaces, nft, iptables)');
  const installed = installPeers();
  if (!ARGS.flags.has('--no-build')) {
    log('building otpknock (scripts/build.mjs, as pnpm build)');
    const b = spawnSync(NODE, ['scripts/build.mjs'], { cwd: REPO, stdio: ['ignore', 2, 2], timeout: 180_000 });
    if (b.status !== 0) throw new Error('the build failed');
  }
  for (const f of [OTPKNOCKD, KNOCK]) if (!existsSync(f)) throw new Error(`${f} is missing: run pnpm build`);
  const machine = machineInfo();
  const loadBefore = loadavg();
  const users = WARMUP_RUNS + RUNS + RSS_RUNS + FLOOD_RATES.length * FLOOD_KNOCKS + 4;

  const net = createBenchNet();
  const dir = mkdtempSync(join(tmpdir(), 'okb-peers-'));
  const home = join(dir, 'home');
  mkdirSync(home, { mode: 0o700 });
  // Clients keep state in $HOME / XDG dirs (knock: used windows; fwknop: ~/.fwknop.run): all in the temp dir.
  const env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_STATE_HOME: join(home, '.local/state') };
  const ctx: Ctx = { net, dir, env };
  const cleanup = () => {
    net.destroy();
    if (ARGS.flags.has('--keep-temp')) log(`kept ${dir} (configs, daemon and client logs)`);
    else rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  // Ctrl-C, SIGTERM, SIGHUP: the harness's handlers (installed with the first namespace)
  // kill our processes and delete the namespaces; this one also removes the temp dir (keys,
  // secrets) and ends the run.
  const onSignal = (sig: NodeJS.Signals) => {
    cleanup();
    log(`${sig}: cleaned up, stopping`);
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const sig of signals) process.on(sig, onSignal);
  let results: Omit<Results, 'server' | 'wallS' | 'loadAfter'>;
  try {
    await net.addNamespace('cli');
    const links = {
      otpknock: await makeLink(net, 'otp', '192.0.2'),
      knockd: await makeLink(net, 'knd', '198.51.100'),
      fwknop: await makeLink(net, 'fwk', '203.0.113'),
    };
    for (const l of Object.values(links)) await startService(ctx, l.role);
    log('starting otpknockd, knockd and fwknopd');
    const peers = [await setupOtpknock(ctx, links.otpknock, users), await setupKnockd(ctx, links.knockd), await setupFwknop(ctx, links.fwknop)];
    // Closed before any knock: the protection is really there.
    for (const p of peers) {
      const probe = await knockOnce(ctx, { ...p, clientArgv: () => [] }, 0, { timeoutS: 0.5 });
      if (probe.connectMs !== null) throw new Error(`${p.label}: tcp/${SERVICE_PORT} is open without a knock`);
    }
    // Node's own start-up, the floor under otpknock's end-to-end time: `node -e 0`, start → exit.
    const nodeStartMs: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await knockOnce(ctx, { ...peers[0]!, clientArgv: () => [NODE, '-e', '0'] }, 0, { connect: false });
      if (i > 0) nodeStartMs.push(r.clientMs);
    }
    const next = new Map<PeerKey, number>(peers.map((p) => [p.key, 0]));
    const captures = await startCaptures(ctx, peers);
    log(`latency: ${RUNS} + ${RSS_RUNS} knocks per program`);
    const latency = await latencyPhase(ctx, peers, next);
    await sleep(1_000);
    const idleRssKiB = new Map<PeerKey, number[]>(peers.map((p) => [p.key, []]));
    for (let i = 0; i < 3; i++) {
      for (const p of peers) idleRssKiB.get(p.key)!.push(processRssKiB(p.daemon.pid));
      await sleep(500);
    }
    log(`daemon CPU: ${CPU_ROUNDS} × ${int(CPU_JUNK)} junk datagrams per daemon`);
    const cpu = await cpuPhase(ctx, peers);
    log(`floods: ${FLOOD_RATES.map(int).join(' and ')} packets/s, ${FLOOD_KNOCKS} knocks each`);
    const floods = await floodPhase(ctx, peers, next);
    const packets = await stopCaptures(captures);
    for (const p of peers) {
      addWire(packets.get(p.key)!, latency.get(p.key)!.runs);
      for (const f of floods.get(p.key)!) addWire(packets.get(p.key)!, f.knocks);
    }
    for (const p of peers) if (!p.daemon.running) throw new Error(`${p.label}'s daemon died during the run:\n${p.daemon.stderr().slice(-2000)}`);
    results = { machine, loadBefore, peers, latency, idleRssKiB, cpu, floods, installed, nodeStartMs };
  } finally {
    cleanup();
    process.removeListener('exit', cleanup);
    for (const sig of signals) process.removeListener(sig, onSignal);
  }
  const server = runServerBench(ARGS.flags.has('--reuse-server-results'));
  const full: Results = { ...results, server, loadAfter: loadavg(), wallS: (performance.now() - started) / 1000 };
  const { md, targets } = report(full);
  const settings = full.peers.map((p) => `- **${p.label}**: ${p.settings.join('; ')}; junk: ${p.junk.what}`).join('\n');
  const text = `${md}\nSettings:\n${settings}\n`;
  process.stdout.write(text);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'peers.md'), text);
  const json = {
    machine,
    loadBefore: full.loadBefore,
    loadAfter: full.loadAfter,
    wallSeconds: full.wallS,
    installed,
    nodeStartMs: full.nodeStartMs,
    params: { runs: RUNS, knockGapMs: KNOCK_GAP_MS, rssRuns: RSS_RUNS, warmupRuns: WARMUP_RUNS, cpuJunk: CPU_JUNK, cpuRate: CPU_RATE, cpuRounds: CPU_ROUNDS, floodRates: FLOOD_RATES, floodMaxSeconds: FLOOD_MAX_SECONDS, floodKnocks: FLOOD_KNOCKS, connectIntervalMs: CONNECT_INTERVAL_MS },
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
    server: { source: server.source, date: server.date, rotationMs: Object.fromEntries(server.rotationMs), perPacketUs: Object.fromEntries(server.perPacketUs), error: server.error },
  };
  writeFileSync(join(RESULTS_DIR, 'peers.json'), `${JSON.stringify(json, null, 2)}\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
