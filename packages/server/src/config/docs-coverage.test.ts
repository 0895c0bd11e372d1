// Keeps the configuration reference from falling behind the schema: every field
// the schema accepts must have a row in its section of docs/configuration.md and
// appear (set or commented out) in docs/otpknockd.example.yaml. And holds the page
// to what it promises: each row's default is the one the daemon uses, each stated
// bound is enforced at both ends, its error example is what otpknockd prints, and
// the YAML examples of configuration.md and gateway.md are files the daemon takes.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BREAK_GLASS_KEYS } from './break-glass.js';
import { KEYS } from './schema.js';
import { FLEET_KEYS } from './fleet.js';
import { ConfigError } from './errors.js';
import { parseConfig } from './parse.js';
import type { ServerConfig } from './types.js';
import { DEFAULT_CONFIG } from '../commands/common.js';
import { buildProgram } from '../program.js';

const docsFile = (name: string) => fileURLToPath(new URL(`../../../../docs/${name}`, import.meta.url));
const reference = readFileSync(docsFile('configuration.md'), 'utf8');
const example = readFileSync(docsFile('otpknockd.example.yaml'), 'utf8');

/** The text of the `## …` section whose heading starts with `heading`, up to the next `## `. */
function section(heading: string): string {
  const start = reference.split('\n').findIndex((line) => line.startsWith(`## ${heading}`));
  if (start < 0) throw new Error(`docs/configuration.md has no section "## ${heading}"`);
  const rest = reference.split('\n').slice(start + 1);
  const end = rest.findIndex((line) => line.startsWith('## '));
  return (end < 0 ? rest : rest.slice(0, end)).join('\n');
}

/** Each kind of mapping in the schema, and the section of the reference that must describe its fields. */
const SECTIONS: { kind: string; keys: string[]; heading: string }[] = [
  { kind: 'top level', keys: KEYS.top, heading: 'Top-level settings' },
  { kind: 'knock', keys: KEYS.knock, heading: '`knock`' },
  { kind: 'ban', keys: KEYS.ban, heading: '`ban`' },
  { kind: 'payload', keys: KEYS.payload, heading: '`payload`' },
  { kind: 'services', keys: KEYS.service, heading: '`services`' },
  { kind: 'users', keys: KEYS.user, heading: '`users`' },
  { kind: 'break_glass', keys: BREAK_GLASS_KEYS, heading: '`break_glass`' },
  { kind: 'user_store', keys: ['user_store'], heading: '`user_store`' },
  { kind: 'fleet', keys: FLEET_KEYS, heading: '`fleet`' },
];

describe('docs/configuration.md covers the config schema', () => {
  for (const { kind, keys, heading } of SECTIONS) {
    it(`has a table row for every ${kind} field`, () => {
      const text = section(heading);
      const missing = keys.filter((key) => !text.includes(`| \`${key}\` |`));
      expect(
        missing,
        `fields of ${kind} without a row "| \`FIELD\` | default | meaning |" under "## ${heading}"`,
      ).toEqual([]);
    });
  }

  it('describes the {min, max} form of port ranges', () => {
    expect(section('Values')).toMatch(new RegExp(`\\{${KEYS.range.map((k) => `${k}: [A-Z]+`).join(', ')}\\}`));
  });

  it('has an example (set or commented out) of every field in otpknockd.example.yaml', () => {
    const all = [
      ...new Set([
        ...KEYS.top,
        ...KEYS.knock,
        ...KEYS.range,
        ...KEYS.ban,
        ...KEYS.payload,
        ...KEYS.service,
        ...KEYS.user,
        ...BREAK_GLASS_KEYS,
        ...FLEET_KEYS,
      ]),
    ];
    const missing = all.filter((key) => !new RegExp(`(^|[\\s{,#])${key}:`, 'm').test(example));
    expect(missing, 'fields never shown in docs/otpknockd.example.yaml').toEqual([]);
  });
});

/** The Default cell of the row of `key` under `## heading`. */
function defaultCell(heading: string, key: string): string {
  const row = section(heading)
    .split('\n')
    .find((line) => line.startsWith(`| \`${key}\` |`));
  if (row === undefined) throw new Error(`docs/configuration.md: no row for ${key} under "## ${heading}"`);
  return row.split(' | ')[1]!.trim();
}

/** The Meaning cell of that row. */
const meaningCell = (heading: string, key: string) =>
  section(heading)
    .split('\n')
    .find((line) => line.startsWith(`| \`${key}\` |`))!
    .split(' | ')
    .slice(2)
    .join(' | ');

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const FLEET = 'fleet: { name: acme, server: web-3, endpoints: [http://192.0.2.101:2379] }\n';
/** A file with `services` (by default ssh on port 22) and one user, alice (an inline secret; the file is 0600). */
const file = (extra = '', services = 'services:\n  ssh: { port: 22 }\n') =>
  `${extra}${services}users:\n  alice: { secret: ${SECRET} }\n`;
