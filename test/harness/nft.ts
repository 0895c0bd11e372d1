// Reading (and, for test fixtures, writing) nftables state inside a test namespace, so
// tests can assert what the kernel holds rather than what the daemon says it loaded.
import { run } from './proc.js';
import type { NsRef, Topology } from './topology.js';

export type NftFamily = 'inet' | 'ip' | 'ip6' | 'arp' | 'bridge' | 'netdev';
/** One entry of `nft -j`'s "nftables" array, e.g. { table: {...} } or { rule: {...} }. */
export type NftObject = Record<string, unknown>;
export type NftFormat = 'json' | 'text';

const isAbsent = (stderr: string) => stderr.includes('No such file or directory');

/** Runs `nft <args>` in ns; resolves with the raw result (check it yourself). */
export function nft(topo: Topology, ns: NsRef, args: readonly string[], input?: string) {
  return topo.exec(ns, ['nft', ...args], { input, timeoutMs: 15_000 });
}

/** Loads a script with `nft -f -` in ns (one transaction); throws with nft's message on error. */
export async function applyNft(topo: Topology, ns: NsRef, script: string): Promise<void> {
  const r = await nft(topo, ns, ['-f', '-'], script);
  if (r.code !== 0)
    throw new Error(`nft -f failed in ${ns} (exit ${r.code}):\n${r.stderr.trim()}\n--- script ---\n${script}`);
}

async function list(
  topo: Topology,
  ns: NsRef,
  what: string[],
  format: NftFormat,
): Promise<NftObject[] | string | null> {
  const r = await nft(topo, ns, format === 'json' ? ['-j', 'list', ...what] : ['list', ...what]);
  if (r.code !== 0) {
    if (isAbsent(r.stderr)) return null;
    throw new Error(`nft list ${what.join(' ')} failed in ${ns} (exit ${r.code}): ${r.stderr.trim()}`);
  }
  if (format === 'text') return r.stdout;
  return (JSON.parse(r.stdout) as { nftables: NftObject[] }).nftables;
}

/** `nft list table`: the parsed `nft -j` array (default) or text; null when the table is absent. */
export function listTable(topo: Topology, ns: NsRef, family: NftFamily, name: string): Promise<NftObject[] | null>;
export function listTable(
  topo: Topology,
  ns: NsRef,
  family: NftFamily,
  name: string,
  opts: { format: 'json' },
): Promise<NftObject[] | null>;
export function listTable(
  topo: Topology,
  ns: NsRef,
  family: NftFamily,
  name: string,
  opts: { format: 'text' },
): Promise<string | null>;
export function listTable(
  topo: Topology,
  ns: NsRef,
  family: NftFamily,
  name: string,
  opts: { format?: NftFormat } = {},
) {
  return list(topo, ns, ['table', family, name], opts.format ?? 'json');
}

/** `nft list ruleset` in ns: parsed JSON (default) or text. */
export function listRuleset(topo: Topology, ns: NsRef): Promise<NftObject[]>;
export function listRuleset(topo: Topology, ns: NsRef, opts: { format: 'json' }): Promise<NftObject[]>;
export function listRuleset(topo: Topology, ns: NsRef, opts: { format: 'text' }): Promise<string>;
export async function listRuleset(topo: Topology, ns: NsRef, opts: { format?: NftFormat } = {}) {
  return (await list(topo, ns, ['ruleset'], opts.format ?? 'json')) ?? (opts.format === 'text' ? '' : []);
}

