// The user store: record format, atomic 0600 writes, loose files refused (the merge with
// the config: config/user-store.test.ts).
import { chmodSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeSecret, generateSecret } from '@otpknock/shared';
import { storedUser, tempDirs } from '@otpknock/server/testing';
import { formatUserRecord, parseUserRecord } from './record.js';
import { readStoreDir, storeSignature, withStoreLock, writeUserRecord } from './store.js';

const tmp = tempDirs();

describe('user records', () => {
  it('round-trip through the file format', () => {
    const u = storedUser('alice', {
      services: ['ssh'],
      disabled: true,
      codeMode: true,
      previous: [{ secret: encodeSecret(generateSecret(20)), until: '2030-01-01T00:00:00.000Z' }],
    });
    expect(parseUserRecord(formatUserRecord(u), '/x/alice.yaml', 'alice')).toEqual({ user: u, issues: [] });
  });

  it('name the field and file of every problem, never the secret', () => {
    const text = `name: bob\nsecret: ABC1DEFGHIJKLMNOPQRSTUVWXYZ234567\nsecret_created: yesterday\nextra: 1\n`;
    const { user, issues } = parseUserRecord(text, '/s/alice.yaml', 'alice');
    expect(user).toBeUndefined();
    expect(issues.map((i) => `${i.file}:${i.line}: ${i.path}`)).toEqual(
      expect.arrayContaining(['/s/alice.yaml:3: secret_created', '/s/alice.yaml:4: extra']),
    );
    const named = parseUserRecord(
      `name: bob\nsecret: ABC1DEFGHIJKLMNOPQRSTUVWXYZ234567\nsecret_created: 2026-01-01T00:00:00Z\n`,
      '/s/alice.yaml',
      'alice',
    );
    expect(named.issues.map((i) => i.path)).toEqual(['name', 'secret']);
    expect(JSON.stringify(named.issues)).not.toContain('ABC1DEFG');
  });
});

describe('the store on disk', () => {
  it('writes atomically with mode 0600 (no temp file left) and changes its signature', async () => {
    const dir = join(tmp(), 'users.d');
    const before = await storeSignature(dir);
    await writeUserRecord(dir, storedUser('alice'));
    expect(statSync(join(dir, 'alice.yaml')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir)).toEqual(['alice.yaml']);
    const after = await storeSignature(dir);
    expect(after).not.toBe(before);
    await writeUserRecord(dir, storedUser('alice'));
    expect(await storeSignature(dir)).not.toBe(after);
  });

  it('refuses a user name that could escape the directory', async () => {
    await expect(writeUserRecord(tmp(), storedUser('../evil'))).rejects.toThrow(/invalid user name/);
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