const parseText = (text: string): ServerConfig =>
  parseConfig(text, '/etc/otpknock/otpknockd.yaml', {
    readSecretFile: () => ({ type: 'file', mode: 0o100600, uid: 0, size: 33, text: `${SECRET}\n` }),
    configFile: { mode: 0o100600, uid: 0 },
    fleetRecords: [],
  });
const parsed = (extra = ''): ServerConfig => parseText(file(extra));
/** The field paths parseConfig refuses in a file text, [] when it takes it. */
function issues(text: string): string[] {
  try {
    parseText(text);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => i.path);
    throw e;
  }
}

// Each documented default: the row's Default cell, and what parseConfig makes of a file
// that leaves the key out. A default changed in the code or in the page fails here.
describe('docs/configuration.md: the defaults are what the daemon uses', () => {
  const profile = (c: ServerConfig) => c.users[0]!.profile;
  const cases: [heading: string, key: string, cell: string, value: (c: ServerConfig) => unknown, expected: unknown][] =
    [
      ['Top-level settings', 'table', '`otpknock`', (c) => c.table, 'otpknock'],
      ['Top-level settings', 'keep_table_on_stop', '`true`', (c) => c.keepTableOnStop, true],
      ['Top-level settings', 'skew', '`1`', (c) => c.skew, 1],
      ['Top-level settings', 'step_timeout', '`5s`', (c) => c.stepTimeoutMs, 5_000],
      ['Top-level settings', 'log_format', '`auto`', (c) => c.logFormat, 'auto'],
      ['Top-level settings', 'state_dir', '`/var/lib/otpknock`', (c) => c.stateDir, '/var/lib/otpknock'],
      ['Top-level settings', 'audit_nflog_group', '`7046`', (c) => c.auditNflogGroup, 7046],
      ['Top-level settings', 'user_store', 'none', (c) => c.userStore, undefined],
      ['Top-level settings', 'fleet', 'none', (c) => c.fleet, undefined],
      [
        'Top-level settings',
        'ban',
        '`{after: 10, within: 1m, for: 10m}`',
        (c) => c.ban,
        { after: 10, withinMs: 60_000, forMs: 600_000 },
      ],
      ['Top-level settings', 'break_glass', 'none', (c) => c.breakGlass, undefined],
      ['Top-level settings', 'payload', 'none', (c) => c.payload, undefined],
      ['`knock`', 'method', '`time`', (c) => profile(c).method, 'time'],
      ['`knock`', 'length', '`3`', (c) => profile(c).length, 3],
      ['`knock`', 'period', '`30`', (c) => profile(c).period, 30],
      ['`knock`', 'algorithm', '`SHA1`', (c) => profile(c).algorithm, 'SHA1'],
      ['`knock`', 'range', '`10000-65000`', (c) => profile(c).range, { min: 10_000, max: 65_000 }],
      ['`knock`', 'toggle', '`false`', (c) => profile(c).toggle, false],
      ['`knock`', 'token_bytes', '`0`', (c) => profile(c).tokenBytes, 0],
      ['`ban`', 'after', '`10`', (c) => c.ban?.after, 10],
      ['`ban`', 'within', '`1m`', (c) => c.ban?.withinMs, 60_000],
      ['`ban`', 'for', '`10m`', (c) => c.ban?.forMs, 600_000],
      ['`services`', 'open_for', '`30s`', (c) => c.services[0]!.openForMs, 30_000],
      ['`services`', 'forward', 'none (a service on this host)', (c) => c.services[0]!.forward, undefined],
      ['`users`', 'services', 'all services', (c) => c.users[0]!.services, ['ssh']],
      ['`users`', 'code_mode', '`false`', (c) => c.users[0]!.codeMode ?? false, false],
    ];
  it.each(cases)('%s: %s = %s', (heading, key, cell, value, expected) => {
    expect(defaultCell(heading, key)).toBe(cell);
    expect(value(parsed())).toEqual(expected);
  });

  it('knock.exclude: `[]`, plus the port of every service (22 here)', () => {
    expect(defaultCell('`knock`', 'exclude')).toBe('`[]`');
    expect(parsed().users[0]!.profile.exclude).toEqual([22]);
  });

  it('fleet: check_interval `10s`, timeout `3s`, max_stale none', () => {
    expect([defaultCell('`fleet`', 'check_interval'), defaultCell('`fleet`', 'timeout')]).toEqual(['`10s`', '`3s`']);
    expect(defaultCell('`fleet`', 'max_stale')).toBe('none (keep)');
    const fleet = parsed(FLEET).fleet!;
    expect([fleet.checkIntervalMs, fleet.timeoutMs, fleet.maxStaleMs]).toEqual([10_000, 3_000, undefined]);
  });

  it('"A minimal file": time, three ports from 10000–65000, 30 s windows, skew 1, a 30 s opening', () => {
    const c = parsed();
    expect(c.users[0]!.profile).toMatchObject({
      method: 'time',
      length: 3,
      period: 30,
      range: { min: 10_000, max: 65_000 },
    });
    expect([c.skew, c.services[0]!.openForMs]).toEqual([1, 30_000]);
  });
});

