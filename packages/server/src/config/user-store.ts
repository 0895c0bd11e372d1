// The users of the user store (`user_store:`, written by `otpknockd user`), merged
// with the config's own: each record is a private file of its own, judged and
// parsed here with its problems located in it; a name in both places is an error.
import { USER_NAME_RULE, decodeSecret, userNameProblem } from '@otpknock/shared';
import { readFailure, secretFileProblem } from './secret-file.js';
import type { UserConfig } from './types.js';
import { parseUserRecord, type StoredUser } from '../users/record.js';
import type { StoreEntry, StoreListing } from '../users/store.js';
import type { ParseContext } from './parse-context.js';
import type { KnockProfiles } from './knock-profiles.js';
import type { SecretOwners } from './user-secrets.js';

export interface StoreSections {
  /** Users defined under users: (valid or not). */
  configUserNames: readonly string[];
  serviceNames: readonly string[];
  knock: KnockProfiles;
  secrets: SecretOwners;
}

export function storeUsers(ctx: ParseContext, store: StoreListing, deps: StoreSections): UserConfig[] {
  if (store.error !== undefined) {
    ctx.report.add({ file: store.dir, path: '', message: store.error });
    return [];
  }
  const users: UserConfig[] = [];
  for (const entry of store.entries) {
    const record = readRecord(ctx, entry);
    const user = record && storeUser(ctx, entry.file, record, deps);
    if (user !== undefined) users.push(user);
  }
  return users;
}

/** The record in a store file, or undefined (reported) when the file cannot be used. */
function readRecord(ctx: ParseContext, entry: StoreEntry): StoredUser | undefined {
  const storeIssue = (message: string) => ctx.report.add({ file: entry.file, path: '', message });
  const nameProblem = userNameProblem(entry.name);
  if (nameProblem !== undefined) {
    storeIssue(
      `the file name is not a valid user name followed by .yaml (the name ${nameProblem}; expected ${USER_NAME_RULE}); move the file out of the store`,
    );
    return undefined;
  }
  if (entry.info === undefined) {
    storeIssue(readFailure(entry.file, entry.error, ctx.daemonUid));
    return undefined;
  }
  const problem = secretFileProblem(entry.file, entry.info, ctx.daemonUid);
  if (problem !== undefined || entry.info.text === undefined) {
    storeIssue(problem ?? `cannot read ${entry.file}`);
    return undefined;
  }
  const parsed = parseUserRecord(entry.info.text, entry.file, entry.name);
  for (const issue of parsed.issues) ctx.report.add(issue);
  return parsed.user;
}

function storeUser(ctx: ParseContext, file: string, rec: StoredUser, deps: StoreSections): UserConfig | undefined {
  const storeIssue = (path: string, message: string) => ctx.report.add({ file, path, message });
  if (deps.configUserNames.includes(rec.name)) {
    storeIssue(
      'name',
      `user ${rec.name} is defined both in ${ctx.file} and in the user store; remove one (otpknockd user remove ${rec.name}, or delete it from users:)`,
    );
    return undefined;
  }
  let ok = true;
  const allowed = rec.services ?? deps.serviceNames;
  allowed.forEach((s, i) => {
    if (!deps.serviceNames.includes(s)) {
      storeIssue(
        `services[${i}]`,
        `unknown service ${JSON.stringify(s)}; expected one of the services defined under services in ${ctx.file}: ${deps.serviceNames.join(', ') || 'none'}`,
      );
      ok = false;
    }
  });
  const secret = decodeSecret(rec.secret, `${file}: secret`);
  const other = deps.secrets.claim(secret, rec.name);
  if (other !== undefined) {
    storeIssue(
      'secret',
      `user ${rec.name} has the same secret as user ${other}; issue a new one with otpknockd user rotate ${rec.name}`,
    );
    ok = false;
  }
  const profile = deps.knock.profileFor(rec.name, undefined);
  if (!ok || profile === undefined) return undefined;
  const nowMs = ctx.options.nowMs ?? Date.now();
  const grace = rec.previous
    .map((p) => ({ secret: decodeSecret(p.secret, `${file}: previous_secrets`), untilMs: Date.parse(p.until) }))
    .filter((p) => p.untilMs > nowMs)
    .sort((a, b) => b.untilMs - a.untilMs);
  return {
    name: rec.name,
    secret,
    secretSource: `user store ${file}`,
    services: [...allowed],
    profile,
    origin: 'store',
    secretCreatedMs: Date.parse(rec.secretCreated),
    ...(rec.disabled ? { disabled: true } : {}),
    ...(grace.length > 0 ? { graceSecrets: grace } : {}),
    ...(rec.codeMode ? { codeMode: true } : {}),
  };
}
