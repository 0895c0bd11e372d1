// Last-resort cleanup: whatever the tests forget, a thrown error, Ctrl-C or a SIGTERM from
// the runner must not leave namespaces, veths or processes behind. A SIGKILLed run cannot
// clean itself, so namespace names carry the owner's pid and the next run sweeps them.
import { spawnSync } from 'node:child_process';

/** Every harness namespace: okt<6 hex id>p<owner pid>-<role>, or -x<name> for an extra host. */
export const NAMESPACE_PATTERN = /^okt([0-9a-f]{6})p(\d+)-(hub|server|client|eve|gate|x[a-z0-9]{1,4})$/;

const namespaces = new Set<string>();
const pids = new Set<number>();
let installed = false;

export function trackPid(pid: number): void {
  pids.add(pid);
  installHandlers();
}
export function untrackPid(pid: number): void {
  pids.delete(pid);
}
export function trackNamespace(name: string): void {
  namespaces.add(name);
  installHandlers();
}
export function untrackNamespace(name: string): void {
  namespaces.delete(name);
}

function ip(args: string[]): { status: number | null; stdout: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 5_000, killSignal: 'SIGKILL' });
  return { status: r.status, stdout: r.stdout ?? '' };
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Pids of every process inside a namespace (also ones the harness did not spawn itself,
 * e.g. a daemon a test started with execa: all of them belong to this run). */
export function namespacePids(ns: string): number[] {
  return ip(['netns', 'pids', ns])
    .stdout.split('\n')
    .map((s) => Number.parseInt(s, 10))
    .filter((n) => Number.isInteger(n) && n > 1 && n !== process.pid);
}

/** Kills everything inside and deletes the namespaces, synchronously (usable in 'exit'). */
export function deleteNamespacesSync(names: Iterable<string>): void {
  const list = [...names];
  for (const ns of list) for (const pid of namespacePids(ns)) kill(pid, 'SIGKILL');
  // The hub first: deleting it destroys every veth pair at once.
  list.sort((a, b) => Number(b.endsWith('-hub')) - Number(a.endsWith('-hub')));
  for (const ns of list) {
    ip(['netns', 'del', ns]);
    namespaces.delete(ns);
  }
}

export function listNamespaces(): string[] {
  return ip(['netns', 'list'])
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes harness namespaces whose owning process is dead (a SIGKILLed earlier run).
 * Namespaces of live runs (other engineers' concurrent tests) are left alone. `pattern`
 * (the bench uses its own) must capture the owner pid as group 2. */
export function sweepStaleNamespaces(pattern: RegExp = NAMESPACE_PATTERN): string[] {
  const stale = listNamespaces().filter((n) => {
    const m = pattern.exec(n);
    return m !== null && !alive(Number(m[2]));
  });
  if (stale.length > 0) deleteNamespacesSync(stale);
  return stale;
}

/** Kills tracked processes and removes tracked namespaces now. */
export function cleanupAllSync(): void {
  for (const pid of pids) kill(pid, 'SIGKILL');
  pids.clear();
  if (namespaces.size > 0) deleteNamespacesSync([...namespaces]);
}

function installHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      cleanupAllSync();
      process.removeListener(sig, onSignal);
      // Keep the signal's normal effect (termination) unless someone else handles it.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}
