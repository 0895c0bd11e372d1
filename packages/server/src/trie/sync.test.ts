import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ACTION_CLOSE, FIRST_STEP_FLAG, LEAF_CLASS_MASK, ONE_TIME_FLAG, isLeaf } from './layout.js';
import { allElements, elementKey, emptyTrie, type StepElement } from './state.js';
import { syncTrie } from './sync.js';
import type { KnockEntry } from '../plan/entries.js';

const entry = (key: string, ports: number[], over: Partial<KnockEntry> = {}): KnockEntry => ({
  key,
  user: key.split('/')[0]!,
  window: 1,
  action: 'open',
  ports,
  serviceMask: 1,
  oneTime: true,
  ...over,
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
    const { state, conflicts } = syncTrie(emptyTrie(), [
      entry('alice/1/open', [1, 2, 3]),
      entry('bob/1/open', [1, 4, 5]),
    ]);
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
    // first-step nodes carry their flag (the kernel keeps their progress briefly), leaves never do it that way
    for (const s of allElements(state).steps)
      if (!isLeaf(s.next)) expect((s.next & FIRST_STEP_FLAG) !== 0).toBe(s.state === 0);
    expect((leafOf([5, 6]) & ONE_TIME_FLAG) !== 0).toBe(false);
    const close = changes.addActions.find((a) => a.leaf === (leafOf([3, 4]) & LEAF_CLASS_MASK))!;
    expect((close.action & ACTION_CLOSE) !== 0).toBe(true);
    // one leaf_action element per kind of action, not per sequence: open (×2, same services) and close
    expect(changes.addActions).toHaveLength(2);
    expect(leafOf([1, 2]) & LEAF_CLASS_MASK).toBe(leafOf([5, 6]) & LEAF_CLASS_MASK);
  });

  it('keeps a leaf whose entry was made anew but is equal (a reload), and tracks the new object only', () => {
    const first = syncTrie(emptyTrie(), [entry('a/1/open', [1, 2, 3])]);
    const again = syncTrie(first.state, [entry('a/1/open', [1, 2, 3])]);
    expect(again.changes).toEqual({
      addSteps: [],
      deleteSteps: [],
      replaceSteps: [],
      refreshSteps: [],
      addActions: [],
    });
    expect(again.state.leafOfEntry.size).toBe(1);
    const gone = syncTrie(again.state, []);
    expect(gone.changes.deleteSteps).toHaveLength(3);
    expect(gone.state.leafOfEntry.size).toBe(0);
  });

  it('refuses a 257th kind of action (services × action) instead of overflowing the class bits', () => {
    const many = Array.from({ length: 257 }, (_, i) =>
      entry(`u${i}/1/open`, [1000 + i, 2000 + i], { serviceMask: i + 1 }),
    );
    const { conflicts, changes } = syncTrie(emptyTrie(), many);
    expect(changes.addActions).toHaveLength(256);
    expect(conflicts.map((c) => [c.entry.key, c.reason])).toEqual([
      ['u256/1/open', 'more than 256 different combinations of action and services'],
    ]);
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

  it('rolls back to exactly the state before the sync (a failed nft run keeps it)', () => {
    const first = syncTrie(
      emptyTrie(),
      [entry('a/1/open', [1, 2, 3], { expiresMs: 90_000 }), entry('b/1/open', [1, 5, 6], { expiresMs: 60_000 })],
      0,
    );
    const sorted = <T>(xs: Iterable<T>) => [...xs].map((x) => JSON.stringify(x)).sort();
    const snapshot = (t: typeof first.state) =>
      JSON.stringify([
        sorted(t.nodes),
        sorted([...t.leaves].map(([k, l]) => [k, { ...l, keptIn: 0 }])),
        t.leafOfEntry.size,
        sorted(t.leafByKey),
        sorted(t.lingering),
        t.nextNodeId,
        t.nextLeafId,
      ]);
    const before = snapshot(first.state);
    const second = syncTrie(
      first.state,
      [
        entry('b/1/open', [1, 5, 6], { expiresMs: 60_000 }),
        entry('c/2/open', [1, 8, 9], { expiresMs: 120_000 }),
        entry('d/2/open', [4, 2, 3]),
      ],
      59_000,
    );
    expect(second.changes.replaceSteps.length + second.changes.addSteps.length).toBeGreaterThan(0);
    second.rollback();
    expect(snapshot(first.state)).toBe(before);
  });

  it('lets the kernel expire ended windows: a rotation adds, and deletes only what is far from its timeout', () => {
    const w = (n: number, ports: number[]) => entry(`a/${n}/open`, ports, { window: n, expiresMs: (n + 2) * 30_000 });
    const t = syncTrie(emptyTrie(), [w(1, [1, 2, 3]), w(2, [4, 5, 6]), w(3, [7, 8, 9])], 60_000).state;
    // At 90 s window 1 ends: its elements are left to their timeout, window 4 is added.
    const rot = syncTrie(t, [w(2, [4, 5, 6]), w(3, [7, 8, 9]), w(4, [10, 11, 12])], 90_000);
    expect(rot.changes.deleteSteps).toEqual([]);
    expect(rot.changes.addSteps.map((s) => s.expiresMs)).toEqual([180_000, 180_000, 180_000]);
    expect(rot.changes.addActions).toEqual([]); // the class of "open ssh" exists already
    // A user removed by a reload while its window has long to live: deleted explicitly,
    // but for its first step, which alone leads nowhere and is left to its timeout.
    const reload = syncTrie(rot.state, [w(2, [4, 5, 6]), w(4, [10, 11, 12])], 91_000);
    expect(reload.changes.deleteSteps).toEqual([
      { state: expect.any(Number), port: 9 },
      { state: expect.any(Number), port: 8 },
    ]);
    expect(reload.state.lingering.has(elementKey(0, 7, undefined))).toBe(true);
  });

  it('gives a first step one more window than its sequence, so the next window starting there needs no change', () => {
    const w = (n: number, ports: number[]) =>
      entry(`a/${n}/open`, ports, { window: n, expiresMs: (n + 2) * 30_000, periodMs: 30_000 });
    const t = syncTrie(emptyTrie(), [w(1, [1, 2, 3]), w(2, [4, 5, 6]), w(3, [7, 8, 9])], 60_000).state;
    expect(allElements(t).steps.find((s) => s.state === 0 && s.port === 7)?.expiresMs).toBe(180_000);
    const rot = syncTrie(t, [w(2, [4, 5, 6]), w(3, [7, 8, 9]), w(4, [7, 11, 12])], 90_000);
    expect(rot.changes.refreshSteps).toEqual([]); // [7] lives until 180 s already: window 4's sequence ends then
    expect(rot.changes.addSteps.map((s) => s.port).sort()).toEqual([11, 12]);
  });

  it('lengthens the timeout of a shared prefix, and replaces a key the kernel may still hold', () => {
    const w = (n: number, ports: number[]) => entry(`a/${n}/open`, ports, { window: n, expiresMs: (n + 2) * 30_000 });
    const t = syncTrie(emptyTrie(), [w(1, [1, 2, 3]), w(2, [4, 5, 6])], 60_000).state;
    // Window 3 starts with port 4, like window 2: node [4] must now live until window 3 ends.
    const shared = syncTrie(t, [w(1, [1, 2, 3]), w(2, [4, 5, 6]), w(3, [4, 7, 8])], 61_000);
    const node4 = shared.state.nodes.get(elementKey(0, 4, undefined))!;
    expect(shared.changes.refreshSteps).toEqual([{ state: 0, port: 4, next: node4.id, expiresMs: 150_000 }]);
    expect(shared.changes.replaceSteps).toEqual([]);
    expect(shared.changes.addSteps.some((s) => s.state === 0 && s.port === 4)).toBe(false);
    // At 90 s window 1 ends: [1] is left to expire; window 4 starting with 1 gets a new node that replaces it.
    const old1 = shared.state.nodes.get(elementKey(0, 1, undefined))!.id;
    const rot = syncTrie(shared.state, [w(2, [4, 5, 6]), w(3, [4, 7, 8]), w(4, [1, 9, 10])], 90_000);
    const new1 = rot.state.nodes.get(elementKey(0, 1, undefined))!.id;
    expect(new1).not.toBe(old1);
    expect(rot.changes.replaceSteps).toContainEqual({
      element: { state: 0, port: 1, next: new1, expiresMs: 180_000 },
      previousNext: old1,
    });
    expect(rot.state.lingering.has(elementKey(0, 1, undefined))).toBe(false);
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

  it('with timeouts: every transaction would succeed on a kernel that expires elements by itself, and lookups match the plan', () => {
    // Users × windows over time; a small port space forces shared prefixes and key reuse.
    const PERIOD = 30_000;
    const portsArb = fc.uniqueArray(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 3 });
    const roundArb = fc.record({
      advanceMs: fc.integer({ min: 0, max: 45_000 }),
      users: fc.subarray(['a', 'b', 'c', 'd']),
      latencyMs: fc.integer({ min: 0, max: 2_000 }), // commit happens after compute: kernel timeouts count from then
    });
    fc.assert(
      fc.property(fc.func(portsArb), fc.array(roundArb, { minLength: 1, maxLength: 8 }), (portsOf, rounds) => {
        const state = emptyTrie();
        const kernel = new Map<string, { next: number; until: number }>();
        let now = 60_000;
        let commit = now;
        for (const r of rounds) {
          now = Math.max(now + r.advanceMs, commit); // the next sync starts after the last commit
          commit = now + r.latencyMs;
          const current = Math.floor(now / PERIOD);
          const desired: KnockEntry[] = [];
          for (const u of r.users) {
            for (let w = current - 1; w <= current + 1; w++) {
              desired.push(entry(`${u}/${w}/open`, portsOf(u, w), { window: w, expiresMs: (w + 2) * PERIOD }));
            }
          }
          for (const [k, v] of kernel) if (v.until <= now) kernel.delete(k); // the kernel's own expiry
          const sync = syncTrie(state, desired, now);
          for (const [k, v] of kernel) if (v.until <= commit) kernel.delete(k);
          const until = (e: StepElement) => (e.expiresMs === undefined ? Infinity : commit + (e.expiresMs - now));
          const key = (e: { state: number; port: number }) => `${e.state}.${e.port}`;
          for (const e of sync.changes.refreshSteps) {
            // as a replace (kernels without timeout updates) or one add (with): same key and value either way
            const had = kernel.get(key(e));
            if (had) expect(had.next).toBe(e.next);
            kernel.delete(key(e));
          }
          for (const x of sync.changes.replaceSteps) {
            const had = kernel.get(key(x.element));
            if (had) expect(had.next).toBe(x.previousNext); // "add k : old" is a no-op only with the same value
            kernel.delete(key(x.element));
          }
          for (const d of sync.changes.deleteSteps) expect(kernel.delete(key(d))).toBe(true); // nft fails on a missing element
          for (const a of [
            ...sync.changes.addSteps,
            ...sync.changes.replaceSteps.map((x) => x.element),
            ...sync.changes.refreshSteps,
          ]) {
            expect(kernel.has(key(a))).toBe(false); // nft fails on a duplicate
            kernel.set(key(a), { next: a.next, until: until(a) });
          }
          // Right after the commit: the kernel holds every planned element, with at least its planned life…
          const all = allElements(state).steps;
          for (const e of all) {
            if ((e.expiresMs ?? Infinity) <= commit) continue; // ended while nft ran: rightly gone
            expect(kernel.get(key(e))?.next).toBe(e.next);
            expect(kernel.get(key(e))!.until).toBeGreaterThanOrEqual(e.expiresMs ?? Infinity);
          }
          // …and nothing else but elements on their way out: remembered as such
          // (lingering), or under a parent that is gone for good, so its key cannot come back.
          const liveIds = new Set([...state.nodes.values()].map((n) => n.id));
          for (const k of kernel.keys()) {
            const [st, port] = k.split('.').map(Number);
            if (all.some((e) => key(e) === k)) continue;
            expect(state.lingering.has(elementKey(st!, port!, undefined)) || (st !== 0 && !liveIds.has(st!))).toBe(
              true,
            );
          }
          // Every planned sequence walks to its own leaf in the kernel.
          const kernelSteps = [...kernel].map(([k, v]) => ({
            state: Number(k.split('.')[0]),
            port: Number(k.split('.')[1]),
            next: v.next,
          }));
          for (const e of desired) {
            if (sync.conflicts.some((c) => c.entry.key === e.key) || e.expiresMs! <= commit) continue;
            expect(isLeaf(walk(kernelSteps, e.ports) ?? 0)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the kernel element set equal to a fresh build after any sequence of syncs', () => {
    const seqArb = fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 });
    const entriesArb = fc
      .array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.integer({ min: 0, max: 3 }), seqArb), {
        maxLength: 8,
      })
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
