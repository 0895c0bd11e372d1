// The side features of issue 6, end to end with the real daemon (the built
// bundle) and real nftables in throw-away namespaces (server 192.0.2.1,
// client .2, eve .3; IPv6 2001:db8:1::/64): the brute-force cut-off, the
// manual switch and global mode, the expiration timer, faux payloads.
import { dirname } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import {
  counterValue, describeE2E, pollUntil, sendUdp, setElementKeys, startService, tcpProbe, useTopology,
  type NsProcess, type Topology,
} from './harness/index.js';
import { sequencesFor, startDaemon, testSecret, usersYaml, writeConfig, type ConfigDir, type TestUser } from './support/otpknockd.js';

const PERIOD = 30;
const RANGE = '20000-30000';
const profile = { method: 'time', period: PERIOD, range: RANGE, exclude: [22, 443] };
const alice: TestUser = { name: 'alice', secret: testSecret('side-alice') };
const bob: TestUser = { name: 'bob', secret: testSecret('side-bob') };
const carol: TestUser = { name: 'carol', secret: testSecret('side-carol') };
const USERS = [alice, bob, carol];

/** Waits, when needed, until at least `seconds` remain in the current window. */
async function awayFromBoundary(seconds = 6): Promise<void> {
  const into = (Date.now() / 1000) % PERIOD;
  if (into > PERIOD - seconds) await new Promise((r) => setTimeout(r, (PERIOD - into + 0.2) * 1000));
}

/** Ports of the knock range that belong to no live (or soon live) sequence: each one is a bad knock. */
function badPorts(n: number): number[] {
  const live = new Set<number>();
  for (const u of USERS) {
    for (let o = -2; o <= 2; o++) {
      const s = sequencesFor(u.secret, profile, o);
      for (const p of [...s.open, ...s.close]) live.add(p);
    }
  }
  const out: number[] = [];
  for (let p = 29_999; out.length < n; p--) if (!live.has(p)) out.push(p);
  return out;
}

/** An open sequence (of some user, of a window within the skew) that was not used yet. */
function freshOpen(used: Set<string>): number[] {
  for (const u of USERS) {
    for (const o of [0, 1, -1]) {
      const s = sequencesFor(u.secret, profile, o);
      if (!used.has(`${u.name}/${s.window}`)) {
        used.add(`${u.name}/${s.window}`);
        return s.open;
      }
    }
  }
  throw new Error('no unused open sequence within the skew');
}

describeE2E('otpknockd: brute-force cut-off in the kernel', () => {
  const topo = useTopology();
  let t: Topology;
  let cfg: ConfigDir;
  let daemon: NsProcess;
  const used = new Set<string>();
  const BAN_AFTER = 5;
  const BAN_FOR_S = 3;

  const yaml = (openFor = '30s', ban = `{ after: ${BAN_AFTER}, within: 1m, for: ${BAN_FOR_S}s }`) => (secretFile: (u: TestUser) => string) => `
state_dir: ${dirname(secretFile(alice))}/state
skew: 1
step_timeout: 2s
ban: ${ban}
knock: { method: time, period: ${PERIOD}, range: ${RANGE} }
services:
  ssh: { port: 22, open_for: ${openFor} }
users:
${usersYaml(USERS, secretFile)}
`;

  beforeAll(async () => {
    t = topo();
    await startService(t, 'server', [22]);
    cfg = writeConfig(yaml());
    daemon = await startDaemon(t, cfg.file);
  });

  afterAll(async () => {
    await daemon?.stop('SIGTERM');
    cfg?.cleanup();
  });

  beforeEach(() => awayFromBoundary());

  const secretOf = (u: TestUser) => `${cfg.dir}/${u.name}.secret`;
  const banned = (f: 4 | 6) => setElementKeys(t, 'server', 'otpknock', `banned${f}`);

  it(`tolerates ${BAN_AFTER - 1} bad knocks: a correct knock after them still opens`, async () => {
    await sendUdp(t, 'eve', t.server.ipv4, badPorts(BAN_AFTER - 1), { delayMs: 5 });
    expect(await banned(4)).toEqual([]);
    await sendUdp(t, 'eve', t.server.ipv4, freshOpen(used), { delayMs: 5 });
    expect(await tcpProbe(t, 'eve', t.server.ipv4, 22)).toMatchObject({ state: 'open' });
    expect((await counterValue(t, 'server', 'otpknock', 'bad_knocks'))?.packets).toBe(BAN_AFTER - 1);
  });

  it(`bans a source at its ${BAN_AFTER}th bad knock: its correct knock is then ignored`, async () => {
    await sendUdp(t, 'client', t.server.ipv4, badPorts(BAN_AFTER), { delayMs: 5 });
    expect(await banned(4)).toEqual([t.client.ipv4]);
    await sendUdp(t, 'client', t.server.ipv4, freshOpen(used), { delayMs: 5 });
    expect(await tcpProbe(t, 'client', t.server.ipv4, 22, 500)).toMatchObject({ state: 'closed' });
    expect((await counterValue(t, 'server', 'otpknock', 'banned_knocks'))?.packets).toBe(3);
    expect((await counterValue(t, 'server', 'otpknock', 'bans'))?.packets).toBe(1);
    expect(await banned(4)).toEqual([t.client.ipv4]);
  });

  it(`lifts the ban after ${BAN_FOR_S}s: the source's knocks work again`, async () => {
    expect(await banned(4)).toEqual([t.client.ipv4]);
    await pollUntil(async () => (await banned(4)).length === 0, { timeoutMs: (BAN_FOR_S + 2) * 1000, message: 'ban lifted' });
    await sendUdp(t, 'client', t.server.ipv4, freshOpen(used), { delayMs: 5 });
    expect(await tcpProbe(t, 'client', t.server.ipv4, 22)).toMatchObject({ state: 'open' });
  });

  it('bans an IPv6 source by its /64, and keeps a ban over a reload that reloads the whole table', async () => {
    await sendUdp(t, 'eve', t.server.ipv6, badPorts(BAN_AFTER), { delayMs: 5 });
    expect(await banned(6)).toEqual(['2001:db8:1::']);
    // the client shares eve's /64 here, so it is banned too
    await sendUdp(t, 'client', t.server.ipv6, freshOpen(used), { delayMs: 5 });
    expect(await tcpProbe(t, 'client', t.server.ipv6, 22, 500)).toMatchObject({ state: 'closed' });
    // open_for changes the table's layout: a full reload, which carries the ban over
    const mark = daemon.mark();
    cfg.write(yaml('45s')(secretOf));
    daemon.signal('SIGHUP');
    const line = await daemon.waitForLine(/"event":"reload"/, { after: mark, timeoutMs: 10_000 });
    expect(line).toMatch(/loaded table/);
    expect(await banned(6)).toEqual(['2001:db8:1::']);
    await pollUntil(async () => (await banned(6)).length === 0, { timeoutMs: (BAN_FOR_S + 2) * 1000, message: 'ban lifted' });
  });

  it('with ban: off, bad knocks never ban', async () => {
    const mark = daemon.mark();
    cfg.write(yaml('30s', 'off')(secretOf));
    daemon.signal('SIGHUP');
    await daemon.waitForLine(/"event":"reload"/, { after: mark, timeoutMs: 10_000 });
    await sendUdp(t, 'eve', t.server.ipv4, badPorts(3 * BAN_AFTER), { delayMs: 2 });
    await sendUdp(t, 'eve', t.server.ipv4, freshOpen(used), { delayMs: 5 });
    expect(await tcpProbe(t, 'eve', t.server.ipv4, 22)).toMatchObject({ state: 'open' });
  });
});
