// Plan changes for teams: disabled users, rotation grace secrets, code mode.
import { describe, expect, it } from 'vitest';
import { deriveCodeSequences, deriveSequences, totpCodeOf } from '@otpknock/shared';
import { nextRotationMs, planEntries } from './entries.js';
import { serverConfig, user } from '@otpknock/server/testing';

const NOW = 1_770_000_000_000;
const W = Math.floor(NOW / 30_000);

describe('planEntries for teams', () => {
  it('leaves disabled users out', () => {
    const c = serverConfig({ users: [user('alice', { disabled: true }), user('bob')] });
    expect(new Set(planEntries(c, NOW).map((e) => e.user))).toEqual(new Set(['bob']));
  });

  it('adds the grace secret sequences until the grace ends, under keys of their own', () => {
    const old = user('old').secret;
    const c = serverConfig({ users: [user('alice', { graceSecrets: [{ secret: old, untilMs: NOW + 1000 }] })] });
    const during = planEntries(c, NOW);
    const grace = during.filter((e) => e.source === 'grace');
    expect(grace).toHaveLength(6); // 3 windows × open/close
    expect(grace.every((e) => e.user === 'alice' && e.key.endsWith('/grace0'))).toBe(true);
    const open = grace.find((e) => e.window === W && e.action === 'open')!;
    expect(open.ports).toEqual(deriveSequences(c.users[0]!.profile, old, W).open);
    expect(planEntries(c, NOW + 1000).filter((e) => e.source === 'grace')).toEqual([]);
    expect(nextRotationMs(c, NOW)).toBe(NOW + 1000); // the daemon wakes when the grace ends
  });

  it('adds one code-mode open sequence per window where enabled, derived from the TOTP code', () => {
    const c = serverConfig({ users: [user('alice', { codeMode: true })] });
    const code = planEntries(c, NOW).filter((e) => e.source === 'code');
    expect(code.map((e) => e.window)).toEqual([W - 1, W, W + 1]);
    const u = c.users[0]!;
    const expected = deriveCodeSequences(u.profile, totpCodeOf(u.secret, u.profile, W), W).open;
    expect(code[1]).toMatchObject({ action: 'open', oneTime: true, ports: expected });
    expect(planEntries(serverConfig(), NOW).some((e) => e.source === 'code')).toBe(false);
  });
});