/** The ROOT namespace's ruleset as text, read-only: for asserting the tests never touched it. */
export async function listRootRuleset(): Promise<string> {
  const r = await run(['nft', 'list', 'ruleset'], { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`nft list ruleset (root namespace) failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Names of the tables in ns, as "family name". */
export async function listTables(topo: Topology, ns: NsRef): Promise<string[]> {
  const objs = await listRuleset(topo, ns);
  return objs.flatMap((o) => {
    const t = o.table as { family: string; name: string } | undefined;
    return t ? [`${t.family} ${t.name}`] : [];
  });
}

export interface NftSetElement {
  /** The key as nft would print it: "192.0.2.2", "1 . 22", "198.51.100.0/24", "22-25". */
  key: string;
  /** For maps: the data ("7", "accept", "jump x"). */
  value?: string;
  /** Seconds, when the element has its own timeout / a remaining lifetime. */
  timeout?: number;
  expires?: number;
  counter?: { packets: number; bytes: number };
  /** The element exactly as `nft -j` printed it. */
  raw: unknown;
}

/** Renders an `nft -j` value (address, number, concat, prefix, range, verdict) as nft text. */
export function renderNftValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'object') return String(v);
  const o = v as Record<string, unknown>;
  if (Array.isArray(o.concat)) return o.concat.map(renderNftValue).join(' . ');
  if (o.prefix) {
    const p = o.prefix as { addr: unknown; len: number };
    return `${renderNftValue(p.addr)}/${p.len}`;
  }
  if (Array.isArray(o.range)) return o.range.map(renderNftValue).join('-');
  if (o.elem) return renderNftValue((o.elem as { val: unknown }).val);
  for (const verdict of ['jump', 'goto'] as const) {
    if (o[verdict]) return `${verdict} ${(o[verdict] as { target: string }).target}`;
  }
  const keys = Object.keys(o);
  if (keys.length === 1 && o[keys[0]!] === null) return keys[0]!; // {"accept": null}
  return JSON.stringify(v);
}

function parseElement(raw: unknown): NftSetElement {
  // Maps list [key, data]; a key with attributes is wrapped as {"elem": {val, timeout, expires, counter}}.
  const [k, data] = Array.isArray(raw) ? (raw as [unknown, unknown]) : [raw, undefined];
  const attrs = (
    k !== null && typeof k === 'object' && 'elem' in k ? (k as { elem: Record<string, unknown> }).elem : {}
  ) as {
    timeout?: number;
    expires?: number;
    counter?: { packets: number; bytes: number };
  };
  const e: NftSetElement = { key: renderNftValue(k), raw };
  if (data !== undefined) e.value = renderNftValue(data);
  if (attrs.timeout !== undefined) e.timeout = attrs.timeout;
  if (attrs.expires !== undefined) e.expires = attrs.expires;
  if (attrs.counter !== undefined) e.counter = attrs.counter;
  return e;
}

/**
 * The elements of a set or map (found either way) in ns, as the kernel holds them now,
 * including ones the packet path added. Throws when there is no such set or map.
 */
export async function setElements(
  topo: Topology,
  ns: NsRef,
  table: string,
  set: string,
  opts: { family?: NftFamily } = {},
): Promise<NftSetElement[]> {
  const family = opts.family ?? 'inet';
  for (const kind of ['set', 'map'] as const) {
    const objs = await list(topo, ns, [kind, family, table, set], 'json');
    if (objs === null) continue;
    for (const o of objs as NftObject[]) {
      const body = o[kind] as { elem?: unknown[] } | undefined;
      if (body) return (body.elem ?? []).map(parseElement);
    }
  }
  throw new Error(`no set or map ${family} ${table} ${set} in ${ns}`);
}

/** Just the keys of setElements(), e.g. ["192.0.2.2", "2001:db8:1::2"]. */
export async function setElementKeys(
  topo: Topology,
  ns: NsRef,
  table: string,
  set: string,
  opts: { family?: NftFamily } = {},
) {
  return (await setElements(topo, ns, table, set, opts)).map((e) => e.key);
}

/** A named counter's value; null when absent. */
export async function counterValue(
  topo: Topology,
  ns: NsRef,
  table: string,
  name: string,
  opts: { family?: NftFamily } = {},
): Promise<{ packets: number; bytes: number } | null> {
  const objs = await list(topo, ns, ['counter', opts.family ?? 'inet', table, name], 'json');
  if (objs === null) return null;
  for (const o of objs as NftObject[]) {
    const c = o.counter as { packets: number; bytes: number } | undefined;
    if (c) return { packets: c.packets, bytes: c.bytes };
  }
  return null;
}
