// The built `knock` as a child process: exit codes, messages, stdout discipline.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeSecret, deriveSequences, formatOtpauthUri, normalizeProfile, windowAt } from '@otpknock/shared';
import { tempDir, TEST_SECRET, writePrivate } from './testing.js';

const here = dirname(fileURLToPath(import.meta.url));
let bin: string;
let buildDir: { dir: string; cleanup: () => void };

// Bundled like scripts/build.mjs does, so the test runs the current source. Inside the
// package's node_modules, so that conf (loaded at run time, see store.ts) resolves.
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

function knock(args: string[], options: { stdin?: string | Buffer; env?: Record<string, string>; keepStdinOpenMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, XDG_CONFIG_HOME: join(dir, 'cfg'), XDG_STATE_HOME: join(dir, 'state'), ...options.env },
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

    expect((await knock(['--config', config, 'add', 'myserver', '--secret-stdin'], { stdin: TEST_SECRET })).code).toBe(2); // exists
    expect((await knock(['--config', config, 'add', 'myserver', '--secret-stdin', '--force'], { stdin: TEST_SECRET })).code).toBe(0);
    const removed = await knock(['--config', config, 'remove', 'myserver']);
    expect(removed.code).toBe(0);
    expect(JSON.parse(readFileSync(config, 'utf8')).profiles).toEqual({});
  });

  it('the default store is $XDG_CONFIG_HOME/otpknock/profiles.json, mode 0600', async () => {
    const secretFile = writePrivate(join(dir, 'k'), TEST_SECRET);
    expect((await knock(['add', 'h', '--secret-file', secretFile])).code).toBe(0);
    const { statSync } = await import('node:fs');
    expect(statSync(join(dir, 'cfg', 'otpknock', 'profiles.json')).mode & 0o777).toBe(0o600);
  });

  it('import from stdin; the newest import wins', async () => {
    const uri = (secret: string, period: number) =>
      formatOtpauthUri({ secret: decodeSecret(secret), issuer: 'example', account: 'alice', profile: normalizeProfile({ method: 'time', period }), host: '192.0.2.20', servicePort: 2200 });
    const first = await knock(['--config', config, 'import', '-'], { stdin: uri(TEST_SECRET, 30) });
    expect(first.code).toBe(0);
    const other = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    const second = await knock(['--config', config, 'import', '-', '--name', 'work'], { stdin: uri(other, 60) });
    expect(second.code).toBe(0);
    const third = await knock(['--config', config, 'import', uri(other, 45)]);
    expect(third.stderr).toContain('updated profile 192.0.2.20');
    const store = JSON.parse(readFileSync(config, 'utf8'));
    expect(store.profiles['192.0.2.20']).toMatchObject({ servicePort: 2200, secret: other, knock: { period: 45 }, issuer: 'example', account: 'alice' });
    expect(store.profiles['work']).toMatchObject({ address: '192.0.2.20', servicePort: 2200, secret: other });
    const bad = await knock(['--config', config, 'import', 'otpauth://totp/x?secret=AAAA']);
    expect(bad.code).toBe(2);
  });
});

describe('profiles changed by several commands at once', () => {
  it('8 concurrent knock add runs on one store: every profile is there (none lost to a race)', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `host${i}`);
    const runs = await Promise.all(names.map((n, i) => knock(['--config', config, 'add', n, '--address', `192.0.2.${10 + i}`, '--secret-stdin'], { stdin: TEST_SECRET })));
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
    const fakeSsh = writePrivate(join(dir, 'ssh'), '#!/bin/sh\n[ "$3" = myalias ] && printf "hostname ::1\\nport 22\\n" || printf "hostname %s\\n" "$3"\n', 0o700);
    const r = await knock(['--config', config, 'myalias', '-v'], { env: { OTPKNOCK_SSH: fakeSsh } });
    expect(r.stderr).toContain('profile lo6 (found by ssh HostName ::1)');
    expect(r.code).toBe(0);
  });

  it('exit 1 when the service does not open in time; 3 when the name does not resolve', async () => {
    const port = await serve(() => {});
    await new Promise((r) => server!.close(r));
    server = undefined;
    await addProfile('down', ['--address', '127.0.0.1', '--port', String(port)]);
    const r = await knock(['--config', config, 'down', '--timeout', '0.3', '--retries', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('did not open after 1 knock');
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
    expect(r.stderr).toBe('');
  });
});
