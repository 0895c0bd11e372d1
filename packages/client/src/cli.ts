// `knock`: the command line. Each subcommand registers itself from cli/ (options and
// help); only commander and the error module load up front, and each command imports
// its own modules when it runs, so `knock --help` and `knock HOST` do not pay for the
// profile-management code (conf and its validator).
import { Command, CommanderError } from 'commander';
import { boundArguments, describeError, EXIT } from './errors.js';
import { EXIT_CODES, type SetExit } from './cli/common.js';
import { registerOpen } from './cli/open.js';
import { registerProxy } from './cli/proxy.js';
import { registerClose } from './cli/close.js';
import { registerPrint } from './cli/print.js';
import { registerAdd } from './cli/add.js';
import { registerImport } from './cli/import.js';
import { registerList } from './cli/list.js';
import { registerRemove } from './cli/remove.js';

const VERSION = '0.1.0';

const DESCRIPTION =
  'Knock on a server protected by otpknockd: send the one-time UDP port sequence\n' +
  "derived from a shared secret and the clock, then wait until the protected\n" +
  'service (ssh by default) accepts a connection.';

const HELP_AFTER = `
HOST is a profile name, a profile's address, or an ssh alias whose HostName is one
of those (looked up with \`ssh -G HOST\`). \`knock HOST\` is short for \`knock open HOST\`.
${EXIT_CODES}

Examples:
  knock add myserver --address 203.0.113.5 --secret-file ~/.otpknock/myserver.key
  knock import 'otpauth://totp/...'          # what \`otpknockd user add\` printed
  knock myserver && ssh myserver
  knock print myserver --json
  knock close myserver

  # ~/.ssh/config: knock on every connection, no nc and no sleep needed
  Host myserver
      HostName 203.0.113.5
      ProxyCommand knock proxy %h %p

Files:
  ~/.config/otpknock/profiles.json    profiles (mode 0600; $XDG_CONFIG_HOME is honoured)
  ~/.local/state/otpknock/used-windows.json
                                      windows already knocked, per secret (no secrets)

See docs/knock.md for the full reference.`;

function buildProgram(setExit: SetExit): Command {
  const program = new Command('knock');
  program
    .description(DESCRIPTION)
    .version(VERSION, '-V, --version')
    .option('--config <file>', 'profile file to use instead of the per-user store (~/.config/otpknock/profiles.json)')
    .exitOverride()
    .configureOutput({ outputError: (message, write) => write(boundArguments(message)) })
    .showHelpAfterError('(see knock --help)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .addHelpText('after', HELP_AFTER);
  // In this order in `knock --help`.
  registerOpen(program, setExit);
  registerProxy(program, setExit);
  registerClose(program, setExit);
  registerPrint(program, setExit);
  registerAdd(program, setExit);
  registerImport(program, setExit);
  registerList(program, setExit);
  registerRemove(program, setExit);
  return program;
}

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

// Exit explicitly: `knock proxy` leaves stdin open, and nothing else should linger.
// (No top-level await: the bundle is CommonJS, see scripts/build.mjs.)
void main().then((code) => process.exit(code));
