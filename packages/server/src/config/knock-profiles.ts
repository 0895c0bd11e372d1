// Knock profiles: the global `knock:` block, a user's own block on top of it, the
// protected services' ports excluded. What a profile may be is the profile schema of
// @otpknock/shared's; this file only says where in the config each of its issues is:
// a block's own fields in that block; a rule between fields (a range too small for
// the length) in the block that holds the field, or else in the block that chose the
// method. A problem that several users get from the global block is listed once,
// naming them.
import {
  METHOD_FIELDS,
  PROFILE_DEFAULTS,
  PROFILE_FIELDS,
  checkProfile,
  checkProfileFields,
  type KnockProfile,
  type ProfileField,
  type ProfileFields,
  type ProfileIssue,
} from '@otpknock/shared';
import { joinHint } from './errors.js';
import { KEYS, KNOCK_KEYS, describe, knockKey } from './schema.js';
import { unknownField } from '../yaml/issues.js';
import { pathText, type FieldPath } from '../yaml/source.js';
import { isMapping, type Mapping, type ParseContext } from './parse-context.js';

/** The config's words: snake_case field names, and bad values repeated. */
const WORDING = { fieldName: knockKey };

/** A knock block as found: where it is, the fields it sets, and those that are valid. */
export interface KnockBlock {
  at: FieldPath;
  /** The profile fields the block sets (valid or not). */
  sets: ReadonlySet<ProfileField>;
  fields: ProfileFields;
  /** Whether every field of the block is valid. */
  ok: boolean;
}

/**
 * Reads the knock block at `at` (undefined when there is none): a mapping of known
 * keys, each field judged on its own by the profile schema. Issues of the block go to
 * `onIssue` (the global block's wait for the users it reaches).
 */
export function readKnockBlock(
  ctx: ParseContext,
  value: unknown,
  at: FieldPath,
  onIssue: (path: FieldPath, message: string) => void = (p, m) => ctx.report.report(p, m),
): KnockBlock | undefined {
  if (value === undefined) return undefined;
  if (!isMapping(value)) {
    ctx.report.report(
      at,
      `expected a mapping of knock settings, e.g. { method: time, length: 3 }, got ${describe(value)}`,
    );
    return { at, sets: new Set(), fields: {}, ok: false };
  }
  let ok = true;
  const input: Record<string, unknown> = {};
  const sets = new Set<ProfileField>();
  for (const [key, v] of Object.entries(value)) {
    const field = PROFILE_FIELDS.find((f) => KNOCK_KEYS[f] === key);
    if (field === undefined) {
      ctx.report.report([...at, key], unknownField(key, KEYS.knock));
      ok = false;
      continue;
    }
    input[field] = v;
    sets.add(field);
    if (field === 'range' && isMapping(v)) ok = rangeKeysOk(ctx, v, [...at, key]) && ok;
  }
  const { fields, issues } = checkProfileFields(input, WORDING);
  for (const issue of issues) onIssue(blockPath(at, issue.path), oneSentence(issue));
  return { at, sets, fields, ok: ok && issues.length === 0 };
}

function rangeKeysOk(ctx: ParseContext, range: Mapping, at: FieldPath): boolean {
  const unknown = Object.keys(range).filter((k) => !KEYS.range.includes(k));
  for (const key of unknown) ctx.report.report([...at, key], unknownField(key, KEYS.range));
  return unknown.length === 0;
}

/** An issue's path inside a block → its place in the file, fields as the file spells them. */
function blockPath(at: FieldPath, path: ProfileIssue['path']): FieldPath {
  const [field, ...rest] = path;
  return field === undefined ? at : [...at, knockKey(field), ...rest];
}

const oneSentence = (issue: ProfileIssue): string =>
  joinHint({ what: issue.message, ...(issue.hint === undefined ? {} : { hint: issue.hint }) });

interface Problem {
  path: FieldPath;
  what: string;
  /** The users whose profile has it. */
  users: string[];
}

export class KnockProfiles {
  private readonly own = new Map<string, KnockBlock | undefined>();
  /** Problems of the global block's own fields: listed with the users that get the field. */
  private readonly globalIssues: Problem[] = [];
  /** Problems between fields, by place and words. */
  private readonly issues = new Map<string, Problem>();
  private readonly global: KnockBlock | undefined;

