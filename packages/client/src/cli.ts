// `knock`: the command line. Only commander and the error module load up front; each
// command imports its own modules when it runs, so `knock --help` and `knock HOST`
// do not pay for the profile-management code (conf and its validator).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { boundArguments, describeError, EXIT } from './errors.js';

const VERSION = '0.1.0';

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    }
    return Number(value);
  };
}

function decimal(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+(\.\d+)?$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}.`);
    }
    return Number(value);
  };
}

function portList(value: string): number[] {
  const ports = value.split(',').map((p) => p.trim());
  if (ports.some((p) => !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535)) {
    throw new InvalidArgumentError('expected UDP ports separated by commas, e.g. 7001,7002,7003.');
  }
  return ports.map(Number);
}

const port = integer('a port', 1, 65535);

const opt = {
  timeout: () => new Option('-t, --timeout <seconds>', 'per knock: how long to wait for the service to accept a connection').argParser(decimal('--timeout', 0.1, 120)).default(3),
  retries: () => new Option('-r, --retries <n>', 'knocks after the first when the service does not open in time').argParser(integer('--retries', 0, 5)).default(1),
  ipv4: () => new Option('-4, --ipv4', 'use IPv4 addresses only').conflicts('ipv6'),
  ipv6: () => new Option('-6, --ipv6', 'use IPv6 addresses only').conflicts('ipv4'),
  delay: () => new Option('-d, --delay <ms>', "milliseconds between knock packets (default: the profile's, 5)").argParser(decimal('--delay', 0, 500)),
  quiet: () => new Option('-q, --quiet', 'print nothing but errors').conflicts('verbose'),
  verbose: () => new Option('-v, --verbose', 'say what is done: profile, addresses, window, ports'),
};

/** Options of every command that waits for the service: per-knock timeout, retries. */
const waiting = (): Option[] => [opt.timeout(), opt.retries()];
/** Options of every command that sends a knock: address family, packet delay, verbosity. */
const sending = (): Option[] => [opt.ipv4(), opt.ipv6(), opt.delay(), opt.quiet(), opt.verbose()];

function withOptions(cmd: Command, options: readonly Option[]): Command {
  for (const o of options) cmd.addOption(o);
  return cmd;
}

const EXIT_CODES = `
Exit status:
  0  the service accepted a connection (with --no-wait: the knock was sent)
  1  the service did not open in time (after all retries)
  2  usage or configuration error: bad option, no profile, a store or secret
     file that group or others can read
  3  network error: the name does not resolve, no route, a socket error`;

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('knock');
  program
    .description(
      'Knock on a server protected by otpknockd: send the one-time UDP port sequence\n' +
        "derived from a shared secret and the clock, then wait until the protected\n" +
        'service (ssh by default) accepts a connection.',
    )
    .version(VERSION, '-V, --version')
    .option('--config <file>', 'profile file to use instead of the per-user store (~/.config/otpknock/profiles.json)')
    .exitOverride()
    .configureOutput({ outputError: (message, write) => write(boundArguments(message)) })
    .showHelpAfterError('(see knock --help)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .addHelpText(
      'after',
      `
