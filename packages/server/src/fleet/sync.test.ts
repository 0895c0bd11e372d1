// FleetSync against a fake directory (a fault injector: etcd itself is in test/fleet.e2e).
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeProfile } from '@otpknock/shared';
import { memoryLogger, tempDirs } from '@otpknock/server/testing';
import { fleetCachePath, type FleetCache } from './cache.js';
import { serverRecordOf, serverUserKey } from './directory.js';
import type { EtcdClient, KeyValue } from './etcd.js';
import { FleetSync } from './sync.js';

const tempDir = tempDirs('otpknock-fleet-sync-');
const profile = normalizeProfile({ method: 'time', period: 5 }, 'test');
const kv = (name: string): KeyValue => ({
  key: serverUserKey('acme', 'web-1', name),
  value: JSON.stringify(
    serverRecordOf(
      'acme',
      'web-1',
      {
        version: 1,
        name,
        secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
        secretCreated: '2026-11-01T00:00:00Z',
        servers: ['web-1'],
        disabled: false,
        previous: [],
      },
      { version: 1, profile, port: 22 },
      0,
    ),
  ),
  modRevision: 1,
});

/** A directory that answers with `kvs`, or fails with `error` while it is set. */
function fakeDirectory() {
  const state = { kvs: [kv('alice')], error: undefined as string | undefined, revision: 5 };
  const etcd = {
    endpoint: 'http://192.0.2.101:2379',
    rangePrefix: async () => {
      if (state.error !== undefined) throw new Error(state.error);
      return { revision: state.revision, kvs: state.kvs };
    },
    watchPrefix: () => () => undefined,
  } as unknown as EtcdClient;
  return { state, etcd };
}

function setUp(maxStaleMs?: number) {
  const dir = tempDir();
  const { state, etcd } = fakeDirectory();
  const { log, lines } = memoryLogger();
  let now = Date.parse('2026-12-01T00:00:00Z');
  let changes = 0;
  const sync = new FleetSync({
    fleet: {
      name: 'acme',
      server: 'web-1',
      endpoints: [etcd.endpoint],
      checkIntervalMs: 2_000,
      timeoutMs: 1_000,
      ...(maxStaleMs === undefined ? {} : { maxStaleMs }),
    },
    stateDir: dir,
    etcd,
    log,
    onUsersChanged: () => changes++,
    now: () => now,
  });
  const cache = () => JSON.parse(readFileSync(fleetCachePath(dir), 'utf8')) as FleetCache;
  return {
    dir,
    state,
    sync,
    lines,
    cache,
    changes: () => changes,
    advance: (ms: number) => (now += ms),
  };
}

describe('FleetSync', () => {
  it('reads the users into fleet.json (0600) and tells the daemon once', async () => {
    const s = setUp();
    expect(await s.sync.refresh()).toBe(true);
    expect(s.sync.userNames()).toEqual(['alice']);
    expect(s.cache()).toMatchObject({ fleet: 'acme', server: 'web-1', revision: 5, users: [{ name: 'alice' }] });
    expect(s.cache().unreachableSince).toBeUndefined();
    expect(statSync(fleetCachePath(s.dir)).mode & 0o777).toBe(0o600);
    expect(s.changes()).toBe(1);
    await s.sync.refresh(); // nothing changed: no second apply
    expect(s.changes()).toBe(1);
  });

  it('keeps the users when the directory is unreachable, says so once, and catches up when it returns', async () => {
    const s = setUp();
    await s.sync.refresh();
    s.state.error = 'http://192.0.2.101:2379: no answer within 1000 ms';
    s.advance(2_000);
    expect(await s.sync.refresh()).toBe(false);
    await s.sync.refresh();
    expect(s.sync.userNames()).toEqual(['alice']);
    expect(s.cache()).toMatchObject({ unreachableSince: '2026-12-01T00:00:02.000Z', users: [{ name: 'alice' }] });
    expect(s.lines.filter((l) => l.includes('directory unreachable'))).toHaveLength(1);
    expect(s.lines.join('\n')).toMatch(
      /keeping the 1 users last read \(revision 5, confirmed 2026-12-01T00:00:00.000Z\)/,
    );
    s.state.error = undefined;
    s.state.kvs = [kv('bob')];
    s.state.revision = 9;
    expect(await s.sync.refresh()).toBe(true);
    expect(s.sync.userNames()).toEqual(['bob']);
    expect(s.cache().unreachableSince).toBeUndefined();
    expect(s.lines.join('\n')).toMatch(
      /directory reachable again at http:\/\/192.0.2.101:2379; caught up to revision 9/,
    );
    expect(s.changes()).toBe(2);
  });

  it('names the systemd drop-in when the unit allows no IP sockets', async () => {
    const s = setUp();
    s.state.error = 'http://192.0.2.101:2379: socket EAFNOSUPPORT';
    await s.sync.refresh();
    expect(s.cache().lastError).toMatch(/add the drop-in of docs\/fleet.md, RestrictAddressFamilies=AF_INET AF_INET6/);
  });
});
