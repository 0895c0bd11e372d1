// The brute-force cut-off, in the kernel. A bad knock (a port of the knock
// range that continues nothing) costs the source a token from a per-source
// token bucket kept in the `strikesN` set (nft `limit` as a per-element
// stateful expression: a meter). When the bucket is empty the source goes into
// `bannedN` for `for`, and the first rule of knockN drops every knock from a
// banned source, valid or not. Per packet this is two hash lookups, whatever
// the number of users. IPv6 sources are counted and banned per /64: one host
// usually has a whole /64 to pick addresses from.
import type { BanConfig, ServerConfig } from '../config/types.js';
import { BANNED_PREFIX, banLogStatements, refusalLogStatements } from './refusal-log.js';
import { banKey } from './source-key.js';

/** Sizes of the ban sets: explicit, so a flood of spoofed sources cannot grow them. */
export const STRIKES_SET_SIZE = 65_536;
export const BANNED_SET_SIZE = 65_536;

type Family = 4 | 6;

export { banKey };

const ms = (n: number): string => `${Math.max(1, Math.round(n))}ms`;

/**
 * The nft `limit` that is "over" at the `after`-th bad knock within `within`:
 * a bucket of after−1 tokens (`burst`), refilled at after−1 per `within`
 * (expressed per day, the finest integer rate nft takes for long windows).
 * Undefined when the first bad knock already bans.
 */
export function banLimit(ban: BanConfig): string | undefined {
  if (ban.after <= 1) return undefined;
  const tokens = ban.after - 1;
  const perDay = Math.max(1, Math.round((tokens * 86_400_000) / ban.withinMs));
  return `limit rate over ${perDay}/day burst ${tokens} packets`;
}

/** A banned address carried over a full load, with its remaining time. */
export interface BannedCarryOver {
  family: Family;
  /** The address (IPv4) or the /64 prefix address (IPv6), as nft prints it. */
  address: string;
  remainingMs: number;
}

/** Set declarations of the cut-off, for the table body ('' when off). */
export function banSetsText(config: ServerConfig, banned: readonly BannedCarryOver[] = []): string {
  const ban = config.ban;
  if (ban === null) return '';
  return ([4, 6] as const)
    .map((f) => {
      const typ = f === 4 ? 'ip saddr' : 'ip6 saddr';
      const elems = banned
        .filter((b) => b.family === f && b.remainingMs >= 1000)
        .map((b) => `${b.address} timeout ${ms(Math.min(b.remainingMs, ban.forMs))}`);
      const elements = elems.length === 0 ? '' : `\t\telements = {\n\t\t\t${elems.join(',\n\t\t\t')}\n\t\t}\n`;
      return `	set strikes${f} {
		typeof ${typ}
		size ${STRIKES_SET_SIZE}
		flags dynamic,timeout
		timeout ${ms(ban.withinMs)}
	}

	set banned${f} {
		typeof ${typ}
		size ${BANNED_SET_SIZE}
		flags dynamic,timeout
		timeout ${ms(ban.forMs)}
${elements}	}
`;
    })
    .join('\n');
}

/** Counters of the cut-off ('' when off). */
export function banCountersText(config: ServerConfig): string {
  if (config.ban === null) return '';
  return `	counter bans {
	}

	counter banned_knocks {
	}

`;
}

/** First rule of knockN: a banned source's knocks are ignored, valid ones too. */
export function banCheckRule(config: ServerConfig, f: Family): string {
  if (config.ban === null) return '';
  return `\t\t${banKey(f)} @banned${f} counter name banned_knocks goto banned_knock${f}\n`;
}

/** Where a banned source's knock goes: logged within the refusal budget (nft/refusal-log.ts), dropped. */
export function bannedKnockChainText(config: ServerConfig, f: Family): string {
  if (config.ban === null) return '';
  return `
	chain banned_knock${f} {
		${refusalLogStatements(config, f, BANNED_PREFIX)}
		drop
	}
`;
}

/**
 * After a bad knock: take a token from the source's bucket; when there is none
 * left, ban it. A full `strikes`/`banned` set makes the rule stop early (no
 * new bans until entries expire), never lets a knock through.
 */
export function strikeRule(config: ServerConfig, f: Family): string {
  const ban = config.ban;
  if (ban === null) return '';
  const key = banKey(f);
  const limit = banLimit(ban);
  const strike = limit === undefined ? '' : `update @strikes${f} { ${key} ${limit} } `;
  return `\t\t${strike}add @banned${f} { ${key} } counter name bans ${banLogStatements(config)}\n`;
}

interface JsonSetElem {
  elem?: { val?: unknown; expires?: number };
}

function jsonObjects(doc: unknown, kind: string): Record<string, unknown>[] {
  const list = (doc as { nftables?: Record<string, unknown>[] } | null)?.nftables ?? [];
  return list.filter((o) => kind in o).map((o) => o[kind] as Record<string, unknown>);
}

/** Banned sources with their remaining time, from `nft -j list table`. */
export function bannedFromJson(doc: unknown): BannedCarryOver[] {
  const out: BannedCarryOver[] = [];
  for (const set of jsonObjects(doc, 'set')) {
    const m = /^banned([46])$/.exec(typeof set.name === 'string' ? set.name : '');
    if (!m) continue;
    for (const e of (set.elem as (JsonSetElem | string)[] | undefined) ?? []) {
      if (typeof e === 'string') continue;
      const val = e.elem?.val;
      if (typeof val !== 'string') continue;
      out.push({ family: m[1] === '4' ? 4 : 6, address: val, remainingMs: (e.elem?.expires ?? 0) * 1000 });
    }
  }
  return out;
}

/** What `status` shows about the cut-off. */
export interface BanStatus {
  /** Sources banned right now (IPv6: /64 prefixes). */
  banned: number;
  /** Bans imposed since the table was loaded. */
  bans: number;
  /** Knocks ignored because their source was banned, since the table was loaded. */
  bannedKnocks: number;
}

/** Ban figures from `nft -j list table inet NAME`; undefined when the cut-off is off. */
export function banStatusFromJson(doc: unknown): BanStatus | undefined {
  const sets = jsonObjects(doc, 'set').filter((s) => s.name === 'banned4' || s.name === 'banned6');
  if (sets.length === 0) return undefined;
  const counters = new Map<string, number>();
  for (const c of jsonObjects(doc, 'counter')) {
    if (typeof c.name === 'string' && typeof c.packets === 'number') counters.set(c.name, c.packets);
  }
  return {
    banned: bannedFromJson(doc).length,
    bans: counters.get('bans') ?? 0,
    bannedKnocks: counters.get('banned_knocks') ?? 0,
  };
}
