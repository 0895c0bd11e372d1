// The imperative half of `otpknockd doctor`: gathers facts from this host (nft,
// /proc, the clock tools, file metadata) and hands them to the pure checks.
// It only reads: it never changes the firewall or any file.
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { endianness } from 'node:os';
import { execa } from 'execa';
import { loadConfig, secretFilePaths, type ServerConfig } from '../config/index.js';
import { fullRuleset } from '../ruleset/full-load.js';
import { NftDriver, execaNftRunner, explainNftFailure, type NftRunner } from '../nft/driver.js';
import { isOurTable } from '../nft/inspect.js';
import { knockPortIntervals } from '../nft/knock-ports.js';
import { clockFinding, type ClockEvidence } from './clock.js';
import { finding, type Finding } from './finding.js';
import {
  ephemeralFinding,
  fleetLockoutFinding,
  lockoutFinding,
  permissionFindings,
  serviceFindings,
  socketFindings,
  type FileFacts,
} from './local.js';
import { parseProcNet, type Socket } from './proc-net.js';
import { firewallFindings, guardedServices, parseRuleset } from './ruleset.js';
import { dnatRules, gatewayFindings, type RouteFact } from './forward.js';

export interface DoctorOptions {
  configFile: string;
  runner?: NftRunner;
  /** Runs a helper program (timedatectl, chronyc) with a time limit; injectable for tests. */
  runTool?: (cmd: string, args: string[]) => Promise<string>;
  now?: () => number;
}

const defaultRunTool = async (cmd: string, args: string[]): Promise<string> => {
  const r = await execa(cmd, args, { timeout: 3_000, reject: true, stdin: 'ignore' });
  return r.stdout;
};

function toolError(err: unknown): string {
  const e = err as { code?: string; timedOut?: boolean; stderr?: string; shortMessage?: string };
  if (e.code === 'ENOENT') return 'not installed';
  if (e.timedOut) return 'did not answer within 3 s';
  return (e.stderr || e.shortMessage || String(err)).split('\n')[0]!.trim();
}

async function fileFacts(path: string): Promise<FileFacts> {
  try {
    const st = await stat(path);
    return { path, mode: st.mode, uid: st.uid };
  } catch (e) {
    const code = (e as { code?: string }).code;
    return {
      path,
      error: code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'permission denied' : String(code ?? e),
    };
  }
}

async function readSockets(): Promise<Socket[]> {
  const little = endianness() === 'LE';
  const files = [
    ['/proc/net/tcp', 'tcp', 4],
    ['/proc/net/tcp6', 'tcp', 6],
    ['/proc/net/udp', 'udp', 4],
    ['/proc/net/udp6', 'udp', 6],
  ] as const;
  const out: Socket[] = [];
  for (const [path, proto, family] of files) {
    const text = await readFile(path, 'utf8').catch(() => '');
    out.push(...parseProcNet(text, proto, family, little));
  }
  return out;
}

async function clockEvidence(runTool: NonNullable<DoctorOptions['runTool']>): Promise<ClockEvidence> {
  const e: ClockEvidence = {};
  e.timesyncdFlag = await stat('/run/systemd/timesync/synchronized').then(
    () => true,
    () => false,
  );
  try {
    e.timedatectl = { value: await runTool('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']) };
  } catch (err) {
    e.timedatectl = { error: toolError(err) };
  }
  try {
    e.chronyc = { output: await runTool('chronyc', ['-n', 'tracking']) };
  } catch (err) {
    e.chronyc = { error: toolError(err) };
  }
  return e;
}

/** Runs every check; never throws for what it finds, only reports it. */
export async function runDoctor(opts: DoctorOptions): Promise<Finding[]> {
  const runner = opts.runner ?? execaNftRunner;
  const driver = new NftDriver(runner);
  const configFile = resolve(opts.configFile);
  const findings: Finding[] = [];
  const config = await configChecks(configFile, findings);
  const nft = await nftChecks(runner, driver, findings);
  if (nft.ok && config !== undefined) await kernelAndTableChecks(driver, config, (opts.now ?? Date.now)(), findings);
  if (nft.ruleset !== undefined && nft.ruleset !== null && config !== undefined) {
    findings.push(
      ...firewallFindings(nft.ruleset, {
        ourTable: config.table,
        // Forwarded services never reach the input hook (gateway checks: forwardedFindings).
        services: config.services.filter((s) => s.forward === undefined),
        knockPorts: knockPortIntervals(config),
      }),
    );
  }
  if (nft.ruleset !== undefined && nft.ruleset !== null) {
    findings.push(...(await gatewayChecks(config, nft.ruleset, opts.runTool ?? defaultRunTool)));
  }
  findings.push(...(await legacyIptablesFindings()));
  findings.push(await clockCheck(config, opts.runTool ?? defaultRunTool));
  if (config !== undefined) {
    const guarded = nft.ruleset == null ? new Set<string>() : guardedServices(nft.ruleset, config.table);
    findings.push(...(await socketChecks(config, guarded)));
  }
  findings.push(...(await permissionChecks(configFile, config)));
  return findings;
}

