import { OtpknockError } from './errors.js';

/** Windows (and counters) are non-negative safe integers. */
export function checkWindow(window: number, where = 'window'): void {
  if (!Number.isSafeInteger(window) || window < 0) {
    throw new OtpknockError('E_WINDOW', `window ${window} is not a non-negative integer`, {
      where,
      hint: 'Compute it with windowAt(unixMs, period)',
    });
  }
}
