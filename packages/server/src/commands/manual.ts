// `otpknockd open`, `otpknockd close`, `otpknockd mode`: the manual switch and
// the global mode. They act on the running daemon's table directly (through the
// nft driver, one transaction each); the mode is also persisted in state_dir so
// that every later full load (reload, restart) renders it.
import { BlockList } from 'node:net';
import { Option, type Command } from 'commander';
import { OtpknockError, ipAddressOf, quote } from '@otpknock/shared';
import { loadConfig, parseDurationArgument, formatDuration } from '../config/index.js';
import type { ServerConfig, ServiceConfig } from '../config/types.js';
import { MODES, MODE_DESCRIPTIONS, isMode, modeChangeScript, readMode, writeMode, type ServiceMode } from '../mode.js';
import { NftDriver, NftError } from '../nft/driver.js';
import { isOurTable } from '../nft/inspect.js';
import { audited, auditedCheck } from '../audit/operator.js';
import { DEFAULT_CONFIG } from './common.js';

/** Longest manual opening: a week (the kernel takes longer, a forgotten opening should not). */
export const MANUAL_OPEN_MAX_MS = 7 * 86_400_000;

const ADDRESS_HINT = 'give one address such as 192.0.2.10 or 2001:db8::10 (no host names, no prefixes, no zone ids)';

/**
 * An IPv4 or IPv6 address as the allowed sets hold it; anything else is a usage error
 * naming it, before any nft text is built. A zone id (fe80::1%eth0) has no place in a
 * set of addresses, and an IPv4-mapped IPv6 address would go into the IPv6 set, where
 * the IPv4 packets of that host never look.
 */
export function parseAddress(text: string): { address: string; family: 4 | 6 } {
  const ip = ipAddressOf(text);
  if ('problem' in ip)
    throw new OtpknockError('E_ARGUMENT', `${quote(text)} is not an IPv4 or IPv6 address: it ${ip.problem}`, {
      where: 'ADDR',
      hint: ADDRESS_HINT,
    });
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip.address);
  if (mapped) {
    throw new OtpknockError(
      'E_ARGUMENT',
      `${quote(text)} is an IPv4-mapped IPv6 address; the IPv4 packets of that host are matched by its IPv4 address`,
      { where: 'ADDR', hint: `give ${mapped[1]}` },
    );
  }
  const never = neverASource(ip.address, ip.family);
  if (never) {
    throw new OtpknockError('E_ARGUMENT', `${quote(text)} is ${never}, never the source address of a packet`, {
      where: 'ADDR',
      hint: ADDRESS_HINT,
    });
  }
  return ip;
}

/**
 * Why an address can never be the source of a connection (so opening for it would be a
 * mistake that silently does nothing), or undefined: unspecified, broadcast, multicast.
 */
function neverASource(address: string, family: 4 | 6): string | undefined {
  const type = family === 4 ? 'ipv4' : 'ipv6';
  return NEVER_A_SOURCE.find(([list]) => list.check(address, type))?.[1];
}

const NEVER_A_SOURCE: [BlockList, string][] = (
  [
    [['0.0.0.0', 32, 'ipv4'], 'the unspecified address'],
    [['::', 128, 'ipv6'], 'the unspecified address'],
    [['255.255.255.255', 32, 'ipv4'], 'the broadcast address'],
    [['224.0.0.0', 4, 'ipv4'], 'a multicast address (224.0.0.0/4)'],
    [['ff00::', 8, 'ipv6'], 'a multicast address (ff00::/8)'],
  ] as const
).map(([[net, prefix, type], why]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, type);
  return [list, why];
});

/**
 * The services named by --service (repeatable, or comma-separated); all when the option
 * is not given. An empty name (--service "", or "ssh,") is refused like an unknown one:
 * it must not mean "every service".
 */
export function pickServices(config: ServerConfig, names: readonly string[]): ServiceConfig[] {
  if (names.length === 0) return config.services;
  const known = () => `the services in ${config.file} are: ${config.services.map((x) => x.name).join(', ')}`;
  const picked: ServiceConfig[] = [];
  for (const name of names.flatMap((n) => n.split(',')).map((n) => n.trim())) {
    const s = config.services.find((x) => x.name === name);
    if (!s) {
      throw new OtpknockError('E_ARGUMENT', name === '' ? 'an empty service name' : `unknown service ${quote(name)}`, {
        where: '--service',
        hint: `name one or more services, or leave --service out for all; ${known()}`,
      });
    }
    if (!picked.includes(s)) picked.push(s);
  }
  return picked;
}

/** --for: a duration from 1s to 7d. */
export function parseOpenFor(text: string): number {
  return parseDurationArgument(text, '--for', { min: 1000, max: MANUAL_OPEN_MAX_MS });
}

/**
 * Opens: (re)adds the address to each service's allowed set with its own
 * timeout. `add` keeps an existing element's timeout, so add, delete, add:
 * one transaction, whatever was there before.
 */