/** The config, valid or not (then a problem), and the way back in when knocking cannot work. */
async function configChecks(configFile: string, findings: Finding[]): Promise<ServerConfig | undefined> {
  try {
    const config = await loadConfig(configFile);
    findings.push(
      finding(
        'config',
        'ok',
        `${configFile}: valid (${config.users.length} users, ${config.services.length} services)`,
      ),
    );
    findings.push(lockoutFinding(config.breakGlass));
    const fleet = fleetLockoutFinding(config.fleet, config.users, config.breakGlass);
    if (fleet !== undefined) findings.push(fleet);
    return config;
  } catch (err) {
    findings.push(
      finding(
        'config',
        'problem',
        (err as Error).message.trim(),
        `fix the file; check it with: otpknockd check --config ${configFile}`,
      ),
    );
    return undefined;
  }
}

/** nft and its version; the whole ruleset, for the firewall checks. */
async function nftChecks(
  runner: NftRunner,
  driver: NftDriver,
  findings: Finding[],
): Promise<{ ok: boolean; ruleset?: unknown }> {
  try {
    const version = (await runner.run(['--version'])).stdout.trim();
    const m = /v(\d+)\.(\d+)\.(\d+)/.exec(version);
    if (m && Number(m[1]) < 1 && Number(m[2]) < 9) {
      findings.push(
        finding(
          'nft',
          'warning',
          `${version}: older than 0.9, untested`,
          'use nftables 1.0 or later (Debian 12 ships 1.0.6)',
        ),
      );
    } else findings.push(finding('nft', 'ok', version));
  } catch (err) {
    const e = explainNftFailure(err);
    findings.push(finding('nft', 'problem', e.what, e.hint));
    return { ok: false };
  }
  try {
    return { ok: true, ruleset: await driver.listJson(['ruleset']) };
  } catch (err) {
    const e = explainNftFailure(err);
    findings.push(
      finding('firewall', 'problem', `cannot read the ruleset: ${(err as Error).message.split('\n')[0]}`, e.hint),
    );
    return { ok: true };
  }
}

/** Does the kernel take our ruleset (nft -c), and is our table loaded (by us)? */
async function kernelAndTableChecks(
  driver: NftDriver,
  config: ServerConfig,
  nowMs: number,
  findings: Finding[],
): Promise<void> {
  try {
    await driver.check(fullRuleset(config, nowMs).script);
    findings.push(
      finding('kernel', 'ok', 'nft -c accepts our ruleset (inet family, maps, dynamic sets with timeouts)'),
    );
  } catch (err) {
    const e = err as { what?: string; hint?: string; message: string };
    findings.push(
      finding(
        'kernel',
        'problem',
        `nft -c refuses our ruleset: ${e.what ?? e.message}`,
        e.hint ?? 'see otpknockd render | nft -c -f -',
      ),
    );
  }
  try {
    const listing = await driver.listText(['table', 'inet', config.table]);
    if (listing === null) {
      findings.push(
        finding(
          'daemon',
          'warning',
          `table inet ${config.table} is not loaded: otpknockd is not running here, so the protected services are open to whatever the other firewalls allow`,
          'systemctl start otpknockd (see docs/operations.md)',
        ),
      );
    } else if (!isOurTable(listing)) {
      findings.push(
        finding(
          'daemon',
          'problem',
          `table inet ${config.table} exists but was not made by otpknockd; the daemon will refuse to start`,
          `choose another table: name, or remove it: nft delete table inet ${config.table}`,
        ),
      );
    } else findings.push(finding('daemon', 'ok', `table inet ${config.table} is loaded (made by otpknockd)`));
  } catch {
    // nft failures were reported above
  }
}

