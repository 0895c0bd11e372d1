import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deriveSequences } from './derive.js';
import { deriveFleetKey, fleetNameProblem, FLEET_KEY_BYTES } from './fleet.js';
import { formatOtpauthUri, parseOtpauthUri } from './otpauth.js';
import { normalizeProfile } from './profile.js';
import { decodeSecret, encodeSecret } from './secret.js';
import { thrownOtpknockError } from './testing.js';
import type { KnockProfile } from './types.js';

interface FleetVector {
  name: string;
  secret: string;
  fleet: string;
  server: string;
  profile: KnockProfile;
  key: string;
  keyHex: string;
  window: number;
  open: number[];
  close: number[];
}
const vectorsFile = new URL('../../../docs/test-vectors.json', import.meta.url);
const { fleet } = JSON.parse(readFileSync(vectorsFile, 'utf8')) as { fleet: FleetVector[] };
const S20 = decodeSecret('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');

describe('fleet keys (protocol §12)', () => {
  for (const v of fleet) {
    it(`vector ${v.name}`, () => {
      const key = deriveFleetKey(decodeSecret(v.secret), v.fleet, v.server);
      expect(key.length).toBe(FLEET_KEY_BYTES);
      expect(Buffer.from(key).toString('hex')).toBe(v.keyHex);
      expect(encodeSecret(key)).toBe(v.key);
      const seq = deriveSequences(v.profile, key, v.window);
      expect({ open: seq.open, close: seq.close }).toEqual({ open: v.open, close: v.close });
    });
  }

  it('gives every server, and the same server in another fleet, a key of its own', () => {
    const keys = ['web-1', 'web-2', 'web-10', 'db-1'].map((s) => encodeSecret(deriveFleetKey(S20, 'acme', s)));
    keys.push(encodeSecret(deriveFleetKey(S20, 'acme2', 'web-1')));
    // Length bytes: "a"+"bc" and "ab"+"c" are different messages.
    keys.push(encodeSecret(deriveFleetKey(S20, 'a', 'bc')), encodeSecret(deriveFleetKey(S20, 'ab', 'c')));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("a stolen server key opens that server only: web-1's key yields none of web-2's sequences", () => {
    const profile = normalizeProfile({ method: 'time', length: 3 }, 'test');
    const stolen = deriveFleetKey(S20, 'acme', 'web-1');
    const web2 = deriveFleetKey(S20, 'acme', 'web-2');
    for (let w = 1000; w < 1100; w++) {
      const thief = deriveSequences(profile, stolen, w);
      const real = deriveSequences(profile, web2, w);
      expect(thief.open).not.toEqual(real.open);
      // The person's own web-1 knock is what the thief can do, on web-1 only.
      expect(deriveSequences(profile, deriveFleetKey(S20, 'acme', 'web-1'), w).open).toEqual(thief.open);
    }
  });

  it.each([
    ['', 'is empty'],
    ['Web-1', 'starts with "W"'],
    ['web_1.Example', 'contains "E"'],
    ['-web', 'starts with "-"'],
    ['.web', 'starts with "."'],
    ['web 1', 'contains " "'],
    ['x'.repeat(64), 'is 64 characters long; at most 63 are allowed'],
  ])('refuses the name %j: it %s', (name, problem) => {
    expect(fleetNameProblem(name)).toBe(problem);
    const e = thrownOtpknockError(() => deriveFleetKey(S20, 'acme', name));
    expect(e.where).toBe('server');
    expect(e.hint).toMatch(/a-z, 0-9/);
  });

  it('accepts dotted and underscored names', () => {
    expect(fleetNameProblem('db-1.example.org')).toBeUndefined();
    expect(fleetNameProblem('9_x')).toBeUndefined();
  });
});

describe('fleet profile URIs (protocol §12)', () => {
  const base = `otpauth://totp/acme:alice?secret=${encodeSecret(S20)}&method=time`;

  it('round-trips fleet and servers, with and without hosts', () => {
    const p = parseOtpauthUri(`${base}&fleet=acme&servers=web-1,web-2@192.0.2.12,db-1@%5B2001%3Adb8%3A%3A1%5D&port=22`);
    expect(p.fleet).toEqual({
      name: 'acme',
      servers: [{ name: 'web-1' }, { name: 'web-2', host: '192.0.2.12' }, { name: 'db-1', host: '[2001:db8::1]' }],
    });
    expect(parseOtpauthUri(formatOtpauthUri(p))).toEqual(p);
  });

  it.each([
    ['&servers=web-1', 'servers', /without fleet/],
    ['&fleet=Acme&servers=web-1', 'fleet', /starts with "A"/],
    ['&fleet=acme', 'servers', /missing or empty/],
    ['&fleet=acme&servers=web-1,web-1', 'servers', /item 2: server web-1 is listed twice/],
    ['&fleet=acme&servers=web-1@bad host', 'servers', /item 1: not a host name/],
    ['&fleet=acme&servers=web-1,', 'servers', /item 2: not a server name: it is empty/],
  ])('refuses %s at parameter %s', (extra, param, message) => {
    const e = thrownOtpknockError(() => parseOtpauthUri(base + extra));
    expect(e.where).toBe(`otpauth URI parameter "${param}"`);
    expect(e.what).toMatch(message);
  });
});
