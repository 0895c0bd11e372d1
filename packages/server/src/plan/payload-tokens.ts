// Required knock payloads, matched by the kernel (docs/protocol.md §11).
//
// Shapes (`any`, `dns`, `ntp`) are a few rules at the top of knockN that drop
// a datagram whose UDP length or header bytes do not fit: such a datagram is
// ignored (no progress change, not a bad knock). The per-window token
// (`token`) is part of the `step` map key: `meta mark . udp dport . @th,BIT,W`,
// so a step only advances when the datagram carries the token of the very
// user and window whose sequence it continues. A datagram too short to hold
// it misses the lookup like a wrong port.
import { derivePayloadToken, parsePayloadSpec, tokenPlacement, tokenWireBytes } from '@otpknock/shared';
import type { ServerConfig } from '../config/types.js';
import type { KnockEntry } from './entries.js';

/** Bytes of the token the kernel compares: its first 4 (raw) or their 8 hex digits (dns). */
const MATCHED_TOKEN_BYTES = 4;

const UDP_HEADER_BITS = 64;

/** Shape checks per requirement, as nft rule bodies (each drops a misfit). */
function shapeChecks(kind: string): string[] {
  switch (kind) {
    case 'any':
      return ['udp length 8'];
    case 'dns':
      // header + a label of at least one byte + root + QTYPE/QCLASS; QR 0, opcode 0; one question, no answers or authority
      return ['udp length < 25', '@th,80,16 & 0xf800 != 0x0', '@th,96,16 != 0x1', '@th,112,32 != 0x0'];
    case 'ntp':
      // exactly 48 bytes, mode 3 (client)
      return ['udp length != 56', '@th,64,8 & 0x7 != 0x3'];
    default:
      return [];
  }
}

/** Rules at the top of knockN that drop datagrams without the required shape. */
export function payloadShapeRules(config: ServerConfig): string {
  const p = config.payload;
  if (p === undefined) return '';
  const kind = p.require === 'token' ? parsePayloadSpec(p.shape).kind : p.require;
  return shapeChecks(kind)
    .map((c) => `\t\t${c} counter name payload_refused drop\n`)
    .join('');
}

/** Where the kernel finds the token: the raw payload expression, and the value width. */
export function tokenExpr(config: ServerConfig): { expr: string; bytes: number } | undefined {
  const p = config.payload;
  if (p?.require !== 'token') return undefined;
  const spec = parsePayloadSpec(p.shape);
  const at = tokenPlacement(spec);
  const bytes = at.encoding === 'hex' ? 2 * MATCHED_TOKEN_BYTES : MATCHED_TOKEN_BYTES;
  return { expr: `@th,${UDP_HEADER_BITS + 8 * at.offset},${8 * bytes}`, bytes };
}

/** How many payload bytes a datagram needs to hold the part of the token the kernel compares, for payload `shape`. */
export function tokenEndByte(shape: string): number {
  const at = tokenPlacement(parsePayloadSpec(shape));
  return at.offset + (at.encoding === 'hex' ? 2 * MATCHED_TOKEN_BYTES : MATCHED_TOKEN_BYTES);
}

/** The `step` map key (typeof and per-packet expression). */
export function stepKeyExpr(config: ServerConfig): string {
  const t = tokenExpr(config);
  return t === undefined ? 'meta mark . udp dport' : `meta mark . udp dport . ${t.expr}`;
}

/** The token bytes of a datagram as the kernel reads them, as an nft hex value. */
export function kernelTokenValue(config: ServerConfig, token: Uint8Array): string {
  const spec = parsePayloadSpec(config.payload?.shape ?? 'none');
  const wire = tokenWireBytes(spec, token.subarray(0, MATCHED_TOKEN_BYTES));
  return `0x${Buffer.from(wire).toString('hex')}`;
}

/**
 * Gives each entry the token the kernel must see with it, when the config
 * requires one: derived from the secret the entry's sequence came from (the
 * user's, or a grace secret's) and the entry's window.
 */
export function attachTokens(config: ServerConfig, entries: KnockEntry[]): KnockEntry[] {
  if (config.payload?.require !== 'token') return entries;
  const users = new Map(config.users.map((u) => [u.name, u]));
  const cache = new Map<string, string>();
  return entries.map((e) => {
    const user = users.get(e.user);
    if (user === undefined || user.profile.tokenBytes === 0) return e; // refused by the config check
    const grace = /\/grace(\d+)$/.exec(e.key);
    const secret = grace ? (user.graceSecrets?.[Number(grace[1])]?.secret ?? user.secret) : user.secret;
    const id = `${e.user}/${grace?.[1] ?? ''}/${e.window}`;
    let token = cache.get(id);
    if (token === undefined) {
      token = kernelTokenValue(config, derivePayloadToken(secret, e.window, user.profile.tokenBytes));
      cache.set(id, token);
    }
    return { ...e, token };
  });
}
