// docs/operations.md and otpknockd(8), the ways back in and what the console commands
// promise, with the real daemon, client and nft in throw-away namespaces (server
// 192.0.2.1, client .2, eve .3): the break-glass sequence while the daemon is stopped,
// sent by the doc's own bash loop and knock profile (read from the Markdown); the
// rotating sequences running out in a table no daemon rotates (fail closed); `nft delete
// table` under a running daemon; `mode open` with no daemon and no table; and what
// `otpknockd open`, the pid file and `status` do across reloads, crashes and stops.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { windowAt } from '@otpknock/shared';
import { afterAll, beforeEach, expect, it } from 'vitest';
import {
  KNOCK,
  NODE,
  REPO_ROOT,
  applyNft,
  describeE2E,
  knockThenProbe,
  listTable,
  otpknockd,
  pollUntil,
  sequencesFor,
  tcpProbe,
  testUser,
  useDaemon,
  usersYaml,
  type ConfigText,
  type Topology,
} from './support/e2e.js';
import { docBlock } from './support/doc-blocks.js';

const PERIOD = 5;
const alice = testUser('alice', 'operations-alice');
const profile = { method: 'time', period: PERIOD, range: '10000-65000' };
const ops = (name: string) => docBlock(REPO_ROOT, 'docs/operations.md', name);
/** The doc's host name, replaced by the server's address (the namespaces share the machine's /etc/hosts). */
const onServer = (t: Topology, text: string) => text.replaceAll('gw.example.org', t.server.ipv4);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until at least `seconds` remain in the current window. */
async function awayFromBoundary(seconds = 1.5): Promise<void> {
  const into = (Date.now() / 1000) % PERIOD;
  if (into > PERIOD - seconds) await sleep((PERIOD - into + 0.2) * 1000);
}

