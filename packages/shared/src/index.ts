export type * from './types.js';
export {
  OtpknockError,
  quote,
  shownPath,
  PATH_MAX,
  QUOTE_MAX_CHARS,
  type OtpknockErrorCode,
  type OtpknockErrorOptions,
} from './errors.js';
export {
  decodeSecret,
  encodeSecret,
  generateSecret,
  MIN_SECRET_BYTES,
  MAX_SECRET_BYTES,
  RECOMMENDED_SECRET_BYTES,
  SECRET_FILE_MAX_BYTES,
} from './secret.js';
export {
  checkHost,
  checkLabel,
  checkProfileName,
  checkUserName,
  hostProblem,
  ipAddressOf,
  labelProblem,
  profileNameProblem,
  userNameProblem,
  HOST_NAME_MAX,
  HOST_RULE,
  LABEL_MAX,
  PROFILE_NAME_RULE,
  USER_NAME_MAX,
  USER_NAME_RULE,
} from './names.js';
export { hotpValue, hotpCode } from './hotp.js';
export { windowAt, windowStartMs, nextWindowBoundaryMs } from './window.js';
export { parseInstant, isoTime, INSTANT_MIN_MS, INSTANT_MAX_MS } from './instant.js';
export {
  checkProfile,
  checkProfileFields,
  describeValue,
  normalizeProfile,
  profileIssueError,
  profilePathText,
  KNOCK_METHODS,
  METHOD_FIELDS,
  OTP_ALGORITHMS,
  PROFILE_DEFAULTS,
  PROFILE_FIELDS,
  MAX_PERIOD_SECONDS,
  MAX_SEQUENCE_LENGTH,
  type ProfileCheck,
  type ProfileField,
  type ProfileFields,
  type ProfileIssue,
  type ProfilePath,
  type ProfileWording,
} from './profile.js';
export { deriveSequences, sequenceDeriver } from './derive.js';
export { derivePayloadToken } from './token.js';
export { parseOtpauthUri, formatOtpauthUri, MAX_URI_LENGTH, type FleetServers, type ParsedOtpauth } from './otpauth.js';
export {
  CODE_KEY_LABEL,
  codeKey,
  codeModeProfile,
  deriveCodeSequences,
  normalizeCode,
  totpCodeOf,
} from './code-mode.js';
export {
  parsePayloadSpec,
  formatPayloadSpec,
  buildPayload,
  tokenPlacement,
  tokenWireBytes,
  PAYLOAD_SHAPES,
  MAX_PAYLOAD_BYTES,
  DEFAULT_RANDOM_BYTES,
  type PayloadSpec,
  type PayloadShape,
  type TokenPlacement,
  type RandomFill,
} from './payload.js';
export {
  checkFleetName,
  deriveFleetKey,
  fleetNameProblem,
  FLEET_KEY_BYTES,
  FLEET_KEY_LABEL,
  FLEET_NAME_MAX,
  FLEET_NAME_RULE,
} from './fleet.js';
