// Property tests of the config parser as an attack surface: whatever the file
// holds, parseConfig returns a config that satisfies every documented limit, or
// throws one ConfigError whose every issue names the file and a field, with no
// secret text in it. Never another kind of error (a crash would skip the
// "nothing from it was applied" path).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeSecret } from '@otpknock/shared';
import { formatDuration, parseDuration } from './duration.js';
import { ConfigError } from './errors.js';
import { parseConfig, type ParseConfigOptions } from './parse.js';
import { KEYS } from './schema.js';
import type { ServerConfig } from './types.js';

const FILE = '/etc/otpknock/otpknockd.yaml';
const SECRET_A = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const options: ParseConfigOptions = {
  readSecretFile(path) {
    if (path === '/etc/otpknock/secrets/alice')
      return { type: 'file', mode: 0o100600, uid: 0, size: 33, text: `${SECRET_A}\n` };
    if (path === '/etc/otpknock/secrets/loose')
      return { type: 'file', mode: 0o100644, uid: 0, size: 33, text: `${SECRET_A}\n` };
    throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  },
  configFile: { mode: 0o100600, uid: 0 },
};

function parseOrError(text: string, opts: ParseConfigOptions = options): ServerConfig | ConfigError {
  try {
    return parseConfig(text, FILE, opts);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw new Error(
      `parseConfig threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}\n--- for ---\n${text}`,
    );
  }
}

function expectWellFormed(e: ConfigError): void {
  expect(e.issues.length).toBeGreaterThan(0);
  for (const i of e.issues) {
    expect(i.file).toBe(FILE);
    expect(i.message.length).toBeGreaterThan(5);
  }
  expect(e.message).toMatch(/nothing from it was applied/);
}

/** Every limit docs/configuration.md promises, checked on a parsed config. */
function expectWithinLimits(c: ServerConfig): void {
  expect(c.skew).toBeGreaterThanOrEqual(0);
  expect(c.skew).toBeLessThanOrEqual(10);
  expect(c.stepTimeoutMs).toBeGreaterThanOrEqual(100);
  expect(c.stepTimeoutMs).toBeLessThanOrEqual(60_000);
  expect(c.services.length).toBeGreaterThan(0);
  expect(c.users.length).toBeGreaterThan(0);
  const ports = new Set(c.services.map((s) => s.port));
  expect(ports.size).toBe(c.services.length);
  for (const s of c.services) {
    expect(s.port).toBeGreaterThanOrEqual(1);
    expect(s.port).toBeLessThanOrEqual(65535);
    expect(s.openForMs).toBeGreaterThanOrEqual(1_000);
    expect(s.openForMs).toBeLessThanOrEqual(86_400_000);
  }
  for (const u of c.users) {
    expect(u.secret.length).toBeGreaterThanOrEqual(16);
    expect(u.profile.period).toBeGreaterThanOrEqual(1);
    expect(u.profile.period).toBeLessThanOrEqual(3600);
    expect(u.profile.length).toBeGreaterThanOrEqual(1);
    expect(u.profile.length).toBeLessThanOrEqual(8);
    for (const s of c.services) expect(u.profile.exclude).toContain(s.port); // knock ports never a service port
  }
  if (c.ban) {
    expect(c.ban.after).toBeGreaterThanOrEqual(1);
    expect(c.ban.after).toBeLessThanOrEqual(1000);
  }
}

// Values a careless or hostile operator might write.
const scalarArb = fc.oneof(
  fc.integer({ min: -100_000, max: 100_000 }).map(String),
  fc.constantFrom(
    '0',
    '-1',
    '65535',
    '65536',
    '1e3',
    '0x16',
    '.5',
    '~',
    'null',
    'true',
    'off',
    '""',
    "''",
    '[]',
    '{}',
    '5',
    '5s',
    '0s',
    '100ms',
    '99ms',
    '1m',
    '61s',
    '24h',
    '25h',
    '7d',
    '8d',
    '1m30s',
    '30s500ms',
    '1h1h',
    'ssh',
    '"22"',
    '20000-40000',
    '40000-20000',
    '1-65535',
    'SHA1',
    'MD5',
    'time',
    'totp',
    'static',
  ),
  fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
);
const topKeyArb = fc.constantFrom(
  'table',
  'skew',
  'step_timeout',
  'keep_table_on_stop',
  'log_format',
  'ban',
  'tabel',
  'knock',
);
const knockKeyArb = fc.constantFrom(...KEYS.knock, 'lenght');
const serviceKeyArb = fc.constantFrom('port', 'open_for', 'openfor');

