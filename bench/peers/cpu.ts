// Measurement 3 (see bench/peers.ts): each daemon's CPU time per 100,000 junk datagrams, away from otpknockd's rotations.
import { join } from 'node:path';
import { PREPARE_LEAD_MS } from '@otpknock/server';
import { floodJob, type Flood } from './junk.js';
import { CPU_JUNK, CPU_RATE, CPU_ROUNDS, LIB, PYTHON, sleep } from './params.js';
import type { Ctx, Peer, PeerKey } from './peer.js';
import { processCpuMs } from './proc-stat.js';

const PERIOD_S = 30;

/**
 * Waits until at least `seconds` (+ 1 s for the idle baseline) remain before otpknockd's
 * next rotation work: it computes a rotation PREPARE_LEAD_MS before the boundary.
 */
async function awayFromBoundary(seconds: number): Promise<void> {
  const into = (Date.now() / 1000) % PERIOD_S;
  const workStarts = PERIOD_S - PREPARE_LEAD_MS / 1000 - 0.5;
  if (into < 1.5 || into > workStarts - seconds - 1) await sleep(((PERIOD_S - into + 1.5) % PERIOD_S) * 1000);
}

export async function cpuPhase(
  ctx: Ctx,
  peers: Peer[],
): Promise<Map<PeerKey, { cpuMsPer100k: number; sent: number; seconds: number; idleCpuMs: number }[]>> {
  const res = new Map(
    peers.map((p) => [p.key, [] as { cpuMsPer100k: number; sent: number; seconds: number; idleCpuMs: number }[]]),
  );
  for (let round = 0; round < CPU_ROUNDS; round++) {
    for (let k = 0; k < peers.length; k++) {
      const p = peers[(k + round) % peers.length]!;
      // otpknockd rotates at every 30 s boundary: its rotation cost is measured apart (server
      // bench), so no burst (of any daemon) may contain a boundary.
      await awayFromBoundary(CPU_JUNK / CPU_RATE + 1.5);
      // Idle baseline over 1 s (timers), for the JSON.
      const i0 = processCpuMs(p.daemon.pid);
      await sleep(1_000);
      const idleCpuMs = processCpuMs(p.daemon.pid) - i0;
      const c0 = processCpuMs(p.daemon.pid);
      const job = floodJob(p, CPU_JUNK, CPU_RATE, CPU_JUNK / CPU_RATE + 4);
      const r = await ctx.net.exec('cli', [PYTHON, join(LIB, 'udp-flood.py')], {
        input: JSON.stringify(job),
        timeoutMs: 30_000,
      });
      if (r.code !== 0) throw new Error(`udp-flood failed: ${r.stderr.trim()}`);
      await sleep(300); // a pcap daemon may still be working through its buffer
      const c1 = processCpuMs(p.daemon.pid);
      const f = JSON.parse(r.stdout.trim()) as Flood;
      res
        .get(p.key)!
        .push({ cpuMsPer100k: ((c1 - c0) * 100_000) / f.sent, sent: f.sent, seconds: f.seconds, idleCpuMs });
    }
  }
  return res;
}
