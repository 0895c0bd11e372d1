/** Machine-readable error codes; `code` on every OtpknockError. */
export type OtpknockErrorCode =
  | 'E_SECRET_SHORT'
  | 'E_SECRET_BASE32'
  | 'E_PROFILE'
  | 'E_URI'
  | 'E_WINDOW'
  | 'E_ARGUMENT';

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
    super(formatMessage(what, options.where, options.hint), options.cause === undefined ? undefined : { cause: options.cause });
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
