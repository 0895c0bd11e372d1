// `otpknockd run`: the daemon in the foreground, with its signals.
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadConfig } from '../config/index.js';
import type { LogFormat } from '../config/types.js';
import { systemClock } from '../daemon/clock.js';
import { ConsumedSequences } from '../daemon/consumed.js';
import { Daemon } from '../daemon/daemon.js';
import { createTeamFeatures } from '../status/attach.js';
import { recordDaemon } from '../apply/daemon-state.js';
import { resolve as resolvePath } from 'node:path';
import { createLogger, resolveLogFormat } from '../log.js';
import { NftDriver } from '../nft/driver.js';
import { TableLocks } from '../state/table-lock.js';
import { DEFAULT_CONFIG, EXIT } from './common.js';
import { startFleet } from '../fleet/attach.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description(
      'Run in the foreground (systemd style): load the table, rotate it at every window boundary, stop on SIGTERM/SIGINT, reload on SIGHUP.',
    )
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
    .addOption(
      new Option('--log-format <format>', "log line format (default: the config's log_format)").choices([
        'auto',
        'text',
        'json',
      ]),
    )
    .addHelpText(
      'after',
      `
Examples:
  otpknockd run --config /etc/otpknock/otpknockd.yaml
  systemctl start otpknockd      # see docs/operations.md

Signals:
  SIGTERM, SIGINT  stop rotating and exit 0; the table stays (fail closed: only the
                   break-glass sequence and live grants open) unless keep_table_on_stop: false
  SIGHUP           re-read the config; an invalid one is reported and the old one keeps running

One daemon per table: a second run for the same table (in the same network
namespace) refuses with exit 2 and changes nothing. Used knocks are kept in
state_dir/consumed.json, so they stay used across stops, restarts and reboots.`,
    )
    .action(async (opts: { config: string; logFormat?: LogFormat }) => {
      // With a fleet, its directory is read once (bounded by fleet.timeout) before the
      // config's users are judged: a first start may have no users but the directory's.
      const first = await loadConfig(opts.config, { allowNoUsers: true });
      const earlyLog = createLogger(resolveLogFormat(opts.logFormat ?? first.logFormat, process.stderr.isTTY === true));
      const fleet = first.fleet === undefined ? undefined : await startFleet(first, earlyLog);
      const config = await loadConfig(opts.config);
      const configFile = resolvePath(opts.config);
      // One daemon per table: a second `run` refuses here, before it touches the
      // table, the pid file or the audit group.
      const tableLocks = new TableLocks({ pid: process.pid, config: configFile });
      await tableLocks.hold(config.table);
      const log = earlyLog;
      for (const note of config.fleetSkipped ?? []) log.warn('fleet', `directory user left out: ${note}`);
      // Used knocks: reported by the audit, carried by the daemon, kept in state_dir.
      const consumed = new ConsumedSequences(
        systemClock,
        () => config.stateDir,
        (m) => log.warn('state', m),
      );
      const team = createTeamFeatures(config, opts.config, log, consumed); // user store, status file, audit
      const daemon = new Daemon({
        config,
        nft: new NftDriver(),
        log,
        hooks: team.hooks,
        probeKernelAtStart: true,
        consumed,
        tableLocks,
      });
      // Directory changes apply at once, in place (the daemon re-reads fleet.json with the config).
      fleet?.run(() => {
        void daemon.updateUsers(async () => {
          const next = await loadConfig(opts.config);
          for (const note of next.fleetSkipped ?? []) log.warn('fleet', `directory user left out: ${note}`);
          return next;
        }, 'fleet');
      });
      // The pid file through which `otpknockd apply` finds us and sees reloads take.
      const pidFile = recordDaemon(config.stateDir, configFile, (m) => log.warn('state', m));
      // Signal handlers go in before the table is loaded: a SIGTERM that comes right
      // after the start (systemctl restart, a test) must stop us cleanly, not kill us.
      const stopped = new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          // `on`, not `once`: a handler that removed itself would let a library's
          // exit hook (signal-exit) see no listener left and re-raise the signal,
          // killing us mid-stop. A second signal while stopping is only noted.
          if (stopping) {
            log.info('signal', `received ${signal}, already stopping`);
            return;
          }
          stopping = true;
          log.info('signal', `received ${signal}, stopping`);
          team.stop();
          fleet?.stop();
          daemon
            .stop()
            .then(() => pidFile.remove())
            .then(resolve, (err: unknown) => {
              log.error('stop', (err as Error).message);
              process.exitCode = EXIT.failure;
              resolve();
            });
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
        process.on('SIGHUP', () => {
          log.info('signal', 'received SIGHUP, reloading the config');
          const before = daemon.currentConfig;
          void daemon
            .reload(() => loadConfig(opts.config))
            .then(() => pidFile.reloaded(daemon.currentConfig !== before, daemon.lastReloadProblem));
        });
      });
      await daemon.start().catch(async (err: unknown) => {
        await pidFile.remove();
        throw err;
      });
      await stopped;
    });
}
