import { describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../status/snapshot.js';
import { buildStatus, formatStatus } from './status.js';

const snapshot: StatusSnapshot = {
  version: 1,
  pid: 4242,
  startedAt: '2026-11-26T04:00:00.000Z',
  updatedAt: '2026-11-26T04:10:00.000Z',
  config: '/etc/otpknock/otpknockd.yaml',
  table: 'otpknock',
  skew: 1,
  currentWindows: { '30': 58870820 },
  users: [{ name: 'alice', windows: [58870819, 58870820, 58870821], sources: ['current'], services: ['ssh'] }],
  inactiveUsers: ['bob'],
  liveSequences: 3,
};
const table = { nftables: [{ table: { family: 'inet', name: 'otpknock' } }] };
const NOW = Date.parse('2026-11-26T04:12:00Z');
const report = (doc: unknown, running: boolean) =>
  buildStatus('otpknock', doc, snapshot, [], NOW, [30], 'knock', () => running);

describe('otpknockd status', () => {
  it('lists the users with live sequences while the daemon runs and its table is loaded', () => {
    const r = report(table, true);
    expect(r.users.map((u) => u.name)).toEqual(['alice']);
    expect(r.inactiveUsers).toEqual(['bob']);
    expect(r.usersAsOf).toBeNull();
    expect(formatStatus(r)).toContain('users with live sequences: alice\n');
  });

  it('does not present the users of a stopped daemon as live: they are last known, with the time', () => {
    for (const [r, why] of [
      [report(table, false), 'nothing rotates while the daemon is not running'],
      [report(null, false), 'nothing rotates while the daemon is not running'],
      [report(null, true), 'the table is not loaded'],
    ] as const) {
      expect(r.users).toEqual([]);
      expect(r.usersAsOf).toBe(snapshot.updatedAt);
      expect(r.lastKnownUsers.map((u) => u.name)).toEqual(['alice']);
      expect(formatStatus(r)).toContain(
        `users with live sequences: unknown (${why}); at the daemon's last change, ${snapshot.updatedAt}: alice`,
      );
    }
    expect(formatStatus(report(table, false))).toContain('daemon: pid 4242 NOT running');
  });

  it('without a status file: no users, and no claim about when', () => {
    const r = buildStatus('otpknock', table, null, [], NOW, [30], 'knock', () => true);
    expect(r).toMatchObject({ users: [], usersAsOf: null, lastKnownUsers: [], daemon: null });
    expect(formatStatus(r)).toContain('daemon: no status file');
  });
});
