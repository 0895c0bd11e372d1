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
// How ids and marks are laid out in bits: layout.ts.
import type { KnockEntry } from '../plan/entries.js';
import { FINAL_FLAG, LEAF_ID_MASK, classKey, isLeaf } from './layout.js';

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

/** `leaf class → action word`: one element of the kernel's leaf_action map (the key is the class bits of a leaf mark). */
export interface LeafActionElement {
  leaf: number;
  action: number;
}

/** The key of a step element: what a `delete element` names. */
export type StepKey = Omit<StepElement, 'next' | 'expiresMs'>;

/** A step element whose key the kernel may still hold (with `previousNext`, or expired). */
export interface StepReplace {
  element: StepElement;
  previousNext: number;
}

/** What one sync asks of the kernel. */
export interface TrieChanges {
  addSteps: StepElement[];
  deleteSteps: StepKey[];
  /** A new value for a key that may still be in the kernel (with another value, or expired meanwhile). */
  replaceSteps: StepReplace[];
  /** Live elements whose timeout grows (a shared prefix of a later window's sequence): same key and value. */
  refreshSteps: StepElement[];
  /** Action classes seen for the first time (never removed: at most MAX_LEAF_CLASSES). */
  addActions: LeafActionElement[];
}

/**
 * A step element's kernel key (`state . port [. token]`) as a Map key: a number
 * without a token (state < 2^31, port < 2^16: exact in a double), text with one.
 * Numbers keep the big maps of a 10,000-user trie fast.
 */
export type ElementKey = number | string;
export const elementKey = (state: number, port: number, token: string | undefined): ElementKey =>
  token === undefined ? state * 65_536 + port : `${state}.${port}.${token}`;

export const withToken = <T extends object>(x: T, token: string | undefined): T & { token?: string } =>
  token === undefined ? x : { ...x, token };

/** A prefix of one or more live sequences. */
export interface Node {
  /** Its element's key (elementKey): the parent's id and the port. */
  key: ElementKey;
  id: number;
  refs: number;
  state: number;
  port: number;
  token?: string;
  /** When the kernel drops its element by itself (the latest of its sequences); Infinity: never. */
  expiresMs: number;
}

/** The end of a live sequence. */
export interface Leaf {
  key: ElementKey;
  entry: KnockEntry;
  mark: number;
  state: number;
  port: number;
  expiresMs: number;
  /** The prefix nodes above it, root first. */
  nodes: Node[];
  /** The last sync that kept it unchanged (TrieState.syncs). */
  keptIn: number;
}

/**
 * An element that left the trie but that the kernel may still hold for a moment: it
 * was left to expire by itself (deleting it could race its timeout and fail the
 * whole transaction). A new element with the same key must replace it.
 */
export interface Lingering {
  next: number;
  /** When the kernel drops it by itself (its timeout, counted from before the commit). */
  expiresMs: number;
  /** Until when its key may still be taken in the kernel (expiresMs plus the commit's latency, with room). */
  untilMs: number;
}

/**
 * The live trie. `syncTrie` changes it in place (a rotation touches a small part
 * of a big trie) and hands back a rollback for when nft refuses the change.
 * Prefixes sharing their ports share a node: a node is found by its parent and port.
 */
export interface TrieState {
  /** Element key (parent id, port) → prefix node. */
  readonly nodes: Map<ElementKey, Node>;
  /** Entry key → leaf. */
  readonly leaves: Map<string, Leaf>;
  /** The same leaves by entry object: a rotation's unchanged entries are the same objects. */
  readonly leafOfEntry: Map<KnockEntry, Leaf>;
  /** Element key (parent id, last port) → the entry key of the leaf there, to find identical sequences. */
  readonly leafByKey: Map<ElementKey, string>;
  /** Element key → an element left to expire in the kernel. */
  readonly lingering: Map<ElementKey, Lingering>;
  /** Action word → class index (the class bits of leaf marks). */
  readonly classes: Map<number, number>;
  nextNodeId: number;
  nextLeafId: number;
  /** Counts syncs, to mark the leaves a sync keeps; never undone (it means nothing between syncs). */
  syncs: number;
  /** Set when an id counter wraps: the ids live at that moment, which the counters skip. */
  liveAtWrap?: Set<number>;
}

export function emptyTrie(): TrieState {
  return {
    nodes: new Map(),
    leaves: new Map(),
    leafOfEntry: new Map(),
    leafByKey: new Map(),
    lingering: new Map(),
    classes: new Map(),
    nextNodeId: 1,
    nextLeafId: 1,
    syncs: 0,
  };
}

/** Ids in use (node ids, and leaf ids with FINAL_FLAG), lingering ones too: what a wrapped counter must skip. */
export function liveIds(trie: TrieState): Set<number> {
  const ids = new Set<number>();
  for (const n of trie.nodes.values()) ids.add(n.id);
  for (const l of trie.leaves.values()) ids.add((FINAL_FLAG | (l.mark & LEAF_ID_MASK)) >>> 0);
  for (const l of trie.lingering.values())
    ids.add(isLeaf(l.next) ? (FINAL_FLAG | (l.next & LEAF_ID_MASK)) >>> 0 : l.next);
  return ids;
}

function element(state: number, port: number, next: number, token: string | undefined, expiresMs: number): StepElement {
  const e: StepElement = { state, port, next };
  if (token !== undefined) e.token = token;
  if (expiresMs !== Number.POSITIVE_INFINITY) e.expiresMs = expiresMs;
  return e;
}
export const nodeElement = (n: Node): StepElement => element(n.state, n.port, n.id, n.token, n.expiresMs);
export const leafElement = (l: Leaf): StepElement => element(l.state, l.port, l.mark, l.entry.token, l.expiresMs);

/** Every step and action element of a state: what a full load writes. */
export function allElements(state: TrieState): { steps: StepElement[]; actions: LeafActionElement[] } {
  const steps: StepElement[] = [];
  for (const n of state.nodes.values()) steps.push(nodeElement(n));
  for (const l of state.leaves.values()) steps.push(leafElement(l));
  const actions = [...state.classes].map(([action, c]) => ({ leaf: classKey(c), action }));
  return { steps, actions };
}

/** The entry behind a leaf mark (for audit and status). */
export function entryOfLeaf(state: TrieState, mark: number): KnockEntry | undefined {
  for (const l of state.leaves.values()) if (l.mark === mark) return l.entry;
  return undefined;
}
