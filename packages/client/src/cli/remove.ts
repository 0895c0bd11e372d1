// `knock remove HOST` (rm): delete a profile.
import type { Command } from 'commander';
import { globals, type SetExit } from './common.js';

export function registerRemove(program: Command, setExit: SetExit): void {
  program
    .command('remove <host>')
    .alias('rm')
    .summary('remove a profile')
    .addHelpText(
      'after',
      `
Example:
  knock remove myserver`,
    )
    .action(async (host: string, _o, cmd: Command) => {
      const { runRemove } = await import('../manage.js');
      setExit(await runRemove(host, globals(cmd)));
    });
}
