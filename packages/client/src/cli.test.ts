// The built `knock` as a child process: exit codes, messages, stdout discipline.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeSecret,
  deriveCodeSequences,
  deriveSequences,
  formatOtpauthUri,
  normalizeProfile,
  windowAt,
} from '@otpknock/shared';
import { tempDir, TEST_SECRET, writePrivate } from '@otpknock/client/testing';

const here = dirname(fileURLToPath(import.meta.url));
let bin: string;
let buildDir: { dir: string; cleanup: () => void };

// Bundled like scripts/build.mjs does, so the test runs the current source (inside the
// package's node_modules/.cache, out of the way of the work tree).
beforeAll(async () => {
  const cache = join(here, '..', 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const made = mkdtempSync(join(cache, 'knock-bin-'));
  buildDir = { dir: made, cleanup: () => rmSync(made, { recursive: true, force: true }) };
  bin = join(buildDir.dir, 'knock.cjs');
  await build({
    entryPoints: [join(here, 'cli.ts')],
    outfile: bin,
    bundle: true,
    platform: 'node',
    target: 'node20.19',
    format: 'cjs',
    conditions: ['source'],
    logLevel: 'error',
  });
}, 60_000);
afterAll(() => buildDir.cleanup());

let dir: string;
let cleanup: () => void;
let config: string;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  config = join(dir, 'profiles.json');
});
afterEach(() => cleanup());

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function knock(
  args: string[],
  options: { stdin?: string | Buffer; env?: Record<string, string>; keepStdinOpenMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: dir,
        XDG_CONFIG_HOME: join(dir, 'cfg'),
        XDG_STATE_HOME: join(dir, 'state'),
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.on('error', () => {}); // a knock that exits before reading stdin (EPIPE)
    if (options.stdin !== undefined) child.stdin.write(options.stdin);
    if (options.keepStdinOpenMs === undefined) child.stdin.end();
  });
}

async function addProfile(name: string, extra: string[] = []): Promise<void> {
  const secretFile = writePrivate(join(dir, `${name}.key`), `${TEST_SECRET}\n`);
  const r = await knock(['--config', config, 'add', name, '--secret-file', secretFile, ...extra]);
  expect(r.stderr).toContain(`added profile ${name}`);
  expect(r.code).toBe(0);
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});
async function serve(handler: Parameters<typeof createServer>[1], host = '127.0.0.1'): Promise<number> {
  server = createServer({ allowHalfOpen: true }, handler);
  await new Promise<void>((resolve) => server!.listen(0, host, resolve));
  return (server.address() as { port: number }).port;
}

