// What the daemon remembers of refused knocks, per source, in bounded memory:
// at most MAX_SOURCES sources (the least recently seen go first), each with its
// last RECENT_PER_SOURCE refused packets and its last explanation; and the bans
// it saw imposed. Pure: packets and the time in, the sources due for an
// explanation and the state file's content out. The kernel already limits how
// many refused packets reach it (nft/refusal-log.ts).
import type { Explanation } from './explain.js';

export type RefusalKind = 'bad' | 'banned' | 'closed' | 'replay';

export interface RefusedPacket {
  /** Unix ms the daemon received it. */
  t: number;
  kind: RefusalKind;
  /** The knock port (bad knocks; others when the reader saw one). */
  port?: number;
  /** A replay: whose sequence it was. */
  user?: string;
  /** The datagram's payload length (bytes after the UDP header). */
  payloadBytes?: number;
}

export interface SourceRecord {
  address: string;
  family: 4 | 6;
  firstMs: number;
  lastMs: number;
  /** Refused packets logged from it since firstMs (the kernel logs at most a few a second). */
  refused: number;
  recent: RefusedPacket[];
  explanation?: Explanation & { atMs: number };
  /** Set while packets wait for an explanation: when the first of them came. */
  pendingSinceMs?: number;
}

export interface BanRecord {
  /** The banned key: the address, or the /64 prefix of an IPv6 source, as nft prints it. */
  address: string;
  family: 4 | 6;
  /** The source whose bad knock imposed it. */
  source: string;
  atMs: number;
  untilMs: number;
  /** Set when it was lifted before its time (otpknockd unban). */
  liftedMs?: number;
}

export const MAX_SOURCES = 1024;
export const RECENT_PER_SOURCE = 32;
export const MAX_BANS = 1024;
/** Sources written to the state file (the most recently seen). */
export const FILE_SOURCES = 256;
/** Sources and bans are forgotten this long after they were last seen (bans: after they end). */
export const KEEP_MS = 60 * 60_000;
/** The ports that make one failed knock: those that came within this span before the last one. */
export const ATTEMPT_SPAN_MS = 30_000;
/** A source is explained once it has been quiet this long… */
export const QUIET_MS = 300;
/** …or this long after its first unexplained packet, whatever comes after. */
export const MAX_WAIT_MS = 2_000;

/** The key a source is banned by: the address, or for IPv6 its /64 prefix in canonical text. */
export function banKeyOf(address: string, family: 4 | 6): string {
  if (family === 4) return address;
  const host = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const [head = '', tail = ''] = host.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = host.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return new URL(`http://[${groups.slice(0, 4).join(':')}::]/`).hostname.slice(1, -1);
}

export class RefusalBook {
  private readonly sources = new Map<string, SourceRecord>();
  private readonly bans = new Map<string, BanRecord>();

  constructor(private readonly banForMs: () => number) {}

  /** One refused packet of `address` (or, kind 'ban', a ban imposed on it). */
  add(address: string, family: 4 | 6, packet: RefusedPacket | { t: number; kind: 'ban' }): void {
    if (packet.kind === 'ban') {
      const key = banKeyOf(address, family);
      this.bans.delete(key);
      this.bans.set(key, {
        address: key,
        family,
        source: address,
        atMs: packet.t,
        untilMs: packet.t + this.banForMs(),
      });
      if (this.bans.size > MAX_BANS) this.bans.delete(this.bans.keys().next().value!);
      return;
    }
    let rec = this.sources.get(address);
    if (rec === undefined) rec = { address, family, firstMs: packet.t, lastMs: packet.t, refused: 0, recent: [] };
    this.sources.delete(address); // re-inserted last: the Map's order is least recently seen first
    this.sources.set(address, rec);
    if (this.sources.size > MAX_SOURCES) this.sources.delete(this.sources.keys().next().value!);
    rec.lastMs = packet.t;
    rec.refused++;
    rec.recent.push(packet);
    if (rec.recent.length > RECENT_PER_SOURCE) rec.recent.splice(0, rec.recent.length - RECENT_PER_SOURCE);
    rec.pendingSinceMs ??= packet.t;
  }

