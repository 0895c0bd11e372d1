// A real OpenSSH server (Debian's /usr/sbin/sshd) in one of the harness's namespaces,
// with its own temporary config, host key and authorized_keys: key authentication
// only, a throwaway ed25519 key made for the test. Plus an ssh_config for the client
// side that never asks anything (BatchMode, a temporary known_hosts, accept-new).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type NsProcess, type NsRef, type Topology } from '@otpknock/e2e-harness';

export const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  readonly process: NsProcess;
  readonly port: number;
  /** Temp dir with the keys, configs and known_hosts; removed by stop(). */
  readonly dir: string;
  /** Private key the server accepts (for IdentityFile). */
  readonly identityFile: string;
  /**
   * Writes an ssh_config for the client: one `Host` block per alias with its HostName
   * and the given extra lines (e.g. a ProxyCommand); returns its path, for `ssh -F`.
   */
  clientConfig(
    hosts: Record<string, { hostName: string; connectTimeout?: number; extra?: string[] }>,
    name?: string,
  ): string;
  /** `Accepted publickey` lines in sshd's log: who got in. */
  logins(): string[];
  stop(): Promise<void>;
}

async function keygen(file: string, comment: string): Promise<void> {
  await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], {
    check: true,
    timeoutMs: 10_000,
  });
}

/** Starts sshd in ns (default: the server) on port (default 22), listening on IPv4 and IPv6. */
export async function startSshd(t: Topology, opts: { ns?: NsRef; port?: number } = {}): Promise<Sshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server (scripts/setup.sh does)`);
  const port = opts.port ?? 22;
  const dir = mkdtempSync(join(tmpdir(), 'otpknock-sshd-'));
  try {
    const identityFile = join(dir, 'id_test');
    const hostKey = join(dir, 'host_ed25519');
    await Promise.all([keygen(identityFile, 'otpknock-e2e'), keygen(hostKey, 'otpknock-e2e-host')]);
    const authorized = join(dir, 'authorized_keys');
    writeFileSync(authorized, readFileSync(`${identityFile}.pub`, 'utf8'), { mode: 0o600 });
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 0.0.0.0',
        'ListenAddress ::',
        `HostKey ${hostKey}`,
        `AuthorizedKeysFile ${authorized}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'UsePAM no',
        // The temp dir is 0700 and ours; its parents (/tmp) would fail StrictModes.
        'StrictModes no',
        'PidFile none',
        'LogLevel INFO',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    // The privilege separation directory (Debian's package creates it at boot).
    if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
    const proc = t.spawn(opts.ns ?? 'server', [SSHD, '-D', '-e', '-f', config]);
    await proc.waitForLine(/Server listening on :: port|Server listening on 0\.0\.0\.0 port/, { timeoutMs: 5_000 });
    return {
      process: proc,
      port,
      dir,
      identityFile,
      clientConfig(hosts, name = 'ssh_config') {
        const file = join(dir, name);
        const blocks = Object.entries(hosts).map(([alias, h]) =>
          [
            `Host ${alias}`,
            `    HostName ${h.hostName}`,
            `    Port ${port}`,
            '    User root',
            `    IdentityFile ${identityFile}`,
            '    IdentitiesOnly yes',
            `    UserKnownHostsFile ${join(dir, 'known_hosts')}`,
            '    StrictHostKeyChecking accept-new',
            '    BatchMode yes',
            `    ConnectTimeout ${h.connectTimeout ?? 5}`,
            '    LogLevel ERROR',
            ...(h.extra ?? []).map((l) => `    ${l}`),
          ].join('\n'),
        );
        writeFileSync(file, `${blocks.join('\n\n')}\n`, { mode: 0o600 });
        chmodSync(file, 0o600);
        return file;
      },
      logins: () =>
        proc
          .stderr()
          .split('\n')
          .filter((l) => l.includes('Accepted publickey')),
      async stop() {
        await proc.stop('SIGTERM');
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
