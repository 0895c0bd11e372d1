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
      socket.on('error', () => {
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
