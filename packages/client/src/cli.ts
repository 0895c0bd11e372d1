// `knock`: the command line. Each subcommand registers itself from cli/ (options and
// help); only commander and the error module load up front, and each command imports
// its own modules when it runs, so `knock --help` and `knock HOST` do not pay for the
// profile-management code.
import { CommanderError } from 'commander';
import { describeError, EXIT } from './errors.js';
import { buildProgram } from './program.js';

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    // commander's own errors (unknown option, missing argument) have printed their
    // message already; they are usage errors: exit 2. --help and --version exit 0.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    const { message, exitCode } = describeError(error);
    process.stderr.write(`knock: ${message}\n`);
    return exitCode;
  }
  return code;
}

// A reader that went away (`knock --help | head`, ssh closing a proxy's pipe) is not
// an error of ours: stop quietly instead of dying on an unhandled EPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.OK);
  throw error;
});

// Exit explicitly: `knock proxy` leaves stdin open, and nothing else should linger.
// (No top-level await: the bundle is CommonJS, see scripts/build.mjs.)
void main().then((code) => process.exit(code));