  /** Sources whose packets wait for an explanation and are due now, oldest first, at most `max`. */
  due(nowMs: number, max: number): SourceRecord[] {
    const out: SourceRecord[] = [];
    for (const rec of this.sources.values()) {
      if (out.length >= max) break;
      if (rec.pendingSinceMs === undefined) continue;
      if (nowMs - rec.lastMs >= QUIET_MS || nowMs - rec.pendingSinceMs >= MAX_WAIT_MS) out.push(rec);
    }
    return out;
  }

  get pending(): boolean {
    for (const rec of this.sources.values()) if (rec.pendingSinceMs !== undefined) return true;
    return false;
  }

  explained(rec: SourceRecord, e: Explanation, nowMs: number): void {
    rec.explanation = { ...e, atMs: nowMs };
    delete rec.pendingSinceMs;
  }

  /** Bans it saw imposed that have not ended or been lifted. */
  runningBans(nowMs: number): BanRecord[] {
    return [...this.bans.values()].filter((b) => b.liftedMs === undefined && b.untilMs > nowMs);
  }

  lifted(ban: BanRecord, nowMs: number): void {
    ban.liftedMs = nowMs;
  }

  /** A ban the daemon saw imposed, by its key. */
  banOf(key: string): BanRecord | undefined {
    return this.bans.get(key);
  }

  source(address: string): SourceRecord | undefined {
    return this.sources.get(address);
  }

  /** Takes over what a previous run wrote (sources without pending work; bans as they were). */
  load(file: RefusalsFile): void {
    if (file.version !== 1 || !Array.isArray(file.sources) || !Array.isArray(file.bans)) return;
    for (const rec of [...file.sources].reverse().slice(-MAX_SOURCES)) {
      if (typeof rec.address !== 'string' || !Array.isArray(rec.recent) || this.sources.has(rec.address)) continue;
      const copy = { ...rec, recent: rec.recent.slice(-RECENT_PER_SOURCE) };
      delete copy.pendingSinceMs;
      this.sources.set(rec.address, copy);
    }
    for (const b of [...file.bans].reverse().slice(-MAX_BANS))
      if (typeof b.address === 'string') this.bans.set(b.address, b);
  }

  /** Forgets sources and bans not seen for KEEP_MS. */
  prune(nowMs: number): void {
    for (const [k, rec] of this.sources)
      if (nowMs - rec.lastMs > KEEP_MS && rec.pendingSinceMs === undefined) this.sources.delete(k);
    for (const [k, b] of this.bans) if (nowMs - b.untilMs > KEEP_MS) this.bans.delete(k);
  }

  /**
   * The bad-knock ports of a source's last attempt: the trailing run of them in which
   * no two came more than `gapMs` apart (the step timeout: a knock's ports come
   * closer), within ATTEMPT_SPAN_MS of its last packet.
   */
  static attemptPorts(rec: SourceRecord, gapMs: number): number[] {
    return RefusalBook.attemptPackets(rec, gapMs).map((p) => p.port!);
  }

  /** The bad-knock packets of a source's last attempt (as attemptPorts). */
  static attemptPackets(rec: SourceRecord, gapMs: number): RefusedPacket[] {
    const bad = rec.recent.filter(
      (p) => p.kind === 'bad' && p.port !== undefined && rec.lastMs - p.t <= ATTEMPT_SPAN_MS,
    );
    let from = bad.length - 1;
    while (from > 0 && bad[from]!.t - bad[from - 1]!.t <= gapMs) from--;
    return bad.slice(Math.max(0, from));
  }

  /** The state file's content: the most recently seen sources first. */
  snapshot(nowMs: number, pid: number): RefusalsFile {
    return {
      version: 1,
      pid,
      updatedAt: new Date(nowMs).toISOString(),
      sources: [...this.sources.values()]
        .reverse()
        .slice(0, FILE_SOURCES)
        .map((r) => ({ ...r, recent: [...r.recent] })),
      bans: [...this.bans.values()].reverse(),
    };
  }
}

/** state_dir/refusals.json: what `otpknockd why` and `status` read. */
export interface RefusalsFile {
  version: 1;
  pid: number;
  updatedAt: string;
  sources: SourceRecord[];
  bans: BanRecord[];
}

export const REFUSALS_FILE = 'refusals.json';