  /** The global block is read here; servicePorts are never knock ports. */
  constructor(
    private readonly ctx: ParseContext,
    private readonly servicePorts: readonly number[],
  ) {
    this.global = readKnockBlock(ctx, ctx.data.knock, ['knock'], (path, what) =>
      this.globalIssues.push({ path, what, users: [] }),
    );
  }

  /** Where user `name`'s knock profile is written: the user's own block, or the user. */
  knockAt(name: string): FieldPath {
    return this.own.get(name) === undefined ? ['users', name] : ['users', name, 'knock'];
  }

  /** The static `kind` sequence of user `name`: the block that sets it. */
  staticSequenceAt(name: string, kind: 'open' | 'close'): FieldPath {
    const own = this.own.get(name);
    if (own?.sets.has(kind)) return ['users', name, 'knock', kind];
    if (this.global?.sets.has(kind)) return ['knock', kind];
    return own !== undefined ? ['users', name, 'knock'] : ['users', name];
  }

  /**
   * The profile of user `name` (ownValue: the user's own `knock:` value), or undefined
   * when it is invalid (its problems kept for reportIssues).
   */
  profileFor(name: string, ownValue: unknown): KnockProfile | undefined {
    const own = readKnockBlock(this.ctx, ownValue, ['users', name, 'knock']);
    this.own.set(name, own);
    for (const issue of this.globalIssues) if (this.inherits(own, issue.path[1])) issue.users.push(name);
    // Rules between fields only for fields that are valid each on its own.
    if (own?.ok === false || this.global?.ok === false) return undefined;
    const checked = checkProfile(this.merged(own), WORDING);
    for (const issue of checked.issues) {
      const path = this.placeOf(issue, own);
      const what = oneSentence(issue);
      const key = `${pathText(path)}\0${what}`;
      const problem = this.issues.get(key) ?? { path, what, users: [] };
      this.issues.set(key, problem);
      problem.users.push(name);
    }
    return checked.profile;
  }

  /** Reports the profiles' problems, each once; one of the global block names the users it reached. */
  reportIssues(): void {
    for (const { path, what, users } of [...this.globalIssues, ...this.issues.values()]) {
      const global = path[0] === 'knock' && users.length > 0;
      this.ctx.report.report(
        path,
        global
          ? `${what} (in the knock profile of ${users.length === 1 ? 'user' : 'users'} ${users.join(', ')})`
          : what,
      );
    }
  }

  /** Does a user whose own block is `own` get global field `key` (as the file spells it)? */
  private inherits(own: KnockBlock | undefined, key: string | number | undefined): boolean {
    const field = PROFILE_FIELDS.find((f) => KNOCK_KEYS[f] === key);
    if (field === undefined) return true;
    if (field === 'exclude') return true; // merged, not replaced
    if (own?.sets.has(field)) return false;
    return !(METHOD_FIELDS.includes(field) && this.switchesMethod(own));
  }

  /** A user who picks another method than the global block's: its sequences and port lists are not theirs. */
  private switchesMethod(own: KnockBlock | undefined): boolean {
    const mine = own?.fields.method;
    return mine !== undefined && mine !== (this.global?.fields.method ?? PROFILE_DEFAULTS.method);
  }

  private merged(own: KnockBlock | undefined): Record<string, unknown> {
    const global: ProfileFields = { ...this.global?.fields };
    if (this.switchesMethod(own)) for (const field of METHOD_FIELDS) delete global[field];
    const exclude = [...(this.global?.fields.exclude ?? []), ...(own?.fields.exclude ?? []), ...this.servicePorts];
    return { ...global, ...own?.fields, exclude };
  }

  /**
   * The block that holds the field an issue between fields names; a problem with no
   * field of its own there (method list-modulo without ports) is the doing of the
   * block that chose the method: the global one, unless the user's own sets a method.
   */
  private placeOf(issue: ProfileIssue, own: KnockBlock | undefined): FieldPath {
    const field = issue.path[0];
    if (field !== undefined && own?.sets.has(field)) return blockPath(own.at, issue.path);
    if (field !== undefined && this.global?.sets.has(field) && this.inherits(own, knockKey(field)))
      return blockPath(['knock'], issue.path);
    if (own?.sets.has('method') !== true && this.global?.sets.has('method')) return ['knock'];
    return own?.at ?? ['knock'];
  }
}
