import { OtpknockError } from '@otpknock/shared';
import { formatIssue, type FileIssue } from '../yaml/issues.js';

/** One thing wrong with a configuration file (or a user record it draws on). */
export type ConfigIssue = FileIssue;
export { formatIssue };

/** "what; hint" with the hint's sentence case dropped: one message, one sentence. */
export function joinHint(e: Pick<OtpknockError, 'what' | 'hint'>): string {
  if (!e.hint) return e.what;
  const hint = /^[A-Z](?![A-Z0-9])/.test(e.hint) ? e.hint[0]!.toLowerCase() + e.hint.slice(1) : e.hint;
  return `${e.what}; ${hint.replace(/\.$/, '')}`;
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
