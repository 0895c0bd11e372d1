// Parsing and showing times for `knock print --at`.
import { usageError } from './errors.js';

/**
 * The times `--at` accepts: from the Unix epoch (windows are counted from it) to the
 * last second of year 9999 (the last an ISO date writes with four digits). Even with
 * 1-second windows that is 2.5·10¹¹ windows, far below 2⁵³, where window numbers
 * would stop being exact.
 */
export const TIME_MIN_MS = 0;
export const TIME_MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const FORMS = 'Use unix seconds (1732571234) or an ISO 8601 date (2025-11-25T21:30:00Z)';

/** TIME as unix seconds (`1732571234`, `1732571234.5`) or an ISO 8601 date → unix ms, from 1970 to 9999. */
export function parseTime(text: string): number {
  const t = text.trim();
  let ms = Number.NaN;
  if (/^\d+(\.\d+)?$/.test(t)) ms = Math.round(Number(t) * 1000);
  else if (/^[+-]?\d{4,6}-\d{2}-\d{2}/.test(t)) ms = Date.parse(t);
  if (Number.isNaN(ms)) throw usageError(`--at: "${text}" is not a time`, `${FORMS}.`);
  if (!(ms >= TIME_MIN_MS && ms <= TIME_MAX_MS)) {
    throw usageError(
      `--at: "${text}" is out of range; expected a time from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z`,
      `${FORMS}, from 0 to 253402300799 seconds.`,
    );
  }
  return ms;
}

/** Unix ms → ISO 8601 in UTC, without milliseconds when they are zero. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
