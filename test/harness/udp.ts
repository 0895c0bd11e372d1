// UDP from inside a namespace: sending knock-like datagrams in order, and a listener that
// proves which datagrams arrived.
import { NODE, agentPath as agent } from './node.js';
import type { NsProcess } from './proc.js';
import type { NsRef, Topology } from './topology.js';

export type Payload = string | Uint8Array;

export interface SendUdpOptions {
  /** Pause between datagrams. Default 0. */
  delayMs?: number;
  /** One payload for every datagram, or one per port (in order). Default: empty datagrams. */
  payload?: Payload | Payload[];
  /** Bind this local port (to test a fixed source port); default: any. */
  sourcePort?: number;
  timeoutMs?: number;
}

const b64 = (p: Payload) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p)).toString('base64');

/**
 * Sends one UDP datagram to host on each port, in order, from ns. Payloads travel to the
 * sending process on stdin, never in argv. Resolves once all were handed to the kernel.
 */
export async function sendUdp(
  topo: Topology,
  ns: NsRef,
  host: string,
  ports: readonly number[],
  opts: SendUdpOptions = {},
): Promise<{ sent: number; sourcePort: number }> {
  const payloads =
    opts.payload === undefined
      ? []
      : Array.isArray(opts.payload)
        ? opts.payload.map(b64)
        : [b64(opts.payload as Payload)];
  const job = { host, ports, payloads, delayMs: opts.delayMs ?? 0, sourcePort: opts.sourcePort };
  const r = await topo.exec(ns, [NODE, agent('udp-send.mjs')], {
    input: JSON.stringify(job),
    timeoutMs: opts.timeoutMs ?? 10_000 + ports.length * (opts.delayMs ?? 0),
  });
  if (r.code !== 0) throw new Error(`sendUdp from ${ns} to ${host} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim()) as { sent: number; sourcePort: number };
}

export interface Datagram {
  port: number;
  from: string;
  fromPort: number;
  payload: Buffer;
}

export interface UdpListener {
  readonly process: NsProcess;
  /** Datagrams received so far, in arrival order. */
  received(): Datagram[];
  /** Waits until at least n datagrams arrived (default 1); rejects after timeoutMs (default 2 000). */
  waitFor(n?: number, timeoutMs?: number): Promise<Datagram[]>;
  stop(): Promise<void>;
}

/** Listens for UDP on each port (IPv4 and IPv6) in ns. */
export async function startUdpListener(topo: Topology, ns: NsRef, ports: readonly number[]): Promise<UdpListener> {
  const p = topo.spawn(ns, [NODE, agent('udp-listen.mjs'), ...ports.map(String)]);
  await p.waitForLine((l) => l.includes('"event":"ready"'), { timeoutMs: 5_000, stream: 'stdout' });
  const received = () =>
    p
      .lines()
      .filter((l) => l.stream === 'stdout' && l.text.includes('"event":"datagram"'))
      .map((l) => {
        const o = JSON.parse(l.text) as Omit<Datagram, 'payload'> & { payload: string };
        return { ...o, payload: Buffer.from(o.payload, 'base64') };
      });
  return {
    process: p,
    received,
    async waitFor(n = 1, timeoutMs = 2_000) {
      let seen = 0;
      await p.waitForLine((l) => l.includes('"event":"datagram"') && ++seen >= n, { timeoutMs, stream: 'stdout' });
      return received();
    },
    async stop() {
      await p.stop('SIGKILL');
    },
  };
}
