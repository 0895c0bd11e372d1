// `otpknockd render` and `otpknockd check`: look without touching.
import { parseInstant } from '@otpknock/shared';
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { fullRuleset } from '../ruleset/full-load.js';
import { NftDriver } from '../nft/driver.js';
import { loadForLive } from '../apply/live-target.js';
import { profileChangesText } from '../users/profile-changes.js';
import { noUsersText } from '../users/no-users.js';
import { DEFAULT_CONFIG } from './common.js';

export function registerRender(program: Command): void {
  program
    .command('render')
    .description('Print the exact nft script that "run" would load at an instant (default: now). Changes nothing.')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
    .option('--at <time>', 'instant to render for: ISO date or unix seconds, 1970 to 9999 (default: now)')
    .addHelpText(
      'after',
      `
Examples:
  otpknockd render --config otpknockd.yaml | less
  otpknockd render --config otpknockd.yaml --at 2026-11-25T10:00:00Z | nft -c -f -`,
    )
    .action(async (opts: { config: string; at?: string }) => {
      const at = opts.at === undefined ? Date.now() : parseInstant(opts.at);
      const config = await loadConfig(opts.config);
      process.stdout.write(fullRuleset(config, at).script);
    });

  program
    .command('check')
    .description(
      'Validate a config file and, with --nft, have nft check the ruleset it produces (nft -c). Changes nothing.',
    )
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
    .option('--nft', 'also run the rendered ruleset through `nft -c`')
    .addHelpText(
      'after',
      `
When a daemon runs with another file of the same state_dir (FILE is a copy to
apply), FILE is checked as it will be at the live file's place: relative paths
resolve against the live file's directory, and the users whose knock profile
changes (who must import a new URI: otpknockd user uri NAME) are named.`,
    )
    .action(async (opts: { config: string; nft?: boolean }) => {
      const { config, baseDir, changes } = await loadForLive(opts.config);
      if (opts.nft) await new NftDriver().check(fullRuleset(config, Date.now()).script);
      const out = [`${config.file}: OK (${config.users.length} users, ${config.services.length} services)`];
      if (baseDir !== undefined)
        out.push(`  relative paths resolved against ${baseDir}, the directory of the running daemon's config`);
      if (changes.length > 0) out.push(`  note: ${profileChangesText(changes)}`);
      if (config.users.length === 0) out.push(`  note: ${noUsersText(config)}`);
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
