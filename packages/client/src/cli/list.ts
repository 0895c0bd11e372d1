// `knock list`: the profiles, never their secrets.
import { Option, type Command } from 'commander';
import { globals, type SetExit } from './common.js';

export function registerList(program: Command, setExit: SetExit): void {
  program
    .command('list')
    .summary('list profiles (never secrets)')
    .option('--json', 'print the profiles as JSON (without secrets)')
    .addOption(
      new Option('--names', 'print only the profile names, one per line (for scripts and shell completion)').conflicts(
        'json',
      ),
    )
    .addHelpText(
      'after',
      `
Example:
  knock list
  knock --config ./team.json list --json
  knock list --names`,
    )
    .action(async (o, cmd: Command) => {
      const { runList } = await import('../manage.js');
      setExit(await runList(o, globals(cmd)));
    });
}
