// docs/knock.md shows what `knock print --json` prints: the example must have the
// keys the command prints, no more and no fewer (`token` only with a payload token).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeProfile } from '@otpknock/shared';
import { printedSequences } from './commands.js';
import { buildProgram } from './program.js';
import { testProfile } from '@otpknock/client/testing';

const manual = readFileSync(new URL('../../../docs/knock.md', import.meta.url), 'utf8');

/** The JSON example right after "`--json` prints:". */
function printExample(): Record<string, unknown> {
  const m = /`--json` prints:\n\n```json\n([\s\S]*?)\n```/.exec(manual);
  if (!m) throw new Error('docs/knock.md: no ```json example after "`--json` prints:"');
  return JSON.parse(m[1]!) as Record<string, unknown>;
}

describe('docs/knock.md, knock print --json', () => {
  it('shows every key that is always printed', () => {
    const printed = printedSequences(
      'myserver',
      { profile: testProfile('myserver'), address: '203.0.113.5' },
      Date.UTC(2025, 10, 25, 21, 30),
    );
    expect(Object.keys(printExample()).sort()).toEqual(Object.keys(printed).sort());
  });

  it('describes token, the one key printed only sometimes', () => {
    const withToken = testProfile('myserver', { knock: normalizeProfile({ method: 'time', tokenBytes: 4 }) });
    const printed = printedSequences('myserver', { profile: withToken, address: '203.0.113.5' }, 0);
    const extra = Object.keys(printed).filter((k) => !(k in printExample()));
    expect(extra).toEqual(['token']);
    for (const k of extra) expect(manual.replace(/\s+/g, ' ')).toContain(`\`${k}\`, lower-case hex`);
  });
});

describe('knock print --help', () => {
  it('lists the keys --json prints, token marked as printed only sometimes', () => {
    const print = buildProgram(() => {}).commands.find((c) => c.name() === 'print')!;
    const json = print.options.find((o) => o.long === '--json')!;
    const listed = /\{([^}]*)\}/.exec(json.description)![1]!.split(', ');
    const withToken = testProfile('myserver', { knock: normalizeProfile({ method: 'time', tokenBytes: 4 }) });
    const printed = Object.keys(printedSequences('myserver', { profile: withToken, address: '203.0.113.5' }, 0));
    expect(listed).toEqual(printed.map((k) => (k === 'token' ? 'token?' : k)));
  });
});
