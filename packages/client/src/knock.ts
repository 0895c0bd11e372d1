// One knock from start to finish: choose the window, derive the sequence, send it,
// wait for the service; retry (never hammer) and fall back to the host's next address.
import type { Socket } from 'node:net';
import {
  decodeSecret,
  deriveCodeSequences,
  deriveSequences,
  windowAt,
  windowStartMs,
  type KnockProfile,
  type KnockSequences,
} from '@otpknock/shared';
import { KnockError } from './errors.js';
import type { Logger } from './log.js';
import { knockPayloads } from './payload.js';
import type { ClientProfile } from './profile.js';
import type { ResolvedAddress } from './resolve.js';
import { sendKnock, sleep as sleepMs, type KnockSend, type KnockSent } from './send.js';
import { lastUsedWindow, recordUsedWindow, secretKey } from './used.js';
import { connectWithin, type WaitOptions } from './wait.js';
import { chooseKnockWindow } from './window.js';

/** How long to try an earlier, possibly still live opening before waiting for a window. */
const LIVE_PROBE_MS = 1000;

/** Whether the method's sequences change with time (all but `static`). */
export const rotates = (knock: KnockProfile): boolean => knock.method !== 'static';

export interface KnockPlan {
  /** Window whose sequence to send (0 for `static`). */
  window: number;
  /** When set, wait until this time (unix ms) before sending: the window is not accepted yet. */
  notBeforeMs?: number;
}

/** Pure: which window to knock with at `nowMs`, given the newest window already used. */
export function planKnock(knock: KnockProfile, nowMs: number, lastUsed: number | undefined): KnockPlan {
  if (!rotates(knock)) return { window: 0 };
  const choice = chooseKnockWindow(windowAt(nowMs, knock.period), lastUsed);
  return choice.waitFor === undefined
    ? { window: choice.window }
    : { window: choice.window, notBeforeMs: windowStartMs(choice.waitFor, knock.period) };
}

export interface OpenRequest {
  profile: ClientProfile;
  /** Addresses of the server, in the order to try. */
  addresses: readonly ResolvedAddress[];
  /** TCP port of the protected service (to wait for / connect to). */
  servicePort: number;
  /** Wait for the service to accept a connection; false: send and return. */
  wait: boolean;
  /** Per attempt: how long to wait for the service. */
  timeoutMs: number;
  /** Knocks after the first when the service does not open in time. */
  retries: number;
  delayMs: number;
  /** Hand the connection to the caller (proxy) instead of closing it. */
  keepConnection?: boolean;
  log: Logger;
  /** The used-windows state file (used.ts); undefined: remember nothing. */
  usedFile?: string;
  /**
   * Code mode (docs/protocol.md §10): knock the current window's sequence derived from
   * this 6-digit authenticator-app code instead of the secret. Only the current window
   * can be derived, so there is no retry with the next one.
   */
  code?: string;
  /** For tests. */
  now?: () => number;
  send?: (knock: KnockSend) => Promise<KnockSent>;
  connect?: (options: WaitOptions) => Promise<Socket | undefined>;
  sleep?: (ms: number) => Promise<void>;
  pollIntervalMs?: number;
}

export interface OpenResult {
  open: boolean;
  /** Knocks sent. */
  attempts: number;
  /** The address that opened (or the last one knocked). */
  address?: ResolvedAddress;
  /** Window of the last knock sent. */
  window?: number;
  /** The connection, when `keepConnection` was asked for and the service opened. */
  socket?: Socket;
}

/** What every attempt of one knockOpen uses: the request with its defaults filled in. */
interface OpenContext {
  req: OpenRequest;
  now: () => number;
  send: (knock: KnockSend) => Promise<KnockSent>;
  connect: (options: WaitOptions) => Promise<Socket | undefined>;
  sleep: (ms: number) => Promise<void>;
  poll: { intervalMs?: number };
  /** The secret's bytes, or undefined in code mode. */
  secret: Uint8Array | undefined;
}

/**
 * The windows already knocked with: in the state file (across runs) and in memory
 * (the file may be unwritable). Code mode remembers nothing (no key).
 */
class UsedWindows {
  private memory: number | undefined;
  private readonly key: string | undefined;

