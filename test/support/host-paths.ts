// The host's own otpknock paths, which no test may create or change: the daemon's
// defaults (state_dir /var/lib/otpknock, the config and user store under /etc/otpknock,
// /run/otpknock) and knock's per-user store and state under the HOME of the user
// running the tests. A test daemon or command without a state_dir of its own writes to
// the real /var/lib/otpknock, shares it with every other run on the machine and with a
// real daemon there. test/support/host-paths-guard.ts checks them around every test file.
import { lstatSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const HOST_PATHS: readonly string[] = [
  '/var/lib/otpknock',
  '/etc/otpknock',
  '/run/otpknock',
  join(homedir(), '.config', 'otpknock'),
  join(homedir(), '.local', 'state', 'otpknock'),
];

/** Each path below the roots (the roots too) with what a change would alter: type, mode, size, inode, mtime, ctime. */
export type PathsState = Map<string, string>;

export function pathsState(roots: readonly string[] = HOST_PATHS): PathsState {
  const state: PathsState = new Map();
  const visit = (path: string, depth: number) => {
    let s;
    try {
      s = lstatSync(path);
    } catch {
      return; // absent: not in the map
    }
    state.set(path, `${s.mode.toString(8)} ${s.size} ${s.ino} ${s.mtimeMs} ${s.ctimeMs}`);
    if (s.isDirectory() && depth < 4) {
      let names: string[] = [];
      try {
        names = readdirSync(path);
      } catch {
        // unreadable: its own entry still shows a change
      }
      for (const name of names) visit(join(path, name), depth + 1);
    }
  };
  for (const root of roots) visit(root, 0);
  return state;
}

/** What differs from `before` to `after`, one line per path ("created", "changed", "removed"). */
export function pathChanges(before: PathsState, after: PathsState): string[] {
  const out: string[] = [];
  for (const [path, now] of after) {
    const was = before.get(path);
    if (was === undefined) out.push(`${path}: created`);
    else if (was !== now) out.push(`${path}: changed`);
  }
  for (const path of before.keys()) if (!after.has(path)) out.push(`${path}: removed`);
  return out.sort();
}
