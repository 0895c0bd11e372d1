// Running the real otpknockd (the built bundle, as users run it) in the
// harness's server namespace, with a config and 0600 secret files of its own.
import { mkdtempSync, writeFileSync, chmodSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deriveSequences,
  encodeSecret,
  normalizeProfile,
  windowAt,
  type KnockProfileInput,
  type KnockSequences,
} from '@otpknock/shared';
import { afterAll, afterEach, beforeAll } from 'vitest';
import {
  NODE,
  REPO_ROOT,
  sendUdp,
  startService,
  tcpProbe,
  useTopology,
  type NsProcess,
  type NsRef,
  type ProbeResult,
  type Topology,
  type TopologyOptions,
} from '@otpknock/e2e-harness';

export const OTPKNOCKD = join(REPO_ROOT, 'packages/server/dist/otpknockd.js');
/** The built client, `knock`, that the e2e tests run next to the daemon. */
export const KNOCK = join(REPO_ROOT, 'packages/client/dist/knock.js');

/** Throws, saying what to run, while a bundle the e2e tests run (otpknockd, knock) is not built. */
export function assertBuilt(): void {
  for (const bundle of [OTPKNOCKD, KNOCK])
    if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run "pnpm build" first (pnpm test does)`);
}

export interface TestUser {
  name: string;
  secret: Uint8Array;
  services?: string[];
  knock?: Record<string, unknown>;
}

/** A deterministic 160-bit secret per name, so failures can be reproduced. */
export function testSecret(name: string): Uint8Array {
  const s = new Uint8Array(20);
  for (let i = 0; i < 20; i++) s[i] = (name.charCodeAt(i % name.length) * 31 + i * 17) & 0xff;
  return s;
}

/** A user whose secret is testSecret(seed): the same seed, the same secret. */
export function testUser(name: string, seed = name, over: Pick<TestUser, 'services' | 'knock'> = {}): TestUser {
  return { name, secret: testSecret(seed), ...over };
}

/** Runs `otpknockd ...args` (the workspace's bundle) in the server namespace and waits for it to exit. */
export function otpknockd(t: Topology, args: string[], timeoutMs = 20_000) {
  assertBuilt();
  return t.exec('server', [NODE, OTPKNOCKD, ...args], { timeoutMs });
}

/** The declaration lines (chains, sets, maps) of a `nft list table` text: what stays when only elements change. */
export function tableShape(listing: string | null): string {
  return (listing ?? '')
    .split('\n')
    .filter((l) => /^\s*(chain|set|map) /.test(l))
    .join('\n');
}

/** A config's text, given the path of each user's secret file (which it writes, 0600, when asked for). */
export type ConfigText = (secretFile: (user: TestUser) => string) => string;

export interface ConfigDir {
  dir: string;
  file: string;
  /** Rewrites the config file (0600); a ConfigText gets its users' secret files in `dir`. */
  write(text: string | ConfigText): void;
  cleanup(): void;
}

/** A temp dir with otpknockd.yaml and one 0600 secret file per user. */
export function writeConfig(yaml: ConfigText): ConfigDir {
  const dir = mkdtempSync(join(tmpdir(), 'otpknock-e2e-'));
  const secretFile = (u: TestUser) => {
    const path = join(dir, `${u.name}.secret`);
    writeFileSync(path, `${encodeSecret(u.secret)}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
    return path;
  };
  const file = join(dir, 'otpknockd.yaml');
  // Each config gets a state dir of its own unless it names one: the default
  // (/var/lib/otpknock) would be shared by every test daemon on the machine, and
  // with it the consumed sequences of the same test users.
  const withStateDir = (text: string) =>
    /^state_dir:/m.test(text) ? text : `${text.replace(/\n*$/, '\n')}state_dir: ${join(dir, 'state')}\n`;
  const write = (text: string | ConfigText) =>
    writeFileSync(file, withStateDir(typeof text === 'string' ? text : text(secretFile)), { mode: 0o600 });
  write(yaml);
  return { dir, file, write, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The YAML of users with their secret files. */
export function usersYaml(users: TestUser[], secretFile: (u: TestUser) => string): string {
  return users
    .map((u) => {
      const lines = [`  ${u.name}:`, `    secret_file: ${secretFile(u)}`];
      if (u.services) lines.push(`    services: [${u.services.join(', ')}]`);
      if (u.knock) lines.push(`    knock: ${JSON.stringify(u.knock)}`);
      return lines.join('\n');
    })
    .join('\n');
}

/** How otpknockd is run: by default the workspace's bundle under this Node, with this environment. */
export interface DaemonCommand {
  /** Another otpknockd (an installed one, test/npm-package.e2e.test.ts) or the bundle under a preload. */
  command?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/** Starts `otpknockd run` in the server namespace and waits for its start line. */
export async function startDaemon(
  t: Topology,
  configFile: string,
  extra: string[] = [],
  opts: DaemonCommand = {},
): Promise<NsProcess> {
  if (opts.command === undefined) assertBuilt();
  const command = opts.command ?? [NODE, OTPKNOCKD];
  const proc = t.spawn(
    'server',
    [...command, 'run', '--config', configFile, '--log-format', 'json', ...extra],
    opts.env === undefined ? {} : { env: opts.env },
  );
  await proc.waitForLine(/"event":"start"|otpknockd: /, { timeoutMs: 15_000 });
  if (!proc.running) throw new Error(`otpknockd exited at start:\n${proc.stderr()}`);
  if (!/"event":"start"/.test(proc.stderr())) throw new Error(`otpknockd failed to start:\n${proc.stderr()}`);
  return proc;
}

/** The sequences a client with this secret and profile knocks for the window at `offset` from now. */
export function sequencesFor(
  secret: Uint8Array,
  profile: KnockProfileInput,
  offset = 0,
  nowMs = Date.now(),
): KnockSequences {
  const p = normalizeProfile(profile);
  return deriveSequences(p, secret, windowAt(nowMs, p.period) + offset);
}

/**
 * Knocks `ports` from `from` at `to` (5 ms apart, as `knock` does), then probes TCP `port`
 * there (waiting up to `timeoutMs`): what the knocking client sees.
 */
export async function knockThenProbe(
  t: Topology,
  from: NsRef,
  to: string,
  ports: readonly number[],
  port = 22,
  timeoutMs?: number,
): Promise<ProbeResult> {
  await sendUdp(t, from, to, ports, { delayMs: 5 });
  return tcpProbe(t, from, to, port, timeoutMs);
}

/** What useDaemon sets up: read its fields inside tests (they exist from beforeAll on). */
export interface DaemonFixture {
  readonly t: Topology;
  readonly cfg: ConfigDir;
  /** The running daemon; a test that starts another one assigns it here, so afterAll stops that. */
  daemon: NsProcess;
  /** Starts otpknockd again on the fixture's config (after a test stopped it); the new process becomes `daemon`. */
  start(): Promise<NsProcess>;
  /** Writes `config` when given, sends SIGHUP and returns the daemon's reload line (loaded or refused). */
  reload(config?: string | ConfigText): Promise<string>;
}

export interface DaemonFixtureOptions {
  /** The TCP services (ports) started in the server namespace. */
  services: number | readonly number[];
  config: ConfigText;
  /** Runs once the config is written (fixture.t and .cfg are set), before the daemon starts. */
  prepare?: () => void | Promise<void>;
  /** How the daemon is run (read at every start); the workspace's bundle by default. */
  command?: () => DaemonCommand;
  /** More hosts on the segment (TopologyOptions.extraHosts), a backend. */
  topology?: TopologyOptions;
}

/**
 * The set-up most suites share, as one fixture (call it inside describeE2E): a
 * topology, TCP services on `services` in the server namespace, a config written
 * by `config`, and otpknockd running on it. Afterwards the daemon is stopped
 * (SIGTERM), the config removed and the topology destroyed.
 */
export function useDaemon(opts: DaemonFixtureOptions): DaemonFixture {
  const topo = useTopology(opts.topology);
  let t: Topology | undefined;
  let cfg: ConfigDir | undefined;
  let daemon: NsProcess | undefined;
  const set = <T>(value: T | undefined, name: string): T => {
    if (value === undefined) throw new Error(`useDaemon: ${name} is read before beforeAll set it`);
    return value;
  };
  const fixture: DaemonFixture = {
    get t() {
      return set(t, 't');
    },
    get cfg() {
      return set(cfg, 'cfg');
    },
    get daemon() {
      return set(daemon, 'daemon');
    },
    set daemon(d: NsProcess) {
      daemon = d;
    },
    async start() {
      if (daemon?.running) throw new Error(`useDaemon: start() while pid ${daemon.pid} still runs; stop it first`);
      daemon = await startDaemon(fixture.t, fixture.cfg.file, [], opts.command?.());
      return daemon;
    },
    async reload(config) {
      const d = fixture.daemon;
      if (config !== undefined) fixture.cfg.write(config);
      const mark = d.mark();
      d.signal('SIGHUP');
      return d.waitForLine(/"event":"reload"/, { after: mark, timeoutMs: 10_000 });
    },
  };
  beforeAll(async () => {
    if (opts.command === undefined) assertBuilt();
    t = topo();
    await startService(t, 'server', typeof opts.services === 'number' ? opts.services : [...opts.services]);
    cfg = writeConfig(opts.config);
    await opts.prepare?.();
    await fixture.start();
  });
  afterEach(({ task }) => {
    // What the daemon said last, next to the failure: most e2e failures are about timing.
    if (task.result?.state === 'fail' && daemon !== undefined)
      console.log(`otpknockd's last log lines:\n${daemon.stderr().trim().split('\n').slice(-30).join('\n')}`);
  });
  afterAll(async () => {
    await daemon?.stop('SIGTERM');
    cfg?.cleanup();
  });
  return fixture;
}
