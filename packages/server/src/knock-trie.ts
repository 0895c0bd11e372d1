// The kernel's knock state machine as data: a trie over the live sequences.
//
// Each distinct prefix of a live sequence is a node with a numeric state id.
// The kernel keeps, per source address, the id of the node it has reached, and
// a static map `state . port → next state` moves it on. Sharing prefix nodes is
// what ties progress to ONE sequence: after Alice's first port a source is in
// Alice's node, and only Alice's second port leads on from there.
//
// Ids are never reused while live, and are handed out in increasing order so an
// id that died is not given to another prefix until the counter wraps (2^30
// allocations): a source's stale progress can never point into a new sequence.
//
// Every element carries the expiry of the sequences it serves as an nft
// timeout: the kernel forgets an ended window by itself, and a rotation only
// adds the new window (and lengthens the timeouts of prefixes it shares).
import type { KnockAction, KnockEntry } from './plan.js';

/** Marks a state as the end of a sequence (a leaf). */
export const FINAL_FLAG = 0x8000_0000;
/** Set on leaves of one-time sequences: the kernel consumes them at first use. */
export const ONE_TIME_FLAG = 0x4000_0000;
const LEAF_ID_MASK = 0x3fff_ffff;
const NODE_ID_MAX = 0x7fff_ffff;

/** Action word of a leaf, as the kernel's `leaf_action` map returns it. */
export const ACTION_CLOSE = 0x4000_0000;
export const ACTION_TOGGLE = 0x2000_0000;
export const SERVICE_MASK_BITS = 24;

/** `state . port → next`: one element of the kernel's step map. */
export interface StepElement {
  state: number;
  port: number;
  next: number;
  /** With a required payload token: the token bytes the kernel matches, as an nft hex value. */
  token?: string;
  /** Unix ms at which the kernel drops it by itself (its nft timeout); absent: never. */
  expiresMs?: number;
}

/** `leaf mark → action word`: one element of the kernel's leaf_action map. */
export interface LeafActionElement {
  leaf: number;
  action: number;
  expiresMs?: number;
}

interface Node {
  id: number;
  refs: number;
  state: number;
  port: number;
  token?: string;
  /** When the kernel drops its element by itself (the latest of its sequences); Infinity: never. */
  expiresMs: number;
}

interface Leaf {
  entry: KnockEntry;
  mark: number;
  state: number;
  port: number;
  expiresMs: number;
  /** The last sync that kept it unchanged. */
  keptIn: number;
}

/** Trie paths of an entry's prefixes, [1 port, 2 ports, …, all]: made once per entry object. */
const pathCache = new WeakMap<KnockEntry, string[]>();

/** Trie path of the first `n` ports of an entry; a payload token makes paths of its own. */
function pathOf(entry: KnockEntry, n = entry.ports.length): string {
  let paths = pathCache.get(entry);
  if (paths === undefined) {
    paths = [];
    let text = entry.token === undefined ? '' : `${entry.token}|`;
    entry.ports.forEach((p, i) => {
      text += i === 0 ? `${p}` : `,${p}`;
      paths!.push(text);
    });
    pathCache.set(entry, paths);
  }
  return paths[n - 1]!;
}

/** The kernel key of a step element, as text. */
const elementKey = (state: number, port: number, token: string | undefined): string =>
  token === undefined ? `${state}.${port}` : `${state}.${port}.${token}`;

const withToken = <T extends object>(x: T, token: string | undefined): T & { token?: string } =>
  token === undefined ? x : { ...x, token };

const withExpiry = <T extends object>(x: T, expiresMs: number): T & { expiresMs?: number } =>
  Number.isFinite(expiresMs) ? { ...x, expiresMs } : x;

/**
 * An element that left the trie but that the kernel may still hold for a moment: it
 * was left to expire by itself (deleting it could race its timeout and fail the
 * whole transaction). A new element with the same key must replace it.
 */
interface Lingering {
  next: number;
  untilMs: number;
}

/**
 * The live trie. `syncTrie` changes it in place (a rotation touches a small part
 * of a big trie) and hands back a rollback for when nft refuses the change.
 */
export interface TrieState {
  /** Prefix ("p1,p2") → node. */
  readonly nodes: Map<string, Node>;
  /** Entry key → leaf. */
  readonly leaves: Map<string, Leaf>;
  /** Full path ("p1,p2,p3") → entry key, to find identical sequences. */
  readonly leafByPath: Map<string, string>;
  /** Element key → an element left to expire in the kernel. */
  readonly lingering: Map<string, Lingering>;
  nextNodeId: number;
  nextLeafId: number;
  /** Set when an id counter wraps: the ids live at that moment, which the counters skip. */
  liveAtWrap?: Set<number>;
}