  constructor(private readonly ctx: OpenContext) {
    this.key = ctx.req.code === undefined ? secretKey(ctx.req.profile.secret) : undefined;
  }

  newest(): number | undefined {
    const { usedFile } = this.ctx.req;
    const fromFile = usedFile === undefined || this.key === undefined ? undefined : lastUsedWindow(usedFile, this.key);
    if (fromFile === undefined) return this.memory;
    return this.memory === undefined ? fromFile : Math.max(fromFile, this.memory);
  }

  remember(window: number): void {
    if (!rotates(this.ctx.req.profile.knock) || this.key === undefined) return;
    this.memory = this.memory === undefined ? window : Math.max(this.memory, window);
    if (this.ctx.req.usedFile !== undefined) recordUsedWindow(this.ctx.req.usedFile, this.key, window, this.ctx.now());
  }
}

/**
 * Knocks the open sequence and (unless `wait` is false) waits for the service.
 * Attempt n ≥ 1 goes to the next address that has not failed, round robin; a send
 * error (no route, wrong family) drops that address without using up an attempt.
 * Throws a network error when every address failed to send.
 */
export async function knockOpen(req: OpenRequest): Promise<OpenResult> {
  const ctx: OpenContext = {
    req,
    now: req.now ?? Date.now,
    send: req.send ?? sendKnock,
    connect: req.connect ?? connectWithin,
    sleep: req.sleep ?? sleepMs,
    poll: req.pollIntervalMs ? { intervalMs: req.pollIntervalMs } : {},
    secret: req.code === undefined ? decodeSecret(req.profile.secret) : undefined,
  };
  const used = new UsedWindows(ctx);
  const alive = [...req.addresses];
  let lastError: KnockError | undefined;
  let next = 0;
  let attempts = 0;
  let result: OpenResult = { open: false, attempts: 0 };

  while (attempts <= req.retries) {
    if (alive.length === 0) throw lastError ?? new KnockError(3, 'no address to knock');
    const address = alive[next % alive.length]!;
    const plan =
      req.code === undefined
        ? planKnock(req.profile.knock, ctx.now(), used.newest())
        : { window: windowAt(ctx.now(), req.profile.knock.period) };
    if (plan.notBeforeMs !== undefined) {
      const stillOpen = await waitForNextWindow(ctx, address, plan.notBeforeMs, attempts);
      if (stillOpen) return stillOpen;
    }
    const knocked = await knockAndConnect(ctx, address, plan.window, attempts);
    if (knocked instanceof KnockError) {
      lastError = knocked;
      alive.splice(alive.indexOf(address), 1);
      continue;
    }
    attempts++;
    if (req.code !== undefined) {
      // The code's sequence is consumed now; another knock needs the app's next code.
      if (req.wait) knocked.startConnecting();
      return opened(req, await knocked.connecting, { attempts, address, window: plan.window });
    }
    result = { open: false, attempts, address, window: plan.window };
    if (!req.wait) {
      used.remember(plan.window);
      return result;
    }
    // Connecting started with the last datagram (or starts now, for a sender without the
    // hook); writing down the used window, a file write, comes after the SYN is out.
    knocked.startConnecting();
    await new Promise<void>((resolve) => setImmediate(resolve));
    used.remember(plan.window);
    const socket = await knocked.connecting;
    if (socket) return opened(req, socket, result);
    req.log.info(
      `${address.address} port ${req.servicePort}: not open after ${(req.timeoutMs / 1000).toFixed(1)} s${attempts <= req.retries ? '; knocking again' : ''}`,
    );
    next++;
  }
  return result;
}

/** The result of an attempt that connected (or not), handing the socket over only when asked to. */
function opened(req: OpenRequest, socket: Socket | undefined, base: Omit<OpenResult, 'open' | 'socket'>): OpenResult {
  if (socket && !req.keepConnection) socket.destroy();
  return { ...base, open: socket !== undefined, ...(socket && req.keepConnection ? { socket } : {}) };
}

/**
 * Both windows the server accepts now were used by earlier knocks. The earlier opening
 * may still be live (the server keeps it for open_for): try that first (its result, when
 * open), else sleep until the next window is accepted.
 */
