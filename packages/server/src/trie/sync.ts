// Moving the live trie (state.ts) to a new set of entries, and the kernel
// element changes that do the same, in named phases:
//
//   1. forgetExpiredLingering: keys the kernel has surely dropped by now
//   2. sortKeptAndFresh: which leaves stay as they are; the rest of `desired` is new
//   3. removeDropped: leaves (and nodes no one needs any more) leave the trie;
//      their elements are deleted, or left to expire when their timeout is near
//   4. addFresh: each new entry gets its path, unless it collides (findCollision)
//   5. emitChanges: the elements to add, replace and refresh
//
// Every change goes through an UndoLog, so `rollback()` restores the trie when
// the nft transaction fails, and memory and kernel agree.
//
// Elements carry their sequence's expiry as an nft timeout, so the kernel drops
// a window's sequences by itself when the window ends: a rotation mostly adds.
import type { KnockEntry } from '../plan/entries.js';
import {
  FINAL_FLAG,
  FIRST_STEP_FLAG,
  LEAF_ID_MASK,
  MAX_LEAF_CLASSES,
  NODE_ID_MAX,
  ONE_TIME_FLAG,
  actionWord,
  classKey,
} from './layout.js';
import {
  elementKey,
  leafElement,
  liveIds,
  nodeElement,
  withToken,
  type ElementKey,
  type Leaf,
  type Node,
  type StepElement,
  type TrieChanges,
  type TrieState,
} from './state.js';
import { UndoLog } from './undo-log.js';

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

/** What the phases of one sync share. */
interface Sync {
  trie: TrieState;
  log: UndoLog;
  nowMs: number;
  /** This sync's number: the leaves it keeps carry it in `keptIn`. */
  epoch: number;
  changes: TrieChanges;
  conflicts: TrieSync['conflicts'];
  /** New elements whose key may still be in the kernel (lingering): the value it may hold. */
  replacing: Map<Node | Leaf, number>;
  createdNodes: Set<Node>;
  refreshedNodes: Set<Node>;
  createdLeaves: Leaf[];
}

/**
 * Moves the trie from its current entries to `desired` and returns the kernel
 * element changes that do the same. Changes the trie in place; `rollback()`
 * restores it. `nowMs` decides which removed elements are left to expire rather
 * than deleted.
 */
export function syncTrie(trie: TrieState, desired: readonly KnockEntry[], nowMs = 0): TrieSync {
  const log = new UndoLog();
  log.patch(trie, 'nextNodeId', trie.nextNodeId);
  log.patch(trie, 'nextLeafId', trie.nextLeafId);
  trie.syncs += 1; // not logged: a number that only has to differ from every sync before
  const s: Sync = {
    trie,
    log,
    nowMs,
    epoch: trie.syncs,
    changes: { addSteps: [], deleteSteps: [], replaceSteps: [], refreshSteps: [], addActions: [] },
    conflicts: [],
    replacing: new Map(),
    createdNodes: new Set(),
    refreshedNodes: new Set(),
    createdLeaves: [],
  };
  forgetExpiredLingering(s);
  const fresh = sortKeptAndFresh(s, desired);
  // Remove first: a sequence that changed (reload) frees its path before the
  // new one claims it, and nothing dead is kept alive by refcounts.
  removeDropped(s);
  for (const entry of fresh) addFresh(s, entry);
  emitChanges(s);
  return { state: trie, changes: s.changes, conflicts: s.conflicts, rollback: () => log.undo() };
}

function forgetExpiredLingering(s: Sync): void {
  for (const [key, l] of s.trie.lingering) if (l.untilMs <= s.nowMs) s.log.delete(s.trie.lingering, key);
}

/** Marks the leaves that stay (a rotation's cached entries are the very same objects); returns the new entries. */
function sortKeptAndFresh(s: Sync, desired: readonly KnockEntry[]): KnockEntry[] {
  const { leaves, leafOfEntry } = s.trie;
  const fresh: KnockEntry[] = [];
  for (const e of desired) {
    let leaf = leafOfEntry.get(e);
    if (leaf === undefined) {
      const byKey = leaves.get(e.key);
      if (byKey !== undefined && sameEntry(e, byKey.entry)) {
        // An equal entry made anew (a reload's fresh deriver): the leaf adopts it.
        leaf = byKey;
        s.log.delete(leafOfEntry, byKey.entry);
        s.log.patch(byKey, 'entry', e);
        s.log.set(leafOfEntry, e, byKey);
      }
    }
    if (leaf !== undefined) leaf.keptIn = s.epoch;
    else fresh.push(e);
  }
  return fresh;
}

