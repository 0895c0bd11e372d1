// Which UDP ports belong to the knock machinery: the union of every user's
// pool, as merged intervals. Ports outside it (DNS, WireGuard, an excluded
// port inside the range) are never touched by us.
import type { KnockProfile } from '@otpknock/shared';
import type { ServerConfig } from '../config/types.js';

type Interval = [number, number];

/** The profile's range without its excluded ports. */
function rangeIntervals(p: KnockProfile): Interval[] {
  const out: Interval[] = [];
  let lo = p.range.min;
  for (const x of [...new Set(p.exclude)].sort((a, b) => a - b)) {
    if (x < lo || x > p.range.max) continue;
    if (x > lo) out.push([lo, x - 1]);
    lo = x + 1;
  }
  if (lo <= p.range.max) out.push([lo, p.range.max]);
  return out;
}

function profileIntervals(p: KnockProfile): Interval[] {
  switch (p.method) {
    case 'time':
    case 'prng':
      return rangeIntervals(p);
    case 'list-modulo':
      return p.ports.map((x) => [x, x]);
    case 'static':
      return [...p.open, ...p.close].map((x) => [x, x]);
  }
}

/** Merges overlapping or touching intervals, sorted (nft rejects overlaps). */
export function mergeIntervals(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  const out: Interval[] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

export function knockPortIntervals(config: ServerConfig): Interval[] {
  const breakGlass = (config.breakGlass?.ports ?? []).map((p): Interval => [p, p]);
  // Code mode (protocol.md §10) draws from the user's range whatever the method, so a
  // list-modulo user's code-mode knocks need the range too; excluded ports stay out
  // (a UDP service there), and a code-mode sequence that hits one is not loaded.
  const code = config.users.flatMap((u) =>
    u.codeMode === true && u.profile.method !== 'static' ? rangeIntervals(u.profile) : [],
  );
  return mergeIntervals([...config.users.flatMap((u) => profileIntervals(u.profile)), ...code, ...breakGlass]);
}
