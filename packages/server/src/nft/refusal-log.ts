// Refused knocks, logged by the kernel to the audit's NFLOG group so that the
// daemon can explain them (audit/refusals.ts) without any userspace work per
// packet. Only the refusing paths log: a bad knock (a knock port that continues
// nothing), a knock from a banned source, a knock in mode closed, and a ban as
// it is imposed; the path of a valid knock step has no rule more.
//
// Two limits, both in the kernel, bound what reaches the daemon: a per-source
// meter (`refusal_meterN`, keyed like the ban: the address, or the /64 of an
// IPv6 source) and one global limit object (`refusal_log`) shared by every
// logging rule. A source over its budget, sources beyond the meter's size (a
// spoofed flood) and everything over the global rate are simply not logged:
// the packet is refused the same way.
import type { ServerConfig } from '../config/types.js';
import { banKey } from './source-key.js';

/** Log prefixes of refusals (the final chains' `otpknock open`/`replay` are in audit/nflog.ts). */
export const BAD_PREFIX = 'otpknock bad';
export const BANNED_PREFIX = 'otpknock banned';
export const CLOSED_PREFIX = 'otpknock closed';
export const BAN_PREFIX = 'otpknock ban';

/** The kernel's limits on refusal logging. */
export const REFUSAL_LOG = {
  /** Per source: a burst that covers a failed knock of the longest sequence, retried twice… */
  sourceBurst: 24,
  /** …then this many a second. */
  sourcePerSecond: 2,
  /** Sources the meter tracks at once per family (a full meter logs no new source). */
  meterSize: 4096,
  /** A source's meter element lasts this long after its last refused knock. */
  meterTimeoutMs: 30_000,
  /** All refusals together, every source and family: a burst, then this many a second. */
  globalBurst: 200,
  globalPerSecond: 50,
} as const;

type Family = 4 | 6;

/** The meter sets and the global limit, for the table body. */
export function refusalLogObjectsText(): string {
  const l = REFUSAL_LOG;
  const meters = ([4, 6] as const)
    .map(
      (f) => `	set refusal_meter${f} {
		typeof ${f === 4 ? 'ip saddr' : 'ip6 saddr'}
		size ${l.meterSize}
		flags dynamic,timeout
		timeout ${l.meterTimeoutMs}ms
	}
`,
    )
    .join('\n');
  return `	limit refusal_log {
		rate ${l.globalPerSecond}/second burst ${l.globalBurst} packets
	}

${meters}`;
}

/**
 * The statements that log one refused knock of family `f` with `prefix`, within
 * the source's and the global budget (nothing after them in the rule runs when
 * either is spent, so they end a rule).
 */
export function refusalLogStatements(config: ServerConfig, f: Family, prefix: string): string {
  const l = REFUSAL_LOG;
  return `update @refusal_meter${f} { ${banKey(f)} limit rate ${l.sourcePerSecond}/second burst ${l.sourceBurst} packets } limit name "refusal_log" log prefix "${prefix}" group ${config.auditNflogGroup}`;
}

/** A ban as it is imposed: within the global budget only (one per source and ban). */
export function banLogStatements(config: ServerConfig): string {
  return `limit name "refusal_log" log prefix "${BAN_PREFIX}" group ${config.auditNflogGroup}`;
}
