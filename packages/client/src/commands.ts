// The knocking commands (`knock HOST`, proxy, close, print): glue between the CLI's
// options and the modules that do the work. Loaded only when one of them runs.
import {
  HOST_NAME_MAX,
  OtpknockError,
  checkHost,
  decodeSecret,
  deriveSequences,
  isoTime,
  normalizeCode,
  normalizeProfile,
  parseInstant,
  quote,
  windowAt,
  windowStartMs,
} from '@otpknock/shared';
import { EXIT, usageError, type ExitCode } from './errors.js';
import { diagnose, usedUpMessage } from './diagnose.js';
import { rotates, knockClose, knockOpen, type OpenResult } from './knock.js';
import { createLogger, type Logger, type Verbosity } from './log.js';
import { checkProfile, shownName, type ClientProfile } from './profile.js';
import { spliceConnection } from './proxy.js';
import { findProfile, resolveAddresses, sshConfigLookup, type Family, type ProfileMatch } from './resolve.js';
import { readStore, storePath } from './store.js';
import { usedWindowsPath } from './used.js';

export interface GlobalOptions {
  config?: string;
}

export interface NetworkOptions {
  ipv4?: boolean;
  ipv6?: boolean;
  delay?: number;
  quiet?: boolean;
  verbose?: boolean;
}

export interface OpenOptions extends NetworkOptions {
  wait: boolean;
  timeout: number;
  retries: number;
  port?: number;
  /** Code mode: the 6-digit code of an authenticator app (docs/protocol.md §10). */
  code?: string;
}

export interface ProxyOptions extends NetworkOptions {
  timeout: number;
  retries: number;
}

export interface PrintOptions {
  at?: string;
  json?: boolean;
}

function verbosity(o: { quiet?: boolean; verbose?: boolean }, terseByDefault = false): Verbosity {
  if (o.verbose) return 'verbose';
  if (o.quiet) return 'quiet';
  return terseByDefault ? 'terse' : 'normal';
}

function family(o: NetworkOptions): Family {
  if (o.ipv4 && o.ipv6) throw usageError('-4 and -6 exclude each other');
  return o.ipv4 ? 4 : o.ipv6 ? 6 : undefined;
}

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const WHITE_OR_CONTROL = /[\s\u0000-\u001f\u007f-\u009f]/;

/**
 * HOST as typed: a profile name, an address or an ssh alias (which may hold more than a
 * host name can, so only what none of them can hold is refused here, before ssh -G).
 */
export function checkHostArgument(host: string): string {
  const problem =
    host === ''
      ? 'is empty'
      : host.length > HOST_NAME_MAX
        ? `is ${host.length} characters long; at most ${HOST_NAME_MAX} are allowed`
        : WHITE_OR_CONTROL.test(host)
          ? 'contains white space or a control character'
          : host.startsWith('-')
            ? 'starts with "-"'
            : undefined;
  if (problem !== undefined)
    throw usageError(
      `HOST: ${quote(host)} is not a profile name, address or ssh alias: it ${problem}`,
      'See: knock list',
    );
  return host;
}

/** Finds and checks the profile for HOST (see resolve.ts for the order). */
export async function profileFor(
  host: string,
  globals: GlobalOptions,
  log: Logger,
): Promise<ProfileMatch & { store: string }> {
  checkHostArgument(host);
  const store = storePath(globals.config);
  const { profiles } = readStore(store);
  const match = await findProfile(
    host,
    profiles,
    sshConfigLookup({ ...(process.env['OTPKNOCK_SSH'] ? { ssh: process.env['OTPKNOCK_SSH'] } : {}) }),
  );
  if (!match) {
    const none = Object.keys(profiles).length === 0;
    throw usageError(
      `no profile for ${shownName(host)} in ${store}${none ? ' (the store is empty)' : ''}`,
      `Add one with: knock add ${shownName(host)} --secret-file FILE   (or: knock import URI --name ${shownName(host)}); see: knock list`,
    );
  }
  log.debug(
    `profile ${match.profile.name} (found by ${match.via === 'ssh' ? `ssh HostName ${match.ssh?.hostname}` : match.via}), knocking ${match.address}`,
  );
  return { ...match, profile: checkProfile(match.profile, store), store };
}

/**
 * Code mode needs no secret: the profile of HOST when there is one (its range, length,
 * period), else the defaults (docs/protocol.md §2) knocking HOST itself.
 */
