// knockd as bench/peers.ts runs it: knockd(1)'s example 2 with UDP ports, iptables-nft.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shuffled } from '../lib/stats.js';
import { packageVersion } from './install.js';
import type { Addrs } from './net.js';
import { CONNECT_INTERVAL_MS, SERVICE_PORT } from './params.js';
import { check, waitFor, writePrivate, type Ctx, type Peer } from './peer.js';

export async function setupKnockd(ctx: Ctx, link: Addrs): Promise<Peer> {
  const { net } = ctx;
  const dir = join(ctx.dir, 'knockd');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Three distinct random UDP ports, as a knockd admin would pick them.
  const ports = shuffled(
    Array.from({ length: 55_001 }, (_, i) => 10_000 + i),
    Date.now() & 0xffff,
  ).slice(0, 3);
  const ipt = (a: string[]) => check(net, link.role, ['iptables', ...a]);
  // A default-drop rule for the service, the state rule first, and a chain of its own for
  // knockd's openings (so the bench can reset it).
  await ipt(['-N', 'KNOCKD_ALLOW']);
  await ipt(['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
  await ipt(['-A', 'INPUT', '-j', 'KNOCKD_ALLOW']);
  await ipt(['-A', 'INPUT', '-p', 'tcp', '--dport', String(SERVICE_PORT), '-j', 'DROP']);
  const rule = `-s %IP% -p tcp --dport ${SERVICE_PORT} -j ACCEPT`;
  const logFile = join(dir, 'knockd.log');
  const conf = join(dir, 'knockd.conf');
  writePrivate(
    conf,
    `[options]
    LogFile   = ${logFile}
    PidFile   = ${join(dir, 'knockd.pid')}
    Interface = ${link.serverIf}

[openSSH]
    sequence      = ${ports.map((p) => `${p}:udp`).join(',')}
    seq_timeout   = 5
    start_command = /usr/sbin/iptables -A KNOCKD_ALLOW ${rule}
    cmd_timeout   = 30
    stop_command  = /usr/sbin/iptables -D KNOCKD_ALLOW ${rule}
`,
  );
  const daemon = net.spawn(link.role, ['/usr/sbin/knockd', '-c', conf, '-i', link.serverIf]);
  await waitFor(
    'knockd to listen',
    () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('listening on'),
  );
  // Junk that hits the knock ports but never completes the sequence (p3, p2, p1, …):
  // knockd must look at every packet, and never runs its command for eve.
  const junkPorts = [ports[2]!, ports[1]!, ports[0]!];
  return {
    key: 'knockd',
    label: `knockd ${packageVersion('knockd') ?? ''}`.trim(),
    ...link,
    daemon,
    env: ctx.env,
    clientArgv: () => ['/usr/bin/knock', '-u', link.server, ...ports.map(String)],
    reset: async () => {
      await ipt(['-F', 'KNOCKD_ALLOW']);
    },
    junk: {
      ports: junkPorts,
      payload: 'zeros',
      payloadBytes: 16,
      what: 'the 3 knock ports in reverse order (never a valid sequence)',
    },
    settings: [
      `knockd -c knockd.conf -i IF (foreground, libpcap on the server's interface): [openSSH] sequence = 3 random UDP ports, seq_timeout = 5, start_command = iptables -A KNOCKD_ALLOW ${rule}, cmd_timeout = 30, stop_command = iptables -D … (knockd(1) example 2, UDP ports); iptables-nft`,
      `firewall: INPUT: ESTABLISHED,RELATED accept → jump KNOCKD_ALLOW → tcp/${SERVICE_PORT} drop`,
      `client: knock -u SERVER p1 p2 p3 (knockd's own client, default delay 0), then a new connect() every ${CONNECT_INTERVAL_MS} ms`,
      'between knocks: iptables -F KNOCKD_ALLOW (outside the timing)',
    ],
  };
}
