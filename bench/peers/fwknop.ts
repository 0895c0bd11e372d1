// fwknop as bench/peers.ts runs it: fwknopd with Rijndael + HMAC keys from fwknop --key-gen,
// iptables-nft.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageVersion } from './install.js';
import type { Addrs } from './net.js';
import { CONNECT_INTERVAL_MS, SERVICE_PORT, sleep } from './params.js';
import { check, waitFor, writePrivate, type Ctx, type Peer } from './peer.js';

export async function setupFwknop(ctx: Ctx, link: Addrs): Promise<Peer> {
  const { net } = ctx;
  const dir = join(ctx.dir, 'fwknop');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Keys as fwknop's docs make them: fwknop --key-gen (Rijndael key + HMAC-SHA256 key).
  const gen = spawnSync('/usr/bin/fwknop', ['--key-gen'], {
    encoding: 'utf8',
    env: { ...process.env, ...ctx.env },
    timeout: 10_000,
  });
  const key = /^KEY_BASE64:\s+(\S+)$/m.exec(gen.stdout ?? '')?.[1];
  const hmac = /^HMAC_KEY_BASE64:\s+(\S+)$/m.exec(gen.stdout ?? '')?.[1];
  if (!key || !hmac) throw new Error(`fwknop --key-gen printed no keys: ${gen.stderr}`);
  const access = join(dir, 'access.conf');
  writePrivate(
    access,
    `SOURCE                  ANY
REQUIRE_SOURCE_ADDRESS  Y
KEY_BASE64              ${key}
HMAC_KEY_BASE64         ${hmac}
OPEN_PORTS              tcp/${SERVICE_PORT}
FW_ACCESS_TIMEOUT       30
`,
  );
  const conf = join(dir, 'fwknopd.conf');
  writePrivate(conf, `PCAP_INTF               ${link.serverIf};\nFIREWALL_EXE            /usr/sbin/iptables;\n`);
  const rc = join(dir, 'fwknoprc');
  writePrivate(
    rc,
    `[bench]
SPA_SERVER          ${link.server}
ACCESS              tcp/${SERVICE_PORT}
ALLOW_IP            ${link.client}
KEY_BASE64          ${key}
HMAC_KEY_BASE64     ${hmac}
USE_HMAC            Y
`,
  );
  const ipt = (a: string[]) => check(net, link.role, ['iptables', ...a]);
  await ipt(['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
  await ipt(['-A', 'INPUT', '-p', 'tcp', '--dport', String(SERVICE_PORT), '-j', 'DROP']);
  const daemon = net.spawn(link.role, [
    '/usr/sbin/fwknopd',
    '-f',
    '-c',
    conf,
    '-a',
    access,
    '-d',
    join(dir, 'digest.cache'),
    '-p',
    join(dir, 'fwknopd.pid'),
    '-r',
    join(dir, 'run'),
  ]);
  // fwknopd adds its jump rule, then opens pcap: ready shortly after the rule is there.
  await waitFor('fwknopd to set up its chain', async () =>
    (await net.exec(link.role, ['iptables', '-S', 'INPUT'])).stdout.includes('FWKNOP_INPUT'),
  );
  await sleep(300);
  if (!daemon.running) throw new Error(`fwknopd exited at start:\n${daemon.stderr()}`);
  return {
    key: 'fwknop',
    label: `fwknop ${packageVersion('fwknop-server') ?? ''}`.trim(),
    ...link,
    daemon,
    env: ctx.env,
    clientArgv: () => ['/usr/bin/fwknop', '-n', 'bench', '--rc-file', rc],
    reset: async () => {
      await ipt(['-F', 'FWKNOP_INPUT']);
    },
    junk: {
      ports: [62_201],
      payload: 'base64',
      payloadBytes: 200,
      what: "udp/62201, random base64 text of an SPA packet's size (200 bytes), a new one per packet",
    },
    settings: [
      `fwknopd -f -c fwknopd.conf -a access.conf (foreground, libpcap on the server's interface, filter "udp port 62201"; fwknopd.conf: only PCAP_INTF and FIREWALL_EXE=/usr/sbin/iptables (iptables-nft), all else default, e.g. PCAP_LOOP_SLEEP 100000 µs)`,
      `access.conf: SOURCE ANY, REQUIRE_SOURCE_ADDRESS Y, KEY_BASE64 + HMAC_KEY_BASE64 from fwknop --key-gen, OPEN_PORTS tcp/${SERVICE_PORT}, FW_ACCESS_TIMEOUT 30`,
      `firewall: INPUT: (fwknopd's jump to FWKNOP_INPUT) → ESTABLISHED,RELATED accept → tcp/${SERVICE_PORT} drop`,
      `client: fwknop -n bench --rc-file RC (stanza: SPA_SERVER, ACCESS tcp/${SERVICE_PORT}, ALLOW_IP, the keys, USE_HMAC Y), then a new connect() every ${CONNECT_INTERVAL_MS} ms`,
      'between knocks: iptables -F FWKNOP_INPUT (outside the timing)',
    ],
  };
}
