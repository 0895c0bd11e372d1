// The wire: an AF_PACKET capture on each server's interface (lib/wire-capture.py), and
// each knock's last datagram → SYN-ACK from it.
import { join } from 'node:path';
import type { NsProcess } from '@otpknock/e2e-harness';
import type { KnockRun } from './knock.js';
import { LIB, PYTHON, sleep } from './params.js';
import type { Ctx, Peer, PeerKey } from './peer.js';

export interface Packet {
  t: number;
  kind: 'udp' | 'syn' | 'synack';
  src: string;
  dst: string;
}

/** Last knock datagram → first SYN-ACK; and → the client's first SYN after it. Start → first datagram, first → last. */
function wireMs(
  packets: readonly Packet[],
  r: KnockRun,
): { wire: number | null; firstSyn: number; firstDatagram: number | null; span: number | null } {
  const inRun = packets.filter((p) => p.t >= r.startNs && p.t <= r.endNs);
  const synack = inRun.filter((p) => p.kind === 'synack').map((p) => p.t);
  const first = synack.length ? Math.min(...synack) : Number.POSITIVE_INFINITY;
  const udp = inRun.filter((p) => p.kind === 'udp' && p.t < first).map((p) => p.t);
  if (udp.length === 0) return { wire: null, firstSyn: Number.NaN, firstDatagram: null, span: null };
  const last = Math.max(...udp);
  const firstUdp = Math.min(...udp);
  const syn = inRun.filter((p) => p.kind === 'syn' && p.t > last).map((p) => p.t);
  return {
    wire: synack.length ? (first - last) / 1e6 : null,
    firstSyn: syn.length && synack.length ? (Math.min(...syn) - last) / 1e6 : Number.NaN,
    firstDatagram: (firstUdp - r.startNs) / 1e6,
    span: (last - firstUdp) / 1e6,
  };
}

/** One capture per server interface, for the latency runs and the knocks under floods. */
export async function startCaptures(ctx: Ctx, peers: Peer[]): Promise<Map<PeerKey, NsProcess>> {
  const captures = new Map<PeerKey, NsProcess>();
  for (const p of peers) {
    const cap = ctx.net.spawn(p.role, [
      PYTHON,
      join(LIB, 'wire-capture.py'),
      JSON.stringify({ ifname: p.serverIf, client: p.client, maxSeconds: 900 }),
    ]);
    await cap.waitForLine('"event":"ready"', { timeoutMs: 10_000 });
    captures.set(p.key, cap);
  }
  return captures;
}

export async function stopCaptures(captures: Map<PeerKey, NsProcess>): Promise<Map<PeerKey, Packet[]>> {
  const out = new Map<PeerKey, Packet[]>();
  for (const [key, cap] of captures) {
    cap.child.stdin?.end();
    await Promise.race([cap.exited, sleep(2_000)]);
    if (cap.running) await cap.stop();
    const packets = cap
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{"t"'))
      .map((l) => JSON.parse(l) as Packet);
    out.set(key, packets);
  }
  return out;
}

/** Wire figures of each run from its server's capture; datagrams: the client's UDP seen there. */
export function addWire(packets: readonly Packet[], runs: KnockRun[]): void {
  for (const r of runs) {
    const w = wireMs(packets, r);
    r.wireMs = w.wire;
    r.firstSynMs = w.wire === null ? null : w.firstSyn;
    r.firstDatagramMs = w.firstDatagram;
    r.datagramSpanMs = w.span;
    r.datagrams = packets.filter((p) => p.kind === 'udp' && p.t >= r.startNs && p.t <= r.endNs).length;
  }
}
