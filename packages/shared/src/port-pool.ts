// The pool knock ports are drawn from, and picking without repetition from it,
// without materialising a 55,000-entry array per derivation.
import type { KnockProfile } from './types.js';

/** An ordered pool of candidate ports. */
export interface PortPool {
  readonly size: number;
  /** The port at `index` (0 ≤ index < size), in pool order. */
  at(index: number): number;
}

/**
 * The k-th (0-based) integer ≥ base that is not in `sorted` (strictly
 * ascending, every entry ≥ base). Binary search: the entries below the answer
 * are exactly those with sorted[i] − base − i ≤ k.
 */
export function kthNotIn(base: number, k: number, sorted: readonly number[]): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! - base - mid <= k) lo = mid + 1;
    else hi = mid;
  }
  return base + k + lo;
}

/** Ports min…max ascending, minus the excluded ones. */
class RangePool implements PortPool {
  readonly size: number;
  private readonly excl: number[];
  constructor(
    private readonly min: number,
    max: number,
    exclude: readonly number[],
  ) {
    this.excl = [...new Set(exclude)].filter((p) => p >= min && p <= max).sort((a, b) => a - b);
    this.size = max - min + 1 - this.excl.length;
  }
  at(i: number): number {
    return kthNotIn(this.min, i, this.excl);
  }
}

/** The given list, in the order given. */
class ListPool implements PortPool {
  readonly size: number;
  constructor(private readonly ports: readonly number[]) {
    this.size = ports.length;
  }
  at(i: number): number {
    return this.ports[i]!;
  }
}

export function rangePool(min: number, max: number, exclude: readonly number[]): PortPool {
  return new RangePool(min, max, exclude);
}

export function listPool(ports: readonly number[]): PortPool {
  return new ListPool(ports);
}

/** Where pick j's value v_j comes from; m = P − j is the number of ports left. */
export interface PickSource {
  value(j: number, m: number): number;
}

/** The pool of a `time`, `prng` or `list-modulo` profile. */
export function profilePool(profile: KnockProfile): PortPool {
  return profile.method === 'list-modulo'
    ? listPool(profile.ports)
    : rangePool(profile.range.min, profile.range.max, profile.exclude);
}

/**
 * Draws `count` ports without repetition: pick j takes value(j, m) with
 * m = size − j and chooses index value mod m among the pool entries not yet
 * picked, in pool order.
 */
export function drawPorts(pool: PortPool, count: number, source: PickSource): number[] {
  const picked: number[] = []; // pool indices, ascending
  const ports: number[] = [];
  for (let j = 0; j < count; j++) {
    const m = pool.size - j;
    const index = kthNotIn(0, source.value(j, m) % m, picked);
    let at = picked.length;
    while (at > 0 && picked[at - 1]! > index) at--;
    picked.splice(at, 0, index);
    ports.push(pool.at(index));
  }
  return ports;
}
