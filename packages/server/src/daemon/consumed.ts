// The one-time sequences the kernel has consumed, by their ports, for as long as
// the kernel's `used` set would refuse them. Kept across full loads (a reload,
// a clock step: the new table numbers its leaves afresh) and, through
// state_dir/consumed.json, across stops and reboots. A deadline is kept on the
// monotonic clock, so a step of the wall clock does not shorten it.
import type { UsedSequence } from '../nft/inspect.js';
import { readConsumed, writeConsumed } from '../state/consumed-file.js';
import { monotonicNow, type Clock } from './clock.js';

export class ConsumedSequences {
  private readonly byPorts = new Map<string, { ports: number[]; untilMono: number }>();
  private saving: Promise<void> | undefined;
  private saveAgain = false;

  /**
   * `stateDir`: where consumed.json lives (read at load, written at save), or
   * undefined to keep them in memory only (unit tests, tools).
   */
  constructor(
    private readonly clock: Clock,
    private readonly stateDir: () => string | undefined,
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  /** Remembers a consumed sequence for `remainingMs` more (never shortens what is remembered). */
  remember(ports: readonly number[], remainingMs: number): void {
    const key = ports.join(',');
    const untilMono = monotonicNow(this.clock) + remainingMs;
    if ((this.byPorts.get(key)?.untilMono ?? 0) < untilMono) this.byPorts.set(key, { ports: [...ports], untilMono });
  }

  /** Remembers what the kernel's `used` set holds: by ports, or by marks resolved through `portsOfMark`. */
  rememberFromKernel(
    used: readonly UsedSequence[],
    usedMarks: readonly { mark: number; remainingMs: number }[],
    portsOfMark: () => Map<number, number[]>,
  ): void {
    for (const u of used) this.remember(u.ports, u.remainingMs);
    if (usedMarks.length === 0) return;
    const byMark = portsOfMark();
    for (const u of usedMarks) {
      const ports = byMark.get(u.mark >>> 0);
      if (ports) this.remember(ports, Math.max(u.remainingMs, 1000));
    }
  }

  /**
   * What a full load must mark used, with the time each has left; forgets those that ran
   * out (here, once per load or save, not at every remember: a load remembers thousands).
   */
  toCarry(): UsedSequence[] {
    const now = monotonicNow(this.clock);
    const carry: UsedSequence[] = [];
    for (const [key, c] of this.byPorts) {
      if (c.untilMono <= now) this.byPorts.delete(key);
      else carry.push({ ports: c.ports, remainingMs: c.untilMono - now });
    }
    return carry;
  }

  /** Remembers those in consumed.json (at start). */
  async load(): Promise<void> {
    const dir = this.stateDir();
    if (dir === undefined) return;
    const wall = this.clock.now();
    for (const r of await readConsumed(dir, wall, this.warn)) this.remember(r.ports, r.untilMs - wall);
  }

  /** Writes what is remembered to consumed.json; writes coalesce, one at a time. Never throws. */
  save(): Promise<void> {
    const dir = this.stateDir();
    if (dir === undefined) return Promise.resolve();
    if (this.saving) {
      this.saveAgain = true;
      return this.saving;
    }
    const write = async (): Promise<void> => {
      do {
        this.saveAgain = false;
        const wall = this.clock.now();
        const records = this.toCarry().map((c) => ({ ports: c.ports, untilMs: wall + c.remainingMs }));
        try {
          await writeConsumed(dir, records);
        } catch (e) {
          this.warn(`cannot keep the consumed sequences in ${dir}: ${(e as Error).message}; a restart may forget them`);
        }
      } while (this.saveAgain);
    };
    this.saving = write().finally(() => (this.saving = undefined));
    return this.saving;
  }
}
