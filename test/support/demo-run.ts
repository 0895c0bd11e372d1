// Running scripts/demo.sh as a person does (test/demo.e2e.test.ts), and what it leaves on
// the host: every process it started (followed through /proc while it runs), its network
// namespaces, the root namespace's links and its temp dir.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { listNamespaces, runSync } from '@otpknock/e2e-harness';

/** A process by pid and start time (a pid alone may be reused). */
export interface ProcessId {
  pid: number;
  start: string;
}

interface ProcStat extends ProcessId {
  ppid: number;
  session: number;
  command: string;
}

/** Every process of the host, from /proc/PID/stat (those that exit while it is read are left out). */
export function processes(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp session … starttime(22nd)": comm may hold spaces and parentheses.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    out.push({
      pid: Number(name),
      command: stat.slice(stat.indexOf('(') + 1, close),
      ppid: Number(fields[1]),
      session: Number(fields[3]),
      start: fields[19] ?? '',
    });
  }
  return out;
}

/** The processes among `ids` that still run (the same pid with the same start time), and those in `session`. */
export function leftOver(ids: Iterable<ProcessId>, session: number): string[] {
  const now = processes();
  const byPid = new Map(now.map((p) => [p.pid, p]));
  const left = new Set<string>();
  for (const id of ids) {
    const p = byPid.get(id.pid);
    if (p !== undefined && p.start === id.start) left.add(`${p.pid} (${p.command})`);
  }
  for (const p of now) if (p.session === session) left.add(`${p.pid} (${p.command}, in the demo's session)`);
  return [...left];
}

/** What on the host a demo run must leave as it found it. */
export interface HostState {
  namespaces: string[];
  /** The root namespace's links, by name. */
  links: string[];
  /** /tmp's otpknock-demo.* entries. */
  tmpDirs: string[];
}

export function hostState(): HostState {
  const links = runSync(['ip', '-o', 'link', 'show'], 5_000)
    .stdout.split('\n')
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? '')
    .filter(Boolean);
  return {
    namespaces: listNamespaces(),
    links,
    tmpDirs: readdirSync('/tmp').filter((n) => n.startsWith('otpknock-demo.')),
  };
}

/** What is in `after` and was not in `before`, per kind. */
export function added(before: HostState, after: HostState): Partial<Record<keyof HostState, string[]>> {
  const diff: Partial<Record<keyof HostState, string[]>> = {};
  for (const key of ['namespaces', 'links', 'tmpDirs'] as const) {
    const was = new Set(before[key]);
    const now = after[key].filter((n) => !was.has(n));
    if (now.length > 0) diff[key] = now;
  }
  return diff;
}

export interface DemoRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr, interleaved as they came. */
  output: string;
  /** The demo's pid: its session and process group (it is started as a session leader, as a login shell's job is a group leader). */
  pid: number;
  /** Every process seen below the demo while it ran. */
  descendants: ProcessId[];
  /** Milliseconds from the start to the exit, and to the first line of step 2 (setup done). */
  totalMs: number;
  setupMs: number | undefined;
  /** Milliseconds from the interrupting signal to the exit. */
  afterSignalMs: number | undefined;
}

export interface DemoOptions {
  /**
   * Sends `signal` once the output matches `at` and a process named `running` runs below
   * the demo: to the process group, as Ctrl-C does, or to the demo's pid, as kill does.
   */
  interrupt?: { at: RegExp; running: string; signal: 'SIGINT' | 'SIGTERM'; to: 'group' | 'pid' };
  /** The demo is stopped (SIGTERM to its group, SIGKILL 20 s later) past this. */
  limitMs: number;
  /** Added to the environment (this process's, less vitest's own variables). */
  env?: Record<string, string>;
}

/** Runs `argv` in `cwd` to its end, following its processes. */
export function runDemo(argv: readonly string[], cwd: string, opts: DemoOptions): Promise<DemoRun> {
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VITEST|NODE_OPTIONS$|NODE_ENV$)/.test(k))),
    ...opts.env,
  };
  const t0 = Date.now();
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  const seen = new Map<number, ProcessId>();
  let output = '';
  let setupMs: number | undefined;
  let signalAt: number | undefined;
  /** Records the processes below the demo now; returns their names. */
  const follow = (): string[] => {
    const all = processes();
    const children = new Map<number, ProcStat[]>();
    for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
    const names: string[] = [];
    const todo = [...(children.get(pid) ?? [])];
    for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
      seen.set(p.pid, { pid: p.pid, start: p.start });
      names.push(p.command);
      todo.push(...(children.get(p.pid) ?? []));
    }
    return names;
  };
  const tick = () => {
    const names = follow();
    const i = opts.interrupt;
    if (i === undefined || signalAt !== undefined || !i.at.test(output) || !names.includes(i.running)) return;
    signalAt = Date.now();
    try {
      process.kill(i.to === 'group' ? -pid : pid, i.signal);
    } catch {
      // it has just ended
    }
  };
  const follower = setInterval(tick, 50);
  const onData = (b: Buffer) => {
    output += b.toString('utf8');
    if (setupMs === undefined && /^== 2\. /m.test(output)) setupMs = Date.now() - t0;
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const stop = setTimeout(() => {
    output += `\n[test: still running after ${opts.limitMs} ms: SIGTERM to its process group]\n`;
    signalGroup(pid, 'SIGTERM');
    setTimeout(() => child.exitCode === null && signalGroup(pid, 'SIGKILL'), 20_000).unref();
  }, opts.limitMs);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      const exitedMs = Date.now() - t0;
      const afterSignalMs = signalAt === undefined ? undefined : Date.now() - signalAt;
      clearInterval(follower);
      clearTimeout(stop);
      const done = () =>
        resolve({
          code,
          signal,
          output,
          pid,
          descendants: [...seen.values()],
          totalMs: exitedMs,
          setupMs,
          afterSignalMs,
        });
      // The rest of the output; a process left behind may hold the pipes open (then it shows as left over).
      const late = setTimeout(done, 3_000);
      child.on('close', () => {
        clearTimeout(late);
        done();
      });
    });
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}
