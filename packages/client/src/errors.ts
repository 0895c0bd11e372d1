// Exit codes are part of the CLI's contract (docs/knock.md): scripts rely on them.

/** Exit codes of `knock`. */
export const EXIT = {
  /** The service accepted a connection (or the knock was sent with --no-wait). */
  OK: 0,
  /** The service did not open in time, or a proxied session could not be set up. */
  NOT_OPEN: 1,
  /** Bad usage or configuration: unknown option, missing profile, loose file permissions. */
  USAGE: 2,
  /** Network trouble: the name does not resolve, no route, host unreachable, a socket error. */
  NETWORK: 3,
  /** The host refused the service port (TCP reset or ICMP port unreachable): it answered, the service did not. */
  REFUSED: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * An error that ends the command with a given exit code. The message says what is
 * wrong and where; the hint says what to do.
 */
export class KnockError extends Error {
  readonly exitCode: ExitCode;
  readonly hint?: string;

  constructor(exitCode: ExitCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KnockError';
    this.exitCode = exitCode;
    if (options.hint !== undefined) this.hint = options.hint;
  }
}

export const usageError = (message: string, hint?: string): KnockError =>
  new KnockError(EXIT.USAGE, message, hint === undefined ? {} : { hint });

export const networkError = (message: string, cause?: unknown): KnockError =>
  new KnockError(EXIT.NETWORK, message, { cause });

/**
 * commander's own messages repeat the argument they refuse ('--timeout <seconds>'
 * argument '…' is invalid): cut a quoted argument after 64 characters and escape control
 * characters, as @otpknock/shared's quote() does (not imported here: this module loads
 * before anything else, and shared is not needed to print --help).
 */
export function boundArguments(message: string): string {
  return message.replace(/'([^'\n]*)'/g, (whole, inner: string) => {
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    const control = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g;
    const chars = Array.from(inner);
    if (chars.length <= 64 && !control.test(inner)) return whole;
    const cut = chars
      .slice(0, 64)
      .join('')
      .replace(control, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    return chars.length > 64 ? `'${cut}…' (${chars.length} characters)` : `'${cut}'`;
  });
}

/** The text to print for an error, and the code to exit with. */
export function describeError(error: unknown): { message: string; exitCode: ExitCode } {
  if (error instanceof KnockError) {
    const message = error.hint ? `${error.message}\n  ${error.hint}` : error.message;
    return { message, exitCode: error.exitCode };
  }
  // OtpknockError from @otpknock/shared: bad profile data, secret or URI. Its message
  // already carries where and what to do. Matched by name to keep this module free of
  // the shared package (it is loaded before anything else).
  if (error instanceof Error && error.name === 'OtpknockError') {
    return { message: error.message, exitCode: EXIT.USAGE };
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && NETWORK_ERRNOS.has(code)) {
    return { message: (error as Error).message, exitCode: EXIT.NETWORK };
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { message: `internal error: ${message}`, exitCode: EXIT.USAGE };
}

const NETWORK_ERRNOS = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NODATA',
  'EAI_NONAME',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EADDRNOTAVAIL',
  'ENETDOWN',
  'EHOSTDOWN',
  'EAFNOSUPPORT',
  'ECONNRESET',
]);
