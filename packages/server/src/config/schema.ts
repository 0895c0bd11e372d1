// The shape of the config file as written (snake_case), checked with zod. Knock
// profiles are not: their fields are @otpknock/shared's profile schema's
// (knock-profiles.ts maps its issues to this file's places).
import { PROFILE_FIELDS, describeValue, type ProfileField } from '@otpknock/shared';
import { z } from 'zod';
import { DURATION_EXAMPLES, formatDuration, parseDuration } from './duration.js';

export const TABLE_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,31}$/;
export const SERVICE_NAME = /^[a-z0-9_-]{1,24}$/;
// User names: USER_NAME_RULE and userNameProblem of @otpknock/shared (one rule for all).

export const DEFAULTS = {
  table: 'otpknock',
  keepTableOnStop: true,
  skew: 1,
  stepTimeoutMs: 5_000,
  logFormat: 'auto',
  stateDir: '/var/lib/otpknock',
  auditNflogGroup: 7046,
  openForMs: 30_000,
  method: 'time',
  ban: { after: 10, withinMs: 60_000, forMs: 600_000 },
} as const;

export const LIMITS = {
  skew: { min: 0, max: 10 },
  nflogGroup: { min: 0, max: 65_535 },
  stepTimeoutMs: { min: 100, max: 60_000 },
  openForMs: { min: 1_000, max: 86_400_000 },
  banAfter: { min: 1, max: 1000 },
  banWithinMs: { min: 1_000, max: 3_600_000 },
  banForMs: { min: 1_000, max: 7 * 86_400_000 },
} as const;

/** A whole number within [min, max]; `error` says what it means and the range. */
function integer(range: { min: number; max: number }, error: string) {
  return z.number({ error }).int().min(range.min).max(range.max);
}

