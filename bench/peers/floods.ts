// Measurement 4 (see bench/peers.ts): legitimate knocks while eve floods the server with junk (2,000 and 10,000 packets/s).
import { join } from 'node:path';
import { int } from '../lib/stats.js';
import { floodJob, type Flood } from './junk.js';
import { knockOnce, opened, type KnockRun } from './knock.js';
import { FLOOD_KNOCKS, FLOOD_MAX_SECONDS, FLOOD_RATES, LIB, PYTHON, log, sleep } from './params.js';
import type { Ctx, Peer, PeerKey } from './peer.js';
import { processCpuMs } from './proc-stat.js';

export interface FloodRow {
  rate: number;
  knocks: KnockRun[];
  ok: number;
  flood: Flood | null;
  daemonCpuPercent: number;
}

export async function floodPhase(
  ctx: Ctx,
  peers: Peer[],
  next: Map<PeerKey, number>,
): Promise<Map<PeerKey, FloodRow[]>> {
  const res = new Map(peers.map((p) => [p.key, [] as FloodRow[]]));
  for (const rate of FLOOD_RATES) {
    for (const p of peers) {
      // Bounded by count and time, long enough for FLOOD_KNOCKS failed knocks; stopped
      // (SIGTERM, it still reports) as soon as the knocks are done.
      const flooder = ctx.net.spawn('cli', [PYTHON, join(LIB, 'udp-flood.py')]);
      flooder.write(JSON.stringify(floodJob(p, rate * FLOOD_MAX_SECONDS, rate, FLOOD_MAX_SECONDS)));
      flooder.child.stdin?.end();
      const c0 = processCpuMs(p.daemon.pid);
      const t0 = performance.now();
      await sleep(500);
      const knocks: KnockRun[] = [];
      for (let k = 0; k < FLOOD_KNOCKS && flooder.running; k++) {
        const n = next.get(p.key)!;
        next.set(p.key, n + 1);
        await p.reset();
        knocks.push(await knockOnce(ctx, p, n));
      }
      const stillFlooding = flooder.running;
      await flooder.stop('SIGTERM', 5_000);
      const cpu = processCpuMs(p.daemon.pid) - c0;
      const wall = performance.now() - t0;
      const out = flooder.stdout().trim();
      const flood = out.startsWith('{') ? (JSON.parse(out) as Flood) : null;
      const ok = knocks.filter((r) => opened(p, r)).length;
      if (!stillFlooding && knocks.length > 0) log(`${p.label} @ ${rate}/s: the flood ended before the last knock`);
      res.get(p.key)!.push({ rate, knocks, ok, flood, daemonCpuPercent: (cpu / wall) * 100 });
      log(`${p.label} under ${int(rate)} packets/s: ${ok}/${knocks.length} knocks opened`);
    }
  }
  return res;
}
