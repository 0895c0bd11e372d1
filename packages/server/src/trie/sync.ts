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
import type { KnockAction, KnockEntry } from '../plan/entries.js';

/** Marks a state as the end of a sequence (a leaf). */
export const FINAL_FLAG = 0x8000_0000;
/** Set on leaves of one-time sequences: the kernel consumes them at first use. */
export const ONE_TIME_FLAG = 0x4000_0000;
/**
 * A leaf mark also says what the leaf does: bits 22–29 are its action class (an
 * index into the small `leaf_action` map: open/close/toggle × services), bits
 * 0–21 its id. So the map holds one element per kind of action, not one per
 * sequence, and a rotation never touches it.
 */
export const LEAF_CLASS_SHIFT = 22;
export const LEAF_CLASS_MASK = 0x3fc0_0000;
export const MAX_LEAF_CLASSES = 256;
const LEAF_ID_MASK = 0x003f_ffff;
/**
 * Set on the id of a first-step node (a child of the root): the kernel keeps a
 * source's progress there only briefly (see renderRuleset), so a flood of forged
 * first steps from ever new sources cannot fill the progress map for long.
 */
export const FIRST_STEP_FLAG = 0x4000_0000;
const NODE_ID_MAX = 0x3fff_ffff;

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

/** `leaf class → action word`: one element of the kernel's leaf_action map (the key is the class bits of a leaf mark). */
export interface LeafActionElement {
  leaf: number;
  action: number;
}

interface Node {
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

interface Leaf {
  key: ElementKey;
  entry: KnockEntry;
  mark: number;
  state: number;
  port: number;
  expiresMs: number;
  /** The prefix nodes above it, root first. */
  nodes: Node[];
  /** The last sync that kept it unchanged. */
  keptIn: number;
}

/**
 * A step element's kernel key (`state . port [. token]`) as a Map key: a number
 * without a token (state < 2^31, port < 2^16: exact in a double), text with one.
 * Numbers keep the big maps of a 10,000-user trie fast.
 */
export type ElementKey = number | string;
export const elementKey = (state: number, port: number, token: string | undefined): ElementKey =>
  token === undefined ? state * 65_536 + port : `${state}.${port}.${token}`;

const withToken = <T extends object>(x: T, token: string | undefined): T & { token?: string } =>
  token === undefined ? x : { ...x, token };

/**
 * An element that left the trie but that the kernel may still hold for a moment: it
 * was left to expire by itself (deleting it could race its timeout and fail the
 * whole transaction). A new element with the same key must replace it.
 */
interface Lingering {
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
  /** A new value for a key that may still be in the kernel (with another value, or expired meanwhile). */
  replaceSteps: StepReplace[];
  /** Live elements whose timeout grows (a shared prefix of a later window's sequence): same key and value. */
  refreshSteps: StepElement[];
  /** Action classes seen for the first time (never removed: at most MAX_LEAF_CLASSES). */
  addActions: LeafActionElement[];
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
    leafOfEntry: new Map(),
    leafByKey: new Map(),
    lingering: new Map(),
    classes: new Map(),
    nextNodeId: 1,
    nextLeafId: 1,
  };
}

