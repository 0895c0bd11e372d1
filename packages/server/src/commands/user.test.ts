// The onboarding URI of `otpknockd user add`/`rotate`.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOtpauthUri } from '@otpknock/shared';
import { storeConfigFile, storedUser, tempDirs } from '@otpknock/server/testing';
import { loadConfig } from '../config/index.js';
import { writeUserRecord } from '../users/store.js';
import { onboardingUri } from './user.js';

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
});
