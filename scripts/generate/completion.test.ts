// The shell completions, for real: bash sources the script and calls its function with
// COMP_WORDS, COMP_CWORD, COMP_LINE and COMP_POINT as bash sets them; zsh completes a
// line typed into an interactive zsh (zpty) with compinit, capturing what compadd is
// given. Profile names come from a `knock` on PATH (the current source, bundled) and a
// profile store of the test's own.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testProfile } from '@otpknock/client/testing';
import { REPO } from './outputs.js';
import { tool } from './test-tools.js';

const path = (p: string) => fileURLToPath(new URL(p, REPO));
let dir: string;
let bin: string;
let home: string;
let store: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'otpknock-completion-'));
  bin = join(dir, 'bin');
  home = join(dir, 'home');
  mkdirSync(bin);
  mkdirSync(join(home, '.config', 'otpknock'), { recursive: true, mode: 0o700 });
  await build({
    entryPoints: [path('packages/client/src/cli.ts')],
    outfile: join(dir, 'knock.cjs'),
    bundle: true,
    platform: 'node',
    target: 'node20.19',
    format: 'cjs',
    conditions: ['source'],
    logLevel: 'error',
  });
  writeFileSync(
    join(bin, 'knock'),
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(dir, 'knock.cjs'))} "$@"\n`,
  );
  chmodSync(join(bin, 'knock'), 0o755);
  // The per-user store ($HOME/.config/otpknock/profiles.json) and one given with --config.
  const storeOf = (...names: string[]) =>
    JSON.stringify({ version: 1, profiles: Object.fromEntries(names.map((n) => [n, testProfile(n)])) });
  writeFileSync(
    join(home, '.config', 'otpknock', 'profiles.json'),
    storeOf('alpha', 'beta.example.org', '2001:db8::7'),
    { mode: 0o600 },
  );
  store = join(dir, 'team.json');
  writeFileSync(store, storeOf('gamma', 'gw-1'), { mode: 0o600 });
  writeFileSync(join(dir, 'secret.key'), 'x', { mode: 0o600 });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The profile names in the per-user store, as completion lists them, and knock's commands.
const PROFILES = ['2001:db8::7', 'alpha', 'beta.example.org'];
const COMMANDS = ['open', 'proxy', 'close', 'print', 'add', 'import', 'list', 'remove', 'rm', 'help'];

/** `pathFirst`: a directory searched before the test's bin (the Debian layouts below). */
const env = (pathFirst?: string) => ({
  PATH: `${pathFirst ? `${pathFirst}:` : ''}${bin}:/usr/bin:/bin`,
  HOME: home,
  XDG_CONFIG_HOME: join(home, '.config'),
  LC_ALL: 'C',
});

/**
 * Debian's otpknock-client: the client is otpknock, and knock is either the same file
 * (the alternative) or, with Debian's knockd installed, knockd's own client.
 */
function debianLayout(knock: 'otpknock' | 'knockd'): string {
  const d = join(dir, `debian-${knock}`);
  mkdirSync(d, { recursive: true });
  rmSync(join(d, 'otpknock'), { force: true });
  rmSync(join(d, 'knock'), { force: true });
  symlinkSync(join(bin, 'knock'), join(d, 'otpknock'));
  if (knock === 'otpknock') symlinkSync(join(d, 'otpknock'), join(d, 'knock'));
  // knockd's knock is a compiled program: any ELF binary stands in for it.
  else copyFileSync('/bin/true', join(d, 'knock'));
  return d;
}

/** Words as bash splits a line for completion: at blanks, and at : and = (COMP_WORDBREAKS). */
function compWords(line: string): string[] {
  const words = line
    .split(/\s+/)
    .filter((w) => w !== '')
    .flatMap((w) => w.match(/[:=]+|[^:=]+/g)!);
  return /\s$/.test(line) ? [...words, ''] : words;
}

/** COMPREPLY for a line with the cursor at its end. */
function bash(script: string, line: string, pathFirst?: string): string[] {
  const words = compWords(line);
  const program = `
source ${JSON.stringify(path(script))}
COMP_WORDS=(${words.map((w) => `'${w.replaceAll("'", "'\\''")}'`).join(' ')})
COMP_CWORD=${words.length - 1}
COMP_LINE='${line.replaceAll("'", "'\\''")}'
COMP_POINT=\${#COMP_LINE}
fn=$(complete -p ${words[0]} | sed 's/.* -F \\([^ ]*\\) .*/\\1/')
"$fn" ${words[0]} "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', program], {
    cwd: dir,
    env: env(pathFirst),
    encoding: 'utf8',
  });
  return out.split('\n').filter((l) => l !== '');
}

