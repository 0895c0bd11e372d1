// Bench and test support, not part of the API the CLIs use: the derivation with
// another HMAC implementation plugged in (bench/hmac.ts compares them), and the error a
// call throws. Imported by name as '@otpknock/shared/testing'.
import { OtpknockError } from './errors.js';

export { sequenceDeriverWith, type HmacFactory } from './derive.js';
export { keyedHmac, type HmacHash, type KeyedHmac } from './hmac.js';

/**
 * The OtpknockError (or the subclass `type`, e.g. the server's ConfigError) that `fn` throws;
 * any other outcome (no error, another error) fails the test.
 */
export function thrownOtpknockError<E extends OtpknockError = OtpknockError>(
  fn: () => unknown,
  type: abstract new (...args: never[]) => E = OtpknockError as unknown as abstract new (...args: never[]) => E,
): E {
  try {
    fn();
  } catch (e) {
    if (e instanceof type) return e;
    throw e;
  }
  throw new Error(`did not throw (expected a ${type.name})`);
}
