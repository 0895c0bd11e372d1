// The otpknockd command tree (commander): every subcommand, its options and help, and
// no parsing. cli.ts runs it; scripts/generate walks it for the man page and the shell
// completions, so --help, otpknockd(8) and completion say the same.
import { Command } from 'commander';
import { QUOTE_MAX_CHARS, quote } from '@otpknock/shared';
import { registerRender } from './commands/render.js';
import { registerRun } from './commands/run.js';
import { registerManual } from './commands/manual.js';
import { registerUser } from './commands/user.js';
import { registerStatus } from './commands/status.js';
import { registerDoctor } from './commands/doctor.js';
import { registerApply } from './commands/apply.js';
import { registerFleet } from './commands/fleet.js';
import { registerWhy } from './commands/why.js';
import { registerUnban } from './commands/unban.js';
import pkg from '../package.json' with { type: 'json' };

/** The package's version, from its package.json (inlined by the build; scripts/set-version.mjs sets it everywhere). */
export const VERSION: string = pkg.version;

/** The whole otpknockd command line, ready for parseAsync. */
export function buildProgram(): Command {
  const cmd = new Command('otpknockd')
    .description(
      'One-time-port knock server: keeps an nftables table whose kernel state machine opens protected services to valid knocks.',
    )
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, write) => write(boundArguments(s)) })
    .showHelpAfterError('(run with --help for usage)');
  registerRun(cmd);
  registerRender(cmd);
  registerManual(cmd);
  registerUser(cmd);
  registerStatus(cmd);
  registerWhy(cmd);
  registerUnban(cmd);
  registerDoctor(cmd);
  registerApply(cmd);
  registerFleet(cmd);
  return cmd;
}

/**
 * commander's own messages repeat the argument they refuse (unknown command '…'):
 * a long one, or one with control characters, is shown as quote() shows input.
 */
function boundArguments(message: string): string {
  return message.replace(/'([^'\n]*)'/g, (whole, inner: string) =>
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    Array.from(inner).length > QUOTE_MAX_CHARS || /[\u0000-\u001f\u007f-\u009f]/.test(inner) ? quote(inner) : whole,
  );
}
