// Which users' imported profiles a config change breaks: a change of the knock block,
// of an exclude list, or of a service port inside the range changes the sequences of
// every user it reaches, silently. check, apply and the daemon's reload name them, so
// the operator knows who needs `otpknockd user uri NAME` again. Pure.
import { PROFILE_FIELDS, type KnockProfile, type ProfileField } from '@otpknock/shared';
import type { ServerConfig, UserConfig } from '../config/types.js';
import { clientPayload } from './onboarding.js';

export interface ProfileChange {
  user: string;
  /** What differs, as the URI names it: profile fields, `port`, `payload`. */
  fields: string[];
}

/**
 * A field as far as it changes the sequences: an excluded port outside the range (a
 * service on 22) takes nothing from the pool, and a list-modulo or static profile
 * draws from no range at all.
 */
function effective(p: KnockProfile, f: ProfileField): unknown {
  if (f !== 'exclude') return p[f];
  if (p.method !== 'time' && p.method !== 'prng') return [];
  return [...new Set(p.exclude)].filter((x) => x >= p.range.min && x <= p.range.max).sort((a, b) => a - b);
}

const firstPort = (config: ServerConfig, user: UserConfig) =>
  config.services.find((s) => user.services.includes(s.name))?.port;

/** Users in both configs whose profile (what their URI carries) differs. */
export function profileChanges(before: ServerConfig, after: ServerConfig): ProfileChange[] {
  const changes: ProfileChange[] = [];
  for (const next of after.users) {
    const prev = before.users.find((u) => u.name === next.name);
    if (prev === undefined) continue;
    const fields: string[] = PROFILE_FIELDS.filter(
      (f: ProfileField) => JSON.stringify(effective(prev.profile, f)) !== JSON.stringify(effective(next.profile, f)),
    );
    if (firstPort(before, prev) !== firstPort(after, next)) fields.push('port');
    if (clientPayload(before.payload) !== clientPayload(after.payload)) fields.push('payload');
    if (fields.length > 0) changes.push({ user: next.name, fields });
  }
  return changes;
}

/** One line for the operator: who must import a new URI, and why. */
export function profileChangesText(changes: readonly ProfileChange[]): string {
  const who = changes.map((c) => `${c.user} (${c.fields.join(', ')})`).join(', ');
  const names = changes.map((c) => c.user);
  return `the knock profile changes for ${changes.length === 1 ? 'user' : 'users'} ${who}: their sequences change, so their imported profiles stop working; give ${names.length === 1 ? 'them' : 'each of them'} a new one with: ${names.map((n) => `otpknockd user uri ${n}`).join('; ')}`;
}
