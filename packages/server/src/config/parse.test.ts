import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { timeProfile } from '@otpknock/server/testing';
import { thrownOtpknockError } from '@otpknock/shared/testing';
import { ConfigError } from './errors.js';
import { parseConfig, secretFilePaths, type ParseConfigOptions } from './parse.js';
import { DEFAULTS } from './schema.js';
import type { FileInfo } from './secret-file.js';

const FILE = '/etc/otpknock/otpknockd.yaml';
const SECRET_A = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const SECRET_B = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const SECRET_C = 'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U';

function secretFile(text: string, over: Partial<FileInfo> = {}): FileInfo {
  return { type: 'file', mode: 0o100600, uid: 0, size: text.length, text, ...over };
}

const FILES: Record<string, FileInfo> = {
  '/etc/otpknock/secrets/alice': secretFile(`# alice's secret\n${SECRET_A}\n`),
  '/etc/otpknock/secrets/bob': secretFile(`${SECRET_B}\n`),
  '/etc/otpknock/secrets/carol': secretFile(`${SECRET_C}\n`),
};

function options(files: Record<string, FileInfo> = FILES, extra: Partial<ParseConfigOptions> = {}): ParseConfigOptions {
  return {
    readSecretFile(path) {
      const info = files[path];
      if (info === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return info;
    },
    ...extra,
  };
}

const MINIMAL = `services:
  ssh: { port: 22 }
users:
  alice: { secret_file: secrets/alice }
`;

/** The ConfigError parseConfig throws for `text`. */
const configError = (text: string, opts: ParseConfigOptions = options()) =>
  thrownOtpknockError(() => parseConfig(text, FILE, opts), ConfigError);

describe('parseConfig', () => {
  it('reads forwarded services: dnat, a routed address, a routed IPv6 prefix', () => {
    const text = `services:
  ssh: { port: 22 }
  nas: { port: 8443, forward: dnat, open_for: 1m }
  cam: { port: 554, forward: 198.51.100.20 }
  lab: { port: 8080, forward: 2001:db8:2::/64 }
users:
  alice: { secret_file: secrets/alice }
`;
    expect(parseConfig(text, FILE, options()).services).toEqual([
      { name: 'ssh', port: 22, openForMs: 30_000 },
      { name: 'nas', port: 8443, openForMs: 60_000, forward: { kind: 'dnat' } },
      {
        name: 'cam',
        port: 554,
        openForMs: 30_000,
        forward: { kind: 'routed', destination: '198.51.100.20', family: 4 },
      },
      {
        name: 'lab',
        port: 8080,
        openForMs: 30_000,
        forward: { kind: 'routed', destination: '2001:db8:2::/64', family: 6 },
      },
    ]);
  });

  it('parses the documented example file', () => {
    const example = fileURLToPath(new URL('../../../../docs/otpknockd.example.yaml', import.meta.url));
    const config = parseConfig(readFileSync(example, 'utf8'), FILE, options());
    expect(config).toMatchObject({
      file: FILE,
      table: 'otpknock',
      keepTableOnStop: true,
      skew: 1,
      stepTimeoutMs: 5_000,
      logFormat: 'auto',
      // ssh alone: a protected 443 would hide a public web site behind the knock (issue #13)
      services: [{ name: 'ssh', port: 22, openForMs: 30_000 }],
    });
    const [alice] = config.users;
    expect(alice).toMatchObject({ name: 'alice', services: ['ssh'], secretSource: 'file /etc/otpknock/secrets/alice' });
    expect(alice?.profile).toMatchObject({
      method: 'time',
      length: 3,
      period: 30,
      algorithm: 'SHA1',
      range: { min: 10000, max: 65000 },
    });
    expect(alice?.profile.exclude).toEqual([22, 11211, 27017]);
    expect(alice?.secret).toHaveLength(20);
    // only alice: the README's Quick start makes her secret file, and no other
    expect(config.users).toHaveLength(1);
  });

  it('reads ban: off, and fills in the ban fields not given', () => {
    expect(parseConfig(`ban: off\n${MINIMAL}`, FILE, options()).ban).toBeNull();
    expect(parseConfig(`ban: false\n${MINIMAL}`, FILE, options()).ban).toBeNull();
    expect(parseConfig(`ban: { after: 3, for: 2s }\n${MINIMAL}`, FILE, options()).ban).toEqual({
      after: 3,
      withinMs: 60_000,
      forMs: 2_000,
    });
  });

  it('reads a payload requirement', () => {
    expect(parseConfig(`payload: { require: dns }\n${MINIMAL}`, FILE, options()).payload).toEqual({
      require: 'dns',
      shape: 'none',
    });
    expect(parseConfig(`payload: { require: none }\n${MINIMAL}`, FILE, options()).payload).toBeUndefined();
    const token = parseConfig(
      `payload: { require: token, shape: 'hex:C0FFEE' }\nknock: { token_bytes: 4 }\n${MINIMAL}`,
      FILE,
      options(),
    );
    expect(token.payload).toEqual({ require: 'token', shape: 'hex:c0ffee' });
  });

  it('fills in defaults', () => {
    const config = parseConfig(MINIMAL, FILE, options());
    const { openForMs, method, ...topLevel } = DEFAULTS;
    expect(config).toEqual({
      file: FILE,
      ...topLevel,
      services: [{ name: 'ssh', port: 22, openForMs }],
      users: [
        {
          name: 'alice',
          secret: expect.any(Uint8Array),
          secretSource: 'file /etc/otpknock/secrets/alice',
          services: ['ssh'],
          profile: timeProfile({ method }), // the defaults, the service port excluded
        },
      ],
    });
  });

  it('reads every setting', () => {
    const config = parseConfig(
      `table: fw-knock_1
keep_table_on_stop: true
skew: 0
step_timeout: 1s500ms
log_format: json
knock: { method: list-modulo, length: 2, ports: [7000, 7001, 7002, 7003], token_bytes: 8, algorithm: SHA256, period: 60 }
services:
  ssh: { port: 22, open_for: 2m }
  web: { port: 443 }
users:
  alice: { secret: "${SECRET_A.toLowerCase().replace(/(.{4})/g, '$1 ')}", services: [web] }
  bob: { secret_file: ./secrets/bob, knock: { method: static, open: [1000, 2000], toggle: true } }
`,
      FILE,
      options(FILES, { configFile: { mode: 0o100600, uid: 0 } }),
    );
    expect(config).toMatchObject({
      table: 'fw-knock_1',
      keepTableOnStop: true,
      skew: 0,
      stepTimeoutMs: 1_500,
      logFormat: 'json',
    });
    expect(config.services).toEqual([
      { name: 'ssh', port: 22, openForMs: 120_000 },
      { name: 'web', port: 443, openForMs: 30_000 },
    ]);
    expect(config.users[0]).toMatchObject({ name: 'alice', secretSource: 'inline', services: ['web'] });
    expect(config.users[0]?.profile).toMatchObject({
      method: 'list-modulo',
      length: 2,
      ports: [7000, 7001, 7002, 7003],
      tokenBytes: 8,
      algorithm: 'SHA256',
      period: 60,
    });
    // The user's block is merged over the global one field by field.
    expect(config.users[1]?.profile).toMatchObject({
      method: 'static',
      open: [1000, 2000],
      close: [1000, 2000],
      toggle: true,
      tokenBytes: 8,
      period: 60,
    });
  });

  it('resolves relative secret files against the config file directory', () => {
    expect(secretFilePaths(MINIMAL, '/srv/knock/conf.yaml')).toEqual(['/srv/knock/secrets/alice']);
    expect(secretFilePaths('users: [', '/x.yaml')).toEqual([]);
  });

  // Each case: config text → one exact line of the error (FILE:LINE: path: message).
  const bad: [string, string, string][] = [
    [
      'typo at top level',
      `tabel: x\n${MINIMAL}`,
      `${FILE}:1: tabel: unknown field (did you mean table?); expected one of: table, keep_table_on_stop, skew, step_timeout, log_format, state_dir, audit_nflog_group, user_store, knock, ban, payload, break_glass, fleet, services, users`,
    ],
    [
      'payload require unknown',
      `payload: { require: json }\n${MINIMAL}`,
      `${FILE}:1: payload.require: expected one of none, any, dns, ntp, token`,
    ],
    [
      'payload shape without token',
      `payload: { require: dns, shape: ntp }\n${MINIMAL}`,
      `${FILE}:1: payload.shape: shape only applies to require: token`,
    ],
    [
      'payload shape bad',
      `payload: { require: token, shape: dnss }\nknock: { token_bytes: 4 }\n${MINIMAL}`,
      `${FILE}:1: payload.shape: "dnss": unknown payload`,
    ],
    [
      'payload token without token_bytes',
      `payload: { require: token }\n${MINIMAL}`,
      `${FILE}:5: users.alice: payload.require is token, so user alice needs token_bytes from 4 to 16`,
    ],
    [
      'ban not a mapping',
      `ban: 3\n${MINIMAL}`,
      `${FILE}:1: ban: expected off, or a mapping such as { after: 10, within: 1m, for: 10m }, got 3`,
    ],
    [
      'ban typo',
      `ban: { afterr: 3 }\n${MINIMAL}`,
      `${FILE}:1: ban.afterr: unknown field (did you mean after?); expected one of: after, within, for`,
    ],
    [
      'ban after out of range',
      `ban: { after: 0 }\n${MINIMAL}`,
      `${FILE}:1: ban.after: expected the number of bad knocks that trigger a ban, an integer from 1 to 1000`,
    ],
    [
      'audit_nflog_group out of range',
      `audit_nflog_group: 70000\n${MINIMAL}`,
      `${FILE}:1: audit_nflog_group: expected an integer from 0 to 65535 (the NFLOG group the audit reads opens from)`,
    ],
    [
      'ban for too long',
      `ban: { for: 8d }\n${MINIMAL}`,
      `${FILE}:1: ban.for: 8d is out of range; expected a duration from 1s to 7d`,
    ],
    [
      'typo in a user',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice:\n    secretfile: secrets/alice\n`,
      `${FILE}:5: users.alice.secretfile: unknown field (did you mean secret_file?); expected one of: secret_file, secret, services, knock, code_mode`,
    ],
    [
      'typo in knock',
      `knock:\n  lenght: 4\n${MINIMAL}`,
      `${FILE}:2: knock.lenght: unknown field (did you mean length?)`,
    ],
    [
      'typo in a service',
      `services:\n  ssh:\n    port: 22\n    openfor: 5s\nusers:\n  alice: { secret_file: secrets/alice }\n`,
      `${FILE}:4: services.ssh.openfor: unknown field (did you mean open_for?)`,
    ],
    [
      'bare number duration',
      `step_timeout: 5\n${MINIMAL}`,
      `${FILE}:1: step_timeout: 5 is a bare number, which is ambiguous; write a duration with a unit, e.g. 5s or 5ms (allowed from 100ms to 1m)`,
    ],
    [
      'duration out of range',
      `step_timeout: 2m\n${MINIMAL}`,
      `${FILE}:1: step_timeout: 2m is out of range; expected a duration from 100ms to 1m`,
    ],
    [
      'open_for too long',
      `services:\n  ssh: { port: 22, open_for: 2d }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
      `${FILE}:2: services.ssh.open_for: 2d is out of range; expected a duration from 1s to 24h`,
    ],
    [
      'not a duration',
      `step_timeout: soon\n${MINIMAL}`,
      `${FILE}:1: step_timeout: "soon" is not a duration; expected a whole number with a unit`,
    ],
    [
      'skew too large',
      `skew: 11\n${MINIMAL}`,
      `${FILE}:1: skew: expected an integer from 0 to 10 (windows accepted before and after the current one), got 11`,
    ],
    [
      'bad table name',
      `table: "my table"\n${MINIMAL}`,
      `${FILE}:1: table: expected 1 to 32 characters from a-z, A-Z, 0-9, _ and -, starting with a letter, got "my table"`,
    ],
    [
      'bad log format',
      `log_format: yaml\n${MINIMAL}`,
      `${FILE}:1: log_format: expected one of auto, text, json, got "yaml"`,
    ],
    [
      'non-boolean',
      `keep_table_on_stop: "yes"\n${MINIMAL}`,
      `${FILE}:1: keep_table_on_stop: expected true or false, got "yes"`,
    ],
    [
      'no services',
      `users:\n  alice: { secret_file: secrets/alice }\n`,
      `${FILE}:1: services: missing; expected at least one service to protect`,
    ],
    [
      'no users',
      `services:\n  ssh: { port: 22 }\n`,
      `${FILE}:1: users: missing; expected at least one user: a daemon with no users would lock everybody out of the protected services`,
    ],
    [
      'empty users',
      `services:\n  ssh: { port: 22 }\nusers: {}\n`,
      `${FILE}:3: users: empty; expected at least one user: a daemon with no users would lock everybody out`,
    ],
    [
      'users as a list',
      `services:\n  ssh: { port: 22 }\nusers: [alice]\n`,
      `${FILE}:3: users: expected a mapping of user names to settings`,
    ],
    [
      'port out of range',
      `services:\n  ssh: { port: 70000 }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
      `${FILE}:2: services.ssh.port: expected a port number (an integer from 1 to 65535), got 70000`,
    ],
    [
      'port missing',
      `services:\n  ssh: { open_for: 5s }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
      `${FILE}:2: services.ssh.port: missing; expected a port number (an integer from 1 to 65535)`,
    ],
    [
      'port as a string',
      `services:\n  ssh: { port: "22" }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
      `${FILE}:2: services.ssh.port: expected a port number (an integer from 1 to 65535), got "22"`,
    ],
    [
      'service without settings',
      `services:\n  ssh:\nusers:\n  alice: { secret_file: secrets/alice }\n`,
      `${FILE}:2: services.ssh: expected a mapping such as { port: 22, open_for: 30s }, got nothing`,
    ],
    [
      'duplicate service port',
      `services:\n  ssh: { port: 22 }\n  ssh2: { port: 22 }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
      `${FILE}:3: services.ssh2.port: port 22 is already used by service ssh; each service needs a port of its own`,
    ],
    [
      'a port both local and forwarded',
      `services:\n  ssh: { port: 22 }\n  lan-ssh: { port: 22, forward: dnat }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
      `${FILE}:3: services.lan-ssh.port: port 22 is already the port of service ssh (local); a port is guarded either on this host or forwarded, not both (this one is forwarded (DNAT))`,
    ],
    [
      'two forwarded services on one port',
      `services:\n  a: { port: 22, forward: 198.51.100.10 }\n  b: { port: 22, forward: 198.51.100.11 }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
      `${FILE}:3: services.b.port: port 22 is already used by service a (forwarded to 198.51.100.10); each service needs a port of its own`,
    ],
    [
      'forward: true',
      `services:\n  nas: { port: 8443, forward: true }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
      `${FILE}:2: services.nas.forward: expected dnat or an address, got true; write dnat`,
    ],
    [
      'a forward to loopback',
      `services:\n  nas: { port: 8443, forward: 127.0.0.1 }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
      `${FILE}:2: services.nas.forward: "127.0.0.1" is loopback (127.0.0.0/8): it never leaves the host; a forwarded service needs an address this host routes to`,
    ],
    [
      'bad service name',
      `services:\n  SSH: { port: 22 }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
      `${FILE}:2: services.SSH: invalid service name; expected 1 to 24 characters from a-z, 0-9, _ and -`,
    ],
    [
      'bad user name',
      `services:\n  ssh: { port: 22 }\nusers:\n  Alice: { secret_file: secrets/alice }\n`,
      `${FILE}:4: users.Alice: invalid user name; expected 1 to 32 characters from a-z, 0-9, _, . and -`,
    ],
    [
      'unknown service for a user',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice:\n    secret_file: secrets/alice\n    services:\n      - ssh\n      - http\n`,
      `${FILE}:8: users.alice.services[1]: unknown service "http"; expected one of the services defined under services: ssh`,
    ],
    [
      'service listed twice',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: secrets/alice, services: [ssh, ssh] }\n`,
      `${FILE}:4: users.alice.services[1]: service ssh is listed twice`,
    ],
    [
      'empty service list',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: secrets/alice, services: [] }\n`,
      `${FILE}:4: users.alice.services: empty list; name at least one service, or leave the field out to allow all services`,
    ],
    [
      'both secret and secret_file',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice:\n    secret_file: secrets/alice\n    secret: ${SECRET_A}\n`,
      `${FILE}:6: users.alice.secret: both secret and secret_file are set; keep exactly one`,
    ],
    [
      'no secret',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice: { services: [ssh] }\n`,
      `${FILE}:4: users.alice: missing secret_file; expected the path of a file holding the base32 secret`,
    ],
    [
      'missing secret file',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: /nowhere/alice }\n`,
      `${FILE}:4: users.alice.secret_file: /nowhere/alice does not exist; expected a file holding the base32 secret (mode 0600)`,
    ],
    [
      'secret file too open',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: loose }\n`,
      `${FILE}:4: users.alice.secret_file: permissions 0644 for /etc/otpknock/loose are too open: group and others must have no access to a secret; run chmod 600 /etc/otpknock/loose`,
    ],
    [
      'secret file of another user',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: foreign }\n`,
      `${FILE}:4: users.alice.secret_file: /etc/otpknock/foreign is owned by uid 1000; expected root; run chown root /etc/otpknock/foreign`,
    ],
    [
      'secret file is a directory',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: secrets }\n`,
      `${FILE}:4: users.alice.secret_file: /etc/otpknock/secrets is not a regular file (it is a directory)`,
    ],
    [
      'secret file only comments',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: empty }\n`,
      `${FILE}:4: users.alice.secret_file: /etc/otpknock/empty holds no secret (only comments or blank lines)`,
    ],
    [
      'bad base32',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret: "JBSWY3DPEHPK3PXP1BSWY3DPEHPK3PXP" }\n`,
      `${FILE}:4: users.alice.secret: invalid base32 character at position 17; a base32 secret uses only the letters A–Z and the digits 2–7`,
    ],
    [
      'short secret',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: short }\n`,
      `${FILE}:4: users.alice.secret_file: secret is 80 bits long; at least 128 bits (26 base32 characters) are required; generate a new secret with \`otpknockd user add\` (160-bit secrets are recommended) in /etc/otpknock/short`,
    ],
    [
      'secret as a number',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret: 12345678901234567890 }\n`,
      `${FILE}:4: users.alice.secret: expected base32 text, got a number`,
    ],
    [
      'require: token with break_glass (said once, without repeating the field)',
      `payload: { require: token }\nknock: { token_bytes: 8 }\nbreak_glass: { sequence: [41872, 12093, 55310, 30127, 48866, 21934, 60411, 17558] }\n${MINIMAL}`,
      `${FILE}:1: payload.require: token cannot be combined with break_glass (its static sequence carries no token)`,
    ],
    [
      "require: token with a user's code_mode",
      `payload: { require: token }\nknock: { token_bytes: 8 }\nservices:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: secrets/alice, code_mode: true }\n`,
      `${FILE}:6: users.alice.code_mode: code_mode cannot be combined with payload.require: token`,
    ],
    [
      'same secret twice',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: secrets/alice }\n  bob: { secret: "${SECRET_A}" }\n`,
      `${FILE}:5: users.bob.secret: user bob has the same secret as user alice; every user needs a secret of their own`,
    ],
    [
      'unknown method',
      `knock: { method: totp }\n${MINIMAL}`,
      `${FILE}:1: knock.method: expected one of time, list-modulo, prng, static, got "totp"`,
    ],
    [
      'global length out of range',
      `knock:\n  method: time\n  length: 9\n${MINIMAL}`,
      `${FILE}:3: knock.length: length must be a whole number 1–8, got 9 (in the knock profile of user alice)`,
    ],
    [
      'user range too small',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice:\n    secret_file: secrets/alice\n    knock:\n      range: 10000-10003\n`,
      `${FILE}:7: users.alice.knock.range: range 10000-10003 leaves 4 ports after 0 exclusions, but length 3 needs 6`,
    ],
    [
      'bad token size',
      `knock: { token_bytes: 2 }\n${MINIMAL}`,
      `${FILE}:1: knock.token_bytes: token_bytes must be 0 (no token) or a whole number 4–16, got 2 (in the knock profile of user alice)`,
    ],
    [
      'static open on a service port',
      `services:\n  ssh: { port: 22 }\nusers:\n  alice:\n    secret_file: secrets/alice\n    knock:\n      method: static\n      toggle: true\n      open: [1000, 22]\n`,
      `${FILE}:9: users.alice.knock.open[1]: port 22 is in exclude; a knock port must not be a protected or excluded port`,
    ],
    [
      'range as a list',
      `knock: { range: [1, 2] }\n${MINIMAL}`,
      `${FILE}:1: knock.range: expected a port range such as 10000-65000 or {min: 10000, max: 65000}, got a list`,
    ],
    ['YAML syntax', `services:\n  ssh: { port: 22\nusers: {}\n`, `${FILE}:3: invalid YAML`],
    [
      'duplicate key',
      `services:\n  ssh: { port: 22 }\nservices:\n  web: { port: 80 }\n`,
      `${FILE}:3: invalid YAML: Map keys must be unique`,
    ],
    ['empty file', `# nothing here\n`, `${FILE}: the file is empty; expected at least a services and a users section`],
    ['top level list', `- services\n`, `${FILE}:1: expected a mapping of settings at the top level, got a list`],
  ];

  it.each(bad)('reports %s', (_name, text, expected) => {
    const files = {
      ...FILES,
      '/etc/otpknock/loose': secretFile(SECRET_A, { mode: 0o100644 }),
      '/etc/otpknock/foreign': secretFile(SECRET_A, { uid: 1000 }),
      '/etc/otpknock/secrets': { type: 'directory', mode: 0o40700, uid: 0, size: 4096 } as FileInfo,
      '/etc/otpknock/empty': secretFile('# todo\n\n'),
      '/etc/otpknock/short': secretFile('JBSWY3DPEHPK3PXP\n'),
    };
    const error = configError(text, options(files));
    expect(error.code).toBe('E_CONFIG');
    expect(error.where).toBe(FILE);
    const lines = error.message.split('\n').map((l) => l.trim());
    expect(
      lines.some((l) => l.startsWith(expected)),
      `expected a line starting with\n  ${expected}\ngot\n${error.message}`,
    ).toBe(true);
    // No secret, not even a part of one, ever reaches a message.
    for (const secret of [SECRET_A, 'JBSWY3DPEHPK3PXP1BSWY3DPEHPK3PXP']) {
      expect(error.message).not.toContain(secret.slice(0, 8));
      expect(error.message).not.toContain('"1"');
    }
  });

  it('collects every error of a file at once, in file order', () => {
    const error = configError(`tabel: x
skew: -1
services:
  ssh: { port: 22 }
  web: { port: 22 }
users:
  alice: { secret_file: /nowhere }
  bob: { secret: short, services: [mail] }
`);
    expect(error.issues.map((i) => `${i.line} ${i.path}`)).toEqual([
      '1 tabel',
      '2 skew',
      '5 services.web.port',
      '7 users.alice.secret_file',
      '8 users.bob.services[0]',
      '8 users.bob.secret',
    ]);
    expect(error.message).toMatch(/^6 errors in the configuration:\n {2}\/etc\/otpknock\/otpknockd.yaml:1: tabel: /);
    expect(error.message).toMatch(/\nfix the file and try again; nothing from it was applied$/);
  });

  describe('YAML anchors, aliases and tags: a located error, never a crash', () => {
    const cases: [string, string, string][] = [
      [
        'an alias to no anchor',
        `services: *x\nusers:\n  alice: { secret_file: secrets/alice }\n`,
        `${FILE}:1: invalid YAML: the alias *x refers to no anchor defined before it; mark the value with &x above this line, or write the value out here`,
      ],
      [
        'an alias as a key',
        `services:\n  ssh: { port: 22 }\nusers:\n  ? *alice\n  : { secret_file: secrets/alice }\n`,
        `${FILE}:4: invalid YAML: the alias *alice refers to no anchor`,
      ],
      [
        'an alias before its anchor',
        `services:\n  ssh: { port: *p }\n  web: { port: &p 80 }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
        `${FILE}:2: invalid YAML: the alias *p refers to no anchor defined before it`,
      ],
      [
        'an alias inside its own anchor',
        `services: &s\n  ssh: { port: 22, more: *s }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
        `${FILE}:2: invalid YAML: the alias *s is inside the value it refers to, which would make that value contain itself`,
      ],
      [
        'aliases that expand too far',
        `x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\ny: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nz: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n${MINIMAL}`,
        `${FILE}:2: invalid YAML: the aliases expand to more than 100 copies of their values`,
      ],
      [
        'a YAML 1.1 merge of a scalar',
        `%YAML 1.1\n---\nbase: &b 1\nservices:\n  ssh: { <<: *b, port: 22 }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
        `${FILE}:5: invalid YAML: Merge sources must be maps or map aliases`,
      ],
      [
        'an unknown tag',
        `services:\n  ssh: { port: !port 22 }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
        `${FILE}:2: invalid YAML: Unresolved tag: !port`,
      ],
    ];
    it.each(cases)('%s', (_name, text, expected) => {
      const error = configError(text);
      expect(error.issues.map((i) => i.file)).toEqual(error.issues.map(() => FILE));
      expect(
        error.message
          .split('\n')
          .map((l) => l.trim())
          .some((l) => l.startsWith(expected)),
        `expected a line starting with\n  ${expected}\ngot\n${error.message}`,
      ).toBe(true);
    });

    it('accepts an alias to an anchor defined before it', () => {
      const config = parseConfig(
        `services:\n  ssh: { port: 22, open_for: &long 2m }\n  web: { port: 80, open_for: *long }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
        FILE,
        options(),
      );
      expect(config.services.map((x) => x.openForMs)).toEqual([120_000, 120_000]);
      const shared = parseConfig(
        `services:\n  ssh: &svc { port: 22, open_for: 2m }\nusers:\n  alice: { secret_file: secrets/alice, services: [ssh] }\n  bob: { secret_file: secrets/bob, services: &list [ssh] }\n  carol: { secret_file: secrets/carol, services: *list }\n`,
        FILE,
        options(),
      );
      expect(shared.users.map((u) => u.services)).toEqual([['ssh'], ['ssh'], ['ssh']]);
    });

    it('never quotes a long alias name (it may be a pasted secret)', () => {
      const error = configError(`services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret: *${SECRET_A} }\n`);
      expect(error.message).toContain(`${FILE}:4: invalid YAML: the alias *JBSW… refers to no anchor`);
      expect(error.message).not.toContain(SECRET_A.slice(0, 8));
    });

    it('secretFilePaths yields nothing for such a file, and does not throw', () => {
      expect(secretFilePaths(`users: *x\n`, FILE)).toEqual([]);
    });
  });

  describe('the global knock block', () => {
    it('lists each of its problems once, at knock.FIELD', () => {
      const error = configError(
        `knock:\n  lenght: 3\n  period: 0\nservices:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: secrets/alice }\n  bob: { secret_file: secrets/bob }\n`,
      );
      expect(error.issues.map((i) => `${i.line} ${i.path}`)).toEqual(['2 knock.lenght', '3 knock.period']);
    });

    it('lists a problem of the profile it gives several users once, naming them', () => {
      const error = configError(
        `knock: { length: 9 }\nservices:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: secrets/alice, knock: { algorithm: SHA256 } }\n  bob: { secret_file: secrets/bob }\n`,
      );
      expect(error.issues.map((i) => `${i.line} ${i.path}: ${i.message}`)).toEqual([
        '1 knock.length: length must be a whole number 1–8, got 9 (in the knock profile of users alice, bob)',
      ]);
    });

    it('blames a field the global method needs on the global block, once', () => {
      const error = configError(
        `knock: { method: list-modulo }\nservices:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: secrets/alice, knock: { algorithm: SHA256 } }\n  bob: { secret_file: secrets/bob }\n  carol: { secret_file: secrets/carol, knock: { method: list-modulo } }\n`,
      );
      expect(error.issues.map((i) => `${i.line} ${i.path}`)).toEqual(['1 knock', '7 users.carol.knock']);
      expect(error.issues[0]?.message).toMatch(/\(in the knock profile of users alice, bob\)$/);
    });
  });

  describe('knock profiles: the shared profile schema, located in this file', () => {
    const users = `services:\n  ssh: { port: 22 }\nusers:\n`;

    it("locates a field of a user's own block in that block, with its own indexes", () => {
      const error = configError(
        `${users}  alice:\n    secret_file: secrets/alice\n    knock: { exclude: [22, 0], token_bytes: 3 }\n`,
      );
      expect(error.issues.map((i) => `${i.line} ${i.path}: ${i.message}`)).toEqual([
        '6 users.alice.knock.exclude[1]: expected a port number (an integer from 1 to 65535), got 0',
        '6 users.alice.knock.token_bytes: token_bytes must be 0 (no token) or a whole number 4–16, got 3',
      ]);
    });

    it("reports a bad knock block beside the user's other problems, all at once", () => {
      const error = configError(
        `${users}  alice:\n    secret_file: /nowhere\n    knock: { lenght: 3, range: { min: 1, maks: 9 } }\n`,
      );
      expect(error.issues.map((i) => `${i.line} ${i.path}`)).toEqual([
        '5 users.alice.secret_file',
        '6 users.alice.knock.lenght',
        '6 users.alice.knock.range.maks',
        '6 users.alice.knock.range.max',
      ]);
      expect(error.issues[2]?.message).toBe('unknown field (did you mean max?); expected one of: min, max');
    });

    it('reads algorithm in any case, as knock does', () => {
      const config = parseConfig(`knock: { algorithm: sha-256 }\n${MINIMAL}`, FILE, options());
      expect(config.users[0]?.profile.algorithm).toBe('SHA256');
    });

    it('blames a rule between fields on the block that holds the field', () => {
      const error = configError(
        `knock: { method: list-modulo, length: 2, ports: [7001, 7002, 7003, 7004] }\n${users}  alice:\n    secret_file: secrets/alice\n    knock: { exclude: [7003] }\n  bob: { secret_file: secrets/bob, knock: { method: time, range: 10000-10002 } }\n`,
      );
      expect(error.issues.map((i) => `${i.line} ${i.path}: ${i.message}`)).toEqual([
        '1 knock.ports[2]: port 7003 is also in exclude; remove it from one of the two lists (in the knock profile of user alice)',
        '8 users.bob.knock.range: range 10000-10002 leaves 3 ports after 0 exclusions, but length 2 needs 4 (open and close each take 2 distinct ports); widen the range, exclude fewer ports or lower length',
      ]);
    });

    it('checks the global block even when no user takes it yet (the user commands before the first user add)', () => {
      const error = configError(
        `knock: { period: 0 }\nuser_store: users.d\nservices:\n  ssh: { port: 22 }\n`,
        options(FILES, { allowNoUsers: true, userStore: { dir: '/etc/otpknock/users.d', entries: [] } }),
      );
      expect(error.issues.map((i) => `${i.line} ${i.path}: ${i.message}`)).toEqual([
        '1 knock.period: period (seconds) must be a whole number 1–3600, got 0',
      ]);
    });
  });

  it('formats a single error on one line', () => {
    const error = configError(`skew: 99\n${MINIMAL}`);
    expect(error.message.split('\n')[0]).toBe(
      `${FILE}:1: skew: expected an integer from 0 to 10 (windows accepted before and after the current one), got 99`,
    );
  });

  it('refuses an inline secret in a config file others can read', () => {
    const text = `services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret: ${SECRET_A} }\n`;
    const error = configError(text, options(FILES, { configFile: { mode: 0o100640, uid: 0 } }));
    expect(error.message).toContain(
      `${FILE}:4: users.alice.secret: inline secret in a configuration file that group or others can read (permissions 0640); run chmod 600 ${FILE}, or better, move the secret to a secret_file`,
    );
    expect(
      parseConfig(text, FILE, options(FILES, { configFile: { mode: 0o100600, uid: 0 } })).users[0]?.secretSource,
    ).toBe('inline');
  });

  it('accepts secret files owned by the daemon uid', () => {
    const files = { '/etc/otpknock/secrets/alice': secretFile(SECRET_A, { uid: 993, mode: 0o100400 }) };
    expect(parseConfig(MINIMAL, FILE, options(files, { daemonUid: 993 })).users).toHaveLength(1);
    expect(configError(MINIMAL, options(files, { daemonUid: 994 })).message).toContain(
      "is owned by uid 993; expected root or uid 994 (the daemon's uid)",
    );
  });

  describe('static sequences', () => {
    const head = `services:\n  ssh: { port: 22 }\nusers:\n`;
    const user = (name: string, knock: string) =>
      `  ${name}:\n    secret_file: secrets/${name}\n    knock: { method: static, ${knock} }\n`;

    it('accepts distinct sequences', () => {
      const config = parseConfig(
        head +
          user('alice', 'open: [1000, 2000], close: [2000, 1000]') +
          user('bob', 'open: [1000, 3000], toggle: true'),
        FILE,
        options(),
      );
      expect(config.users.map((u) => u.profile.open)).toEqual([
        [1000, 2000],
        [1000, 3000],
      ]);
    });

    it('refuses the same sequence for two users', () => {
      const error = configError(
        head + user('alice', 'open: [1000, 2000], toggle: true') + user('bob', 'open: [3000], close: [1000, 2000]'),
      );
      expect(error.issues).toHaveLength(1);
      expect(error.message).toContain(
        `${FILE}:9: users.bob.knock.close: the static close sequence of user bob is the same as the open sequence of user alice; the kernel could not tell them apart`,
      );
    });

    it("refuses a sequence that begins another user's", () => {
      const error = configError(
        head +
          user('alice', 'open: [1000, 2000, 3000], toggle: true') +
          user('bob', 'open: [1000], toggle: true') +
          user('carol', 'open: [1000, 4000], toggle: true'),
      );
      expect(error.issues.map((i) => i.message.split(';')[0])).toEqual([
        'the static open sequence of user alice starts with the open sequence of user bob',
        'the static open sequence of user carol starts with the open sequence of user bob',
      ]);
      expect(error.issues.map((i) => `${i.line} ${i.path}`)).toEqual([
        '6 users.alice.knock.open',
        '12 users.carol.knock.open',
      ]);
    });

    it('refuses a global static sequence shared by several users', () => {
      const error = configError(
        `knock: { method: static, open: [1000, 2000], toggle: true }\n${head}  alice: { secret_file: secrets/alice }\n  bob: { secret_file: secrets/bob }\n`,
      );
      expect(error.message).toContain(`${FILE}:1: knock.open: the static open sequence of user`);
      expect(error.message).toMatch(/user (alice|bob) is the same as the open sequence of user (alice|bob)/);
    });
  });
});
