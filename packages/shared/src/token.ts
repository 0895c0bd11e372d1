// Per-window payload token: HMAC-SHA256(secret, "otpknock-token-v1" ‖ u64be(W)), truncated.
import { OtpknockError } from './errors.js';
import { keyedHmac, type KeyedHmac } from './hmac.js';
import { checkWindow } from './window-check.js';
import type { SecretBytes } from './types.js';

const LABEL = new TextEncoder().encode('otpknock-token-v1');
const TWO_32 = 0x1_0000_0000;

export function payloadTokenKeyed(mac: KeyedHmac, window: number, bytes: number): Uint8Array {
  const msg = new Uint8Array(LABEL.length + 8);
  msg.set(LABEL);
  const view = new DataView(msg.buffer);
  view.setUint32(LABEL.length, Math.floor(window / TWO_32));
  view.setUint32(LABEL.length + 4, window % TWO_32);
  return mac.digest(msg).slice(0, bytes);
}

/** The first `bytes` (1–32) bytes of HMAC-SHA256(secret, "otpknock-token-v1" ‖ u64be(window)). */
export function derivePayloadToken(secret: SecretBytes, window: number, bytes: number): Uint8Array {
  checkWindow(window);
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 32) {
    throw new OtpknockError('E_ARGUMENT', `token length must be 1–32 bytes, got ${bytes}`, { where: 'tokenBytes' });
  }
  return payloadTokenKeyed(keyedHmac('SHA256', secret), window, bytes);
}
