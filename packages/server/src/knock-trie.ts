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
}

/** `leaf mark → action word`: one element of the kernel's leaf_action map. */
export interface LeafActionElement {
  leaf: number;
  action: number;
}

interface Node {
  id: number;
  refs: number;
  state: number;
  port: number;
  token?: string;
}

interface Leaf {
  entry: KnockEntry;
  mark: number;
  state: number;
  port: number;
}

/** Trie path of the first `n` ports of an entry; a payload token makes paths of its own. */
function pathOf(entry: KnockEntry, n = entry.ports.length): string {
  const ports = entry.ports.slice(0, n).join(',');
  return entry.token === undefined ? ports : `${entry.token}|${ports}`;
}

const withToken = <T extends object>(x: T, token: string | undefined): T & { token?: string } =>
  token === undefined ? x : { ...x, token };

export interface TrieState {
  /** Prefix ("p1,p2") → node. */
  readonly nodes: ReadonlyMap<string, Node>;
  /** Entry key → leaf. */
  readonly leaves: ReadonlyMap<string, Leaf>;
  /** Full path ("p1,p2,p3") → entry key, to find identical sequences. */
  readonly leafByPath: ReadonlyMap<string, string>;
  readonly nextNodeId: number;
  readonly nextLeafId: number;
}

export interface TrieChanges {
  addSteps: StepElement[];
  deleteSteps: Omit<StepElement, 'next'>[];
  addActions: LeafActionElement[];
  deleteActions: number[];
}

export interface TrieSync {
  state: TrieState;
  changes: TrieChanges;
  /** Entries that could not be made live, with why (identical or prefix sequences). */
  conflicts: { entry: KnockEntry; reason: string }[];
}

/** Is this state the end of a sequence? */
export const isLeaf = (state: number): boolean => (state & FINAL_FLAG) !== 0;

export function emptyTrie(): TrieState {
  return { nodes: new Map(), leaves: new Map(), leafByPath: new Map(), nextNodeId: 1, nextLeafId: 1 };
}

export function actionWord(action: KnockAction, serviceMask: number): number {
  const flag = action === 'close' ? ACTION_CLOSE : action === 'toggle' ? ACTION_TOGGLE : 0;
  return (flag | (serviceMask & ((1 << SERVICE_MASK_BITS) - 1))) >>> 0;
}

function sameEntry(a: KnockEntry, b: KnockEntry): boolean {
  return (
    a.action === b.action &&
    a.serviceMask === b.serviceMask &&
    a.oneTime === b.oneTime &&
    a.token === b.token &&
    a.ports.length === b.ports.length &&
    a.ports.every((p, i) => p === b.ports[i])
  );
}

/**
 * Moves the trie from its current entries to `desired`, returning the kernel
 * element changes that do the same. Pure: the input state is not modified, so
 * a failed `nft` transaction simply keeps the old state.
 */
export function syncTrie(current: TrieState, desired: readonly KnockEntry[]): TrieSync {
  const nodes = new Map<string, Node>();
  for (const [k, n] of current.nodes) nodes.set(k, { ...n });
  const leaves = new Map(current.leaves);
  const leafByPath = new Map(current.leafByPath);
  let nextNodeId = current.nextNodeId;
  let nextLeafId = current.nextLeafId;
  const changes: TrieChanges = { addSteps: [], deleteSteps: [], addActions: [], deleteActions: [] };
  const conflicts: TrieSync['conflicts'] = [];

  const liveNodeIds = new Set<number>();
  const liveLeafIds = new Set<number>();
  for (const n of nodes.values()) liveNodeIds.add(n.id);
  for (const l of leaves.values()) liveLeafIds.add(l.mark & LEAF_ID_MASK);

  const allocNode = (): number => {
    for (;;) {
      const id = nextNodeId;
      nextNodeId = nextNodeId >= NODE_ID_MAX ? 1 : nextNodeId + 1;
      if (!liveNodeIds.has(id)) {
        liveNodeIds.add(id);
        return id;
      }
    }
  };
  const allocLeaf = (): number => {
    for (;;) {
      const id = nextLeafId;
      nextLeafId = nextLeafId >= LEAF_ID_MASK ? 1 : nextLeafId + 1;
      if (!liveLeafIds.has(id)) {
        liveLeafIds.add(id);
        return id;
      }
    }
  };

  const wanted = new Map<string, KnockEntry>();
  for (const e of desired) wanted.set(e.key, e);

  // Remove first: a sequence that changed (reload) frees its path before the
  // new one claims it, and nothing dead is kept alive by refcounts.
  for (const [key, leaf] of current.leaves) {
    const next = wanted.get(key);
    if (next && sameEntry(next, leaf.entry)) continue;
    leaves.delete(key);
    leafByPath.delete(pathOf(leaf.entry));
    liveLeafIds.delete(leaf.mark & LEAF_ID_MASK);
    changes.deleteSteps.push(withToken({ state: leaf.state, port: leaf.port }, leaf.entry.token));
    changes.deleteActions.push(leaf.mark);
    const ports = leaf.entry.ports;
    for (let i = ports.length - 1; i >= 1; i--) {
      const prefix = pathOf(leaf.entry, i);
      const node = nodes.get(prefix);
      if (!node) continue;
      node.refs -= 1;
      if (node.refs === 0) {
        nodes.delete(prefix);
        liveNodeIds.delete(node.id);
        changes.deleteSteps.push(withToken({ state: node.state, port: node.port }, node.token));
      }
    }
  }

  for (const entry of desired) {
    if (leaves.has(entry.key)) continue;
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
    let state = 0;
    for (let i = 0; i < ports.length - 1; i++) {
      const prefix = pathOf(entry, i + 1);
      let node = nodes.get(prefix);
      if (!node) {
        node = withToken({ id: allocNode(), refs: 0, state, port: ports[i]! }, entry.token);
        nodes.set(prefix, node);
        changes.addSteps.push(withToken({ state, port: ports[i]!, next: node.id }, entry.token));
      }
      node.refs += 1;
      state = node.id;
    }
    const mark = (FINAL_FLAG | (entry.oneTime ? ONE_TIME_FLAG : 0) | allocLeaf()) >>> 0;
    const port = ports[ports.length - 1]!;
    leaves.set(entry.key, { entry, mark, state, port });
    leafByPath.set(path, entry.key);
    changes.addSteps.push(withToken({ state, port, next: mark }, entry.token));
    changes.addActions.push({ leaf: mark, action: actionWord(entry.action, entry.serviceMask) });
  }

  return { state: { nodes, leaves, leafByPath, nextNodeId, nextLeafId }, changes, conflicts };
}

/** Every step and action element of a state: what a full load writes. */
export function allElements(state: TrieState): { steps: StepElement[]; actions: LeafActionElement[] } {
  const steps: StepElement[] = [];
  for (const n of state.nodes.values()) steps.push(withToken({ state: n.state, port: n.port, next: n.id }, n.token));
  const actions: LeafActionElement[] = [];
  for (const l of state.leaves.values()) {
    steps.push(withToken({ state: l.state, port: l.port, next: l.mark }, l.entry.token));
    actions.push({ leaf: l.mark, action: actionWord(l.entry.action, l.entry.serviceMask) });
  }
  return { steps, actions };
}

/** The entry behind a leaf mark (for audit and status). */
export function entryOfLeaf(state: TrieState, mark: number): KnockEntry | undefined {
  for (const l of state.leaves.values()) if (l.mark === mark) return l.entry;
  return undefined;
}