async function codeProfileFor(
  host: string,
  globals: GlobalOptions,
  log: Logger,
): Promise<{ profile: ClientProfile; address: string }> {
  const { profiles } = readStore(storePath(globals.config));
  if (Object.keys(profiles).length > 0) {
    try {
      return await profileFor(host, globals, log);
    } catch {
      // no profile for HOST: the defaults below
    }
  }
  checkHostArgument(host);
  try {
    checkHost(host, 'HOST');
  } catch (e) {
    if (e instanceof OtpknockError)
      throw usageError(`HOST: ${e.what} (with --code and no profile for it, HOST is where the knock goes)`, e.hint);
    throw e;
  }
  log.debug(`no profile for ${host}: code mode with the default profile`);
  const now = new Date().toISOString();
  return {
    address: host,
    profile: {
      name: host,
      servicePort: 22,
      knock: normalizeProfile({ method: 'time' }),
      secret: '',
      delayMs: 5,
      payload: 'none',
      addedAt: now,
      updatedAt: now,
    },
  };
}

function delayOf(o: NetworkOptions, profile: ClientProfile): number {
  return o.delay ?? profile.delayMs;
}

/** `knock HOST` / `knock open HOST`. */
export async function runOpen(host: string, o: OpenOptions, globals: GlobalOptions): Promise<ExitCode> {
  const log = createLogger(verbosity(o));
  const fam = family(o);
  const code = o.code === undefined ? undefined : normalizeCode(o.code, '--code');
  const match = code === undefined ? await profileFor(host, globals, log) : await codeProfileFor(host, globals, log);
  if (code !== undefined && match.profile.knock.method === 'static')
    throw usageError(`--code: ${host} uses static sequences; code mode applies to the one-time methods`);
  const addresses = await resolveAddresses(match.address, fam);
  const servicePort = o.port ?? match.profile.servicePort;
  const started = performance.now();
  const result = await knockOpen({
    profile: match.profile,
    addresses,
    servicePort,
    wait: o.wait,
    timeoutMs: o.timeout * 1000,
    retries: o.retries,
    delayMs: delayOf(o, match.profile),
    log,
    usedFile: usedWindowsPath(),
    ...(code === undefined ? {} : { code }),
  });
  const where = `${host}${result.address && result.address.address !== host ? ` (${result.address.address})` : ''}`;
  if (!o.wait) {
    log.info(`knocked ${where}`);
    return EXIT.OK;
  }
  if (result.open) {
    noteOpenBeforeKnock(log, where, servicePort, result);
    log.info(`${where} port ${servicePort} open (${((performance.now() - started) / 1000).toFixed(2)} s)`);
    return EXIT.OK;
  }
  return reportNotOpen(log, host, servicePort, result, performance.now() - started, delayOf(o, match.profile));
}

/** Within how long after a knock from this machine an open port is taken for that knock's opening. */
const RECENT_KNOCK_MS = 3_600_000;

/**
 * The port answered a connection made before the knock. After a recent knock from this
 * machine that is its opening, still live; otherwise the port may not be guarded at all,
 * which the person must hear about (they believe it is).
 */
function noteOpenBeforeKnock(log: Logger, where: string, port: number, result: OpenResult): void {
  if (!result.openBeforeKnock) return;
  const recent = result.lastKnockAtMs !== undefined && Date.now() - result.lastKnockAtMs < RECENT_KNOCK_MS;
  if (recent) {
    log.debug(`${where} port ${port} was open before the knock: the opening of an earlier knock is still live`);
    return;
  }
  log.warn(
    `note: ${where} port ${port} accepted a connection before the knock reached it: otpknockd does not guard\n` +
      `  that port (or an opening for this address is still live: an earlier knock, otpknockd open, mode open).\n` +
      `  On the server: sudo otpknockd status`,
  );
}

/** Says why the service did not open, as far as knock can tell, and returns the exit code. */
function reportNotOpen(
  log: Logger,
  host: string,
  port: number,
  result: OpenResult,
  elapsedMs: number,
  delayMs: number,
): ExitCode {
  if (result.usedUpUntilMs !== undefined) {
    log.error(usedUpMessage(host, result.usedUpUntilMs, Date.now(), result.observed?.localAddress));
    return EXIT.NOT_OPEN;
  }
  const { exitCode, message } = diagnose({
    host,
    address: result.address?.address ?? host,
    port,
    knocks: result.attempts,
    elapsedMs,
    nowMs: Date.now(),
    delayMs,
    after: [],
    ...result.observed,
  });
  log.error(message);
  return exitCode;
}

