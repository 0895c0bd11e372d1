// The users this server last read from the fleet directory (state_dir/fleet.json,
// written by fleet/sync.ts), merged with the config's and the user store's. A record
// this server cannot use is left out and noted, never an error of the config: the
// directory is shared by many servers, and one bad record must not stop this one.
import { decodeSecret } from '@otpknock/shared';
import type { ServerUserRecord } from '../fleet/directory.js';
import type { PayloadConfig, UserConfig } from './types.js';
import type { SecretOwners } from './user-secrets.js';

export interface FleetUserSections {
  /** Users already defined here (config and user store): they win over the directory's. */
  localNames: ReadonlySet<string>;
  serviceNames: readonly string[];
  secrets: SecretOwners;
  payload?: PayloadConfig | undefined;
  nowMs: number;
}

/** The usable users of the directory's records, and a note for each record left out. */
export function fleetUsers(
  records: readonly ServerUserRecord[],
  deps: FleetUserSections,
): { users: UserConfig[]; skipped: string[] } {
  const users: UserConfig[] = [];
  const skipped: string[] = [];
  for (const r of records) {
    if (deps.localNames.has(r.name)) {
      skipped.push(`${r.name}: also defined on this server (config or user store), which wins`);
      continue;
    }
    if (deps.payload?.require === 'token' && r.profile.tokenBytes === 0) {
      skipped.push(`${r.name}: payload.require is token, but the fleet's profile has no token_bytes`);
      continue;
    }
    const secret = decodeSecret(r.key, `fleet user ${r.name}`);
    const other = deps.secrets.claim(secret, r.name);
    if (other !== undefined) {
      skipped.push(`${r.name}: has the same key as user ${other}`);
      continue;
    }
    // The fleet may name services this server does not have: those are not opened here.
    const services = (r.services ?? deps.serviceNames).filter((s) => deps.serviceNames.includes(s));
    const grace = r.previous
      .map((p) => ({ secret: decodeSecret(p.key, `fleet user ${r.name}: previous`), untilMs: Date.parse(p.until) }))
      .filter((p) => p.untilMs > deps.nowMs)
      .sort((a, b) => b.untilMs - a.untilMs);
    users.push({
      name: r.name,
      secret,
      secretSource: 'fleet directory',
      services,
      profile: r.profile,
      origin: 'fleet',
      ...(r.disabled ? { disabled: true } : {}),
      ...(grace.length > 0 ? { graceSecrets: grace } : {}),
    });
  }
  return { users, skipped };
}
