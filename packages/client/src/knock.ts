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
import { EXIT, KnockError } from './errors.js';
import type { Logger } from './log.js';
import { knockPayloads } from './payload.js';
import type { ClientProfile } from './profile.js';
import type { ResolvedAddress } from './resolve.js';
import { sendKnock, sleep as sleepMs, type KnockSend, type KnockSent } from './send.js';
import { lastUsed, recordUsedWindow, secretKey } from './used.js';
import type { Observed } from './diagnose.js';
import { connectWithin, probeOnce, type Probe, type WaitOptions } from './wait.js';
import { chooseKnockWindow } from './window.js';

/**
 * How long the connection attempt made before the knock may take to answer: below the
 * first SYN retransmission (1 s), so that any answer is to the SYN sent before the knock.
 */
export const BEFORE_KNOCK_MS = 900;

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
  /**
   * When the sequences the server accepts now were all used, wait for the next window
   * only if it starts within this many ms (default `timeoutMs`), and only once per run:
   * otherwise give up at once and say when to knock again. Keeps every run bounded.
   */
  maxWindowWaitMs?: number;
  /** For tests. */
  now?: () => number;
  send?: (knock: KnockSend) => Promise<KnockSent>;
  connect?: (options: WaitOptions) => Promise<Socket | undefined>;
  probe?: (options: { address: string; port: number; answerWithinMs: number }) => Probe;
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
  /**
   * Open: the port also accepted the connection attempt made before the knock. Either an
   * earlier opening for this address is still live, or otpknockd does not guard the port.
   */
  openBeforeKnock?: boolean;
  /** When the last knock from this machine with this secret and profile was sent (unix ms), if remembered. */
  lastKnockAtMs?: number;
  /** Not open: what the connection attempts saw (diagnose.ts explains it). */
  observed?: Observed;
  /** Not open and no knock sent: the windows accepted now were used; the next is accepted from this time (unix ms). */
  usedUpUntilMs?: number;
}

