// Secrets the config no longer holds — users removed, secrets replaced — kept in
// the daemon's memory only (never written anywhere), so that a knock with one of
// them can be explained. Bounded: the newest MAX_FORMER, each for KEEP_FORMER_MS.
import type { ServerConfig } from '../config/types.js';
import type { FormerSecret } from './explain.js';

export const MAX_FORMER = 256;
export const KEEP_FORMER_MS = 30 * 86_400_000;

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

export class FormerSecrets {
  private list: FormerSecret[] = [];
  private last: ServerConfig | undefined;

  /** After every committed config: what left since the previous one is remembered. */
  update(config: ServerConfig, nowMs: number): void {
    const prev = this.last;
    this.last = config;
    if (prev === undefined || prev === config) return;
    for (const u of prev.users) {
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
    // A user added again under the same secret is no longer former.
    this.list = this.list
      .filter((f) => !config.users.some((u) => u.name === f.user && same(u.secret, f.secret)))
      .filter((f) => nowMs - f.sinceMs <= KEEP_FORMER_MS)
      .slice(-MAX_FORMER);
  }

  get all(): readonly FormerSecret[] {
    return this.list;
  }
}
