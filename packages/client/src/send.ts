// Sends one knock: a UDP datagram to each port, in order, all from ONE socket so that
// the server (which tracks progress per source address) sees one source. The server
// never answers knock packets, so there is nothing to read.
import { createSocket, type Socket } from 'node:dgram';
import { networkError } from './errors.js';

export interface KnockSend {
  /** Destination IP address (not a name: resolve first). */
  address: string;
  family: 4 | 6;
  /** UDP destination ports, in order. */
  ports: readonly number[];
  /** Payload of each packet (same index as `ports`); missing entries are empty. */
  payloads?: readonly (Uint8Array | undefined)[];
  /** Milliseconds between two packets (not after the last). */
  delayMs: number;
  /**
   * Called in the same tick as the last datagram is handed to the socket. Whatever
   * it starts on the wire (the TCP connect) goes out right behind that datagram, in
   * order: both leave on the next tick. Waiting for the send callback first cost ~2 ms.
   */
  afterLastQueued?: () => void;
}

export interface KnockSent {
  /** Local UDP port the packets came from. */
  sourcePort: number;
  /** `performance.now()` when each packet was handed to the socket. */
  queuedAt: number[];
  /** `performance.now()` after each packet left (its send callback). */
  sentAt: number[];
}

const EMPTY = new Uint8Array(0);

/** Resolves after `ms` (a plain timer: node:timers/promises costs start-up time). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves once `performance.now()` has reached `t`. A timer alone may fire early: libuv
 * counts from its loop's cached time, which can lag by a millisecond or more.
 */
async function sleepUntil(t: number): Promise<void> {
  for (let left = t - performance.now(); left > 0; left = t - performance.now()) await sleep(left);
}

export async function sendKnock(knock: KnockSend): Promise<KnockSent> {
  const socket = createSocket({ type: knock.family === 6 ? 'udp6' : 'udp4' });
  // Errors surface through the send callbacks; this only keeps a late one from crashing.
  socket.on('error', () => {});
  try {
    await bind(socket);
    const queuedAt: number[] = [];
    const sentAt: number[] = [];
    const last = knock.ports.length - 1;
    for (let i = 0; i <= last; i++) {
      const sent = send(socket, knock.payloads?.[i] ?? EMPTY, knock.ports[i]!, knock.address);
      queuedAt.push(performance.now());
      if (i === last) knock.afterLastQueued?.();
      // The next datagram goes delayMs after this one was handed over: the wait for this
      // one's send callback runs inside the gap, not before it (that cost ~1 ms a gap).
      const gap = i < last && knock.delayMs > 0 ? sleepUntil(queuedAt[i]! + knock.delayMs) : undefined;
      await sent;
      sentAt.push(performance.now());
      await gap;
    }
    return { sourcePort: socket.address().port, queuedAt, sentAt };
  } catch (error) {
    throw networkError(
      `cannot send the knock to ${knock.address}: ${sendFailure(error as NodeJS.ErrnoException)}`,
      error,
    );
  } finally {
    socket.close();
  }
}

/** Pure: what a failed send means, in words, with the system's error after it. */
export function sendFailure(error: NodeJS.ErrnoException): string {
  const why: Record<string, string> = {
    ENETUNREACH: 'no route to it (network unreachable): check the address, the network connection or the VPN',
    EHOSTUNREACH: 'host unreachable: check the address, the network connection or the VPN',
    EPERM: "this machine's own firewall refused the packet",
    EACCES: "this machine's own firewall refused the packet",
    EAFNOSUPPORT: 'this machine has no IPv6 (or no IPv4)',
    EADDRNOTAVAIL: 'no local address to send from (is the network up?)',
  };
  const known = error.code === undefined ? undefined : why[error.code];
  return known === undefined ? error.message : `${known} (${error.message})`;
}

function bind(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

function send(socket: Socket, payload: Uint8Array, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.send(payload, port, address, (error) => (error ? reject(error) : resolve()));
  });
}