/** A duration string ("5s", "1m30s") within [min, max], as milliseconds. */
export function duration(min: number, max: number) {
  const allowed = `from ${formatDuration(min)} to ${formatDuration(max)}`;
  return z.unknown().transform((value, ctx) => {
    if (typeof value === 'number') {
      ctx.addIssue({
        code: 'custom',
        message: `${value} is a bare number, which is ambiguous; write a duration with a unit, e.g. ${value}s or ${value}ms (allowed ${allowed})`,
      });
      return z.NEVER;
    }
    if (typeof value !== 'string') {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration such as ${DURATION_EXAMPLES}, got ${describe(value)}`,
      });
      return z.NEVER;
    }
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      ctx.addIssue({ code: 'custom', message: `${value} is out of range; expected a duration ${allowed}` });
      return z.NEVER;
    }
    return ms;
  });
}

const port = z.number({ error: 'expected a port number (an integer from 1 to 65535)' }).int().min(1).max(65535);
const bool = z.boolean({ error: 'expected true or false' });

/**
 * The knock profile's fields as this file spells them (snake_case). What each may
 * be — types, choices, bounds, the rules of each method — is the profile schema of
 * @otpknock/shared's to say (checkProfile), in the same words as for every format.
 */
export const KNOCK_KEYS: Readonly<Record<ProfileField, string>> = {
  method: 'method',
  length: 'length',
  period: 'period',
  algorithm: 'algorithm',
  range: 'range',
  exclude: 'exclude',
  ports: 'ports',
  open: 'open',
  close: 'close',
  toggle: 'toggle',
  tokenBytes: 'token_bytes',
};
export const knockKey = (field: ProfileField): string => KNOCK_KEYS[field];

export const banSchema = z.strictObject(
  {
    after: integer(
      LIMITS.banAfter,
      `expected the number of bad knocks that trigger a ban, an integer from ${LIMITS.banAfter.min} to ${LIMITS.banAfter.max}`,
    ).optional(),
    within: duration(LIMITS.banWithinMs.min, LIMITS.banWithinMs.max).optional(),
    for: duration(LIMITS.banForMs.min, LIMITS.banForMs.max).optional(),
  },
  { error: 'expected off, or a mapping such as { after: 10, within: 1m, for: 10m }' },
);

export const PAYLOAD_REQUIREMENTS = ['none', 'any', 'dns', 'ntp', 'token'] as const;

export const payloadSchema = z.strictObject(
  {
    require: z.enum(PAYLOAD_REQUIREMENTS, { error: `expected one of ${PAYLOAD_REQUIREMENTS.join(', ')}` }),
    shape: z
      .string({ error: "expected the clients' payload setting, e.g. none, dns, ntp, random or hex:c0ffee" })
      .optional(),
  },
  { error: 'expected a mapping such as { require: dns } or { require: token, shape: ntp }' },
);

export const serviceSchema = z.strictObject(
  {
    port,
    open_for: duration(LIMITS.openForMs.min, LIMITS.openForMs.max).optional(),
    // dnat or an address/prefix: checked in forward.ts
    forward: z.unknown().optional(),
  },
  { error: 'expected a mapping such as { port: 22, open_for: 30s }' },
);

export const userSchema = z.strictObject(
  {
    secret_file: z.string({ error: 'expected the path of a file holding the base32 secret' }).min(1).optional(),
    secret: z.string({ error: 'expected base32 text' }).min(1).optional(),
    services: z
      .array(z.string({ error: 'expected a service name' }), { error: 'expected a list of service names, e.g. [ssh]' })
      .optional(),
    // The user's own knock block: checked by knock-profiles.ts.
    knock: z.unknown().optional(),
    code_mode: bool.optional(),
  },
  { error: 'expected a mapping such as { secret_file: /etc/otpknock/secrets/alice }' },
);
export type RawUser = z.infer<typeof userSchema>;

export const topSchema = z.strictObject({
  table: z
    .string({ error: 'expected an nftables table name' })
    .regex(TABLE_NAME, { error: 'expected 1 to 32 characters from a-z, A-Z, 0-9, _ and -, starting with a letter' })
    .optional(),
  keep_table_on_stop: bool.optional(),
  skew: integer(
    LIMITS.skew,
    `expected an integer from ${LIMITS.skew.min} to ${LIMITS.skew.max} (windows accepted before and after the current one)`,
  ).optional(),
  step_timeout: duration(LIMITS.stepTimeoutMs.min, LIMITS.stepTimeoutMs.max).optional(),
  log_format: z.enum(['auto', 'text', 'json'], { error: 'expected one of auto, text, json' }).optional(),
  state_dir: z
    .string({ error: 'expected an absolute directory path' })
    .startsWith('/', { error: 'expected an absolute directory path' })
    .optional(),
  audit_nflog_group: integer(
    LIMITS.nflogGroup,
    `expected an integer from ${LIMITS.nflogGroup.min} to ${LIMITS.nflogGroup.max} (the NFLOG group the audit reads opens from)`,
  ).optional(),
  user_store: z.string({ error: 'expected the path of the user store directory, e.g. users.d' }).min(1).optional(),
  // Checked on its own (knock-profiles.ts).
  knock: z.unknown().optional(),
  // off, false, or a mapping (checked with banSchema, so its fields get their own messages).
  ban: z.unknown().optional(),
  payload: payloadSchema.optional(),
  // checked in break-glass.ts
  break_glass: z.unknown().optional(),
  // checked in fleet.ts
  fleet: z.unknown().optional(),
  // Checked entry by entry so that one bad entry does not hide the others' problems.
  services: z.unknown().optional(),
  users: z.unknown().optional(),
});

export type RawTop = z.infer<typeof topSchema>;
export type RawBan = z.infer<typeof banSchema>;

/** Field names allowed in each kind of mapping, for "unknown field" messages. */
export const KEYS = {
  top: Object.keys(topSchema.shape),
  knock: PROFILE_FIELDS.map(knockKey),
  range: ['min', 'max'],
  service: Object.keys(serviceSchema.shape),
  ban: Object.keys(banSchema.shape),
  payload: Object.keys(payloadSchema.shape),
  user: Object.keys(userSchema.shape),
};

/** The keys allowed at `rel` inside a mapping whose own keys are `root` (knock and range blocks nest). */
export const keysIn =
  (root: readonly string[]) =>
  (rel: readonly (string | number)[]): readonly string[] => {
    const last = [...rel].reverse().find((p) => typeof p === 'string');
    if (last === 'knock') return KEYS.knock;
    if (last === 'range') return KEYS.range;
    return root;
  };

/** A short, secret-free description of a value for "got …" in messages (the profile schema's). */
export const describe = describeValue;
