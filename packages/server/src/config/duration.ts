// Durations in the config file are strings with units ("500ms", "5s", "1m30s"):
// a bare number would be ambiguous (seconds? milliseconds?), so it is refused.
import { OtpknockError, quote } from '@otpknock/shared';

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
] as const;

// Units in descending order, each at most once: "1h30m", "2m5s", "1s500ms".
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;

// No setting or option needs more than days; a duration added to now must stay a
// valid Date (before year 275760) and a readable one (before year 10000). 100 years
// keeps both for any `now` before 7900, and anything longer is a typo.
const MAX_DURATION_DAYS = 36_500;
export const MAX_DURATION_MS = MAX_DURATION_DAYS * 86_400_000;

export const DURATION_EXAMPLES = '500ms, 5s, 2m, 1h, 1d or 1m30s';

/**
 * Parses a duration such as `500ms`, `5s`, `2m`, `1h`, `1d` or `1m30s` into
 * milliseconds, at most 100 years. Throws a RangeError saying what is expected otherwise.
 */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = s.length > 12 ? 'N' : s;
    throw new RangeError(`${quote(s)} is a bare number, which is ambiguous; add a unit, e.g. ${n}s or ${n}ms`);
  }
  const m = DURATION.exec(s);
  if (s === '' || m === null) {
    throw new RangeError(
      `${quote(s)} is not a duration; expected a whole number with a unit, e.g. ${DURATION_EXAMPLES}`,
    );
  }
  let ms = 0;
  UNITS.forEach(([, factor], i) => {
    const part = m[i + 1];
    if (part !== undefined) ms += Number(part) * factor;
  });
  if (!Number.isSafeInteger(ms) || ms > MAX_DURATION_MS) {
    throw new RangeError(`${quote(s)} is too long a duration; expected at most ${MAX_DURATION_DAYS}d (100 years)`);
  }
  return ms;
}

/** Formats milliseconds the way the config file writes them: 1500 → "1s500ms", 86400000 → "24h", 7 days → "7d". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, factor] of UNITS) {
    if (unit === 'd' && ms < 2 * factor) continue; // "24h" reads better than "1d", "7d" than "168h"
    const n = Math.floor(rest / factor);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * factor;
    }
  }
  return out;
}

/**
 * A duration given as a command-line argument, within `range` (ms). "0" is 0 when the
 * range allows it. Errors name the option: `--for: 0s is out of range; expected 1s to 7d.`
 */
export function parseDurationArgument(text: string, option: string, range: { min: number; max: number }): number {
  let ms: number;
  try {
    ms = text.trim() === '0' && range.min === 0 ? 0 : parseDuration(text);
  } catch (e) {
    throw new OtpknockError('E_ARGUMENT', (e as Error).message, { where: option });
  }
  if (ms < range.min || ms > range.max) {
    throw new OtpknockError(
      'E_ARGUMENT',
      `${text.length > 64 ? quote(text) : text} is out of range; expected ${formatDuration(range.min)} to ${formatDuration(range.max)}`,
      { where: option },
    );
  }
  return ms;
}
