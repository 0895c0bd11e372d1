// otpknockd: the command line. Thin: parse arguments, load the config, hand
// over to the daemon or the renderer, and map errors to exit codes.
import { Command, CommanderError, Option } from 'commander';
import { OtpknockError } from '@otpknock/shared';
import { loadConfig } from './config/index.js';
import { Daemon, fullRuleset } from './daemon.js';
import { createLogger, resolveLogFormat } from './log.js';
import { NftDriver } from './nft/driver.js';
import type { LogFormat } from './config/types.js';
import { parseInstant } from './instant.js';

export const DEFAULT_CONFIG = '/etc/otpknock/otpknockd.yaml';

/** Exit codes, documented in docs/otpknockd.md. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

function program(): Command {
  const cmd = new Command('otpknockd')
    .description('One-time-port knock server: keeps an nftables table whose kernel state machine opens protected services to valid knocks.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)');

  cmd
    .command('run')
    .description('Run in the foreground (systemd style): load the table, rotate it at every window boundary, remove it on SIGTERM/SIGINT, reload on SIGHUP.')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
    .addOption(new Option('--log-format <format>', 'log line format (default: the config\'s log_format)').choices(['auto', 'text', 'json']))
    .addHelpText('after', `
Examples:
  otpknockd run --config /etc/otpknock/otpknockd.yaml
  systemctl start otpknockd      # see docs/operations.md

Signals:
  SIGTERM, SIGINT  remove the table (unless keep_table_on_stop) and exit 0
  SIGHUP           re-read the config; an invalid one is reported and the old one keeps running`)
    .action(async (opts: { config: string; logFormat?: LogFormat }) => {
      const config = await loadConfig(opts.config);
      const log = createLogger(resolveLogFormat(opts.logFormat ?? config.logFormat, process.stderr.isTTY === true));
      const daemon = new Daemon(config, new NftDriver(), log);
      await daemon.start();
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info('signal', `received ${signal}, stopping`);
          daemon.stop().then(resolve, (err: unknown) => {
            log.error('stop', (err as Error).message);
            process.exitCode = EXIT.failure;
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        process.on('SIGHUP', () => {
          log.info('signal', 'received SIGHUP, reloading the config');
          void daemon.reload(() => loadConfig(opts.config));
        });
      });
    });

  cmd
    .command('render')
    .description('Print the exact nft script that "run" would load at an instant (default: now). Changes nothing.')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
    .option('--at <time>', 'instant to render for: ISO date or unix seconds')
    .addHelpText('after', `
Examples:
  otpknockd render --config otpknockd.yaml | less
  otpknockd render --config otpknockd.yaml --at 2026-11-25T10:00:00Z | nft -c -f -`)
    .action(async (opts: { config: string; at?: string }) => {
      const at = opts.at === undefined ? Date.now() : parseInstant(opts.at);
      const config = await loadConfig(opts.config);
      process.stdout.write(fullRuleset(config, at).script);
    });

  cmd
    .command('check')
    .description('Validate a config file and, with --nft, have nft check the ruleset it produces (nft -c). Changes nothing.')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
    .option('--nft', 'also run the rendered ruleset through `nft -c`')
    .action(async (opts: { config: string; nft?: boolean }) => {
      const config = await loadConfig(opts.config);
      if (opts.nft) await new NftDriver().check(fullRuleset(config, Date.now()).script);
      process.stdout.write(`${config.file}: OK (${config.users.length} users, ${config.services.length} services)\n`);
    });

  return cmd;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof OtpknockError) {
      process.stderr.write(`otpknockd: ${err.message}\n`);
      return err.code === 'E_NFT' || err.code === 'E_TABLE_TAKEN' ? EXIT.failure : EXIT.usage;
    }
    process.stderr.write(`otpknockd: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failure;
  }
}

process.exitCode = await main(process.argv.slice(2));