describeE2E('docs/operations.md: the ways back in, and the console commands', () => {
  // The doc's break_glass block as written, in a config whose knock range holds its ports.
  const config =
    (openFor = '30s'): ConfigText =>
    (secretFile) => `
skew: 1
step_timeout: 2s
knock: ${JSON.stringify(profile)}
services:
  ssh: { port: 22, open_for: ${openFor} }
users:
${usersYaml([alice], secretFile)}
${ops('ops-break-glass-config').text}
`;
  const fx = useDaemon({ services: [22], config: config() });
  const home = mkdtempSync(join(tmpdir(), 'otpknock-ops-home-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  const cli = (...args: string[]) => otpknockd(fx.t, [...args, '--config', fx.cfg.file]);
  const isOpen = async (from: 'client' | 'eve', v6 = false) =>
    (await tcpProbe(fx.t, from, v6 ? fx.t.server.ipv6 : fx.t.server.ipv4, 22, 600)).state === 'open';

  /** Runs a block of the doc with bash in a namespace, `knock` (the built client) on PATH, HOME of its own. */
  async function runDocBlock(from: 'client' | 'eve', name: string): Promise<void> {
    const bin = join(home, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'knock'), `#!/bin/sh\nexec ${NODE} ${KNOCK} "$@"\n`, { mode: 0o755 });
    const b = ops(name);
    const r = await fx.t.exec(from, ['bash', '-c', onServer(fx.t, b.text)], {
      env: { ...process.env, HOME: join(home, from), PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` },
      timeoutMs: 30_000,
    });
    expect(r.code, `${b.file}:${b.line} (${name}) exited ${r.code}:\n${r.stdout}\n${r.stderr}`).toBe(0);
  }

  /** Each test starts with the daemon running (a test that failed half-way may have left it stopped). */
  beforeEach(async () => {
    if (!fx.daemon.running) await fx.start();
  });

  it("a stop keeps the table: the break-glass sequence opens (the doc's bash loop and knock profile), the rotating sequences run out", async () => {
    const { t } = fx;
    await awayFromBoundary(2);
    const stoppedIn = windowAt(Date.now(), PERIOD);
    const next = sequencesFor(alice.secret, profile, 1).open; // loaded, valid until the end of window +2
    expect((await fx.daemon.stop('SIGTERM')).code).toBe(0);
    expect(await isOpen('eve')).toBe(false); // fail closed

    // The table needs no daemon: a one-time sequence it holds still opens (eve, IPv6) ...
    expect(await knockThenProbe(t, 'eve', t.server.ipv6, sequencesFor(alice.secret, profile, 0).open)).toMatchObject({
      state: 'open',
    });
    // ... and so does the break-glass sequence, sent as the doc sends it.
    expect(await isOpen('client')).toBe(false);
    await runDocBlock('client', 'ops-break-glass-bash');
    expect(await isOpen('client')).toBe(true);
    expect(await isOpen('eve')).toBe(false);
    await runDocBlock('eve', 'ops-break-glass-knock'); // `knock gw-break-glass` exits 0 once ssh answers
    expect(await isOpen('eve')).toBe(true);

    // No one rotates: once the last loaded window (+1, valid with skew 1 until the end of +2)
    // has ended, no one-time knock opens any more.
    const over = (stoppedIn + 3) * PERIOD * 1000 + 300;
    await sleep(Math.max(0, over - Date.now()));
    expect(await knockThenProbe(t, 'client', t.server.ipv6, next, 22, 500)).toMatchObject({ state: 'closed' });
    const now = sequencesFor(alice.secret, profile, 0).open;
    expect(await knockThenProbe(t, 'client', t.server.ipv6, now, 22, 500)).toMatchObject({ state: 'closed' });
    // The break-glass sequence still does (operations.md: the way back in without a console).
    expect((await cli('close', t.client.ipv4)).code).toBe(0); // acts on the table, no daemon needed
    expect(await isOpen('client')).toBe(false);
    await runDocBlock('client', 'ops-break-glass-bash');
    expect(await isOpen('client')).toBe(true);
    await fx.start();
  }, 60_000);

  it('nft delete table under a running daemon opens up only briefly: the table is back within a window and ~3 s', async () => {
    const { t } = fx;
    const mark = fx.daemon.mark();
    await applyNft(t, 'server', 'delete table inet otpknock\n');
    const deleted = Date.now();
    expect(await isOpen('eve', true)).toBe(true); // no table: nothing filters
    await pollUntil(async () => (await listTable(t, 'server', 'inet', 'otpknock')) !== null, {
      timeoutMs: (PERIOD + 15) * 1000,
      intervalMs: 100,
      message: 'the daemon loaded its table again',
    });
    const back = Date.now() - deleted;
    process.stdout.write(`table deleted under the daemon: back after ${back} ms (period ${PERIOD} s)\n`);
    expect(back).toBeLessThan((PERIOD + 6) * 1000);
    await fx.daemon.waitForLine(/"event":"resync".*loaded table inet otpknock/, { after: mark, timeoutMs: 5_000 });
    expect(fx.daemon.running).toBe(true);
    expect(await isOpen('eve', true)).toBe(false); // closed again, and its grants went with the table
  }, 40_000);

  it('mode open from the console with no daemon and no table: saved, in force from the start; mode knock ends it', async () => {
    const { t } = fx;
    await fx.daemon.stop('SIGTERM');
    await applyNft(t, 'server', 'delete table inet otpknock\n');
    const m = await cli('mode', 'open');
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout + m.stderr).toMatch(/saved.*applies when it starts/s);
    await fx.start();
    expect(await isOpen('eve')).toBe(true);
    expect((await cli('mode', 'knock')).code).toBe(0);
    expect(await isOpen('eve')).toBe(false);
  });

  it('the way out works while a secret file is broken (the daemon would refuse the config): mode open, open ADDR', async () => {
    const { t } = fx;
    const secret = join(fx.cfg.dir, 'alice.secret');
    chmodSync(secret, 0o644); // too open: a config error for check, run and a reload
    try {
      expect((await cli('check')).code).toBe(2);
      const m = await cli('mode', 'open');
      expect(m.code, m.stderr).toBe(0);
      expect(await isOpen('eve')).toBe(true);
      expect((await cli('mode', 'knock')).code).toBe(0);
      expect(await isOpen('eve')).toBe(false);
      const o = await cli('open', t.eve.ipv4, '--for', '1m');
      expect(o.code, o.stderr).toBe(0);
      expect(await isOpen('eve')).toBe(true);
      expect((await cli('close', t.eve.ipv4)).code).toBe(0);
      expect(await isOpen('eve')).toBe(false);
    } finally {
      chmodSync(secret, 0o600);
    }
  });

  it('otpknockd open restarts the timer of an open address, and the opening survives a reload, a crash restart and a stop and start', async () => {
    const { t } = fx;
    const st = join(fx.cfg.dir, 'state');
    expect((await cli('open', t.eve.ipv4, '--for', '5s')).code).toBe(0);
    const first = Date.now();
    await sleep(3_000);
    expect((await cli('open', t.eve.ipv4, '--for', '5s')).code).toBe(0);
    await sleep(Math.max(0, first + 6_000 - Date.now())); // past the first timer, within the second
    expect(await isOpen('eve')).toBe(true);
    await pollUntil(async () => !(await isOpen('eve')), {
      timeoutMs: 5_000,
      intervalMs: 200,
      message: 'the restarted timer ran out',
    });

    expect((await cli('open', t.eve.ipv4, '--for', '5m')).code).toBe(0);
    expect(await fx.reload(config('31s'))).toMatch(/loaded table/); // a new open_for: the whole table is loaded anew
    expect(await isOpen('eve')).toBe(true);
    await fx.daemon.stop('SIGKILL');
    await fx.start();
    expect(await isOpen('eve')).toBe(true);

    // A clean stop removes the pid file; the kept table still answers status (exit 0), saying no daemon runs.
    expect((await fx.daemon.stop('SIGTERM')).code).toBe(0);
    expect(existsSync(join(st, 'daemon.json'))).toBe(false);
    const stopped = await cli('status');
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/table inet otpknock: loaded[\s\S]*daemon: pid \d+ NOT running/);
    await fx.start();
    expect(await isOpen('eve')).toBe(true);
    expect((await cli('close', t.eve.ipv4)).code).toBe(0);
    expect(await isOpen('eve')).toBe(false);
    expect((await cli('close', t.eve.ipv4)).code).toBe(0); // closing an address that is not open: no error
  }, 60_000);

  it('status exits 0 with the table loaded, 1 without it, 2 for a config error', async () => {
    const { t } = fx;
    expect((await cli('status')).code).toBe(0);
    await fx.daemon.stop('SIGTERM');
    await applyNft(t, 'server', 'delete table inet otpknock\n');
    const none = await cli('status');
    expect(none.code).toBe(1);
    expect(none.stdout + none.stderr).toMatch(/table inet otpknock: NOT loaded/);
    const bad = join(fx.cfg.dir, 'bad.yaml');
    writeFileSync(bad, 'services: [\n', { mode: 0o600 });
    const broken = await otpknockd(t, ['status', '--config', bad]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/bad\.yaml:\d+/);
    await fx.start();
  });
});
