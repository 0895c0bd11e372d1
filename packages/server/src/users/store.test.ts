// The user store: record format, atomic 0600 writes, loose files refused, merge with the config.
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeSecret, generateSecret, parseOtpauthUri } from '@otpknock/shared';
import { ConfigError, loadConfig } from '../config/index.js';
import { onboardingUri } from '../commands/user.js';
import { formatUserRecord, parseUserRecord, type StoredUser } from './record.js';
import { readStoreDir, storeSignature, withStoreLock, writeUserRecord } from './store.js';

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
  writeFileSync(file, `user_store: users.d\nstate_dir: ${dir}/state\nservices:\n  ssh: { port: 22 }\n  api: { port: 443 }\n${extraUsers}`, { mode: 0o600 });
  return file;
}

describe('user records', () => {
  it('round-trip through the file format', () => {
    const u = rec('alice', { services: ['ssh'], disabled: true, codeMode: true, previous: [{ secret: encodeSecret(generateSecret(20)), until: '2030-01-01T00:00:00.000Z' }] });
    expect(parseUserRecord(formatUserRecord(u), '/x/alice.yaml', 'alice')).toEqual({ user: u, issues: [] });
  });

  it('name the field and file of every problem, never the secret', () => {
    const text = `name: bob\nsecret: ABC1DEFGHIJKLMNOPQRSTUVWXYZ234567\nsecret_created: yesterday\nextra: 1\n`;
    const { user, issues } = parseUserRecord(text, '/s/alice.yaml', 'alice');
    expect(user).toBeUndefined();
    expect(issues.map((i) => `${i.file}:${i.line}: ${i.path}`)).toEqual(expect.arrayContaining(['/s/alice.yaml:3: secret_created', '/s/alice.yaml:4: extra']));
    const named = parseUserRecord(`name: bob\nsecret: ABC1DEFGHIJKLMNOPQRSTUVWXYZ234567\nsecret_created: 2026-01-01T00:00:00Z\n`, '/s/alice.yaml', 'alice');
    expect(named.issues.map((i) => i.path)).toEqual(['name', 'secret']);
    expect(JSON.stringify(named.issues)).not.toContain('ABC1DEFG');
  });
});

describe('the store on disk', () => {
  it('writes atomically with mode 0600 (no temp file left) and changes its signature', async () => {
    const dir = join(tmp(), 'users.d');
    const before = await storeSignature(dir);
    await writeUserRecord(dir, rec('alice'));
    expect(statSync(join(dir, 'alice.yaml')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir)).toEqual(['alice.yaml']);
    const after = await storeSignature(dir);
    expect(after).not.toBe(before);
    await writeUserRecord(dir, rec('alice'));
    expect(await storeSignature(dir)).not.toBe(after);
  });

  it('refuses a user name that could escape the directory', async () => {
    await expect(writeUserRecord(tmp(), rec('../evil'))).rejects.toThrow(/invalid user name/);
  });

  it('serialises writers with a lock file', async () => {
    const dir = tmp();
    const order: string[] = [];
    await Promise.all([
      withStoreLock(dir, async () => {
        order.push('a1');
        await new Promise((r) => setTimeout(r, 150));
        order.push('a2');
      }),
      new Promise((r) => setTimeout(r, 20)).then(() => withStoreLock(dir, async () => void order.push('b'))),
    ]);
    expect(order).toEqual(['a1', 'a2', 'b']);
  });

  it('a missing store is empty; a group-writable one is refused', async () => {
    const d = tmp();
    expect(await readStoreDir(join(d, 'nope'))).toEqual({ dir: join(d, 'nope'), entries: [] });
    chmodSync(d, 0o770);
    expect((await readStoreDir(d)).error).toMatch(/chmod 700/);
  });
});

describe('loadConfig with a user store', () => {
  it('merges store users with the config users, with their own services, grace secrets and state', async () => {
    const dir = tmp();
    const file = config(dir, `users:\n  carol: { secret: ${encodeSecret(generateSecret(20))} }\n`);
    await writeUserRecord(join(dir, 'users.d'), rec('alice', { services: ['api'], previous: [{ secret: encodeSecret(generateSecret(20)), until: '2999-01-01T00:00:00Z' }, { secret: encodeSecret(generateSecret(20)), until: '2000-01-01T00:00:00Z' }] }));
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

  it('the onboarding URI carries the effective profile (exclude with the service ports), host and port', async () => {
    const dir = tmp();
    const file = config(dir);
    await writeUserRecord(join(dir, 'users.d'), rec('alice', { services: ['api'] }));
    const c = await loadConfig(file);
    const uri = onboardingUri(c, c.users[0]!, { host: 'gw.example.org' });
    const p = parseOtpauthUri(uri);
    expect(p.profile).toEqual(c.users[0]!.profile);
    expect(p).toMatchObject({ host: 'gw.example.org', servicePort: 443, account: 'alice', issuer: 'gw.example.org' });
    expect(Buffer.from(p.secret).equals(Buffer.from(c.users[0]!.secret))).toBe(true);
  });
});
