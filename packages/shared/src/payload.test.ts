import { describe, expect, it } from 'vitest';
import { buildPayload, formatPayloadSpec, parsePayloadSpec, tokenPlacement, tokenWireBytes } from './payload.js';

const zeros = (b: Uint8Array) => b.fill(0);
const token = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 1, 2]);

describe('faux payloads', () => {
  it('parses and formats every setting, refusing bad ones with what to use', () => {
    for (const s of ['none', 'dns', 'ntp', 'random', 'random:7', 'hex:c0ffee', 'text:hello world']) {
      expect(formatPayloadSpec(parsePayloadSpec(s))).toBe(s);
    }
    expect(formatPayloadSpec(parsePayloadSpec('hex:C0:FF:EE'))).toBe('hex:c0ffee');
    expect(formatPayloadSpec(parsePayloadSpec('random:32'))).toBe('random');
    for (const s of ['dnss', 'hex:abc', 'hex:', 'hex:zz', 'random:0', 'random:513', 'text:', '']) {
      expect(() => parsePayloadSpec(s), s).toThrow(/^payload: ".*": .*\. Use none, dns, ntp, random/);
    }
  });

  it('none is empty, or just the token', () => {
    expect(buildPayload(parsePayloadSpec('none'))).toEqual(new Uint8Array(0));
    expect(buildPayload(parsePayloadSpec('none'), token)).toEqual(token);
  });

  it('ntp is a 48-byte NTPv4 client request, the token at offset 32', () => {
    const p = buildPayload(parsePayloadSpec('ntp'), token, zeros);
    expect(p.length).toBe(48);
    expect(p[0]! & 0x07).toBe(3); // mode: client
    expect((p[0]! >> 3) & 0x07).toBe(4); // version 4
    expect(p.subarray(32, 38)).toEqual(token);
    expect(tokenPlacement(parsePayloadSpec('ntp'))).toEqual({ offset: 32, encoding: 'raw' });
  });

  it('dns is a standard query for one name; the token is the first label, in hex', () => {
    const plain = buildPayload(parsePayloadSpec('dns'), undefined, zeros);
    expect([...plain.subarray(2, 12)]).toEqual([1, 0, 0, 1, 0, 0, 0, 0, 0, 0]); // RD, QD 1, AN NS AR 0
    expect(plain.subarray(-4)).toEqual(Uint8Array.from([0, 1, 0, 1])); // A, IN
    const p = buildPayload(parsePayloadSpec('dns'), token, zeros);
    expect(p[12]).toBe(12);
    expect(new TextDecoder().decode(p.subarray(13, 25))).toBe('deadbeef0102');
    expect(new TextDecoder().decode(p.subarray(25, 29))).toBe('\x03com');
    const at = tokenPlacement(parsePayloadSpec('dns'));
    expect(p.subarray(at.offset, at.offset + 12)).toEqual(tokenWireBytes(parsePayloadSpec('dns'), token));
  });

  it('random and custom bytes carry the token at offset 0 / after the custom bytes', () => {
    const r = buildPayload(parsePayloadSpec('random:3'), token, (b) => b.fill(7));
    expect(r).toEqual(token); // never shorter than the token
    expect(buildPayload(parsePayloadSpec('random:8'), undefined, (b) => b.fill(7))).toEqual(new Uint8Array(8).fill(7));
    const c = buildPayload(parsePayloadSpec('text:hi'), token);
    expect([...c]).toEqual([0x68, 0x69, ...token]);
    expect(tokenPlacement(parsePayloadSpec('text:hi'))).toEqual({ offset: 2, encoding: 'raw' });
  });
});
