// The onboarding URI of `otpknockd user add`/`rotate`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeSecret, generateSecret, parseOtpauthUri } from '@otpknock/shared';
import { loadConfig } from '../config/index.js';
import type { StoredUser } from '../users/record.js';
import { writeUserRecord } from '../users/store.js';
import { onboardingUri } from './user.js';

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

describe('onboardingUri', () => {
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