/** The key of a step element: what a `delete element` names. */
export type StepKey = Omit<StepElement, 'next' | 'expiresMs'>;

/** A step element whose key the kernel may still hold (with `previousNext`, or expired). */
export interface StepReplace {
  element: StepElement;
  previousNext: number;
}

export interface TrieChanges {
  addSteps: StepElement[];
  deleteSteps: StepKey[];
  /** New timeout or new value for a key that may still be in the kernel. */
  replaceSteps: StepReplace[];
  addActions: LeafActionElement[];
  deleteActions: number[];
}

export interface TrieSync {
  /** The trie given to `syncTrie`, now moved to the desired entries. */
  state: TrieState;
  changes: TrieChanges;
  /** Entries that could not be made live, with why (identical or prefix sequences). */
  conflicts: { entry: KnockEntry; reason: string }[];
  /** Puts the trie back exactly as it was before this sync (the kernel refused the change). */
  rollback(): void;
}

/**
 * An element is deleted explicitly only while it has more than this left to
 * live; closer to its timeout it is left to expire, since a `delete` that
 * arrives after the kernel dropped it would fail the whole transaction.
 */
export const DELETE_MARGIN_MS = 3_000;
/** How long after its computed expiry an element may still sit in the kernel (timeouts count from the commit). */
const LINGER_SLACK_MS = 10_000;

/** Is this state the end of a sequence? */
export const isLeaf = (state: number): boolean => (state & FINAL_FLAG) !== 0;

export function emptyTrie(): TrieState {
  return {
    nodes: new Map(),
    leaves: new Map(),
    leafByPath: new Map(),
    lingering: new Map(),
    nextNodeId: 1,
    nextLeafId: 1,
  };
}

export function actionWord(action: KnockAction, serviceMask: number): number {
  const flag = action === 'close' ? ACTION_CLOSE : action === 'toggle' ? ACTION_TOGGLE : 0;
  return (flag | (serviceMask & ((1 << SERVICE_MASK_BITS) - 1))) >>> 0;
}

const expiryOf = (e: KnockEntry): number => e.expiresMs ?? Number.POSITIVE_INFINITY;

function sameEntry(a: KnockEntry, b: KnockEntry): boolean {
  if (a === b) return true;
  return (
    a.action === b.action &&
    a.serviceMask === b.serviceMask &&
    a.oneTime === b.oneTime &&
    a.token === b.token &&
    expiryOf(a) === expiryOf(b) &&
    a.ports.length === b.ports.length &&
    a.ports.every((p, i) => p === b.ports[i])
  );
}

/**
 * Every change to the trie goes through here, so that it can be undone: a flat
 * log of (kind, target, key, old value), cheap for the ~10⁵ changes of a big rotation.
 */
class UndoLog {
  private readonly ops: unknown[] = [];
  set<K, V>(m: Map<K, V>, k: K, v: V): void {
    this.ops.push(m.has(k) ? 0 : 1, m, k, m.get(k));
    m.set(k, v);
  }
  delete<K, V>(m: Map<K, V>, k: K): void {
    if (!m.has(k)) return;
    this.ops.push(0, m, k, m.get(k));
    m.delete(k);
  }
  patch<T extends object, K extends keyof T & string>(o: T, k: K, v: T[K]): void {
    this.ops.push(2, o, k, o[k]);
    o[k] = v;
  }
  undo(): void {
    const ops = this.ops;
    for (let i = ops.length - 4; i >= 0; i -= 4) {
      const [kind, target, key, old] = [ops[i], ops[i + 1], ops[i + 2], ops[i + 3]];
      if (kind === 0) (target as Map<unknown, unknown>).set(key, old);
      else if (kind === 1) (target as Map<unknown, unknown>).delete(key);
      else (target as Record<string, unknown>)[key as string] = old;
    }
    ops.length = 0;
  }
}

/** Marks the leaves a sync keeps; a number per sync, never undone (it means nothing between syncs). */
let syncEpoch = 0;

