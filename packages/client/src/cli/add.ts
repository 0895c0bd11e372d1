// `knock add HOST`: a profile from options and a secret file or stdin.
import { Option, type Command } from 'commander';
import { decimal, globals, integer, port, portList, type SetExit } from './common.js';

export function registerAdd(program: Command, setExit: SetExit): void {
  program
    .command('add <host>')
    .summary('add a profile (secret from a file or stdin, never from the command line)')
    .description(
      'Adds a profile named HOST by hand. Prefer `knock import` of the URI that\n' +
        '`otpknockd user uri NAME` prints on the server: it carries every field as the\n' +
        "server derives it. By hand, all knock parameters must be the server's, or the\n" +
        "ports differ and the service never opens: the secret (the user's secret_file),\n" +
        "method, length, period, algorithm, range, ports (the config's knock: block with\n" +
        "the user's own merged over it), --exclude (the exclude lists PLUS the port of\n" +
        "every protected service inside the range), --payload (the config's payload:)\n" +
        'and --port (the service). The secret (base32) is read from --secret-file (which\n' +
        'must be mode 0600, like an ssh key) or from stdin; secrets on the command line\n' +
        'would show in `ps`.',
    )
    .option(
      '--address <host>',
      'where to send the knock: a host name or an IP address, no zone id (default: HOST itself)',
    )
    .addOption(new Option('--port <port>', 'TCP port of the protected service to wait for').argParser(port).default(22))
    .option('--secret-file <file>', 'file holding the base32 secret, 128 to 512 bits (mode 0600, at most 64 KiB)')
    .option('--secret-stdin', 'read the base32 secret from stdin (at most 64 KiB)')
    .addOption(
      new Option('--method <method>', 'knock method')
        .choices(['time', 'list-modulo', 'prng', 'static'])
        .default('time'),
    )
    .addOption(new Option('--length <n>', 'ports per sequence (one-time methods)').argParser(integer('--length', 1, 8)))
    .option('--range <min-max>', 'port range for time and prng (default 10000-65000)')
    .addOption(new Option('--ports <list>', 'list-modulo: the shared port list, comma separated').argParser(portList))
    .addOption(new Option('--open <list>', 'static: the open sequence, comma separated').argParser(portList))
    .addOption(new Option('--close <list>', 'static: the close sequence, comma separated').argParser(portList))
    .option('--toggle', 'static: the open sequence also closes')
    .addOption(new Option('--period <seconds>', 'window length (default 30)').argParser(integer('--period', 1, 3600)))
    .addOption(
      new Option('--algorithm <hash>', 'HMAC hash (default SHA1)').choices([
        'SHA1',
        'SHA256',
        'SHA512',
        'sha1',
        'sha256',
        'sha512',
      ]),
    )
    .addOption(new Option('--exclude <list>', 'ports never used as knock ports, comma separated').argParser(portList))
    .addOption(
      new Option('--token-bytes <n>', 'bytes of per-window payload token (0, or 4-16)').argParser(
        integer('--token-bytes', 0, 16),
      ),
    )
    .addOption(
      new Option('--delay <ms>', 'milliseconds between knock packets').argParser(decimal('--delay', 0, 500)).default(5),
    )
    .option(
      '--payload <kind>',
      'faux payload of each knock packet: none, dns, ntp, random, random:N, hex:BYTES or text:TEXT (the token, if any, goes at its place)',
      'none',
    )
    .option('-f, --force', 'replace a profile of the same name')
    .addHelpText(
      'after',
      `
Examples:
  knock add myserver --address 203.0.113.5 --secret-file ~/.otpknock/myserver.key
  pass show otpknock/myserver | knock add myserver --secret-stdin
  knock add lab --method list-modulo --ports 7001,7002,7003,7004,7005,7006 --secret-file lab.key
  knock add legacy --method static --open 7000,8000,9000 --close 9000,8000,7000 --secret-file k`,
    )
    .action(async (host: string, o, cmd: Command) => {
      const { runAdd } = await import('../manage.js');
      setExit(await runAdd(host, o, globals(cmd)));
    });
}
