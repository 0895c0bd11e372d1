// Measurements 1, 2 and 5 (see bench/peers.ts): the timed knocks, end to end (the wire figures
// come from the captures, wire.ts), and the extra knocks under GNU time for the clients' peak RSS.
import { clientLog, knockOnce, opened, type KnockRun } from './knock.js';
import { RSS_RUNS, RUNS, WARMUP_RUNS, log } from './params.js';
import type { Ctx, Peer, PeerKey } from './peer.js';

export async function latencyPhase(
  ctx: Ctx,
  peers: Peer[],
  next: Map<PeerKey, number>,
): Promise<Map<PeerKey, { runs: KnockRun[]; rss: KnockRun[] }>> {
  const take = (p: Peer) => {
    const n = next.get(p.key)!;
    next.set(p.key, n + 1);
    return n;
  };
  for (const p of peers) {
    for (let i = 0; i < WARMUP_RUNS; i++) {
      await p.reset();
      const w = await knockOnce(ctx, p, take(p));
      if (!opened(p, w))
        throw new Error(
          `${p.label}: the warm-up knock did not open the service (client exit ${w.exit}):\n${clientLog(ctx, p)}`,
        );
    }
  }
  const res = new Map(peers.map((p) => [p.key, { runs: [] as KnockRun[], rss: [] as KnockRun[] }]));
  for (let round = 0; round < RUNS + RSS_RUNS; round++) {
    for (let k = 0; k < peers.length; k++) {
      const p = peers[(k + round) % peers.length]!; // rotate the order: drift spreads evenly
      await p.reset();
      const r = await knockOnce(ctx, p, take(p), { rss: round >= RUNS });
      (round >= RUNS ? res.get(p.key)!.rss : res.get(p.key)!.runs).push(r);
    }
    if (round % 5 === 4) log(`latency round ${round + 1}/${RUNS + RSS_RUNS}`);
  }
  return res;
}
