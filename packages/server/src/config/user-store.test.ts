// loadConfig with a user store: the store's users merged with the config's, each
// record judged on its own (config/user-store.ts).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeSecret, generateSecret } from '@otpknock/shared';
import { ConfigError } from './errors.js';
import { loadConfig } from './load.js';
import type { StoredUser } from '../users/record.js';
import { writeUserRecord } from '../users/store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'otpknock-store-'));
  dirs.push(d);
  return d;
}

const rec = (name: string, over: Partial<StoredUser> = {}): StoredUser => ({
  name,
  secret: encodeSecret(generateSecret(20)),
  secretCreated: '2026-01-01T00:00:00.000Z',
  disabled: false,
  previous: [],
  codeMode: false,
  ...over,
});

function config(dir: string, extraUsers = ''): string {
  const file = join(dir, 'otpknockd.yaml');
  writeFileSync(
    file,
    `user_store: users.d\nstate_dir: ${dir}/state\nservices:\n  ssh: { port: 22 }\n  api: { port: 443 }\n${extraUsers}`,
    { mode: 0o600 },
  );
  return file;
}

describe('loadConfig with a user store', () => {
  it('merges store users with the config users, with their own services, grace secrets and state', async () => {
    const dir = tmp();
    const file = config(dir, `users:\n  carol: { secret: ${encodeSecret(generateSecret(20))} }\n`);
    await writeUserRecord(
      join(dir, 'users.d'),
      rec('alice', {
        services: ['api'],
        previous: [
          { secret: encodeSecret(generateSecret(20)), until: '2999-01-01T00:00:00Z' },
          { secret: encodeSecret(generateSecret(20)), until: '2000-01-01T00:00:00Z' },
        ],
      }),
    );
    await writeUserRecord(join(dir, 'users.d'), rec('bob', { disabled: true, codeMode: true }));
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
    const file = config(dir, `users:\n  alice: { secret: ${encodeSecret(generateSecret(20))} }\n`);
    const store = join(dir, 'users.d');
    await writeUserRecord(store, rec('alice'));
    await writeUserRecord(store, rec('bob', { services: ['web'] }));
    await writeUserRecord(store, rec('eve'));
    chmodSync(join(store, 'eve.yaml'), 0o644);
    const err = (await loadConfig(file).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    const text = err.issues.map((i) => `${i.file}: ${i.path}: ${i.message}`).join('\n');
    expect(text).toMatch(/alice\.yaml: name: user alice is defined both in/);
    expect(text).toMatch(/bob\.yaml: services\[0\]: unknown service "web"/);
    expect(text).toMatch(/eve\.yaml: : permissions 0644 .* too open/);
  });

  it('without any user: an error for the daemon, fine for the user commands', async () => {
    const file = config(tmp());
    await expect(loadConfig(file)).rejects.toThrow(/no users .* otpknockd user add NAME/);
    expect((await loadConfig(file, { allowNoUsers: true })).users).toEqual([]);
  });
});
