// Every change syncTrie makes to the trie goes through here, so that it can be
// undone when nft refuses the transaction: a flat log of (kind, target, key,
// old value), cheap for the ~10⁵ changes of a big rotation.
export class UndoLog {
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
