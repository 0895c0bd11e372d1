// Keeps the configuration reference from falling behind the schema: every field
// the schema accepts must have a row in its section of docs/configuration.md and
// appear (set or commented out) in docs/otpknockd.example.yaml.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BREAK_GLASS_KEYS } from './break-glass.js';
import { KEYS } from './schema.js';
import { FLEET_KEYS } from './fleet.js';

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
