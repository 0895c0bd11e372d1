// Messages for people, always on stderr: stdout is reserved for data (`print`, `list`)
// and, in `knock proxy`, for the proxied stream alone.

/** quiet: errors only; terse: also warnings (proxy's default); normal: also progress; verbose: all. */
export type Verbosity = 'quiet' | 'terse' | 'normal' | 'verbose';

export interface Logger {
  /** Progress and results (hidden by --quiet). */
  info(message: string): void;
  /** Something the person waits for or should know (hidden by --quiet only). */
  warn(message: string): void;
  /** Details (shown with --verbose). */
  debug(message: string): void;
  /** Problems (always shown). */
  error(message: string): void;
}

export function createLogger(
  verbosity: Verbosity,
  write: (text: string) => void = (t) => process.stderr.write(t),
): Logger {
  return {
    info(m) {
      if (verbosity === 'normal' || verbosity === 'verbose') write(`knock: ${m}\n`);
    },
    warn(m) {
      if (verbosity !== 'quiet') write(`knock: ${m}\n`);
    },
    debug(m) {
      if (verbosity === 'verbose') write(`knock: ${m}\n`);
    },
    error(m) {
      write(`knock: ${m}\n`);
    },
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, debug() {}, error() {} };
