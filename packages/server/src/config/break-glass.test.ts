import { describe, expect, it } from 'vitest';
import { fullRuleset } from '../ruleset/full-load.js';
import { knockPortIntervals } from '../nft/knock-ports.js';
import { planEntries } from '../plan/entries.js';
import { BREAK_GLASS_USER } from './break-glass.js';
import { thrownOtpknockError } from '@otpknock/shared/testing';
import { ConfigError } from './errors.js';
import { parseConfig } from './parse.js';

const FILE = '/etc/otpknock/otpknockd.yaml';
const SEQ = [41001, 41002, 41003, 41004, 41005, 41006, 41007, 41008];
const base = (breakGlass: string, users = '  alice: { secret: JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP }') => `services:
  ssh: { port: 22 }
  api: { port: 443 }
users:
${users}
${breakGlass}
`;
const parse = (text: string) =>
  parseConfig(text, FILE, {
    readSecretFile: () => {
      throw Object.assign(new Error('x'), { code: 'ENOENT' });
    },
  });
const messages = (text: string): string[] =>
  thrownOtpknockError(() => parse(text), ConfigError).issues.map((i) => `${i.line ?? '?'}: ${i.path}: ${i.message}`);

describe('break_glass config', () => {
  it('is optional', () => {
    expect(parse(base('')).breakGlass).toBeUndefined();
  });

  it('takes a sequence and services (default: all)', () => {
    expect(parse(base(`break_glass: { sequence: [${SEQ.join(', ')}] }`)).breakGlass).toEqual({
      ports: SEQ,
      services: ['ssh', 'api'],
    });
    expect(parse(base(`break_glass:\n  sequence: [${SEQ.join(', ')}]\n  services: [ssh]`)).breakGlass).toEqual({
      ports: SEQ,
      services: ['ssh'],
    });
  });

  it('refuses short, repeating, service-port, unknown-service and unknown-field values, naming line and field', () => {
    expect(messages(base('break_glass: { sequence: [1, 2, 3] }'))).toEqual([
      expect.stringMatching(/^6: break_glass\.sequence: too short: a break-glass sequence needs at least 8 ports/),
    ]);
    expect(messages(base(`break_glass: { sequence: [${[...SEQ.slice(0, 7), SEQ[0]].join(', ')}] }`))).toEqual([
      expect.stringMatching(/break_glass\.sequence\[7\]: port 41001 appears twice/),
    ]);
    expect(messages(base(`break_glass: { sequence: [${[...SEQ.slice(0, 7), 443].join(', ')}] }`))).toEqual([
      expect.stringMatching(/break_glass\.sequence\[7\]: port 443 is the port of service api/),
    ]);
    expect(messages(base(`break_glass: { sequence: [${SEQ.join(', ')}], services: [ftp] }`))).toEqual([
      expect.stringMatching(/break_glass\.services\[0\]: unknown service "ftp"/),
    ]);
    expect(messages(base(`break_glass: { sequence: [${SEQ.join(', ')}], sevices: [ssh] }`))).toEqual([
      expect.stringMatching(/break_glass\.sevices: unknown field \(did you mean services\?\)/),
    ]);
    expect(messages(base('break_glass: [1, 2]'))).toEqual([
      expect.stringMatching(/break_glass: expected a mapping such as \{ sequence/),
    ]);
  });

  it('refuses a sequence that begins, or is begun by, a static user sequence', () => {
    const bob = `  bob:\n    secret: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n    knock: { method: static, open: [${SEQ.slice(0, 3).join(', ')}], close: [9, 8, 7] }`;
    expect(messages(base(`break_glass: { sequence: [${SEQ.join(', ')}] }`, bob))).toEqual([
      expect.stringMatching(
        /break_glass\.sequence: the break-glass sequence and the static open sequence of user bob begin one another/,
      ),
    ]);
  });
});

describe('break_glass in the plan and the ruleset', () => {
  const config = parse(base(`break_glass: { sequence: [${SEQ.join(', ')}], services: [ssh] }`));

  it('is one static, repeatable open entry for its services, the same at any instant', () => {
    for (const at of [0, Date.UTC(2026, 10, 25), Date.UTC(2040, 0, 1)]) {
      const bg = planEntries(config, at).filter((e) => e.user === BREAK_GLASS_USER);
      expect(bg).toEqual([
        {
          key: `${BREAK_GLASS_USER}/0/open`,
          user: BREAK_GLASS_USER,
          window: 0,
          action: 'open',
          ports: SEQ,
          serviceMask: 0b01,
          oneTime: false,
        },
      ]);
    }
  });

  it('puts its ports into the knock port set and its steps into the trie', () => {
    for (const p of SEQ) expect(knockPortIntervals(config).some(([lo, hi]) => p >= lo && p <= hi)).toBe(true);
    const outside = parse(base('knock: { range: 10000-20000 }\nbreak_glass: { sequence: [1, 2, 3, 4, 5, 6, 7, 8] }'));
    expect(knockPortIntervals(outside)).toEqual([
      [1, 8],
      [10000, 20000],
    ]);
    const full = fullRuleset(config, Date.now());
    expect(full.conflicts).toEqual([]);
    expect(full.script).toMatch(/41008/);
  });
});