/** The class bits of a leaf mark: the key of its `leaf_action` element. */
export const classKey = (actionClass: number): number => (actionClass << LEAF_CLASS_SHIFT) >>> 0;

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
  // The trie's maps never hold `undefined`, so get() alone tells whether a key is there.
  set<K, V>(m: Map<K, V>, k: K, v: V): void {
    const old = m.get(k);
    this.ops.push(old === undefined ? 1 : 0, m, k, old);
    m.set(k, v);
  }
  delete<K, V>(m: Map<K, V>, k: K): void {
    const old = m.get(k);
    if (old === undefined) return;
    this.ops.push(0, m, k, old);
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
  const { nodes, leaves, leafOfEntry, leafByKey, lingering } = trie;
  const changes: TrieChanges = { addSteps: [], deleteSteps: [], replaceSteps: [], refreshSteps: [], addActions: [] };
  const conflicts: TrieSync['conflicts'] = [];
  const epoch = ++syncEpoch;

  for (const [key, l] of lingering) if (l.untilMs <= nowMs) log.delete(lingering, key);

  // Ids only repeat after the counter wraps (2^30 allocations, days at the
  // largest scale); from then on, skip the ones still live.
  const allocNode = (firstStep: boolean): number => {
    const id = trie.nextNodeId;
    if (id >= NODE_ID_MAX) {
      trie.nextNodeId = 1;
      log.patch(trie, 'liveAtWrap', liveIds(trie));
    } else trie.nextNodeId = id + 1;
    const live = trie.liveAtWrap;
    if (live?.has(id) || live?.has((id | FIRST_STEP_FLAG) >>> 0)) return allocNode(firstStep);
    return firstStep ? (id | FIRST_STEP_FLAG) >>> 0 : id;
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
  const retire = (key: ElementKey, state: number, port: number, token: string | undefined, next: number, expiresMs: number, keyMayReturn: boolean): void => {
    // A first step alone leads nowhere: it is left to its timeout even when its
    // sequences go early (only ones that never expire must be deleted).
    const lingers = state === 0 && expiresMs !== Number.POSITIVE_INFINITY;
    if (!lingers && expiresMs > nowMs + DELETE_MARGIN_MS) changes.deleteSteps.push(withToken({ state, port }, token));
    else if (keyMayReturn) log.set(lingering, key, { next, expiresMs, untilMs: expiresMs + LINGER_SLACK_MS });
  };

  // Which leaves stay as they are (a rotation's cached entries are the very same
  // objects); the rest of `desired` is new.
  const fresh: KnockEntry[] = [];
  for (const e of desired) {
    let leaf = leafOfEntry.get(e);
    if (leaf === undefined) {
      const byKey = leaves.get(e.key);
      if (byKey !== undefined && sameEntry(e, byKey.entry)) {
        // An equal entry made anew (a reload's fresh deriver): the leaf adopts it.
        leaf = byKey;
        log.delete(leafOfEntry, byKey.entry);
        log.patch(byKey, 'entry', e);
        log.set(leafOfEntry, e, byKey);
      }
    }
    if (leaf !== undefined) leaf.keptIn = epoch;
    else fresh.push(e);
  }

  // Remove first: a sequence that changed (reload) frees its path before the
  // new one claims it, and nothing dead is kept alive by refcounts.
  for (const [key, leaf] of leaves) {
    if (leaf.keptIn === epoch) continue;
    log.delete(leaves, key);
    log.delete(leafOfEntry, leaf.entry);
    log.delete(leafByKey, leaf.key);
    // An element whose parent node goes too can never see its key again (ids are
    // not reused): only keys under the root or under a surviving node may linger.
    let parentStays = true;
    for (let i = leaf.nodes.length - 1; i >= 0; i--) {
      const node = leaf.nodes[i]!;
      log.patch(node, 'refs', node.refs - 1);
      if (i === leaf.nodes.length - 1) parentStays = node.refs > 0;
    }
    retire(leaf.key, leaf.state, leaf.port, leaf.entry.token, leaf.mark, leaf.expiresMs, parentStays);
    for (let i = leaf.nodes.length - 1; i >= 0; i--) {
      const node = leaf.nodes[i]!;
      if (node.refs > 0) break; // its ancestors are referenced through it
      log.delete(nodes, node.key);
      retire(node.key, node.state, node.port, node.token, node.id, node.expiresMs, i === 0 || leaf.nodes[i - 1]!.refs > 0);
    }
  }

  // New elements whose key may still be in the kernel (lingering): the value it may hold.
  const replacing = new Map<Node | Leaf, number>();
  const claim = (owner: Node | Leaf): void => {
    const l = lingering.get(owner.key);
    if (l === undefined) return;
    if (l.untilMs > nowMs) replacing.set(owner, l.next);
    log.delete(lingering, owner.key);
  };
  const created = new Set<Node>();
  const refreshed = new Set<Node>();
  const createdLeaves: Leaf[] = [];

  // Collisions (docs/protocol.md §3): an entry equal to a live sequence, or one that
  // begins the other, is left out; what is live stays, and of new ones the first in
  // `desired` (plan order) wins. A left-out entry is fresh again at the next sync.
  for (const entry of fresh) {
    const { ports, token } = entry;
    const last = ports.length - 1;
    // Read-only walk first: a conflict must leave the trie untouched.
    let state = 0;
    let depth = 0;
    let conflict: string | undefined;
    for (; depth < last; depth++) {
      const k = elementKey(state, ports[depth]!, token);
      const other = leafByKey.get(k);
      if (other !== undefined) conflict = `starts with the whole sequence of ${other}`;
      const node = nodes.get(k);
      if (node === undefined) break;
      state = node.id;
    }
    if (conflict === undefined && depth === last) {
      const k = elementKey(state, ports[last]!, token);
      const same = leafByKey.get(k);
      if (same !== undefined) conflict = `same ports as ${same}`;
      else if (nodes.has(k)) conflict = 'is the beginning of another live sequence';
    }
    const word = actionWord(entry.action, entry.serviceMask);
    let actionClass = trie.classes.get(word);
    if (actionClass === undefined && conflict === undefined) {
      if (trie.classes.size >= MAX_LEAF_CLASSES) conflict = `more than ${MAX_LEAF_CLASSES} different combinations of action and services`;
      else {
        actionClass = trie.classes.size;
        log.set(trie.classes, word, actionClass);
        changes.addActions.push({ leaf: classKey(actionClass), action: word });
      }
    }
    if (conflict !== undefined) {
      conflicts.push({ entry, reason: conflict });
      continue;
    }
    const expiresMs = expiryOf(entry);
    const path: Node[] = [];
    state = 0;
    for (let i = 0; i < last; i++) {
      const k = elementKey(state, ports[i]!, token);
      // A first step lives one window longer than its sequence: the next window's
      // sequences that start on the same port then need no longer timeout (a first
      // step alone leads nowhere, so the extra window opens nothing).
      const nodeExpiresMs = state === 0 ? expiresMs + (entry.periodMs ?? 0) : expiresMs;
      let node = nodes.get(k);
      if (!node) {
        node = withToken<Node>({ key: k, id: allocNode(state === 0), refs: 0, state, port: ports[i]!, expiresMs: nodeExpiresMs }, token);
        log.set(nodes, k, node);
        created.add(node);
        claim(node);
      } else if (expiresMs > node.expiresMs) {
        // A shared prefix lives at least as long as its longest-lived sequence.
        log.patch(node, 'expiresMs', nodeExpiresMs);
        if (!created.has(node)) refreshed.add(node);
      }
      log.patch(node, 'refs', node.refs + 1);
      path.push(node);
      state = node.id;
    }
    const mark = (FINAL_FLAG | (entry.oneTime ? ONE_TIME_FLAG : 0) | classKey(actionClass!) | allocLeaf()) >>> 0;
    const key = elementKey(state, ports[last]!, token);
    const leaf: Leaf = { key, entry, mark, state, port: ports[last]!, expiresMs, nodes: path, keptIn: epoch };
    log.set(leaves, entry.key, leaf);
    log.set(leafOfEntry, entry, leaf);
    log.set(leafByKey, key, entry.key);
    createdLeaves.push(leaf);
    claim(leaf);
  }

  const emit = (owner: Node | Leaf, element: StepElement): void => {
    const previousNext = replacing.get(owner);
    if (previousNext === undefined) changes.addSteps.push(element);
    else changes.replaceSteps.push({ element, previousNext });
  };
  for (const n of created) emit(n, nodeElement(n));
  for (const n of refreshed) changes.refreshSteps.push(nodeElement(n));
  for (const l of createdLeaves) emit(l, leafElement(l));

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
  for (const l of state.leaves.values()) steps.push(leafElement(l));
  const actions = [...state.classes].map(([action, c]) => ({ leaf: classKey(c), action }));
  return { steps, actions };
}

/** The entry behind a leaf mark (for audit and status). */
export function entryOfLeaf(state: TrieState, mark: number): KnockEntry | undefined {
  for (const l of state.leaves.values()) if (l.mark === mark) return l.entry;
  return undefined;
}
