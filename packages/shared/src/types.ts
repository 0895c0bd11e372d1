// The contract between the derivation library, the server and the client.
// Everything here is plain data: no I/O, no classes, easy to serialise.

/** How a knock sequence is chosen. */
export type KnockMethod = 'time' | 'list-modulo' | 'prng' | 'static';

/** HMAC hash used by the OTP layer (as in otpauth:// URIs). */
export type OtpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

/** An inclusive UDP port range. */
export interface PortRange {
  min: number;
  max: number;
}

/**
 * What both sides must agree on to derive the same sequences. Validated and
 * completed with defaults by `normalizeProfile`; the derivation functions take
 * only normalised profiles.
 */
export interface KnockProfile {
  method: KnockMethod;
  /** Ports per sequence, 1–8. Default 3. One-time methods only. */
  length: number;
  /** Seconds per window for time-driven derivation. Default 30. */
  period: number;
  /** HMAC hash for the OTP layer. Default SHA1 (authenticator-app compatible). */
  algorithm: OtpAlgorithm;
  /** `time` and `prng`: the range knock ports are drawn from. Default 10000–65000. */
  range: PortRange;
  /** Ports never used as knock ports (protected services, operator's list). */
  exclude: number[];
  /** `list-modulo`: the shared port list (distinct ports, at least 2 × length). */
  ports: number[];
  /** `static`: the fixed open sequence (1–8 distinct ports). */
  open: number[];
  /** `static`: the fixed close sequence; equal to `open` when `toggle` is set. */
  close: number[];
  /** `static`: the same sequence opens when closed and closes when open. */
  toggle: boolean;
  /** Bytes of per-window payload token to derive (0 = none, 4–16). Default 0. */
  tokenBytes: number;
}

/** Input accepted by `normalizeProfile`: everything but the method is optional. */
export type KnockProfileInput = Partial<Omit<KnockProfile, 'method' | 'range'>> & {
  method: KnockMethod | string;
  range?: PortRange | string;
};

/** The knock for one window (or counter value). */
export interface KnockSequences {
  /** Window or counter value the sequences belong to (as given, also for static). */
  window: number;
  /** UDP destination ports to send, in order, to open. */
  open: number[];
  /** UDP destination ports to send, in order, to close. */
  close: number[];
  /** True when open and close are the same sequence (static toggle). */
  toggle: boolean;
  /** Per-window payload token, present when the profile asks for one. */
  token?: Uint8Array;
}

/** A decoded shared secret: raw key bytes (at least 16, i.e. 128 bits). */
export type SecretBytes = Uint8Array;