/** Leaves not kept this sync leave the trie, with every node that no leaf needs any more. */
function removeDropped(s: Sync): void {
  const { nodes, leaves, leafOfEntry, leafByKey } = s.trie;
  for (const [key, leaf] of leaves) {
    if (leaf.keptIn === s.epoch) continue;
    s.log.delete(leaves, key);
    s.log.delete(leafOfEntry, leaf.entry);
    s.log.delete(leafByKey, leaf.key);
    // An element whose parent node goes too can never see its key again (ids are
    // not reused): only keys under the root or under a surviving node may linger.
    let parentStays = true;
    for (let i = leaf.nodes.length - 1; i >= 0; i--) {
      const node = leaf.nodes[i]!;
      s.log.patch(node, 'refs', node.refs - 1);
      if (i === leaf.nodes.length - 1) parentStays = node.refs > 0;
    }
    retire(s, leaf.key, leaf.state, leaf.port, leaf.entry.token, leaf.mark, leaf.expiresMs, parentStays);
    for (let i = leaf.nodes.length - 1; i >= 0; i--) {
      const node = leaf.nodes[i]!;
      if (node.refs > 0) break; // its ancestors are referenced through it
      s.log.delete(nodes, node.key);
      retire(
        s,
        node.key,
        node.state,
        node.port,
        node.token,
        node.id,
        node.expiresMs,
        i === 0 || leaf.nodes[i - 1]!.refs > 0,
      );
    }
  }
}

/** An element leaves the kernel: deleted now, or left to its timeout when that is near. */
function retire(
  s: Sync,
  key: ElementKey,
  state: number,
  port: number,
  token: string | undefined,
  next: number,
  expiresMs: number,
  keyMayReturn: boolean,
): void {
  // A first step alone leads nowhere: it is left to its timeout even when its
  // sequences go early (only ones that never expire must be deleted).
  const lingers = state === 0 && expiresMs !== Number.POSITIVE_INFINITY;
  if (!lingers && expiresMs > s.nowMs + DELETE_MARGIN_MS) s.changes.deleteSteps.push(withToken({ state, port }, token));
  else if (keyMayReturn) s.log.set(s.trie.lingering, key, { next, expiresMs, untilMs: expiresMs + LINGER_SLACK_MS });
}

/**
 * Collisions (docs/protocol.md §3): an entry equal to a live sequence, or one that
 * begins the other, is left out; what is live stays, and of new ones the first in
 * `desired` (plan order) wins. A left-out entry is fresh again at the next sync.
 * A read-only walk: a collision leaves the trie untouched.
 */
function findCollision(trie: TrieState, entry: KnockEntry): string | undefined {
  const { ports, token } = entry;
  const last = ports.length - 1;
  let state = 0;
  let depth = 0;
  let conflict: string | undefined;
  for (; depth < last; depth++) {
    const k = elementKey(state, ports[depth]!, token);
    const other = trie.leafByKey.get(k);
    if (other !== undefined) conflict = `starts with the whole sequence of ${other}`;
    const node = trie.nodes.get(k);
    if (node === undefined) break;
    state = node.id;
  }
  if (conflict === undefined && depth === last) {
    const k = elementKey(state, ports[last]!, token);
    const same = trie.leafByKey.get(k);
    if (same !== undefined) conflict = `same ports as ${same}`;
    else if (trie.nodes.has(k)) conflict = 'is the beginning of another live sequence';
  }
  return conflict;
}

/** The class of an entry's action, taking a new one when there is room; a reason when there is none. */
function actionClassOf(s: Sync, entry: KnockEntry): number | string {
  const word = actionWord(entry.action, entry.serviceMask);
  const known = s.trie.classes.get(word);
  if (known !== undefined) return known;
  if (s.trie.classes.size >= MAX_LEAF_CLASSES)
    return `more than ${MAX_LEAF_CLASSES} different combinations of action and services`;
  const actionClass = s.trie.classes.size;
  s.log.set(s.trie.classes, word, actionClass);
  s.changes.addActions.push({ leaf: classKey(actionClass), action: word });
  return actionClass;
}

