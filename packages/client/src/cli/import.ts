// `knock import URI`: a profile from an otpauth:// URI (`otpknockd user add` prints it).
import { Option, type Command } from 'commander';
import { decimal, globals, port, type SetExit } from './common.js';

export function registerImport(program: Command, setExit: SetExit): void {
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
    .addOption(
      new Option('--port <port>', "TCP port of the protected service (default: the URI's, else 22)").argParser(port),
    )
    .addOption(new Option('--delay <ms>', 'milliseconds between knock packets').argParser(decimal('--delay', 0, 500)))
    .addHelpText(
      'after',
      `
Examples:
  knock import - < alice.uri
  knock import 'otpauth://totp/example:alice?secret=...&host=203.0.113.5' --name myserver`,
    )
    .action(async (uri: string, o, cmd: Command) => {
      const { runImport } = await import('../manage.js');
      setExit(await runImport(uri, o, globals(cmd)));
    });
}