// Each documented bound: the page states it in the key's row, the daemon takes both ends
// and refuses the values just outside, naming the field.
describe('docs/configuration.md: the bounds are what the daemon enforces', () => {
  const cases: [
    heading: string,
    key: string,
    stated: string,
    field: string,
    ok: string[],
    bad: string[],
    at?: 'user',
  ][] = [
    ['Top-level settings', 'skew', '0–10', 'skew', ['0', '10'], ['-1', '11']],
    ['Top-level settings', 'step_timeout', '100ms–60s', 'step_timeout', ['100ms', '60s'], ['99ms', '1m1s']],
    ['Top-level settings', 'audit_nflog_group', '(0–65535)', 'audit_nflog_group', ['0', '65535'], ['-1', '65536']],
    [
      'Top-level settings',
      'table',
      '1–32 characters',
      'table',
      ['a', `a${'b'.repeat(31)}`, 'A_b-9'],
      [`a${'b'.repeat(32)}`, '9a', '_a', 'a.b'],
    ],
    ['`ban`', 'after', '1–1000', 'ban.after', ['1', '1000'], ['0', '1001']],
    ['`ban`', 'within', '1s–1h', 'ban.within', ['1s', '1h'], ['999ms', '1h1s']],
    ['`ban`', 'for', '1s–7d', 'ban.for', ['1s', '7d'], ['999ms', '7d1s']],
    ['`knock`', 'length', '1–8', 'knock.length', ['1', '8'], ['0', '9']],
    ['`knock`', 'period', '(1–3600)', 'knock.period', ['1', '3600'], ['0', '3601']],
    ['`knock`', 'token_bytes', '0 (none) or 4–16', 'knock.token_bytes', ['0', '4', '16'], ['3', '17']],
    ['`services`', 'open_for', '1s–24h', 'services.ssh.open_for', ['1s', '24h'], ['999ms', '24h1s']],
    ['`fleet`', 'check_interval', '(1s–1h', 'fleet.check_interval', ['1s', '1h'], ['999ms', '1h1s']],
    ['`fleet`', 'timeout', '(100ms–60s)', 'fleet.timeout', ['100ms', '60s'], ['99ms', '61s']],
    ['`fleet`', 'max_stale', '(5s–365d', 'fleet.max_stale', ['5s', '365d'], ['4s', '366d']],
  ];
  /** The file text that sets `field` to `value`. */
  const set = (field: string, value: string): string => {
    const [first, ...rest] = field.split('.');
    if (rest.length === 0) return `${first}: ${value}\n`;
    if (first === 'services') return `services:\n  ssh: { port: 22, ${rest[1]}: ${value} }\n`;
    if (first === 'fleet') return FLEET.replace(' }', `, ${rest[0]}: ${value} }`);
    return `${first}: { ${rest[0]}: ${value} }\n`;
  };
  /** A file with that setting: a services block of its own replaces the usual one. */
  const check = (field: string, value: string) => {
    const text = set(field, value);
    return issues(text.startsWith('services:') ? file('', text) : file(text));
  };
  it.each(cases)('%s: %s %s', (heading, key, stated, field, ok, bad) => {
    expect(meaningCell(heading, key)).toContain(stated);
    for (const v of ok) expect(check(field, v), `${field}: ${v}`).toEqual([]);
    for (const v of bad) expect(check(field, v), `${field}: ${v}`).toContain(field);
  });

  it('names: services 1–24 characters, users 1–32 (the rules the page gives)', () => {
    expect(section('`services`')).toContain('Names: 1–24 characters from `a-z 0-9 _ -`');
    expect(section('`users`')).toContain('Names: 1–32 characters from `a-z 0-9 _ . -`, not\nstarting with `.` or `-`');
    expect(issues(file('', `services:\n  ${'s'.repeat(24)}: { port: 22 }\n`))).toEqual([]);
    expect(issues(file('', `services:\n  ${'s'.repeat(25)}: { port: 22 }\n`)).join()).toMatch(/^services\./);
    expect(issues(file('', 'services:\n  a.b: { port: 22 }\n')).join()).toMatch(/^services\./);
    for (const [name, ok] of [
      ['u'.repeat(32), true],
      ['bob.smith_2-x', true],
      ['u'.repeat(33), false],
      ['.bob', false],
      ['-bob', false],
      ['Bob', false],
    ] as const) {
      const text = `services:\n  ssh: { port: 22 }\nusers:\n  '${name}': { secret: ${SECRET} }\n`;
      expect(issues(text).length === 0, name).toBe(ok);
    }
  });
});

