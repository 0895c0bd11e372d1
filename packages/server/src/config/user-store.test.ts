// loadConfig with a user store: the store's users merged with the config's, each
// record judged on its own (config/user-store.ts).
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeSecret, generateSecret } from '@otpknock/shared';
import { storeConfigFile, storedUser, tempDirs } from '@otpknock/server/testing';
import { ConfigError } from './errors.js';
import { loadConfig } from './load.js';
import { writeUserRecord } from '../users/store.js';

const tmp = tempDirs();

describe('loadConfig with a user store', () => {
  it('merges store users with the config users, with their own services, grace secrets and state', async () => {
    const dir = tmp();
    const file = storeConfigFile(dir, `users:\n  carol: { secret: ${encodeSecret(generateSecret(20))} }\n`);
    await writeUserRecord(
      join(dir, 'users.d'),
      storedUser('alice', {
        services: ['api'],
        previous: [
          { secret: encodeSecret(generateSecret(20)), until: '2999-01-01T00:00:00Z' },
          { secret: encodeSecret(generateSecret(20)), until: '2000-01-01T00:00:00Z' },
        ],
      }),
    );
    await writeUserRecord(join(dir, 'users.d'), storedUser('bob', { disabled: true, codeMode: true }));
    const c = await loadConfig(file);
    expect(c.userStore).toBe(join(dir, 'users.d'));
    expect(c.users.map((u) => [u.name, u.origin ?? 'config', u.services.join(','), u.disabled ?? false])).toEqual([
      ['carol', 'config', 'ssh,api', false],
      ['alice', 'store', 'api', false],
      ['bob', 'store', 'ssh,api', true],
    ]);
    expect(c.users[1]!.graceSecrets).toHaveLength(1); // the expired one is dropped
    expect(c.users[2]!.codeMode).toBe(true);
    expect(c.users[1]!.profile.exclude).toEqual([22, 443]);
  });

  it('refuses a name in both places, a loose record file, an unknown service', async () => {
    const dir = tmp();
    const file = storeConfigFile(dir, `users:\n  alice: { secret: ${encodeSecret(generateSecret(20))} }\n`);
    const store = join(dir, 'users.d');
    await writeUserRecord(store, storedUser('alice'));
    await writeUserRecord(store, storedUser('bob', { services: ['web'] }));
    await writeUserRecord(store, storedUser('eve'));
    chmodSync(join(store, 'eve.yaml'), 0o644);
    const err = (await loadConfig(file).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    const text = err.issues.map((i) => `${i.file}: ${i.path}: ${i.message}`).join('\n');
    expect(text).toMatch(/alice\.yaml: name: user alice is defined both in/);
    expect(text).toMatch(/bob\.yaml: services\[0\]: unknown service "web"/);
    expect(text).toMatch(/eve\.yaml: : permissions 0644 .* too open/);
  });

  it('without any user: an error for the daemon, fine for the user commands', async () => {
    const file = storeConfigFile(tmp());
    await expect(loadConfig(file)).rejects.toThrow(/no users .* otpknockd user add NAME/);
    expect((await loadConfig(file, { allowNoUsers: true })).users).toEqual([]);
  });
});
