// For unit tests of the daemon: a clock whose time moves only when a test says
// so (timers fire in order as it passes), and a logger that keeps its lines.
import type { Clock } from '../src/daemon/clock.js';
import type { Logger } from '../src/log.js';

export function memoryLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log: Logger = {
    info: (e, m) => lines.push(`info ${e} ${m}`),
    warn: (e, m) => lines.push(`warn ${e} ${m}`),
    error: (e, m) => lines.push(`error ${e} ${m}`),
  };
  return { log, lines };
}

export class FakeClock implements Clock {
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  constructor(public t: number) {}
  now() {
    return this.t;
  }
  setTimer(fn: () => void, ms: number) {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return { cancel: () => void (timer.live = false) };
  }
  /** Moves time on, firing due timers in order (bounded), letting each one's async work settle. */
  async advance(ms: number) {
    const end = this.t + ms;
    for (let i = 0; i < 2000; i++) {
      const due = this.timers.filter((x) => x.live && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.live = false;
      this.t = Math.max(this.t, due.at);
      due.fn();
      for (let k = 0; k < 6; k++) await new Promise((r) => setTimeout(r, 0));
    }
    this.t = end;
    for (let k = 0; k < 6; k++) await new Promise((r) => setTimeout(r, 0));
  }
}
