// The daemon's sense of time: the wall clock (windows follow it), timers, and a
// monotonic clock to notice when the wall clock steps (the kernel's timeouts do
// not follow a step, so the daemon must reload then).
export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): { cancel(): void };
  /** A clock that never steps (ms), to notice when the wall clock does; absent: not checked. */
  monotonic?(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** How far the wall clock may drift from the monotonic one between two changes before we call it a step. */
export const CLOCK_STEP_TOLERANCE_MS = 2_000;

/** Notices wall-clock steps between two changes of the table. */
export class ClockStepDetector {
  private anchor: { wall: number; mono: number } | undefined;

  constructor(private readonly clock: Clock) {}

  /** The table was just changed: measure from here. */
  mark(): void {
    const mono = this.clock.monotonic?.();
    this.anchor = mono === undefined ? undefined : { wall: this.clock.now(), mono };
  }

  /** How far the wall clock stepped since the last mark (ms, signed); 0: it did not, or cannot tell. */
  step(): number {
    const mono = this.clock.monotonic?.();
    if (mono === undefined || this.anchor === undefined) return 0;
    const drift = this.clock.now() - this.anchor.wall - (mono - this.anchor.mono);
    return Math.abs(drift) > CLOCK_STEP_TOLERANCE_MS ? drift : 0;
  }
}

/** The monotonic time, or the wall clock where there is none (unit tests). */
export const monotonicNow = (clock: Clock): number => clock.monotonic?.() ?? clock.now();
