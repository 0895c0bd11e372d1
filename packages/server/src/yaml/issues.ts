// Problems found in a YAML file (the daemon's config, a user record), each with the
// file, the line and the field, collected so that all of them are reported at once.
// One reporter for every parser of such files: they share its zod checking, its
// "unknown field (did you mean …?)" and its rule that a secret is never repeated.
import { describeValue } from '@otpknock/shared';
import type { z } from 'zod';
import { pathText, type FieldPath, type YamlSource } from './source.js';

/** One thing wrong with a file. */
export interface FileIssue {
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
export function formatIssue(issue: FileIssue): string {
  const at = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return issue.path === '' ? `${at}: ${issue.message}` : `${at}: ${issue.path}: ${issue.message}`;
}

/** The keys allowed in the mapping at `rel` (a path relative to the value checked). */
export type KeysAt = (rel: FieldPath) => readonly string[];

export class IssueReporter {
  readonly issues: FileIssue[] = [];

  constructor(
    readonly file: string,
    private readonly source: Pick<YamlSource, 'lineOf'>,
  ) {}

  /** A problem at a field path of this file; its line is looked up in the document. */
  report(path: FieldPath, message: string): void {
    const line = this.source.lineOf(path);
    this.issues.push({ file: this.file, path: pathText(path), message, ...(line === undefined ? {} : { line }) });
  }

  /** A problem whose place is already known (another file, a line of its own). */
  add(issue: FileIssue): void {
    this.issues.push(issue);
  }

  /** The syntax errors of a document, as issues of this file. */
  addSyntaxErrors(errors: YamlSource['errors']): void {
    for (const e of errors)
      this.add({ file: this.file, path: '', message: e.message, ...(e.line === undefined ? {} : { line: e.line }) });
  }

  /**
   * Parses `value` (found at `at`) with `schema`, reporting each problem at its field:
   * unknown keys with the allowed ones (and the nearest, for a typo), other problems
   * with what was found — except under a field named `secret`, whose value is never
   * repeated. Returns the parsed value, or undefined when there was a problem.
   */
  check<S extends z.ZodType>(schema: S, value: unknown, at: FieldPath, keysAt: KeysAt): z.output<S> | undefined {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      const rel = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) this.report([...at, ...rel, key], unknownField(key, keysAt(rel)));
        continue;
      }
      let message = issue.message;
      if (issue.code !== 'custom') {
        const got = valueAt(value, rel);
        const secretish = [...at, ...rel].includes('secret');
        if (got === undefined) message = `missing; ${message}`;
        else message += `, got ${secretish ? `a ${typeof got}` : describeValue(got)}`;
      }
      this.report([...at, ...rel], message);
    }
    return undefined;
  }
}

function valueAt(value: unknown, path: FieldPath): unknown {
  let v = value;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

/** "unknown field (did you mean …?); expected one of: …" */
export function unknownField(key: string, allowed: readonly string[]): string {
  const near = allowed
    .map((k) => ({ k, d: editDistance(key.toLowerCase(), k) }))
    .filter(({ d }) => d <= Math.max(2, Math.floor(key.length / 3)))
    .sort((a, b) => a.d - b.d)[0];
  const hint = near ? ` (did you mean ${near.k}?)` : '';
  return `unknown field${hint}; expected one of: ${allowed.join(', ')}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
