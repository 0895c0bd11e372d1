// The audit's eyes: NFLOG. The final chains of our table log every completed
// knock (`log group N`) with the packet and its mark (= the trie leaf). The
// kernel hands such messages only to an AF_NETLINK socket, which Node lacks, so
// a tiny reader in Python's standard library (nflog-reader.py; python3 is in
// every Debian) binds the group and prints one JSON line per packet: no kernel log text is
// parsed, and nothing but netlink attributes is read. Measured: `nft monitor`
// does not announce set additions made by the packet path (docs/team.md).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Log prefixes of the final chains. */
export const OPEN_PREFIX = 'otpknock open';
export const REPLAY_PREFIX = 'otpknock replay';
/** Log prefix (+ " SERVICE") of a new connection a grant let through to a forwarded service (the guard's). */
export const FORWARD_PREFIX = 'otpknock forward';

/** One packet the kernel logged to our group. */
export interface NflogPacket {
  family: 4 | 6;
  /** 0 when the packet carried none (a forwarded connection's). */
  mark: number;
  saddr: string;
  /** Where the packet went, after any DNAT (for a forwarded connection: the backend). */
  daddr?: string;
  dport?: number;
  /** A UDP packet: the length of its payload (from the UDP header). */
  payloadBytes?: number;
  prefix: string;
  /** Unix ms when the reader received it. */
  receivedMs: number;
}

/** Pure: one reader output line → a packet, a ready/error notice, or undefined. */
export function parseReaderLine(line: string): { packet?: NflogPacket; ready?: boolean; error?: string } | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof v.error === 'string') return { error: v.error };
  if (v.ready !== undefined) return { ready: true };
  if ((v.family !== 4 && v.family !== 6) || typeof v.saddr !== 'string') return undefined;
  return {
    packet: {
      family: v.family,
      mark: typeof v.mark === 'number' ? v.mark >>> 0 : 0,
      saddr: v.saddr,
      ...(typeof v.daddr === 'string' ? { daddr: v.daddr } : {}),
      ...(typeof v.dport === 'number' ? { dport: v.dport } : {}),
      ...(typeof v.ulen === 'number' ? { payloadBytes: v.ulen } : {}),
      prefix: typeof v.prefix === 'string' ? v.prefix.trim() : '',
      receivedMs: Math.round(Number(v.t) * 1000),
    },
  };
}

/**
 * The reader: nflog-reader.py beside this module (beside the bundle once built;
 * scripts/build.mjs copies it), run as `python3 -u nflog-reader.py GROUP`.
 */
export const READER_PATH = fileURLToPath(new URL('./nflog-reader.py', import.meta.url));

export interface NflogReader {
  readonly child: ChildProcess;
  /** Resolves when the group is bound (or rejects with why not). */
  readonly ready: Promise<void>;
  stop(): void;
}

/** Starts the reader; `onPacket` gets every logged packet. */
export function startNflogReader(group: number, onPacket: (p: NflogPacket) => void, python = 'python3'): NflogReader {
  const child = spawn(python, ['-u', READER_PATH, String(group)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
  child.on('error', (e) =>
    settle?.reject(new Error(`cannot run ${python}: ${e.message} (install python3 for the audit)`)),
  );
  child.on('exit', (code) =>
    settle?.reject(new Error(`the NFLOG reader exited (${code}): ${stderr.trim().split('\n').pop() ?? ''}`)),
  );
  createInterface({ input: child.stdout }).on('line', (line) => {
    const r = parseReaderLine(line);
    if (r?.ready) settle?.resolve();
    else if (r?.error) settle?.reject(new Error(`cannot bind NFLOG group ${group}: ${r.error}`));
    else if (r?.packet) onPacket(r.packet);
  });
  return { child, ready, stop: () => void (child.exitCode === null && child.kill('SIGTERM')) };
}
