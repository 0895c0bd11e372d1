// The validated, normalised server configuration: what the rest of the daemon
// consumes. Produced only by `loadConfig` (file → YAML → schema → this).
import type { KnockProfile, SecretBytes } from '@otpknock/shared';
import type { FleetConfig } from './fleet.js';

export type { FleetConfig };

export type LogFormat = 'auto' | 'text' | 'json';

/** A protected TCP service: closed to everyone until a valid knock opens it. */
export interface ServiceConfig {
  /** Config key, e.g. "ssh". [a-z0-9_-], at most 24 characters. */
  name: string;
  /** TCP port the service listens on. */
  port: number;
  /** Milliseconds new connections are accepted after an open. Default 30 000. */
  openForMs: number;
  /**
   * Set for a service behind this host (gateway mode): guarded on the forward hook,
   * `port` being the port clients connect to (before any DNAT). Absent: a local service.
   */
  forward?: ForwardScope;
}

/**
 * Which forwarded connections a forwarded service guards (docs/gateway.md):
 * `dnat`: those this host DNATs (port forwards, Docker-published ports), by their
 * original destination port; `routed`: those routed unchanged to `destination`
 * (an address or prefix).
 */
export type ForwardScope = { kind: 'dnat' } | { kind: 'routed'; destination: string; family: 4 | 6 };

export interface UserConfig {
  /** Config key, e.g. "alice". [a-z0-9_.-], at most 32 characters. */
  name: string;
  /** Decoded secret (≥ 128 bits). Never logged. */
  secret: SecretBytes;
  /** Where the secret came from, for messages ("file /etc/..." or "inline"). */
  secretSource: string;
  /** Names of the services this user may open (default: all). */
  services: string[];
  /** The user's knock profile: the global `knock` block merged with the user's own. */
  profile: KnockProfile;
  /** Where the user is defined: the config file (default) or the user store. */
  origin?: 'config' | 'store' | 'fleet';
  /** A disabled user (user store) has no live sequences; its record is kept for `user enable`. */
  disabled?: boolean;
  /** Older secrets still accepted until `untilMs` (a rotation's grace period), newest first. */
  graceSecrets?: { secret: SecretBytes; untilMs: number }[];
  /** Also accept the sequences derived from the 6-digit authenticator-app code (`knock --code`). */
  codeMode?: boolean;
  /** Unix ms when the current secret was issued (user store), for `user list`. */
  secretCreatedMs?: number;
}

/**
 * Brute-force cut-off, run by the kernel: a source that makes `after` bad knocks
 * within `withinMs` has its knocks ignored for `forMs` (IPv6: per /64).
 */
export interface BanConfig {
  /** Bad knocks (knock-range ports that continue nothing) that trigger a ban. Default 10. */
  after: number;
  /** Milliseconds the bad knocks must fall within. Default 60 000. */
  withinMs: number;
  /** Milliseconds a ban lasts. Default 600 000. */
  forMs: number;
}

/** What knock datagrams must carry, checked by the kernel (docs/protocol.md §11). */
export type PayloadRequirement = 'none' | 'any' | 'dns' | 'ntp' | 'token';

export interface PayloadConfig {
  /** none: anything goes; any: not empty; dns / ntp: that shape; token: the window's payload token. */
  require: PayloadRequirement;
  /** For `token`: the clients' payload setting (where the token sits), canonical text. Default none. */
  shape: string;
}

export interface ServerConfig {
  /** File the config was read from (absolute), for messages. */
  file: string;
  /** nftables table name in family inet. Default "otpknock". */
  table: string;
  /** Keep the table (and so the protection) when the daemon stops. Default false. */
  keepTableOnStop: boolean;
  /** Windows accepted before and after the current one. Default 1. */
  skew: number;
  /** Milliseconds a source may take between two knock steps. Default 5 000. */
  stepTimeoutMs: number;
  logFormat: LogFormat;
  /** Directory for the daemon's runtime state (status, mode, audit). Default /var/lib/otpknock. */
  stateDir: string;
  /** NFLOG group of the audit (completed knocks, refused replays). Default 7046. */
  auditNflogGroup: number;
  /** Directory of the user store (`user_store`, absolute), managed by `otpknockd user`. */
  userStore?: string;
  /** Brute-force cut-off; null when switched off (`ban: off`). */
  ban: BanConfig | null;
  /** Required knock payload; absent or require none: no requirement. */
  payload?: PayloadConfig;
  /** `break_glass`: a long static open sequence that never rotates (absent: none). */
  breakGlass?: BreakGlassConfig;
  /** `fleet`: users also come from a directory in etcd (docs/fleet.md). */
  fleet?: FleetConfig;
  /** Directory records this server left out, and why (logged by the daemon). */
  fleetSkipped?: string[];
  services: ServiceConfig[];
  users: UserConfig[];
}

/** The break-glass sequence: static, never rotating, not one-time. */
export interface BreakGlassConfig {
  /** 8–16 distinct UDP ports, knocked in order. */
  ports: number[];
  /** Names of the services it opens (default: all). */
  services: string[];
}
