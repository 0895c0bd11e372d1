// `knock close HOST`: send the close sequence.
import type { Command } from 'commander';
import { globals, sending, withOptions, type SetExit } from './common.js';

export function registerClose(program: Command, setExit: SetExit): void {
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
    .addHelpText(
      'after',
      `
Exit status: 0 when the close sequence was sent, 2 on usage or configuration errors,
3 on network errors.

Example:
  knock close myserver`,
    )
    .action(async (host: string, o, cmd: Command) => {
      const { runClose } = await import('../commands.js');
      setExit(await runClose(host, o, globals(cmd)));
    });
}
