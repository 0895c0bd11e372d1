// `otpknockd run`: the daemon in the foreground, with its signals.
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadConfig } from '../config/index.js';
import type { LogFormat } from '../config/types.js';
import { Daemon } from '../daemon.js';
import { attachTeamFeatures } from '../status/attach.js';
import { recordDaemon } from '../apply/daemon-state.js';
import { resolve as resolvePath } from 'node:path';
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
      daemon.probeKernelAtStart = true;
      const team = attachTeamFeatures(daemon, opts.config, log); // user store, status file, audit
      // The pid file through which `otpknockd apply` finds us and sees reloads take.
      const pidFile = recordDaemon(config.stateDir, resolvePath(opts.config), (m) => log.warn('state', m));
      // Signal handlers go in before the table is loaded: a SIGTERM that comes right
      // after the start (systemctl restart, a test) must stop us cleanly, not kill us.
      const stopped = new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info('signal', `received ${signal}, stopping`);
          team.stop();
          daemon.stop().then(() => pidFile.remove()).then(resolve, (err: unknown) => {
            log.error('stop', (err as Error).message);
            process.exitCode = EXIT.failure;
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        process.on('SIGHUP', () => {
          log.info('signal', 'received SIGHUP, reloading the config');
          const before = daemon.currentConfig;
          void daemon.reload(() => loadConfig(opts.config)).then(() => pidFile.reloaded(daemon.currentConfig !== before));
        });
      });
      await daemon.start().catch(async (err: unknown) => {
        await pidFile.remove();
        throw err;
      });
      await stopped;
    });
}