const configArb = fc
  .record({
    top: fc.array(fc.tuple(topKeyArb, scalarArb), { maxLength: 3 }),
    knock: fc.array(fc.tuple(knockKeyArb, scalarArb), { maxLength: 3 }),
    services: fc.array(
      fc.tuple(
        fc.constantFrom('ssh', 'api', 'Bad Name', 'x'.repeat(30)),
        fc.array(fc.tuple(serviceKeyArb, scalarArb), { maxLength: 2 }),
      ),
      { maxLength: 3 },
    ),
    users: fc.array(
      fc.tuple(
        fc.constantFrom('alice', 'bob', 'Eve!'),
        fc.constantFrom(
          'secret_file: secrets/alice',
          'secret_file: secrets/loose',
          'secret_file: secrets/nobody',
          `secret: ${SECRET_A}`,
          'secret: JBSWY3DP',
          `secret: ${SECRET_A.replace('P', '1')}`,
          'secret: 12',
          'services: [ssh]',
        ),
      ),
      { maxLength: 3 },
    ),
  })
  .map(({ top, knock, services, users }) => {
    const lines: string[] = [];
    for (const [k, v] of top) if (k !== 'knock') lines.push(`${k}: ${v}`);
    if (knock.length > 0) lines.push('knock:', ...knock.map(([k, v]) => `  ${k}: ${v}`));
    if (services.length > 0) {
      lines.push('services:');
      for (const [name, fields] of services)
        lines.push(
          `  ${name}:`,
          ...(fields.length === 0 ? ['    port: 22'] : fields.map(([k, v]) => `    ${k}: ${v}`)),
        );
    }
    if (users.length > 0) {
      lines.push('users:');
      for (const [name, field] of users) lines.push(`  ${name}:`, `    ${field}`);
    }
    return `${lines.join('\n')}\n`;
  });

// Text made mostly of YAML's own punctuation: anchors, aliases (defined, undefined,
// inside their own anchor), tags, directives, merge keys, flow collections.
const yamlishArb = fc
  .array(
    fc.constantFrom(
      '&x ',
      '*x',
      '&y ',
      '*y',
      '*x:',
      '<<: ',
      '!foo ',
      '!!str ',
      '!!binary ',
      '%YAML 1.1\n---\n',
      '%FOO\n',
      '? ',
      ': ',
      '- ',
      '[',
      ']',
      '{',
      '}',
      ', ',
      '\n',
      '\n  ',
      'services',
      'users',
      'knock',
      'ssh',
      'port',
      '22',
      'a',
      '"',
      "'",
      '#',
      '---\n',
      '...\n',
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

describe('parseConfig under hostile input', () => {
  it('arbitrary text: a ConfigError with located issues, never another error', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300, unit: 'binary' }), fc.string({ maxLength: 300 }), yamlishArb),
        (text) => {
          const r = parseOrError(text);
          if (r instanceof ConfigError) expectWellFormed(r);
          else expectWithinLimits(r);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('configs assembled from plausible and absurd values: valid within every limit, or refused with each issue on its field', () => {
    fc.assert(
      fc.property(configArb, (text) => {
        const r = parseOrError(text);
        if (r instanceof ConfigError) {
          expectWellFormed(r);
          for (const i of r.issues) {
            expect(i.line === undefined || (i.line >= 1 && i.line <= text.split('\n').length)).toBe(true);
            // secrets never appear in messages, not even a malformed one
            expect(i.message).not.toContain(SECRET_A);
            expect(i.message).not.toContain(SECRET_A.replace('P', '1'));
          }
        } else {
          expectWithinLimits(r);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a service port outside 1–65535 is always refused, naming services.NAME.port', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: -1_000_000, max: 0 }), fc.integer({ min: 65536, max: 10_000_000 })),
        (port) => {
          const r = parseOrError(
            `services:\n  ssh: { port: ${port} }\nusers:\n  alice: { secret_file: secrets/alice }\n`,
          );
          expect(r).toBeInstanceOf(ConfigError);
          expect((r as ConfigError).issues.map((i) => i.path)).toContain('services.ssh.port');
        },
      ),
    );
  });

  it('a secret of fewer than 128 bits is always refused, and never echoed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 15 }), (bytes) => {
        const secret = encodeSecret(bytes);
        const r = parseOrError(`services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret: "${secret}" }\n`);
        expect(r).toBeInstanceOf(ConfigError);
        expect((r as ConfigError).message).toMatch(/users\.alice\.secret: secret is \d+ bits long/);
        if (secret.length >= 4) expect((r as ConfigError).message).not.toContain(secret);
      }),
    );
  });
});

describe('durations', () => {
  it('format → parse is the identity on whole milliseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 * 86_400_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });
  it('a bare number is always refused as ambiguous', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.nat().map(String),
          fc.double({ min: 0, max: 1e6, noNaN: true }).map((d) => d.toFixed(2)),
        ),
        (text) => {
          expect(() => parseDuration(text)).toThrow(/bare number/);
        },
      ),
    );
  });
  it('anything else that is not a duration is refused, never parsed as something', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (text) => {
        try {
          const ms = parseDuration(text);
          expect(text.trim()).toMatch(/^(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/);
          expect(Number.isSafeInteger(ms)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(RangeError);
        }
      }),
    );
  });
});
