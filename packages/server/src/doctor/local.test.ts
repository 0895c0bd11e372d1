import { describe, expect, it } from 'vitest';
import {
  ephemeralFinding,
  fleetLockoutFinding,
  lockoutFinding,
  permissionFindings,
  serviceFindings,
  socketFindings,
} from './local.js';
import type { Socket } from './proc-net.js';

const sock = (proto: 'tcp' | 'udp', address: string, port: number, state: number, family: 4 | 6 = 4): Socket => ({
  proto,
  family,
  address,
  port,
  state,
  uid: 0,
  inode: 1,
});

describe('socketFindings', () => {
  const range = [
    [10000, 21999],
    [22001, 30000],
  ] as const;
  it('flags UDP listeners inside the knock range, not loopback, connected or outside ones', () => {
    const f = socketFindings(
      [
        sock('udp', '0.0.0.0', 12345, 7),
        sock('udp', '::', 12345, 7, 6),
        sock('udp', '127.0.0.1', 15000, 7),
        sock('udp', '0.0.0.0', 22000, 7),
        sock('udp', '10.0.0.1', 13000, 1),
        sock('tcp', '0.0.0.0', 14000, 10),
      ],
      range,
    );
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      severity: 'problem',
      message: expect.stringMatching(/port 12345 \(0\.0\.0\.0, \[::\]\)/),
      fix: expect.stringMatching(/add 12345 to knock.exclude/),
    });
  });
  it('is ok without collisions', () => {
    expect(socketFindings([sock('udp', '0.0.0.0', 53, 7)], range)).toEqual([
      expect.objectContaining({ severity: 'ok' }),
    ]);
  });
});

describe('serviceFindings', () => {
  it('ok when listening outside loopback behind our table, warning for loopback only or nothing', () => {
    const f = serviceFindings(
      [sock('tcp', '::', 22, 10, 6), sock('tcp', '127.0.0.1', 443, 10)],
      [
        { name: 'ssh', port: 22 },
        { name: 'api', port: 443 },
        { name: 'db', port: 5432 },
      ],
      new Set(['ssh', 'api', 'db']),
    );
    expect(f.map((x) => x.severity)).toEqual(['ok', 'warning', 'warning']);
    expect(f[1]!.message).toMatch(/loopback only/);
    expect(f[2]!.message).toMatch(/nothing listens on tcp\/5432/);
  });
});

describe('serviceFindings: a service reachable from outside today (issue #13)', () => {
  it('warns before our table guards it, naming a public web port as one', () => {
    const f = serviceFindings(
      [sock('tcp', '0.0.0.0', 22, 10), sock('tcp', '::', 443, 10, 6)],
      [
        { name: 'ssh', port: 22 },
        { name: 'api', port: 443 },
      ],
    );
    expect(f.map((x) => x.severity)).toEqual(['warning', 'warning']);
    expect(f[0]!.message).toBe(
      'ssh: tcp/22 is served on 0.0.0.0 and reachable from outside today; once protected, it answers only addresses that knocked',
    );
    expect(f[1]!.message).toMatch(
      /tcp\/443 is usually HTTPS \(a public web site\), which would disappear for everyone else/,
    );
    expect(f[1]!.fix).toMatch(/otherwise remove services\.api from the config/);
    // once the table guards it, it is what the operator asked for
    expect(
      serviceFindings([sock('tcp', '::', 443, 10, 6)], [{ name: 'api', port: 443 }], new Set(['api']))[0],
    ).toMatchObject({
      severity: 'ok',
      message: expect.stringMatching(/behind the knock/),
    });
  });
});

describe('ephemeralFinding', () => {
  it('notes an overlap with the ephemeral range as harmless (replies match their socket)', () => {
    const f = ephemeralFinding([32768, 60999], [[10000, 65000]]);
    expect(f).toMatchObject({
      severity: 'info',
      message: expect.stringMatching(/overlaps the knock range at 32768-60999: fine, replies .* are let through/),
    });
  });
  it('is ok without overlap, info when unknown', () => {
    expect(ephemeralFinding([32768, 60999], [[10000, 30000]]).severity).toBe('ok');
    expect(ephemeralFinding(undefined, [[10000, 30000]]).severity).toBe('info');
  });
});

