// Which sequence a leaf mark stood for, also shortly after it left the table: an
// NFLOG event may arrive just after the rotation that removed its window. Leaf
// ids are handed out in increasing order (knock-trie.ts), so a mark is not
// reused by another sequence while it is remembered here.
import type { TrieState } from '../trie/state.js';
import type { KnockEntry } from '../plan/entries.js';

/** How long a leaf is remembered after it was last seen live. */
const KEEP_MS = 10 * 60_000;

export class LeafBook {
  private readonly marks = new Map<number, { entry: KnockEntry; seenMs: number }>();

  /** Remembers every leaf of a committed table; forgets leaves gone for longer than KEEP_MS. */
  record(trie: TrieState, nowMs: number): void {
    for (const leaf of trie.leaves.values()) this.marks.set(leaf.mark >>> 0, { entry: leaf.entry, seenMs: nowMs });
    for (const [mark, v] of this.marks) if (nowMs - v.seenMs > KEEP_MS) this.marks.delete(mark);
  }

  get(mark: number): KnockEntry | undefined {
    return this.marks.get(mark >>> 0)?.entry;
  }

  get size(): number {
    return this.marks.size;
  }
}