export function manualOpenScript(
  table: string,
  services: readonly ServiceConfig[],
  address: string,
  family: 4 | 6,
  forMs?: number,
): string {
  return services
    .map((s) => {
      const set = `inet ${table} allowed${family}_${s.name}`;
      const timeout = forMs ?? s.openForMs;
      return `add element ${set} { ${address} timeout 1s }\ndelete element ${set} { ${address} }\nadd element ${set} { ${address} timeout ${timeout}ms }\n`;
    })
    .join('');
}

/** Closes for new connections: add (so delete cannot fail), then delete. */
export function manualCloseScript(
  table: string,
  services: readonly ServiceConfig[],
  address: string,
  family: 4 | 6,
): string {
  return services
    .map((s) => {
      const set = `inet ${table} allowed${family}_${s.name}`;
      return `add element ${set} { ${address} timeout 1s }\ndelete element ${set} { ${address} }\n`;
    })
    .join('');
}

/** Our live table, or an error saying the daemon is not running (or the name is someone else's). */
async function requireRunningTable(nft: NftDriver, config: ServerConfig): Promise<void> {
  const listing = await nft.listText(['table', 'inet', config.table]);
  if (listing === null) {
    throw new NftError(
      `otpknockd is not running: there is no table inet ${config.table}`,
      `start it (systemctl start otpknockd, or otpknockd run --config ${config.file}); nothing was changed`,
    );
  }
  if (!isOurTable(listing)) {
    throw new NftError(
      `table inet ${config.table} was not made by otpknockd`,
      'check "table:" in the config; nothing was changed',
    );
  }
}

const servicesText = (services: readonly ServiceConfig[]) =>
  services.map((s) => `${s.name} (tcp/${s.port})`).join(', ');

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

// The options open and close share: the config file and the services to act on.
const configOption = () =>
  new Option('-c, --config <file>', 'config file (for the table name and the services)').default(DEFAULT_CONFIG);
const serviceOption = (verb: 'open' | 'close') =>
  new Option('-s, --service <name>', `service to ${verb} (repeatable, or comma-separated; default: all services)`)
    .argParser(collect)
    .default([]);

/** The config and the services named. */
/** The config and the services an open or close acts on; an unknown service is refused (and audited). */
async function target(
  opts: { config: string; service: string[] },
  action: 'open' | 'close',
  address: string,
): Promise<{
  config: ServerConfig;
  services: ServiceConfig[];
}> {
  const config = await loadConfig(opts.config, { withoutUsers: true });
  const what = { target: address, ...(opts.service.length > 0 ? { details: { services: opts.service } } : {}) };
  return {
    config,
    services: await auditedCheck(config.stateDir, action, what, () => pickServices(config, opts.service)),
  };
}

/** Applies a script to the running daemon's table (an error when it does not run). */
async function applyToLiveTable(config: ServerConfig, script: string): Promise<void> {
  const nft = new NftDriver();
  await requireRunningTable(nft, config);
  await nft.apply(script);
}

