// `otpknockd apply`, `confirm` and `revert`: change the running daemon's config
// with an automatic way back (like iptables-apply). See apply/apply.ts.
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { parseDurationArgument } from '../config/index.js';
import {
  ApplyError,
  CONFIRM_WITHIN,
  applyConfig,
  confirmApply,
  isStale,
  revertApply,
  runWatchdog,
  stateDirOf,
} from '../apply/apply.js';
import { readPending } from '../apply/pending.js';
import { runningDaemon } from '../apply/daemon-state.js';
import { audited } from '../audit/operator.js';
import { DEFAULT_CONFIG, EXIT } from './common.js';

/** ApplyErrors are failures (exit 1) a person can act on; everything else goes to cli.ts. */
async function reportApplyErrors(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof ApplyError)) throw err;
    process.stderr.write(`otpknockd: ${err.message}\n`);
    process.exitCode = EXIT.failure;
  }
}

async function stateDirFrom(opts: { stateDir?: string; config: string }): Promise<string> {
  return opts.stateDir ?? (await stateDirOf(opts.config));
}

export function registerApply(program: Command): void {
  program
    .command('apply')
    .description(
      'Install a new config for the running daemon and go back to the previous one automatically unless "otpknockd confirm" runs in time (like iptables-apply).',
    )
    .requiredOption('-c, --config <file>', 'the NEW config file (the live one is the file the daemon was started with)')
    .requiredOption(
      '--confirm-within <duration>',
      'time to confirm before the previous config comes back, e.g. 60s or 5m (5s to 1h)',
    )
    .addHelpText(
      'after',
      `
What happens:
  1. FILE is validated as a whole and checked with nft -c; if anything is wrong,
     nothing changes (exit 2 for a config error, 1 for nft).
  2. The live config (the file the running daemon reads) is copied to
     STATE_DIR/apply/previous.yaml, and a detached watchdog is started.
  3. FILE is copied over the live config and the daemon reloads (SIGHUP).
  4. Unless "otpknockd confirm" runs within DURATION, the watchdog copies the
     previous config back and the daemon reloads it.
  Established connections are never cut, by the new config or by the revert.

Examples:
  cp /etc/otpknock/otpknockd.yaml /root/new.yaml && vi /root/new.yaml
  otpknockd apply --config /root/new.yaml --confirm-within 2m
  knock myserver && ssh myserver true && otpknockd confirm`,
    )
    .action(async (opts: { config: string; confirmWithin: string }) => {
      const ms = parseDurationArgument(opts.confirmWithin, '--confirm-within', CONFIRM_WITHIN); // a usage error (exit 2), before anything is touched
      await reportApplyErrors(async () => {
        // Audited in the state dir the new file names (apply requires it to be the daemon's).
        const stateDir = await stateDirOf(opts.config);
        const daemon = await runningDaemon(stateDir);
        await audited(
          stateDir,
          'apply',
          { target: resolve(opts.config), details: { confirmWithinMs: ms } },
          () =>
            applyConfig({
              configFile: opts.config,
              confirmWithinMs: ms,
              selfArgv: [...process.execArgv, process.argv[1] ?? ''],
              print: (l) => process.stdout.write(`${l}\n`),
            }),
          {
            describe: ({ pending }) => ({
              live: pending.live,
              backup: pending.backup,
              deadline: new Date(pending.deadline).toISOString(),
            }),
            // ApplyErrors come once it acts. A file that does not validate (config or nft) changed
            // nothing: refused, in the audit of the daemon it was meant for; with no daemon running
            // for that state_dir there is nothing it was refused for, and no audit to go to.
            outcome: (e) => (e instanceof ApplyError ? 'failed' : daemon === undefined ? 'unrecorded' : 'refused'),
          },
        );
      });
    });

  const stateOptions = (cmd: Command) =>
    cmd
      .option('-c, --config <file>', 'the live config file, to find its state_dir', DEFAULT_CONFIG)
      .option('--state-dir <dir>', "the daemon's state directory (default: the config's state_dir)");

  stateOptions(
    program
      .command('confirm')
      .description('Keep the config installed by "otpknockd apply": stop its automatic revert.'),
  ).action(async (opts: { config: string; stateDir?: string }) => {
    await reportApplyErrors(async () => {
      const dir = await stateDirFrom(opts);
      const p = await audited(dir, 'confirm', {}, () => confirmApply(dir), {
        describe: (c) => ({ live: c.live, applied: c.applied }),
      });
      process.stdout.write(
        `otpknockd confirm: ${p.live} keeps the config applied from ${p.applied}; the previous one stays in ${p.backup}\n`,
      );
    });
  });

  stateOptions(
    program
      .command('revert')
      .description('Go back now to the config that was live before a pending "otpknockd apply", and reload the daemon.')
      .option(
        '--if-stale',
        "only when the apply's watchdog is gone (after a reboot or a kill); for ExecStartPre in the systemd unit",
      ),
  ).action(async (opts: { config: string; stateDir?: string; ifStale?: boolean }) => {
    await reportApplyErrors(async () => {
      const dir = await stateDirFrom(opts);
      const p = await readPending(dir);
      if (p === undefined) {
        if (opts.ifStale) return;
        throw new ApplyError(`nothing to revert: no apply is pending in ${dir}`);
      }
      if (opts.ifStale && !(await isStale(p))) return;
      const o = await revertApply(dir, p.id, opts.ifStale ? 'its watchdog was gone' : 'reverted by hand');
      if (o === undefined)
        throw new ApplyError('nothing to revert: the pending apply was confirmed or reverted meanwhile');
      process.stdout.write(`otpknockd revert: ${o.live} holds the previous config again (daemon: ${o.reload})\n`);
    });
  });

  program.addCommand(
    new Command('apply-watchdog')
      .description('internal: the detached process that reverts an unconfirmed apply')
      .addOption(new Option('--state-dir <dir>').makeOptionMandatory())
      .addOption(new Option('--id <id>').makeOptionMandatory())
      .action(async (opts: { stateDir: string; id: string }) => {
        await runWatchdog(opts.stateDir, opts.id);
      }),
    { hidden: true },
  );
}
