// Which window's sequence to knock with. Pure: the caller passes the clock and what it
// remembers about earlier knocks.
//
// The server accepts the sequences of windows W−skew … W+skew (W = the current window)
// and, once a sequence has opened, refuses it a second time. So the client knocks the
// current window W first; any further knock for the same secret while W is still
// current — a retry, or a second `knock` run — uses W+1, which the server already
// accepts. Only when W+1 is used up too must the client wait for the clock to move on.

/** The window skew the client assumes the server accepts (the server's default). */
export const ASSUMED_SKEW = 1;

export interface WindowChoice {
  /** The window whose open sequence to send. */
  window: number;
  /**
   * When set, the chosen window is not accepted yet: wait until this window is the
   * current one (it starts at `windowStartMs(waitFor, period)`), then knock.
   */
  waitFor?: number;
}

/**
 * Chooses the window to knock with.
 *
 * @param current  the current window, `windowAt(now, period)`
 * @param lastUsed the newest window this client already sent an open sequence for
 *                 (same secret), if any; a used sequence is assumed consumed
 * @param skew     how many windows ahead the server accepts
 *
 * First knock: `current`. After that: `lastUsed + 1` while that is at most
 * `current + skew`; beyond it, the same window with `waitFor` set.
 */
export function chooseKnockWindow(
  current: number,
  lastUsed: number | undefined,
  skew: number = ASSUMED_SKEW,
): WindowChoice {
  if (lastUsed === undefined || lastUsed < current) return { window: current };
  const window = lastUsed + 1;
  if (window <= current + skew) return { window };
  return { window, waitFor: window - skew };
}
