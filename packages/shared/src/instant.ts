// Reading and writing the times that `knock print --at` and `otpknockd render --at` take.
import { OtpknockError } from './errors.js';

/**
 * The instants accepted: from the Unix epoch (windows are counted from it) to the last
 * second of year 9999 (the last an ISO date writes with four digits). Even with 1-second
 * windows that is 2.5·10¹¹ windows, far below 2⁵³, where window numbers would stop being
 * exact (and building sequences for them ran V8 out of memory).
 */
export const INSTANT_MIN_MS = 0;
export const INSTANT_MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const FORMS = 'Give an ISO 8601 date such as 2026-11-25T10:00:00Z, or unix seconds such as 1764064800';
const RANGE = 'from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z (unix seconds 0 to 253402300799)';

/** "2026-11-25T10:00:00Z", "2026-11-25 10:00" (local time), or unix seconds "1764064800" → unix ms, within the range above. */
export function parseInstant(text: string, where = '--at'): number {
  const trimmed = text.trim();
  // Only ISO-style dates go to Date.parse: V8 guesses at anything else ("-5" is May 2001).
  const ms = /^\d+(\.\d+)?$/.test(trimmed)
    ? Math.round(Number(trimmed) * 1000)
    : /^[+-]?\d{4,6}-\d{2}-\d{2}/.test(trimmed)
      ? Date.parse(trimmed)
      : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new OtpknockError('E_ARGUMENT', `"${text}" is not a time`, { where, hint: FORMS });
  }
  if (!(ms >= INSTANT_MIN_MS && ms <= INSTANT_MAX_MS)) {
    throw new OtpknockError('E_ARGUMENT', `"${text}" is out of range; expected a time ${RANGE}`, { where, hint: FORMS });
  }
  return ms;
}

/** Unix ms → ISO 8601 in UTC, without milliseconds when they are zero. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
