// otpknockd: the command line. Thin: the command tree is program.ts (each subcommand
// lives in commands/ and registers itself there); this file runs it and maps errors
// to exit codes.
import { CommanderError } from 'commander';
import { OtpknockError } from '@otpknock/shared';
import { EXIT } from './commands/common.js';
import { buildProgram } from './program.js';

/** Errors from the kernel side or the fleet directory are failures (1); everything else a person typed is usage (2). */
const FAILURE_CODES = new Set(['E_NFT', 'E_TABLE_TAKEN', 'E_NOT_BANNED', 'E_DIRECTORY']);

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
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

// A reader that went away (`otpknockd user list | head`) is not an error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.ok);
  throw error;
});

process.exitCode = await main(process.argv.slice(2));
