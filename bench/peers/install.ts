// Installs what bench/peers.ts needs (knockd, fwknop, tools) with apt-get when missing,
// and stops any daemon a package started: the bench runs its own, in its namespaces.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GNU_TIME, PYTHON, log } from './params.js';

interface Need {
  /** An absolute path, or a command name looked up in PATH. */
  bin: string;
  pkg: string;
}
const NEEDS: Need[] = [
  { bin: 'ip', pkg: 'iproute2' },
  { bin: 'nft', pkg: 'nftables' },
  { bin: '/usr/sbin/knockd', pkg: 'knockd' },
  { bin: '/usr/bin/knock', pkg: 'knockd' },
  { bin: '/usr/sbin/fwknopd', pkg: 'fwknop-server' },
  { bin: '/usr/bin/fwknop', pkg: 'fwknop-client' },
  { bin: '/usr/sbin/iptables', pkg: 'iptables' },
  { bin: GNU_TIME, pkg: 'time' },
  { bin: PYTHON, pkg: 'python3' },
];

/** Pids of running knockd/fwknopd processes (anywhere). */
function peerDaemonPids(): Map<number, string> {
  const out = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
      if (comm === 'knockd' || comm === 'fwknopd') out.set(Number(d), comm);
    } catch {
      // gone
    }
  }
  return out;
}

export function packageVersion(pkg: string): string | null {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}\t${Version}', pkg], { encoding: 'utf8', timeout: 10_000 });
  const [status, version] = (r.stdout ?? '').split('\t');
  return r.status === 0 && status === 'install ok installed' ? (version ?? null) : null;
}

/**
 * apt-get install what is missing. Debian's knockd and fwknop-server ship disabled
 * (/etc/default: START_KNOCKD=0, START_DAEMON="no"), but a package may still start its
 * service: every knockd/fwknopd that appears during the install is stopped by its pid
 * (systemctl when systemd runs it). The bench starts its own daemons in its namespaces.
 */
export function installPeers(): string[] {
  const found = (bin: string) =>
    bin.startsWith('/')
      ? existsSync(bin)
      : (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => d && existsSync(join(d, bin)));
  const missing = [...new Set(NEEDS.filter((n) => !found(n.bin)).map((n) => n.pkg))];
  if (missing.length === 0) return [];
  log(`installing ${missing.join(' ')} (apt-get install -y)`);
  const before = peerDaemonPids();
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
      env,
      stdio: ['ignore', 2, 2],
      timeout: 300_000,
    });
  let r = install();
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { env, stdio: ['ignore', 2, 2], timeout: 300_000 });
    r = install();
  }
  if (r.status !== 0)
    throw new Error(`apt-get install ${missing.join(' ')} failed (exit ${r.status}); install them and run again`);
  const systemd = existsSync('/run/systemd/system');
  for (const [pid, comm] of peerDaemonPids()) {
    if (before.has(pid)) continue;
    log(`the package started ${comm} (pid ${pid}); stopping it`);
    const unit = comm === 'knockd' ? 'knockd' : 'fwknop-server';
    if (systemd) spawnSync('systemctl', ['stop', unit], { stdio: ['ignore', 2, 2], timeout: 30_000 });
    else {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
  return missing;
}
