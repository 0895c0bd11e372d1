import { describe, expect, it } from 'vitest';
import { parseForward, serviceScopeText } from './forward.js';

describe('parseForward', () => {
  it.each([
    ['dnat', { kind: 'dnat' }],
    ['198.51.100.10', { kind: 'routed', destination: '198.51.100.10', family: 4 }],
    ['198.51.100.0/24', { kind: 'routed', destination: '198.51.100.0/24', family: 4 }],
    ['203.0.113.7/32', { kind: 'routed', destination: '203.0.113.7/32', family: 4 }],
    ['2001:db8:2::10', { kind: 'routed', destination: '2001:db8:2::10', family: 6 }],
    ['2001:db8:2::/64', { kind: 'routed', destination: '2001:db8:2::/64', family: 6 }],
    ['2001:db8::/32', { kind: 'routed', destination: '2001:db8::/32', family: 6 }],
  ])('reads %s', (text, scope) => {
    expect(parseForward(text)).toEqual(scope);
  });

  it.each([
    [true, 'expected dnat or an address, got true'],
    [8080, 'expected dnat or an address, got number'],
    ['DNAT', '"DNAT" is neither dnat nor an address or prefix'],
    ['backend.lan', '"backend.lan" is neither dnat nor an address or prefix'],
    ['198.51.100.0/24/8', 'it has more than one "/"'],
    ['198.51.100.0/0', 'the prefix length must be a number from 1 to 32'],
    ['198.51.100.0/33', 'the prefix length must be a number from 1 to 32'],
    ['2001:db8::/129', 'the prefix length must be a number from 1 to 128'],
    ['198.51.100.7/24', 'has host bits set beyond /24; write the network, 198.51.100.0/24'],
    ['2001:db8:2::1/64', 'has host bits set beyond /64; write the network, 2001:db8:2::/64'],
    ['127.0.0.1', 'is loopback (127.0.0.0/8)'],
    ['0.0.0.0', '"this network" (0.0.0.0/8)'],
    ['169.254.1.1', 'link-local (169.254.0.0/16)'],
    ['224.0.0.1', 'multicast or reserved (224.0.0.0/3)'],
    ['255.255.255.255', 'multicast or reserved (224.0.0.0/3)'],
    ['::1', 'the unspecified or loopback address'],
    ['fe80::1', 'link-local (fe80::/10)'],
    ['ff02::1', 'multicast (ff00::/8)'],
  ])('refuses %s, saying why', (value, message) => {
    const r = parseForward(value);
    expect('problem' in r && r.problem).toContain(message);
  });

  it('says how a service is reached', () => {
    expect(serviceScopeText(undefined)).toBe('local');
    expect(serviceScopeText({ kind: 'dnat' })).toBe('forwarded (DNAT)');
    expect(serviceScopeText({ kind: 'routed', destination: '198.51.100.0/24', family: 4 })).toBe(
      'forwarded to 198.51.100.0/24',
    );
  });
});
