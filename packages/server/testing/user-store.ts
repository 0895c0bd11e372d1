// For unit tests of the user store: temporary folders removed after each test, a stored
// user record with a fresh secret, and a config file whose users live in a store.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { encodeSecret, generateSecret } from '@otpknock/shared';
import type { StoredUser } from '../src/users/record.js';

/** Returns a maker of temporary folders, each removed after the test that made it. Call it at a test file's top level. */
export function tempDirs(prefix = 'otpknock-store-'): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}

export const storedUser = (name: string, over: Partial<StoredUser> = {}): StoredUser => ({
  name,
  secret: encodeSecret(generateSecret(20)),
  secretCreated: '2026-01-01T00:00:00.000Z',
  disabled: false,
  previous: [],
  codeMode: false,
  ...over,
});

/** Writes dir/otpknockd.yaml (0600): store users.d, services ssh (22) and api (443), then `extra` as written. */
export function storeConfigFile(dir: string, extra = ''): string {
  const file = join(dir, 'otpknockd.yaml');
  writeFileSync(
    file,
    `user_store: users.d\nstate_dir: ${dir}/state\nservices:\n  ssh: { port: 22 }\n  api: { port: 443 }\n${extra}`,
    { mode: 0o600 },
  );
  return file;
}