HOST is a profile name, a profile's address, or an ssh alias whose HostName is one
of those (looked up with \`ssh -G HOST\`). \`knock HOST\` is short for \`knock open HOST\`.
${EXIT_CODES}

Examples:
  knock add myserver --address 203.0.113.5 --secret-file ~/.otpknock/myserver.key
  knock import 'otpauth://totp/...'          # what \`otpknockd user add\` printed
  knock myserver && ssh myserver
  knock print myserver --json
  knock close myserver

  # ~/.ssh/config: knock on every connection, no nc and no sleep needed
  Host myserver
      HostName 203.0.113.5
      ProxyCommand knock proxy %h %p

Files:
  ~/.config/otpknock/profiles.json    profiles (mode 0600; $XDG_CONFIG_HOME is honoured)
  ~/.local/state/otpknock/used-windows.json
                                      windows already knocked, per secret (no secrets)

See docs/knock.md for the full reference.`,
    );

  const globals = (cmd: Command): { config?: string } => cmd.optsWithGlobals() as { config?: string };

  withOptions(
    program
      .command('open <host>', { isDefault: true })
      .summary('knock HOST and wait until its service opens (the default command)')
      .description(
        "Sends HOST's open sequence for the current window, then tries to connect to the\n" +
          'protected service until it accepts (or --timeout passes). If it does not open,\n' +
          'knocks once more (--retries) with the next window\'s sequence: a sequence the\n' +
          'server has seen open once is not accepted again. Exits 0 when the service is open.',
      ),
    [
      new Option('--no-wait', 'send the knock and exit 0 without waiting for the service'),
      ...waiting(),
      new Option('-p, --port <port>', "the service's TCP port to wait for (default: the profile's, 22)").argParser(port),
      new Option('--code <digits>', 'knock with the 6-digit code of an authenticator app instead of the secret (if the server allows it; docs/protocol.md §10)'),
      ...sending(),
    ],
  )
    .addHelpText('after', `${EXIT_CODES}

Examples:
  knock myserver && ssh myserver
  knock open myserver -6 --timeout 5
  knock myserver --no-wait          # knock only; do not wait for the service
  knock myserver --port 443         # wait for port 443 instead of the profile's
  knock 203.0.113.5 --code 123456   # from a machine without the profile: the app's code`)
    .action(async (host: string, o, cmd: Command) => {
      const { runOpen } = await import('./commands.js');
      setExit(await runOpen(host, o, globals(cmd)));
    });

  withOptions(
    program
      .command('proxy <host> <port>')
      .summary('knock, connect and pipe stdin/stdout: an ssh ProxyCommand')
      .description(
        'For ssh_config: ProxyCommand knock proxy %h %p. Knocks HOST, connects to PORT as\n' +
          'soon as it accepts, and then copies stdin to the connection and the connection\n' +
          'to stdout until the server closes it. stdout carries nothing but the stream;\n' +
          'messages go to stderr: errors and waits only, unless -v.',
      ),
    [...waiting(), ...sending()],
  )
    .addHelpText('after', `
Exit status: 0 when the connection was closed normally, 1 when the service did not
open, 2 on usage or configuration errors, 3 when the connection broke.

Examples (~/.ssh/config):
  Host myserver
      HostName 203.0.113.5
      ProxyCommand knock proxy %h %p

  Host *.internal.example.org
      ProxyCommand knock --config ~/.otpknock/work.json proxy %h %p`)
    .action(async (host: string, portText: string, o, cmd: Command) => {
      let p: number;
      try {
        p = port(portText);
      } catch (error) {
        cmd.error(`error: invalid PORT '${portText}': ${(error as Error).message}`, { exitCode: EXIT.USAGE, code: 'knock.invalidPort' });
      }
      const { runProxy } = await import('./commands.js');
      setExit(await runProxy(host, p, o, globals(cmd)));
    });

  withOptions(
    program
      .command('close <host>')
      .summary("send HOST's close sequence")
      .description(
        "Sends HOST's close sequence for the current window. The server then accepts no\n" +
          'new connections from this address; connections already open stay up.',
      ),
    sending(),
  )
    .addHelpText('after', `
Exit status: 0 when the close sequence was sent, 2 on usage or configuration errors,
3 on network errors.

Example:
  knock close myserver`)
    .action(async (host: string, o, cmd: Command) => {
      const { runClose } = await import('./commands.js');
      setExit(await runClose(host, o, globals(cmd)));
    });

  program
    .command('print <host>')
    .summary("print HOST's open and close sequences; sends nothing")
    .description(
      "Prints the window, the open and close UDP port sequences and the window's\n" +
        'validity interval (UTC) for now or for --at TIME. Sends nothing.',
    )
    .option('--at <time>', 'the time to show: unix seconds or an ISO 8601 date, 1970 to 9999 (a date that does not exist is an error)')
    .option('--json', 'print JSON: {host, profile, address, servicePort, method, period, window, validFrom, validUntil, open, close, toggle, token?}')
    .addHelpText('after', `
Examples:
  knock print myserver
  knock print myserver --at 2025-11-25T21:30:00Z --json
  knock print myserver --at 1764106200`)
    .action(async (host: string, o, cmd: Command) => {
      const { runPrint } = await import('./commands.js');
      setExit(await runPrint(host, o, globals(cmd)));
    });

  program
    .command('add <host>')
    .summary('add a profile (secret from a file or stdin, never from the command line)')
    .description(
      'Adds a profile named HOST. The knock parameters must match the server\'s. The\n' +
        'secret (base32) is read from --secret-file (which must be mode 0600, like an ssh\n' +
        'key) or from stdin; secrets on the command line would show in `ps`.',
    )
    .option('--address <host>', 'where to send the knock: a host name or an IP address, no zone id (default: HOST itself)')
    .addOption(new Option('--port <port>', 'TCP port of the protected service to wait for').argParser(port).default(22))
    .option('--secret-file <file>', 'file holding the base32 secret, 128 to 512 bits (mode 0600, at most 64 KiB)')
    .option('--secret-stdin', 'read the base32 secret from stdin (at most 64 KiB)')
    .addOption(new Option('--method <method>', 'knock method').choices(['time', 'list-modulo', 'prng', 'static']).default('time'))
    .addOption(new Option('--length <n>', 'ports per sequence (one-time methods)').argParser(integer('--length', 1, 8)))
    .option('--range <min-max>', 'port range for time and prng (default 10000-65000)')
    .addOption(new Option('--ports <list>', 'list-modulo: the shared port list, comma separated').argParser(portList))
    .addOption(new Option('--open <list>', 'static: the open sequence, comma separated').argParser(portList))
    .addOption(new Option('--close <list>', 'static: the close sequence, comma separated').argParser(portList))
    .option('--toggle', 'static: the open sequence also closes')
    .addOption(new Option('--period <seconds>', 'window length (default 30)').argParser(integer('--period', 1, 3600)))
    .addOption(new Option('--algorithm <hash>', 'HMAC hash (default SHA1)').choices(['SHA1', 'SHA256', 'SHA512', 'sha1', 'sha256', 'sha512']))
    .addOption(new Option('--exclude <list>', 'ports never used as knock ports, comma separated').argParser(portList))
    .addOption(new Option('--token-bytes <n>', 'bytes of per-window payload token (0, or 4-16)').argParser(integer('--token-bytes', 0, 16)))
    .addOption(new Option('--delay <ms>', 'milliseconds between knock packets').argParser(decimal('--delay', 0, 500)).default(5))
    .option('--payload <kind>', 'faux payload of each knock packet: none, dns, ntp, random, random:N, hex:BYTES or text:TEXT (the token, if any, goes at its place)', 'none')
    .option('-f, --force', 'replace a profile of the same name')
    .addHelpText('after', `
Examples:
  knock add myserver --address 203.0.113.5 --secret-file ~/.otpknock/myserver.key
  pass show otpknock/myserver | knock add myserver --secret-stdin
  knock add lab --method list-modulo --ports 7001,7002,7003,7004,7005,7006 --secret-file lab.key
  knock add legacy --method static --open 7000,8000,9000 --close 9000,8000,7000 --secret-file k`)
    .action(async (host: string, o, cmd: Command) => {
      const { runAdd } = await import('./manage.js');
      setExit(await runAdd(host, o, globals(cmd)));
    });

  program
    .command('import <uri>')
    .summary('add or update a profile from an otpauth:// URI')
    .description(
      'Adds or updates the profile from an otpauth:// URI as printed by\n' +
        '`otpknockd user add` or `user rotate`: secret, method and parameters, host and\n' +
        'service port. The newest import wins. Give - to read the URI from stdin: a URI\n' +
        'on the command line holds the secret and shows in `ps` and the shell history\n' +
        'while it runs, stdin does not.',
    )
    .option('--name <host>', 'profile name (default: the host named in the URI)')
    .option('--address <host>', 'where to send the knock: a host name or an IP address (default: the host in the URI)')
    .addOption(new Option('--port <port>', 'TCP port of the protected service (default: the URI\'s, else 22)').argParser(port))
    .addOption(new Option('--delay <ms>', 'milliseconds between knock packets').argParser(decimal('--delay', 0, 500)))
    .addHelpText('after', `
Examples:
  knock import - < alice.uri
  knock import 'otpauth://totp/example:alice?secret=...&host=203.0.113.5' --name myserver`)
    .action(async (uri: string, o, cmd: Command) => {
      const { runImport } = await import('./manage.js');
      setExit(await runImport(uri, o, globals(cmd)));
    });

  program
    .command('list')
    .summary('list profiles (never secrets)')
    .option('--json', 'print the profiles as JSON (without secrets)')
    .addHelpText('after', `
Example:
  knock list
  knock --config ./team.json list --json`)
    .action(async (o, cmd: Command) => {
      const { runList } = await import('./manage.js');
      setExit(await runList(o, globals(cmd)));
    });

  program
    .command('remove <host>')
    .alias('rm')
    .summary('remove a profile')
    .addHelpText('after', `
Example:
  knock remove myserver`)
    .action(async (host: string, _o, cmd: Command) => {
      const { runRemove } = await import('./manage.js');
      setExit(await runRemove(host, globals(cmd)));
    });

  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv as string[]);
  } catch (error) {
    // commander's own errors (unknown option, missing argument) have printed their
    // message already; they are usage errors: exit 2. --help and --version exit 0.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    const { message, exitCode } = describeError(error);
    process.stderr.write(`knock: ${message}\n`);
    return exitCode;
  }
  return code;
}

// Exit explicitly: `knock proxy` leaves stdin open, and nothing else should linger.
// (No top-level await: the bundle is CommonJS, see scripts/build.mjs.)
void main().then((code) => process.exit(code));
