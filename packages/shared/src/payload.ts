// Faux payloads: what each knock datagram carries, so a knock looks like
// ordinary traffic (a DNS query, an NTP request) and, optionally, carries the
// per-window payload token (§6 of docs/protocol.md) at a fixed offset, where
// the server's kernel rules can match it. Pure: randomness comes in as a
// function. Layouts are specified in docs/protocol.md §11.
import { OtpknockError, quote } from './errors.js';

export const PAYLOAD_SHAPES = ['none', 'dns', 'ntp', 'random'] as const;
export type PayloadShape = (typeof PAYLOAD_SHAPES)[number];

/** A parsed payload setting. */
export type PayloadSpec =
  | { kind: 'none' | 'dns' | 'ntp' }
  | { kind: 'random'; length: number }
  | { kind: 'bytes'; bytes: Uint8Array; source: 'hex' | 'text' };

export const MAX_PAYLOAD_BYTES = 512;
export const DEFAULT_RANDOM_BYTES = 32;

/** Where a shape carries the token: byte offset in the UDP payload, and how it is written. */
export interface TokenPlacement {
  offset: number;
  encoding: 'raw' | 'hex';
}

const bad = (text: string, why: string) =>
  new OtpknockError('E_ARGUMENT', `${quote(text, 40)}: ${why}`, {
    where: 'payload',
    hint: 'Use none, dns, ntp, random, random:N (1-512 bytes), hex:BYTES (e.g. hex:c0ffee) or text:TEXT',
  });

/** Parses `none`, `dns`, `ntp`, `random`, `random:N`, `hex:…` or `text:…`. */
export function parsePayloadSpec(text: string): PayloadSpec {
  if (text === 'none' || text === 'dns' || text === 'ntp') return { kind: text };
  if (text === 'random') return { kind: 'random', length: DEFAULT_RANDOM_BYTES };
  const colon = text.indexOf(':');
  const head = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  switch (head) {
    case 'random': {
      const n = /^\d+$/.test(rest) ? Number(rest) : NaN;
      if (!(n >= 1 && n <= MAX_PAYLOAD_BYTES))
        throw bad(text, `random needs a length from 1 to ${MAX_PAYLOAD_BYTES} bytes`);
      return { kind: 'random', length: n };
    }
    case 'hex': {
      const hex = rest.replace(/[\s:]/g, '');
      if (hex === '' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex))
        throw bad(text, 'hex needs an even number of hex digits');
      const bytes = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
      if (bytes.length > MAX_PAYLOAD_BYTES) throw bad(text, `at most ${MAX_PAYLOAD_BYTES} bytes`);
      return { kind: 'bytes', bytes, source: 'hex' };
    }
    case 'text': {
      const bytes = new TextEncoder().encode(rest);
      if (bytes.length === 0 || bytes.length > MAX_PAYLOAD_BYTES)
        throw bad(text, `text needs 1 to ${MAX_PAYLOAD_BYTES} bytes`);
      return { kind: 'bytes', bytes, source: 'text' };
    }
    default:
      throw bad(text, 'unknown payload');
  }
}

/** The setting back as text (what `knock print` shows and profiles store). */
export function formatPayloadSpec(spec: PayloadSpec): string {
  switch (spec.kind) {
    case 'random':
      return spec.length === DEFAULT_RANDOM_BYTES ? 'random' : `random:${spec.length}`;
    case 'bytes':
      return spec.source === 'text' ? `text:${new TextDecoder().decode(spec.bytes)}` : `hex:${toHex(spec.bytes)}`;
    default:
      return spec.kind;
  }
}

/** Where the token goes in a payload of this spec (docs/protocol.md §11). */
export function tokenPlacement(spec: PayloadSpec): TokenPlacement {
  switch (spec.kind) {
    case 'none':
    case 'random':
      return { offset: 0, encoding: 'raw' };
    case 'dns':
      return { offset: DNS_HEADER_BYTES + 1, encoding: 'hex' }; // the first QNAME label, after its length byte
    case 'ntp':
      return { offset: 32, encoding: 'raw' }; // receive and transmit timestamps, which a client fills freely
    case 'bytes':
      return { offset: spec.bytes.length, encoding: 'raw' };
  }
}

/**
 * The bytes of the token as they appear in the payload, at `tokenPlacement`:
 * the token itself, or its lower-case hex text for `dns`.
 */
export function tokenWireBytes(spec: PayloadSpec, token: Uint8Array): Uint8Array {
  return tokenPlacement(spec).encoding === 'hex' ? new TextEncoder().encode(toHex(token)) : token;
}

export type RandomFill = (bytes: Uint8Array) => Uint8Array;
const cryptoFill: RandomFill = (bytes) => globalThis.crypto.getRandomValues(bytes);

const DNS_HEADER_BYTES = 12;
const NTP_BYTES = 48;

/** One knock datagram's payload for a spec, with the token (when given) at its place. */
export function buildPayload(spec: PayloadSpec, token?: Uint8Array, random: RandomFill = cryptoFill): Uint8Array {
  switch (spec.kind) {
    case 'none':
      return token ? token.slice() : new Uint8Array(0);
    case 'random': {
      const out = random(new Uint8Array(Math.max(spec.length, token?.length ?? 0)));
      if (token) out.set(token, 0);
      return out;
    }
    case 'bytes': {
      const out = new Uint8Array(spec.bytes.length + (token?.length ?? 0));
      out.set(spec.bytes);
      if (token) out.set(token, spec.bytes.length);
      return out;
    }
    case 'ntp': {
      // NTPv4 client request (RFC 5905): LI 0, VN 4, mode 3; poll 6, precision -20;
      // the transmit timestamp random, as privacy-minded clients send it.
      const out = new Uint8Array(NTP_BYTES);
      out[0] = 0x23;
      out[2] = 6;
      out[3] = 0xec;
      out.set(random(new Uint8Array(8)), 40);
      if (token) out.set(token.subarray(0, 16), 32);
      return out;
    }
    case 'dns':
      return dnsQuery(token, random);
  }
}

/** A recursive A query for `<label>.com`: the label is the token in hex, or random letters. */
function dnsQuery(token: Uint8Array | undefined, random: RandomFill): Uint8Array {
  const r = random(new Uint8Array(16));
  let label: Uint8Array;
  if (token) label = new TextEncoder().encode(toHex(token));
  else {
    const n = 6 + (r[2]! % 7);
    label = Uint8Array.from({ length: n }, (_, i) => 0x61 + (r[3 + i]! % 26));
  }
  const out = new Uint8Array(DNS_HEADER_BYTES + 1 + label.length + 5 + 4);
  out[0] = r[0]!; // id
  out[1] = r[1]!;
  out[2] = 0x01; // flags: RD
  out[5] = 1; // QDCOUNT 1; AN, NS, AR 0
  let at = DNS_HEADER_BYTES;
  out[at++] = label.length;
  out.set(label, at);
  at += label.length;
  out.set([3, 0x63, 0x6f, 0x6d, 0], at); // "com", root
  at += 5;
  out.set([0, 1, 0, 1], at); // QTYPE A, QCLASS IN
  return out;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
