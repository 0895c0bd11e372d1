import { describe, expect, it } from 'vitest';
import { serverConfig } from '@otpknock/server/testing';
import type { KnockEntry } from '../plan/entries.js';
import { FORWARD_PREFIX, OPEN_PREFIX, REPLAY_PREFIX } from '../audit/nflog.js';
import { auditEventOf } from './attach.js';

const config = serverConfig({
  services: [
    { name: 'ssh', port: 22, openForMs: 30_000 },
    { name: 'api', port: 443, openForMs: 30_000 },
  ],
});
const entry: KnockEntry = {
  key: 'alice/7/open',
  user: 'alice',
  window: 7,
  action: 'open',
  ports: [1, 2, 3],
  serviceMask: 0b10,
  oneTime: true,
  source: 'grace',
};
const packet = (prefix: string) => ({
  family: 4 as const,
  mark: 1,
  saddr: '192.0.2.2',
  prefix,
  receivedMs: Date.UTC(2026, 11, 4),
});

describe('auditEventOf', () => {
  it('names the user, window, services and source of an open, and the replay of a used one; ignores other prefixes', () => {
    expect(auditEventOf(packet(OPEN_PREFIX), entry, config)).toEqual({
      time: '2026-12-04T00:00:00.000Z',
      event: 'open',
      user: 'alice',
      window: 7,
      services: ['api'],
      address: '192.0.2.2',
      family: 4,
      source: 'grace',
    });
    expect(auditEventOf(packet(REPLAY_PREFIX), entry, config)).toMatchObject({ event: 'replay', user: 'alice' });
    expect(auditEventOf(packet(OPEN_PREFIX), undefined, config)).toEqual({
      time: '2026-12-04T00:00:00.000Z',
      event: 'open',
      services: [],
      address: '192.0.2.2',
      family: 4,
    });
    expect(auditEventOf(packet('something else'), entry, config)).toBeUndefined();
  });

  it('records a forwarded connection with the service and where it went after DNAT (IPv4 and IPv6)', () => {
    const forwarded = { ...packet(`${FORWARD_PREFIX} nas`), mark: 0, daddr: '198.51.100.2', dport: 8080 };
    expect(auditEventOf(forwarded, undefined, config)).toEqual({
      time: '2026-12-04T00:00:00.000Z',
      event: 'forward',
      services: ['nas'],
      address: '192.0.2.2',
      family: 4,
      destination: '198.51.100.2:8080',
    });
    const v6 = { ...forwarded, family: 6 as const, saddr: '2001:db8:1::2', daddr: '2001:db8:2::2' };
    expect(auditEventOf(v6, undefined, config)).toMatchObject({ destination: '[2001:db8:2::2]:8080' });
  });
});
