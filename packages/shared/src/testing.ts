// Bench and test support, not part of the API the CLIs use: the derivation with
// another HMAC implementation plugged in (bench/hmac.ts compares them). Imported by
// name as '@otpknock/shared/testing'.
export { sequenceDeriverWith, type HmacFactory } from './derive.js';
export { keyedHmac, type HmacHash, type KeyedHmac } from './hmac.js';
