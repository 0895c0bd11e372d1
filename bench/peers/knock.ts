// One knock as a user runs it, timed by lib/timed-client.py in the client namespace.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONNECT_INTERVAL_MS, CONNECT_TIMEOUT_S, GNU_TIME, LIB, PYTHON, SERVICE_PORT, sleep } from './params.js';
import type { Ctx, Peer, PeerKey } from './peer.js';

export interface KnockRun {
  startNs: number;
  endNs: number;
  exit: number | null;
  clientMs: number;
  connectMs: number | null;
  attempts: number;
  maxRssKiB: number | null;
  wireMs?: number | null;
  firstSynMs?: number | null;
  /** The client's UDP datagrams seen on the server's interface during the run. */
  datagrams?: number;
  /** Client start → its first knock/SPA datagram on the server's interface. */
  firstDatagramMs?: number | null;
  /** First → last of the client's datagrams before the first SYN-ACK. */
  datagramSpanMs?: number | null;
}

let knockSeq = 0;
/** Knocks from one address to one server are paced like a person's (otpknock's kernel also
 * budgets knock progress per source: a knock every ~0.3 s from one address is throttled). */
export const KNOCK_GAP_MS = 600;
const lastKnockAt = new Map<PeerKey, number>();

export async function knockOnce(
  ctx: Ctx,
  peer: Peer,
  n: number,
  opts: { rss?: boolean; timeoutS?: number; connect?: boolean } = {},
): Promise<KnockRun> {
  let argv = peer.clientArgv(n);
  if (argv.length > 0) {
    const wait = (lastKnockAt.get(peer.key) ?? 0) + KNOCK_GAP_MS - performance.now();
    if (wait > 0) await sleep(wait);
  }
  const rssFile = join(ctx.dir, `rss-${knockSeq++}`);
  if (opts.rss) argv = [GNU_TIME, '-f', '%M', '-o', rssFile, ...argv];
  const job = {
    argv,
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...peer.env },
    log: clientLogPath(ctx, peer),
    host: peer.server,
    port: SERVICE_PORT,
    intervalMs: CONNECT_INTERVAL_MS,
    timeoutS: opts.timeoutS ?? CONNECT_TIMEOUT_S,
    connect: opts.connect ?? true,
  };
  const r = await ctx.net.exec('cli', [PYTHON, join(LIB, 'timed-client.py')], {
    input: JSON.stringify(job),
    timeoutMs: 30_000,
  });
  if (r.code !== 0) throw new Error(`timed-client failed for ${peer.key} (exit ${r.code}): ${r.stderr.trim()}`);
  const out = JSON.parse(r.stdout.trim()) as KnockRun;
  if (argv.length > 0) lastKnockAt.set(peer.key, performance.now());
  if (opts.rss) {
    // GNU time's %M is the client's own peak (it forks the client from a small process).
    const lines = existsSync(rssFile) ? readFileSync(rssFile, 'utf8').trim().split('\n') : [];
    out.maxRssKiB = Number(lines[lines.length - 1]) || null;
  } else out.maxRssKiB = null;
  return out;
}

const clientLogPath = (ctx: Ctx, peer: Peer) => join(ctx.dir, `${peer.key}-client.log`);
export const clientLog = (ctx: Ctx, peer: Peer) =>
  existsSync(clientLogPath(ctx, peer)) ? readFileSync(clientLogPath(ctx, peer), 'utf8').slice(-2000) : '(no output)';

export const opened = (peer: Peer, r: KnockRun) => r.connectMs !== null && (peer.key !== 'otpknock' || r.exit === 0);
