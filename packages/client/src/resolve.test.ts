import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { KnockError } from './errors.js';
import {
  findProfile,
  parseSshG,
  resolveAddresses,
  sshConfigLookup,
  type AddressLookup,
  type SshConfigLookup,
} from './resolve.js';
import { tempDir, testProfile, writePrivate } from '@otpknock/client/testing';

const profiles = {
  myserver: testProfile('myserver', { address: '203.0.113.5' }),
  'db.example.org': testProfile('db.example.org'),
  v6: testProfile('v6', { address: '2001:db8::7' }),
};

const noSsh: SshConfigLookup = async () => {
  throw new Error('ssh must not be asked');
};

describe('findProfile', () => {
  it('matches profile names first, without asking ssh', async () => {
    const m = await findProfile('myserver', profiles, noSsh);
    expect(m).toMatchObject({ via: 'name', address: '203.0.113.5' });
    expect(m?.profile.name).toBe('myserver');
  });

  it('a profile without address knocks its name', async () => {
    expect(await findProfile('db.example.org', profiles, noSsh)).toMatchObject({
      via: 'name',
      address: 'db.example.org',
    });
  });

  it("matches a profile's address (what ssh passes as %h)", async () => {
    expect(await findProfile('203.0.113.5', profiles, noSsh)).toMatchObject({ via: 'address', address: '203.0.113.5' });
    expect(await findProfile('2001:db8::7', profiles, noSsh)).toMatchObject({ via: 'address' });
  });

  it('is case-insensitive for host names', async () => {
    expect(await findProfile('DB.example.ORG', profiles, noSsh)).toMatchObject({ via: 'name' });
  });

  it('takes an exact name before a case-insensitive one, and the first of several profiles with one address', async () => {
    const two = {
      Web: testProfile('Web', { address: '192.0.2.1' }),
      web: testProfile('web', { address: '192.0.2.2' }),
    };
    expect((await findProfile('web', two, noSsh))?.address).toBe('192.0.2.2');
    expect((await findProfile('Web', two, noSsh))?.address).toBe('192.0.2.1');
    const shared = {
      first: testProfile('first', { address: '192.0.2.3' }),
      second: testProfile('second', { address: '192.0.2.3' }),
    };
    expect((await findProfile('192.0.2.3', shared, noSsh))?.profile.name).toBe('first');
    const ssh: SshConfigLookup = async () => ({ hostname: '192.0.2.3', port: 22 });
    expect((await findProfile('alias', shared, ssh))?.profile.name).toBe('first');
  });

  it('resolves an ssh alias through ssh -G: HostName → profile name or address', async () => {
    const ssh = vi.fn<SshConfigLookup>(async (host) =>
      host === 'prod'
        ? { hostname: '203.0.113.5', port: 2222 }
        : host === 'db'
          ? { hostname: 'db.example.org', port: 22 }
          : { hostname: host, port: 22 },
    );
    expect(await findProfile('prod', profiles, ssh)).toMatchObject({
      via: 'ssh',
      address: '203.0.113.5',
      ssh: { hostname: '203.0.113.5', port: 2222 },
    });
    expect(await findProfile('db', profiles, ssh)).toMatchObject({ via: 'ssh', address: 'db.example.org' });
    expect(await findProfile('unknown', profiles, ssh)).toBeUndefined();
    expect(ssh).toHaveBeenCalledTimes(3);
  });

  it('skips ssh when it is not there, and never passes an option-like host', async () => {
    expect(await findProfile('prod', profiles, async () => undefined)).toBeUndefined();
    expect(await findProfile('prod', profiles, undefined)).toBeUndefined();
    expect(await findProfile('-oProxyCommand=x', profiles, noSsh)).toBeUndefined();
  });
});

describe('ssh -G', () => {
  it('parses HostName and Port', () => {
    expect(parseSshG('user ada\nhostname 203.0.113.5\nport 2222\nidentityfile ~/.ssh/id_ed25519\n')).toEqual({
      hostname: '203.0.113.5',
      port: 2222,
    });
    expect(parseSshG('hostname h\n')).toEqual({ hostname: 'h' });
    expect(parseSshG('')).toBeUndefined();
  });

  it('runs the given ssh with -G -- HOST, and gives up quietly when ssh is missing or fails', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const fake = writePrivate(
        join(dir, 'ssh'),
        '#!/bin/sh\n[ "$1" = -G ] && [ "$2" = -- ] || exit 255\nprintf "hostname %s.example.org\\nport 2200\\n" "$3"\n',
        0o700,
      );
      expect(await sshConfigLookup({ ssh: fake })('alias')).toEqual({ hostname: 'alias.example.org', port: 2200 });
      const failing = writePrivate(join(dir, 'ssh-fails'), '#!/bin/sh\nexit 255\n', 0o700);
      expect(await sshConfigLookup({ ssh: failing })('alias')).toBeUndefined();
      expect(await sshConfigLookup({ ssh: join(dir, 'no-such-ssh') })('alias')).toBeUndefined();
    } finally {
      cleanup();
    }
  });
});

describe('resolveAddresses', () => {
  const lookup: AddressLookup = async (host, family) => {
    if (host !== 'dual.example.org')
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    const all = [
      { address: '2001:db8::1', family: 6 as const },
      { address: '192.0.2.1', family: 4 as const },
      { address: '198.51.100.1', family: 4 as const },
      { address: '192.0.2.1', family: 4 as const },
    ];
    return family === 0 ? all : all.filter((a) => a.family === family);
  };

  it('keeps the resolver order, drops duplicates, honours -4/-6', async () => {
    expect((await resolveAddresses('dual.example.org', undefined, lookup)).map((a) => a.address)).toEqual([
      '2001:db8::1',
      '192.0.2.1',
      '198.51.100.1',
    ]);
    expect((await resolveAddresses('dual.example.org', 4, lookup)).map((a) => a.address)).toEqual([
      '192.0.2.1',
      '198.51.100.1',
    ]);
    expect(await resolveAddresses('dual.example.org', 6, lookup)).toEqual([{ address: '2001:db8::1', family: 6 }]);
  });

  it('takes IP literals as they are, also [v6]', async () => {
    const never: AddressLookup = async () => {
      throw new Error('no DNS for literals');
    };
    expect(await resolveAddresses('192.0.2.9', undefined, never)).toEqual([{ address: '192.0.2.9', family: 4 }]);
    expect(await resolveAddresses('[2001:db8::9]', 6, never)).toEqual([{ address: '2001:db8::9', family: 6 }]);
  });

  it('-4 with an IPv6 literal is a usage error (2); an unknown name a network error (3)', async () => {
    await expect(resolveAddresses('2001:db8::9', 4, lookup)).rejects.toMatchObject({ exitCode: 2 });
    const error = await resolveAddresses('nowhere.invalid', undefined, lookup).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KnockError);
    expect(error).toMatchObject({
      exitCode: 3,
      message: expect.stringMatching(/^cannot resolve nowhere\.invalid: no such host \(DNS\)/),
    });
  });

  it('the system resolver knows localhost', async () => {
    const found = await resolveAddresses('localhost', 4);
    expect(found.map((a) => a.address)).toContain('127.0.0.1');
  });
});