/** Forwarded services and DNATed ports (docs/gateway.md): the switches, the DNAT rules, the routes. */
async function gatewayChecks(
  config: ServerConfig | undefined,
  ruleset: unknown,
  runTool: NonNullable<DoctorOptions['runTool']>,
): Promise<Finding[]> {
  const flag = (file: string) =>
    readFile(file, 'utf8').then(
      (t) => t.trim() === '1',
      () => undefined,
    );
  const services = config?.services ?? [];
  const routes = new Map<string, RouteFact>();
  for (const s of services) {
    if (s.forward?.kind !== 'routed') continue;
    const address = s.forward.destination.split('/')[0]!;
    routes.set(s.forward.destination, await routeTo(address, runTool));
  }
  let parsed;
  try {
    parsed = parseRuleset(ruleset);
  } catch {
    return [];
  }
  const v4 = await flag('/proc/sys/net/ipv4/ip_forward');
  const v6 = await flag('/proc/sys/net/ipv6/conf/all/forwarding');
  return gatewayFindings({
    services,
    dnat: dnatRules(parsed, config?.table ?? 'otpknock'),
    forwarding: { ...(v4 === undefined ? {} : { v4 }), ...(v6 === undefined ? {} : { v6 }) },
    routes,
  });
}

/** `ip -j route get ADDR`: the interface, local, or why not. */
async function routeTo(address: string, runTool: NonNullable<DoctorOptions['runTool']>): Promise<RouteFact> {
  try {
    const out = JSON.parse(await runTool('ip', ['-j', 'route', 'get', address])) as { type?: string; dev?: string }[];
    const r = out[0];
    if (r?.type === 'local') return { local: true };
    if (r?.type === 'unreachable' || r?.type === 'prohibit' || r?.type === 'blackhole') return { error: r.type };
    return { dev: r?.dev ?? '?' };
  } catch (err) {
    return { error: toolError(err) };
  }
}

/** Legacy (non-nft) iptables rules are invisible to `nft list ruleset`: say that they are there. */
async function legacyIptablesFindings(): Promise<Finding[]> {
  const legacy: string[] = [];
  for (const [file, cmd] of [
    ['/proc/net/ip_tables_names', 'iptables-legacy'],
    ['/proc/net/ip6_tables_names', 'ip6tables-legacy'],
  ] as const) {
    const names = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    if (names.length > 0) legacy.push(`${cmd}: ${names.join(', ')}`);
  }
  if (legacy.length === 0) return [];
  return [
    finding(
      'firewall',
      'warning',
      `legacy iptables tables are loaded (${legacy.join('; ')}); their rules are invisible to nft, so doctor cannot tell whether they drop the services or the knocks`,
      'check them with iptables-legacy -S INPUT and ip6tables-legacy -S INPUT, or move to iptables-nft',
    ),
  ];
}

/** Clock synchronisation, judged against the windows the config uses. */
async function clockCheck(
  config: ServerConfig | undefined,
  runTool: NonNullable<DoctorOptions['runTool']>,
): Promise<Finding> {
  const periods = config
    ? [...new Set(config.users.filter((u) => u.profile.method !== 'static').map((u) => u.profile.period))]
    : [];
  const tolerance =
    config && periods.length > 0
      ? `${Math.min(...periods)} s windows, ±${config.skew} accepted`
      : '30 s windows by default';
  return clockFinding(await clockEvidence(runTool), tolerance);
}

/** Sockets inside the knock range, the ephemeral port range, services nothing listens on. */
async function socketChecks(config: ServerConfig, guarded: ReadonlySet<string>): Promise<Finding[]> {
  const sockets = await readSockets();
  const knockPorts = knockPortIntervals(config);
  const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').then(
    (t) => t.trim().split(/\s+/).map(Number) as [number, number],
    () => undefined,
  );
  return [
    ...socketFindings(sockets, knockPorts),
    ephemeralFinding(range && range.length === 2 && range.every(Number.isInteger) ? range : undefined, knockPorts),
    ...serviceFindings(
      sockets,
      config.services.filter((s) => s.forward === undefined),
      guarded,
    ),
  ];
}

/** Permissions of the config, its directory, the secret files and the state dir. */
async function permissionChecks(configFile: string, config: ServerConfig | undefined): Promise<Finding[]> {
  const text = await readFile(configFile, 'utf8').catch(() => undefined);
  const secrets = text === undefined ? [] : await Promise.all(secretFilePaths(text, configFile).map(fileFacts));
  return permissionFindings(
    {
      config: await fileFacts(configFile),
      configDir: await fileFacts(dirname(configFile)),
      secrets,
      ...(config ? { stateDir: await fileFacts(config.stateDir) } : {}),
    },
    process.getuid?.() ?? 0,
  );
}
