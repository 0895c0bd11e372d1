// Bench and test support, not part of the API the CLIs use: the derivation with
// another HMAC implementation plugged in (bench/hmac.ts compares them), and the error a
// call throws. Imported by name as '@otpknock/shared/testing'.
import { OtpknockError } from './errors.js';

export { sequenceDeriverWith, type HmacFactory } from './derive.js';
export { keyedHmac, type HmacHash, type KeyedHmac } from './hmac.js';

/** The OtpknockError that `fn` throws; any other outcome (no error, another error) fails the test. */
export function thrownOtpknockError(fn: () => unknown): OtpknockError {
  try {
    fn();
  } catch (e) {
    if (e instanceof OtpknockError) return e;
    throw e;
  }
  throw new Error('did not throw');
}
