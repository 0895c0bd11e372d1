// Placing a step of a test inside one time window, away from both of its boundaries, on a
// loaded machine. Near the end of a window the daemon has already loaded the next one
// (APPLY_LEAD_MS early, docs/state-machine.md), and a knock sent there may land in the next
// window; near the start, the window that just ended may still be in the kernel for the
// few ms its elements' insertion took to commit. A test that asserts what is valid (or not)
// "now" therefore starts its step with room on both sides.
import { APPLY_LEAD_MS } from '@otpknock/server';

export { APPLY_LEAD_MS };

/** How far `nowMs` is into its window of `periodS` seconds, and how long that window has left (ms). */
export function windowPosition(periodS: number, nowMs = Date.now()): { intoMs: number; leftMs: number } {
  const periodMs = periodS * 1000;
  const intoMs = ((nowMs % periodMs) + periodMs) % periodMs;
  return { intoMs, leftMs: periodMs - intoMs };
}

/**
 * Waits, when needed, until the current window of `periodS` seconds has run for at least
 * `sinceS` seconds and has at least `leftS` seconds left (else waits for the next window,
 * `sinceS` into it). Throws when no instant of a window satisfies both.
 */
export async function awayFromBoundary(periodS: number, leftS: number, sinceS = 0.2): Promise<void> {
  if (sinceS + leftS >= periodS)
    throw new Error(`awayFromBoundary: ${sinceS} s after and ${leftS} s before a boundary do not fit in ${periodS} s`);
  const { intoMs, leftMs } = windowPosition(periodS);
  const waitMs = intoMs < sinceS * 1000 ? sinceS * 1000 - intoMs : leftMs < leftS * 1000 ? leftMs + sinceS * 1000 : 0;
  if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
}