/** `knock proxy HOST PORT`: knock, connect, splice stdin/stdout. Quiet unless -v. */
export async function runProxy(host: string, port: number, o: ProxyOptions, globals: GlobalOptions): Promise<ExitCode> {
  const log = createLogger(verbosity(o, true));
  const fam = family(o);
  const match = await profileFor(host, globals, log);
  const addresses = await resolveAddresses(match.address, fam);
  const started = performance.now();
  const result = await knockOpen({
    profile: match.profile,
    addresses,
    servicePort: port,
    wait: true,
    keepConnection: true,
    timeoutMs: o.timeout * 1000,
    retries: o.retries,
    delayMs: delayOf(o, match.profile),
    log,
    usedFile: usedWindowsPath(),
  });
  if (!result.socket)
    return reportNotOpen(log, host, port, result, performance.now() - started, delayOf(o, match.profile));
  noteOpenBeforeKnock(log, host, port, result);
  log.debug(`connected to ${result.address?.address} port ${port}`);
  const piped = await spliceConnection(result.socket, process.stdin, process.stdout);
  if (piped.end === 'error') {
    log.error(`connection to ${host} port ${port} broke: ${piped.error?.message ?? 'unknown error'}`);
    return EXIT.NETWORK;
  }
  return EXIT.OK;
}

/** `knock close HOST`. */
export async function runClose(host: string, o: NetworkOptions, globals: GlobalOptions): Promise<ExitCode> {
  const log = createLogger(verbosity(o));
  const match = await profileFor(host, globals, log);
  const addresses = await resolveAddresses(match.address, family(o));
  const { address } = await knockClose({ profile: match.profile, addresses, delayMs: delayOf(o, match.profile), log });
  log.info(`sent the close sequence to ${host}${address.address !== host ? ` (${address.address})` : ''}`);
  return EXIT.OK;
}

/** What `knock print --json` prints. */
export interface PrintedSequences {
  host: string;
  profile: string;
  address: string;
  servicePort: number;
  method: string;
  period: number | null;
  window: number;
  /** ISO 8601 UTC: the window's validity interval [validFrom, validUntil); null for `static`. */
  validFrom: string | null;
  validUntil: string | null;
  open: number[];
  close: number[];
  toggle: boolean;
  /** Faux payload setting of each knock packet. */
  payload: string;
  /** Per-window payload token, hex, when the profile asks for one. */
  token?: string;
}

/** Pure: the sequences of `profile` at `atMs`, as `knock print` shows them. */
export function printedSequences(
  host: string,
  match: { profile: ClientProfile; address: string },
  atMs: number,
): PrintedSequences {
  const { profile } = match;
  const knock = profile.knock;
  const rotating = rotates(knock);
  const window = rotating ? windowAt(atMs, knock.period) : 0;
  const seq = deriveSequences(knock, decodeSecret(profile.secret), window);
  const out: PrintedSequences = {
    host,
    profile: profile.name,
    address: match.address,
    servicePort: profile.servicePort,
    method: knock.method,
    period: rotating ? knock.period : null,
    window,
    validFrom: rotating ? isoTime(windowStartMs(window, knock.period)) : null,
    validUntil: rotating ? isoTime(windowStartMs(window + 1, knock.period)) : null,
    open: seq.open,
    close: seq.close,
    toggle: seq.toggle,
    payload: profile.payload,
  };
  if (seq.token) out.token = Buffer.from(seq.token).toString('hex');
  return out;
}

export function formatPrinted(p: PrintedSequences): string {
  const rows: [string, string][] = [
    ['host', p.host === p.profile ? p.host : `${p.host} (profile ${p.profile})`],
    ['address', `${p.address}, service port ${p.servicePort}`],
    ['method', p.period === null ? p.method : `${p.method}, ${p.period} s windows`],
    ['window', p.validFrom === null ? 'static (never rotates)' : `${p.window}, valid ${p.validFrom} – ${p.validUntil}`],
    ['open', `udp ${p.open.join(' ')}`],
    ['close', p.toggle ? `udp ${p.close.join(' ')} (toggle: same as open)` : `udp ${p.close.join(' ')}`],
  ];
  rows.push(['payload', p.payload]);
  if (p.token) rows.push(['token', p.token]);
  return rows.map(([k, v]) => `${k.padEnd(8)}${v}`).join('\n') + '\n';
}

/** `knock print HOST`: sends nothing. */
export async function runPrint(host: string, o: PrintOptions, globals: GlobalOptions): Promise<ExitCode> {
  const atMs = o.at === undefined ? Date.now() : parseInstant(o.at);
  const match = await profileFor(host, globals, createLogger('quiet'));
  const printed = printedSequences(host, match, atMs);
  process.stdout.write(o.json ? JSON.stringify(printed, null, 2) + '\n' : formatPrinted(printed));
  return EXIT.OK;
}
