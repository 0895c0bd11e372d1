// The knock profile schema (docs/protocol.md §2): the one place that says what a
// profile's fields are, their defaults and ranges, and which fields each method takes.
// It returns located issues — a path of fields and a message — that every format maps
// to its own locations with the same words: the daemon's config
// (`FILE:LINE: knock.token_bytes: …`), an otpauth URI (`parameter "tokenBytes"`),
// knock's store (`profiles.NAME.knock.tokenBytes`) and knock add's options.
import { OtpknockError, fieldPath, quote } from './errors.js';
import type { KnockMethod, KnockProfile, KnockProfileInput, OtpAlgorithm, PortRange } from './types.js';

export const KNOCK_METHODS: readonly KnockMethod[] = ['time', 'list-modulo', 'prng', 'static'];
export const OTP_ALGORITHMS: readonly OtpAlgorithm[] = ['SHA1', 'SHA256', 'SHA512'];
export const MAX_SEQUENCE_LENGTH = 8;
export const MAX_PERIOD_SECONDS = 3600;

/** The fields of a profile, in the order the protocol lists them (and issues come). */
export const PROFILE_FIELDS = [
  'method',
  'length',
  'period',
  'algorithm',
  'range',
  'exclude',
  'ports',
  'open',
  'close',
  'toggle',
  'tokenBytes',
] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

/** Fields that belong to one method: a profile that changes the method does not keep them. */
export const METHOD_FIELDS: readonly ProfileField[] = ['ports', 'open', 'close', 'toggle'];

export const PROFILE_DEFAULTS = {
  method: 'time',
  length: 3,
  period: 30,
  algorithm: 'SHA1',
  range: { min: 10000, max: 65000 },
  tokenBytes: 0,
} as const;

/** Where in a profile a problem is: a field, then list indexes or sub-fields (`['ports', 5]`, `['range', 'min']`); `[]` is the profile as a whole. */
export type ProfilePath = readonly [] | readonly [ProfileField, ...(string | number)[]];

/** One thing wrong with a profile. */
export interface ProfileIssue {
  path: ProfilePath;
  /** What is wrong, naming fields as the format spells them. Never a secret. */
  message: string;
  /** What to do, as a sentence without its full stop. */
  hint?: string;
}

/** How a format words a profile's problems. */
export interface ProfileWording {
  /** A field as the format spells it (the daemon's config: `token_bytes`). Default: the protocol's name. */
  fieldName?: (field: ProfileField) => string;
  /**
   * Whether messages may repeat a bad text value. Not for an otpauth URI: a URI pasted
   * with a character lost can carry the secret in any parameter. Default true.
   */
  showText?: boolean;
}

/** The values of the fields present and valid, parsed (range as numbers, algorithm in upper case). */
export interface ProfileFields {
  method?: KnockMethod;
  length?: number;
  period?: number;
  algorithm?: OtpAlgorithm;
  range?: PortRange;
  exclude?: number[];
  ports?: number[];
  open?: number[];
  close?: number[];
  toggle?: boolean;
  tokenBytes?: number;
}

export type ProfileCheck =
  { profile: KnockProfile; issues: readonly [] } | { profile?: undefined; issues: ProfileIssue[] };

type Path = ProfilePath;

/** Collects issues in the format's words. */
class Report {
  readonly issues: ProfileIssue[] = [];
  private readonly fieldName: (field: ProfileField) => string;
  private readonly showText: boolean;

  constructor(wording: ProfileWording) {
    this.fieldName = wording.fieldName ?? ((f) => f);
    this.showText = wording.showText ?? true;
  }

  name(field: ProfileField): string {
    return this.fieldName(field);
  }

  /** A value as messages repeat it; undefined for text a URI must not repeat. */
  shown(value: unknown): string | undefined {
    if (typeof value === 'string' && !this.showText) return undefined;
    return describeValue(value);
  }

  /** ", got VALUE", or nothing where the value must not be repeated. */
  got(value: unknown): string {
    const shown = this.shown(value);
    return shown === undefined ? '' : `, got ${shown}`;
  }

  add(path: Path, message: string, hint?: string): undefined {
    this.issues.push(hint === undefined ? { path, message } : { path, message, hint });
    return undefined;
  }
}

