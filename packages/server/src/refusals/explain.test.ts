import { sequenceDeriver, windowAt } from '@otpknock/shared';
import { describe, expect, it } from 'vitest';
import { serverConfig, timeProfile, user } from '@otpknock/server/testing';
import { DERIVATION_BUDGET, explainPorts, profileVariants, sequenceMatch } from './explain.js';

const NOW = Date.UTC(2026, 11, 4, 12, 0, 10);
const W = windowAt(NOW, 30);
// The server's profile: the service port 22 and 11211 excluded (dropping an exclusion
// shifts every port drawn above it).
const profile = timeProfile({ exclude: [11211, 22] });
const alice = user('alice', { profile });
const bob = user('bob', { profile });
const config = serverConfig({ users: [alice, bob], skew: 1 });
const open = (u = alice, window = W, p = profile) => sequenceDeriver(p, u.secret)(window).open;
const explain = (ports: number[], over: Partial<Parameters<typeof explainPorts>[0]> = {}) =>
  explainPorts({ config, ports, atMs: NOW, ...over });

describe('sequenceMatch', () => {
  it('finds a sequence in order among other ports, or all but one of a long one', () => {
    expect(sequenceMatch([1, 2, 3], [9, 1, 8, 2, 3])).toBe('full');
    expect(sequenceMatch([1, 2, 3], [1, 3])).toBe('partial');
    expect(sequenceMatch([1, 2, 3], [3, 2, 1])).toBeUndefined();
    expect(sequenceMatch([1, 2], [1])).toBeUndefined();
    expect(sequenceMatch([], [1])).toBeUndefined();
  });
});

describe('explainPorts: the likely causes, tested offline', () => {
  it('a live sequence that did not advance: timing or order', () => {
    const e = explain(open());
    expect(e).toMatchObject({ cause: 'timing', user: 'alice' });
    expect(e.text).toMatch(/step_timeout/);
  });

  it('another window: the client clock, with the offset and its sign', () => {
    expect(explain(open(bob, W + 3))).toMatchObject({ cause: 'clock', user: 'bob', windowOffset: 3 });
    const slow = explain(open(alice, W - 10));
    expect(slow).toMatchObject({ cause: 'clock', user: 'alice', windowOffset: -10 });
    expect(slow.text).toMatch(/about 5 min slow/);
    expect(explain(open(alice, W + 2)).text).toMatch(/60 s fast/);
  });

  it('a profile without the exclusions or the service ports', () => {
    const noExclude = { ...profile, exclude: [] };
    // find a window where dropping the exclusions changes alice's ports
    const w = [W, W + 1, W - 1].find((x) => open(alice, x, noExclude).join() !== open(alice, x).join()) ?? -1;
    expect(w).toBeGreaterThan(0);
    const e = explain(open(alice, w, noExclude));
    expect(e).toMatchObject({ cause: 'profile', user: 'alice' });
    expect(e.text).toMatch(/lacks .*otpknockd user uri alice/);
    expect(profileVariants(profile, config).map((v) => v.profile.exclude)).toContainEqual([]);
  });

  it('a disabled user', () => {
    const carol = user('carol', { profile, disabled: true });
    const e = explain(open(carol), { config: serverConfig({ users: [alice, carol] }) });
    expect(e).toMatchObject({ cause: 'disabled', user: 'carol' });
    expect(e.text).toMatch(/user enable carol/);
  });

  it('an old secret whose grace ended, a replaced secret, a removed user', () => {
    const old = user('old-alice', { profile });
    const graced = { ...alice, graceSecrets: [{ secret: old.secret, untilMs: NOW - 60_000 }] };
    expect(explain(open(old), { config: serverConfig({ users: [graced] }) })).toMatchObject({
      cause: 'grace-ended',
      user: 'alice',
    });
    const former = [
      { user: 'alice', secret: old.secret, profile, reason: 'replaced' as const, sinceMs: NOW - 1000 },
      { user: 'dave', secret: user('dave').secret, profile, reason: 'removed' as const, sinceMs: NOW - 1000 },
    ];
    expect(explain(open(old), { former })).toMatchObject({ cause: 'old-secret', user: 'alice' });
    expect(explain(open(user('dave')), { former })).toMatchObject({ cause: 'removed', user: 'dave' });
  });

  it('nothing known: says so, without a secret', () => {
    const e = explain([10001, 10003, 10005]);
    expect(e.cause).toBe('unknown');
    expect(e.text).toMatch(/10001 10003 10005/);
  });

  it('stays within its budget with many users, and says how long it takes', () => {
    const many = serverConfig({ users: Array.from({ length: 500 }, (_, i) => user(`u${i}`, { profile })) });
    const started = performance.now();
    const e = explainPorts({ config: many, ports: [10001, 10003, 10005], atMs: NOW });
    const ms = performance.now() - started;
    expect(e.cause).toBe('unknown');
    console.log(
      `explaining an unknown knock among 500 users took ${ms.toFixed(0)} ms (budget ${DERIVATION_BUDGET} derivations)`,
    );
    expect(e.text).toMatch(/within ±\d+ windows/);
  });
});
