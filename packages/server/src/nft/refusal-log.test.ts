// The kernel's side of "every refused knock says why": what is logged, within which limits,
// and that the path of a valid knock step has no rule more.
import { describe, expect, it } from 'vitest';
import { serverConfig } from '@otpknock/server/testing';
import { renderRuleset } from '../ruleset/render.js';
import { REFUSAL_LOG } from './refusal-log.js';

const config = serverConfig();
const text = renderRuleset({ config, steps: [], actions: [], usedTimeoutMs: 60_000, nowMs: 0 });
const chain = (name: string) => new RegExp(`chain ${name} \\{\n([\\s\\S]*?)\n\t\\}\n`).exec(text)?.[1] ?? '';

describe('refused knocks in the ruleset', () => {
  it('one global limit and a per-source meter per family, with sizes and timeouts', () => {
    expect(REFUSAL_LOG).toMatchObject({ sourceBurst: 24, sourcePerSecond: 2, globalPerSecond: 50, globalBurst: 200 });
    expect(text).toContain('limit refusal_log {\n\t\trate 50/second burst 200 packets\n\t}');
    expect(text).toMatch(
      /set refusal_meter4 \{\n\t\ttypeof ip saddr\n\t\tsize 4096\n\t\tflags dynamic,timeout\n\t\ttimeout 30000ms/,
    );
    expect(text).toMatch(/set refusal_meter6 \{\n\t\ttypeof ip6 saddr\n\t\tsize 4096/);
  });

  it('logs bad knocks after the step lookups (a valid step never reaches it), banned knocks and bans', () => {
    const knock4 = chain('knock4');
    const lines = knock4
      .trim()
      .split('\n')
      .map((l) => l.trim());
    const bad = lines.findIndex((l) => l.includes('log prefix "otpknock bad"'));
    const lastStep = lines.map((l) => l.includes('map @step goto advanced4')).lastIndexOf(true);
    expect(bad).toBeGreaterThan(lastStep);
    expect(lines[bad]).toBe(
      'update @refusal_meter4 { ip saddr limit rate 2/second burst 24 packets } limit name "refusal_log" log prefix "otpknock bad" group 7046',
    );
    expect(lines[0]).toBe('ip saddr @banned4 counter name banned_knocks goto banned_knock4');
    expect(chain('banned_knock4')).toContain('log prefix "otpknock banned"');
    expect(chain('banned_knock4').trim().endsWith('drop')).toBe(true);
    expect(knock4).toMatch(
      /add @banned4 \{ ip saddr \} counter name bans limit name "refusal_log" log prefix "otpknock ban"/,
    );
    // IPv6 is metered per /64, like the ban
    expect(chain('knock6')).toContain('update @refusal_meter6 { ip6 saddr & ffff:ffff:ffff:ffff:: limit rate');
    // nothing is logged on the advancing or final chains but what the audit logged before
    expect(chain('advanced4')).not.toContain('log');
  });
});
