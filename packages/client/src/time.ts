// Parsing and showing times for `knock print --at`.
import { usageError } from './errors.js';

/** TIME as unix seconds (`1732571234`, `1732571234.5`) or an ISO 8601 date → unix ms. */
export function parseTime(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw usageError(`--at: "${text}" is not a time`, 'Use unix seconds (1732571234) or an ISO 8601 date (2025-11-25T21:30:00Z).');
}

/** Unix ms → ISO 8601 in UTC, without milliseconds when they are zero. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
