// The protected TCP service and the client-side views of it: a one-shot probe
// ("can I connect now?") and a held connection ("is my session still alive?").
import { NODE, agentPath as agent } from './node.js';
import type { NsProcess } from './proc.js';
import type { NsRef, Topology } from './topology.js';

export interface ServiceConnection {
  event: 'connection' | 'close';
  port: number;
  remote: string;
  remotePort: number;
}

export interface Service {
  readonly ports: number[];
  readonly process: NsProcess;
  /** Connections accepted so far (newest last): who got through. */
  connections(): ServiceConnection[];
  stop(): Promise<void>;
}

/**
 * Starts the protected TCP service in ns: listens on 0.0.0.0 and :: on each port, sends
 * "<name> hello <peer address> port <port>" on connect, then echoes lines back.
 */
export async function startService(
  topo: Topology,
  ns: NsRef,
  port: number | number[],
  opts: { name?: string; timeoutMs?: number } = {},
): Promise<Service> {
  const ports = Array.isArray(port) ? port : [port];
  const p = topo.spawn(ns, [NODE, agent('service.mjs'), opts.name ?? 'otpknock-test-service', ...ports.map(String)]);
  await p.waitForLine((l) => l.includes('"event":"listening"'), {
    timeoutMs: opts.timeoutMs ?? 5_000,
    stream: 'stdout',
  });
  return {
    ports,
    process: p,
    connections: () =>
      p
        .lines()
        .filter((l) => l.stream === 'stdout' && l.text.includes('"event":"connection"'))
        .map((l) => JSON.parse(l.text) as ServiceConnection),
    async stop() {
      await p.stop('SIGKILL');
    },
  };
}

export type ProbeReason = 'connected' | 'timeout' | 'refused' | 'unreachable' | 'error';

export interface ProbeResult {
  state: 'open' | 'closed';
  /** timeout: packets dropped; refused: TCP RST; unreachable: ICMP error. */
  reason: ProbeReason;
  /** First line the service sent, when it sent one. */
  greeting?: string;
  /** errno code for 'error'/'unreachable'. */
  error?: string;
  elapsedMs: number;
}

/** One TCP connection attempt from ns to host:port. 'closed' covers timeout, RST and ICMP errors. */
export async function tcpProbe(
  topo: Topology,
  ns: NsRef,
  host: string,
  port: number,
  timeoutMs = 1_000,
): Promise<ProbeResult> {
  const r = await topo.exec(ns, [NODE, agent('tcp-probe.mjs'), host, String(port), String(timeoutMs)], {
    timeoutMs: timeoutMs + 10_000, // room for node's start-up on a loaded machine
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ProbeResult;
  } catch {
    throw new Error(
      `tcpProbe ${host}:${port} from ${ns} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`,
    );
  }
}

export interface HeldConnection {
  /** The service's greeting line. */
  readonly greeting: string;
  readonly process: NsProcess;
  /** False once the peer or the network closed the connection. */
  readonly open: boolean;
  /**
   * Sends a line and waits for the service to echo it back: proof the connection still
   * carries data. Resolves with the echoed text; rejects after timeoutMs (default 2 000)
   * or when the connection closes.
   */
  echo(text?: string, timeoutMs?: number): Promise<string>;
  /** Closes the connection and ends the helper process. */
  close(): Promise<void>;
}

let echoCounter = 0;

/** Opens a TCP connection from ns to host:port and keeps it open until close()/destroy(). */
export async function openHeldConnection(
  topo: Topology,
  ns: NsRef,
  host: string,
  port: number,
  opts: { timeoutMs?: number } = {},
): Promise<HeldConnection> {
  const timeoutMs = opts.timeoutMs ?? 3_000;
  const p = topo.spawn(ns, [NODE, agent('held-client.mjs'), host, String(port), String(timeoutMs)]);
  const parse = (l: string) => {
    try {
      return JSON.parse(l) as { event: string; text?: string; error?: string };
    } catch {
      return undefined;
    }
  };
  let closed = false;
  const isClosed = (l: string) => parse(l)?.event === 'closed';
  void p.exited.then(() => (closed = true));
  await p.waitForLine((l) => parse(l)?.event === 'connected' || isClosed(l), {
    timeoutMs: timeoutMs + 5_000,
    stream: 'stdout',
  });
  if (p.lines().some((l) => isClosed(l.text))) {
    await p.stop('SIGKILL');
    throw new Error(`openHeldConnection: could not connect from ${ns} to ${host}:${port}\n${p.stdout()}`);
  }
  const greetingLine = await p.waitForLine((l) => parse(l)?.event === 'line' || isClosed(l), {
    timeoutMs,
    stream: 'stdout',
  });
  const greeting = parse(greetingLine)?.text ?? '';
  return {
    greeting,
    process: p,
    get open() {
      return !closed && !p.lines().some((l) => isClosed(l.text));
    },
    async echo(text, echoTimeoutMs = 2_000) {
      const token = text ?? `ping ${process.pid} ${++echoCounter} ${Date.now()}`;
      if (token.includes('\n')) throw new Error('echo: text must be one line');
      const from = p.mark();
      p.write(token + '\n');
      const line = await p.waitForLine(
        (l) => {
          const o = parse(l);
          if (o?.event === 'closed')
            throw new Error(`held connection to ${host}:${port} closed before echoing "${token}"`);
          return o?.event === 'line' && o.text === token;
        },
        { after: from, timeoutMs: echoTimeoutMs, stream: 'stdout' },
      );
      return parse(line)?.text ?? '';
    },
    async close() {
      p.child.stdin?.end();
      await Promise.race([p.exited, new Promise((r) => setTimeout(r, 1_000))]);
      await p.stop('SIGKILL');
    },
  };
}
