// A throw-away "machine" for running documentation as written: one of the harness's
// network namespaces plus a mount namespace of its own, in which /etc, /usr and /var
// and /run are overlays (writes land in a temporary directory, the host's files never change)
// and /root and /tmp are empty tmpfs (but for the checkout, bound back in place). So `install … /etc/otpknock/…`, `/usr/sbin/…`
// links, `/var/lib/otpknock` and `~/.config` behave as on a fresh machine, for this
// machine's processes only. Commands run as root through nsenter; every process is in
// the topology's network namespace, so topo.destroy() ends them all.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  REPO_ROOT,
  run,
  spawnTracked,
  type ExecResult,
  type NsProcess,
  type Role,
  type Topology,
} from '@otpknock/e2e-harness';

export interface Machine {
  readonly role: Role;
  /** Runs a bash script (`set -euo pipefail`) as root in the machine, in `cwd` (default /root). */
  sh(
    script: string,
    opts?: { cwd?: string; timeoutMs?: number; env?: Record<string, string>; input?: string },
  ): Promise<ExecResult>;
  /** Starts a long-running bash script in the machine. */
  spawn(script: string, opts?: { cwd?: string; env?: Record<string, string> }): NsProcess;
  /** Ends the machine's processes and removes its overlay directories. */
  destroy(): Promise<void>;
}

/** The environment of a root login on Debian: what a person has when they paste a block. */
export function loginEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOME: '/root',
    USER: 'root',
    LOGNAME: 'root',
    SHELL: '/bin/bash',
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    PATH: '/root/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ...extra,
  };
}

/**
 * Makes the machine: the mount namespace is held by a `sleep` in the role's network
 * namespace; `hosts` lines are appended to its /etc/hosts (e.g. "192.0.2.1 gw.example.org").
 */
export async function startMachine(t: Topology, role: Role, hosts: string[] = []): Promise<Machine> {
  const dir = mkdtempSync(join(tmpdir(), `otpknock-machine-${role}-`));
  const setup = [
    'set -euo pipefail',
    'mount --make-rprivate /',
    ...['etc', 'usr', 'var', 'run'].flatMap((d) => [
      `mkdir -p '${dir}/${d}.upper' '${dir}/${d}.work'`,
      `mount -t overlay overlay -o 'lowerdir=/${d},upperdir=${dir}/${d}.upper,workdir=${dir}/${d}.work' /${d}`,
    ]),
    // The checkout stays visible where it is, also when it lies under /root or /tmp (CI
    // may clone there): fd 9 holds it while the empty tmpfs go on, then it is bound back
    // (not canonicalized: the path would name the new, empty place).
    `exec 9<'${REPO_ROOT}'`,
    'mount -t tmpfs -o mode=0700 tmpfs /root',
    'mount -t tmpfs -o mode=1777 tmpfs /tmp',
    `if [ ! -e '${REPO_ROOT}/package.json' ]; then mkdir -p '${REPO_ROOT}' && mount --no-canonicalize --bind /proc/self/fd/9 '${REPO_ROOT}'; fi`,
    'exec 9<&-',
    'mkdir -p -m 0755 /run/sshd', // sshd's privilege separation directory (made at boot on Debian)
    ...hosts.map((h) => `echo '${h}' >> /etc/hosts`),
    'echo ready',
    'exec sleep 86400',
  ].join('\n');
  const anchor = t.spawn(role, ['unshare', '--mount', '--propagation', 'private', '--', 'bash', '-c', setup]);
  const pid = anchor.child.pid;
  try {
    await anchor.waitForLine(/^ready$/m, { timeoutMs: 10_000 });
    if (pid === undefined) throw new Error(`machine ${role}: no pid`);
  } catch (e) {
    await anchor.stop('SIGKILL').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`machine ${role} did not start: ${anchor.stderr()}`, { cause: e });
  }
  const argv = (script: string, cwd: string) => [
    'nsenter',
    '-t',
    String(pid!),
    '-m',
    '-n',
    '--',
    'bash',
    '-c',
    `set -euo pipefail\ncd '${cwd}'\n${script}`,
  ];
  return {
    role,
    sh: (script, opts = {}) =>
      run(argv(script, opts.cwd ?? '/root'), {
        env: loginEnv(opts.env),
        timeoutMs: opts.timeoutMs ?? 60_000,
        ...(opts.input === undefined ? {} : { input: opts.input }),
      }),
    spawn: (script, opts = {}) => spawnTracked(argv(script, opts.cwd ?? '/root'), { env: loginEnv(opts.env) }),
    async destroy() {
      await anchor.stop('SIGKILL').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
