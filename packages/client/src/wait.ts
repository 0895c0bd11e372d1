// Waits until a TCP service accepts a connection: a new connection attempt every
// `intervalMs` (a dropped SYN is not retransmitted for a second, so a fresh attempt
// after the knock lands is faster), earlier attempts kept alive so that a slow path
// still completes, all bounded by `timeoutMs` and `maxPending`.
import { connect, type Socket } from 'node:net';

export interface WaitOptions {
  address: string;
  port: number;
  /** Give up after this many milliseconds. Default 3000. */
  timeoutMs?: number;
  /** Start a new attempt this often. Default 150. */
  intervalMs?: number;
  /** At most this many attempts in flight; the oldest is dropped beyond it. Default 8. */
  maxPending?: number;
  /** Aborting ends the wait at once: every attempt is destroyed, the result is undefined. */
  signal?: AbortSignal;
  /** Told the error code (ECONNREFUSED, EHOSTUNREACH, …) of every attempt that failed: what the diagnosis reads. */
  onFailure?: (code: string) => void;
}

/**
 * Resolves with the first connected socket, or undefined when none connected in time.
 * Every other attempt is destroyed. The caller owns (and must end) the socket.
 */
export function connectWithin(options: WaitOptions): Promise<Socket | undefined> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const intervalMs = Math.max(10, options.intervalMs ?? 150);
  const maxPending = Math.max(1, options.maxPending ?? 8);
  const pending = new Set<Socket>();
  return new Promise((resolve) => {
    let done = false;
    const finish = (winner: Socket | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearInterval(ticker);
      for (const s of pending) if (s !== winner) s.destroy();
      pending.clear();
      if (winner) winner.removeAllListeners('error');
      resolve(winner);
    };
    const attempt = (): void => {
      if (pending.size >= maxPending) {
        const oldest = pending.values().next().value;
        if (oldest) {
          oldest.destroy();
          pending.delete(oldest);
        }
      }
      const socket = connect({ host: options.address, port: options.port, noDelay: true });
      pending.add(socket);
      socket.once('connect', () => finish(socket));
      // Refused or unreachable: this attempt is over; the next tick tries again.
      socket.on('error', (error: NodeJS.ErrnoException) => {
        if (!done) options.onFailure?.(error.code ?? 'UNKNOWN');
        socket.destroy();
        pending.delete(socket);
      });
    };
    const deadline = setTimeout(() => finish(undefined), timeoutMs);
    const ticker = setInterval(attempt, intervalMs);
    if (options.signal?.aborted) return finish(undefined);
    options.signal?.addEventListener('abort', () => finish(undefined), { once: true });
    attempt();
  });
}

/** True when the service accepted a connection within the timeout (the connection is closed again). */
export async function waitForService(options: WaitOptions): Promise<boolean> {
  const socket = await connectWithin(options);
  if (!socket) return false;
  socket.destroy();
  return true;
}

/** What one connection attempt made before the knock saw. */
export type ProbeOutcome =
  /** Connected: the port accepts connections without (this) knock. */
  | { kind: 'open'; socket: Socket }
  /** An error: ECONNREFUSED (TCP reset or ICMP port unreachable), EHOSTUNREACH, ENETUNREACH, EPERM… */
  | { kind: 'error'; code: string }
  /** No answer within the time given: the SYN was dropped (or is still on its way). */
  | { kind: 'silent' };

export interface Probe {
  /** Settles within `answerWithinMs`. */
  readonly outcome: Promise<ProbeOutcome>;
  /** The outcome if it is known already. */
  readonly settled: ProbeOutcome | undefined;
  /** The local address the attempt was made from (what the server sees, unless NAT changes it). */
  readonly localAddress: string | undefined;
  /** The connected socket, now the caller's (cancel leaves it alone); undefined unless open. */
  take(): Socket | undefined;
  /** Ends the attempt; an open socket not taken is closed. */
  cancel(): void;
}

/**
 * One connection attempt, given up after `answerWithinMs`. Made before a knock, its SYN
 * tells apart a port that answers without the knock (open, or refused: otpknockd never
 * refuses a port it guards, it drops) from one that is silent. Keep `answerWithinMs`
 * below the first SYN retransmission (1 s on Linux): a later answer may be to a SYN
 * sent after the knock.
 */
export function probeOnce(options: { address: string; port: number; answerWithinMs: number }): Probe {
  const socket = connect({ host: options.address, port: options.port, noDelay: true });
  let settled: ProbeOutcome | undefined;
  let taken = false;
  let local: string | undefined;
  const localAddress = (): string | undefined => (local ??= socket.localAddress);
  let resolveOutcome!: (o: ProbeOutcome) => void;
  const outcome = new Promise<ProbeOutcome>((resolve) => (resolveOutcome = resolve));
  const settle = (o: ProbeOutcome): void => {
    if (settled) return;
    localAddress(); // before destroy() forgets it
    settled = o;
    clearTimeout(timer);
    if (o.kind !== 'open') socket.destroy();
    else socket.removeAllListeners('error');
    resolveOutcome(o);
  };
  const timer = setTimeout(() => settle({ kind: 'silent' }), options.answerWithinMs);
  socket.once('connect', () => settle({ kind: 'open', socket }));
  socket.on('error', (error: NodeJS.ErrnoException) => settle({ kind: 'error', code: error.code ?? 'UNKNOWN' }));
  return {
    outcome,
    get settled() {
      return settled;
    },
    get localAddress() {
      return localAddress();
    },
    take() {
      if (settled?.kind !== 'open' || taken) return undefined;
      taken = true;
      return settled.socket;
    },
    cancel() {
      if (!settled) settle({ kind: 'silent' });
      else if (settled.kind === 'open' && !taken) settled.socket.destroy();
    },
  };
}
