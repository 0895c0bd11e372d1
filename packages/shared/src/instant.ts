// Reading and writing the times that `knock print --at` and `otpknockd render --at` take.
import { OtpknockError, quote } from './errors.js';

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

// YYYY-MM-DD, then optionally [T or space]HH:MM[:SS[.fraction]] and a zone (Z, ±HH:MM,
// ±HHMM, ±HH). Years of 5–6 digits and signed years are read to be refused as out of range.
const ISO =
  /^([+-]\d{6}|\d{4,6})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeapYear(year) ? 1 : 0);
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * "2026-11-25T10:00:00Z", "2026-11-25 10:00" (local time), "2026-11-25" (UTC midnight) or
 * unix seconds "1764064800" → unix ms, within the range above. Dates that do not exist
 * (February 30, hour 24, second 60, a local time in a daylight saving gap) are refused,
 * not rolled over.
 */
export function parseInstant(text: string, where = '--at'): number {
  const trimmed = text.trim();
  const notATime = (why?: string) =>
    new OtpknockError('E_ARGUMENT', `${quote(text)} is not ${why === undefined ? 'a time' : `a valid time: ${why}`}`, {
      where,
      hint: FORMS,
    });
  const outOfRange = () =>
    new OtpknockError('E_ARGUMENT', `${quote(text)} is out of range; expected a time ${RANGE}`, { where, hint: FORMS });
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    const ms = Math.round(Number(trimmed) * 1000);
    if (!(ms >= INSTANT_MIN_MS && ms <= INSTANT_MAX_MS)) throw outOfRange();
    return ms;
  }
  // Not Date.parse: V8 guesses at anything that is not ISO ("-5" is May 2001 to it) and
  // rolls impossible dates over (2026-02-30 is March 2).
  const m = ISO.exec(trimmed);
  if (m === null) throw notATime();
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (month < 1 || month > 12) throw notATime(`month ${m[2]} does not exist (01–12)`);
  if (day < 1 || day > daysInMonth(year, month)) {
    throw notATime(
      day < 1 ? `day ${m[3]} does not exist` : `${MONTHS[month - 1]} ${year} has ${daysInMonth(year, month)} days`,
    );
  }
  if (hour > 23) throw notATime(`hour ${m[4]} is out of range (00–23)`);
  if (minute > 59) throw notATime(`minute ${m[5]} is out of range (00–59)`);
  if (second > 59)
    throw notATime(`second ${m[6]} is out of range (00–59)${second === 60 ? '; leap seconds are not supported' : ''}`);
  const zone = m[8]?.toUpperCase();
  let offsetMin = 0;
  if (zone !== undefined && zone !== 'Z') {
    const [zh, zm] = [Number(zone.slice(1, 3)), Number(zone.slice(zone.length > 3 ? zone.length - 2 : 3) || 0)];
    if (zh > 23 || zm > 59) throw notATime(`the zone offset ${zone} is out of range (up to ±23:59)`);
    offsetMin = (zone.startsWith('-') ? -1 : 1) * (zh * 60 + zm);
  }
  if (year < 1969 || year > 9999 || m[1]!.startsWith('-')) throw outOfRange();
  const fraction = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  let ms: number;
  if (m[4] !== undefined && zone === undefined) {
    // local time, as ISO 8601 says; a time skipped by a daylight saving change would be
    // moved by an hour without a word, so it is refused
    const local = new Date(year, month - 1, day, hour, minute, second, fraction);
    if (local.getHours() !== hour || local.getMinutes() !== minute) {
      throw notATime(
        `${m[4]}:${m[5]} on ${m[1]}-${m[2]}-${m[3]} does not exist in the local time zone (a daylight saving time change skips it); give a zone such as Z or +01:00`,
      );
    }
    ms = local.getTime();
  } else {
    ms = Date.UTC(year, month - 1, day, hour, minute, second, fraction) - offsetMin * 60_000;
  }
  if (!(ms >= INSTANT_MIN_MS && ms <= INSTANT_MAX_MS)) throw outOfRange();
  return ms;
}

/** Unix ms → ISO 8601 in UTC, without milliseconds when they are zero. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
