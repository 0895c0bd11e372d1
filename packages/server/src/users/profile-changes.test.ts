// Which users a config change breaks: named by check, apply and the daemon's reload.
import { describe, expect, it } from 'vitest';
import { encodeSecret, generateSecret } from '@otpknock/shared';
import { parseConfig } from '../config/index.js';
import { profileChanges, profileChangesText } from './profile-changes.js';

const secret = encodeSecret(generateSecret(20));
const config = (extra: string, services = '  ssh: { port: 22 }\n') =>
  parseConfig(
    `${extra}services:\n${services}users:\n  alice: { secret: ${secret} }\n  bob: { secret: ${encodeSecret(generateSecret(20))}, knock: { method: list-modulo, ports: [7001, 7002, 7003, 7004, 7005, 7006] } }\n`,
    '/etc/otpknock/otpknockd.yaml',
    { readSecretFile: () => ({ type: 'file', mode: 0o600, uid: 0, size: 0 }), configFile: { mode: 0o600, uid: 0 } },
  );

describe('profileChanges', () => {
  it('an exclude of the global block reaches every user that draws from the range (list-modulo bob does not)', () => {
    const changes = profileChanges(config(''), config('knock: { exclude: [11211] }\n'));
    expect(changes).toEqual([{ user: 'alice', fields: ['exclude'] }]);
    expect(profileChanges(config(''), config('knock: { exclude: [80] }\n'))).toEqual([]); // outside the range
    expect(profileChangesText(changes)).toMatch(/user alice \(exclude\).*otpknockd user uri alice$/);
    const two = profileChanges(config(''), config('knock: { period: 60 }\n'));
    expect(profileChangesText(two)).toMatch(
      /users alice \(period\), bob \(period\).*otpknockd user uri alice; otpknockd user uri bob$/,
    );
  });

  it('a service port inside the range changes the pool; one outside it changes nothing but the port the URI names', () => {
    expect(profileChanges(config(''), config('', '  ssh: { port: 22 }\n  web: { port: 20000 }\n'))).toEqual([
      { user: 'alice', fields: ['exclude'] },
    ]);
    expect(profileChanges(config(''), config('', '  ssh: { port: 2222 }\n'))).toEqual([
      { user: 'alice', fields: ['port'] },
      { user: 'bob', fields: ['port'] },
    ]);
    expect(profileChanges(config(''), config('', '  ssh: { port: 22, open_for: 1m }\n'))).toEqual([]);
  });

  it('a payload requirement, a period; a user who is new or gone is not a change', () => {
    expect(profileChanges(config(''), config('payload: { require: dns }\n')).map((c) => c.fields)).toEqual([
      ['payload'],
      ['payload'],
    ]);
    expect(profileChanges(config(''), config('knock: { period: 60 }\n')).map((c) => c.user)).toEqual(['alice', 'bob']);
    const one = config('');
    expect(profileChanges({ ...one, users: one.users.slice(0, 1) }, one)).toEqual([]);
  });
});
