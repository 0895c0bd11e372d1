// The audit's eyes: NFLOG. The final chains of our table log every completed
// knock (`log group N`) with the packet and its mark (= the trie leaf). The
// kernel hands such messages only to an AF_NETLINK socket, which Node lacks, so
// a tiny reader in Python's standard library (python3 is in every Debian)
// binds the group and prints one JSON line per packet: no kernel log text is
// parsed, and nothing but netlink attributes is read. Measured: `nft monitor`
// does not announce set additions made by the packet path (docs/team.md).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Log prefixes of the final chains. */
export const OPEN_PREFIX = 'otpknock open';
export const REPLAY_PREFIX = 'otpknock replay';

/** One packet the kernel logged to our group. */
export interface NflogPacket {
  family: 4 | 6;
  mark: number;
  saddr: string;
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
  if ((v.family !== 4 && v.family !== 6) || typeof v.mark !== 'number' || typeof v.saddr !== 'string') return undefined;
  return {
    packet: { family: v.family, mark: v.mark >>> 0, saddr: v.saddr, prefix: typeof v.prefix === 'string' ? v.prefix.trim() : '', receivedMs: Math.round(Number(v.t) * 1000) },
  };
}

/** The reader, run as `python3 -c READER GROUP` (no secret in it or its argv). */
export const READER = String.raw`import socket, struct, sys, json, time, os, signal, ctypes
GROUP = int(sys.argv[1])
# Die with the daemon (PR_SET_PDEATHSIG), even when it is SIGKILLed: an orphan would
# keep the NFLOG group bound and the restarted daemon could not audit.
try:
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)
except Exception:
    pass
if os.getppid() == 1:
    sys.exit(0)
NETLINK_NETFILTER = 12
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind((0, 0))
seq = 0
def attr(t, payload):
    l = 4 + len(payload)
    return struct.pack('=HH', l, t) + payload + b'\0' * ((4 - l % 4) % 4)
def config(attrs):
    global seq
    seq += 1
    body = struct.pack('=BBH', 0, 0, socket.htons(GROUP)) + b''.join(attrs)
    hdr = struct.pack('=IHHII', 16 + len(body), (4 << 8) | 1, 0x1 | 0x4, seq, 0)
    s.send(hdr + body)
    data = s.recv(65536)
    ln, typ, fl, sq, pid = struct.unpack_from('=IHHII', data, 0)
    if typ == 2:
        err = struct.unpack_from('=i', data, 16)[0]
        if err != 0:
            sys.stdout.write(json.dumps({'error': os.strerror(-err), 'errno': -err}) + '\n'); sys.stdout.flush(); sys.exit(3)
config([attr(1, struct.pack('=B', 1))])                     # NFULA_CFG_CMD: BIND
config([attr(2, struct.pack('>IBB', 128, 2, 0))])            # NFULA_CFG_MODE: copy packet, 128 bytes
config([attr(4, struct.pack('>I', 1))])                      # NFULA_CFG_QTHRESH: 1 (deliver at once)
config([attr(3, struct.pack('>I', 0))])                      # NFULA_CFG_TIMEOUT: 0
sys.stdout.write(json.dumps({'ready': GROUP}) + '\n'); sys.stdout.flush()
while True:
    data = s.recv(1 << 16)
    off = 0
    while off + 16 <= len(data):
        ln, typ, fl, sq, pid = struct.unpack_from('=IHHII', data, off)
        if ln < 16: break
        if typ == ((4 << 8) | 0):
            fam = data[off + 16]
            a = off + 20
            ev = {'family': 4 if fam == 2 else 6 if fam == 10 else fam, 't': time.time()}
            while a + 4 <= off + ln:
                al, at = struct.unpack_from('=HH', data, a)
                if al < 4: break
                v = data[a + 4:a + al]
                at &= 0x3fff
                if at == 2: ev['mark'] = struct.unpack('>I', v)[0]
                elif at == 10: ev['prefix'] = v.rstrip(b'\0').decode('ascii', 'replace')
                elif at == 9:
                    if fam == 2 and len(v) >= 20: ev['saddr'] = socket.inet_ntop(socket.AF_INET, v[12:16])
                    elif fam == 10 and len(v) >= 40: ev['saddr'] = socket.inet_ntop(socket.AF_INET6, v[8:24])
                a += (al + 3) & ~3
            sys.stdout.write(json.dumps(ev) + '\n'); sys.stdout.flush()
        off += (ln + 3) & ~3
`;

export interface NflogReader {
  readonly child: ChildProcess;
  /** Resolves when the group is bound (or rejects with why not). */
  readonly ready: Promise<void>;
  stop(): void;
}

/** Starts the reader; `onPacket` gets every logged packet. */
export function startNflogReader(group: number, onPacket: (p: NflogPacket) => void, python = 'python3'): NflogReader {
  const child = spawn(python, ['-u', '-c', READER, String(group)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
  child.on('error', (e) => settle?.reject(new Error(`cannot run ${python}: ${e.message} (install python3 for the audit)`)));
  child.on('exit', (code) => settle?.reject(new Error(`the NFLOG reader exited (${code}): ${stderr.trim().split('\n').pop() ?? ''}`)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const r = parseReaderLine(line);
    if (r?.ready) settle?.resolve();
    else if (r?.error) settle?.reject(new Error(`cannot bind NFLOG group ${group}: ${r.error}`));
    else if (r?.packet) onPacket(r.packet);
  });
  return { child, ready, stop: () => void (child.exitCode === null && child.kill('SIGTERM')) };
}
