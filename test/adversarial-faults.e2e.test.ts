// Adversarial suite, part 4: bad days. nft failing in the middle of a rotation
// (a conflicting object in the kernel, and an nft that refuses), SIGKILL and
// restart over and over around window boundaries, client clocks ahead and
// behind, the server's clock stepping forward and back, SIGHUP storms and a
// reload during a rotation. One ssh-like session established at the start must
// stay up through all of it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeSecret } from '@otpknock/shared';
import { useReport } from './support/adversarial-report.js';
import {
  KNOCK,
  NODE,
  OTPKNOCKD,
  REPO_ROOT,
  describeE2E,
  listTable,
  openHeldConnection,
  otpknockd,
  pollUntil,
  sendUdp,
  sequencesFor,
  tcpProbe,
  testUser,
  useDaemon,
  usersYaml,
  type ConfigText,
  type HeldConnection,
  type TestUser,
} from './support/e2e.js';

const PERIOD = 5;
const profile = { method: 'time', period: PERIOD, range: '20000-40000' };
const alice = testUser('alice', 'faults-alice');
const bob = testUser('bob', 'faults-bob');
const carol = testUser('carol', 'faults-carol');
const CLOCK_SHIFT = join(REPO_ROOT, 'test/support/clock-shift.mjs');
const TABLE = 'otpknock';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const msIntoWindow = () => Date.now() % (PERIOD * 1000);
/** Waits until the current window has at least `need` ms left. */
async function awayFromBoundary(need = 1500): Promise<void> {
  const left = PERIOD * 1000 - msIntoWindow();
  if (left < need) await sleep(left + 150);
}
/** Sleeps until `before` ms ahead of the next window boundary. */
async function untilBoundary(before: number): Promise<void> {
  let left = PERIOD * 1000 - msIntoWindow() - before;
  if (left < 0) left += PERIOD * 1000;
  await sleep(left);
}

