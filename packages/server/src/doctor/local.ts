// Checks of this host against the config: sockets in the knock range, services
// that are not listening, the ephemeral port range, file permissions. Pure:
// facts in, findings out.
import { finding, type Finding } from './finding.js';
import { isLoopback, tcpListeners, udpListeners, type Socket } from './proc-net.js';

type Interval = readonly [number, number];

const inIntervals = (port: number, intervals: readonly Interval[]) =>
  intervals.some(([lo, hi]) => port >= lo && port <= hi);

/** `nft`-style text of intervals: 10000-21999,22001-65000. */
export function intervalsText(intervals: readonly Interval[]): string {
  return intervals.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(',');
}

/**
 * UDP services listening inside the knock range: otpknockd takes every datagram
 * to such a port as a knock and drops it, so the service becomes unreachable
 * from outside (loopback is not affected).
 */
export function socketFindings(sockets: readonly Socket[], knockPorts: readonly Interval[]): Finding[] {
  const clashes = new Map<number, string[]>();
  for (const s of udpListeners(sockets)) {
    if (isLoopback(s.address) || !inIntervals(s.port, knockPorts)) continue;
    const where = s.family === 6 ? `[${s.address}]` : s.address;
    clashes.set(s.port, [...(clashes.get(s.port) ?? []), where]);
  }
  if (clashes.size === 0) {
    return [finding('sockets', 'ok', `no UDP socket listens inside the knock range (${intervalsText(knockPorts)})`)];
  }
  const ports = [...clashes.keys()].sort((a, b) => a - b);
  return ports.map((port) =>
    finding(
      'sockets',
      'problem',
      `a UDP socket listens on port ${port} (${[...new Set(clashes.get(port))].join(', ')}), inside the knock range: otpknockd takes every datagram to it as a knock and drops it, so that service is unreachable from outside`,
      `add ${port} to knock.exclude in the config with otpknockd apply, which names the users whose sequences that changes (each needs otpknockd user uri NAME again), or move the service out of ${intervalsText(knockPorts)}; see it with: ss -lunp 'sport = :${port}'`,
    ),
  );
}

/** Ports of services the whole world usually uses: protecting one hides a public site. */
const PUBLIC_PORTS: Readonly<Record<number, string>> = {
  25: 'SMTP (mail from the internet)',
  53: 'DNS',
  80: 'HTTP (a public web site)',
  443: 'HTTPS (a public web site)',
  8080: 'HTTP',
  8443: 'HTTPS',
};

/**
 * Protected services: nothing listening (a knock would open a closed door), and a
 * service reachable from outside today that our table does not guard yet (`guarded`:
 * the services of the loaded table), which the knock would hide from everyone else.
 */
export function serviceFindings(
  sockets: readonly Socket[],
  services: readonly { name: string; port: number }[],
  guarded: ReadonlySet<string> = new Set(),
): Finding[] {
  const listening = tcpListeners(sockets);
  return services.map((s) => {
    const on = listening.filter((l) => l.port === s.port);
    const outside = on.filter((l) => !isLoopback(l.address));
    if (outside.length > 0) {
      const where = [...new Set(outside.map((l) => (l.family === 6 ? `[${l.address}]` : l.address)))].join(', ');
      if (guarded.has(s.name))
        return finding('services', 'ok', `${s.name}: something listens on tcp/${s.port} (${where}), behind the knock`);
      const kind = PUBLIC_PORTS[s.port];
      return finding(
        'services',
        'warning',
        `${s.name}: tcp/${s.port} is served on ${where} and reachable from outside today; once protected, it answers only addresses that knocked${kind === undefined ? '' : ` — tcp/${s.port} is usually ${kind}, which would disappear for everyone else`}`,
        `protect only services whose every client knocks (ssh for its admins, a private API); otherwise remove services.${s.name} from the config`,
      );
    }
    if (on.length > 0) {
      return finding(
        'services',
        'warning',
        `${s.name}: tcp/${s.port} listens on loopback only, so a knock from outside opens nothing`,
        `make the service listen on an outside address (e.g. ListenAddress in sshd_config)`,
      );
    }
    return finding(
      'services',
      'warning',
      `${s.name}: nothing listens on tcp/${s.port} (in this network namespace), so a knock opens nothing`,
      `start the service, or fix services.${s.name}.port in the config`,
    );
  });
}

/**
 * The ephemeral port range (net.ipv4.ip_local_port_range) inside the knock
 * range: replies to this host's own outgoing UDP (DNS, NTP) come back to those
 * ports, are not tracked (knock UDP is `notrack`) and are taken as knocks.
 */
export function ephemeralFinding(localPortRange: Interval | undefined, knockPorts: readonly Interval[]): Finding {
  if (localPortRange === undefined) {
    return finding(
      'sockets',
      'info',
      'could not read /proc/sys/net/ipv4/ip_local_port_range; cannot tell whether replies to outgoing UDP land in the knock range',
    );
  }
  const [lo, hi] = localPortRange;
  const overlap = knockPorts.map(([a, b]) => [Math.max(a, lo), Math.min(b, hi)] as const).filter(([a, b]) => a <= b);
  if (overlap.length === 0) {
    return finding('sockets', 'ok', `the ephemeral port range ${lo}-${hi} is outside the knock range`);
  }
  // Since the raw chain spares datagrams a local socket waits for, replies to
  // this host's own UDP get through; only say what an operator may wonder about.
  return finding(
    'sockets',
    'info',
    `the ephemeral port range ${lo}-${hi} (net.ipv4.ip_local_port_range) overlaps the knock range at ${intervalsText(overlap)}: fine, replies to this host's own outgoing UDP (DNS, NTP) on those ports match their socket and are let through, not taken as knocks`,
  );
}

