// The adversarial suite's readings of nft listings: pure parsing, no namespace.
import { describe, expect, it } from 'vitest';
import { elementKey, parseDynamicSets } from './support/attacker.js';

describe('elementKey', () => {
  // Shapes as `nft -j list` 1.0.6 prints them.
  it('keeps the key of a set element, without its timeout and expiry', () => {
    expect(elementKey({ elem: { val: '2001:db8::1', timeout: 60, expires: 59 } })).toBe('2001:db8::1');
    expect(elementKey({ elem: { val: '2001:db8::1', timeout: 60, expires: 12 } })).toBe('2001:db8::1');
    expect(elementKey('192.0.2.1')).toBe('192.0.2.1');
  });

  it("drops a map element's value, so the same key with another value counts once", () => {
    const a = elementKey([{ elem: { val: '2001:db8::1', timeout: 60, expires: 59 } }, 5]);
    const b = elementKey([{ elem: { val: '2001:db8::1', timeout: 1, expires: 0 } }, 7]);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(elementKey(['2001:db8::2', 5])).toBe('2001:db8::2');
  });

  it('tells concatenated keys apart by every part', () => {
    const k = (port: number) =>
      JSON.stringify(elementKey([{ elem: { val: { concat: ['192.0.2.1', port] }, timeout: 9 } }, 1]));
    expect(k(22)).not.toBe(k(23));
  });
});

describe('parseDynamicSets', () => {
  it('finds the dynamic sets and maps of a rendered table with their sizes, and only those', () => {
    const script = [
      'table inet otpknock {',
      '\tset progress4 {',
      '\t\ttype ipv4_addr',
      '\t\tflags dynamic,timeout',
      '\t\tsize 524288',
      '\t}',
      '\tset knock_ports {',
      '\t\ttype inet_service',
      '\t\tsize 65536',
      '\t}',
      '\tmap used {',
      '\t\ttype mark : mark',
      '\t\tflags dynamic',
      '\t}',
      '}',
    ].join('\n');
    expect(parseDynamicSets(script)).toEqual([
      { kind: 'set', name: 'progress4', size: 524288 },
      { kind: 'map', name: 'used', size: Number.POSITIVE_INFINITY },
    ]);
  });
});
