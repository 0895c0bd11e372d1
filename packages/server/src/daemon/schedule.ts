// When the daemon wakes up: to prepare a rotation PREPARE_LEAD_MS before its
// boundary, to load it APPLY_LEAD_MS before, or to retry after a failure; never
// sleeping longer than MAX_SLEEP_MS, so that a step of the wall clock is noticed.
// Pure: instants in, an instant out.

/** Longest a timer sleeps before re-reading the clock, so clock steps are noticed. */
export const MAX_SLEEP_MS = 10_000;
/** A rotation is computed this long before its boundary (plan, trie, script). */
export const PREPARE_LEAD_MS = 3_000;
/**
 * A prepared rotation is loaded this long before its boundary, so that the new
 * window's sequences are in the kernel when it starts: a client that knocks in
 * the first millisecond of a window opens. The new window becomes valid this
 * much early; the expiring one still ends at its boundary (its elements carry
 * their own timeouts).
 */
export const APPLY_LEAD_MS = 1_000;
/**
 * A prepared change that loads later than this after its planned instant is rendered
 * again, its element timeouts counted from the actual load (they are relative in nft).
 */
export const LATE_LOAD_TOLERANCE_MS = 20;
/** Timers may fire a little early: within this, an instant counts as reached. */
export const TIMER_SLACK_MS = 5;

/**
 * The instant the next rotation is for: the next boundary after the instant the
 * live table was planned for. A boundary that passed while nft was loading is
 * rotated to at once, and one loaded ahead (APPLY_LEAD_MS) is not rotated to
 * twice; a plan far ahead of the clock means the clock stepped back: then from now.
 */
export function rotationTarget(nowMs: number, plannedAtMs: number, nextBoundaryAfter: (ms: number) => number): number {
  return nextBoundaryAfter(plannedAtMs <= nowMs + APPLY_LEAD_MS + TIMER_SLACK_MS ? plannedAtMs : nowMs);
}

/** How long to sleep before waking for `target`: to prepare it, or (prepared, or too late to prepare) to load it. */
export function sleepBefore(nowMs: number, target: number, prepared: boolean): number {
  const prepareAt = target - PREPARE_LEAD_MS;
  const wakeAt = prepared || nowMs >= prepareAt - TIMER_SLACK_MS ? target - APPLY_LEAD_MS : prepareAt;
  return Math.min(MAX_SLEEP_MS, Math.max(0, wakeAt - nowMs));
}

/** Is it time to load the rotation for `target`? */
export const isTimeToLoad = (nowMs: number, target: number): boolean =>
  nowMs + TIMER_SLACK_MS >= target - APPLY_LEAD_MS;

/** Is it time to prepare the rotation for `target` (and not yet to load it)? */
export const isTimeToPrepare = (nowMs: number, target: number): boolean =>
  nowMs >= target - PREPARE_LEAD_MS && !isTimeToLoad(nowMs, target);

/** Can a change prepared for `target` still be loaded as it is at `nowMs`? */
export const preparedStillFits = (nowMs: number, target: number): boolean =>
  target <= nowMs + APPLY_LEAD_MS + TIMER_SLACK_MS && nowMs < target + PREPARE_LEAD_MS;

/**
 * The instant a change planned now is for: now, or the boundary whose window was
 * loaded ahead of it, so that a reload in that second keeps the early window.
 */
export function planInstant(nowMs: number, plannedAtMs: number): number {
  return plannedAtMs > nowMs && plannedAtMs <= nowMs + APPLY_LEAD_MS + TIMER_SLACK_MS ? plannedAtMs : nowMs;
}

/**
 * When a change planned for `target` is meant to load, for its element timeouts:
 * APPLY_LEAD_MS before a boundary for a rotation, at once for a change planned for now.
 */
export function loadInstant(nowMs: number, target: number): number {
  return Math.min(target, Math.max(nowMs, target - APPLY_LEAD_MS));
}
