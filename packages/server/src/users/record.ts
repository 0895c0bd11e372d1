// One user of the user store, as a file: `<store>/<name>.yaml`, mode 0600,
// written only by `otpknockd user …`. Pure: text ⇄ record, every problem
// named with its field; the file I/O lives in store.ts.
import { decodeSecret, OtpknockError, USER_NAME_RULE, userNameProblem } from '@otpknock/shared';
import { stringify } from 'yaml';
import { z } from 'zod';
import { IssueReporter, type FileIssue } from '../yaml/issues.js';
import { pathText, readYaml, type FieldPath } from '../yaml/source.js';

/** A secret of the user that is still accepted until `until` (a rotation's grace). */
export interface PreviousSecret {
  /** base32 */
  secret: string;
  /** ISO 8601: the end of the grace period. */
  until: string;
}

export interface StoredUser {
  name: string;
  /** base32, the current secret. */
  secret: string;
  /** ISO 8601: when the current secret was issued. */
  secretCreated: string;
  /** Services the user may open; absent: all. */
  services?: string[];
  /** A disabled user's sequences are not loaded; the secret is kept for `enable`. */
  disabled: boolean;
  /** Older secrets still accepted during a rotation's grace period. */
  previous: PreviousSecret[];
  /** Also accept knocks derived from the 6-digit authenticator-app code (`knock --code`). */
  codeMode: boolean;
}

export const STORE_FILE_SUFFIX = '.yaml';
const HEADER =
  '# otpknockd user store: written by `otpknockd user`, do not edit by hand.\n# Holds a secret: keep it mode 0600, owned by root.\n';

const iso = z
  .string({ error: 'expected an ISO 8601 time' })
  .refine((s) => Number.isFinite(Date.parse(s)), { error: 'expected an ISO 8601 time, e.g. 2026-01-31T12:00:00Z' });
const fileSchema = z.strictObject({
  name: z
    .string({ error: 'expected the user name' })
    .refine((n) => userNameProblem(n) === undefined, { error: `expected ${USER_NAME_RULE}` }),
  secret: z.string({ error: 'expected base32 text' }).min(1),
  secret_created: iso,
  services: z
    .array(z.string({ error: 'expected a service name' }), { error: 'expected a list of service names' })
    .optional(),
  disabled: z.boolean({ error: 'expected true or false' }).optional(),
  code_mode: z.boolean({ error: 'expected true or false' }).optional(),
  previous_secrets: z
    .array(z.strictObject({ secret: z.string({ error: 'expected base32 text' }).min(1), until: iso }), {
      error: 'expected a list of { secret, until }',
    })
    .optional(),
});

const FILE_KEYS = Object.keys(fileSchema.shape);
const PREVIOUS_KEYS = ['secret', 'until'];

/** The file name of a user's record. */
export const recordFileName = (name: string): string => `${name}${STORE_FILE_SUFFIX}`;

/**
 * Parses a record file. Returns the record, or the problems (each naming the file,
 * line and field; never quoting a secret). The name inside must match the file name.
 */
export function parseUserRecord(
  text: string,
  file: string,
  expectedName: string,
): { user?: StoredUser; issues: FileIssue[] } {
  const src = readYaml(text);
  const reporter = new IssueReporter(file, src);
  const { issues } = reporter;
  const report = (path: FieldPath, message: string) => reporter.report(path, message);
  if (src.errors.length > 0) {
    reporter.addSyntaxErrors(src.errors);
    return { issues };
  }
  const d = reporter.check(fileSchema, src.data, [], (rel) =>
    rel.includes('previous_secrets') ? PREVIOUS_KEYS : FILE_KEYS,
  );
  if (d === undefined) return { issues };
  if (d.name !== expectedName)
    report(
      ['name'],
      `names user ${d.name} but the file is for ${expectedName}; rename the file or run otpknockd user remove`,
    );
  const checkSecret = (text: string, path: FieldPath) => {
    try {
      decodeSecret(text, pathText(path));
    } catch (e) {
      if (!(e instanceof OtpknockError)) throw e;
      report(path, e.what); // decodeSecret never quotes the secret
    }
  };
  checkSecret(d.secret, ['secret']);
  (d.previous_secrets ?? []).forEach((p, i) => checkSecret(p.secret, ['previous_secrets', i, 'secret']));
  if (issues.length > 0) return { issues };
  const user: StoredUser = {
    name: d.name,
    secret: d.secret,
    secretCreated: d.secret_created,
    disabled: d.disabled ?? false,
    previous: (d.previous_secrets ?? []).map((p) => ({ secret: p.secret, until: p.until })),
    codeMode: d.code_mode ?? false,
  };
  if (d.services !== undefined) user.services = d.services;
  return { user, issues };
}

/** The text of a record file. */
export function formatUserRecord(u: StoredUser): string {
  const doc: Record<string, unknown> = { name: u.name, secret: u.secret, secret_created: u.secretCreated };
  if (u.services !== undefined) doc.services = u.services;
  if (u.disabled) doc.disabled = true;
  if (u.codeMode) doc.code_mode = true;
  if (u.previous.length > 0) doc.previous_secrets = u.previous.map((p) => ({ secret: p.secret, until: p.until }));
  return HEADER + stringify(doc, { lineWidth: 0 });
}

/** Previous secrets whose grace has not ended at `nowMs`. */
export function liveGrace(u: StoredUser, nowMs: number): PreviousSecret[] {
  return u.previous.filter((p) => Date.parse(p.until) > nowMs);
}