async function waitForNextWindow(
  ctx: OpenContext,
  address: ResolvedAddress,
  notBeforeMs: number,
  attempts: number,
): Promise<OpenResult | undefined> {
  const { req } = ctx;
  if (req.wait) {
    const socket = await ctx.connect({
      address: address.address,
      port: req.servicePort,
      timeoutMs: Math.min(req.timeoutMs, LIVE_PROBE_MS),
      ...ctx.poll,
    });
    if (socket) {
      req.log.debug(`${address.address} port ${req.servicePort} is still open from an earlier knock`);
      return opened(req, socket, { attempts, address });
    }
  }
  const ms = Math.max(0, notBeforeMs - ctx.now());
  req.log.warn(
    `the sequences the server accepts now were used already; waiting ${(ms / 1000).toFixed(1)} s for the next window`,
  );
  await ctx.sleep(ms);
  return undefined;
}

/** A knock that was sent: the wait for the service, started with its last datagram or on demand. */
interface Knocked {
  startConnecting(): void;
  /** The connection attempt, once started. */
  readonly connecting: Promise<Socket | undefined> | undefined;
}

/**
 * Sends the open sequence of `window` to `address`. The wait for the service starts with
 * the last datagram, so that the SYN follows it at once (code mode included: its
 * sequence, too, is consumed by this knock). A send error comes back as the KnockError.
 */
async function knockAndConnect(
  ctx: OpenContext,
  address: ResolvedAddress,
  window: number,
  attempts: number,
): Promise<KnockError | Knocked> {
  const { req } = ctx;
  const sequences: KnockSequences =
    ctx.secret !== undefined
      ? deriveSequences(req.profile.knock, ctx.secret, window)
      : deriveCodeSequences(req.profile.knock, req.code!, window);
  const ports = sequences.open;
  req.log.debug(
    `knocking ${address.address} (window ${window}${attempts > 0 ? `, attempt ${attempts + 1}` : ''}): udp ${ports.join(' ')}`,
  );
  const aborter = new AbortController();
  const state: { connecting: Promise<Socket | undefined> | undefined } = { connecting: undefined };
  const startConnecting = (): void => {
    state.connecting ??= ctx.connect({
      address: address.address,
      port: req.servicePort,
      timeoutMs: req.timeoutMs,
      signal: aborter.signal,
      ...ctx.poll,
    });
  };
  try {
    await ctx.send({
      address: address.address,
      family: address.family,
      ports,
      payloads: knockPayloads(req.profile.payload, ports, sequences),
      delayMs: req.delayMs,
      ...(req.wait ? { afterLastQueued: startConnecting } : {}),
    });
  } catch (error) {
    aborter.abort();
    await state.connecting;
    if (!(error instanceof KnockError)) throw error;
    req.log.debug(error.message);
    return error;
  }
  return {
    startConnecting,
    get connecting() {
      return state.connecting;
    },
  };
}

export interface CloseRequest {
  profile: ClientProfile;
  addresses: readonly ResolvedAddress[];
  delayMs: number;
  log: Logger;
  now?: () => number;
  send?: (knock: KnockSend) => Promise<KnockSent>;
}

/** Sends the close sequence of the current window to the first address that takes it. */
export async function knockClose(req: CloseRequest): Promise<{ address: ResolvedAddress; window: number }> {
  const now = req.now ?? Date.now;
  const send = req.send ?? sendKnock;
  const knock = req.profile.knock;
  const window = rotates(knock) ? windowAt(now(), knock.period) : 0;
  const sequences = deriveSequences(knock, decodeSecret(req.profile.secret), window);
  let lastError: Error | undefined;
  for (const address of req.addresses) {
    req.log.debug(`closing ${address.address} (window ${window}): udp ${sequences.close.join(' ')}`);
    try {
      await send({
        address: address.address,
        family: address.family,
        ports: sequences.close,
        payloads: knockPayloads(req.profile.payload, sequences.close, sequences),
        delayMs: req.delayMs,
      });
      return { address, window };
    } catch (error) {
      lastError = error instanceof Error ? error : new Error(String(error));
      req.log.debug(lastError.message);
    }
  }
  throw lastError ?? new KnockError(3, 'no address to knock');
}