export function registerManual(program: Command): void {
  program
    .command('open')
    .description(
      "Open the protected services to one address now, as a valid knock would (manual switch). Acts on the running daemon's table.",
    )
    .argument('<addr>', 'IPv4 or IPv6 address to let in (no zone id, no IPv4-mapped form)')
    .addOption(configOption())
    .addOption(serviceOption('open'))
    .option('--for <duration>', "how long new connections are accepted, 1s to 7d (default: each service's open_for)")
    .addHelpText(
      'after',
      `
The address is added to the service's allowed set in the kernel, with its own
timeout; after it, new connections from it are refused again (established ones
stay up). Opening an address that is already open restarts its timer. Takes
effect at once; survives a reload, a crash restart and a stop and start that
keep the table (the default), not a stop that removes it. In mode "closed" the services stay closed to everybody.

Examples:
  otpknockd open 192.0.2.10                        # all services, for their open_for
  otpknockd open 2001:db8::10 --service ssh --for 2h
  otpknockd open 198.51.100.7 -s ssh,api --for 10m

Exit status: 0 opened; 1 the daemon is not running or nft failed; 2 bad
address, unknown or empty service name, or bad duration (nothing changed).`,
    )
    .action(async (addr: string, opts: { config: string; service: string[]; for?: string }) => {
      const { address, family } = parseAddress(addr);
      const forMs = opts.for === undefined ? undefined : parseOpenFor(opts.for);
      const { config, services } = await target(opts, 'open', address);
      const details = { services: services.map((x) => x.name), ...(forMs === undefined ? {} : { forMs }) };
      await audited(config.stateDir, 'open', { target: address, details }, () =>
        applyToLiveTable(config, manualOpenScript(config.table, services, address, family, forMs)),
      );
      const how =
        forMs === undefined ? services.map((s) => formatDuration(s.openForMs)).join('/') : formatDuration(forMs);
      process.stdout.write(`opened ${servicesText(services)} to ${address} for ${how}\n`);
      const mode = readModeOrKnock(config);
      if (mode === 'closed')
        process.stderr.write(
          'otpknockd: note: the mode is "closed": the services stay closed to everybody until "otpknockd mode knock"\n',
        );
    });

  program
    .command('close')
    .description(
      "Close the protected services to one address now, as a close knock would. Acts on the running daemon's table.",
    )
    .argument('<addr>', 'IPv4 or IPv6 address (no zone id, no IPv4-mapped form)')
    .addOption(configOption())
    .addOption(serviceOption('close'))
    .addHelpText(
      'after',
      `
Removes the address from the service's allowed set: new connections from it are
refused from now on. Established connections are never cut. Closing an address
that is not open does nothing and is not an error. In mode "open" the services
stay open to everybody.

Examples:
  otpknockd close 192.0.2.10
  otpknockd close 2001:db8::10 --service api

Exit status: 0 closed; 1 the daemon is not running or nft failed; 2 bad
address or service (nothing changed).`,
    )
    .action(async (addr: string, opts: { config: string; service: string[] }) => {
      const { address, family } = parseAddress(addr);
      const { config, services } = await target(opts, 'close', address);
      await audited(
        config.stateDir,
        'close',
        { target: address, details: { services: services.map((x) => x.name) } },
        () => applyToLiveTable(config, manualCloseScript(config.table, services, address, family)),
      );
      process.stdout.write(`closed ${servicesText(services)} to ${address}\n`);
    });

  program
    .command('mode')
    .description(
      'Show or set the global mode: knock (normal), open (open to all) or closed (closed to all, knocks ignored).',
    )
    .argument('[mode]', `one of ${MODES.join(', ')}; without it, show the mode`)
    .option('-c, --config <file>', 'config file (for the table name and state_dir)', DEFAULT_CONFIG)
    .addHelpText(
      'after',
      `
Modes:
  knock   ${MODE_DESCRIPTIONS.knock}
  open    ${MODE_DESCRIPTIONS.open}
  closed  ${MODE_DESCRIPTIONS.closed}

The mode is written to STATE_DIR/mode (state_dir in the config, default
/var/lib/otpknock) and applied to the running daemon's table at once, in one
transaction; reloads and restarts keep it. When the daemon is not running, the
mode is saved and applies when it starts. No mode ever cuts an established
connection. "closed" also keeps out addresses that knocked or were opened
manually; they are let in again when the mode goes back to knock (if their
opening has not expired).

Examples:
  otpknockd mode                 # show it
  otpknockd mode closed          # maintenance: nobody new gets in
  otpknockd mode open            # e.g. while the clocks are being fixed
  otpknockd mode knock           # back to normal

Exit status: 0 done; 1 nft failed or the state dir cannot be written; 2 unknown
mode (nothing changed).`,
    )
    .action(async (mode: string | undefined, opts: { config: string }) => {
      if (mode !== undefined && !isMode(mode)) {
        throw new OtpknockError('E_ARGUMENT', `unknown mode ${quote(mode)}`, {
          where: 'mode',
          hint: `use one of: ${MODES.join(', ')}`,
        });
      }
      const config = await loadConfig(opts.config, { withoutUsers: true });
      if (mode === undefined) {
        const current = readMode(config.stateDir);
        process.stdout.write(`${current}: ${MODE_DESCRIPTIONS[current]}\n`);
        return;
      }
      await audited(config.stateDir, 'mode', { target: mode, details: { previous: readModeOrKnock(config) } }, () =>
        setMode(config, mode),
      );
    });
}

function readModeOrKnock(config: ServerConfig): ServiceMode {
  try {
    return readMode(config.stateDir);
  } catch {
    return 'knock';
  }
}

/** Persists a mode and applies it to the live table when the daemon runs. */
export async function setMode(config: ServerConfig, mode: ServiceMode, nft = new NftDriver()): Promise<void> {
  const listing = await nft.listText(['table', 'inet', config.table]);
  if (listing !== null && !isOurTable(listing)) {
    throw new NftError(
      `table inet ${config.table} was not made by otpknockd`,
      'check "table:" in the config; nothing was changed',
    );
  }
  const previous = readModeOrKnock(config);
  try {
    writeMode(config.stateDir, mode);
  } catch (e) {
    throw new NftError(
      `cannot save the mode in ${config.stateDir}: ${(e as Error).message}`,
      'check state_dir in the config and that it is writable; nothing was changed',
    );
  }
  if (listing === null) {
    process.stdout.write(
      `mode ${mode} saved; otpknockd is not running (no table inet ${config.table}), it applies when it starts\n`,
    );
    return;
  }
  try {
    await nft.apply(modeChangeScript(config, mode));
  } catch (e) {
    writeMode(config.stateDir, previous); // kernel and file agree again: nothing changed
    throw e;
  }
  process.stdout.write(`mode ${mode}: ${MODE_DESCRIPTIONS[mode]}\n`);
}