/** A short, secret-free description of a value for "got …" in messages. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return quote(value, 40);
  return String(value);
}

/** `['ports', 5]` → `ports[5]`, `['range', 'min']` → `range.min`, in the format's spelling. */
export function profilePathText(path: ProfilePath, fieldName: (field: ProfileField) => string = (f) => f): string {
  let out = '';
  path.forEach((segment, i) => {
    const key = i === 0 ? fieldName(segment as ProfileField) : segment;
    out += typeof key === 'number' ? `[${key}]` : out === '' ? key : `.${key}`;
  });
  return out;
}

const isMapping = (v: unknown): v is Readonly<Record<string, unknown>> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function choice<T extends string>(
  r: Report,
  field: ProfileField,
  v: unknown,
  choices: readonly T[],
  normal: (s: string) => string = (s) => s,
): T | undefined {
  const found = typeof v === 'string' ? choices.find((c) => c === normal(v)) : undefined;
  if (found !== undefined) return found;
  const expected = `expected one of ${choices.join(', ')}`;
  return r.add([field], r.shown(v) === undefined ? `unknown ${r.name(field)}; ${expected}` : `${expected}${r.got(v)}`);
}

function integer(
  r: Report,
  field: ProfileField,
  v: unknown,
  min: number,
  max: number,
  what = r.name(field),
): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
  return r.add([field], `${what} must be a whole number ${min}–${max}${r.got(v)}`);
}

function port(r: Report, v: unknown, path: Path): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535) return v;
  const expected = 'expected a port number (an integer from 1 to 65535)';
  return r.add(path, v === undefined ? `missing; ${expected}` : `${expected}${r.got(v)}`);
}

function portList(r: Report, field: ProfileField, v: unknown): number[] | undefined {
  if (!Array.isArray(v)) return r.add([field], `expected a list of ports, e.g. [7000, 8000, 9000]${r.got(v)}`);
  const before = r.issues.length;
  const ports = (v as unknown[]).map((p, i) => port(r, p, [field, i]));
  return r.issues.length === before ? (ports as number[]) : undefined;
}

function range(r: Report, v: unknown): PortRange | undefined {
  const expected = 'expected a port range such as 10000-65000 or {min: 10000, max: 65000}';
  let min: unknown;
  let max: unknown;
  if (typeof v === 'string') {
    // An en dash is allowed for the hyphen (§2): ranges get pasted from documents.
    const m = /^\s*(\d+)\s*[-–]\s*(\d+)\s*$/.exec(v);
    if (!m) return r.add(['range'], `${expected}${r.got(v)}`);
    min = Number(m[1]);
    max = Number(m[2]);
  } else if (isMapping(v)) {
    ({ min, max } = v);
  } else {
    return r.add(['range'], `${expected}${r.got(v)}`);
  }
  const lo = port(r, min, ['range', 'min']);
  const hi = port(r, max, ['range', 'max']);
  if (lo === undefined || hi === undefined) return undefined;
  if (lo > hi) return r.add(['range'], `min ${lo} is above max ${hi}`, 'Swap them');
  return { min: lo, max: hi };
}

const FIELD_CHECKS: { [F in ProfileField]-?: (r: Report, v: unknown) => ProfileFields[F] | undefined } = {
  method: (r, v) => choice(r, 'method', v, KNOCK_METHODS),
  length: (r, v) => integer(r, 'length', v, 1, MAX_SEQUENCE_LENGTH),
  period: (r, v) => integer(r, 'period', v, 1, MAX_PERIOD_SECONDS, `${r.name('period')} (seconds)`),
  algorithm: (r, v) => choice(r, 'algorithm', v, OTP_ALGORITHMS, (a) => a.toUpperCase().replace('-', '')),
  range: (r, v) => range(r, v),
  exclude: (r, v) => portList(r, 'exclude', v),
  ports: (r, v) => portList(r, 'ports', v),
  open: (r, v) => portList(r, 'open', v),
  close: (r, v) => portList(r, 'close', v),
  toggle: (r, v) => (typeof v === 'boolean' ? v : r.add(['toggle'], `expected true or false${r.got(v)}`)),
  tokenBytes: (r, v) =>
    typeof v === 'number' && Number.isInteger(v) && (v === 0 || (v >= 4 && v <= 16))
      ? v
      : r.add(['tokenBytes'], `${r.name('tokenBytes')} must be 0 (no token) or a whole number 4–16${r.got(v)}`),
};

function fieldsOf(r: Report, input: Readonly<Record<string, unknown>>): ProfileFields {
  const fields: ProfileFields = {};
  const set = <F extends ProfileField>(field: F, value: ProfileFields[F] | undefined) => {
    if (value !== undefined) fields[field] = value;
  };
  for (const field of PROFILE_FIELDS) {
    const v = input[field];
    if (v !== undefined) set(field, FIELD_CHECKS[field](r, v));
  }
  return fields;
}

