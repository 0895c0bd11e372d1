import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ACTION_CLOSE, ONE_TIME_FLAG, allElements, emptyTrie, isLeaf, syncTrie, type StepElement } from './knock-trie.js';
import type { KnockEntry } from './plan.js';

const entry = (key: string, ports: number[], over: Partial<KnockEntry> = {}): KnockEntry => ({
  key, user: key.split('/')[0]!, window: 1, action: 'open', ports, serviceMask: 1, oneTime: true, ...over,
});

/** Runs the kernel's step map on a port sequence from state 0, as the chains do. */
function walk(steps: StepElement[], ports: number[]): number | undefined {
  const map = new Map(steps.map((s) => [`${s.state}.${s.port}`, s.next]));
  let state = 0;
  for (const p of ports) {
    const next = map.get(`${state}.${p}`) ?? map.get(`0.${p}`);
    if (next === undefined) return undefined;
    state = next;
  }
  return state;
}

describe('syncTrie', () => {
  it('shares prefix nodes and ties progress to one sequence', () => {
    const { state, conflicts } = syncTrie(emptyTrie(), [entry('alice/1/open', [1, 2, 3]), entry('bob/1/open', [1, 4, 5])]);
    expect(conflicts).toEqual([]);
    const { steps } = allElements(state);
    // node for [1] is shared: one element 0.1
    expect(steps.filter((s) => s.state === 0 && s.port === 1)).toHaveLength(1);
    const alice = walk(steps, [1, 2, 3]);
    const bob = walk(steps, [1, 4, 5]);
    expect(isLeaf(alice!)).toBe(true);
    expect(isLeaf(bob!)).toBe(true);
    expect(alice).not.toBe(bob);
    // Alice's step 1, Bob's step 2, Alice's step 3: never a leaf
    const mixed = walk(steps, [1, 4, 3]);
    expect(mixed === undefined || !isLeaf(mixed)).toBe(true);
  });

  it('marks one-time leaves and encodes close actions', () => {
    const { state, changes } = syncTrie(emptyTrie(), [
      entry('a/1/open', [1, 2]),
      entry('a/1/close', [3, 4], { action: 'close' }),
      entry('s/0/open', [5, 6], { oneTime: false }),
    ]);
    const leafOf = (ports: number[]) => walk(allElements(state).steps, ports)!;
    expect((leafOf([1, 2]) & ONE_TIME_FLAG) !== 0).toBe(true);
    expect((leafOf([5, 6]) & ONE_TIME_FLAG) !== 0).toBe(false);
    const close = changes.addActions.find((a) => a.leaf === leafOf([3, 4]))!;
    expect((close.action & ACTION_CLOSE) !== 0).toBe(true);
  });

  it('removes only what no live sequence still uses', () => {
    const first = syncTrie(emptyTrie(), [entry('a/1/open', [1, 2, 3]), entry('b/1/open', [1, 2, 4])]);
    const second = syncTrie(first.state, [entry('b/1/open', [1, 2, 4])]);
    // Only a's leaf goes; the shared nodes [1] and [1,2] stay.
    expect(second.changes.deleteSteps).toHaveLength(1);
    expect(second.changes.addSteps).toHaveLength(0);
    expect(walk(allElements(second.state).steps, [1, 2, 4])).toBeDefined();
    expect(walk(allElements(second.state).steps, [1, 2, 3])).toBeUndefined();
    const third = syncTrie(second.state, []);
    expect(third.changes.deleteSteps).toHaveLength(3);
    expect(third.state.nodes.size).toBe(0);
    expect(allElements(third.state).steps).toEqual([]);
  });

  it('refuses identical and prefix sequences instead of merging them', () => {
    const { conflicts } = syncTrie(emptyTrie(), [
      entry('a/1/open', [1, 2, 3]),
      entry('b/1/open', [1, 2, 3]),
      entry('c/1/open', [1, 2]),
      entry('d/1/open', [1, 2, 3, 4]),
    ]);
    expect(conflicts.map((c) => c.entry.key)).toEqual(['b/1/open', 'c/1/open', 'd/1/open']);
  });

  it('does not modify the state it was given (a failed nft run keeps it)', () => {
    const first = syncTrie(emptyTrie(), [entry('a/1/open', [1, 2, 3])]);
    const before = JSON.stringify([...first.state.nodes]);
    syncTrie(first.state, []);
    expect(JSON.stringify([...first.state.nodes])).toBe(before);
    expect(first.state.leaves.size).toBe(1);
  });

  it('never gives a freed id to another prefix while rotating', () => {
    let state = emptyTrie();
    const seen = new Set<number>();
    for (let w = 0; w < 50; w++) {
      const sync = syncTrie(state, [entry(`a/${w}/open`, [100 + w, 200 + w, 300 + w])]);
      for (const s of sync.changes.addSteps) {
        expect(seen.has(s.next)).toBe(false);
        seen.add(s.next);
      }
      state = sync.state;
    }
  });

  it('keeps the kernel element set equal to a fresh build after any sequence of syncs', () => {
    const seqArb = fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 });
    const entriesArb = fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.integer({ min: 0, max: 3 }), seqArb), { maxLength: 8 })
      .map((xs) => {
        const byKey = new Map<string, KnockEntry>();
        for (const [u, w, ports] of xs) byKey.set(`${u}/${w}/open`, entry(`${u}/${w}/open`, ports));
        return [...byKey.values()];
      });
    fc.assert(
      fc.property(fc.array(entriesArb, { minLength: 1, maxLength: 5 }), (rounds) => {
        let state = emptyTrie();
        const kernel = new Map<string, number>();
        for (const desired of rounds) {
          const sync = syncTrie(state, desired);
          for (const d of sync.changes.deleteSteps) {
            expect(kernel.delete(`${d.state}.${d.port}`)).toBe(true); // nft would fail on a missing element
          }
          for (const a of sync.changes.addSteps) {
            expect(kernel.has(`${a.state}.${a.port}`)).toBe(false); // nft would fail on a duplicate
            kernel.set(`${a.state}.${a.port}`, a.next);
          }
          state = sync.state;
          const all = allElements(state).steps;
          expect(new Map(all.map((s) => [`${s.state}.${s.port}`, s.next]))).toEqual(kernel);
          // every live entry still walks to its own leaf
          for (const e of desired) {
            if (sync.conflicts.some((c) => c.entry.key === e.key)) continue;
            const end = walk(all, e.ports);
            expect(isLeaf(end!)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
