// What the knock subcommands share: option parsers, the option sets of the commands
// that send and wait, the global --config, the exit status text. Only commander here:
// every subcommand module loads at start-up, the work each one does is imported when
// it runs.
import { InvalidArgumentError, Option, type Command } from 'commander';

/** Sets the exit code `main` returns (an action's result). */
export type SetExit = (code: number) => void;

export function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    }
    return Number(value);
  };
}

export function decimal(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+(\.\d+)?$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}.`);
    }
    return Number(value);
  };
}

export function portList(value: string): number[] {
  const ports = value.split(',').map((p) => p.trim());
  if (ports.some((p) => !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535)) {
    throw new InvalidArgumentError('expected UDP ports separated by commas, e.g. 7001,7002,7003.');
  }
  return ports.map(Number);
}

export const port = integer('a port', 1, 65535);

const opt = {
  timeout: () =>
    new Option('-t, --timeout <seconds>', 'per knock: how long to wait for the service to accept a connection')
      .argParser(decimal('--timeout', 0.1, 120))
      .default(3),
  retries: () =>
    new Option('-r, --retries <n>', 'knocks after the first when the service does not open in time')
      .argParser(integer('--retries', 0, 5))
      .default(1),
  ipv4: () => new Option('-4, --ipv4', 'use IPv4 addresses only').conflicts('ipv6'),
  ipv6: () => new Option('-6, --ipv6', 'use IPv6 addresses only').conflicts('ipv4'),
  delay: () =>
    new Option('-d, --delay <ms>', "milliseconds between knock packets (default: the profile's, 5)").argParser(
      decimal('--delay', 0, 500),
    ),
  quiet: () => new Option('-q, --quiet', 'print nothing but errors').conflicts('verbose'),
  verbose: () => new Option('-v, --verbose', 'say what is done: profile, addresses, window, ports'),
};

/** Options of every command that waits for the service: per-knock timeout, retries. */
export const waiting = (): Option[] => [opt.timeout(), opt.retries()];
/** Options of every command that sends a knock: address family, packet delay, verbosity. */
export const sending = (): Option[] => [opt.ipv4(), opt.ipv6(), opt.delay(), opt.quiet(), opt.verbose()];

export function withOptions(cmd: Command, options: readonly Option[]): Command {
  for (const o of options) cmd.addOption(o);
  return cmd;
}

/** The program's own options (--config) as a subcommand's action sees them. */
export const globals = (cmd: Command): { config?: string } => cmd.optsWithGlobals<{ config?: string }>();

export const EXIT_CODES = `
Exit status:
  0  the service accepted a connection (with --no-wait: the knock was sent)
  1  the service did not open: no answer before or after the knocks (the knock
     was refused, or something drops the traffic: the message names the causes
     and the command that asks the server), or the sequences accepted now were
     used by earlier knocks (the message says when to knock again)
  2  usage or configuration error: bad option, no profile, a store or secret
     file that group or others can read
  3  network error: the name does not resolve, no route, host unreachable
     (ICMP), this machine's own firewall, a socket error
  4  the host refused the service port (TCP reset or ICMP port unreachable):
     before the knock too (otpknockd does not guard the port), or only after
     it (the knock was let in; nothing listens on the port)`;

/** How long a knock that does not open may take: the bound `knock --help` and docs/knock.md state. */
export const GIVE_UP_BOUND = `
Gives up after at most (retries + 2) x timeout + 1 s (10 s with the defaults),
plus the time each knock takes to send ((ports - 1) x --delay):
each knock waits --timeout for the service; when the sequences the server
accepts now were used by earlier knocks, knock waits for the next window only
if it begins within --timeout (once per run), else it says when to knock again.`;
