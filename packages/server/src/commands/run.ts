// `otpknockd run`: the daemon in the foreground, with its signals.
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadConfig } from '../config/index.js';
import type { LogFormat } from '../config/types.js';
import { Daemon } from '../daemon.js';
import { attachTeamFeatures } from '../status/attach.js';
import { createLogger, resolveLogFormat } from '../log.js';
import { NftDriver } from '../nft/driver.js';
import { DEFAULT_CONFIG, EXIT } from './common.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Run in the foreground (systemd style): load the table, rotate it at every window boundary, remove it on SIGTERM/SIGINT, reload on SIGHUP.')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
    .addOption(new Option('--log-format <format>', "log line format (default: the config's log_format)").choices(['auto', 'text', 'json']))
    .addHelpText(
      'after',
      `
Examples:
  otpknockd run --config /etc/otpknock/otpknockd.yaml
  systemctl start otpknockd      # see docs/operations.md

Signals:
  SIGTERM, SIGINT  remove the table (unless keep_table_on_stop) and exit 0
  SIGHUP           re-read the config; an invalid one is reported and the old one keeps running`,
    )
    .action(async (opts: { config: string; logFormat?: LogFormat }) => {
      const config = await loadConfig(opts.config);
      const log = createLogger(resolveLogFormat(opts.logFormat ?? config.logFormat, process.stderr.isTTY === true));
      const daemon = new Daemon(config, new NftDriver(), log);
      const team = attachTeamFeatures(daemon, opts.config, log); // user store, status file, audit
      await daemon.start();
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info('signal', `received ${signal}, stopping`);
          team.stop();
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
}
