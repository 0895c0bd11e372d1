/** Machine-readable error codes; `code` on every OtpknockError. */
export type OtpknockErrorCode =
  'E_SECRET_SHORT' | 'E_SECRET_BASE32' | 'E_SECRET_LONG' | 'E_PROFILE' | 'E_URI' | 'E_WINDOW' | 'E_ARGUMENT';

export interface OtpknockErrorOptions {
  /** Where the bad value came from: a field path ("knock.range") or "file:field". */
  where?: string;
  /** What the person should do about it. */
  hint?: string;
  cause?: unknown;
}

/**
 * An error a person can act on. The message reads
 * `<where>: <what is wrong>. <what to do>` (parts left out when unknown).
 */
export class OtpknockError extends Error {
  readonly code: OtpknockErrorCode | (string & {});
  readonly where?: string;
  readonly hint?: string;
  /** The bare description of what is wrong, without where/hint. */
  readonly what: string;

  constructor(code: OtpknockErrorCode | (string & {}), what: string, options: OtpknockErrorOptions = {}) {
    super(
      formatMessage(what, options.where, options.hint),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'OtpknockError';
    this.code = code;
    this.what = what;
    if (options.where !== undefined) this.where = options.where;
    if (options.hint !== undefined) this.hint = options.hint;
  }
}

function formatMessage(what: string, where: string | undefined, hint: string | undefined): string {
  const head = endSentence(where ? `${where}: ${what}` : what);
  return hint ? `${head} ${endSentence(hint)}` : head;
}

function endSentence(s: string): string {
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** Joins a parent location and a field name: ("knock", "range") → "knock.range". */
export function fieldPath(where: string | undefined, field: string): string {
  if (!where) return field;
  if (field.startsWith('[')) return `${where}${field}`;
  return `${where}.${field}`;
}

/** Longest path Linux opens (PATH_MAX): a longer "path" is repeated as any other input. */
export const PATH_MAX = 4096;

/** A path as messages show it: as it is, unless it is longer than any path can be. */
export function shownPath(path: string): string {
  return path.length > PATH_MAX ? quote(path) : path;
}

/** Longest piece of input `quote` repeats in a message. */
export const QUOTE_MAX_CHARS = 64;

// Characters that would act on a terminal or reorder the text around them: C0 and C1
// controls, DEL, zero-width and bidirectional formatting characters.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/**
 * Input as a message repeats it: in double quotes, control and formatting characters
 * escaped, cut after `max` characters with its full length said ("aaa…" (100000
 * characters)), so that a pasted file or a hostile argument cannot flood a terminal
 * or a log. Never use it for secrets: they do not belong in messages at all.
 */
export function quote(value: string, max = QUOTE_MAX_CHARS): string {
  const chars = Array.from(value);
  const cut = chars.length > max;
  const shown = JSON.stringify(cut ? chars.slice(0, max).join('') : value).replace(
    INVISIBLE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return cut ? `${shown.slice(0, -1)}…" (${chars.length} characters)` : shown;
}
