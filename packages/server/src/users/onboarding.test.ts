// The onboarding of `otpknockd user add`/`rotate`/`uri`: the URI carries the profile the
// daemon derives with, for store and config users alike, and a client that imports it
// derives exactly the daemon's sequences.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deriveSequences, encodeSecret, generateSecret, normalizeProfile, parseOtpauthUri } from '@otpknock/shared';
import { storeConfigFile, storedUser, tempDirs } from '@otpknock/server/testing';
import { loadConfig } from '../config/index.js';
import { writeUserRecord } from './store.js';
import { clientPayload, importCommand, onboardingHost, onboardingText, onboardingUri } from './onboarding.js';

const tmp = tempDirs();

describe('onboardingUri', () => {
  it('the onboarding URI carries the effective profile (exclude with the service ports), host and port', async () => {
    const dir = tmp();
    const file = storeConfigFile(dir);
    await writeUserRecord(join(dir, 'users.d'), storedUser('alice', { services: ['api'] }));
    const c = await loadConfig(file);
    const uri = onboardingUri(c, c.users[0]!, { host: 'gw.example.org' });
    const p = parseOtpauthUri(uri);
    expect(p.profile).toEqual(c.users[0]!.profile);
    expect(p).toMatchObject({ host: 'gw.example.org', servicePort: 443, account: 'alice', issuer: 'gw.example.org' });
    expect(Buffer.from(p.secret).equals(Buffer.from(c.users[0]!.secret))).toBe(true);
  });

  it('a config user with a secret file, exclude and a service inside the range: the imported profile derives the daemon sequences', async () => {
    const dir = tmp();
    const secret = encodeSecret(generateSecret(20));
    writeFileSync(join(dir, 'alice'), `${secret}\n`, { mode: 0o600 });
    const file = join(dir, 'otpknockd.yaml');
    writeFileSync(
      file,
      [
        `state_dir: ${dir}/state`,
        'knock: { exclude: [11211, 27017] }',
        'services:',
        '  ssh: { port: 22 }',
        '  web: { port: 18080 }',
        'users:',
        '  alice: { secret_file: alice, services: [ssh] }',
        'payload: { require: dns }',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const c = await loadConfig(file);
    const alice = c.users[0]!;
    const p = parseOtpauthUri(onboardingUri(c, alice, { host: '192.0.2.1' }));
    expect(p.profile.exclude).toEqual(expect.arrayContaining([11211, 27017, 18080]));
    expect(p).toMatchObject({ host: '192.0.2.1', servicePort: 22, payload: 'dns' });
    for (const w of [59_000_000, 59_000_001, 60_123_456])
      expect(deriveSequences(normalizeProfile(p.profile), p.secret, w)).toEqual(
        deriveSequences(alice.profile, alice.secret, w),
      );
  });

  it('a list-modulo profile keeps its range in the URI (its code mode draws from it)', async () => {
    const dir = tmp();
    const file = storeConfigFile(
      dir,
      'knock: { method: list-modulo, range: 20000-30000, ports: [7001, 7002, 7003, 7004, 7005, 7006] }\n',
    );
    await writeUserRecord(join(dir, 'users.d'), storedUser('alice', { codeMode: true }));
    const c = await loadConfig(file);
    const p = parseOtpauthUri(onboardingUri(c, c.users[0]!, { host: 'gw.example.org' }));
    expect(p.profile).toEqual(c.users[0]!.profile);
    expect(p.profile.range).toEqual({ min: 20000, max: 30000 });
  });
});

describe('onboarding text', () => {
  it('without --host the URI names this machine, and the import line needs nothing else', async () => {
    const dir = tmp();
    await writeUserRecord(join(dir, 'users.d'), storedUser('alice'));
    const c = await loadConfig(storeConfigFile(dir));
    expect(onboardingHost({}, 'gw')).toBe('gw');
    expect(() => onboardingHost({}, 'not a host')).toThrow(/this machine's name "not a host" is not a host name/);
    const uri = onboardingUri(c, c.users[0]!, {});
    expect(parseOtpauthUri(uri).host).toBeDefined();
    expect(importCommand(uri)).toMatch(/^printf '%s\\n' 'otpauth:.*' \| knock import -$/);
  });

  it('the QR code is offered for knock --code only to a user with code mode', async () => {
    const dir = tmp();
    await writeUserRecord(join(dir, 'users.d'), storedUser('alice'));
    await writeUserRecord(join(dir, 'users.d'), storedUser('bob', { codeMode: true }));
    const c = await loadConfig(storeConfigFile(dir));
    const [alice, bob] = c.users;
    const text = (u: typeof alice) =>
      onboardingText('otpauth://x', u!, { host: 'gw', explicitHost: true, qr: 'QR' }, 'User');
    expect(text(alice)).toContain('code mode is off for this user');
    expect(text(alice)).not.toContain('for knock --code');
    expect(text(bob)).toContain('authenticator app (for knock --code)');
    expect(onboardingText('otpauth://x', alice!, { host: 'gw', explicitHost: false }, 'User')).toContain(
      "this machine's name; give --host NAME",
    );
  });

  it('the payload clients send for each requirement', () => {
    expect(clientPayload(undefined)).toBeUndefined();
    expect(clientPayload({ require: 'none', shape: 'none' })).toBeUndefined();
    expect(clientPayload({ require: 'any', shape: 'none' })).toBe('random');
    expect(clientPayload({ require: 'ntp', shape: 'none' })).toBe('ntp');
    expect(clientPayload({ require: 'token', shape: 'dns' })).toBe('dns');
    expect(clientPayload({ require: 'token', shape: 'none' })).toBeUndefined();
  });
});
