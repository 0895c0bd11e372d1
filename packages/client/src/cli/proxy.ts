// `knock proxy HOST PORT`: an ssh ProxyCommand (knock, connect, pipe stdin/stdout).
import type { Command } from 'commander';
import { EXIT } from '../errors.js';
import { GIVE_UP_BOUND, globals, port, sending, waiting, withOptions, type SetExit } from './common.js';

export function registerProxy(program: Command, setExit: SetExit): void {
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
    .addHelpText(
      'after',
      `${GIVE_UP_BOUND}

Exit status: 0 when the connection was closed normally, 1 when the service did not
open (no answer), 2 on usage or configuration errors, 3 on network errors or when
the connection broke, 4 when the host refused the port (see knock open --help).

Examples (~/.ssh/config):
  Host myserver
      HostName 203.0.113.5
      ProxyCommand knock proxy %h %p

  Host *.internal.example.org
      ProxyCommand knock --config ~/.otpknock/work.json proxy %h %p`,
    )
    .action(async (host: string, portText: string, o, cmd: Command) => {
      let p: number;
      try {
        p = port(portText);
      } catch (error) {
        cmd.error(`error: invalid PORT '${portText}': ${(error as Error).message}`, {
          exitCode: EXIT.USAGE,
          code: 'knock.invalidPort',
        });
      }
      const { runProxy } = await import('../commands.js');
      setExit(await runProxy(host, p, o, globals(cmd)));
    });
}
