// The client's profile: everything needed to knock one server. Pure data and checks;
// reading and writing the store lives in store.ts.
import {
  OtpknockError,
  checkHost,
  deriveFleetKey,
  encodeSecret,
  fleetNameProblem,
  type FleetServers,
  checkProfile as checkKnock,
  checkProfileName as checkName,
  decodeSecret,
  formatPayloadSpec,
  hostProblem,
  parsePayloadSpec,
  profileIssueError,
  profileNameProblem,
  quote,
  type KnockProfile,
} from '@otpknock/shared';
import { usageError } from './errors.js';

/**
 * Faux payload carried by each knock packet, as text: `none`, `dns`, `ntp`,
 * `random[:N]`, `hex:BYTES` or `text:TEXT` (docs/protocol.md §11).
 */
export type PayloadSetting = string;
/** The canned shapes, for help texts. */
export const PAYLOAD_SETTINGS: readonly string[] = [
  'none',
  'dns',
  'ntp',
  'random',
  'random:N',
  'hex:BYTES',
  'text:TEXT',
];

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
  /** A fleet profile (docs/protocol.md §12): `secret` is the person's K, knocked as its servers. */
  fleet?: FleetServers;
  /** Set on the virtual profile of one server of a fleet profile (fleet.ts), never stored. */
  fleetServer?: FleetServerOf;
}

/** Which fleet profile and server a virtual server profile stands for. */
export interface FleetServerOf {
  /** The stored fleet profile's name (where its secret and problems are). */
  profile: string;
  fleet: string;
  server: string;
}

/** The store file: `{ "version": 1, "profiles": { NAME: ClientProfile } }`. */
export interface StoreData {
  version: 1;
  profiles: Record<string, ClientProfile>;
}

export const DEFAULT_SERVICE_PORT = 22;
export const DEFAULT_DELAY_MS = 5;
export const MAX_DELAY_MS = 500;

/** The store format this knock reads and writes. */
export const STORE_VERSION = 1;

/**
 * A store without profiles. The profiles map has no prototype: "constructor",
 * "toString" and "__proto__" are valid profile (and host) names, not inherited members.
 */
export function emptyStore(): StoreData {
  return { version: STORE_VERSION, profiles: Object.create(null) as Record<string, ClientProfile> };
}

/**
 * Parses the store's JSON text. Profiles are checked one by one when used (checkProfile).
 * A store of another version is refused: reading a newer one and writing it back as
 * version 1 would drop whatever the newer knock put in it.
 */