describe('knock --help', () => {
  it('every command has help with examples, exit 0', async () => {
    const top = await knock(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout.toString()).toContain('ProxyCommand knock proxy %h %p');
    expect(top.stdout.toString()).toContain('Exit status');
    for (const cmd of ['open', 'proxy', 'close', 'print', 'add', 'import', 'list', 'remove']) {
      const r = await knock([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout.toString(), cmd).toMatch(/^Examples?\b.*:$/m);
    }
  });
});

describe('usage and configuration errors exit 2', () => {
  const cases: [string, string[], RegExp][] = [
    ['no host', [], /missing required argument 'host'/],
    ['unknown option', ['h', '--bogus'], /unknown option '--bogus'/],
    ['bad timeout', ['h', '--timeout', 'soon'], /--timeout must be a number/],
    ['bad retries', ['h', '--retries', '99'], /--retries must be a whole number from 0 to 5/],
    // the bounds docs/knock.md gives: --timeout 0.1–120, --delay 0–500, a port 1–65535
    ['timeout under 0.1', ['h', '-t', '0.09'], /--timeout must be a number from 0\.1 to 120/],
    ['timeout over 120', ['h', '--timeout', '120.5'], /--timeout must be a number from 0\.1 to 120/],
    ['delay over 500', ['h', '-d', '501'], /--delay must be a number from 0 to 500/],
    ['negative delay', ['proxy', 'h', '22', '--delay', '-1'], /--delay must be a number from 0 to 500/],
    ['port 0', ['h', '-p', '0'], /a port must be a whole number from 1 to 65535/],
    ['port 65536', ['add', 'h', '--port', '65536', '--secret-stdin'], /a port must be a whole number from 1 to 65535/],
    ['proxy has no --code', ['proxy', 'h', '22', '--code', '123456'], /unknown option '--code'/],
    ['a code of 5 digits', ['h', '--code', '12345'], /--code: expected the 6-digit code/],
    ['-4 and -6', ['h', '-4', '-6'], /cannot be used with/],
    ['bad proxy port', ['proxy', 'h', 'ssh'], /invalid PORT 'ssh'/],
    ['extra argument', ['print', 'a', 'b'], /too many arguments/],
    ['bad --at', ['print', 'h', '--at', 'yesterday'], /--at: "yesterday" is not a time/],
    ['unknown method', ['add', 'h', '--method', 'magic'], /Allowed choices are time, list-modulo, prng, static/],
    ['no secret', ['add', 'h'], /the secret is missing.*\n.*--secret-file FILE/],
    ['no such profile', ['nohost'], /no profile for nohost .*\(the store is empty\)\n.*knock add nohost/],
    ['remove unknown', ['remove', 'nohost'], /no profile named nohost/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await knock(['--config', join(dir, 'profiles.json'), ...args]);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
      expect(r.stdout.length).toBe(0);
    });
  }

  it('a secret file others can read is refused, with the chmod fix', async () => {
    const loose = writePrivate(join(dir, 'loose.key'), TEST_SECRET, 0o644);
    const r = await knock(['--config', config, 'add', 'h', '--secret-file', loose]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`permissions 0644 are too open`);
    expect(r.stderr).toContain(`chmod 600 '${loose}'`);
  });

  it('a store others can read is refused by every command', async () => {
    await addProfile('h');
    const { chmodSync } = await import('node:fs');
    chmodSync(config, 0o640);
    for (const args of [['h'], ['print', 'h'], ['list'], ['remove', 'h']]) {
      const r = await knock(['--config', config, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`chmod 600 '${config}'`);
    }
  });

  it('a secret that is not base32 names where it came from', async () => {
    const bad = writePrivate(join(dir, 'bad.key'), 'not-a-secret!!');
    const r = await knock(['--config', config, 'add', 'h', '--secret-file', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(bad);
  });
});

describe('profiles', () => {
  it('add, list (no secrets), print --json matching deriveSequences, remove', async () => {
    await addProfile('myserver', ['--address', '192.0.2.10', '--port', '2222', '--period', '60', '--length', '4']);
    const list = await knock(['--config', config, 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.toString()).toMatch(/myserver\s+192\.0\.2\.10\s+2222\s+time\s+60s/);
    const json = await knock(['--config', config, 'list', '--json']);
    for (const r of [list, json]) expect(r.stdout.toString() + r.stderr).not.toContain(TEST_SECRET);

    const at = 1_764_106_213;
    const printed = await knock(['--config', config, 'print', 'myserver', '--at', String(at), '--json']);
    expect(printed.code).toBe(0);
    const p = JSON.parse(printed.stdout.toString());
    const knockProfile = normalizeProfile({ method: 'time', period: 60, length: 4 });
    const w = windowAt(at * 1000, 60);
    const seq = deriveSequences(knockProfile, decodeSecret(TEST_SECRET), w);
    expect(p).toEqual({
      host: 'myserver',
      profile: 'myserver',
      address: '192.0.2.10',
      servicePort: 2222,
      method: 'time',
      period: 60,
      window: w,
      validFrom: new Date(w * 60_000).toISOString().replace('.000Z', 'Z'),
      validUntil: new Date((w + 1) * 60_000).toISOString().replace('.000Z', 'Z'),
      open: seq.open,
      close: seq.close,
      toggle: false,
      payload: 'none',
    });
    const iso = await knock(['--config', config, 'print', 'myserver', '--at', new Date(at * 1000).toISOString()]);
    expect(iso.stdout.toString()).toContain(`open    udp ${seq.open.join(' ')}`);

    expect((await knock(['--config', config, 'add', 'myserver', '--secret-stdin'], { stdin: TEST_SECRET })).code).toBe(
      2,
    ); // exists
    expect(
      (await knock(['--config', config, 'add', 'myserver', '--secret-stdin', '--force'], { stdin: TEST_SECRET })).code,
    ).toBe(0);
    const removed = await knock(['--config', config, 'remove', 'myserver']);
    expect(removed.code).toBe(0);
    expect(JSON.parse(readFileSync(config, 'utf8')).profiles).toEqual({});
  });

  it('list --names: the names one per line, sorted, and nothing else (shell completion reads it)', async () => {
    await addProfile('gw.example.org');
    await addProfile('a', ['--address', '192.0.2.10']);
    const names = await knock(['--config', config, 'list', '--names']);
    expect({ code: names.code, stdout: names.stdout.toString(), stderr: names.stderr }).toEqual({
      code: 0,
      stdout: 'a\ngw.example.org\n',
      stderr: '',
    });
    const none = await knock(['--config', join(dir, 'none.json'), 'list', '--names']);
    expect({ code: none.code, stdout: none.stdout.toString(), stderr: none.stderr }).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
    expect((await knock(['--config', config, 'list', '--names', '--json'])).code).toBe(2);
  });

  it('the default store is $XDG_CONFIG_HOME/otpknock/profiles.json, mode 0600', async () => {
    const secretFile = writePrivate(join(dir, 'k'), TEST_SECRET);
    expect((await knock(['add', 'h', '--secret-file', secretFile])).code).toBe(0);
    const { statSync } = await import('node:fs');
    expect(statSync(join(dir, 'cfg', 'otpknock', 'profiles.json')).mode & 0o777).toBe(0o600);
  });

  it("import takes the payload the server requires from the URI; a URI without one keeps the profile's", async () => {
    const uri = (payload?: string) =>
      formatOtpauthUri({
        secret: decodeSecret(TEST_SECRET),
        issuer: 'example',
        account: 'alice',
        profile: normalizeProfile({ method: 'time' }),
        host: '192.0.2.21',
        ...(payload === undefined ? {} : { payload }),
      });
    expect((await knock(['--config', config, 'import', '-'], { stdin: uri('ntp') })).code).toBe(0);
    expect(JSON.parse(readFileSync(config, 'utf8')).profiles['192.0.2.21'].payload).toBe('ntp');
    expect((await knock(['--config', config, 'import', '-'], { stdin: uri() })).code).toBe(0);
    expect(JSON.parse(readFileSync(config, 'utf8')).profiles['192.0.2.21'].payload).toBe('ntp');
  });

  it('import from stdin; the newest import wins', async () => {
    const uri = (secret: string, period: number) =>
      formatOtpauthUri({
        secret: decodeSecret(secret),
        issuer: 'example',
        account: 'alice',
        profile: normalizeProfile({ method: 'time', period }),
        host: '192.0.2.20',
        servicePort: 2200,
      });
    const first = await knock(['--config', config, 'import', '-'], { stdin: uri(TEST_SECRET, 30) });
    expect(first.code).toBe(0);
    const other = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    const second = await knock(['--config', config, 'import', '-', '--name', 'work'], { stdin: uri(other, 60) });
    expect(second.code).toBe(0);
    const third = await knock(['--config', config, 'import', uri(other, 45)]);
    expect(third.stderr).toContain('updated profile 192.0.2.20');
    const store = JSON.parse(readFileSync(config, 'utf8'));
    expect(store.profiles['192.0.2.20']).toMatchObject({
      servicePort: 2200,
      secret: other,
      knock: { period: 45 },
      issuer: 'example',
      account: 'alice',
    });
    expect(store.profiles['work']).toMatchObject({ address: '192.0.2.20', servicePort: 2200, secret: other });
    const bad = await knock(['--config', config, 'import', 'otpauth://totp/x?secret=AAAA']);
    expect(bad.code).toBe(2);
  });
});

describe('profiles changed by several commands at once', () => {
  it('8 concurrent knock add runs on one store: every profile is there (none lost to a race)', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `host${i}`);
    const runs = await Promise.all(
      names.map((n, i) =>
        knock(['--config', config, 'add', n, '--address', `192.0.2.${10 + i}`, '--secret-stdin'], {
          stdin: TEST_SECRET,
        }),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(JSON.parse(readFileSync(config, 'utf8')).profiles).sort()).toEqual(names);
    const { existsSync } = await import('node:fs');
    expect(existsSync(`${config}.lock`)).toBe(false);
  }, 30_000);
});

describe('knocking on loopback', () => {
  it('knock HOST: exit 0 when the service accepts', async () => {
    const port = await serve((s) => s.end());
    await addProfile('lo', ['--address', '127.0.0.1', '--port', String(port)]);
    const r = await knock(['--config', config, 'lo', '-v']);
    expect(r.stderr).toMatch(/knocking 127\.0\.0\.1 \(window \d+\): udp \d+ \d+ \d+/);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(0);
  });

  it('IPv6 and -6; an ssh alias through ssh -G', async () => {
    const port = await serve((s) => s.end(), '::1');
    await addProfile('lo6', ['--address', '::1', '--port', String(port)]);
    expect((await knock(['--config', config, 'lo6', '-6', '-q'])).code).toBe(0);
    expect((await knock(['--config', config, 'lo6', '-4'])).code).toBe(2);
    const fakeSsh = writePrivate(
      join(dir, 'ssh'),
      '#!/bin/sh\n[ "$3" = myalias ] && printf "hostname ::1\\nport 22\\n" || printf "hostname %s\\n" "$3"\n',
      0o700,
    );
    const r = await knock(['--config', config, 'myalias', '-v'], { env: { OTPKNOCK_SSH: fakeSsh } });
    expect(r.stderr).toContain('profile lo6 (found by ssh HostName ::1)');
    expect(r.code).toBe(0);
  });

  it('exit 4 when the port refuses before and after the knock (not guarded); 3 when the name does not resolve', async () => {
    const port = await serve(() => {});
    await new Promise((r) => server!.close(r));
    server = undefined;
    await addProfile('down', ['--address', '127.0.0.1', '--port', String(port)]);
    const r = await knock(['--config', config, 'down', '--timeout', '0.3', '--retries', '0']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`down (127.0.0.1) port ${port}: refused before the knock as after it`);
    expect(r.stderr).toContain('is not guarded by otpknockd');
    await addProfile('nowhere.invalid');
    const n = await knock(['--config', config, 'nowhere.invalid']);
    expect(n.stderr).toContain('cannot resolve nowhere.invalid');
    expect(n.code).toBe(3);
  });

  it('--no-wait exits 0 after sending; close sends and exits 0', async () => {
    await addProfile('lo', ['--address', '127.0.0.1', '--port', '9']);
    expect((await knock(['--config', config, 'lo', '--no-wait'])).code).toBe(0);
    const c = await knock(['--config', config, 'close', 'lo', '-v']);
    expect(c.stderr).toMatch(/closing 127\.0\.0\.1 \(window \d+\): udp/);
    expect(c.code).toBe(0);
  });

  it('proxy: stdout carries only the stream, byte for byte', async () => {
    const port = await serve((s) => {
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
    });
    await addProfile('lo', ['--address', '127.0.0.1']);
    const payload = Buffer.concat([Buffer.from('SSH-2.0-test\r\n'), Buffer.alloc(200_000, 0xab)]);
    const r = await knock(['--config', config, 'proxy', 'lo', String(port), '-v'], { stdin: payload });
    expect(r.code).toBe(0);
    expect(r.stdout.equals(payload)).toBe(true);
    expect(r.stderr).toContain('connected to 127.0.0.1');
  });

  it('proxy: exits when the server closes although stdin stays open', async () => {
    const port = await serve((s) => s.end('SSH-2.0-bye\r\n'));
    await addProfile('lo', ['--address', '127.0.0.1']);
    const r = await knock(['--config', config, 'proxy', '127.0.0.1', String(port)], { keepStdinOpenMs: 10_000 });
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('SSH-2.0-bye\r\n');
    // Loopback is guarded by nothing: the one note proxy prints by default says so.
    expect(r.stderr).toMatch(/^knock: note: 127\.0\.0\.1 port \d+ accepted a connection before the knock reached it/);
    const quiet = await knock(['--config', config, 'proxy', '127.0.0.1', String(port), '-q'], {
      keepStdinOpenMs: 10_000,
    });
    expect(quiet.stderr).toBe('');
  });
});

// Issue #12 §4: every class of bad input gets a clear error naming what and where,
// exit 2, nothing written, no stack trace, and no more than a bounded piece of the
// input repeated back.
describe('bad input: exit 2, a bounded message, nothing written', () => {
  async function refused(args: string[], options: Parameters<typeof knock>[1] = {}): Promise<string> {
    const { existsSync } = await import('node:fs');
    const before = existsSync(config) ? readFileSync(config) : undefined;
    const r = await knock(['--config', config, ...args], options);
    expect(r.code, `${args.join(' ').slice(0, 200)}: ${r.stderr}`).toBe(2);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
    expect(r.stderr.length).toBeLessThan(1000);
    if (before === undefined) expect(existsSync(config)).toBe(false);
    else expect(readFileSync(config).equals(before)).toBe(true);
    return r.stderr;
  }

  it('knock add: a knock profile problem names the option that set it', async () => {
    const secretFile = writePrivate(join(dir, 'h.key'), `${TEST_SECRET}\n`);
    expect(await refused(['add', 'h', '--secret-file', secretFile, '--range', '1-3'])).toMatch(
      /^knock: --range: range 1-3 leaves 3 ports after 0 exclusions, but length 3 needs 6 .*\n {2}Widen the range, exclude fewer ports or lower length\.\n$/,
    );
    expect(
      await refused([
        'add',
        'h',
        '--secret-file',
        secretFile,
        '--method',
        'list-modulo',
        '--length',
        '1',
        '--ports',
        '7001,7001',
      ]),
    ).toContain('knock: --ports: port 7001 is listed twice');
  });

  it.each([
    ['2026-02-29T10:00:00Z', 'February 2026 has 28 days'],
    ['2100-02-29', 'February 2100 has 28 days'],
    ['2026-02-30T10:00:00Z', 'February 2026 has 28 days'],
    ['2026-04-31T10:00:00Z', 'April 2026 has 30 days'],
    ['2026-11-31 10:00', 'November 2026 has 30 days'],
    ['2026-13-01', 'month 13 does not exist'],
    ['2026-11-25T24:00:00Z', 'hour 24 is out of range'],
    ['2026-11-25T10:60:00Z', 'minute 60 is out of range'],
    ['2026-11-25T10:00:60Z', 'second 60 is out of range'],
  ])('print --at %s: %s', async (at, why) => {
    await addProfile('h');
    expect(await refused(['print', 'h', '--at', at])).toContain(`--at: "${at}" is not a valid time: ${why}`);
  });

  describe('sizes', () => {
    const huge = 'h'.repeat(100_000);
    it.each([
      ['add HOST', ['add', huge, '--secret-stdin']],
      ['add --address', ['add', 'h', '--address', huge, '--secret-stdin']],
      ['import --name', ['import', formatUri({ host: 'gw.example.org' }), '--name', huge]],
      ['import --address', ['import', formatUri({ host: 'gw.example.org' }), '--address', huge]],
      ['open HOST', [huge]],
      ['print HOST', ['print', huge]],
      ['remove HOST', ['remove', huge]],
      ['open --timeout', ['h', '--timeout', '9'.repeat(100_000)]],
      ['proxy PORT', ['proxy', 'h', '2'.repeat(100_000)]],
      ['unknown option', [`--${huge}`]],
      ['--config', ['--config', huge, 'list']],
      ['add --secret-file', ['add', 'h', '--secret-file', huge]],
    ])('a 100,000-character value in %s is refused and repeated cut short', async (_what, args) => {
      const stderr = await refused(args, { stdin: TEST_SECRET });
      expect(stderr).toMatch(/…['"] \(100\d{3} characters\)/);
    });

    it('a secret file over 64 KiB, or one that decodes to more than 512 bits, is refused; 512 bits are fine', async () => {
      const big = writePrivate(join(dir, 'big.key'), 'A'.repeat(100_000));
      expect(await refused(['add', 'h', '--secret-file', big])).toContain(
        `${big}: the secret file is 100000 bytes; at most 65536 are accepted`,
      );
      const long = writePrivate(join(dir, 'long.key'), 'A'.repeat(60_000));
      expect(await refused(['add', 'h', '--secret-file', long])).toContain(`${long}: secret is longer than 512 bits`);
      expect(await refused(['add', 'h', '--secret-stdin'], { stdin: 'A'.repeat(104) })).toContain(
        'stdin: secret is longer than 512 bits',
      );
      expect(await refused(['add', 'h', '--secret-stdin'], { stdin: 'A'.repeat(100_000) })).toContain(
        'stdin: more than 65536 bytes; expected a base32 secret',
      );
      const ok = await knock(['--config', config, 'add', 'h', '--secret-stdin'], { stdin: 'A'.repeat(103) });
      expect(ok.code, ok.stderr).toBe(0);
    });

    it('an otpauth URI over 16 KiB is refused, on the command line or on stdin (1 MB)', async () => {
      const long = `${formatUri({ host: 'gw.example.org' })}&x=${'x'.repeat(20_000)}`;
      expect(await refused(['import', long])).toMatch(
        /^knock: otpauth URI: 20\d{3} characters long; at most 16384 are accepted/,
      );
      expect(await refused(['import', '-'], { stdin: `${long}${'x'.repeat(1_000_000)}` })).toContain(
        'stdin: more than 65536 bytes; expected one otpauth:// URI',
      );
    });

    it('a profile store over 4 MiB is refused by every command', async () => {
      writePrivate(config, JSON.stringify({ version: 1, profiles: {}, pad: 'x'.repeat(5 * 1024 * 1024) }));
      for (const args of [['list'], ['print', 'h'], ['add', 'h', '--secret-stdin'], ['remove', 'h']]) {
        expect(await refused(args, { stdin: TEST_SECRET })).toMatch(
          /the profile store is \d+ bytes; at most 4194304 are accepted/,
        );
      }
    });
  });

  // One host rule for every way a host enters a profile: add HOST (knocked when there
  // is no --address), add --address, import --address, and the URI's host=.
  describe('hosts: the same rule for add and import', () => {
    const badHosts: [string, RegExp][] = [
      ['a b', /contains " ", which a host name cannot hold/],
      ['gw/22', /contains "\/"/],
      ['fe80::1%eth0', /has a zone \(scope\) id "%eth0", which otpknock does not support/],
      ['999.1.1.1', /is not a valid IPv4 address/],
      ['2001:db8:::1', /is not a valid IPv6 address/],
      ['a..b', /has an empty label/],
      [`${'l'.repeat(64)}.example`, /has a label of 64 characters; at most 63 are allowed/],
      ['h'.repeat(254), /is 254 characters long; at most 253 are allowed/],
      ['gw\u001b[2J', /contains a control character/],
      ['bücher.example', /contains "ü"/],
    ];
    it.each(badHosts)('%j', async (host, problem) => {
      const ways: [string, string[]][] = [
        ['add --address', ['add', 'h', '--address', host, '--secret-stdin']],
        ['import --address', ['import', formatUri({ host: 'gw.example.org' }), '--address', host]],
        ['import host=', ['import', formatUri({}, `&host=${encodeURIComponent(host)}`), '--name', 'h']],
      ];
      if (profileNameOk(host)) ways.push(['add HOST without --address', ['add', host, '--secret-stdin']]);
      for (const [way, args] of ways) {
        const stderr = await refused(args, { stdin: TEST_SECRET });
        expect(stderr, way).toMatch(problem);
        expect(stderr, way).not.toContain('\u001b');
      }
    });

    it('--code without a profile knocks HOST itself: the same rule (was: a DNS lookup, exit 3)', async () => {
      for (const [host, problem] of [
        ['gw/x', 'contains "/"'],
        ['fe80::1%eth0', 'has a zone (scope) id "%eth0"'],
        ['999.1.1.1', 'is not a valid IPv4 address'],
      ] as const) {
        expect(await refused([host, '--code', '123456'])).toContain(
          `knock: HOST: "${host}" is not a host name or address: it ${problem}`,
        );
      }
    });

    it('a profile name that is not a host needs --address (it would be knocked otherwise)', async () => {
      expect(await refused(['add', 'work@bastion', '--secret-stdin'], { stdin: TEST_SECRET })).toContain(
        '"work@bastion" is not a host name or address (it contains "@", which a host name cannot hold), and no --address was given',
      );
      const ok = await knock(['--config', config, 'add', 'work@bastion', '--address', '192.0.2.5', '--secret-stdin'], {
        stdin: TEST_SECRET,
      });
      expect(ok.code, ok.stderr).toBe(0);
    });
  });

  it.each([
    ['a colon in the account', 'otpauth://totp/acme:alice:x', '', /parameter "label": the account contains ":"/],
    [
      'an encoded colon in the account',
      'otpauth://totp/acme:alice%3Ax',
      '',
      /parameter "label": the account contains ":"/,
    ],
    [
      'a colon in the issuer parameter',
      'otpauth://totp/alice',
      '&issuer=ac%3Ame',
      /parameter "issuer": the issuer contains ":"/,
    ],
    [
      'a control character in the issuer',
      'otpauth://totp/alice',
      '&issuer=a%1Bb',
      /parameter "issuer": the issuer contains a control character/,
    ],
    [
      'an account of 129 characters',
      `otpauth://totp/acme:${'a'.repeat(129)}`,
      '',
      /the account is 129 characters long; at most 128/,
    ],
  ])('import refuses %s (docs/protocol.md §7)', async (_what, label, extra, message) => {
    expect(await refused(['import', `${label}?secret=${TEST_SECRET}&host=gw.example.org${extra}`])).toMatch(message);
  });

  // A secret made of letters no message uses: a run of three of them would be a piece
  // of it. Its bad character "~" is part of it too, and no message uses "~" either.
  describe('no output repeats any part of a secret', () => {
    const S = 'QXJVWYQXJVWYQXJVWYQXJVWYQXJVWYQX';
    const PIECE = /[QXJVWY]{3,}|~|\\u0000/;
    const withBad = `${S.slice(0, 10)}~${S.slice(10)}`;
    // The temporary directory's random name could hold such a run by chance.
    const withoutDir = (text: string) => text.replaceAll(dir, '<dir>');
    it.each([
      [
        'secret file with a bad character',
        () => ['add', 'h', '--secret-file', writePrivate(join(dir, 'k'), `${withBad}\n`)],
      ],
      ['secret file with a NUL', () => ['add', 'h', '--secret-file', writePrivate(join(dir, 'k'), `${S}\u0000${S}`)]],
      ['secret file too long', () => ['add', 'h', '--secret-file', writePrivate(join(dir, 'k'), S.repeat(5))]],
      ['secret file too short', () => ['add', 'h', '--secret-file', writePrivate(join(dir, 'k'), S.slice(0, 20))]],
      ['URI with a bad character in the secret', () => ['import', `otpauth://totp/a?secret=${withBad}&host=gw`]],
      ['URI whose "?" was lost', () => ['import', `otpauth://totp/acme:alice:secret=${S}&host=gw`]],
      ['URI with the secret in host=', () => ['import', `otpauth://totp/a?secret=${S}&host=gw${S}/`]],
      ['URI with the secret in period=', () => ['import', `otpauth://totp/a?period=30secret=${S}&secret=${S}&host=gw`]],
      [
        'URI with the secret in ports=',
        () => ['import', `otpauth://totp/a?secret=${S}&method=list-modulo&ports=1,2,3,4,5,6${S}&host=gw`],
      ],
    ] as [string, () => string[]][])('%s', async (_what, args) => {
      const stderr = await refused(args());
      expect(withoutDir(stderr)).not.toMatch(PIECE);
    });

    it('--secret-stdin with a bad character, and a stored secret that is damaged', async () => {
      expect(withoutDir(await refused(['add', 'h', '--secret-stdin'], { stdin: withBad }))).not.toMatch(PIECE);
      writePrivate(
        config,
        JSON.stringify({
          version: 1,
          profiles: {
            h: {
              name: 'h',
              address: '192.0.2.1',
              servicePort: 22,
              knock: { method: 'time' },
              secret: withBad,
              delayMs: 5,
              payload: 'none',
            },
          },
        }),
      );
      for (const args of [
        ['print', 'h'],
        ['h', '--no-wait'],
        ['close', 'h'],
      ])
        expect(withoutDir(await refused(args))).not.toMatch(PIECE);
    });
  });

  describe('a profile store of another version is neither read nor rewritten', () => {
    it.each([
      [2, 'version 2'],
      [99, 'version 99'],
      ['1', 'version "1"'],
      [0, 'version 0'],
      [null, 'version a object'],
    ])('version %j', async (version, shown) => {
      writePrivate(config, JSON.stringify({ version, profiles: { h: { name: 'h' } }, newField: true }));
      for (const args of [
        ['list'],
        ['print', 'h'],
        ['h'],
        ['add', 'x', '--secret-stdin'],
        ['import', formatUri({ host: 'gw.example.org' })],
        ['remove', 'h'],
      ]) {
        const stderr = await refused(args, { stdin: TEST_SECRET });
        expect(stderr, args[0]).toContain(
          `${config}: the profile store is ${shown}; this knock reads only version 1 and changed nothing`,
        );
      }
    });
    it('a store without a version is version 1', async () => {
      writePrivate(config, JSON.stringify({ profiles: {} }));
      expect((await knock(['--config', config, 'list'])).code).toBe(0);
    });
  });

  it('names that are Object.prototype members are profiles like any other', async () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty'])
      await addProfile(name, ['--address', '192.0.2.9']);
    const list = JSON.parse((await knock(['--config', config, 'list', '--json'])).stdout.toString()) as {
      name: string;
    }[];
    expect(list.map((p) => p.name).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
    expect(await refused(['remove', 'valueOf'])).toContain('no profile named valueOf');
    for (const name of ['constructor', '__proto__'])
      expect((await knock(['--config', config, 'remove', name])).code).toBe(0);
    expect(Object.keys(JSON.parse(readFileSync(config, 'utf8')).profiles).sort()).toEqual([
      'hasOwnProperty',
      'toString',
    ]);
  });
});

function formatUri(p: { host?: string }, extra = ''): string {
  return (
    formatOtpauthUri({
      secret: decodeSecret(TEST_SECRET),
      issuer: 'acme',
      account: 'alice',
      profile: normalizeProfile({ method: 'time' }),
      ...p,
    }) + extra
  );
}

function profileNameOk(name: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9._:%@[\]-]*$/.test(name) && name.length <= 253;
}

describe('a reader that goes away', () => {
  it('knock --help | head: exits 0 without a stack trace when stdout is closed early (EPIPE)', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, '--help'], {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stdout.destroy(); // like `head` that has read enough: the pipe's reading end is closed
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr: err }));
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

// docs/knock.md's EXAMPLES, run as written in an empty home by bash with this knock on
// PATH: every command that sends nothing, and the output the page shows for it. The
// ones that knock (`knock myserver`, `knock close myserver`) send to 203.0.113.5, so
// they are not run here (test/client.e2e.test.ts knocks in namespaces); `pass` is a
// stand-in that prints a secret.
describe('docs/knock.md EXAMPLES', () => {
  const manual = readFileSync(join(here, '..', '..', '..', 'docs', 'knock.md'), 'utf8');
  const examples = /## EXAMPLES\n\n```console\n([\s\S]*?)\n```/.exec(manual)![1]!;
  /** The `$ ` commands, each with the lines of output the page shows after it. */
  const steps: { command: string; output: string[] }[] = [];
  for (const line of examples.split('\n'))
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), output: [] });
    else steps.at(-1)!.output.push(line);
  const sends = (command: string) => /^knock (myserver|close myserver)\b/.test(command);

  it('runs, from an empty home, and prints what the page shows', async () => {
    const binDir = join(dir, 'bin');
    mkdirSync(binDir);
    writePrivate(join(binDir, 'knock'), `#!/bin/sh\nexec '${process.execPath}' '${bin}' "$@"\n`, 0o755);
    writePrivate(join(binDir, 'pass'), `#!/bin/sh\necho ${TEST_SECRET}\n`, 0o755);
    const ran: string[] = [];
    for (const { command, output } of steps) {
      if (sends(command)) continue;
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn('bash', ['-c', command], {
          cwd: dir,
          env: { PATH: `${binDir}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, HOME: dir },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      expect(r.code, `$ ${command}\n${r.stderr}`).toBe(0);
      if (output.length > 0) expect(r.stdout, `$ ${command}`).toBe(`${output.join('\n')}\n`);
      ran.push(command.split(' ').slice(0, 2).join(' '));
    }
    expect(ran).toEqual(['install -d', 'install -m', 'knock add', 'knock print', 'pass show', 'knock --config']);
    // without XDG_CONFIG_HOME the store is ~/.config/otpknock/profiles.json (ENVIRONMENT)
    const store = JSON.parse(readFileSync(join(dir, '.config', 'otpknock', 'profiles.json'), 'utf8'));
    expect(Object.keys(store.profiles).sort()).toEqual(['lab', 'myserver']);
  });
});

describe('docs/knock.md: commands, the store and its lock', () => {
  it('--config stands before or after the command; rm is remove', async () => {
    await addProfile('h', ['--address', '192.0.2.10']);
    const after = await knock(['list', '--names', '--config', config]);
    expect({ code: after.code, stdout: after.stdout.toString() }).toEqual({ code: 0, stdout: 'h\n' });
    const rm = await knock(['rm', 'h', '--config', config]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(JSON.parse(readFileSync(config, 'utf8')).profiles).toEqual({});
  });

  it('knock open HOST knocks a host named like a command', async () => {
    const port = await serve((s) => s.end());
    await addProfile('list', ['--address', '127.0.0.1', '--port', String(port)]);
    const r = await knock(['--config', config, 'open', 'list', '-v']);
    expect(r.stderr).toContain('profile list (found by name), knocking 127.0.0.1');
    expect(r.code).toBe(0);
  });

  it('the default store directory is made 0700, the used windows go to $XDG_STATE_HOME (no secret in them)', async () => {
    const { statSync } = await import('node:fs');
    const secretFile = writePrivate(join(dir, 'k'), TEST_SECRET);
    expect((await knock(['add', 'h', '--address', '127.0.0.1', '--port', '9', '--secret-file', secretFile])).code).toBe(
      0,
    );
    expect(statSync(join(dir, 'cfg', 'otpknock')).mode & 0o777).toBe(0o700);
    expect((await knock(['h', '--no-wait'])).code).toBe(0);
    const used = join(dir, 'state', 'otpknock', 'used-windows.json');
    expect(statSync(used).mode & 0o777).toBe(0o600);
    const text = readFileSync(used, 'utf8');
    expect(Object.values(JSON.parse(text))).toEqual([{ window: expect.any(Number), at: expect.any(Number) }]);
    expect(text).not.toContain(TEST_SECRET.slice(0, 8));
  });

  it('a lock left by a killed command is broken after 30 s', async () => {
    const { utimesSync, writeFileSync, existsSync } = await import('node:fs');
    await addProfile('a', ['--address', '192.0.2.10']);
    writeFileSync(`${config}.lock`, '999999');
    const old = (Date.now() - 31_000) / 1000;
    utimesSync(`${config}.lock`, old, old);
    const r = await knock(['--config', config, 'add', 'b', '--address', '192.0.2.11', '--secret-stdin'], {
      stdin: TEST_SECRET,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(JSON.parse(readFileSync(config, 'utf8')).profiles).sort()).toEqual(['a', 'b']);
    expect(existsSync(`${config}.lock`)).toBe(false);
  });

  it('print sends nothing and resolves no DNS; static: window 0, period and validity null; -f replaces', async () => {
    await addProfile('st', [
      '--address',
      'nowhere.invalid',
      '--method',
      'static',
      '--open',
      '7000,8000',
      '--close',
      '8000,7000',
    ]);
    const same = ['--config', config, 'add', 'st', '--address', 'nowhere.invalid', '--method', 'static'];
    const replaced = await knock([...same, '--open', '7001,8001', '--toggle', '-f', '--secret-stdin'], {
      stdin: TEST_SECRET,
    });
    expect(replaced.code, replaced.stderr).toBe(0);
    const r = await knock(['--config', config, 'print', 'st', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.toString())).toMatchObject({
      address: 'nowhere.invalid',
      method: 'static',
      window: 0,
      period: null,
      validFrom: null,
      validUntil: null,
      open: [7001, 8001],
      close: [7001, 8001],
      toggle: true,
    });
  });

  it('proxy: exit 3 when the connection breaks (a reset), after what the server sent', async () => {
    const port = await serve((s) => {
      s.write('SSH-2.0-test\r\n');
      setTimeout(() => s.resetAndDestroy(), 200);
    });
    await addProfile('lo', ['--address', '127.0.0.1']);
    const r = await knock(['--config', config, 'proxy', 'lo', String(port), '-q'], { keepStdinOpenMs: 10_000 });
    expect(r.stdout.toString()).toBe('SSH-2.0-test\r\n');
    expect(r.stderr).toContain(`connection to lo port ${port} broke`);
    expect(r.code).toBe(3);
  });

  it('the note about a port open before the knock: not after a knock from this machine within the hour', async () => {
    const port = await serve((s) => s.end());
    await addProfile('lo', ['--address', '127.0.0.1', '--port', String(port)]);
    const NOTE = 'accepted a connection before the knock reached it';
    const first = await knock(['--config', config, 'lo']);
    expect(first.code).toBe(0);
    expect(first.stderr, first.stderr).toContain(`note: lo (127.0.0.1) port ${port} ${NOTE}`);
    const again = await knock(['--config', config, 'lo']);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain(NOTE);
    // the last knock an hour and a second ago: the note again
    const used = join(dir, 'state', 'otpknock', 'used-windows.json');
    const state = JSON.parse(readFileSync(used, 'utf8')) as Record<string, { window: number; at: number }>;
    for (const e of Object.values(state)) Object.assign(e, { window: e.window - 200, at: Date.now() - 3_601_000 });
    writePrivate(used, JSON.stringify(state));
    expect((await knock(['--config', config, 'lo'])).stderr).toContain(NOTE);
  });

  it('--code without a profile: the default profile, the code-mode sequence of the current window; nothing written', async () => {
    const { existsSync } = await import('node:fs');
    const port = await serve((s) => s.end());
    const r = await knock(['127.0.0.1', '--code', '123456', '-p', String(port), '-v']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('no profile for 127.0.0.1: code mode with the default profile');
    const m = /knocking 127\.0\.0\.1 \(window (\d+)\): udp ([\d ]+)\n/.exec(r.stderr)!;
    const w = Number(m[1]);
    expect(Math.abs(w - windowAt(Date.now(), 30))).toBeLessThanOrEqual(1);
    expect(m[2]!.split(' ').map(Number)).toEqual(
      deriveCodeSequences(normalizeProfile({ method: 'time' }), '123456', w).open,
    );
    expect(existsSync(join(dir, 'cfg')) || existsSync(join(dir, 'state'))).toBe(false);
  });

  it('list shows the defaults a hand-edited knock block leaves out (time, 30 s), ? for no block at all', async () => {
    await addProfile('full', ['--address', '192.0.2.10']);
    const store = JSON.parse(readFileSync(config, 'utf8'));
    store.profiles.bare = { ...store.profiles.full, name: 'bare', knock: {} };
    store.profiles.none = { ...store.profiles.full, name: 'none', knock: undefined };
    writePrivate(config, JSON.stringify(store));
    const out = (await knock(['--config', config, 'list'])).stdout.toString();
    expect(out).toMatch(/^bare\s+192\.0\.2\.10\s+22\s+time\s+30s\s/m);
    expect(out).toMatch(/^none\s+192\.0\.2\.10\s+22\s+\?\s+\?\s/m);
  });

  it('list --names leaves out a hand-edited name that knock HOST would refuse', async () => {
    await addProfile('good', ['--address', '192.0.2.10']);
    const store = JSON.parse(readFileSync(config, 'utf8'));
    for (const bad of ['bad name', '-x']) store.profiles[bad] = { ...store.profiles.good, name: bad };
    writePrivate(config, JSON.stringify(store));
    const names = await knock(['--config', config, 'list', '--names']);
    expect({ code: names.code, stdout: names.stdout.toString(), stderr: names.stderr }).toEqual({
      code: 0,
      stdout: 'good\n',
      stderr: '',
    });
  });

  it('import keeps what the URI does not say (address, delay); a name other than the host makes the host the address', async () => {
    const uri = formatUri({ host: '192.0.2.30' });
    expect((await knock(['--config', config, 'import', uri, '--name', 'gw', '--delay', '20'])).code).toBe(0);
    expect(JSON.parse(readFileSync(config, 'utf8')).profiles.gw).toMatchObject({ address: '192.0.2.30', delayMs: 20 });
    expect((await knock(['--config', config, 'import', uri, '--name', 'gw', '--address', '192.0.2.31'])).code).toBe(0);
    expect(JSON.parse(readFileSync(config, 'utf8')).profiles.gw).toMatchObject({ address: '192.0.2.31', delayMs: 20 });
    // a URI without host= says no address: the one the profile has stays, and so does the delay
    const r = await knock(['--config', config, 'import', formatUri({}), '--name', 'gw']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(config, 'utf8')).profiles.gw).toMatchObject({ address: '192.0.2.31', delayMs: 20 });
    // a URI with host= says it: the newest import wins
    expect((await knock(['--config', config, 'import', uri, '--name', 'gw'])).code).toBe(0);
    expect(JSON.parse(readFileSync(config, 'utf8')).profiles.gw).toMatchObject({ address: '192.0.2.30', delayMs: 20 });
  });
});
