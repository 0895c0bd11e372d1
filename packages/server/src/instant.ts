import { OtpknockError } from '@otpknock/shared';

/** "2026-11-25T10:00:00Z", "2026-11-25 10:00", or unix seconds "1764064800". */
export function parseInstant(text: string, where = '--at'): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const ms = Date.parse(trimmed);
  if (Number.isNaN(ms)) {
    throw new OtpknockError('E_ARGUMENT', `"${text}" is not a time`, {
      where,
      hint: 'give an ISO date such as 2026-11-25T10:00:00Z, or unix seconds',
    });
  }
  return ms;
}
