import { describe, expect, it } from 'vitest';
import { decodeSecret, deriveFleetKey, encodeSecret } from '@otpknock/shared';
import { testProfile } from '@otpknock/client/testing';
import { KnockError } from './errors.js';
import { formatList, profileFromImport } from './manage.js';
import { checkProfile } from './profile.js';
import { findProfile } from './resolve.js';

const PERSON = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const URI = `otpauth://totp/acme:alice?secret=${PERSON}&method=time&period=5&fleet=acme&servers=web-1@192.0.2.11,web-2@192.0.2.12,db-1&port=22`;
const noSsh = async () => undefined;

function importedStore(extra: Record<string, ReturnType<typeof testProfile>> = {}) {
  const fleet = profileFromImport(URI, {}, new Date('2026-12-01T00:00:00Z'), {});
  return { acme: fleet, ...extra };
}

describe('fleet profiles (docs/protocol.md §12)', () => {
  it('import stores one profile under the fleet name with the person secret and the servers', () => {
    const p = importedStore().acme;
    expect(p).toMatchObject({
      name: 'acme',
      secret: PERSON,
      servicePort: 22,
      fleet: { name: 'acme', servers: [{ name: 'web-1', host: '192.0.2.11' }, { name: 'web-2' }, { name: 'db-1' }] },
    });
    expect(p.address).toBeUndefined();
    expect(checkProfile(p, 'store.json').secret).toBe(PERSON);
  });

  it('knock web-2 knocks web-2 at its host with the key derived for web-2, never the person secret', async () => {
    const m = await findProfile('web-2', importedStore(), noSsh);
    expect(m).toMatchObject({ via: 'name', address: '192.0.2.12' });
    const checked = checkProfile(m!.profile, 'store.json');
    expect(checked.secret).toBe(encodeSecret(deriveFleetKey(decodeSecret(PERSON), 'acme', 'web-2')));
    expect(checked.secret).not.toBe(PERSON);
    expect(checked.knock.period).toBe(5);
  });

  it('a server without a host knocks its name; a server is found by its host too', async () => {
    expect(await findProfile('db-1', importedStore(), noSsh)).toMatchObject({ address: 'db-1' });
    const byHost = await findProfile('192.0.2.11', importedStore(), noSsh);
    expect(byHost?.profile.fleetServer).toEqual({ profile: 'acme', fleet: 'acme', server: 'web-1' });
  });

  it('an ordinary profile of the same name wins over a fleet server', async () => {
    const own = testProfile('web-1', { address: '203.0.113.9' });
    const m = await findProfile('web-1', importedStore({ 'web-1': own }), noSsh);
    expect(m?.profile.fleetServer).toBeUndefined();
    expect(m?.address).toBe('203.0.113.9');
  });

  it('knock FLEET says it is a fleet profile and names its servers', async () => {
    const e = await findProfile('acme', importedStore(), noSsh).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KnockError);
    expect((e as KnockError).message).toMatch(
      /acme is a fleet profile, not a server; knock one of its servers: web-1, web-2, db-1/,
    );
  });

  it('a broken fleet field is reported at the fleet profile', () => {
    const p = importedStore().acme;
    const bad = { ...p, fleet: { name: 'acme', servers: [{ name: 'Web' }] } };
    expect(() => checkProfile(bad, 'store.json')).toThrow(
      /store.json: profiles.acme.fleet.servers\[0\].name: not a server name: it starts with "W"/,
    );
  });

  it('knock list shows the servers of a fleet profile, never the secret', () => {
    const text = formatList([importedStore().acme]);
    expect(text).toMatch(/acme\s+fleet: web-1,web-2,db-1\s+22\s+time\s+5s/);
    expect(text).not.toContain(PERSON);
  });

  it('import refuses --address for a fleet profile', () => {
    expect(() => profileFromImport(URI, { address: '192.0.2.1' }, new Date(), {})).toThrow(
      /--address: a fleet profile/,
    );
  });
});