/**
 * Each field of a partial profile on its own (type, choices, bounds): for a format
 * that builds a profile from several blocks (the daemon's global `knock` and a user's
 * own), so that each block's problems are found in that block. Unknown keys are left
 * to the format (it knows how it spells the fields).
 */
export function checkProfileFields(
  input: Readonly<Record<string, unknown>>,
  wording: ProfileWording = {},
): { fields: ProfileFields; issues: ProfileIssue[] } {
  const r = new Report(wording);
  const fields = fieldsOf(r, input);
  return { fields, issues: r.issues };
}

/**
 * Checks a whole profile: every field, then the defaults, then the rules between
 * fields and methods. Returns the profile with defaults filled in, or every issue
 * (those between fields only when the fields themselves are valid).
 */
export function checkProfile(input: unknown, wording: ProfileWording = {}): ProfileCheck {
  const r = new Report(wording);
  if (!isMapping(input)) {
    r.add([], `expected a knock profile object (method and its parameters)${r.got(input)}`);
    return { issues: r.issues };
  }
  const fields = fieldsOf(r, input);
  if (r.issues.length > 0) return { issues: r.issues };
  const profile = withDefaults(fields);
  methodRules(r, profile, fields);
  return r.issues.length > 0 ? { issues: r.issues } : { profile, issues: [] };
}

function withDefaults(f: ProfileFields): KnockProfile {
  const method = f.method ?? PROFILE_DEFAULTS.method;
  const open = f.open ?? [];
  const toggle = f.toggle ?? false;
  return {
    method,
    length: f.length ?? PROFILE_DEFAULTS.length,
    period: f.period ?? PROFILE_DEFAULTS.period,
    algorithm: f.algorithm ?? PROFILE_DEFAULTS.algorithm,
    range: f.range ?? { ...PROFILE_DEFAULTS.range },
    exclude: [...new Set(f.exclude ?? [])].sort((a, b) => a - b),
    ports: f.ports ?? [],
    open,
    // With toggle, the open sequence also closes (§5.4).
    close: method === 'static' && toggle ? [...open] : (f.close ?? []),
    toggle,
    tokenBytes: f.tokenBytes ?? PROFILE_DEFAULTS.tokenBytes,
  };
}

/** Which fields each method takes, and what its pool or sequences need (§2). */
function methodRules(r: Report, p: KnockProfile, given: ProfileFields): void {
  const m = p.method;
  if (p.toggle && m !== 'static')
    r.add(
      ['toggle'],
      `${r.name('toggle')} applies only to method static, not ${m}`,
      'Remove it: one-time methods always have a distinct close sequence',
    );
  if (m !== 'list-modulo' && p.ports.length > 0) {
    r.add(
      ['ports'],
      `${r.name('ports')} applies only to method list-modulo, not ${m}`,
      m === 'static' ? 'Use open (and close) for static sequences' : 'Use range and exclude to shape the pool',
    );
  }
  if (m !== 'static' && (p.open.length > 0 || p.close.length > 0)) {
    r.add(
      [p.open.length > 0 ? 'open' : 'close'],
      `${r.name('open')} and ${r.name('close')} apply only to method static, not ${m}`,
      'One-time methods derive them; remove the field',
    );
  }
  if (r.issues.length > 0) return;
  if (m === 'time' || m === 'prng') poolRule(r, p);
  else if (m === 'list-modulo') listRule(r, p);
  else staticRule(r, p, given.close ?? []);
}

function poolRule(r: Report, p: KnockProfile): void {
  const { range, length } = p;
  const inRange = p.exclude.filter((x) => x >= range.min && x <= range.max).length;
  const size = range.max - range.min + 1 - inRange;
  if (size < 2 * length) {
    r.add(
      ['range'],
      `${r.name('range')} ${range.min}-${range.max} leaves ${size} port${size === 1 ? '' : 's'} after ${inRange} exclusion${inRange === 1 ? '' : 's'}, but ${r.name('length')} ${length} needs ${2 * length} (open and close each take ${length} distinct ports)`,
      `Widen the range, exclude fewer ports or lower ${r.name('length')}`,
    );
  }
}

