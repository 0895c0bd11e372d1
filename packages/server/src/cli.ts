// otpknockd: the command line. Thin: each subcommand lives in commands/ and
// registers itself here; this file maps errors to exit codes.
import { Command, CommanderError } from 'commander';
import { OtpknockError, QUOTE_MAX_CHARS, quote } from '@otpknock/shared';
import { EXIT } from './commands/common.js';
import { registerRender } from './commands/render.js';
import { registerRun } from './commands/run.js';
import { registerManual } from './commands/manual.js';
import { registerUser } from './commands/user.js';
import { registerStatus } from './commands/status.js';
import { registerDoctor } from './commands/doctor.js';
import { registerApply } from './commands/apply.js';

/** Kept equal to the root package.json's version. */
const VERSION = '0.1.0';

function program(): Command {
  const cmd = new Command('otpknockd')
    .description('One-time-port knock server: keeps an nftables table whose kernel state machine opens protected services to valid knocks.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, write) => write(boundArguments(s)) })
    .showHelpAfterError('(run with --help for usage)');
  registerRun(cmd);
  registerRender(cmd);
  registerManual(cmd);
  registerUser(cmd);
  registerStatus(cmd);
  registerDoctor(cmd);
  registerApply(cmd);
  return cmd;
}

/**
 * commander's own messages repeat the argument they refuse (unknown command '…'):
 * a long one, or one with control characters, is shown as quote() shows input.
 */
function boundArguments(message: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return message.replace(/'([^'\n]*)'/g, (whole, inner: string) => (Array.from(inner).length > QUOTE_MAX_CHARS || /[\u0000-\u001f\u007f-\u009f]/.test(inner) ? quote(inner) : whole));
}

/** Errors from the kernel side are failures (1); everything else a person typed is usage (2). */
const FAILURE_CODES = new Set(['E_NFT', 'E_TABLE_TAKEN']);

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
      return FAILURE_CODES.has(err.code) ? EXIT.failure : EXIT.usage;
    }
    // Not an error about input (those are OtpknockErrors): a bug, worth its stack trace.
    process.stderr.write(`otpknockd: internal error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failure;
  }
}

process.exitCode = await main(process.argv.slice(2));
