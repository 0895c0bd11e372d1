// Adversarial suite, part 5 (reproducer, fails at the time of writing): replay of a consumed
// knock after the server's clock is set back into its window. Derived from part 4 (bad days). nft failing in the middle of a rotation
// (a conflicting object in the kernel, and an nft that refuses), SIGKILL and
// restart over and over around window boundaries, client clocks ahead and
// behind, the server's clock stepping forward and back, SIGHUP storms and a
// reload during a rotation. One ssh-like session established at the start must
// stay up through all of it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  NODE, REPO_ROOT, describeE2E, listTable, openHeldConnection, pollUntil, sendUdp, startService, tcpProbe, useTopology,
  type HeldConnection, type NsProcess, type Topology,
} from './harness/index.js';
import { Report } from './support/adversarial-report.js';
import { OTPKNOCKD, assertBuilt, sequencesFor, testSecret, usersYaml, writeConfig, type ConfigDir, type TestUser } from './support/otpknockd.js';

const PERIOD = 5;
const profile = { method: 'time', period: PERIOD, range: '20000-40000' };
const alice: TestUser = { name: 'alice', secret: testSecret('faults-alice') };
const bob: TestUser = { name: 'bob', secret: testSecret('faults-bob') };
const carol: TestUser = { name: 'carol', secret: testSecret('faults-carol') };
const CLOCK_SHIFT = join(REPO_ROOT, 'test/support/clock-shift.mjs');
const TABLE = 'otpknock';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const msIntoWindow = () => Date.now() % (PERIOD * 1000);
/** Waits until the current window has at least `need` ms left. */
async function awayFromBoundary(need = 1500): Promise<void> {
  const left = PERIOD * 1000 - msIntoWindow();
  if (left < need) await sleep(left + 150);
}
describeE2E('adversarial: faults, clocks, signals — nothing locks anyone out, no session drops', () => {
  const topo = useTopology();
  let t: Topology;
  let cfg: ConfigDir;
  let daemon: NsProcess;
  let held: HeldConnection;
  let work: string;
  let nftFailFlag: string;
  let clockFile: string;
  const used = new Set<string>();
  const report = new Report('adversarial-clockback', 'Replay after the server clock is set back', ['fault', 'tries', 'result', 'notes']);

  const yaml = (users: TestUser[]) => (secretFile: (u: TestUser) => string) => `
table: ${TABLE}
state_dir: STATE
skew: 1
ban: off
step_timeout: 2s
knock: { method: time, period: ${PERIOD}, range: 20000-40000 }
services:
  ssh: { port: 22, open_for: 30s }
users:
${usersYaml(users, secretFile)}
`;
  let currentUsers: TestUser[] = [];
  const writeUsers = (users: TestUser[]) => (currentUsers = users) && cfg.write(yaml(users)((u) => `${cfg.dir}/${u.name}.secret`).replace('STATE', join(cfg.dir, 'state')));

  /** otpknockd run, with a wrapper `nft` first on PATH (fails while a flag file exists) and a steppable clock. */
  function spawnDaemon(): NsProcess {
    return t.spawn('server', ['/usr/bin/env', `PATH=${work}/bin:${process.env.PATH}`, `OTPKNOCK_TEST_CLOCK_FILE=${clockFile}`, NODE, '--import', CLOCK_SHIFT, OTPKNOCKD, 'run', '--config', cfg.file, '--log-format', 'json']);
  }
  async function startDaemon(): Promise<NsProcess> {
    const d = spawnDaemon();
    await d.waitForLine(/"event":"start"|otpknockd: /, { timeoutMs: 15_000 });
    if (!/"event":"start"/.test(d.stderr())) throw new Error(`otpknockd failed to start:\n${d.stderr()}`);
    return d;
  }

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
    const r = await t.exec('server', [NODE, OTPKNOCKD, 'close', t.client.ipv4, '--config', cfg.file], { timeoutMs: 15_000 });
    expect(r.code, r.stderr).toBe(0);
  };
  const isOpen = async (from: 'client' | 'eve' = 'client') => (await tcpProbe(t, from, t.server.ipv4, 22, 700)).state === 'open';
  /** Knocks a fresh sequence of u from eve (not yet allowed) and says whether ssh opened; closes eve again. */
  async function knockWorks(u: TestUser = alice): Promise<boolean> {
    await t.exec('server', [NODE, OTPKNOCKD, 'close', t.eve.ipv4, '--config', cfg.file], { timeoutMs: 15_000 });
    await awayFromBoundary();
    await sendUdp(t, 'eve', t.server.ipv4, fresh(u), { delayMs: 5 });
    const ok = await isOpen('eve');
    await t.exec('server', [NODE, OTPKNOCKD, 'close', t.eve.ipv4, '--config', cfg.file], { timeoutMs: 15_000 });
    return ok;
  }
  async function sessionAlive(what: string): Promise<void> {
    expect(await held.echo(what), `the held session after: ${what}`).toContain(what);
  }
  /**
   * Consistent = every live sequence (windows now ± skew) of every configured user can be
   * walked through the kernel's step map from state 0 to a leaf. The map is the one
   * `render` declares with a "… . udp dport" key (no name assumed).
   */
  async function consistent(): Promise<boolean> {
    const r = await t.exec('server', [NODE, OTPKNOCKD, 'render', '--config', cfg.file], { timeoutMs: 15_000 });
    const name = /\n\tmap (\S+) \{\n\t\ttypeof meta mark \. udp dport : meta mark/.exec(r.stdout)?.[1];
    if (!name) throw new Error('no "mark . udp dport" map in the rendered ruleset');
    return pollUntil(async () => {
      await awayFromBoundary(1000);
      const doc = (await listTable(t, 'server', 'inet', TABLE)) ?? [];
      const map = doc.map((o) => o.map as { name: string; elem?: unknown[] } | undefined).find((m) => m?.name === name);
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
      for (const u of currentUsers) for (const o of [-1, 0, 1]) if (!walk(sequencesFor(u.secret, profile, o).open)) return undefined;
      return true;
    }, { timeoutMs: 12_000, intervalMs: 500, message: 'every live sequence of every user is in the kernel' });
  }

  void [closeClient, knockWorks, sessionAlive, consistent]; // shared with adversarial-faults, unused here

  beforeAll(async () => {
    assertBuilt();
    t = topo();
    work = mkdtempSync(join(tmpdir(), 'otpknock-faults-'));
    nftFailFlag = join(work, 'nft-fails');
    clockFile = join(work, 'clock-offset-ms');
    writeFileSync(clockFile, '0\n');
    const bin = join(work, 'bin');
    mkdirSync(bin);
    // An nft that refuses to load scripts while the flag file exists (listing still works).
    writeFileSync(join(bin, 'nft'), `#!/bin/sh\nif [ -e '${nftFailFlag}' ]; then for a in "$@"; do if [ "$a" = "-f" ]; then echo "Error: Could not process rule: Cannot allocate memory (injected by the test)" >&2; exit 1; fi; done; fi\nexec /usr/sbin/nft "$@"\n`, { mode: 0o755 });
    await startService(t, 'server', 22);
    cfg = writeConfig(yaml([alice, bob, carol])); // writes all three secret files
    writeUsers([alice, bob]);
    daemon = await startDaemon();
    await awayFromBoundary();
    await sendUdp(t, 'client', t.server.ipv4, fresh(alice), { delayMs: 5 });
    held = await openHeldConnection(t, 'client', t.server.ipv4, 22);
  });

  afterAll(async () => {
    report.write();
    await held?.close();
    await daemon?.stop('SIGTERM');
    cfg?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('a knock eve captured and the client used stays refused when the server\'s clock is set back into its window', async () => {
    // The attack: capture a knock; make the server's clock go back (e.g. spoofed NTP)
    // to that knock's window after its elements left the kernel; replay it.
    const closeEve = () => t.exec('server', [NODE, OTPKNOCKD, 'close', t.eve.ipv4, '--config', cfg.file], { timeoutMs: 15_000 });
    await closeEve();
    await awayFromBoundary(3000);
    const w0 = sequencesFor(alice.secret, profile, 0);
    await sendUdp(t, 'client', t.server.ipv4, w0.open, { delayMs: 5 });
    expect(await isOpen('client')).toBe(true);
    await sendUdp(t, 'eve', t.server.ipv4, w0.open, { delayMs: 5 });
    expect(await isOpen('eve')).toBe(false); // the plain replay is refused
    // the server's clock runs 4 windows ahead for a while (W's elements expire in the kernel) …
    writeFileSync(clockFile, `${4 * PERIOD * 1000}\n`);
    let mark = daemon.mark();
    await daemon.waitForLine((l) => /"event":"(rotation|resync)"/.test(l) && !/failed/.test(l), { after: mark, timeoutMs: 15_000 });
    await sleep(Math.max(0, (w0.window + 2) * PERIOD * 1000 + 1000 - Date.now()));
    // … and is then set back into W
    writeFileSync(clockFile, `${w0.window * PERIOD * 1000 + 2000 - Date.now()}\n`);
    mark = daemon.mark();
    const back = await daemon.waitForLine((l) => /"event":"(rotation|resync)"/.test(l) && !/failed/.test(l), { after: mark, timeoutMs: 20_000 });
    await sendUdp(t, 'eve', t.server.ipv4, w0.open, { delayMs: 5 });
    const opened = await isOpen('eve');
    writeFileSync(clockFile, '0\n');
    report.add({ case: "replay after the server's clock is set back into the knock's window", tries: 1, result: opened ? '1 opened' : '0 opened', note: back.slice(0, 120) });
    expect(opened, 'a consumed knock must stay consumed when the server clock goes back').toBe(false);
  });

});
