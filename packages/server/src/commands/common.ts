// What every otpknockd subcommand shares.
export const DEFAULT_CONFIG = '/etc/otpknock/otpknockd.yaml';

/** Exit codes, documented in docs/otpknockd.md. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
