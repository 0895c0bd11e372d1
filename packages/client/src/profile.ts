// The client's profile: everything needed to knock one server. Pure data and checks;
// reading and writing the store lives in store.ts.
import { OtpknockError, decodeSecret, formatPayloadSpec, normalizeProfile, parsePayloadSpec, type KnockProfile, type KnockProfileInput } from '@otpknock/shared';
import { usageError } from './errors.js';

/**
 * Faux payload carried by each knock packet, as text: `none`, `dns`, `ntp`,
 * `random[:N]`, `hex:BYTES` or `text:TEXT` (docs/protocol.md §11).
 */
export type PayloadSetting = string;
/** The canned shapes, for help texts. */
export const PAYLOAD_SETTINGS: readonly string[] = ['none', 'dns', 'ntp', 'random', 'random:N', 'hex:BYTES', 'text:TEXT'];

/** Checks a payload setting and returns it in its canonical form; a usage error naming `what` otherwise. */
export function checkPayload(value: unknown, what: string): PayloadSetting {
  if (typeof value !== 'string') throw usageError(`${what}: expected a payload such as none or dns`);
  try {
    return formatPayloadSpec(parsePayloadSpec(value));
  } catch (e) {
    if (e instanceof OtpknockError) throw usageError(`${what}: ${e.what}`, e.hint);
    throw e;
  }
}

/** One server to knock, as stored (JSON) in the profile store. */
export interface ClientProfile {
  /** What you type: `knock NAME`. Usually the ssh alias or the host name. */
  name: string;
  /** Where to send the knock; when absent, NAME itself (a DNS name or an address). */
  address?: string;
  /** The protected TCP service to wait for. Default 22. */
  servicePort: number;
  /** Method and parameters, as the server has them (normalised, defaults filled in). */
  knock: KnockProfile;
  /** The shared secret, base32. Never printed by `knock list`. */
  secret: string;
  /** Milliseconds between knock packets. Default 5. */
  delayMs: number;
  /** Faux payload per knock packet. */
  payload: PayloadSetting;
  /** Labels from an imported otpauth:// URI, informational only. */
  issuer?: string;
  account?: string;
  /** ISO 8601 times. */
  addedAt: string;
  updatedAt: string;
}

/** The store file: `{ "version": 1, "profiles": { NAME: ClientProfile } }`. */
export interface StoreData {
  version: 1;
  profiles: Record<string, ClientProfile>;
}

export const DEFAULT_SERVICE_PORT = 22;
export const DEFAULT_DELAY_MS = 5;
export const MAX_DELAY_MS = 500;

/** Parses the store's JSON text. Profiles are checked one by one when used (checkProfile). */
export function parseStore(text: string, file: string): StoreData {
  if (text.trim() === '') return { version: 1, profiles: {} };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw usageError(`${file}: not valid JSON (${(error as Error).message})`, 'Fix the file by hand or move it away and add the profiles again.');
  }
  if (!isObject(data)) throw usageError(`${file}: expected a JSON object with a "profiles" field`);
  const profiles = data['profiles'] ?? {};
  if (!isObject(profiles)) throw usageError(`${file}: "profiles" must be an object mapping names to profiles`);
  const out: Record<string, ClientProfile> = {};
  for (const [name, value] of Object.entries(profiles)) {
    if (!isObject(value)) throw usageError(`${file}: profiles.${name}: expected an object`);
    out[name] = { ...(value as unknown as ClientProfile), name };
  }
  return { version: 1, profiles: out };
}

/**
 * Checks a stored profile fully before it is used: the knock parameters through
 * `normalizeProfile`, the secret through `decodeSecret`, and the client's own fields.
 * Returns the profile with the knock parameters normalised.
 */
export function checkProfile(profile: ClientProfile, file: string): ClientProfile {
  const where = `${file}: profiles.${profile.name}`;
  if (profile.address !== undefined && (typeof profile.address !== 'string' || profile.address === '')) {
    throw usageError(`${where}.address: expected a host name or an IP address`);
  }
  const servicePort = checkPort(profile.servicePort ?? DEFAULT_SERVICE_PORT, `${where}.servicePort`);
  const delayMs = checkDelay(profile.delayMs ?? DEFAULT_DELAY_MS, `${where}.delayMs`);
  const payload = checkPayload(profile.payload ?? 'none', `${where}.payload`);
  if (typeof profile.secret !== 'string') throw usageError(`${where}.secret: missing`, 'Add the profile again with --secret-file or import its URI.');
  decodeSecret(profile.secret, `${where}.secret`);
  if (!isObject(profile.knock)) throw usageError(`${where}.knock: missing the knock method and parameters`);
  const knock = normalizeProfile(profile.knock as KnockProfileInput, `${where}.knock`);
  return { ...profile, servicePort, delayMs, payload, knock };
}

export function checkPort(value: unknown, what: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw usageError(`${what}: "${String(value)}" is not a port number`, 'Use a whole number from 1 to 65535.');
  }
  return n;
}

export function checkDelay(value: unknown, what: string): number {
  const n = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > MAX_DELAY_MS) {
    throw usageError(`${what}: "${String(value)}" is not a delay`, `Use milliseconds from 0 to ${MAX_DELAY_MS}.`);
  }
  return n;
}

/** Profile names: what a person types and what ssh passes as %h. */
export function checkProfileName(name: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._:%@\-[\]]*$/.test(name) || name.length > 253) {
    throw usageError(`"${name}" is not a usable profile name`, 'Use a host name, an IP address or an ssh alias (letters, digits, . _ - : @).');
  }
  return name;
}

/** The profile as `knock list` shows it: everything but the secret. */
export function publicView(profile: ClientProfile): Omit<ClientProfile, 'secret'> {
  const { secret: _secret, ...rest } = profile;
  return rest;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