describe('bash completion', () => {
  it('knock: commands and profile names at the first word', () => {
    expect(bash('packaging/completion/bash/knock', 'knock ')).toEqual([...PROFILES, ...COMMANDS]);
    expect(bash('packaging/completion/bash/knock', 'knock p')).toEqual(['proxy', 'print']);
    expect(bash('packaging/completion/bash/knock', 'knock b')).toEqual(['beta.example.org']);
  });

  it('knock: profile names after the commands that take HOST, from the --config store when one is given', () => {
    expect(bash('packaging/completion/bash/knock', 'knock open ')).toEqual(PROFILES);
    expect(bash('packaging/completion/bash/knock', 'knock -v proxy a')).toEqual(['alpha']);
    expect(bash('packaging/completion/bash/knock', `knock --config ${store} print `)).toEqual(['gamma', 'gw-1']);
    expect(bash('packaging/completion/bash/knock', `knock rm --config=${store} g`)).toEqual(['gamma', 'gw-1']);
    // HOST given: proxy's PORT and add's new name are not profile names.
    expect(bash('packaging/completion/bash/knock', 'knock proxy alpha ')).toEqual([]);
    expect(bash('packaging/completion/bash/knock', 'knock add ')).toEqual([]);
  });

  it('knock: an IPv6 profile name, which bash splits at its colons, completes after the last one', () => {
    expect(bash('packaging/completion/bash/knock', 'knock 2001:db8:')).toEqual([':7']);
    expect(bash('packaging/completion/bash/knock', 'knock 2001:d')).toEqual(['db8::7']);
  });

  it("knock: each command's options, the program's --config among them, and none of another command's", () => {
    const open = bash('packaging/completion/bash/knock', 'knock open -');
    expect(open).toEqual(
      expect.arrayContaining(['--no-wait', '-t', '--timeout', '--code', '-4', '--ipv6', '--config', '--help']),
    );
    expect(open).not.toContain('--secret-file');
    expect(bash('packaging/completion/bash/knock', 'knock alpha --t')).toEqual(['--timeout']); // knock HOST is knock open HOST
    expect(bash('packaging/completion/bash/knock', 'knock list --')).toEqual([
      '--json',
      '--names',
      '--help',
      '--config',
    ]);
    expect(bash('packaging/completion/bash/knock', 'knock --')).toEqual(['--version', '--config', '--help']);
  });

  it('knock: option values — choices, files — and an option value is not taken for a command', () => {
    expect(bash('packaging/completion/bash/knock', 'knock add h --method ')).toEqual([
      'time',
      'list-modulo',
      'prng',
      'static',
    ]);
    expect(bash('packaging/completion/bash/knock', 'knock add h --algorithm=SHA')).toEqual([
      'SHA1',
      'SHA256',
      'SHA512',
    ]);
    expect(bash('packaging/completion/bash/knock', 'knock add h --secret-file sec')).toEqual(['secret.key']);
    expect(bash('packaging/completion/bash/knock', 'knock --config tea')).toEqual(['team.json']);
    expect(bash('packaging/completion/bash/knock', 'knock open -t 5 ')).toEqual(PROFILES);
    expect(bash('packaging/completion/bash/knock', 'knock help ')).toEqual(COMMANDS);
  });

  it('otpknockd: commands, subcommands, their options and argument words', () => {
    const s = 'packaging/completion/bash/otpknockd';
    expect(bash(s, 'otpknockd ')).toEqual([
      'run',
      'render',
      'check',
      'open',
      'close',
      'mode',
      'user',
      'status',
      'why',
      'unban',
      'doctor',
      'apply',
      'confirm',
      'revert',
      'fleet',
      'help',
    ]);
    expect(bash(s, 'otpknockd fleet ')).toEqual([
      'init',
      'server',
      'enrol',
      'enroll',
      'grant',
      'revoke',
      'disable',
      'enable',
      'remove',
      'rotate',
      'uri',
      'list',
      'help',
    ]);
    expect(bash(s, 'otpknockd user ')).toEqual(['add', 'list', 'remove', 'disable', 'enable', 'rotate', 'uri', 'help']);
    expect(bash(s, 'otpknockd user add bob --')).toEqual([
      '--config',
      '--service',
      '--host',
      '--issuer',
      '--code-mode',
      '--no-qr',
      '--json',
      '--help',
    ]);
    expect(bash(s, 'otpknockd mode ')).toEqual(['knock', 'open', 'closed']);
    expect(bash(s, 'otpknockd run --log-format ')).toEqual(['auto', 'text', 'json']);
    expect(bash(s, 'otpknockd apply --confirm-within 2m -')).toEqual(
      expect.arrayContaining(['-c', '--config', '--confirm-within']),
    );
  });

  it('sources cleanly under set -u and leaves nothing but its functions behind', () => {
    for (const s of ['packaging/completion/bash/knock', 'packaging/completion/bash/otpknockd']) {
      const r = spawnSync('bash', ['--norc', '-uc', `source ${JSON.stringify(path(s))} && complete -p`], {
        encoding: 'utf8',
        env: env(),
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(
        s.endsWith('knockd')
          ? /^complete -F _otpknockd otpknockd\n$/
          : /^complete -F _knock otpknock\ncomplete -F _knock knock\n$/,
      );
    }
  });

  it("knock as Debian installs it: otpknock completes; knock too, unless it is knockd's (then bash's default)", () => {
    const s = 'packaging/completion/bash/knock';
    for (const layout of ['otpknock', 'knockd'] as const) {
      const d = debianLayout(layout);
      expect(bash(s, 'otpknock ', d), layout).toEqual([...PROFILES, ...COMMANDS]);
      expect(bash(s, 'otpknock p', d), layout).toEqual(['proxy', 'print']);
      expect(bash(s, 'knock p', d), layout).toEqual(layout === 'otpknock' ? ['proxy', 'print'] : []);
    }
  });
});

/**
 * What an interactive zsh offers for `line`: the completion system (compinit) with the
 * generated function on $fpath, TAB typed through a pseudo-terminal; a compadd wrapper
 * prints each match. TAB runs a widget that prints a marker when the completion ends, and
 * the line is killed only after it: typed ahead of the completion, the kill raced it (under
 * load zsh then offered nothing). A second marker ends the read.
 */
const ZSH_CAPTURE = `
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1='' PROMPT=''; fpath=(\${(q)1} \\$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z 'zstyle ":completion:*" list-grouped false; zstyle ":completion:*" insert-tab false'
zpty -w z 'compadd() { if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "$@"; return $?; fi; typeset -a __hits; builtin compadd -A __hits "$@"; (( $#__hits )) || return 1; local h; for h in $__hits; do print -r -- "<<$h>>"; done; builtin compadd "$@" }'
zpty -w z '_capture_complete() { _main_complete "$@"; local r=$?; print -r -- END-$((6*7)); return r }'
zpty -w z 'zle -C capture-complete complete-word _capture_complete; bindkey "^I" capture-complete'
zpty -w z 'print -r -- READY-$((6*7))'
zpty -r z out '*READY-42*' || exit 3
zpty -w -n z "$2"$'\\t'
zpty -r z hits '*END-42*' || exit 5
zpty -w z $'\\C-u'"print -r -- DONE-\\$((6*7))"
zpty -r z out '*DONE-42*' || exit 4
zpty -d z
print -r -- "$hits" | grep -o '<<[^>]*>>' | sed 's/^<<//; s/>>$//' | sort -u
`;

function zsh(line: string, pathFirst?: string): string[] {
  const out = execFileSync('zsh', ['-f', '-c', ZSH_CAPTURE, 'capture', path('packaging/completion/zsh'), line], {
    cwd: dir,
    env: env(pathFirst),
    encoding: 'utf8',
    timeout: 20_000,
  });
  return out.split('\n').filter((l) => l !== '');
}

describe('zsh completion', () => {
  const zshHere = tool('zsh', 'the zsh completion');

  it.skipIf(!zshHere)('is valid zsh (zsh -n)', () => {
    for (const f of ['_knock', '_otpknockd'])
      expect(spawnSync('zsh', ['-n', path(`packaging/completion/zsh/${f}`)], { encoding: 'utf8' }).stderr).toBe('');
  });

  it.skipIf(!zshHere)(
    'knock: commands and profile names, options, values',
    () => {
      expect(zsh('knock ')).toEqual(
        [
          '2001:db8::7',
          'add',
          'alpha',
          'beta.example.org',
          'close',
          'help',
          'import',
          'list',
          'open',
          'print',
          'proxy',
          'remove',
          'rm',
        ].sort(),
      );
      expect(zsh(`knock --config ${store} close `)).toEqual(['gamma', 'gw-1']);
      expect(zsh('knock open -4 --')).toEqual([
        '--code',
        '--config',
        '--delay',
        '--help',
        '--no-wait',
        '--port',
        '--quiet',
        '--retries',
        '--timeout',
        '--verbose',
      ]); // --ipv6 conflicts with -4
      expect(zsh('knock alpha --ti')).toEqual(['--timeout']);
      expect(zsh('knock add h --method ')).toEqual(['list-modulo', 'prng', 'static', 'time']);
    },
    60_000,
  );

  it.skipIf(!zshHere)(
    "knock as Debian installs it: otpknock completes; knock too, unless it is knockd's (then files)",
    () => {
      const ours = debianLayout('otpknock');
      expect(zsh('otpknock ', ours)).toEqual(zsh('knock '));
      expect(zsh('knock pr', ours)).toEqual(['print', 'proxy']);
      const knockd = debianLayout('knockd');
      expect(zsh('otpknock pr', knockd)).toEqual(['print', 'proxy']);
      // knockd's knock: the files of the working directory, none of otpknock's words.
      const offered = zsh('knock ', knockd);
      expect(offered).toEqual(expect.arrayContaining(['secret.key', 'team.json']));
      expect(offered).not.toContain('proxy');
      expect(offered).not.toContain('alpha');
    },
    60_000,
  );

  it.skipIf(!zshHere)(
    'otpknockd: subcommands of user, their options, mode words',
    () => {
      expect(zsh('otpknockd user ')).toEqual(['add', 'disable', 'enable', 'help', 'list', 'remove', 'rotate', 'uri']);
      expect(zsh('otpknockd user add bob --s')).toEqual(['--service']);
      expect(zsh('otpknockd mode ')).toEqual(['closed', 'knock', 'open']);
    },
    60_000,
  );
});
