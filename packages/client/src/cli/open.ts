// `knock open HOST` (and `knock HOST`): knock and wait until the service opens.
import { Option, type Command } from 'commander';
import { EXIT_CODES, GIVE_UP_BOUND, globals, port, sending, waiting, withOptions, type SetExit } from './common.js';

export function registerOpen(program: Command, setExit: SetExit): void {
  withOptions(
    program
      .command('open <host>', { isDefault: true })
      .summary('knock HOST and wait until its service opens (the default command)')
      .description(
        "Sends HOST's open sequence for the current window, then tries to connect to the\n" +
          'protected service until it accepts (or --timeout passes). If it does not open,\n' +
          "knocks once more (--retries) with the next window's sequence: a sequence the\n" +
          'server has seen open once is not accepted again. Exits 0 when the service is open;\n' +
          'otherwise it says why, as far as the client can see (see Exit status).',
      ),
    [
      new Option('--no-wait', 'send the knock and exit 0 without waiting for the service'),
      ...waiting(),
      new Option('-p, --port <port>', "the service's TCP port to wait for (default: the profile's, 22)").argParser(
        port,
      ),
      new Option(
        '--code <digits>',
        'knock with the 6-digit code of an authenticator app instead of the secret (if the server allows it; docs/protocol.md §10)',
      ),
      ...sending(),
    ],
  )
    .addHelpText(
      'after',
      `${GIVE_UP_BOUND}
${EXIT_CODES}

Examples:
  knock myserver && ssh myserver
  knock open myserver -6 --timeout 5
  knock myserver --no-wait          # knock only; do not wait for the service
  knock myserver --port 443         # wait for port 443 instead of the profile's
  knock 203.0.113.5 --code 123456   # from a machine without the profile: the app's code`,
    )
    .action(async (host: string, o, cmd: Command) => {
      const { runOpen } = await import('../commands.js');
      setExit(await runOpen(host, o, globals(cmd)));
    });
}