/** Gives a new entry its path of nodes and its leaf, unless it collides with what is live. */
function addFresh(s: Sync, entry: KnockEntry): void {
  const { trie, log } = s;
  const collision = findCollision(trie, entry);
  const actionClass = collision === undefined ? actionClassOf(s, entry) : collision;
  if (typeof actionClass === 'string') {
    s.conflicts.push({ entry, reason: actionClass });
    return;
  }
  const { ports, token } = entry;
  const last = ports.length - 1;
  const expiresMs = expiryOf(entry);
  const path: Node[] = [];
  let state = 0;
  for (let i = 0; i < last; i++) {
    const k = elementKey(state, ports[i]!, token);
    // A first step lives one window longer than its sequence: the next window's
    // sequences that start on the same port then need no longer timeout (a first
    // step alone leads nowhere, so the extra window opens nothing).
    const nodeExpiresMs = state === 0 ? expiresMs + (entry.periodMs ?? 0) : expiresMs;
    let node = trie.nodes.get(k);
    if (!node) {
      node = withToken<Node>(
        { key: k, id: allocNode(s, state === 0), refs: 0, state, port: ports[i]!, expiresMs: nodeExpiresMs },
        token,
      );
      log.set(trie.nodes, k, node);
      s.createdNodes.add(node);
      claimLingeringKey(s, node);
    } else if (expiresMs > node.expiresMs) {
      // A shared prefix lives at least as long as its longest-lived sequence.
      log.patch(node, 'expiresMs', nodeExpiresMs);
      if (!s.createdNodes.has(node)) s.refreshedNodes.add(node);
    }
    log.patch(node, 'refs', node.refs + 1);
    path.push(node);
    state = node.id;
  }
  const mark = (FINAL_FLAG | (entry.oneTime ? ONE_TIME_FLAG : 0) | classKey(actionClass) | allocLeaf(s)) >>> 0;
  const key = elementKey(state, ports[last]!, token);
  const leaf: Leaf = { key, entry, mark, state, port: ports[last]!, expiresMs, nodes: path, keptIn: s.epoch };
  log.set(trie.leaves, entry.key, leaf);
  log.set(trie.leafOfEntry, entry, leaf);
  log.set(trie.leafByKey, key, entry.key);
  s.createdLeaves.push(leaf);
  claimLingeringKey(s, leaf);
}

/** A new element takes a key that an expiring one may still hold: it must replace it. */
function claimLingeringKey(s: Sync, owner: Node | Leaf): void {
  const l = s.trie.lingering.get(owner.key);
  if (l === undefined) return;
  if (l.untilMs > s.nowMs) s.replacing.set(owner, l.next);
  s.log.delete(s.trie.lingering, owner.key);
}

// Ids only repeat after a counter wraps (2^30 node allocations, days at the
// largest scale); from then on, the ones still live are skipped.
function takeId(s: Sync, counter: 'nextNodeId' | 'nextLeafId', max: number): number {
  const { trie } = s;
  const id = trie[counter];
  if (id >= max) {
    trie[counter] = 1;
    s.log.patch(trie, 'liveAtWrap', liveIds(trie));
  } else trie[counter] = id + 1;
  return id;
}

function allocNode(s: Sync, firstStep: boolean): number {
  const id = takeId(s, 'nextNodeId', NODE_ID_MAX);
  const live = s.trie.liveAtWrap;
  if (live?.has(id) || live?.has((id | FIRST_STEP_FLAG) >>> 0)) return allocNode(s, firstStep);
  return firstStep ? (id | FIRST_STEP_FLAG) >>> 0 : id;
}

function allocLeaf(s: Sync): number {
  const id = takeId(s, 'nextLeafId', LEAF_ID_MASK);
  return s.trie.liveAtWrap?.has(FINAL_FLAG | id) ? allocLeaf(s) : id;
}

function emitChanges(s: Sync): void {
  const emit = (owner: Node | Leaf, element: StepElement): void => {
    const previousNext = s.replacing.get(owner);
    if (previousNext === undefined) s.changes.addSteps.push(element);
    else s.changes.replaceSteps.push({ element, previousNext });
  };
  for (const n of s.createdNodes) emit(n, nodeElement(n));
  for (const n of s.refreshedNodes) s.changes.refreshSteps.push(nodeElement(n));
  for (const l of s.createdLeaves) emit(l, leafElement(l));
}
