// The adversarial suite's figures: each file collects rows (what was tried, how
// often, how many opened) and, after its tests, prints them as a Markdown table
// and writes them to test/results/, where docs/security.md cites them from.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { REPO_ROOT } from '@otpknock/e2e-harness';

export const RESULTS_DIR = join(REPO_ROOT, 'test/results');

export interface ReportRow {
  /** What was tried. */
  case: string;
  /** How many attempts (knocks, datagrams, cases …; say which in `unit`). */
  tries: number | string;
  /** How many of them let anyone in that should not have been (0 expected), or a success figure. */
  result: string;
  /** Free text: rates, sizes, why. */
  note?: string;
}

export class Report {
  readonly rows: ReportRow[] = [];
  private readonly started = Date.now();

  constructor(
    readonly name: string,
    readonly title: string,
    private readonly columns: [string, string, string, string] = ['case', 'tries', 'opened / result', 'notes'],
  ) {}

  add(row: ReportRow): void {
    this.rows.push(row);
  }

  markdown(): string {
    const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
    const head = `| ${this.columns.join(' | ')} |\n| --- | ---: | --- | --- |\n`;
    const body = this.rows
      .map(
        (r) =>
          `| ${esc(r.case)} | ${typeof r.tries === 'number' ? r.tries.toLocaleString('en-US') : esc(r.tries)} | ${esc(r.result)} | ${esc(r.note ?? '')} |`,
      )
      .join('\n');
    const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const took = Math.round((Date.now() - this.started) / 1000);
    return `### ${this.title}\n\n${when} · ${took} s\n\n${head}${body}\n`;
  }

  /** Prints the table and writes test/results/<name>.md (best effort: a read-only tree only loses the file). */
  write(): void {
    if (this.rows.length === 0) return;
    const md = this.markdown();
    console.log(`\n${md}`);
    try {
      mkdirSync(RESULTS_DIR, { recursive: true });
      writeFileSync(join(RESULTS_DIR, `${this.name}.md`), md);
      writeFileSync(
        join(RESULTS_DIR, `${this.name}.json`),
        `${JSON.stringify({ title: this.title, at: new Date().toISOString(), rows: this.rows }, null, 2)}\n`,
      );
    } catch (e) {
      console.warn(`could not write ${RESULTS_DIR}/${this.name}.md: ${(e as Error).message}`);
    }
  }
}

/** A Report for the calling describe, written (printed and saved) after its tests, also when one failed. */
export function useReport(...args: ConstructorParameters<typeof Report>): Report {
  const report = new Report(...args);
  afterAll(() => report.write());
  return report;
}
