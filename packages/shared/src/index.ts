export type * from './types.js';
export { OtpknockError, type OtpknockErrorCode, type OtpknockErrorOptions } from './errors.js';
export { decodeSecret, encodeSecret, generateSecret, MIN_SECRET_BYTES, RECOMMENDED_SECRET_BYTES } from './secret.js';
export { hotpValue, hotpCode } from './hotp.js';
export { windowAt, windowStartMs, nextWindowBoundaryMs } from './window.js';
export { normalizeProfile, KNOCK_METHODS, OTP_ALGORITHMS, PROFILE_DEFAULTS, MAX_SEQUENCE_LENGTH } from './profile.js';
export { deriveSequences, sequenceDeriver } from './derive.js';
export { derivePayloadToken } from './token.js';
export { parseOtpauthUri, formatOtpauthUri, type ParsedOtpauth } from './otpauth.js';