export function parseStore(text: string, file: string): StoreData {
  if (text.trim() === '') return emptyStore();
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    // V8 quotes the text around the error ('Unexpected token 'J', ..."secret":JBSW"...'):
    // the store holds secrets, so only the words before the quote are kept.
    const why = (error as Error).message.split(/[,'"]/)[0]!.trim();
    throw usageError(
      `${file}: not valid JSON (${why})`,
      'Fix the file by hand or move it away and add the profiles again.',
    );
  }
  if (!isObject(data)) throw usageError(`${file}: expected a JSON object with a "profiles" field`);
  const version = data['version'];
  if (version !== undefined && version !== STORE_VERSION) {
    const shown =
      typeof version === 'number'
        ? String(version)
        : typeof version === 'string'
          ? quote(version)
          : `a ${Array.isArray(version) ? 'list' : typeof version}`;
    throw usageError(
      `${file}: the profile store is version ${shown}; this knock reads only version ${STORE_VERSION} and changed nothing`,
      typeof version === 'number' && version > STORE_VERSION
        ? 'It was written by a newer knock: use that knock, or move the file away and add the profiles again.'
        : 'Fix "version" by hand, or move the file away and add the profiles again.',
    );
  }
  const profiles = data['profiles'] ?? {};
  if (!isObject(profiles)) throw usageError(`${file}: "profiles" must be an object mapping names to profiles`);
  const out = emptyStore().profiles;
  for (const [name, value] of Object.entries(profiles)) {
    if (!isObject(value)) throw usageError(`${file}: profiles.${shownName(name)}: expected an object`);
    out[name] = { ...(value as unknown as ClientProfile), name };
  }
  return { version: 1, profiles: out };
}

/**
 * Checks a stored profile fully before it is used: the knock parameters by the
 * profile schema of @otpknock/shared (its first issue located in the store,
 * `FILE: profiles.NAME.knock.FIELD`), the secret through `decodeSecret`, and the
 * client's own fields. Returns the profile with the knock parameters normalised.
 */
export function checkProfile(profile: ClientProfile, file: string): ClientProfile {
  const nameProblem = profileNameProblem(profile.name);
  if (nameProblem !== undefined)
    throw usageError(
      `${file}: profiles: ${shownName(profile.name)} is not a profile name: it ${nameProblem}`,
      'Remove it with knock remove, or fix the file by hand.',
    );
  // A fleet server's problems are its fleet profile's, where the person can fix them.
  const where = `${file}: profiles.${profile.fleetServer?.profile ?? profile.name}`;
  if (profile.fleet !== undefined) checkFleetField(profile.fleet, `${where}.fleet`);
  const target = profile.address ?? profile.name;
  const addressProblem = hostProblem(target);
  if (addressProblem !== undefined) {
    throw usageError(
      profile.address === undefined
        ? `${where}: the profile has no address, and its name is not a host name or address: it ${addressProblem}`
        : `${where}.address: not a host name or address: it ${addressProblem}`,
      'Add the profile again with --address HOST.',
    );
  }
  const servicePort = checkPort(profile.servicePort ?? DEFAULT_SERVICE_PORT, `${where}.servicePort`);
  const delayMs = checkDelay(profile.delayMs ?? DEFAULT_DELAY_MS, `${where}.delayMs`);
  const payload = checkPayload(profile.payload ?? 'none', `${where}.payload`);
  if (typeof profile.secret !== 'string')
    throw usageError(`${where}.secret: missing`, 'Add the profile again with --secret-file or import its URI.');
  const secret = decodeSecret(profile.secret, `${where}.secret`);
  if (!isObject(profile.knock)) throw usageError(`${where}.knock: missing the knock method and parameters`);
  const knock = checkKnock(profile.knock);
  if (knock.profile === undefined) throw profileIssueError(knock.issues[0]!, `${where}.knock`);
  const of = profile.fleetServer;
  // A server of a fleet knocks with its own key K_S, never with the person's K (§12).
  const own = of === undefined ? {} : { secret: encodeSecret(deriveFleetKey(secret, of.fleet, of.server)) };
  return { ...profile, servicePort, delayMs, payload, knock: knock.profile, ...own };
}

/** Checks a stored fleet profile's `fleet` field: a fleet name and at least one server. */
export function checkFleetField(fleet: unknown, where: string): FleetServers {
  if (!isObject(fleet)) throw usageError(`${where}: expected { name, servers }`, 'Import the fleet URI again.');
  const nameProblem = fleetNameProblem(fleet['name']);
  if (nameProblem !== undefined) throw usageError(`${where}.name: not a fleet name: it ${nameProblem}`);
  const servers = fleet['servers'];
  if (!Array.isArray(servers) || servers.length === 0)
    throw usageError(`${where}.servers: expected a list of servers`, 'Import the fleet URI again.');
  servers.forEach((s: unknown, i) => {
    const server = isObject(s) ? s : {};
    const p = fleetNameProblem(server['name']);
    if (p !== undefined) throw usageError(`${where}.servers[${i}].name: not a server name: it ${p}`);
    const h = server['host'] === undefined ? undefined : hostProblem(server['host']);
    if (h !== undefined) throw usageError(`${where}.servers[${i}].host: not a host name or address: it ${h}`);
  });
  return fleet as unknown as FleetServers;
}

export function checkPort(value: unknown, what: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw usageError(`${what}: ${shownValue(value)} is not a port number`, 'Use a whole number from 1 to 65535.');
  }
  return n;
}

export function checkDelay(value: unknown, what: string): number {
  const n = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > MAX_DELAY_MS) {
    throw usageError(`${what}: ${shownValue(value)} is not a delay`, `Use milliseconds from 0 to ${MAX_DELAY_MS}.`);
  }
  return n;
}

/** A profile name as typed (`knock add NAME`, `import --name NAME`): the rule of @otpknock/shared. */
export function checkProfileName(name: string, where = 'HOST'): string {
  return rethrowAsUsage(() => checkName(name, where));
}

/**
 * Where a profile sends its knock: `--address`, or the name itself when there is none
 * (findProfile knocks the name then), by the host rule of @otpknock/shared.
 */
export function checkAddress(address: string | undefined, name: string, where: string): void {
  if (address !== undefined) {
    rethrowAsUsage(() => checkHost(address, where));
    return;
  }
  const problem = hostProblem(name);
  if (problem !== undefined) {
    throw usageError(
      `${quote(name)} is not a host name or address (it ${problem}), and no --address was given`,
      `Say where to knock: --address HOST (a host name or an IP address); the name can stay ${quote(name)}.`,
    );
  }
}

function rethrowAsUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof OtpknockError) throw usageError(`${e.where}: ${e.what}`, e.hint);
    throw e;
  }
}

/** A name from the store as messages and `knock list` show it: quoted when it is not a valid name. */
export function shownName(name: string): string {
  return profileNameProblem(name) === undefined ? name : quote(name);
}

function shownValue(value: unknown): string {
  return typeof value === 'string' ? quote(value) : typeof value === 'number' ? `"${value}"` : `a ${typeof value}`;
}

/** The profile as `knock list` shows it: everything but the secret. */
export function publicView(profile: ClientProfile): Omit<ClientProfile, 'secret'> {
  const { secret: _secret, ...rest } = profile;
  return rest;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