/**
 * Moves the trie from its current entries to `desired` and returns the kernel
 * element changes that do the same. Changes the trie in place; `rollback()`
 * restores it when the nft transaction fails, so memory and kernel agree.
 *
 * Elements carry their sequence's expiry as an nft timeout, so the kernel drops
 * a window's sequences by itself when the window ends: a rotation mostly adds.
 * `nowMs` decides which removed elements are left to expire rather than deleted.
 */
export function syncTrie(trie: TrieState, desired: readonly KnockEntry[], nowMs = 0): TrieSync {
  const log = new UndoLog();
  log.patch(trie, 'nextNodeId', trie.nextNodeId);
  log.patch(trie, 'nextLeafId', trie.nextLeafId);
  const { nodes, leaves, leafByPath, lingering } = trie;
  const changes: TrieChanges = { addSteps: [], deleteSteps: [], replaceSteps: [], addActions: [], deleteActions: [] };
  const conflicts: TrieSync['conflicts'] = [];
  const epoch = ++syncEpoch;

  for (const [key, l] of lingering) if (l.untilMs <= nowMs) log.delete(lingering, key);

  // Ids only repeat after the counter wraps (2^30 allocations, days at the
  // largest scale); from then on, skip the ones still live.
  const allocNode = (): number => {
    const id = trie.nextNodeId;
    if (id >= NODE_ID_MAX) {
      trie.nextNodeId = 1;
      log.patch(trie, 'liveAtWrap', liveIds(trie));
    } else trie.nextNodeId = id + 1;
    return trie.liveAtWrap?.has(id) ? allocNode() : id;
  };
  const allocLeaf = (): number => {
    const id = trie.nextLeafId;
    if (id >= LEAF_ID_MASK) {
      trie.nextLeafId = 1;
      log.patch(trie, 'liveAtWrap', liveIds(trie));
    } else trie.nextLeafId = id + 1;
    return trie.liveAtWrap?.has(FINAL_FLAG | id) ? allocLeaf() : id;
  };

  /** An element leaves the kernel: deleted now, or left to its timeout when that is near. */
  const retire = (state: number, port: number, token: string | undefined, next: number, expiresMs: number): void => {
    if (expiresMs > nowMs + DELETE_MARGIN_MS) changes.deleteSteps.push(withToken({ state, port }, token));
    else log.set(lingering, elementKey(state, port, token), { next, untilMs: expiresMs + LINGER_SLACK_MS });
  };

  // Which leaves stay as they are; the rest of `desired` is new.
  const fresh: KnockEntry[] = [];
  for (const e of desired) {
    const leaf = leaves.get(e.key);
    if (leaf !== undefined && sameEntry(e, leaf.entry)) leaf.keptIn = epoch;
    else fresh.push(e);
  }

  // Remove first: a sequence that changed (reload) frees its path before the
  // new one claims it, and nothing dead is kept alive by refcounts.
  for (const [key, leaf] of leaves) {
    if (leaf.keptIn === epoch) continue;
    log.delete(leaves, key);
    log.delete(leafByPath, pathOf(leaf.entry));
    retire(leaf.state, leaf.port, leaf.entry.token, leaf.mark, leaf.expiresMs);
    if (leaf.expiresMs > nowMs + DELETE_MARGIN_MS) changes.deleteActions.push(leaf.mark);
    const ports = leaf.entry.ports;
    for (let i = ports.length - 1; i >= 1; i--) {
      const prefix = pathOf(leaf.entry, i);
      const node = nodes.get(prefix);
      if (!node) continue;
      log.patch(node, 'refs', node.refs - 1);
      if (node.refs === 0) {
        log.delete(nodes, prefix);
        retire(node.state, node.port, node.token, node.id, node.expiresMs);
      }
    }
  }

  // New elements whose key may still be in the kernel (lingering): the value it may hold.
  const replacing = new Map<Node | Leaf, number>();
  const claim = (owner: Node | Leaf, key: string): void => {
    const l = lingering.get(key);
    if (l === undefined) return;
    if (l.untilMs > nowMs) replacing.set(owner, l.next);
    log.delete(lingering, key);
  };
  const created = new Set<Node>();
  const refreshed = new Set<Node>();
  const createdLeaves: Leaf[] = [];

  for (const entry of fresh) {
    const ports = entry.ports;
    const path = pathOf(entry);
    const clash = leafByPath.get(path);
    if (clash !== undefined) {
      conflicts.push({ entry, reason: `same ports as ${clash}` });
      continue;
    }
    if (nodes.has(path)) {
      conflicts.push({ entry, reason: 'is the beginning of another live sequence' });
      continue;
    }
    let prefixOfOther: string | undefined;
    for (let i = 1; i < ports.length; i++) {
      const other = leafByPath.get(pathOf(entry, i));
      if (other !== undefined) prefixOfOther = other;
    }
    if (prefixOfOther !== undefined) {
      conflicts.push({ entry, reason: `starts with the whole sequence of ${prefixOfOther}` });
      continue;
    }
    const expiresMs = expiryOf(entry);
    let state = 0;
    for (let i = 0; i < ports.length - 1; i++) {
      const prefix = pathOf(entry, i + 1);
      let node = nodes.get(prefix);
      if (!node) {
        node = withToken({ id: allocNode(), refs: 0, state, port: ports[i]!, expiresMs }, entry.token);
        log.set(nodes, prefix, node);
        created.add(node);
        claim(node, elementKey(state, node.port, entry.token));
      } else if (expiresMs > node.expiresMs) {
        // A shared prefix lives as long as its longest-lived sequence.
        log.patch(node, 'expiresMs', expiresMs);
        if (!created.has(node)) refreshed.add(node);
      }
      log.patch(node, 'refs', node.refs + 1);
      state = node.id;
    }
    const mark = (FINAL_FLAG | (entry.oneTime ? ONE_TIME_FLAG : 0) | allocLeaf()) >>> 0;
    const leaf: Leaf = { entry, mark, state, port: ports[ports.length - 1]!, expiresMs, keptIn: epoch };
    log.set(leaves, entry.key, leaf);
    log.set(leafByPath, path, entry.key);
    createdLeaves.push(leaf);
    claim(leaf, elementKey(state, leaf.port, entry.token));
  }

  const emit = (owner: Node | Leaf, element: StepElement): void => {
    const previousNext = replacing.get(owner);
    if (previousNext === undefined) changes.addSteps.push(element);
    else changes.replaceSteps.push({ element, previousNext });
  };
  for (const n of created) emit(n, nodeElement(n));
  for (const n of refreshed) changes.replaceSteps.push({ element: nodeElement(n), previousNext: n.id });
  for (const l of createdLeaves) {
    emit(l, leafElement(l));
    changes.addActions.push(withExpiry({ leaf: l.mark, action: actionWord(l.entry.action, l.entry.serviceMask) }, l.expiresMs));
  }

  return { state: trie, changes, conflicts, rollback: () => log.undo() };
}