export interface FileFacts {
  path: string;
  /** undefined: could not stat (the reason is in `error`). */
  mode?: number;
  uid?: number;
  error?: string;
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * Who can change what the daemon trusts: a config file or its directory that
 * others may write lets them add a user of their own; secrets must be private.
 */
export function permissionFindings(
  facts: { config?: FileFacts; configDir?: FileFacts; secrets: FileFacts[]; stateDir?: FileFacts },
  daemonUid = 0,
): Finding[] {
  const out: Finding[] = [];
  const trusted = (uid: number | undefined) => uid === 0 || uid === daemonUid;
  for (const [what, f] of [
    ['config file', facts.config],
    ['config directory', facts.configDir],
  ] as const) {
    if (f === undefined || f.mode === undefined) continue;
    if ((f.mode & 0o022) !== 0) {
      out.push(
        finding(
          'permissions',
          'problem',
          `${what} ${f.path} is writable by group or others (${octal(f.mode)}): whoever can write it can add a user of their own and knock in`,
          `chmod go-w ${f.path}`,
        ),
      );
    } else if (!trusted(f.uid)) {
      out.push(
        finding(
          'permissions',
          'problem',
          `${what} ${f.path} is owned by uid ${f.uid}, who can change what the daemon trusts`,
          `chown root ${f.path}`,
        ),
      );
    }
  }
  for (const s of facts.secrets) {
    if (s.mode === undefined) {
      out.push(
        finding(
          'permissions',
          'problem',
          `secret file ${s.path}: ${s.error ?? 'cannot be read'}`,
          'create it (mode 0600) or fix secret_file in the config',
        ),
      );
    } else if ((s.mode & 0o077) !== 0) {
      out.push(
        finding(
          'permissions',
          'problem',
          `secret file ${s.path} has permissions ${octal(s.mode)}: group and others must have no access to a secret`,
          `chmod 600 ${s.path}`,
        ),
      );
    } else if (!trusted(s.uid)) {
      out.push(
        finding('permissions', 'problem', `secret file ${s.path} is owned by uid ${s.uid}`, `chown root ${s.path}`),
      );
    }
  }
  const sd = facts.stateDir;
  if (sd !== undefined) {
    if (sd.mode === undefined)
      out.push(
        finding(
          'permissions',
          'info',
          `state directory ${sd.path} does not exist yet; otpknockd run creates it (0700)`,
        ),
      );
    else if ((sd.mode & 0o077) !== 0)
      out.push(
        finding(
          'permissions',
          'warning',
          `state directory ${sd.path} has permissions ${octal(sd.mode)}; it holds the pid file and config backups`,
          `chmod 700 ${sd.path}`,
        ),
      );
  }
  if (out.length === 0)
    out.push(
      finding(
        'permissions',
        'ok',
        `config and ${facts.secrets.length} secret file${facts.secrets.length === 1 ? '' : 's'} are private and owned by root`,
      ),
    );
  return out;
}

/**
 * The way back in when knocking cannot work: a stopped daemon keeps its table
 * (fail closed) and a wrong clock derives the wrong sequences; then only the
 * static break-glass sequence, an established session or the console get in.
 */
export function lockoutFinding(breakGlass: { services: readonly string[] } | undefined): Finding {
  if (breakGlass === undefined) {
    return finding(
      'lockout',
      'warning',
      'no break_glass sequence: while the daemon is stopped (its table stays: fail closed) or the clock is wrong, only the console or an already established session gets you in',
      'add break_glass: { sequence: [...], services: [ssh] } to the config (docs/configuration.md) and keep the sequence with your console credentials',
    );
  }
  return finding(
    'lockout',
    'ok',
    `break_glass opens ${breakGlass.services.join(', ')} without the daemon or a correct clock`,
  );
}

/**
 * A fleet server whose users all come from the directory, without break_glass: one
 * revocation (or max_stale) leaves it open to nobody by knock, since the directory
 * is obeyed (docs/fleet.md). `users`: the config's users with where each comes from.
 */
export function fleetLockoutFinding(
  fleet: { name: string; server?: string } | undefined,
  users: readonly { origin?: 'config' | 'store' | 'fleet' }[],
  breakGlass: unknown,
): Finding | undefined {
  if (fleet === undefined) return undefined;
  const local = users.filter((u) => u.origin !== 'fleet').length;
  if (local > 0 || breakGlass !== undefined)
    return finding(
      'fleet',
      'ok',
      `fleet ${fleet.name}: ${local > 0 ? `${local} local user${local === 1 ? '' : 's'}` : 'break_glass'} still get${local === 1 || local === 0 ? 's' : ''} in when the directory gives this server nobody`,
    );
  const now =
    users.length === 0
      ? 'it has no user now: the table opens for nobody by knock'
      : `its ${users.length} user${users.length === 1 ? ' comes' : 's come'} from the directory only`;
  return finding(
    'fleet',
    'warning',
    `fleet ${fleet.name}: no local user and no break_glass on server ${fleet.server ?? '?'}, and ${now}; one revocation (fleet revoke, disable, remove, or max_stale) can leave it closed to all`,
    'add a local user (users: in the config, or otpknockd user add NAME with user_store) or break_glass, and keep its secret with your console credentials',
  );
}
