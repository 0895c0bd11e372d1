// Time windows: W = floor(unixSeconds / period), unixSeconds = floor(unixMs / 1000).
import { OtpknockError } from './errors.js';

function checkPeriod(period: number): void {
  if (!Number.isInteger(period) || period < 1 || period > 3600) {
    throw new OtpknockError('E_ARGUMENT', `period must be a whole number of seconds 1–3600, got ${period}`, {
      where: 'period',
    });
  }
}

/** The window number at `unixMs` (milliseconds since the Unix epoch). */
export function windowAt(unixMs: number, period: number): number {
  checkPeriod(period);
  if (!Number.isFinite(unixMs) || unixMs < 0) {
    throw new OtpknockError('E_WINDOW', `time ${unixMs} ms is not a non-negative Unix time`, { where: 'time' });
  }
  return Math.floor(Math.floor(unixMs / 1000) / period);
}

/** Unix time in ms at which `window` begins. */
export function windowStartMs(window: number, period: number): number {
  checkPeriod(period);
  return window * period * 1000;
}

/** Unix time in ms of the first window boundary strictly after `nowMs`. */
export function nextWindowBoundaryMs(nowMs: number, period: number): number {
  return windowStartMs(windowAt(nowMs, period) + 1, period);
}
