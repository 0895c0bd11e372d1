// Running child processes with hard time limits: every command the harness runs goes
// through here, so no test can hang on a stuck `ip`, `nft` or node agent.
import { spawn as spawnChild, spawnSync, type ChildProcess } from 'node:child_process';
import { trackPid, untrackPid } from './cleanup.js';

export interface ExecOptions {
  /** Kill the command (SIGKILL) after this long. Default 10 000 ms. */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed (e.g. an `nft -f -` script). */
  input?: string | Uint8Array;
  /** Environment; default: this process's environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Throw an ExecError when the command does not exit 0. Default false. */
  check?: boolean;
}

export interface ExecResult {
  argv: string[];
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the harness killed the command because it exceeded timeoutMs. */
  timedOut: boolean;
}

export class ExecError extends Error {
  constructor(readonly result: ExecResult) {
    const why = result.timedOut
      ? 'timed out'
      : result.signal
        ? `was killed by ${result.signal}`
        : `exited ${result.code}`;
    super(`command ${why}: ${result.argv.join(' ')}\n${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'ExecError';
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Runs argv (no shell) and collects its output. Never rejects unless check is set. */
export function run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('run: empty argv');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawnChild(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let spawnError: Error | undefined;
    if (child.pid !== undefined) trackPid(child.pid);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // the command may exit before reading its input
    child.on('error', (e) => (spawnError = e));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (child.pid !== undefined) untrackPid(child.pid);
      const result: ExecResult = {
        argv: [...argv],
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (spawnError ? `\n${spawnError.message}` : ''),
        timedOut,
      };
      if (opts.check && (code !== 0 || timedOut)) reject(new ExecError(result));
      else resolve(result);
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Synchronous variant for places that cannot await: the e2e gate and exit handlers. */
export function runSync(argv: readonly string[], timeoutMs = DEFAULT_TIMEOUT_MS, input?: string): ExecResult {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('runSync: empty argv');
  const r = spawnSync(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8', input });
  return {
    argv: [...argv],
    code: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (r.error ? `\n${r.error.message}` : ''),
    timedOut: (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT',
  };
}

export interface OutputLine {
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface WaitOptions {
  /** Give up (reject) after this long. Default 5 000 ms. */
  timeoutMs?: number;
  /** Only consider lines at or after this cursor (from mark()); default 0 = all output so far. */
  after?: number;
  /** Which stream to look at; default both. */
  stream?: 'stdout' | 'stderr' | 'both';
}

/** A long-running process (daemon, service, held connection). Killed at topology cleanup. */
export interface NsProcess {
  readonly argv: string[];
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
  /** All output lines so far (both streams, in arrival order; the oldest are dropped past 50 000). */
  lines(): OutputLine[];
  stdout(): string;
  stderr(): string;
  /** A cursor for waitForLine({after}): "only lines printed from now on". */
  mark(): number;
  /** Resolves with the first line matching; rejects on timeout, if the process exits first,
   * or if the matcher function throws (its error is the rejection). */
  waitForLine(match: RegExp | string | ((line: string) => boolean), opts?: WaitOptions): Promise<string>;
  /** Writes to the process's stdin. */
  write(data: string): void;
  /** Sends a signal without waiting (e.g. SIGHUP for a reload). */
  signal(sig: NodeJS.Signals): void;
  /** Sends sig (default SIGTERM), waits for exit; SIGKILL after graceMs (default 3 000). */
  stop(sig?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const MAX_LINES = 50_000;

export function spawnTracked(argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): NsProcess {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('spawnTracked: empty argv');
  const child = spawnChild(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')}`);
  const pid = child.pid;
  trackPid(pid);

  const buffer: OutputLine[] = [];
  let dropped = 0; // lines discarded from the front, so cursors stay absolute
  const partial = { stdout: '', stderr: '' };
  const waiters = new Set<() => void>();
  let running = true;
  const notify = () => [...waiters].forEach((w) => w());

  const onData = (stream: 'stdout' | 'stderr') => (b: Buffer) => {
    const parts = (partial[stream] + b.toString('utf8')).split('\n');
    partial[stream] = parts.pop() ?? '';
    for (const text of parts) buffer.push({ stream, text });
    if (buffer.length > MAX_LINES) {
      const n = buffer.length - MAX_LINES;
      buffer.splice(0, n);
      dropped += n;
    }
    notify();
  };
  child.stdout?.on('data', onData('stdout'));
  child.stderr?.on('data', onData('stderr'));
  child.stdin?.on('error', () => {});

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      for (const s of ['stdout', 'stderr'] as const) {
        if (partial[s]) buffer.push({ stream: s, text: partial[s] });
        partial[s] = '';
      }
      running = false;
      untrackPid(pid);
      notify();
      resolve({ code, signal });
    });
  });

  const proc: NsProcess = {
    argv: [...argv],
    pid,
    child,
    exited,
    get running() {
      return running;
    },
    lines: () => [...buffer],
    stdout: () =>
      buffer
        .filter((l) => l.stream === 'stdout')
        .map((l) => l.text)
        .join('\n'),
    stderr: () =>
      buffer
        .filter((l) => l.stream === 'stderr')
        .map((l) => l.text)
        .join('\n'),
    mark: () => dropped + buffer.length,
    waitForLine(match, o = {}) {
      const timeoutMs = o.timeoutMs ?? 5_000;
      const stream = o.stream ?? 'both';
      const test =
        typeof match === 'function'
          ? match
          : typeof match === 'string'
            ? (l: string) => l.includes(match)
            : (l: string) => match.test(l);
      let cursor = Math.max((o.after ?? 0) - dropped, 0);
      return new Promise<string>((resolve, reject) => {
        const check = () => {
          for (; cursor < buffer.length; cursor++) {
            const l = buffer[cursor]!;
            if (stream !== 'both' && l.stream !== stream) continue;
            let hit: boolean;
            try {
              hit = test(l.text);
            } catch (e) {
              // A matcher may throw to say "this line means it will never come".
              return done(() => reject(e instanceof Error ? e : new Error(String(e))));
            }
            if (hit) return done(() => resolve(l.text));
          }
          if (!running)
            done(() => reject(new Error(`${argv.join(' ')} exited before printing ${String(match)}\n${tail()}`)));
        };
        const timer = setTimeout(
          () =>
            done(() =>
              reject(
                new Error(
                  `timed out after ${timeoutMs} ms waiting for ${String(match)} from ${argv.join(' ')}\n${tail()}`,
                ),
              ),
            ),
          timeoutMs,
        );
        const done = (f: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      });
    },
    write(data) {
      child.stdin?.write(data);
    },
    signal(sig) {
      if (running) child.kill(sig);
    },
    async stop(sig = 'SIGTERM', graceMs = 3_000) {
      if (!running) return exited;
      child.kill(sig);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
  const tail = () =>
    buffer
      .slice(-20)
      .map((l) => `  [${l.stream}] ${l.text}`)
      .join('\n');
  return proc;
}
