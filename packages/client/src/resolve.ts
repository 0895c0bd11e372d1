// From what the person typed (or what ssh passed as %h) to a profile and the addresses
// to knock. The profile lookup is pure given an `ssh -G` function; the real one runs
// ssh, tests pass a stub.
// node:child_process and node:dns are imported where used: most knocks name a
// profile by an IP address and need neither, and each costs start-up time.
import { isIP } from 'node:net';
import { networkError, usageError } from './errors.js';
import { fleetProfileNotAServer, withFleetServers } from './fleet.js';
import type { ClientProfile } from './profile.js';

/** What `ssh -G HOST` says about HOST: its HostName and Port. */
export interface SshTarget {
  hostname: string;
  port?: number;
}

/** Asks the user's ssh configuration about a host; undefined when ssh cannot say. */
export type SshConfigLookup = (host: string) => Promise<SshTarget | undefined>;

/** How a profile was found for a host. */
export interface ProfileMatch {
  profile: ClientProfile;
  /** `name`: HOST is the profile's name; `address`: its address; `ssh`: through `ssh -G`. */
  via: 'name' | 'address' | 'ssh';
  /** Set when found through ssh: the HostName and Port ssh would use. */
  ssh?: SshTarget;
  /** The host to send the knock to: the profile's address, else the (ssh) host name. */
  address: string;
}

/** Parses `ssh -G` output (lower-case `key value` lines). */
export function parseSshG(text: string): SshTarget | undefined {
  let hostname: string | undefined;
  let port: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(.*?)\s*$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    if (key === 'hostname') hostname = m[2];
    else if (key === 'port' && /^\d+$/.test(m[2]!)) port = Number(m[2]);
  }
  if (!hostname) return undefined;
  return port === undefined ? { hostname } : { hostname, port };
}

/**
 * The real `ssh -G` lookup. No shell, `--` before the host, bounded by a timeout;
 * when ssh is not installed or fails, the answer is undefined and the step is skipped.
 */
export function sshConfigLookup(options: { ssh?: string; timeoutMs?: number } = {}): SshConfigLookup {
  const ssh = options.ssh ?? 'ssh';
  const timeout = options.timeoutMs ?? 3000;
  return async (host) => {
    const { execFile } = await import('node:child_process');
    return new Promise((resolve) => {
      execFile(ssh, ['-G', '--', host], { timeout, encoding: 'utf8', windowsHide: true }, (error, stdout) => {
        resolve(error ? undefined : parseSshG(stdout));
      });
    });
  };
}

function findBy(
  profiles: ClientProfile[],
  wanted: string,
  key: (p: ClientProfile) => string | undefined,
): ClientProfile | undefined {
  return (
    profiles.find((p) => key(p) === wanted) ?? profiles.find((p) => key(p)?.toLowerCase() === wanted.toLowerCase())
  );
}

/**
 * Finds the profile for HOST: by profile name (a fleet profile's servers count as
 * profiles of their own), then by profile address, then through
 * the ssh configuration (`ssh -G HOST` → HostName, looked up among names and addresses),
 * so that an ssh alias or the %h of a ProxyCommand just works.
 */
export async function findProfile(
  host: string,
  profiles: Record<string, ClientProfile>,
  sshLookup: SshConfigLookup | undefined,
): Promise<ProfileMatch | undefined> {
  // Fleet profiles stand for their servers (fleet.ts); `knock FLEET` finds the fleet profile itself.
  const list = withFleetServers(Object.values(profiles));
  const fleetItself = Object.values(profiles).find((p) => p.fleet !== undefined && p.name === host);
  if (fleetItself && !list.some((p) => p.name === host)) throw fleetProfileNotAServer(fleetItself);
  const byName = findBy(list, host, (p) => p.name);
  if (byName) return { profile: byName, via: 'name', address: byName.address ?? byName.name };
  const byAddress = findBy(list, host, (p) => p.address);
  if (byAddress) return { profile: byAddress, via: 'address', address: host };
  if (!sshLookup || host.startsWith('-')) return undefined;
  const ssh = await sshLookup(host);
  if (!ssh || ssh.hostname === host) return undefined;
  const viaSsh = findBy(list, ssh.hostname, (p) => p.name) ?? findBy(list, ssh.hostname, (p) => p.address);
  if (!viaSsh) return undefined;
  return { profile: viaSsh, via: 'ssh', ssh, address: viaSsh.address ?? ssh.hostname };
}

/** The address family forced with -4 / -6, or undefined for both. */
export type Family = 4 | 6 | undefined;

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type AddressLookup = (host: string, family: 0 | 4 | 6) => Promise<ResolvedAddress[]>;

const systemLookup: AddressLookup = async (host, family) => {
  const { lookup } = await import('node:dns/promises');
  const found = await lookup(host, { all: true, family, order: 'verbatim' });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/**
 * The addresses to knock for a host, in the resolver's order, duplicates removed.
 * IP literals (also `[v6]`) are used as they are. Throws a usage error when the family
 * forced does not fit a literal, a network error when the name does not resolve.
 */
export async function resolveAddresses(
  host: string,
  family: Family,
  lookup: AddressLookup = systemLookup,
): Promise<ResolvedAddress[]> {
  const literal = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const kind = isIP(literal);
  if (kind === 4 || kind === 6) {
    if (family !== undefined && family !== kind) {
      throw usageError(`${host} is an IPv${kind} address, but -${family} asks for IPv${family}`);
    }
    return [{ address: literal, family: kind }];
  }
  let found: ResolvedAddress[];
  try {
    found = await lookup(host, family ?? 0);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOTFOUND' || code === 'EAI_NONAME'
        ? 'no such host (DNS): check the name, or give the address with knock add --address'
        : code === 'EAI_AGAIN'
          ? 'no answer from the name server (EAI_AGAIN): check the network, or give the address with knock add --address'
          : (error as Error).message;
    throw networkError(`cannot resolve ${host}${family ? ` (IPv${family})` : ''}: ${why}`, error);
  }
  const seen = new Set<string>();
  const out = found.filter(
    (a) => (family === undefined || a.family === family) && !seen.has(a.address) && seen.add(a.address),
  );
  if (out.length === 0) throw networkError(`cannot resolve ${host}: no IPv${family ?? ''} address`);
  return out;
}
