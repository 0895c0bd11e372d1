// The built `otpknockd` as a child process, for bad input (issue #12 §4): every class
// gets a clear error naming what and where, exit 2, no stack trace, a bounded message,
// and nothing changed: no file in the user store, and `nft` never run (a stand-in on
// PATH records every call).
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeSecret, generateSecret, parseOtpauthUri } from '@otpknock/shared';
import { storeConfigFile } from '@otpknock/server/testing';

const here = dirname(fileURLToPath(import.meta.url));
let bin: string;
let buildDir: string;

// Bundled as scripts/build.mjs does, so that the test runs the current source.
beforeAll(async () => {
  const cache = join(here, '..', 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  buildDir = mkdtempSync(join(cache, 'otpknockd-bin-'));
  bin = join(buildDir, 'otpknockd.mjs');
  await build({
    entryPoints: [join(here, 'cli.ts')],
    outfile: bin,
    bundle: true,
    platform: 'node',
    target: 'node20.19',
    format: 'esm',
    conditions: ['source'],
    banner: {
      js: "import { createRequire as __otpknockCreateRequire } from 'node:module';\nconst require = __otpknockCreateRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
}, 60_000);
afterAll(() => rmSync(buildDir, { recursive: true, force: true }));

let dir: string;
let cfg: string;
let store: string;
let nftLog: string;
beforeEach(() => {
  dir = mkdtempSync(join(here, '..', 'node_modules', '.cache', 'otpknockd-cli-'));
  store = join(dir, 'users.d');
  cfg = storeConfigFile(dir);
  // A stand-in for nft: records that it was run, and fails.
  mkdirSync(join(dir, 'bin'));
  nftLog = join(dir, 'nft.log');
  writeFileSync(
    join(dir, 'bin', 'nft'),
    `#!/bin/sh\necho "nft $*" >> '${nftLog}'\necho 'Error: this is a stand-in' >&2\nexit 1\n`,
  );
  chmodSync(join(dir, 'bin', 'nft'), 0o755);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The state_dir line every config here ends with: without it `check` and `apply` look for a
 * running daemon in the host's /var/lib/otpknock, and a daemon or an audited command writes there.
 */
const ownStateDir = () => `state_dir: ${dir}/state\n`;

/** Rewrites the config: service ssh and one user, `key` as YAML writes it, whose secret is in a 0600 file. */
function writeOneUserConfig(key: string): void {
  const secret = join(dir, 'alice.secret');
  writeFileSync(secret, `${encodeSecret(generateSecret())}\n`, { mode: 0o600 });
  // state_dir of its own: a refused user command is audited there.
  writeFileSync(cfg, `services:\n  ssh: { port: 22 }\nusers:\n  ${key}: { secret_file: ${secret} }\n${ownStateDir()}`, {
    mode: 0o600,
  });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function otpknockd(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: `${join(dir, 'bin')}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout: out, stderr: err });
    });
  });
}

/** Runs a command that must be refused: exit 2, one bounded message, nothing changed. */
async function refused(args: string[]): Promise<string> {
  const before = existsSync(store) ? readdirSync(store).sort() : [];
  const r = await otpknockd(args);
  expect(r.code, `${args.join(' ').slice(0, 200)}: ${r.stderr}`).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).not.toMatch(/\n\s+at |TypeError|internal error/);
  expect(r.stderr.length).toBeLessThan(1200);
  expect(existsSync(store) ? readdirSync(store).sort() : []).toEqual(before);
  expect(existsSync(nftLog), `nft was run: ${existsSync(nftLog) ? readFileSync(nftLog, 'utf8') : ''}`).toBe(false);
  return r.stderr;
}

const USER_RULE = '1 to 32 characters from a-z, 0-9, _, . and -, not starting with . or -';

describe('user names: one rule (shared) for every user command and the config', () => {
  const bad: [string, string][] = [
    ['.hidden', 'it starts with "."'],
    ['..', 'it starts with "."'],
    ['-rf', 'it starts with "-"'],
    ['Alice', 'it contains "A"'],
    ['a b', 'it contains " "'],
    ['../etc', 'it starts with "."'],
    ['a/b', 'it contains "/"'],
    ['a:b', 'it contains ":"'],
    ['a'.repeat(33), 'it is 33 characters long; at most 32 are allowed'],
    ['a'.repeat(100_000), 'it is 100000 characters long; at most 32 are allowed'],
    ['a\u001b[2J', 'it contains a control character'],
    ['', 'it is empty'],
  ];

  it.each(bad)('user add %j: %s', async (name, problem) => {
    const stderr = await refused(['user', 'add', '-c', cfg, '--no-qr', '--', name]);
    expect(stderr).toContain(`otpknockd: NAME: `);
    expect(stderr).toContain(`is not a user name: ${problem}. Use ${USER_RULE}.`);
    expect(stderr).not.toContain('\u001b');
  });

  // seven runs of the CLI each: more than the default 5 s on a loaded 2-core machine
  it.each(['remove', 'disable', 'enable', 'rotate'])(
    'user %s refuses the same names',
    async (verb) => {
      for (const [name, problem] of bad)
        expect(await refused(['user', verb, '-c', cfg, '--', name])).toContain(problem);
    },
    30_000,
  );

  it('a good name still works, and the URI it prints imports', async () => {
    const r = await otpknockd(['user', 'add', '-c', cfg, 'alice.b-2_x', '--host', 'gw.example.org', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { uri } = JSON.parse(r.stdout) as { uri: string };
    expect(parseOtpauthUri(uri)).toMatchObject({
      account: 'alice.b-2_x',
      host: 'gw.example.org',
      issuer: 'gw.example.org',
    });
    expect(readdirSync(store)).toEqual(['alice.b-2_x.yaml']);
  });

  it.each([
    ['.hidden', 'it starts with "."'],
    ['-x', 'it starts with "-"'],
    ['Bob', 'it contains "B"'],
  ])('config users: %j is refused by check, naming the line', async (name, problem) => {
    writeOneUserConfig(`"${name}"`);
    expect(await refused(['check', '-c', cfg])).toContain(
      `:4: users.${name}: invalid user name; expected ${USER_RULE}; ${problem}`,
    );
  });

  it('a user-store record whose file name is not a user name is refused by check (move it out)', async () => {
    mkdirSync(store, { mode: 0o700 });
    writeFileSync(
      join(store, '-x.yaml'),
      `name: "-x"\nsecret: ${encodeSecret(generateSecret())}\nsecret_created: 2026-01-01T00:00:00Z\n`,
      { mode: 0o600 },
    );
    expect(await refused(['check', '-c', cfg])).toMatch(
      /-x\.yaml: the file name is not a valid user name followed by \.yaml \(the name starts with "-"; .*\); move the file out of the store/,
    );
  });

  it('a secret_file path of 100,000 characters is repeated cut short', async () => {
    writeFileSync(
      cfg,
      `services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: /${'d'.repeat(100_000)} }\n${ownStateDir()}`,
      {
        mode: 0o600,
      },
    );
    expect(await refused(['check', '-c', cfg])).toContain(
      `users.alice.secret_file: cannot read "/${'d'.repeat(63)}…" (100001 characters): a path has at most 4096 characters`,
    );
  });

  it('a config value of 100,000 characters, or with control characters, is repeated cut short and escaped', async () => {
    const secret = `secret: ${encodeSecret(generateSecret())}`;
    writeFileSync(
      cfg,
      `table: "${'t'.repeat(100_000)}"\nservices:\n  ssh: { port: 22 }\nusers:\n  alice: { ${secret} }\n${ownStateDir()}`,
      { mode: 0o600 },
    );
    expect(await refused(['check', '-c', cfg])).toContain(
      `:1: table: expected 1 to 32 characters from a-z, A-Z, 0-9, _ and -, starting with a letter, got "${'t'.repeat(40)}…" (100000 characters)`,
    );
    writeFileSync(
      cfg,
      `table: "t\\e[2J"\nservices:\n  ssh: { port: 22 }\nusers:\n  alice: { ${secret} }\n${ownStateDir()}`,
      {
        mode: 0o600,
      },
    );
    expect(await refused(['check', '-c', cfg])).toContain('got "t\\u001b[2J"');
  });

  it('a config key of 100,000 characters is repeated cut short', async () => {
    // An explicit key (?): YAML refuses implicit keys over 1024 characters by itself.
    writeFileSync(
      cfg,
      `services:\n  ssh: { port: 22 }\nusers:\n  ? ${'u'.repeat(100_000)}\n  : { secret: ${encodeSecret(generateSecret())} }\n${ownStateDir()}`,
      { mode: 0o600 },
    );
    expect(await refused(['check', '-c', cfg])).toContain(
      `users."${'u'.repeat(64)}…" (100000 characters): invalid user name`,
    );
  });
});

describe('user add and rotate: --host, --issuer and --service', () => {
  it.each([
    [['--host', 'a b'], '--host: "a b" is not a host name or address: it contains " "'],
    [
      ['--host', 'fe80::1%eth0'],
      '--host: "fe80::1%eth0" is not a host name or address: it has a zone (scope) id "%eth0"',
    ],
    [['--host', 'h'.repeat(100_000)], 'it is 100000 characters long; at most 253 are allowed'],
    [['--issuer', 'acme:corp'], '--issuer: "acme:corp" is not an issuer or account: it contains ":"'],
    [['--issuer', 'i'.repeat(129)], 'it is 129 characters long; at most 128 are allowed'],
    [['--issuer', 'a\nb'], 'it contains a control character'],
  ])('%j', async (options, message) => {
    expect(await refused(['user', 'add', '-c', cfg, '--no-qr', 'alice', ...options])).toContain(message);
    expect(await refused(['user', 'rotate', '-c', cfg, '--no-qr', 'alice', ...options])).toContain(message);
  });

  it('a profile whose URI would be too long for knock import: refused, and the record is taken away again', async () => {
    const exclude = Array.from({ length: 4000 }, (_, i) => 10001 + i * 2).join(', ');
    writeFileSync(
      cfg,
      `user_store: users.d\nstate_dir: ${dir}/state\nknock: { exclude: [${exclude}] }\nservices:\n  ssh: { port: 22 }\n`,
      {
        mode: 0o600,
      },
    );
    expect(await refused(['user', 'add', '-c', cfg, '--no-qr', 'alice'])).toMatch(
      /profile: the URI would be \d+ characters long; at most 16384 are accepted by knock import/,
    );
  });

  it.each([[''], ['smtp'], ['x'.repeat(100_000)]])(
    '--service %j is refused with the services there are',
    async (service) => {
      expect(await refused(['user', 'add', '-c', cfg, '--no-qr', 'alice', '--service', service])).toMatch(
        /--service: (an empty service name|unknown service ".*").*use one of: ssh, api/,
      );
      const record = JSON.parse(readFileSync(join(dir, 'state', 'audit.jsonl'), 'utf8')) as Record<string, unknown>;
      expect(record).toMatchObject({ action: 'user add', target: 'alice', result: 'refused' });
      expect(String(record['reason'])).toMatch(/--service: (an empty service name|unknown service)/);
    },
  );
});

describe('user commands as the docs write them (issue #13)', () => {
  it('user add --service ssh erin: the service list ends at the next argument; ssh,api and a repeated option work too', async () => {
    for (const args of [
      ['--service', 'ssh', 'erin'],
      ['frank', '--service', 'ssh,api'],
      ['--service', 'ssh', '--service', 'api', 'gina'],
    ]) {
      const r = await otpknockd(['user', 'add', '-c', cfg, '--json', '--host', 'gw.example.org', ...args]);
      expect(r.code, r.stderr).toBe(0);
    }
    const services = (name: string) =>
      /services:\n((?:\s+- .*\n)+)/.exec(readFileSync(join(store, `${name}.yaml`), 'utf8'))?.[1];
    expect(services('erin')).toBe('  - ssh\n');
    expect(services('frank')).toBe('  - ssh\n  - api\n');
    expect(services('gina')).toBe('  - ssh\n  - api\n');
  });

  it('user add without --host: the URI names this machine and the import line runs as printed', async () => {
    const r = await otpknockd(['user', 'add', '-c', cfg, 'alice', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { host: string; uri: string; import: string };
    expect(parseOtpauthUri(out.uri).host).toBe(out.host);
    expect(out.host).toBe(hostname());
    expect(out.import).not.toContain('SERVER');
    expect(out.import).toMatch(/\| knock import -$/);
  });

  it('without user_store, user add stops with "FILE has no user_store setting" and says what to add (configuration.md)', async () => {
    writeOneUserConfig('alice');
    const stderr = await refused(['user', 'add', '-c', cfg, 'bob', '--host', 'gw.example.org']);
    expect(stderr).toContain(`${cfg} has no user_store setting`);
    expect(stderr).toContain('add e.g. "user_store: users.d"');
    const list = await otpknockd(['user', 'list', '-c', cfg]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('alice');
  });

  it('user remove/disable/rotate of a user of the config file say where the user is and what to do', async () => {
    writeOneUserConfig('alice');
    for (const verb of ['remove', 'disable', 'rotate']) {
      const stderr = await refused(['user', verb, '-c', cfg, 'alice']);
      expect(stderr).toContain(`user alice is defined in the config file ${cfg}, not in the user store`);
      expect(stderr).toContain('otpknockd apply');
      expect(stderr).not.toContain('no user alice in the user store');
    }
    // each refusal is an audited operator action: refused, with the reason (issue #13 §4)
    const records = readFileSync(join(dir, 'state', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => [r['action'], r['target'], r['result']])).toEqual([
      ['user remove', 'alice', 'refused'],
      ['user disable', 'alice', 'refused'],
      ['user rotate', 'alice', 'refused'],
    ]);
    for (const r of records) {
      expect(r).toMatchObject({ event: 'operator', uid: process.getuid?.() });
      expect(String(r['reason'])).toContain(`user alice is defined in the config file ${cfg}, not in the user store`);
      expect(r).not.toHaveProperty('error');
    }
  });

  it('user uri: the URI of a user of the config file, with its secret, the effective exclude list and the port', async () => {
    const secret = encodeSecret(generateSecret());
    writeFileSync(join(dir, 'alice.secret'), `${secret}\n`, { mode: 0o600 });
    writeFileSync(
      cfg,
      `knock: { exclude: [11211] }\nservices:\n  ssh: { port: 2222 }\n  web: { port: 20000 }\nusers:\n  alice: { secret_file: alice.secret, services: [ssh] }\n${ownStateDir()}`,
      { mode: 0o600 },
    );
    const r = await otpknockd(['user', 'uri', '-c', cfg, 'alice', '--host', '192.0.2.1']);
    expect(r.code, r.stderr).toBe(0);
    const uri = /^ {2}(otpauth:\S+)$/m.exec(r.stdout)?.[1];
    const p = parseOtpauthUri(uri ?? '');
    expect(encodeSecret(p.secret)).toBe(secret);
    expect(p).toMatchObject({ host: '192.0.2.1', servicePort: 2222, account: 'alice' });
    expect(p.profile.exclude).toEqual(expect.arrayContaining([11211, 2222, 20000]));
    expect(r.stdout).toContain('code mode is off for this user');
    expect(r.stdout).toMatch(/printf '%s\\n' 'otpauth:\/\/totp\/.*' \| knock import -\n/);
    expect(await refused(['user', 'uri', '-c', cfg, 'bob'])).toContain(`no user bob in ${cfg}`);
  });
});

describe('otpknockd open and close: the address and the services are checked before any nft text is built', () => {
  beforeEach(() =>
    writeFileSync(
      cfg,
      // state_dir of its own: the stand-in nft fails, and that failed open is audited there.
      `state_dir: ${dir}/state\nservices:\n  ssh: { port: 22 }\n  api: { port: 443 }\nusers:\n  alice: { secret: ${encodeSecret(generateSecret())} }\n`,
      { mode: 0o600 },
    ),
  );
  it.each([
    ['fe80::1%eth0', 'it has a zone (scope) id "%eth0", which otpknock does not support'],
    ['fe80::1%25eth0', 'it has a zone (scope) id "%25eth0"'],
    ['fe80::1%', 'it has a zone (scope) id "%"'],
    [
      '::ffff:192.0.2.1',
      'is an IPv4-mapped IPv6 address; the IPv4 packets of that host are matched by its IPv4 address. give 192.0.2.1',
    ],
    ['192.0.2.0/24', 'it is not an IP address'],
    ['999.1.1.1', 'it is not a valid IPv4 address'],
    ['2001:db8:::1', 'it is not a valid IPv6 address'],
    ['gw.example.org', 'it is not an IP address'],
    ['[2001:db8::1]', 'it is not a valid IPv6 address'],
    ['', 'it is not an IP address'],
    ['1'.repeat(100_000), '…" (100000 characters) is not an IPv4 or IPv6 address'],
  ])('%j', async (address, message) => {
    for (const verb of ['open', 'close']) {
      const stderr = await refused([verb, '-c', cfg, '--', address]);
      expect(stderr).toMatch(/^otpknockd: ADDR: /);
      expect(stderr).toContain(message);
    }
  });

  it.each([
    [['--service', ''], 'an empty service name'],
    [['-s', ','], 'an empty service name'],
    [['-s', 'ssh,'], 'an empty service name'],
    [['-s', 'ssh', '-s', ''], 'an empty service name'],
    [['-s', ' '], 'an empty service name'],
    [['-s', 'smtp'], 'unknown service "smtp"'],
    [['-s', 's'.repeat(100_000)], `unknown service "${'s'.repeat(64)}…" (100000 characters)`],
  ])('%j: refused, not "every service"', async (options, message) => {
    for (const verb of ['open', 'close']) {
      const stderr = await refused([verb, '192.0.2.9', '-c', cfg, ...options]);
      expect(stderr).toContain(
        `otpknockd: --service: ${message}. name one or more services, or leave --service out for all; the services in ${cfg} are: ssh, api.`,
      );
    }
    // refused, and audited as such (issue #13 §4)
    const records = readFileSync(join(dir, 'state', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(records.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ action: 'open', target: '192.0.2.9', result: 'refused' }),
      expect.objectContaining({ action: 'close', target: '192.0.2.9', result: 'refused' }),
    ]);
  });

  it('a good address and service get as far as nft (the stand-in), and no further', async () => {
    const r = await otpknockd(['open', '192.0.2.9', '-c', cfg, '-s', 'ssh']);
    expect(r.code).toBe(1);
    expect(readFileSync(nftLog, 'utf8')).toMatch(/^nft /);
  });
});

describe('otpknockd(8) as written: check, help, the user store', () => {
  it('check prints FILE: OK (N users, M services) and exits 0; with --nft, a refused ruleset exits 1', async () => {
    writeOneUserConfig('alice');
    const ok = await otpknockd(['check', '--config', cfg]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(`${cfg}: OK (1 users, 1 services)\n`);
    const nft = await otpknockd(['check', '-c', cfg, '--nft']); // the stand-in nft refuses everything
    expect(nft.code).toBe(1);
    expect(nft.stderr).toMatch(/nft/);
    expect(readFileSync(nftLog, 'utf8')).toMatch(/^nft .*-c/m); // a check only, never a load
  });

  it('help COMMAND prints what COMMAND --help prints', async () => {
    for (const command of ['open', 'apply', 'status']) {
      const a = await otpknockd(['help', command]);
      const b = await otpknockd([command, '--help']);
      expect(a.code).toBe(0);
      expect(a.stdout).toMatch(new RegExp(`^Usage: otpknockd ${command} `));
      expect(a.stdout).toBe(b.stdout);
    }
  });

  it('the user commands that write need user_store in the config: FILE has no user_store setting, exit 2', async () => {
    writeOneUserConfig('alice');
    expect(await refused(['user', 'add', 'bob', '-c', cfg])).toContain(`${cfg} has no user_store setting`);
  });

  it("user list works without user_store: the config file's users, FROM config, never a secret", async () => {
    writeOneUserConfig('alice');
    const secret = readFileSync(join(dir, 'alice.secret'), 'utf8').trim();
    const r = await otpknockd(['user', 'list', '-c', cfg]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^NAME +FROM +SERVICES +STATE +SECRET AGE +GRACE UNTIL +LAST OPEN\nalice +config +ssh +enabled /,
    );
    const json = await otpknockd(['user', 'list', '-c', cfg, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject([{ name: 'alice', origin: 'config', state: 'enabled' }]);
    expect(r.stdout + json.stdout).not.toContain(secret.slice(0, 8));
  });

  it('user rotate --grace: at most 365d', async () => {
    expect(await refused(['user', 'rotate', 'alice', '-c', cfg, '--grace', '366d'])).toContain(
      '--grace: 366d is out of range; expected 0s to 365d.',
    );
  });
});

describe('times, durations, modes and commands', () => {
  it.each([
    ['2026-02-29T10:00:00Z', 'February 2026 has 28 days'],
    ['2026-02-30T10:00:00Z', 'February 2026 has 28 days'],
    ['2026-06-31T00:00:00Z', 'June 2026 has 30 days'],
    ['2026-11-25T24:00:00Z', 'hour 24 is out of range (00–23)'],
    ['2026-11-25T23:60:00Z', 'minute 60 is out of range (00–59)'],
    ['2026-12-31T23:59:60Z', 'second 60 is out of range (00–59); leap seconds are not supported'],
  ])('render --at %s: %s', async (at, why) => {
    writeOneUserConfig('alice');
    expect(await refused(['render', '-c', cfg, '--at', at])).toContain(
      `otpknockd: --at: "${at}" is not a valid time: ${why}.`,
    );
  });

  it.each([
    [['mode', 'x'.repeat(100_000), '-c', cfg], `unknown mode "${'x'.repeat(64)}…" (100000 characters)`],
    [['mode', 'clo\u001bsed', '-c', cfg], 'unknown mode "clo\\u001bsed"'],
    [['open', '192.0.2.9', '-c', cfg, '--for', '9'.repeat(100_000)], '…" (100000 characters) is a bare number'],
    [['open', '192.0.2.9', '-c', cfg, '--for', `${'9'.repeat(100_000)}s`], 'is too long a duration'],
    [
      ['user', 'rotate', 'alice', '-c', cfg, '--grace', 'x'.repeat(100_000)],
      '…" (100000 characters) is not a duration',
    ],
    [['x'.repeat(100_000)], `unknown command "${'x'.repeat(64)}…" (100000 characters)`],
    [['render', `--${'x'.repeat(100_000)}`], '(100002 characters)'],
    [
      ['check', '-c', `/${'d'.repeat(100_000)}`],
      `"/${'d'.repeat(63)}…" (100001 characters): cannot read the configuration file: a path has at most 4096 characters`,
    ],
  ])('%#: a long or odd value is repeated cut short', async (args, message) => {
    expect(await refused(args)).toContain(message);
  });
});

// A secret made of letters no message uses: a run of three of them would be a piece of
// it, and its bad character "~" is part of it too.
describe('no message repeats any part of a secret', () => {
  const S = 'QXJVWYQXJVWYQXJVWYQXJVWYQXJVWYQX';
  const PIECE = /[QXJVWY]{3,}|~/;
  const withBad = `${S.slice(0, 10)}~${S.slice(10)}`;
  const configWith = (user: string) =>
    writeFileSync(cfg, `services:\n  ssh: { port: 22 }\nusers:\n  alice: ${user}\n${ownStateDir()}`, { mode: 0o600 });
  const secretFile = (text: string) => {
    const file = join(dir, 'alice.secret');
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  };
  it.each([
    [
      'inline, a bad character',
      () => configWith(`{ secret: "${withBad}" }`),
      'users.alice.secret: invalid base32 character at position 11',
    ],
    [
      'inline, over 512 bits',
      () => configWith(`{ secret: ${S.repeat(4)} }`),
      'users.alice.secret: secret is longer than 512 bits',
    ],
    [
      'secret file, a bad character',
      () => configWith(`{ secret_file: ${secretFile(`${withBad}\n`)} }`),
      'users.alice.secret_file: invalid base32 character at position 11',
    ],
    [
      'secret file of 60,000 characters',
      () => configWith(`{ secret_file: ${secretFile(S.repeat(1875))} }`),
      'users.alice.secret_file: secret is longer than 512 bits',
    ],
    [
      'secret file over 64 KiB',
      () => configWith(`{ secret_file: ${secretFile(S.repeat(3000))} }`),
      'is 96000 bytes, too large for a secret file',
    ],
    [
      'user store record, a bad character',
      () => {
        writeFileSync(cfg, `user_store: users.d\nservices:\n  ssh: { port: 22 }\n${ownStateDir()}`, { mode: 0o600 });
        mkdirSync(store, { mode: 0o700 });
        writeFileSync(
          join(store, 'alice.yaml'),
          `name: alice\nsecret: "${withBad}"\nsecret_created: 2026-01-01T00:00:00Z\n`,
          { mode: 0o600 },
        );
      },
      'alice.yaml:2: secret: invalid base32 character at position 11',
    ],
  ] as [string, () => void, string][])('%s', async (_what, setup, message) => {
    setup();
    for (const args of [
      ['check', '-c', cfg],
      ['render', '-c', cfg],
      ['user', 'list', '-c', cfg],
    ]) {
      const stderr = await refused(args);
      expect(stderr).toContain(message);
      expect(stderr.replaceAll(dir, '<dir>')).not.toMatch(PIECE); // the temporary directory's random name could hold such a run
    }
  });
});

describe('a reader that goes away', () => {
  it('otpknockd --help | head: exits 0 without a stack trace when stdout is closed early (EPIPE)', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, '--help'], {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stdout.destroy(); // like `head` that has read enough
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr: err }));
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
