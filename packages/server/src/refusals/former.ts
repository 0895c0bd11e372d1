// Secrets the config no longer holds — users removed, secrets replaced — kept so that
// a knock with one of them can be explained. Bounded: the newest MAX_FORMER, each for
// KEEP_FORMER_MS. Pure: configs and the time in, the list out; the daemon keeps the
// list in state_dir/former-secrets.json (former-file.ts), so a restart keeps it.
import type { ServerConfig } from '../config/types.js';
import type { FormerSecret } from './explain.js';

export const MAX_FORMER = 256;
export const KEEP_FORMER_MS = 30 * 86_400_000;

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

export class FormerSecrets {
  private list: FormerSecret[] = [];
  private last: ServerConfig | undefined;

  /**
   * After every committed config: what left since the previous one is remembered.
   * True when the list changed (then it is worth writing down).
   */
  update(config: ServerConfig, nowMs: number): boolean {
    const before = this.list;
    const prev = this.last;
    this.last = config;
    if (prev === config) return false;
    for (const u of prev?.users ?? []) {
      const next = config.users.find((x) => x.name === u.name);
      const kept = next === undefined ? [] : [next.secret, ...(next.graceSecrets ?? []).map((g) => g.secret)];
      const graceEnd = new Map((u.graceSecrets ?? []).map((g) => [g.secret, g.untilMs]));
      for (const secret of [u.secret, ...graceEnd.keys()]) {
        if (kept.some((k) => same(k, secret))) continue;
        const until = graceEnd.get(secret);
        this.list = this.list.filter((f) => !(f.user === u.name && same(f.secret, secret)));
        this.list.push({
          user: u.name,
          secret,
          profile: u.profile,
          reason: next === undefined ? 'removed' : until !== undefined && until <= nowMs ? 'grace-ended' : 'replaced',
          sinceMs: until ?? nowMs,
        });
      }
    }
    this.prune(nowMs);
    return !sameList(before, this.list);
  }

  /** Takes what a previous run kept (before or after the first config: either way the bounds hold). True when the list changed. */
  restore(kept: readonly FormerSecret[], nowMs: number): boolean {
    const before = this.list;
    const fresh = kept.filter((k) => !this.list.some((f) => f.user === k.user && same(f.secret, k.secret)));
    this.list = [...fresh, ...this.list].sort((a, b) => a.sinceMs - b.sinceMs);
    this.prune(nowMs);
    return !sameList(before, this.list);
  }

  /** A user added again under the same secret is no longer former; then the age and size bounds. */
  private prune(nowMs: number): void {
    const config = this.last;
    this.list = this.list
      .filter((f) => config === undefined || !config.users.some((u) => u.name === f.user && same(u.secret, f.secret)))
      .filter((f) => nowMs - f.sinceMs <= KEEP_FORMER_MS)
      .slice(-MAX_FORMER);
  }

  get all(): readonly FormerSecret[] {
    return this.list;
  }
}

function sameList(a: readonly FormerSecret[], b: readonly FormerSecret[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}
