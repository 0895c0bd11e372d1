import { describe, expect, it } from 'vitest';
import type { DaemonState } from '../apply/daemon-state.js';
import type { StatusSnapshot } from '../status/snapshot.js';
import { buildStatus, formatStatus, liveTableWithoutUsers } from './status.js';
import { noUsersText } from '../users/no-users.js';

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

  it('a reload the running daemon refused (SIGHUP): when, why, that the old config stays live; gone once one succeeds', () => {
    const pidFile = (result: 'loaded' | 'refused', reason?: string): DaemonState => ({
      pid: 4242,
      config: '/etc/otpknock/otpknockd.yaml',
      startedAt: '2026-11-26T04:00:00.000Z',
      generation: 3,
      lastReload: { at: '2026-11-26T04:11:00.000Z', result, ...(reason ? { reason } : {}) },
    });
    const withPid = (p: DaemonState | undefined, running = true) =>
      buildStatus('otpknock', table, snapshot, [], NOW, [30], 'knock', () => running, null, p);
    const reason = '/etc/otpknock/otpknockd.yaml:3: tabel: unknown field (did you mean table?)';
    const refused = withPid(pidFile('refused', reason));
    expect(refused.reloadRefused).toEqual({ at: '2026-11-26T04:11:00.000Z', reason });
    expect(formatStatus(refused)).toContain(
      `config: the last reload, at 2026-11-26T04:11:00.000Z, was REFUSED; the config loaded before it stays live until a reload succeeds (fix the file, then: systemctl reload otpknockd). Why:\n  ${reason}\n`,
    );
    // a good reload since, no reload, or a daemon that is gone: nothing to say
    for (const r of [withPid(pidFile('loaded')), withPid(undefined), withPid(pidFile('refused', reason), false)]) {
      expect(r.reloadRefused).toBeNull();
      expect(formatStatus(r)).not.toContain('REFUSED');
    }
    // a long reason is cut to 10 lines
    const long = Array.from({ length: 14 }, (_, i) => `file:${i + 1}: problem ${i + 1}`).join('\n');
    const text = formatStatus(withPid(pidFile('refused', long)));
    expect(text).toContain('  file:10: problem 10\n  … 4 more lines (otpknockd check --config FILE lists them all)\n');
    expect(text).not.toContain('problem 11');
    // while the live file does not load: said once, the reason given by the refused reload
    const broken = { ...withPid(pidFile('refused', reason)), configProblem: reason };
    expect(formatStatus(broken)).toContain(
      'config file: does not load now; this status reads its table and state_dir as written',
    );
    expect(formatStatus(broken).split(reason)).toHaveLength(2);
    expect(formatStatus({ ...withPid(undefined), configProblem: reason })).toContain(
      `config file: does not load now (${reason}); this status reads`,
    );
  });

  it("says loudly when the running daemon's table has no user at all (a fleet server whose last person was revoked)", () => {
    const empty = { ...snapshot, users: [], inactiveUsers: [] };
    const r = buildStatus('otpknock', table, empty, [], NOW, [30], 'knock', () => true);
    expect(liveTableWithoutUsers(r)).toBe(true);
    r.noUsers = noUsersText({
      fleet: { name: 'acme', server: 'web-5', endpoints: [], checkIntervalMs: 1, timeoutMs: 1 },
      breakGlass: { ports: [], services: ['ssh'] },
    });
    expect(formatStatus(r)).toContain(
      'users: NO USERS (fleet acme gives server web-5 nobody, and it has no local user): the table opens for nobody by knock; break_glass still opens ssh; otpknockd mode open opens the services from the console\nusers with live sequences: none\n',
    );
    // Not for a stopped daemon, nor while someone is only disabled, nor with users.
    expect(liveTableWithoutUsers(buildStatus('otpknock', table, empty, [], NOW, [30], 'knock', () => false))).toBe(
      false,
    );
    expect(
      liveTableWithoutUsers(
        buildStatus('otpknock', table, { ...empty, inactiveUsers: ['bob'] }, [], NOW, [30], 'knock', () => true),
      ),
    ).toBe(false);
    expect(liveTableWithoutUsers(report(table, true))).toBe(false);
  });
});
