import { describe, expect, it } from 'vitest';
import { normalizeProfile } from '@otpknock/shared';
import { serverRecordOf } from '../fleet/directory.js';
import { ConfigError } from './errors.js';
import { parseConfig } from './parse.js';

const FILE = '/etc/otpknock/otpknockd.yaml';
const noFiles = {
  readSecretFile: (p: string) => {
    throw Object.assign(new Error(p), { code: 'ENOENT' });
  },
  configFile: { mode: 0o600, uid: 0 },
};
const FLEET = `services:
  ssh: { port: 22 }
fleet:
  name: acme
  server: web-3
  endpoints: [http://192.0.2.101:2379, https://etcd2.example.org:2379]
  credentials_file: fleet.credentials
`;
const record = serverRecordOf(
  'acme',
  'web-3',
  {
    version: 1,
    name: 'alice',
    secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
    secretCreated: '2026-11-01T00:00:00Z',
    servers: ['web-3'],
    disabled: false,
    previous: [],
  },
  { version: 1, profile: normalizeProfile({ method: 'time', period: 5 }, 'test'), port: 22 },
  Date.now(),
);

function issues(text: string, records = [record]): string[] {
  try {
    parseConfig(text, FILE, { ...noFiles, fleetRecords: records });
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.line ?? '-'}: ${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

describe('config: fleet', () => {
  it('reads the section with defaults and paths relative to the file, and takes the directory users', () => {
    const c = parseConfig(FLEET, FILE, { ...noFiles, fleetRecords: [record] });
    expect(c.fleet).toEqual({
      name: 'acme',
      server: 'web-3',
      endpoints: ['http://192.0.2.101:2379', 'https://etcd2.example.org:2379'],
      credentialsFile: '/etc/otpknock/fleet.credentials',
      checkIntervalMs: 10_000,
      timeoutMs: 3_000,
    });
    expect(c.users.map((u) => [u.name, u.origin, u.profile.period])).toEqual([['alice', 'fleet', 5]]);
  });

  it('without any user (no local ones, nothing read from the directory yet) it refuses, saying what to do', () => {
    expect(issues(FLEET, [])).toEqual([
      expect.stringMatching(
        /^1: users: no users in the configuration, the user store, nor the fleet directory .*otpknockd fleet enrol NAME --servers SERVER/,
      ),
    ]);
  });

  it('with no user left once the directory confirmed this server has nobody (the last person revoked), it loads an empty set', () => {
    const c = parseConfig(FLEET, FILE, { ...noFiles, fleetRecords: [], fleetConfirmed: true });
    expect(c.users).toEqual([]);
    // Without a fleet, no user at all stays an error, confirmed or not.
    expect(() =>
      parseConfig(FLEET.replace(/fleet:[^]*$/, 'user_store: users.d\n'), FILE, {
        ...noFiles,
        fleetConfirmed: true,
        userStore: { dir: '/etc/otpknock/users.d', entries: [] },
      }),
    ).toThrow(/no users in the configuration nor in the user store/);
  });

  it.each([
    ['  server: web-3\n', '', /fleet.server: missing; expected this server's name/],
    ['  server: web-3\n', '  server: Web-3\n', /fleet.server: not a server name: it starts with "W"/],
    ['  name: acme\n', '  name: -acme\n', /fleet.name: not a fleet name: it starts with "-"/],
    [
      '[http://192.0.2.101:2379, https://etcd2.example.org:2379]',
      '[192.0.2.101:2379]',
      /fleet.endpoints\[0\]: expected an etcd client URL/,
    ],
    [
      '  credentials_file: fleet.credentials\n',
      '  cert_file: c.pem\n',
      /fleet.key_file: cert_file and key_file go together/,
    ],
    ['  credentials_file: fleet.credentials\n', '  check_interval: 10\n', /fleet.check_interval: 10 is a bare number/],
  ])('refuses %j → %j with the line and field', (from, to, message) => {
    const got = issues(FLEET.replace(from, to));
    expect(got.join('\n')).toMatch(message);
    expect(got.every((l) => /^\d+: fleet/.test(l) || l.includes('users:'))).toBe(true);
  });
});
