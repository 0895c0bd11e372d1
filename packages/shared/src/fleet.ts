// Fleet keys (docs/protocol.md §12): one person's secret, many servers. Each server
// holds only the key derived for it from the person's secret and its own name, so a
// key taken from one server opens no other; the client derives the same key for the
// server it knocks. Pure: HMAC-SHA-256 from node:crypto, nothing else.
import { createHmac } from 'node:crypto';
import { OtpknockError, quote } from './errors.js';
import type { SecretBytes } from './types.js';

/** The ASCII label in front of the names: domain separation from every other use of the secret. */
export const FLEET_KEY_LABEL = 'otpknock-fleet-v1';
/** Length of a derived server key: a full HMAC-SHA-256 output (256 bits, within §1's 16–64 bytes). */
export const FLEET_KEY_BYTES = 32;
/** Longest fleet or server name: one DNS label's worth, and one length byte in the KDF's message. */
export const FLEET_NAME_MAX = 63;
export const FLEET_NAME_RULE = `1 to ${FLEET_NAME_MAX} characters from a-z, 0-9, _, . and -, starting with a letter or a digit`;

/**
 * A fleet's or a server's name: the KDF hashes its bytes, the directory uses it as a
 * path segment in etcd, and a person types it (`knock web-3`). Lower case only, so
 * that `Web-3` and `web-3` cannot be two servers with different keys.
 */
export function fleetNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'expected a name';
  if (name === '') return 'is empty';
  if (name.length > FLEET_NAME_MAX) return `is ${name.length} characters long; at most ${FLEET_NAME_MAX} are allowed`;
  if (!/^[a-z0-9]/.test(name)) return `starts with ${quote(name[0]!)}`;
  const bad = /[^a-z0-9_.-]/.exec(name);
  return bad === null ? undefined : `contains ${quote(bad[0])}`;
}

/** Throws an OtpknockError naming `where` when `name` is not a fleet or server name. */
export function checkFleetName(name: string, where: string, what = 'a server name'): string {
  const problem = fleetNameProblem(name);
  if (problem === undefined) return name;
  throw new OtpknockError('E_ARGUMENT', `${quote(name)} is not ${what}: it ${problem}`, {
    where,
    hint: `Use ${FLEET_NAME_RULE}`,
  });
}

/**
 * The key of one person on one server of a fleet:
 * K_S = HMAC-SHA256(K, "otpknock-fleet-v1" ‖ u8(len F) ‖ F ‖ u8(len S) ‖ S), 32 bytes.
 * It is that server's secret for the person in every other section of the protocol.
 */
export function deriveFleetKey(personSecret: SecretBytes, fleet: string, server: string): SecretBytes {
  checkFleetName(fleet, 'fleet', 'a fleet name');
  checkFleetName(server, 'server');
  const f = Buffer.from(fleet, 'ascii');
  const s = Buffer.from(server, 'ascii');
  const msg = Buffer.concat([Buffer.from(FLEET_KEY_LABEL, 'ascii'), Buffer.of(f.length), f, Buffer.of(s.length), s]);
  return new Uint8Array(createHmac('sha256', personSecret).update(msg).digest());
}
