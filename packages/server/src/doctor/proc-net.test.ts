import { describe, expect, it } from 'vitest';
import { decodeAddress, isLoopback, parseProcNet, tcpListeners, udpListeners } from './proc-net.js';

// Captured from /proc/net/udp{,6} of a namespace with sockets on 0.0.0.0:12345,
// 127.0.0.1:5353, [::]:23456 and [::1]:4444 (x86-64, little-endian).
const UDP4 = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 1332: 00000000:3039 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 125235 2 000000004e1dd1a7 0
10724: 0100007F:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 125237 2 00000000af0886c7 0
  412: 0101A8C0:A1B2 0202A8C0:0035 01 00000000:00000000 00:00000000 00000000  1000        0 125239 2 00000000af0886c8 0
`;
const UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 9815: 00000000000000000000000001000000:115C 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 125238 2 00000000ca8d39b5 0
12443: 00000000000000000000000000000000:5BA0 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 125236 2 000000008b5678a5 0
 5000: B80D0120000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 125240 2 00000000ca8d39b6 0
`;

describe('parseProcNet', () => {
  it('reads IPv4 sockets: address, port, state, uid, inode', () => {
    const s = parseProcNet(UDP4, 'udp', 4);
    expect(s).toEqual([
      { proto: 'udp', family: 4, address: '0.0.0.0', port: 12345, state: 7, uid: 0, inode: 125235 },
      { proto: 'udp', family: 4, address: '127.0.0.1', port: 5353, state: 7, uid: 0, inode: 125237 },
      { proto: 'udp', family: 4, address: '192.168.1.1', port: 0xa1b2, state: 1, uid: 1000, inode: 125239 },
    ]);
  });

  it('reads IPv6 sockets, compressing zero runs', () => {
    const s = parseProcNet(UDP6, 'udp', 6);
    expect(s.map((x) => `${x.address}|${x.port}|${x.state}`)).toEqual([
      '::1|4444|7',
      '::|23456|7',
      '2001:db8::1|22|10',
    ]);
  });

  it('skips the header, blank and malformed lines', () => {
    expect(parseProcNet('header\n\n  1: nonsense\n', 'udp', 4)).toEqual([]);
    expect(parseProcNet('', 'tcp', 4)).toEqual([]);
  });

  it('tells bound UDP and listening TCP from connected sockets', () => {
    const all = [...parseProcNet(UDP4, 'udp', 4), ...parseProcNet(UDP6, 'tcp', 6)];
    expect(udpListeners(all).map((s) => s.port)).toEqual([12345, 5353]);
    expect(tcpListeners(all).map((s) => s.port)).toEqual([22]);
  });
});

describe('decodeAddress', () => {
  it('decodes both byte orders', () => {
    expect(decodeAddress('0100007F')).toBe('127.0.0.1');
    expect(decodeAddress('7F000001', false)).toBe('127.0.0.1');
    expect(decodeAddress('00000000000000000000000000000000')).toBe('::');
  });
  it('refuses what is not an address', () => {
    expect(() => decodeAddress('123')).toThrow(/not a \/proc\/net address/);
  });
  it('knows loopback', () => {
    expect(isLoopback('127.0.0.53')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
  });
});
