// Every file scripts/generate makes, with its content made now: the man pages and the
// shell completions, from the two commander programs and docs/*.md. The generator writes
// them; generate.test.ts fails when the committed copies differ.
import { readFileSync } from 'node:fs';
import { buildProgram as buildKnock, VERSION } from '@otpknock/client';
import { buildProgram as buildOtpknockd, MODES } from '@otpknock/server';
import { describeProgram, type CommandSpec } from './cli-spec.js';
import { commandManPage, fileManPage } from './man.js';
import { bashCompletion, zshCompletion, type CompletionHints } from './completion.js';

export const REPO = new URL('../../', import.meta.url);

export interface Output {
  /** Relative to the repository. */
  path: string;
  text: string;
}

/** A page of docs/ as the working tree has it. */
export const readDoc = (name: string): string => readFileSync(new URL(`docs/${name}`, REPO), 'utf8');

export function programs(): { knock: CommandSpec; otpknockd: CommandSpec } {
  return { knock: describeProgram(buildKnock(() => {})), otpknockd: describeProgram(buildOtpknockd()) };
}

/** What completion offers for values commander knows only by name. */
export const HINTS: { knock: CompletionHints; otpknockd: CompletionHints } = {
  // HOST of the commands that use a profile: the names `knock list --names` prints.
  // `add` and `import --name` make a new name: nothing to offer.
  knock: {
    profileArguments: { open: 'host', proxy: 'host', close: 'host', print: 'host', remove: 'host' },
    hostOptions: ['--address'],
    // Debian's otpknock-client installs the client as otpknock, and as knock only
    // where no other package has that name (knockd: docs/knock.md).
    otherName: 'otpknock',
  },
  otpknockd: { profileArguments: {}, hostOptions: ['--host'], argumentWords: { mode: { mode: MODES } } },
};

/** `doc` reads a page of docs/ (the working tree's by default). */
export function outputs(doc: (name: string) => string = readDoc): Output[] {
  const { knock, otpknockd } = programs();
  const source = `otpknock ${VERSION}`;
  const defaultConfig = otpknockd.commands
    .find((c) => c.name === 'run')
    ?.options.find((o) => o.long === '--config')?.default;
  if (defaultConfig === undefined)
    throw new Error('otpknockd run has no --config default to name in otpknockd.yaml(5)');
  return [
    {
      path: 'packaging/man/knock.1',
      text: commandManPage({ name: 'knock', section: 1, manual: 'User Commands', source }, knock, doc('knock.md')),
    },
    {
      path: 'packaging/man/otpknockd.8',
      text: commandManPage(
        { name: 'otpknockd', section: 8, manual: 'System Administration', source },
        otpknockd,
        doc('otpknockd.md'),
      ),
    },
    {
      path: 'packaging/man/otpknockd.yaml.5',
      text: fileManPage(
        { name: 'otpknockd.yaml', section: 5, manual: 'File Formats', source },
        {
          description: 'configuration file of otpknockd, the one-time-port knock server',
          files: [JSON.parse(defaultConfig) as string],
          seeAlso: ['otpknockd(8)', 'knock(1)', 'nft(8)'],
        },
        doc('configuration.md'),
      ),
    },
    { path: 'packaging/completion/bash/knock', text: bashCompletion(knock, HINTS.knock) },
    { path: 'packaging/completion/bash/otpknockd', text: bashCompletion(otpknockd, HINTS.otpknockd) },
    { path: 'packaging/completion/zsh/_knock', text: zshCompletion(knock, HINTS.knock) },
    { path: 'packaging/completion/zsh/_otpknockd', text: zshCompletion(otpknockd, HINTS.otpknockd) },
  ];
}