describe('docs/configuration.md: the example of "Error messages"', () => {
  it('is what otpknockd prints for such a file', () => {
    const shown = /for example\n\n```\n([\s\S]*?)\n```/.exec(section('Error messages'))![1]!;
    const text = [
      '# /etc/otpknock/otpknockd.yaml',
      'table: otpknock',
      'skew: 1',
      'step_timeout: 5',
      'services:',
      '  ssh: { port: 22 }',
      '# alice: her secret file',
      '#',
      '#',
      'users:',
      '  alice:',
      '    secretfile: secrets/alice',
      '  bob:',
      '    services: [ssh]',
      '    secret_file: secrets/bob',
      '',
    ].join('\n');
    const loose = { type: 'file' as const, mode: 0o100644, uid: 0, size: 33, text: `${SECRET}\n` };
    let message = '';
    try {
      parseConfig(text, '/etc/otpknock/otpknockd.yaml', { readSecretFile: () => loose });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      message = e.message;
    }
    expect(`otpknockd: ${message}`).toBe(shown);
  });
});

// The YAML examples of configuration.md and gateway.md, as a person copies them into a
// file: a block that repeats a key shows alternatives (each is tried with the block's
// other keys); services and users the block leaves out are the minimal file's.
describe('the YAML examples of docs/configuration.md and docs/gateway.md are configs the daemon takes', () => {
  const blocks = ['configuration.md', 'gateway.md'].flatMap((name) =>
    [...readFileSync(docsFile(name), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m, i) => ({
      where: `docs/${name}, YAML block ${i + 1}`,
      text: m[1]!,
    })),
  );
  /** The block's top-level stanzas by key, in order. */
  const stanzas = (text: string) => {
    const out: { key: string; text: string }[] = [];
    for (const line of text.split('\n')) {
      const key = /^([a-z_]+):/.exec(line)?.[1];
      if (key !== undefined) out.push({ key, text: '' });
      if (out.length > 0) out.at(-1)!.text += `${line}\n`;
    }
    return out;
  };
  /** One file per alternative of a repeated key (one file when none repeats). */
  const alternatives = (text: string): string[] => {
    const all = stanzas(text);
    const repeated = all.filter((s) => all.filter((t) => t.key === s.key).length > 1);
    const rest = all.filter((s) => !repeated.includes(s));
    const choices = repeated.length === 0 ? [[]] : repeated.map((r) => [r]);
    return choices.map((chosen) => {
      const parts = [...chosen, ...rest];
      const has = (key: string) => parts.some((p) => p.key === key);
      return [
        ...parts.map((p) => p.text),
        has('services') ? '' : 'services:\n  ssh: { port: 22 }\n',
        has('users') ? '' : 'users:\n  alice: { secret_file: secrets/alice }\n',
      ].join('');
    });
  };
  it('finds the blocks', () => expect(blocks.length).toBeGreaterThanOrEqual(11));
  it.each(blocks)('$where', ({ text }) => {
    for (const yaml of alternatives(text)) expect(issues(yaml), yaml).toEqual([]);
  });
});

describe('docs/configuration.md: where the file is', () => {
  it('is /etc/otpknock/otpknockd.yaml by default, for every command that reads it', () => {
    expect(reference).toContain(`reads one YAML file, by default \`${DEFAULT_CONFIG}\``);
    expect(DEFAULT_CONFIG).toBe('/etc/otpknock/otpknockd.yaml');
    const commands = buildProgram().commands.flatMap((c) => [c, ...c.commands]);
    const withConfig = commands.filter((c) => c.options.some((o) => o.long === '--config'));
    expect(withConfig.length).toBeGreaterThan(10);
    // apply's --config is the NEW file, which it requires
    for (const c of withConfig.filter((c) => c.name() !== 'apply'))
      expect(c.options.find((o) => o.long === '--config')!.defaultValue, c.name()).toBe(DEFAULT_CONFIG);
  });
});
