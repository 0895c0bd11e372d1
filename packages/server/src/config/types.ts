// The validated, normalised server configuration: what the rest of the daemon
// consumes. Produced only by `loadConfig` (file → YAML → schema → this).
import type { KnockProfile, SecretBytes } from '@otpknock/shared';

export type LogFormat = 'auto' | 'text' | 'json';

/** A protected TCP service: closed to everyone until a valid knock opens it. */
export interface ServiceConfig {
  /** Config key, e.g. "ssh". [a-z0-9_-], at most 24 characters. */
  name: string;
  /** TCP port the service listens on. */
  port: number;
  /** Milliseconds new connections are accepted after an open. Default 30 000. */
  openForMs: number;
}

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
  services: ServiceConfig[];
  users: UserConfig[];
}
