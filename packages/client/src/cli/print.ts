// `knock print HOST`: show the sequences of a window; sends nothing.
import type { Command } from 'commander';
import { globals, type SetExit } from './common.js';

export function registerPrint(program: Command, setExit: SetExit): void {
  program
    .command('print <host>')
    .summary("print HOST's open and close sequences; sends nothing")
    .description(
      "Prints the window, the open and close UDP port sequences and the window's\n" +
        'validity interval (UTC) for now or for --at TIME. Sends nothing.',
    )
    .option(
      '--at <time>',
      'the time to show: unix seconds or an ISO 8601 date, 1970 to 9999 (a date that does not exist is an error)',
    )
    .option(
      '--json',
      'print JSON: {host, profile, address, servicePort, method, period, window, validFrom, validUntil, open, close, toggle, payload, token?}',
    )
    .addHelpText(
      'after',
      `
Examples:
  knock print myserver
  knock print myserver --at 2025-11-25T21:30:00Z --json
  knock print myserver --at 1764106200`,
    )
    .action(async (host: string, o, cmd: Command) => {
      const { runPrint } = await import('../commands.js');
      setExit(await runPrint(host, o, globals(cmd)));
    });
}