describe('permissionFindings', () => {
  it('flags a config writable by others, a loose or foreign secret, a missing secret', () => {
    const f = permissionFindings({
      config: { path: '/etc/otpknock/otpknockd.yaml', mode: 0o100646, uid: 0 },
      configDir: { path: '/etc/otpknock', mode: 0o40755, uid: 0 },
      secrets: [
        { path: '/s/a', mode: 0o100640, uid: 0 },
        { path: '/s/b', mode: 0o100600, uid: 1000 },
        { path: '/s/c', error: 'does not exist' },
        { path: '/s/d', mode: 0o100400, uid: 0 },
      ],
    });
    expect(f.map((x) => `${x.severity} ${x.fix}`)).toEqual([
      'problem chmod go-w /etc/otpknock/otpknockd.yaml',
      'problem chmod 600 /s/a',
      'problem chown root /s/b',
      'problem create it (mode 0600) or fix secret_file in the config',
    ]);
  });
  it('is ok for private files; a loose state dir is a warning', () => {
    expect(permissionFindings({ config: { path: '/c', mode: 0o100600, uid: 0 }, secrets: [] })).toEqual([
      expect.objectContaining({ severity: 'ok' }),
    ]);
    expect(
      permissionFindings({ secrets: [], stateDir: { path: '/var/lib/otpknock', mode: 0o40755, uid: 0 } })[0],
    ).toMatchObject({ severity: 'warning', fix: 'chmod 700 /var/lib/otpknock' });
  });
});

describe('lockoutFinding', () => {
  it('warns when there is no break-glass sequence, since a stopped daemon keeps its table', () => {
    const f = lockoutFinding(undefined);
    expect(f).toMatchObject({ check: 'lockout', severity: 'warning' });
    expect(f.message).toMatch(/no break_glass sequence.*fail closed/);
    expect(f.fix).toMatch(/break_glass:/);
  });
  it('is ok with one, and names what it opens', () => {
    expect(lockoutFinding({ services: ['ssh'] })).toMatchObject({
      severity: 'ok',
      message: 'break_glass opens ssh without the daemon or a correct clock',
    });
  });
});

describe('fleetLockoutFinding', () => {
  const fleet = { name: 'acme', server: 'web-5' };
  it('warns about a fleet server with no local user and no break_glass: one revocation closes it to all', () => {
    const f = fleetLockoutFinding(fleet, [{ origin: 'fleet' }], undefined)!;
    expect(f).toMatchObject({ check: 'fleet', severity: 'warning' });
    expect(f.message).toBe(
      'fleet acme: no local user and no break_glass on server web-5, and its 1 user comes from the directory only; one revocation (fleet revoke, disable, remove, or max_stale) can leave it closed to all',
    );
    expect(f.fix).toMatch(/local user.*break_glass/);
    expect(fleetLockoutFinding(fleet, [], undefined)!.message).toMatch(
      /and it has no user now: the table opens for nobody by knock; one revocation/,
    );
  });
  it('is ok with a local user or break_glass, and says nothing without a fleet', () => {
    expect(fleetLockoutFinding(fleet, [{ origin: 'config' }, { origin: 'fleet' }], undefined)).toMatchObject({
      severity: 'ok',
      message: 'fleet acme: 1 local user still gets in when the directory gives this server nobody',
    });
    expect(fleetLockoutFinding(fleet, [{ origin: 'fleet' }], { ports: [], services: ['ssh'] })).toMatchObject({
      severity: 'ok',
      message: 'fleet acme: break_glass still gets in when the directory gives this server nobody',
    });
    expect(fleetLockoutFinding(undefined, [], undefined)).toBeUndefined();
  });
});
