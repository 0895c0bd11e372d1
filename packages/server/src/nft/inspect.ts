// Reading our table back from the kernel: pure parsers of `nft` output.
import { TABLE_COMMENT, type AllowedCarryOver } from '../ruleset/render.js';

/** Is the text of `nft list table inet NAME` a table we made? */
export function isOurTable(listing: string): boolean {
  return listing.includes(`comment "${TABLE_COMMENT}"`);
}

interface JsonSetElem {
  elem?: { val?: unknown; expires?: number; timeout?: number };
}
interface JsonSet {
  name?: string;
  elem?: (JsonSetElem | string)[];
}

function jsonObjects(doc: unknown, kind: string): Record<string, unknown>[] {
  const list = (doc as { nftables?: Record<string, unknown>[] } | null)?.nftables ?? [];
  return list.filter((o) => kind in o).map((o) => o[kind] as Record<string, unknown>);
}

/** Addresses in our allowed sets with their remaining time, from `nft -j list table`. */
export function allowedFromJson(doc: unknown): AllowedCarryOver[] {
  const out: AllowedCarryOver[] = [];
  for (const set of jsonObjects(doc, 'set') as JsonSet[]) {
    const m = /^allowed([46])_(.+)$/.exec(set.name ?? '');
    if (!m) continue;
    for (const e of set.elem ?? []) {
      if (typeof e === 'string') continue; // element without timeout info: skip
      const val = e.elem?.val;
      if (typeof val !== 'string') continue;
      out.push({
        family: m[1] === '4' ? 4 : 6,
        service: m[2]!,
        address: val,
        remainingMs: (e.elem?.expires ?? 0) * 1000,
      });
    }
  }
  return out;
}

/** Named counters of our table: packets by name. */
export function countersFromJson(doc: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of jsonObjects(doc, 'counter')) {
    if (typeof c.name === 'string' && typeof c.packets === 'number') out[c.name] = c.packets;
  }
  return out;
}

/** The marks in our `used` set with their remaining time. */
export function usedMarksFromJson(doc: unknown): { mark: number; remainingMs: number }[] {
  const out: { mark: number; remainingMs: number }[] = [];
  for (const set of jsonObjects(doc, 'set') as JsonSet[]) {
    if (set.name !== 'used') continue;
    for (const e of set.elem ?? []) {
      if (typeof e === 'string') continue;
      const mark = e.elem?.val;
      if (typeof mark === 'number') out.push({ mark, remainingMs: (e.elem?.expires ?? 0) * 1000 });
    }
  }
  return out;
}

/** A one-time sequence the kernel has already consumed, by its ports. */
export interface UsedSequence {
  ports: number[];
  remainingMs: number;
}

/**
 * The sequences behind the marks in our `used` set, rebuilt from the `step`
 * map (each element is `state . port → next`, so a leaf's path is found by
 * walking back to state 0). Lets a reload or a restart carry consumption over
 * although the new table numbers its states afresh.
 */
export function usedSequencesFromJson(doc: unknown): UsedSequence[] {
  const parent = new Map<number, { state: number; port: number }>();
  for (const map of jsonObjects(doc, 'map')) {
    if (map.name !== 'step') continue;
    for (const e of (map.elem as unknown[] | undefined) ?? []) {
      // An element with a timeout wraps its key: { elem: { val: { concat }, timeout, expires } }.
      const [key, next] = e as [{ concat?: [number, number]; elem?: { val?: { concat?: [number, number] } } }, number];
      const concat = key?.concat ?? key?.elem?.val?.concat;
      if (!concat || typeof next !== 'number') continue;
      parent.set(next, { state: concat[0], port: concat[1] });
    }
  }
  const out: UsedSequence[] = [];
  for (const set of jsonObjects(doc, 'set') as JsonSet[]) {
    if (set.name !== 'used') continue;
    for (const e of set.elem ?? []) {
      if (typeof e === 'string') continue;
      const mark = e.elem?.val;
      if (typeof mark !== 'number') continue;
      const ports: number[] = [];
      let at = parent.get(mark);
      for (let guard = 0; at && guard < 16; guard++) {
        ports.unshift(at.port);
        if (at.state === 0) break;
        at = parent.get(at.state);
      }
      if (ports.length > 0 && at?.state === 0) out.push({ ports, remainingMs: (e.elem?.expires ?? 0) * 1000 });
    }
  }
  return out;
}
