// What `otpknockd doctor` reports: one finding per check, each with a severity
// and, unless all is well, what to do about it. Pure data and formatting.

/**
 * - ok: checked, nothing to do.
 * - info: worth knowing, nothing to fix.
 * - warning: may hurt; doctor still exits 0.
 * - problem: will hurt (lockout, knocks never reaching us, services dropped): exit 1.
 */
export type Severity = 'ok' | 'info' | 'warning' | 'problem';

export interface Finding {
  /** Which check: nft, kernel, firewall, clock, sockets, services, permissions, config, daemon. */
  check: string;
  severity: Severity;
  /** What was found, in one or two sentences. */
  message: string;
  /** What to do about it (absent for ok/info findings that need nothing). */
  fix?: string;
}

export const finding = (check: string, severity: Severity, message: string, fix?: string): Finding =>
  fix === undefined ? { check, severity, message } : { check, severity, message, fix };

export function hasProblems(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'problem');
}

const LABEL: Record<Severity, string> = { ok: 'ok', info: 'info', warning: 'WARNING', problem: 'PROBLEM' };

/** Human text: one block per finding, problems and warnings first, then a summary line. */
export function formatFindings(findings: readonly Finding[]): string {
  const order: Severity[] = ['problem', 'warning', 'info', 'ok'];
  const sorted = [...findings].sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity));
  const lines: string[] = [];
  for (const f of sorted) {
    lines.push(`${LABEL[f.severity].padEnd(8)} ${f.check}: ${f.message}`);
    if (f.fix !== undefined) lines.push(`${' '.repeat(9)}fix: ${f.fix}`);
  }
  const count = (s: Severity) => findings.filter((f) => f.severity === s).length;
  const problems = count('problem');
  const warnings = count('warning');
  lines.push(
    problems > 0
      ? `${problems} problem${problems === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}: fix the problems before relying on otpknockd`
      : `no problems${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

export function findingsJson(findings: readonly Finding[]): string {
  return `${JSON.stringify({ ok: !hasProblems(findings), findings }, null, 2)}\n`;
}