function listRule(r: Report, p: KnockProfile): void {
  const { ports, length } = p;
  if (ports.length === 0)
    return r.add(['ports'], 'the port list is empty', `List at least ${2 * length} distinct ports`);
  const dup = firstDuplicate(ports);
  if (dup !== undefined) return r.add(['ports'], `port ${dup} is listed twice`, 'Each port may appear once');
  const excluded = new Set(p.exclude);
  const bad = ports.findIndex((x) => excluded.has(x));
  if (bad >= 0)
    return r.add(
      ['ports', bad],
      `port ${ports[bad]} is also in ${r.name('exclude')}`,
      'Remove it from one of the two lists',
    );
  if (ports.length < 2 * length) {
    r.add(
      ['ports'],
      `${ports.length} port${ports.length === 1 ? '' : 's'} listed, but ${r.name('length')} ${length} needs at least ${2 * length} (open and close each take ${length} distinct ports)`,
      `Add ports or lower ${r.name('length')}`,
    );
  }
  return undefined;
}

function staticRule(r: Report, p: KnockProfile, givenClose: readonly number[]): void {
  const excluded = new Set(p.exclude);
  const sequenceOk = (seq: readonly number[], name: 'open' | 'close'): boolean => {
    const before = r.issues.length;
    if (seq.length === 0) r.add([name], `the static ${name} sequence is empty`, `List 1–${MAX_SEQUENCE_LENGTH} ports`);
    else if (seq.length > MAX_SEQUENCE_LENGTH)
      r.add([name], `${seq.length} ports in the ${name} sequence; at most ${MAX_SEQUENCE_LENGTH} are allowed`);
    else {
      const dup = firstDuplicate(seq);
      const bad = seq.findIndex((x) => excluded.has(x));
      if (dup !== undefined)
        r.add([name], `port ${dup} appears twice in the ${name} sequence`, 'A port may appear once per sequence');
      else if (bad >= 0)
        r.add(
          [name, bad],
          `port ${seq[bad]} is in ${r.name('exclude')}`,
          'A knock port must not be a protected or excluded port',
        );
    }
    return r.issues.length === before;
  };
  const openOk = sequenceOk(p.open, 'open');
  if (p.toggle) {
    if (givenClose.length > 0 && !(givenClose.length === p.open.length && isPrefix(givenClose, p.open))) {
      r.add(
        ['close'],
        `a separate close sequence was given although ${r.name('toggle')} is set`,
        `Remove close (${r.name('toggle')} uses the open sequence for both) or turn ${r.name('toggle')} off`,
      );
    }
    return;
  }
  if (p.close.length === 0) {
    r.add(
      ['close'],
      'static close sequence missing',
      `List the close ports, or set ${r.name('toggle')}: true to use the open sequence for both`,
    );
    return;
  }
  if (!sequenceOk(p.close, 'close') || !openOk) return;
  if (isPrefix(p.open, p.close) || isPrefix(p.close, p.open)) {
    const same = p.open.length === p.close.length;
    const [shorter, longer] = p.open.length < p.close.length ? ['open', 'close'] : ['close', 'open'];
    r.add(
      ['close'],
      same
        ? 'close is the same sequence as open'
        : `the ${shorter} sequence is a prefix of the ${longer} sequence, so the knock state machine would never reach the longer one`,
      same ? `Use different ports, or set ${r.name('toggle')}: true` : 'Make them differ in an earlier port',
    );
  }
}

function firstDuplicate(list: readonly number[]): number | undefined {
  const seen = new Set<number>();
  for (const p of list) {
    if (seen.has(p)) return p;
    seen.add(p);
  }
  return undefined;
}

function isPrefix(a: readonly number[], b: readonly number[]): boolean {
  return a.length <= b.length && a.every((p, i) => p === b[i]);
}

/** An issue as an OtpknockError (E_PROFILE), located under `where` (e.g. "users.alice.knock"). */
export function profileIssueError(issue: ProfileIssue, where?: string): OtpknockError {
  const at = issue.path.length === 0 ? (where ?? 'profile') : fieldPath(where, profilePathText(issue.path));
  return new OtpknockError(
    'E_PROFILE',
    issue.message,
    issue.hint === undefined ? { where: at } : { where: at, hint: issue.hint },
  );
}

/**
 * Fills in defaults and validates a profile; throws the first issue as an
 * OtpknockError whose `where` is `where` (e.g. "users.alice.knock") and the field.
 */
export function normalizeProfile(input: KnockProfileInput, where?: string): KnockProfile {
  const checked = checkProfile(input);
  if (checked.profile !== undefined) return checked.profile;
  throw profileIssueError(checked.issues[0]!, where);
}
