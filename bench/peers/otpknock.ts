// otpknock as bench/peers.ts runs it: otpknockd (the built bundle) with 40 users, and the
// npm-installed knock (client-install.ts) with its profile store made with knock add.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSecret, generateSecret } from '@otpknock/shared';
import { run } from '@otpknock/e2e-harness';
import { shuffled } from '../lib/stats.js';
import type { Addrs } from './net.js';
import type { InstalledClient } from './client-install.js';
import { NODE, OTPKNOCKD, SERVICE_PORT } from './params.js';
import { check, writePrivate, type Ctx, type Peer } from './peer.js';

export async function setupOtpknock(ctx: Ctx, link: Addrs, users: number, knock: InstalledClient): Promise<Peer> {
  const { net } = ctx;
  const dir = join(ctx.dir, 'otpknock');
  mkdirSync(join(dir, 'secrets'), { recursive: true, mode: 0o700 });
  const names = Array.from({ length: users }, (_, i) => `u${String(i + 1).padStart(2, '0')}`);
  const secretFile = (u: string) => join(dir, 'secrets', u);
  for (const u of names) writePrivate(secretFile(u), `${encodeSecret(generateSecret())}\n`);
  const config = join(dir, 'otpknockd.yaml');
  // Defaults everywhere (time method, 3 ports from 10000–65000, 30 s windows, skew 1,
  // open_for 30s, ban after 10 bad knocks), as docs/configuration.md's minimal file.
  writePrivate(
    config,
    [
      `state_dir: ${join(dir, 'state')}`,
      'services:',
      `  ssh: { port: ${SERVICE_PORT} }`,
      'users:',
      ...names.map((u) => `  ${u}: { secret_file: ${secretFile(u)} }`),
      '',
    ].join('\n'),
  );
  const daemon = net.spawn(link.role, [NODE, OTPKNOCKD, 'run', '--config', config, '--log-format', 'json']);
  await daemon.waitForLine(/"event":"start"/, { timeoutMs: 20_000 });
  // The client's profile store, one profile per user, made with the client's own CLI.
  const store = join(dir, 'profiles.json');
  const env = { ...ctx.env, PATH: knock.path };
  const storeEnv = { ...process.env, ...env };
  // One after the other: each add rewrites the whole store.
  for (const u of names) {
    const argv = [
      knock.bin,
      '--config',
      store,
      'add',
      u,
      '--address',
      link.server,
      '--port',
      String(SERVICE_PORT),
      '--secret-file',
      secretFile(u),
    ];
    const r = await run(argv, { env: storeEnv, timeoutMs: 20_000 });
    if (r.code !== 0) throw new Error(`knock add ${u} failed: ${r.stderr.trim()}`);
  }
  const knockRange: number[] = [];
  for (let p = 10_000; p <= 65_000; p++) if (p !== SERVICE_PORT) knockRange.push(p);
  return {
    key: 'otpknock',
    label: 'otpknock',
    ...link,
    daemon,
    env,
    clientArgv: (n) => {
      const u = names[n];
      if (u === undefined) throw new Error(`otpknock: only ${names.length} users, knock ${n} needs another`);
      return [knock.bin, '--config', store, 'open', u, '-q'];
    },
    reset: async () => {
      await check(net, link.role, [NODE, OTPKNOCKD, 'close', link.client, '--config', config]);
    },
    junk: {
      ports: shuffled(knockRange, 0x5eed),
      payload: 'zeros',
      payloadBytes: 16,
      what: 'the whole knock range 10000–65000, shuffled',
    },
    settings: [
      `otpknockd run --config FILE (the built bundle, node ${process.version}): one service (tcp/${SERVICE_PORT}), ${users} users, everything else default: time method, 3 ports from 10000–65000, 30 s windows, skew 1, open_for 30s, step_timeout 5s, ban after 10 bad knocks within 1m for 10m`,
      `client: knock --config STORE open uNN -q as a user gets it: the npm package (pnpm pack) installed with npm install -g --prefix TMP, PREFIX/bin/knock (code cache made by its postinstall: ${knock.codeCache}); one user per knock, each knock a fresh sequence; defaults: 5 ms between packets, 3 s timeout, 1 retry; profiles made with knock add`,
      `between knocks: otpknockd close CLIENT (outside the timing)`,
    ],
  };
}