/** Ids in use (node ids, and leaf ids with FINAL_FLAG), lingering ones too: what a wrapped counter must skip. */
function liveIds(trie: TrieState): Set<number> {
  const ids = new Set<number>();
  for (const n of trie.nodes.values()) ids.add(n.id);
  for (const l of trie.leaves.values()) ids.add((FINAL_FLAG | (l.mark & LEAF_ID_MASK)) >>> 0);
  for (const l of trie.lingering.values()) ids.add(isLeaf(l.next) ? (FINAL_FLAG | (l.next & LEAF_ID_MASK)) >>> 0 : l.next);
  return ids;
}

function element(state: number, port: number, next: number, token: string | undefined, expiresMs: number): StepElement {
  const e: StepElement = { state, port, next };
  if (token !== undefined) e.token = token;
  if (expiresMs !== Number.POSITIVE_INFINITY) e.expiresMs = expiresMs;
  return e;
}
const nodeElement = (n: Node): StepElement => element(n.state, n.port, n.id, n.token, n.expiresMs);
const leafElement = (l: Leaf): StepElement => element(l.state, l.port, l.mark, l.entry.token, l.expiresMs);

/** Every step and action element of a state: what a full load writes. */
export function allElements(state: TrieState): { steps: StepElement[]; actions: LeafActionElement[] } {
  const steps: StepElement[] = [];
  for (const n of state.nodes.values()) steps.push(nodeElement(n));
  const actions: LeafActionElement[] = [];
  for (const l of state.leaves.values()) {
    steps.push(leafElement(l));
    actions.push(withExpiry({ leaf: l.mark, action: actionWord(l.entry.action, l.entry.serviceMask) }, l.expiresMs));
  }
  return { steps, actions };
}

/** The entry behind a leaf mark (for audit and status). */
export function entryOfLeaf(state: TrieState, mark: number): KnockEntry | undefined {
  for (const l of state.leaves.values()) if (l.mark === mark) return l.entry;
  return undefined;
}
