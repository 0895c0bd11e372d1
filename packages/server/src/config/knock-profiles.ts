// Knock profiles: the global `knock:` block, a user's own block on top of it, the
// protected services' ports excluded. A problem of a profile that several users get
// from the global block is listed once, naming them.
import { OtpknockError, normalizeProfile, type KnockProfile, type KnockProfileInput } from '@otpknock/shared';
import { joinHint } from './errors.js';
import { DEFAULTS, KEYS, keysIn, knockSchema, type RawKnock } from './schema.js';
import { pathText, type FieldPath } from '../yaml/source.js';
import type { ParseContext } from './parse-context.js';

const METHOD_FIELDS = ['ports', 'open', 'close', 'toggle'] as const;

/** The global `knock:` block (the knock defaults of every user), when it is valid. */
export function parseGlobalKnock(ctx: ParseContext): RawKnock | undefined {
  const value = ctx.data.knock;
  return value === undefined ? undefined : ctx.report.check(knockSchema, value, ['knock'], keysIn(KEYS.knock));
}

export class KnockProfiles {
  private readonly own = new Map<string, RawKnock | undefined>();
  private readonly issues = new Map<string, { path: FieldPath; what: string; users: string[] }>();

  /** global: the valid global block; servicePorts: never knock ports. */
  constructor(
    private readonly ctx: ParseContext,
    private readonly global: RawKnock | undefined,
    private readonly servicePorts: readonly number[],
  ) {}

  /** Where user `name`'s knock profile is written: the user's own block, or the user. */
  knockAt(name: string): FieldPath {
    return this.own.get(name) === undefined ? ['users', name] : ['users', name, 'knock'];
  }

  /** The static `kind` sequence of user `name`: the block that sets it. */
  staticSequenceAt(name: string, kind: 'open' | 'close'): FieldPath {
    const own = this.own.get(name);
    if (own?.[kind] !== undefined) return ['users', name, 'knock', kind];
    if (this.global?.[kind] !== undefined) return ['knock', kind];
    return own !== undefined ? ['users', name, 'knock'] : ['users', name];
  }

  /** The profile of user `name` (own: the user's own block), or undefined when it is invalid (the problem kept for reportIssues). */
  profileFor(name: string, own: RawKnock | undefined): KnockProfile | undefined {
    this.own.set(name, own);
    const where = own === undefined ? 'knock' : `users.${name}.knock`;
    const global = profileInput(this.global);
    const mine = profileInput(own);
    // Sequences and port lists belong to one method: a user who picks another
    // method than the global block does not inherit them.
    if (mine.method !== undefined && mine.method !== (global.method ?? DEFAULTS.method)) {
      for (const field of METHOD_FIELDS) delete global[field];
    }
    const exclude = [...new Set([...(this.global?.exclude ?? []), ...(own?.exclude ?? []), ...this.servicePorts])].sort((a, b) => a - b);
    const input: KnockProfileInput = { method: DEFAULTS.method, ...global, ...mine, exclude };
    try {
      return normalizeProfile(input, where);
    } catch (e) {
      if (!(e instanceof OtpknockError)) throw e;
      const path = this.profileErrorPath(e.where, where, own);
      const what = joinHint(e).replaceAll('tokenBytes', 'token_bytes');
      const key = `${pathText(path)}\0${what}`;
      const entry = this.issues.get(key);
      if (entry) entry.users.push(name);
      else this.issues.set(key, { path, what, users: [name] });
      return undefined;
    }
  }

  /** Reports the profiles' problems, each once; one of the global block names the users it reached. */
  reportIssues(): void {
    for (const { path, what, users } of this.issues.values()) {
      const global = path[0] === 'knock';
      this.ctx.report.report(path, global ? `${what} (in the knock profile of ${users.length === 1 ? 'user' : 'users'} ${users.join(', ')})` : what);
    }
  }

  /** Points a normalizeProfile error at the block that actually holds the bad field. */
  private profileErrorPath(errorWhere: string | undefined, where: string, own: RawKnock | undefined): FieldPath {
    const block: FieldPath = where === 'knock' ? ['knock'] : where.split('.');
    // A problem with no field of its own (e.g. method list-modulo without ports) is
    // the doing of the block that chose the method: the global one, unless the user's
    // own block sets a method. Then it is listed once for all users who inherit it.
    const fallback: FieldPath = own?.method === undefined && this.global?.method !== undefined ? ['knock'] : block;
    if (errorWhere === undefined || !errorWhere.startsWith(where)) return fallback;
    const rest = errorWhere.slice(where.length);
    const fields: (string | number)[] = [];
    for (const m of rest.matchAll(/\.([^.[\]]+)|\[(\d+)\]/g)) {
      fields.push(m[2] !== undefined ? Number(m[2]) : snakeCase(m[1] ?? ''));
    }
    const first = fields[0];
    if (typeof first !== 'string') return fallback;
    if (own !== undefined && first in own) return [...block, ...fields];
    if (this.global !== undefined && first in this.global) return ['knock', ...fields];
    return fallback;
  }
}

function profileInput(raw: RawKnock | undefined): Partial<KnockProfileInput> {
  if (raw === undefined) return {};
  const { token_bytes, exclude: _exclude, ...rest } = raw;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) out[k] = v;
  if (token_bytes !== undefined) out.tokenBytes = token_bytes;
  return out as Partial<KnockProfileInput>;
}

function snakeCase(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