describeE2E('adversarial: faults, clocks, signals — nothing locks anyone out, no session drops', () => {
  const yaml =
    (users: TestUser[]): ConfigText =>
    (secretFile) => `
table: ${TABLE}
skew: 1
ban: off
step_timeout: 2s
knock: ${JSON.stringify(profile)}
services:
  ssh: { port: 22, open_for: 30s }
users:
${usersYaml(users, secretFile)}
`;
  let currentUsers: TestUser[] = [alice, bob];
  /** Where the faults are injected, in the config's dir: a flag that makes nft fail, the clock's offset. */
  const nftFailFlag = () => join(fx.cfg.dir, 'nft-fails');
  const clockFile = () => join(fx.cfg.dir, 'clock-offset-ms');

  /** otpknockd run, with a wrapper `nft` first on PATH (fails while a flag file exists) and a steppable clock. */
  const fx = useDaemon({
    services: 22,
    config: (secretFile) => {
      secretFile(carol); // her secret file is there for the reloads that add her
      return yaml([alice, bob])(secretFile);
    },
    prepare() {
      writeFileSync(clockFile(), '0\n');
      const bin = join(fx.cfg.dir, 'bin');
      mkdirSync(bin);
      // An nft that refuses to load scripts while the flag file exists (listing still works).
      writeFileSync(
        join(bin, 'nft'),
        `#!/bin/sh\nif [ -e '${nftFailFlag()}' ]; then for a in "$@"; do if [ "$a" = "-f" ]; then echo "Error: Could not process rule: Cannot allocate memory (injected by the test)" >&2; exit 1; fi; done; fi\nexec /usr/sbin/nft "$@"\n`,
        { mode: 0o755 },
      );
    },
    command: () => ({
      command: [NODE, '--import', CLOCK_SHIFT, OTPKNOCKD],
      env: { ...process.env, PATH: `${fx.cfg.dir}/bin:${process.env.PATH}`, OTPKNOCK_TEST_CLOCK_FILE: clockFile() },
    }),
  });
  let held: HeldConnection;
  const used = new Set<string>();
  const report = useReport(
    'adversarial-faults',
    'Faults: what happened, and whether anyone was locked out or cut off',
    ['fault', 'tries', 'result', 'notes'],
  );

  const writeUsers = (users: TestUser[]) => {
    currentUsers = users;
    fx.cfg.write(yaml(users));
  };

  /** A fresh, unused open sequence of a user (one-time), for the window at `offset`. */
  function fresh(u: TestUser, offsets = [0, 1, -1]): number[] {
    for (const o of offsets) {
      const s = sequencesFor(u.secret, profile, o);
      const key = `${u.name}/${s.window}`;
      if (!used.has(key)) {
        used.add(key);
        return s.open;
      }
    }
    throw new Error(`no unused sequence of ${u.name} within the skew`);
  }
  const closeClient = async () => {
    const r = await otpknockd(fx.t, ['close', fx.t.client.ipv4, '--config', fx.cfg.file], 15_000);
    expect(r.code, r.stderr).toBe(0);
  };
  const isOpen = async (from: 'client' | 'eve' = 'client') =>
    (await tcpProbe(fx.t, from, fx.t.server.ipv4, 22, 700)).state === 'open';
  /** Knocks a fresh sequence of u from eve (not yet allowed) and says whether ssh opened; closes eve again. */
  async function knockWorks(u: TestUser = alice): Promise<boolean> {
    await otpknockd(fx.t, ['close', fx.t.eve.ipv4, '--config', fx.cfg.file], 15_000);
    await awayFromBoundary();
    await sendUdp(fx.t, 'eve', fx.t.server.ipv4, fresh(u), { delayMs: 5 });
    const ok = await isOpen('eve');
    await otpknockd(fx.t, ['close', fx.t.eve.ipv4, '--config', fx.cfg.file], 15_000);
    return ok;
  }
  async function sessionAlive(what: string): Promise<void> {
    expect(await held.echo(what), `the held session after: ${what}`).toContain(what);
  }
  /** How many reloads the daemon has logged since `mark`. */
  const reloadsSince = (mark: number) =>
    fx.daemon
      .lines()
      .slice(mark)
      .filter((l) => /"event":"reload"/.test(l.text)).length;

  /**
   * Consistent = every live sequence (windows now ± skew) of every configured user can be
   * walked through the kernel's step map from state 0 to a leaf. The map is the one
   * `render` declares with a "… . udp dport" key (no name assumed).
   */
  async function consistent(): Promise<boolean> {
    const r = await otpknockd(fx.t, ['render', '--config', fx.cfg.file], 15_000);
    const name = /\n\tmap (\S+) \{\n\t\ttypeof meta mark \. udp dport : meta mark/.exec(r.stdout)?.[1];
    if (!name) throw new Error('no "mark . udp dport" map in the rendered ruleset');
    return pollUntil(
      async () => {
        await awayFromBoundary(1000);
        const doc = (await listTable(fx.t, 'server', 'inet', TABLE)) ?? [];
        const map = doc
          .map((o) => o.map as { name: string; elem?: unknown[] } | undefined)
          .find((m) => m?.name === name);
        const step = new Map<string, number>();
        for (const e of map?.elem ?? []) {
          const [k, v] = e as [unknown, number];
          const key = ((k as { elem?: { val: unknown } }).elem?.val ?? k) as { concat: [number, number] };
          step.set(`${key.concat[0]}.${key.concat[1]}`, v);
        }
        const walk = (ports: number[]) => {
          let state = 0;
          for (const p of ports) {
            const next = step.get(`${state}.${p}`) ?? step.get(`0.${p}`);
            if (next === undefined) return false;
            state = next;
          }
          return (state & 0x80000000) !== 0;
        };
        for (const u of currentUsers)
          for (const o of [-1, 0, 1]) if (!walk(sequencesFor(u.secret, profile, o).open)) return undefined;
        return true;
      },
      { timeoutMs: 12_000, intervalMs: 500, message: 'every live sequence of every user is in the kernel' },
    );
  }

  beforeAll(async () => {
    const { t } = fx;
    await awayFromBoundary();
    await sendUdp(t, 'client', t.server.ipv4, fresh(alice), { delayMs: 5 });
    held = await openHeldConnection(t, 'client', t.server.ipv4, 22);
  });

  afterAll(() => held?.close());

  it('nft refuses mid-rotation: the last good state stays, the daemon keeps running, says so, retries and recovers', async () => {
    const { daemon } = fx;
    await untilBoundary(1500);
    const mark = daemon.mark();
    writeFileSync(nftFailFlag(), '');
    let failures = 0;
    try {
      await daemon.waitForLine(/rotation failed.*retrying in/, { after: mark, timeoutMs: (PERIOD + 3) * 1000 });
      // While nft refuses: the sequences loaded before still open (window 0 was live before the boundary)
      expect(await knockWorks(bob)).toBe(true);
      await daemon.waitForLine(/retrying in 2s/, { after: mark, timeoutMs: 5_000 });
      failures = daemon
        .lines()
        .slice(mark)
        .filter((l) => /rotation failed/.test(l.text)).length;
      expect(daemon.running).toBe(true);
    } finally {
      rmSync(nftFailFlag(), { force: true });
    }
    const back = await daemon.waitForLine((l) => /"event":"(resync|rotation)"/.test(l) && !/failed/.test(l), {
      after: mark,
      timeoutMs: 15_000,
    });
    await sessionAlive('after nft refused');
    expect(await consistent()).toBe(true);
    expect(await knockWorks(alice)).toBe(true);
    report.add({
      case: 'nft refuses every load for ~3 s across a boundary',
      tries: failures,
      result: 'daemon kept running, old sequences live, recovered',
      note: `log: "rotation failed, the previous sequences stay live; retrying in 1s/2s", then ${JSON.parse(back).event}; session up`,
    });
  });

  it('a conflicting change to the kernel (an element deleted behind its back) makes a reload fail: the old state stays, the daemon says so, and a later SIGHUP applies it', async () => {
    const { t, cfg, daemon } = fx;
    // Delete one of bob's live first steps from the kernel, then reload without bob:
    // the reload's transaction deletes that element too, and nf_tables refuses it.
    const r = await otpknockd(t, ['render', '--config', cfg.file], 15_000);
    const map = /\n\tmap (\S+) \{\n\t\ttypeof meta mark \. udp dport : meta mark/.exec(r.stdout)?.[1];
    expect(map, 'a "mark . udp dport" map in the ruleset').toBeDefined();
    await awayFromBoundary(3000);
    const port = sequencesFor(bob.secret, profile, 1).open[0]!;
    const del = await t.exec('server', ['nft', 'delete', 'element', 'inet', TABLE, map!, `{ 0 . ${port} }`]);
    expect(del.code, del.stderr).toBe(0);
    writeUsers([alice]);
    const mark = daemon.mark();
    daemon.signal('SIGHUP');
    const refused = await daemon.waitForLine(/"event":"reload"/, { after: mark, timeoutMs: 10_000 });
    expect(daemon.running).toBe(true);
    await sessionAlive('after the refused reload');
    expect(await knockWorks(alice)).toBe(true);
    // a later SIGHUP (the operator trying again, or the next one) gets through once the element's window is gone
    let applied = '';
    const started = Date.now();
    await pollUntil(
      async () => {
        const m = daemon.mark();
        daemon.signal('SIGHUP');
        const line = await daemon.waitForLine(/"event":"(reload|resync)"/, { after: m, timeoutMs: 10_000 });
        if (/still running the old one/.test(line)) return undefined;
        applied = line;
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 2_000, message: 'a reload without bob is applied' },
    );
    expect(await knockWorks(bob)).toBe(false);
    expect(await consistent()).toBe(true);
    report.add({
      case: "an element deleted behind the daemon's back, then a reload that removes its user",
      tries: 1,
      result: /still running the old one/.test(refused)
        ? 'reload refused by the kernel; old config stays live; daemon alive'
        : 'reload applied anyway',
      note: `${(JSON.parse(refused) as { message: string }).message.slice(0, 90)}…; a SIGHUP ${((Date.now() - started) / 1000).toFixed(0)} s later applied it (${(JSON.parse(applied) as { message: string }).message.slice(0, 40)})`,
    });
    writeUsers([alice, bob]);
    const m2 = daemon.mark();
    daemon.signal('SIGHUP');
    await daemon.waitForLine(/"event":"reload"/, { after: m2, timeoutMs: 10_000 });
  });

  it('SIGKILL and restart, three times around window boundaries: consistent state, used knocks stay used, session up', async () => {
    const { t, cfg } = fx;
    const closeEve = () => otpknockd(t, ['close', t.eve.ipv4, '--config', cfg.file], 15_000);
    let replayed = 0;
    let opened = 0;
    const kills = [300, 0, 600];
    for (const [i, before] of kills.entries()) {
      await closeEve();
      await awayFromBoundary();
      const seq = fresh(bob);
      await sendUdp(t, 'eve', t.server.ipv4, seq, { delayMs: 5 });
      expect(
        await isOpen('eve'),
        `bob's fresh knock from eve (kill ${i + 1}); daemon:\n${fx.daemon.stderr().split('\n').slice(-6).join('\n')}`,
      ).toBe(true);
      await untilBoundary(before); // just before, at, and after a boundary
      await fx.daemon.stop('SIGKILL');
      expect(await listTable(t, 'server', 'inet', TABLE), 'a crash leaves the table').not.toBeNull();
      await fx.start();
      await sessionAlive(`kill ${i + 1}`);
      // the sequence consumed before the kill stays consumed (it is still within the skew)
      await closeEve();
      await sendUdp(t, 'eve', t.server.ipv4, seq, { delayMs: 5 });
      replayed++;
      if (await isOpen('eve')) opened++;
    }
    expect(opened).toBe(0);
    expect(await consistent()).toBe(true);
    expect(await knockWorks(alice)).toBe(true);
    report.add({
      case: `SIGKILL + restart ×${kills.length} around window boundaries`,
      tries: kills.length,
      result: `every live sequence in the kernel, session up, ${opened} of ${replayed} replays opened`,
      note: 'live sequences walked through the kernel map; used sequences carried over',
    });
  });

  it("the client's clock: one window ahead or behind opens; two or more does not (the real knock client, shifted clock)", async () => {
    const { t } = fx;
    const home = mkdtempSync(join(tmpdir(), 'otpknock-faults-home-'));
    try {
      const secret = join(home, 'alice.secret');
      writeFileSync(secret, `${encodeSecret(alice.secret)}\n`, { mode: 0o600 });
      const env = (state: string) => [
        `HOME=${home}`,
        `XDG_CONFIG_HOME=${home}/config`,
        `XDG_STATE_HOME=${home}/${state}`,
      ];
      const add = await t.exec(
        'client',
        [
          '/usr/bin/env',
          ...env('s0'),
          NODE,
          KNOCK,
          'add',
          'srv',
          '--address',
          t.server.ipv4,
          '--secret-file',
          secret,
          '--period',
          String(PERIOD),
          '--range',
          '20000-40000',
          '--exclude',
          '22',
        ],
        { timeoutMs: 15_000 },
      );
      expect(add.code, add.stderr).toBe(0);
      const results: string[] = [];
      for (const windows of [-3, -2, 2, 3, -1, 1]) {
        await closeClient();
        await awayFromBoundary(2500);
        const r = await t.exec(
          'client',
          [
            '/usr/bin/env',
            ...env(`s${windows}`),
            `OTPKNOCK_TEST_CLOCK_OFFSET_MS=${windows * PERIOD * 1000}`,
            NODE,
            '--import',
            CLOCK_SHIFT,
            KNOCK,
            'srv',
            '--timeout',
            '1',
            '--retries',
            '0',
            '-4',
          ],
          { timeoutMs: 20_000 },
        );
        const opened = r.code === 0;
        results.push(`${windows > 0 ? '+' : ''}${windows}: ${opened ? 'opened' : 'refused'}`);
        expect(opened, `client clock ${windows} windows off: ${r.stderr}`).toBe(Math.abs(windows) <= 1);
      }
      report.add({
        case: 'client clock ±1 window (skew 1) / ±2, ±3 windows',
        tries: 6,
        result: results.join(', '),
        note: 'the real knock client with its clock shifted',
      });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
    await sessionAlive('client clock tests');
  });

  it("the server's clock steps forward 12 windows and back: followed at the daemon's next wake, knocks follow the server's time", async () => {
    const { t, cfg, daemon } = fx;
    const closeEve = () => otpknockd(t, ['close', t.eve.ipv4, '--config', cfg.file], 15_000);
    await closeEve();
    await awayFromBoundary(2500);
    const step = 12 * PERIOD * 1000;
    let mark = daemon.mark();
    writeFileSync(clockFile(), `${step}\n`);
    const forward = Date.now();
    await daemon.waitForLine((l) => /"event":"(rotation|resync)"/.test(l) && !/failed/.test(l), {
      after: mark,
      timeoutMs: 15_000,
    });
    const tookForward = Date.now() - forward;
    // a knock for the server's (new) time opens at once
    await awayFromBoundary(1500);
    await sendUdp(t, 'eve', t.server.ipv4, sequencesFor(alice.secret, profile, 0, Date.now() + step).open, {
      delayMs: 5,
    });
    expect(await isOpen('eve')).toBe(true);
    await closeEve();
    // Windows loaded before the step keep their kernel timeouts (≤ skew + 1 periods) and are
    // never renewed; two boundaries on, the client's real current window, which would be
    // live without the step, is refused.
    await untilBoundary(-200);
    await untilBoundary(-200);
    await awayFromBoundary(1500);
    await sendUdp(t, 'eve', t.server.ipv4, sequencesFor(bob.secret, profile, 0).open, { delayMs: 5 });
    expect(await isOpen('eve')).toBe(false);
    mark = daemon.mark();
    writeFileSync(clockFile(), '0\n');
    const back = Date.now();
    // The first rotation after a step back may be refused (it deletes elements whose kernel
    // timeouts already ran out: reported); the daemon then retries and resyncs by itself.
    await daemon.waitForLine((l) => /"event":"(rotation|resync)"/.test(l) && !/failed/.test(l), {
      after: mark,
      timeoutMs: 30_000,
    });
    const tookBack = Date.now() - back;
    const failedBack = daemon
      .lines()
      .slice(mark)
      .filter((l) => /rotation failed/.test(l.text)).length;
    expect(await knockWorks(alice)).toBe(true);
    expect(await consistent()).toBe(true);
    await sessionAlive('server clock steps');
    report.add({
      case: 'server clock steps +60 s (12 windows), then back',
      tries: 2,
      result:
        "followed at the daemon's next wake: the server's window opens, the real one is refused; back: real windows open again",
      note: `rotation ${(tookForward / 1000).toFixed(1)} s after the step forward; after the step back a good rotation/resync ${(tookBack / 1000).toFixed(1)} s later, after ${failedBack} refused rotation(s); windows loaded before a step live on until their kernel timeouts`,
    });
  });

  it('a SIGHUP storm (50 in one second, then 50 back to back) with the config changing under it: the last config wins, consistent', async () => {
    const { daemon } = fx;
    const mark = daemon.mark();
    for (let i = 0; i < 50; i++) {
      if (i % 10 === 0) writeUsers((i / 10) % 2 === 0 ? [alice, bob] : [alice, bob, carol]);
      daemon.signal('SIGHUP');
      await sleep(20);
    }
    writeUsers([alice, bob, carol]);
    daemon.signal('SIGHUP');
    await pollUntil(() => reloadsSince(mark) > 0 || undefined, { timeoutMs: 10_000 });
    await sleep(1500); // let the last coalesced reload finish
    const reloads = reloadsSince(mark);
    expect(daemon.running).toBe(true);
    expect(reloads).toBeGreaterThan(0);
    expect(reloads).toBeLessThanOrEqual(51);
    // and 50 SIGHUPs back to back, without a pause
    const burstMark = daemon.mark();
    for (let i = 0; i < 50; i++) process.kill(daemon.pid, 'SIGHUP');
    await pollUntil(() => reloadsSince(burstMark) > 0 || undefined, { timeoutMs: 10_000 });
    await sleep(1000);
    const burstReloads = reloadsSince(burstMark);
    expect(daemon.running).toBe(true);
    expect(await knockWorks(carol)).toBe(true); // the last config is in force
    expect(await consistent()).toBe(true);
    await sessionAlive('SIGHUP storm');
    report.add({
      case: 'SIGHUP storm: 51 signals in ~1 s with the config changing, then 50 back to back',
      tries: 101,
      result: `${reloads} + ${burstReloads} reloads ran; last config in force; consistent`,
      note: 'signals 20 ms apart each find the previous reload done; back-to-back ones coalesce; daemon alive, session up',
    });
  });

  it('a reload that lands on a window boundary (during the rotation): both take effect', async () => {
    const { daemon } = fx;
    writeUsers([alice, bob]); // carol out
    await untilBoundary(30);
    const mark = daemon.mark();
    for (let i = 0; i < 5; i++) {
      daemon.signal('SIGHUP');
      await sleep(15);
    }
    await daemon.waitForLine(/"event":"rotation"/, { after: mark, timeoutMs: 8_000 });
    await pollUntil(() => reloadsSince(mark) > 0 || undefined, { timeoutMs: 8_000 });
    await sleep(500);
    expect(await knockWorks(carol)).toBe(false); // carol was removed by the reload
    expect(await knockWorks(alice)).toBe(true); // the rotation's new window works
    expect(await consistent()).toBe(true);
    await sessionAlive('reload during rotation');
    report.add({
      case: 'reload (5 SIGHUPs) across a window boundary',
      tries: 5,
      result: 'rotation and reload both applied; consistent',
      note: 'removed user refused, new window opens',
    });
  });

  it("a knock eve captured and the client used stays refused when the server's clock is set back into its window", async () => {
    const { t, cfg, daemon } = fx;
    // The attack: capture a knock; make the server's clock go back (e.g. spoofed NTP)
    // to that knock's window after its elements left the kernel; replay it.
    const closeEve = () => otpknockd(t, ['close', t.eve.ipv4, '--config', cfg.file], 15_000);
    await closeEve();
    await awayFromBoundary(3000);
    const w0 = sequencesFor(alice.secret, profile, 0);
    await sendUdp(t, 'client', t.server.ipv4, w0.open, { delayMs: 5 });
    expect(await isOpen('client')).toBe(true);
    await sendUdp(t, 'eve', t.server.ipv4, w0.open, { delayMs: 5 });
    expect(await isOpen('eve')).toBe(false); // the plain replay is refused
    // the server's clock runs 4 windows ahead for a while (W's elements expire in the kernel) …
    writeFileSync(clockFile(), `${4 * PERIOD * 1000}\n`);
    let mark = daemon.mark();
    await daemon.waitForLine((l) => /"event":"(rotation|resync)"/.test(l) && !/failed/.test(l), {
      after: mark,
      timeoutMs: 15_000,
    });
    await sleep(Math.max(0, (w0.window + 2) * PERIOD * 1000 + 1000 - Date.now()));
    // … and is then set back into W
    writeFileSync(clockFile(), `${w0.window * PERIOD * 1000 + 2000 - Date.now()}\n`);
    mark = daemon.mark();
    const back = await daemon.waitForLine((l) => /"event":"(rotation|resync)"/.test(l) && !/failed/.test(l), {
      after: mark,
      timeoutMs: 20_000,
    });
    await sendUdp(t, 'eve', t.server.ipv4, w0.open, { delayMs: 5 });
    const opened = await isOpen('eve');
    writeFileSync(clockFile(), '0\n');
    report.add({
      case: "replay after the server's clock is set back into the knock's window",
      tries: 1,
      result: opened ? '1 opened' : '0 opened',
      note: back.slice(0, 120),
    });
    expect(opened, 'a consumed knock must stay consumed when the server clock goes back').toBe(false);
  });

  it('the session established at the start survived every fault above', async () => {
    expect(held.open).toBe(true);
    await sessionAlive('the end');
    report.add({
      case: 'one established TCP session held through all of the above',
      tries: 1,
      result: 'never dropped',
      note: 'echo after every fault',
    });
  });
});