/** What every attempt of one knockOpen uses: the request with its defaults filled in. */
interface OpenContext {
  req: OpenRequest;
  now: () => number;
  send: (knock: KnockSend) => Promise<KnockSent>;
  connect: (options: WaitOptions) => Promise<Socket | undefined>;
  probe: NonNullable<OpenRequest['probe']>;
  sleep: (ms: number) => Promise<void>;
  poll: { intervalMs?: number };
  /** Error codes of the connection attempts after a knock (refused, unreachable…). */
  failures: Set<string>;
  /** Whether the attempt made before the knock was refused by `address` (a reset or ICMP port unreachable). */
  refusedBeforeKnock: (address: string) => boolean;
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
    this.key = ctx.req.code === undefined ? secretKey(ctx.req.profile.secret, ctx.req.profile.knock) : undefined;
  }

  /** When the newest remembered knock was sent (unix ms), from the file. */
  readonly lastAtMs = (): number | undefined => this.fromFile()?.at;

  private fromFile() {
    const { usedFile } = this.ctx.req;
    return usedFile === undefined || this.key === undefined ? undefined : lastUsed(usedFile, this.key);
  }

  newest(): number | undefined {
    const fromFile = this.fromFile()?.window;
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
 * With `wait`, one connection attempt goes out before the first knock: what it sees
 * (diagnose.ts) tells an unguarded port from a refused knock.
 * Throws a network error when every address failed to send.
 */
export async function knockOpen(req: OpenRequest): Promise<OpenResult> {
  const ctx: OpenContext = {
    req,
    now: req.now ?? Date.now,
    send: req.send ?? sendKnock,
    connect: req.connect ?? connectWithin,
    probe: req.probe ?? probeOnce,
    sleep: req.sleep ?? sleepMs,
    poll: req.pollIntervalMs ? { intervalMs: req.pollIntervalMs } : {},
    secret: req.code === undefined ? decodeSecret(req.profile.secret) : undefined,
    failures: new Set(),
    refusedBeforeKnock: (address) => before.refused(address),
  };
  const used = new UsedWindows(ctx);
  const lastKnockAtMs = used.lastAtMs();
  const before = new BeforeKnock(ctx);
  try {
    const result = await knockUntilOpen(ctx, used, before);
    return { ...result, ...(lastKnockAtMs === undefined ? {} : { lastKnockAtMs }) };
  } finally {
    before.cancel();
  }
}

/** The connection attempt made before the first knock, to the first address knocked. */
class BeforeKnock {
  probe: Probe | undefined;
  address: string | undefined;

  constructor(private readonly ctx: OpenContext) {}

  /** Starts it (once, when waiting) and lets its SYN leave before anything else. */
  async start(address: ResolvedAddress): Promise<void> {
    if (!this.ctx.req.wait || this.probe !== undefined) return;
    this.address = address.address;
    this.probe = this.ctx.probe({
      address: address.address,
      port: this.ctx.req.servicePort,
      answerWithinMs: BEFORE_KNOCK_MS,
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Whether the port accepted it (after one more turn of the loop: both connects may land in the same one). */
  async wasOpen(address: ResolvedAddress | undefined): Promise<boolean> {
    if (this.probe === undefined || address?.address !== this.address) return false;
    await new Promise<void>((resolve) => setImmediate(resolve));
    return this.probe.settled?.kind === 'open';
  }

  /** Whether `address` refused it: the port is not guarded (otpknockd drops, it never refuses). */
  refused(address: string): boolean {
    const seen = this.probe?.settled;
    return address === this.address && seen?.kind === 'error' && seen.code === 'ECONNREFUSED';
  }

  /** Its connection, if it made one to `address` (the caller's from now on). */
  take(address: ResolvedAddress): Socket | undefined {
    return address.address === this.address ? this.probe?.take() : undefined;
  }

  /** What the attempts saw, for a knock that did not open `address`. */
  async observed(address: ResolvedAddress | undefined): Promise<Observed> {
    const o: Observed = { after: [...this.ctx.failures] };
    if (this.probe !== undefined && address?.address === this.address) {
      const seen = await this.probe.outcome;
      o.before = seen.kind === 'error' ? seen.code : seen.kind;
    }
    const local = this.probe?.localAddress;
    return local === undefined ? o : { ...o, localAddress: local };
  }

  cancel(): void {
    this.probe?.cancel();
  }
}

async function knockUntilOpen(ctx: OpenContext, used: UsedWindows, before: BeforeKnock): Promise<OpenResult> {
  const { req } = ctx;
  const alive = [...req.addresses];
  let lastError: KnockError | undefined;
  let next = 0;
  let attempts = 0;
  let waitedForWindow = false;
  let result: OpenResult = { open: false, attempts: 0 };

  while (attempts <= req.retries) {
    if (alive.length === 0) throw lastError ?? new KnockError(3, 'no address to knock');
    const address = alive[next % alive.length]!;
    await before.start(address);
    const plan =
      req.code === undefined
        ? planKnock(req.profile.knock, ctx.now(), used.newest())
        : { window: windowAt(ctx.now(), req.profile.knock.period) };
    if (plan.notBeforeMs !== undefined) {
      const early = await waitForNextWindow(ctx, before, address, plan.notBeforeMs, attempts, waitedForWindow);
      if (early) return early;
      waitedForWindow = true;
    }
    const knocked = await knockAndConnect(ctx, address, plan.window, attempts);
    if (knocked instanceof KnockError) {
      lastError = knocked;
      alive.splice(alive.indexOf(address), 1);
      continue;
    }
    attempts++;
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
    const socket = (await knocked.connecting) ?? before.take(address);
    if (socket) return { ...opened(req, socket, result), openBeforeKnock: await before.wasOpen(address) };
    // Code mode: the code's sequence is consumed now; another knock needs the app's next code.
    // An answer (a reset, an ICMP error) is no lost knock: knocking again would not change it.
    const again = attempts <= req.retries && req.code === undefined && ctx.failures.size === 0;
    req.log.info(
      `${address.address} port ${req.servicePort}: not open after ${(req.timeoutMs / 1000).toFixed(1)} s${again ? '; knocking again' : ''}`,
    );
    if (!again) break;
    next++;
  }
  return { ...result, observed: await before.observed(result.address) };
}

/** The result of an attempt that connected (or not), handing the socket over only when asked to. */
function opened(req: OpenRequest, socket: Socket | undefined, base: Omit<OpenResult, 'open' | 'socket'>): OpenResult {
  if (socket && !req.keepConnection) socket.destroy();
  return { ...base, open: socket !== undefined, ...(socket && req.keepConnection ? { socket } : {}) };
}

/**
 * The windows the server accepts now were used by earlier knocks. The earlier opening
 * may still be live (the server keeps it for open_for): the attempt made before any
 * knock says so (its result, when open). Else sleep until the next window is accepted,
 * when that is near (maxWindowWaitMs) and this run has not waited yet; otherwise give up
 * with the time to knock again.
 */
async function waitForNextWindow(
  ctx: OpenContext,
  before: BeforeKnock,
  address: ResolvedAddress,
  notBeforeMs: number,
  attempts: number,
  waitedAlready: boolean,
): Promise<OpenResult | undefined> {
  const { req } = ctx;
  if (before.probe !== undefined && attempts === 0 && (await before.probe.outcome).kind === 'open') {
    req.log.debug(`${address.address} port ${req.servicePort} is still open from an earlier knock`);
    return opened(req, before.probe.take(), { attempts, address });
  }
  const ms = Math.max(0, notBeforeMs - ctx.now());
  if (waitedAlready || ms > (req.maxWindowWaitMs ?? req.timeoutMs)) {
    return { open: false, attempts, address, usedUpUntilMs: notBeforeMs, observed: await before.observed(address) };
  }
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

/** The first port of a code-mode sequence that the profile's (the server's) exclude list holds. */
export function excludedCodePort(profile: KnockProfile, ports: readonly number[]): number | undefined {
  return ports.find((p) => profile.exclude.includes(p));
}

/**
 * Code mode draws without the exclude list (protocol.md §10); when this profile knows the
 * server's list and the code's sequence hits it, the server cannot see that knock: say so
 * rather than time out.
 */
function refuseExcludedCodePorts(profile: KnockProfile, ports: readonly number[], window: number, nowMs: number): void {
  const hit = excludedCodePort(profile, ports);
  if (hit === undefined) return;
  const next = Math.max(1, Math.ceil((windowStartMs(window + 1, profile.period) - nowMs) / 1000));
  throw new KnockError(
    EXIT.NOT_OPEN,
    `the knock of this code lands on port ${hit}, which the server leaves out of its knock ports (exclude): it cannot open`,
    { hint: `wait for the next code (in about ${next} s) and knock with that one` },
  );
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
  if (ctx.secret === undefined) refuseExcludedCodePorts(req.profile.knock, ports, window, ctx.now());
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
      onFailure: (code) => {
        ctx.failures.add(code);
        // Refused before the knock and after it: the port is not guarded and nothing
        // listens; waiting out the timeout would not change the answer.
        if (code === 'ECONNREFUSED' && ctx.refusedBeforeKnock(address.address)) aborter.abort();
      },
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
