// The knock command tree (commander): the program's options and help, and each
// subcommand registered from cli/; no parsing. cli.ts runs it; scripts/generate walks
// it for the man page and the shell completions, so --help, knock(1) and completion
// say the same. Loads only commander and the cli/ modules (nothing a command does).
import { Command } from 'commander';
import { boundArguments } from './errors.js';
import { EXIT_CODES, GIVE_UP_BOUND, type SetExit } from './cli/common.js';
import { registerOpen } from './cli/open.js';
import { registerProxy } from './cli/proxy.js';
import { registerClose } from './cli/close.js';
import { registerPrint } from './cli/print.js';
import { registerAdd } from './cli/add.js';
import { registerImport } from './cli/import.js';
import { registerList } from './cli/list.js';
import { registerRemove } from './cli/remove.js';
import pkg from '../package.json' with { type: 'json' };

/** The package's version, from its package.json (inlined by the build; scripts/set-version.mjs sets it everywhere). */
export const VERSION: string = pkg.version;

const DESCRIPTION =
  'Knock on a server protected by otpknockd: send the one-time UDP port sequence\n' +
  'derived from a shared secret and the clock, then wait until the protected\n' +
  'service (ssh by default) accepts a connection.';

const HELP_AFTER = `
HOST is a profile name, a profile's address, or an ssh alias whose HostName is one
of those (looked up with \`ssh -G HOST\`). \`knock HOST\` is short for \`knock open HOST\`.
${GIVE_UP_BOUND}
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

/** The whole knock command line, ready for parseAsync; `setExit` receives an action's exit code. */
export function buildProgram(setExit: SetExit): Command {
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
