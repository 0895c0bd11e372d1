import { OtpknockError } from '@otpknock/shared';

/** One thing wrong with a configuration file. */
export interface ConfigIssue {
  /** Absolute path of the file the problem is in. */
  file: string;
  /** 1-based line in `file`, when known. */
  line?: number;
  /** Field path inside the file, e.g. `users.alice.secret_file` ("" for the file as a whole). */
  path: string;
  /** What is wrong and what is expected. Never contains secret text. */
  message: string;
}

/** `FILE:LINE: field.path: message`, leaving out the parts that are unknown. */
export function formatIssue(issue: ConfigIssue): string {
  const at = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return issue.path === '' ? `${at}: ${issue.message}` : `${at}: ${issue.path}: ${issue.message}`;
}

/**
 * A configuration file that cannot be used, with every problem found in it.
 * The message lists them one per line, each as `FILE:LINE: field.path: what is wrong`.
 */
export class ConfigError extends OtpknockError {
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: readonly ConfigIssue[]) {
    const sorted = sortIssues(issues);
    const first = sorted[0];
    const what =
      sorted.length === 1 && first !== undefined
        ? formatIssue(first)
        : `${sorted.length} errors in the configuration:\n${sorted.map((i) => `  ${formatIssue(i)}`).join('\n')}`;
    super('E_CONFIG', what, { where: file, hint: 'fix the file and try again; nothing from it was applied' });
    this.name = 'ConfigError';
    // Each listed line already starts with the file name: don't prefix it once more.
    this.message = `${what}\n${this.hint}`;
    this.file = file;
    this.issues = sorted;
  }
}

// In file order, so a reader can walk down the file; problems without a line come last.
function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => (a.issue.line ?? Infinity) - (b.issue.line ?? Infinity) || a.i - b.i)
    .map(({ issue }) => issue);
}
