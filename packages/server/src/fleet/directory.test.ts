import { describe, expect, it } from 'vitest';
import { decodeSecret, deriveFleetKey, encodeSecret, normalizeProfile } from '@otpknock/shared';
import { fleetUsers } from '../config/fleet-users.js';
import { SecretOwners } from '../config/user-secrets.js';
import { fleetStatusOf } from '../commands/status.js';
import { parseFleetCache } from './cache.js';
import {
  parseServerUserRecord,
  personChangeOps,
  serverPrefix,
  serverRecordOf,
  serverUserKey,
  type FleetSettings,
  type PersonRecord,
} from './directory.js';

const K = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const OLD = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const settings: FleetSettings = {
  version: 1,
  profile: normalizeProfile({ method: 'time', period: 5 }, 'test'),
  port: 22,
};
const NOW = Date.parse('2026-12-01T00:00:00Z');
const alice: PersonRecord = {
  version: 1,
  name: 'alice',
  secret: K,
  secretCreated: '2026-11-01T00:00:00Z',
  servers: ['web-1', 'web-2'],
  disabled: false,
  previous: [
    { secret: OLD, until: '2026-12-02T00:00:00Z' },
    { secret: OLD, until: '2026-11-30T00:00:00Z' },
  ],
};

describe('the fleet directory (docs/fleet.md)', () => {
  it("gives a server only its own derived keys, never the person's secret, and only grace keys still live", () => {
    const r = serverRecordOf('acme', 'web-2', alice, settings, NOW);
    expect(r.key).toBe(encodeSecret(deriveFleetKey(decodeSecret(K), 'acme', 'web-2')));
    expect(JSON.stringify(r)).not.toContain(K);
    expect(r.previous).toEqual([
      { key: encodeSecret(deriveFleetKey(decodeSecret(OLD), 'acme', 'web-2')), until: '2026-12-02T00:00:00Z' },
    ]);
  });

  it('one change = the servers it leaves, the servers it keeps or adds, then the person record', () => {
    const after = { ...alice, servers: ['web-2', 'web-3'] };
    const ops = personChangeOps('acme', alice, after, settings, NOW);
    expect(ops.map((o) => ('put' in o ? `put ${o.put.key}` : `delete ${o.delete.key}`))).toEqual([
      `delete ${serverUserKey('acme', 'web-1', 'alice')}`,
      `put ${serverUserKey('acme', 'web-2', 'alice')}`,
      `put ${serverUserKey('acme', 'web-3', 'alice')}`,
      'put /otpknock/acme/people/alice',
    ]);
    expect(personChangeOps('acme', alice, undefined, settings, NOW).at(-1)).toEqual({
      delete: { key: '/otpknock/acme/people/alice' },
    });
  });

  it("a server's prefix never covers another server's (web-1 vs web-10, web-1.x)", () => {
    const p = serverPrefix('acme', 'web-1');
    for (const other of ['web-10', 'web-1.x', 'web-1-a'])
      expect(serverUserKey('acme', other, 'alice').startsWith(p)).toBe(false);
  });

  it('reads a record back, and says what is wrong with a bad one without quoting a key', () => {
    const key = serverUserKey('acme', 'web-1', 'alice');
    const r = serverRecordOf('acme', 'web-1', alice, settings, NOW);
    expect(parseServerUserRecord(JSON.stringify(r), key)).toEqual(r);
    expect(parseServerUserRecord('{', key)).toEqual({ problem: `${key}: not JSON` });
    expect(parseServerUserRecord(JSON.stringify({ ...r, name: 'bob' }), key)).toEqual({
      problem: `${key}: names user bob, not the one of its key`,
    });
    const bad = parseServerUserRecord(JSON.stringify({ ...r, key: `${r.key.slice(0, 10)}1` }), key);
    expect('problem' in bad && bad.problem).toMatch(/base32|bits/);
    expect(JSON.stringify(bad)).not.toContain(r.key.slice(0, 10));
  });

  it('directory users: local names win, unknown services are dropped, a shared key is refused, each skip is said', () => {
    const rec = (name: string, secret: string, over: object = {}) => ({
      ...serverRecordOf('acme', 'web-1', { ...alice, name, secret }, settings, NOW),
      ...over,
    });
    const { users, skipped } = fleetUsers(
      [rec('alice', K, { services: ['ssh', 'api'] }), rec('carol', OLD), rec('bob', OLD), rec('dave', K)],
      { localNames: new Set(['carol']), serviceNames: ['ssh'], secrets: new SecretOwners(), nowMs: NOW },
    );
    expect(users.map((u) => [u.name, u.services, u.origin, u.graceSecrets?.length])).toEqual([
      ['alice', ['ssh'], 'fleet', 1],
      ['bob', ['ssh'], 'fleet', 1],
    ]);
    expect(skipped).toEqual([
      'carol: also defined on this server (config or user store), which wins',
      'dave: has the same key as user alice',
    ]);
  });

  it('the cache keeps good records and status says how the directory is doing', () => {
    const r = serverRecordOf('acme', 'web-1', alice, settings, NOW);
    const text = JSON.stringify({
      version: 1,
      fleet: 'acme',
      server: 'web-1',
      revision: 7,
      pid: 1,
      users: [r, { name: 'x' }],
    });
    const cache = parseFleetCache(text);
    expect('problem' in cache ? [] : cache.users.map((u) => u.name)).toEqual(['alice']);
    expect(parseFleetCache('[]')).toEqual({ problem: 'not a version 1 fleet cache' });
    const down = fleetStatusOf('acme', 'web-1', {
      ...(cache as Exclude<typeof cache, { problem: string }>),
      confirmedAt: '2026-12-01T00:00:00Z',
      unreachableSince: '2026-12-01T00:01:00Z',
      lastError: 'no answer',
    });
    expect(down).toMatchObject({ reachable: false, users: 1, revision: 7 });
    expect(fleetStatusOf('acme', 'web-1', undefined)).toMatchObject({ reachable: false, confirmedAt: null });
  });
});
