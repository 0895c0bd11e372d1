// The fleet directory's layout in etcd and its records (docs/fleet.md). Pure: keys,
// records as JSON text, and what a change of one person means for every server.
//
//   /otpknock/<fleet>/config                       FleetSettings       admin only
//   /otpknock/<fleet>/people/<name>                PersonRecord (K)    admin only
//   /otpknock/<fleet>/hosts/<server>               HostRecord          admin only
//   /otpknock/<fleet>/servers/<server>/users/<name> ServerUserRecord (K_S) read by <server> only
import {
  checkProfile,
  decodeSecret,
  deriveFleetKey,
  encodeSecret,
  fleetNameProblem,
  userNameProblem,
  type KnockProfile,
} from '@otpknock/shared';
import type { TxnOp } from './etcd.js';

export const DIRECTORY_ROOT = '/otpknock';

export const fleetPrefix = (fleet: string): string => `${DIRECTORY_ROOT}/${fleet}/`;
export const settingsKey = (fleet: string): string => `${fleetPrefix(fleet)}config`;
export const peoplePrefix = (fleet: string): string => `${fleetPrefix(fleet)}people/`;
export const personKey = (fleet: string, name: string): string => `${peoplePrefix(fleet)}${name}`;
export const hostsPrefix = (fleet: string): string => `${fleetPrefix(fleet)}hosts/`;
export const hostKey = (fleet: string, server: string): string => `${hostsPrefix(fleet)}${server}`;
/** What a server's etcd role may read: everything under it is that server's. */
export const serverPrefix = (fleet: string, server: string): string => `${fleetPrefix(fleet)}servers/${server}/`;
export const serverUsersPrefix = (fleet: string, server: string): string => `${serverPrefix(fleet, server)}users/`;
export const serverUserKey = (fleet: string, server: string, name: string): string =>
  `${serverUsersPrefix(fleet, server)}${name}`;
/** The etcd user and role of a server: `otpknock.<fleet>.<server>`. */
export const serverEtcdName = (fleet: string, server: string): string => `otpknock.${fleet}.${server}`;

/** The fleet's knock profile and the protected service port people wait for. */
export interface FleetSettings {
  version: 1;
  profile: KnockProfile;
  port: number;
}

/** Where a person's knock for a server goes (empty: the server's name itself). */
export interface HostRecord {
  version: 1;
  host?: string;
}

/** A person, as the admin commands keep them: their secret K and where they may knock. */
export interface PersonRecord {
  version: 1;
  name: string;
  /** base32 K (docs/protocol.md §12): never given to a server. */
  secret: string;
  secretCreated: string;
  servers: string[];
  /** Services the person may open on each server; absent: all of that server's. */
  services?: string[];
  disabled: boolean;
  /** Earlier secrets still accepted until `until` (a rotation's grace). */
  previous: { secret: string; until: string }[];
}

/** What one server reads about one person: only keys derived for it. */
export interface ServerUserRecord {
  version: 1;
  name: string;
  /** base32 K_S. */
  key: string;
  profile: KnockProfile;
  services?: string[];
  disabled: boolean;
  previous: { key: string; until: string }[];
}

/** The record server `server` gets for `person` (keys derived, grace keys still live at `nowMs`). */
export function serverRecordOf(
  fleet: string,
  server: string,
  person: PersonRecord,
  settings: FleetSettings,
  nowMs: number,
): ServerUserRecord {
  const key = (secret: string) => encodeSecret(deriveFleetKey(decodeSecret(secret), fleet, server));
  return {
    version: 1,
    name: person.name,
    key: key(person.secret),
    profile: settings.profile,
    ...(person.services === undefined ? {} : { services: person.services }),
    disabled: person.disabled,
    previous: person.previous
      .filter((p) => Date.parse(p.until) > nowMs)
      .map((p) => ({ key: key(p.secret), until: p.until })),
  };
}

/**
 * The writes that move the directory from `before` (absent: a new person) to `after`
 * (absent: removed): the person record, a record on every server they may knock,
 * and the removal of the records of servers they may no longer knock. One txn.
 */
export function personChangeOps(
  fleet: string,
  before: PersonRecord | undefined,
  after: PersonRecord | undefined,
  settings: FleetSettings,
  nowMs: number,
): TxnOp[] {
  const name = (after ?? before)!.name;
  const ops: TxnOp[] = [];
  const keep = new Set(after?.servers ?? []);
  for (const server of before?.servers ?? [])
    if (!keep.has(server)) ops.push({ delete: { key: serverUserKey(fleet, server, name) } });
  for (const server of after?.servers ?? [])
    ops.push({
      put: {
        key: serverUserKey(fleet, server, name),
        value: JSON.stringify(serverRecordOf(fleet, server, after!, settings, nowMs)),
      },
    });
  ops.push(
    after === undefined
      ? { delete: { key: personKey(fleet, name) } }
      : { put: { key: personKey(fleet, name), value: JSON.stringify(after) } },
  );
  return ops;
}

/** Reads a record's JSON, or says what is wrong with it (never quoting a key). */
export function parseServerUserRecord(text: string, key: string): ServerUserRecord | { problem: string } {
  let d: Partial<ServerUserRecord>;
  try {
    d = JSON.parse(text) as Partial<ServerUserRecord>;
  } catch {
    return { problem: `${key}: not JSON` };
  }
  if (typeof d !== 'object' || d === null || d.version !== 1) return { problem: `${key}: not a version 1 record` };
  const nameProblem = userNameProblem(d.name);
  if (nameProblem !== undefined) return { problem: `${key}: name: it ${nameProblem}` };
  if (!key.endsWith(`/${d.name}`)) return { problem: `${key}: names user ${d.name}, not the one of its key` };
  try {
    decodeSecret(d.key ?? '', `${key}: key`);
    for (const p of d.previous ?? []) decodeSecret(p.key, `${key}: previous`);
  } catch (e) {
    return { problem: (e as Error).message };
  }
  const profile = checkProfile(d.profile);
  if (profile.profile === undefined)
    return { problem: `${key}: profile: ${profile.issues[0]?.message ?? 'not a knock profile'}` };
  if (d.services !== undefined && (!Array.isArray(d.services) || d.services.some((s) => typeof s !== 'string')))
    return { problem: `${key}: services: expected a list of service names` };
  if (!Array.isArray(d.previous ?? []) || (d.previous ?? []).some((p) => !Number.isFinite(Date.parse(p.until))))
    return { problem: `${key}: previous: expected a list of { key, until }` };
  return {
    version: 1,
    name: d.name!,
    key: d.key!,
    profile: profile.profile,
    ...(d.services === undefined ? {} : { services: d.services }),
    disabled: d.disabled === true,
    previous: d.previous ?? [],
  };
}

/** A fleet or server name as a command line or a config gives it; the problem otherwise. */
export function fleetNameIssue(name: unknown, what: string): string | undefined {
  const problem = fleetNameProblem(name);
  return problem === undefined ? undefined : `${what}: not a valid name: it ${problem}`;
}
