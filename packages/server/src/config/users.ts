// `users:`: the users written in the config itself — name, the services each may
// open, the secret, the knock profile.
import { USER_NAME_RULE, userNameProblem } from '@otpknock/shared';
import { KEYS, describe, keysIn, userSchema, type RawUser } from './schema.js';
import type { UserConfig } from './types.js';
import type { FieldPath } from '../yaml/source.js';
import { isMapping, type ParseContext } from './parse-context.js';
import type { KnockProfiles } from './knock-profiles.js';
import { readUserSecret, type SecretOwners } from './user-secrets.js';

export interface UserSections {
  /** Names of the services defined under services:. */
  serviceNames: readonly string[];
  knock: KnockProfiles;
  secrets: SecretOwners;
}

/** The valid users of `users:` (each problem reported). With a user store, the section may be empty. */
export function parseConfigUsers(ctx: ParseContext, deps: UserSections): UserConfig[] {
  const value = ctx.data.users;
  const users: UserConfig[] = [];
  if (value === undefined || value === null || (isMapping(value) && Object.keys(value).length === 0)) {
    if (typeof ctx.data.user_store !== 'string' && ctx.data.fleet === undefined) {
      ctx.report.report(
        ['users'],
        `${value === undefined ? 'missing' : 'empty'}; expected at least one user: a daemon with no users would lock everybody out of the protected services`,
      );
    }
    return users;
  }
  if (!isMapping(value)) {
    ctx.report.report(
      ['users'],
      `expected a mapping of user names to settings, e.g. "alice: { secret_file: secrets/alice }", got ${describe(value)}`,
    );
    return users;
  }
  for (const [name, settings] of Object.entries(value)) {
    const user = parseUser(ctx, name, settings, deps);
    if (user !== undefined) users.push(user);
  }
  return users;
}

function parseUser(ctx: ParseContext, name: string, settings: unknown, deps: UserSections): UserConfig | undefined {
  const at = ['users', name];
  const nameProblem = userNameProblem(name);
  if (nameProblem !== undefined)
    ctx.report.report(at, `invalid user name; expected ${USER_NAME_RULE}; it ${nameProblem}`);
  const raw = ctx.report.check(userSchema, settings, at, keysIn(KEYS.user));
  if (raw === undefined) return undefined;
  let ok = nameProblem === undefined;

  const allowed = allowedServices(ctx, at, raw, deps.serviceNames);
  if (allowed === undefined) ok = false;

  const secret = readUserSecret(ctx, name, raw.secret, raw.secret_file);
  if (secret === undefined) ok = false;
  else {
    const other = deps.secrets.claim(secret.bytes, name);
    if (other !== undefined) {
      ctx.report.report(
        [...at, secret.field],
        `user ${name} has the same secret as user ${other}; every user needs a secret of their own, or the kernel could not tell them apart`,
      );
      ok = false;
    }
  }

  // The knock profile: global block, the user's own on top, services excluded.
  const profile = deps.knock.profileFor(name, raw.knock);
  if (!ok || secret === undefined || profile === undefined || allowed === undefined) return undefined;
  return {
    name,
    secret: secret.bytes,
    secretSource: secret.source,
    services: allowed,
    profile,
    ...(raw.code_mode ? { codeMode: true } : {}),
  };
}

/** The services user `at` may open: its list (checked against services:), or all. */
function allowedServices(
  ctx: ParseContext,
  at: FieldPath,
  raw: RawUser,
  serviceNames: readonly string[],
): string[] | undefined {
  if (raw.services === undefined) return [...serviceNames];
  let ok = true;
  if (raw.services.length === 0) {
    ctx.report.report(
      [...at, 'services'],
      'empty list; name at least one service, or leave the field out to allow all services',
    );
    ok = false;
  }
  const seen = new Set<string>();
  raw.services.forEach((s, i) => {
    if (!serviceNames.includes(s)) {
      const defined = serviceNames.length > 0 ? serviceNames.join(', ') : 'none';
      ctx.report.report(
        [...at, 'services', i],
        `unknown service ${JSON.stringify(s)}; expected one of the services defined under services: ${defined}`,
      );
      ok = false;
    } else if (seen.has(s)) {
      ctx.report.report([...at, 'services', i], `service ${s} is listed twice`);
      ok = false;
    }
    seen.add(s);
  });
  return ok ? [...seen] : undefined;
}
