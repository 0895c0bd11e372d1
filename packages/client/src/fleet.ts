// Fleet profiles (docs/protocol.md §12, docs/fleet.md): one stored profile holds the
// person's secret K and the servers of a fleet; `knock web-3` knocks web-3 with the key
// derived for it, K_web-3. Pure: the store's fleet profiles → one virtual profile per
// server; checkProfile (profile.ts) derives the key of the one chosen.
import { usageError } from './errors.js';
import type { ClientProfile } from './profile.js';

/**
 * The servers of every fleet profile as profiles of their own, after the ordinary
 * profiles (so a profile of the same name wins). Their secret is still the person's:
 * checkProfile derives the server's key once one is chosen.
 */
export function withFleetServers(profiles: readonly ClientProfile[]): ClientProfile[] {
  const out = profiles.filter((p) => p.fleet === undefined);
  for (const p of profiles) {
    if (p.fleet === undefined || !Array.isArray(p.fleet.servers)) continue;
    for (const s of p.fleet.servers) {
      const { fleet: _fleet, address: _address, ...rest } = p;
      out.push({
        ...rest,
        name: s.name,
        ...(s.host === undefined ? {} : { address: s.host }),
        fleetServer: { profile: p.name, fleet: p.fleet.name, server: s.name },
      });
    }
  }
  return out;
}

/** Why `knock FLEET` (the fleet profile's own name) cannot knock: it names no server. */
export function fleetProfileNotAServer(profile: ClientProfile): Error {
  const names = (profile.fleet?.servers ?? []).map((s) => s.name);
  return usageError(
    `${profile.name} is a fleet profile, not a server; knock one of its servers: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}`,
    `See: knock list`,
  );
}
