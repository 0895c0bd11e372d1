// The side features of issue 6, end to end with the real daemon (the built
// bundle) and real nftables in throw-away namespaces (server 192.0.2.1,
// client .2, eve .3; IPv6 2001:db8:1::/64): the brute-force cut-off, the
// manual switch and global mode, the expiration timer, faux payloads.
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import {
  awayFromBoundary as roomInWindow,
  counterValue,
  describeE2E,
  knockThenProbe,
  listTable,
  openHeldConnection,
  otpknockd,
  pollUntil,
  sendUdp,
  sequencesFor,
  setElementKeys,
  tcpProbe,
  testUser,
  useDaemon,
  usersYaml,
  writeConfig,
  type TestUser,
} from './support/e2e.js';
import { buildPayload, parsePayloadSpec } from '@otpknock/shared';

const PERIOD = 30;
const RANGE = '20000-30000';
const profile = { method: 'time', period: PERIOD, range: RANGE, exclude: [22, 443] };
const alice = testUser('alice', 'side-alice');
const bob = testUser('bob', 'side-bob');
const carol = testUser('carol', 'side-carol');
const USERS = [alice, bob, carol];

/** Waits, when needed, until at least 6 s remain in the current window: room for a test's knocks. */
const awayFromBoundary = () => roomInWindow(PERIOD, 6);

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
  const used = new Set<string>();
  const BAN_AFTER = 5;
  // Long enough for what a test does while the ban must hold (a knock, its probe, counters,
  // a full reload: each a process started in a namespace, ~1 s apiece at load 15 on 2 cores).
  const BAN_FOR_S = 8;
  let bannedAt = 0;

  const yaml =
    (openFor = '30s', ban = `{ after: ${BAN_AFTER}, within: 1m, for: ${BAN_FOR_S}s }`) =>
    (secretFile: (u: TestUser) => string) => `
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

  const fx = useDaemon({ services: [22], config: yaml() });

  beforeEach(() => awayFromBoundary());

  const banned = (f: 4 | 6) => setElementKeys(fx.t, 'server', 'otpknock', `banned${f}`);

  it(`tolerates ${BAN_AFTER - 1} bad knocks: a correct knock after them still opens`, async () => {
    await sendUdp(fx.t, 'eve', fx.t.server.ipv4, badPorts(BAN_AFTER - 1), { delayMs: 5 });
    expect(await banned(4)).toEqual([]);
    expect(await knockThenProbe(fx.t, 'eve', fx.t.server.ipv4, freshOpen(used))).toMatchObject({ state: 'open' });
    expect((await counterValue(fx.t, 'server', 'otpknock', 'bad_knocks'))?.packets).toBe(BAN_AFTER - 1);
  });

  it(`bans a source at its ${BAN_AFTER}th bad knock: its correct knock is then ignored`, async () => {
    await sendUdp(fx.t, 'client', fx.t.server.ipv4, badPorts(BAN_AFTER), { delayMs: 5 });
    bannedAt = Date.now();
    expect(await banned(4)).toEqual([fx.t.client.ipv4]);
    expect(await knockThenProbe(fx.t, 'client', fx.t.server.ipv4, freshOpen(used), 22, 500)).toMatchObject({
      state: 'closed',
    });
    expect((await counterValue(fx.t, 'server', 'otpknock', 'banned_knocks'))?.packets).toBe(3);
    expect((await counterValue(fx.t, 'server', 'otpknock', 'bans'))?.packets).toBe(1);
    expect(await banned(4)).toEqual([fx.t.client.ipv4]);
  });

  it(`lifts the ban after ${BAN_FOR_S}s: the source's knocks work again`, async () => {
    // (the ban of the previous test may have run out while beforeEach waited for a window boundary)
    await pollUntil(async () => (await banned(4)).length === 0, {
      timeoutMs: (BAN_FOR_S + 2) * 1000,
      message: 'ban lifted',
    });
    expect(Date.now() - bannedAt).toBeGreaterThanOrEqual(BAN_FOR_S * 1000 - 500);
    expect(await knockThenProbe(fx.t, 'client', fx.t.server.ipv4, freshOpen(used))).toMatchObject({ state: 'open' });
  });

  it('bans an IPv6 source by its /64, and keeps a ban over a reload that reloads the whole table', async () => {
    await sendUdp(fx.t, 'eve', fx.t.server.ipv6, badPorts(BAN_AFTER), { delayMs: 5 });
    expect(await banned(6)).toEqual(['2001:db8:1::']);
    // the client shares eve's /64 here, so it is banned too
    expect(await knockThenProbe(fx.t, 'client', fx.t.server.ipv6, freshOpen(used), 22, 500)).toMatchObject({
      state: 'closed',
    });
    // open_for changes the table's layout: a full reload, which carries the ban over
    expect(await fx.reload(yaml('45s'))).toMatch(/loaded table/);
    expect(await banned(6)).toEqual(['2001:db8:1::']);
    await pollUntil(async () => (await banned(6)).length === 0, {
      timeoutMs: (BAN_FOR_S + 2) * 1000,
      message: 'ban lifted',
    });
  });

  it('with ban: off, bad knocks never ban', async () => {
    await fx.reload(yaml('30s', 'off'));
    await sendUdp(fx.t, 'eve', fx.t.server.ipv4, badPorts(3 * BAN_AFTER), { delayMs: 2 });
    expect(await knockThenProbe(fx.t, 'eve', fx.t.server.ipv4, freshOpen(used))).toMatchObject({ state: 'open' });
  });
});

describeE2E('otpknockd: manual switch, global mode and expiration timer', () => {
  const used = new Set<string>();
  // api's open_for. The probe and the held connection that show api open must come within it:
  // each starts a process in a namespace (~1 s at load 15 on 2 cores).
  const API_OPEN_FOR_S = 5;

  const yaml =
    (apiOpenFor = `${API_OPEN_FOR_S}s`) =>
    (secretFile: (u: TestUser) => string) => `
state_dir: ${dirname(secretFile(alice))}/state
skew: 1
step_timeout: 2s
knock: { method: time, period: ${PERIOD}, range: ${RANGE} }
services:
  ssh: { port: 22, open_for: 30s }
  api: { port: 443, open_for: ${apiOpenFor} }
users:
${usersYaml(USERS, secretFile)}
`;

  const fx = useDaemon({ services: [22, 443], config: yaml() });
  const stateDir = () => `${fx.cfg.dir}/state`;

  beforeEach(() => awayFromBoundary());

  const cli = (...args: string[]) => otpknockd(fx.t, [...args, '--config', fx.cfg.file], 15_000);
  const isOpen = async (from: 'client' | 'eve', port: number, v6 = false) =>
    (await tcpProbe(fx.t, from, v6 ? fx.t.server.ipv6 : fx.t.server.ipv4, port, 600)).state === 'open';
  /**
   * The table as the commands below could change it: its chains, rules and set declarations,
   * and the addresses in its allowed sets. Elements that time and rotations change on their
   * own (a boundary passing adds steps, a grant running out leaves) are not compared as text.
   */
  const tableState = async () => {
    const text = (await listTable(fx.t, 'server', 'inet', 'otpknock', { format: 'text' })) ?? '';
    const allowed = new Map<string, string[]>();
    for (const m of text.matchAll(/set (allowed\w+) \{[^}]*?elements = \{([^}]*)\}/g))
      allowed.set(
        m[1]!,
        m[2]!.split(',').map((e) => e.replace(/(timeout|expires) \S+/g, '').trim()),
      );
    return { layout: text.replace(/\s*elements = \{[^}]*\}/g, ''), allowed };
  };

  it(`expiration timer: after an open, new connections are accepted only for open_for (${API_OPEN_FOR_S}s); established ones continue`, async () => {
    const { t } = fx;
    await sendUdp(t, 'client', t.server.ipv4, freshOpen(used), { delayMs: 5 });
    const opened = Date.now();
    expect(await isOpen('client', 443)).toBe(true);
    const held = await openHeldConnection(t, 'client', t.server.ipv4, 443);
    // Seeing it closed takes one more probe after the fact: a process start and its 600 ms.
    const seenWithinMs = API_OPEN_FOR_S * 1000 + 5_000;
    await pollUntil(async () => !(await isOpen('client', 443)), {
      timeoutMs: seenWithinMs,
      intervalMs: 200,
      message: 'api closed after open_for',
    });
    const closedAfter = Date.now() - opened;
    expect(closedAfter).toBeGreaterThanOrEqual(API_OPEN_FOR_S * 1000 - 500);
    expect(closedAfter).toBeLessThan(seenWithinMs); // not ssh's 30 s
    expect(await setElementKeys(t, 'server', 'otpknock', 'allowed4_api')).toEqual([]);
    expect(await held.echo('after open_for')).toContain('after open_for');
    expect(await isOpen('client', 22)).toBe(true); // ssh's own open_for (30s) still runs
    held.close();
  });

  it('open ADDR --service S --for D lets one address in to one service for D; close ADDR takes it out again', async () => {
    const { t } = fx;
    const r = await cli('open', t.eve.ipv4, '--service', 'api', '--for', '3s');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/opened api \(tcp\/443\) to 192\.0\.2\.3 for 3s/);
    expect(await isOpen('eve', 443)).toBe(true);
    expect(await isOpen('eve', 22)).toBe(false);
    await pollUntil(async () => !(await isOpen('eve', 443)), {
      timeoutMs: 6_000,
      intervalMs: 200,
      message: 'manual opening expired',
    });

    expect((await cli('open', t.eve.ipv6)).code).toBe(0); // all services, their open_for
    expect(await isOpen('eve', 22, true)).toBe(true);
    expect(await isOpen('eve', 443, true)).toBe(true);
    const held = await openHeldConnection(t, 'eve', t.server.ipv6, 22);
    const c = await cli('close', t.eve.ipv6, '--service', 'ssh');
    expect(c.code, c.stderr).toBe(0);
    expect(await isOpen('eve', 22, true)).toBe(false);
    expect(await held.echo('still up')).toContain('still up');
    held.close();
    expect((await cli('close', t.eve.ipv6)).code).toBe(0); // ssh was closed already: no error
    expect(await isOpen('eve', 443, true)).toBe(false);
  });

  it('refuses a bad address, an unknown service or a bad duration with exit 2, naming it, and changes nothing', async () => {
    const { t } = fx;
    const before = await tableState();
    const cases: [string[], RegExp][] = [
      [['open', '192.0.2.300'], /"192\.0\.2\.300" is not an IPv4 or IPv6 address/],
      [['open', 'example.org'], /ADDR: "example\.org" is not an IPv4 or IPv6 address/],
      [['close', '2001:db8::1::2'], /is not an IPv4 or IPv6 address/],
      [['open', t.eve.ipv4, '--service', 'smtp'], /unknown service "smtp".*the services in .* are: ssh, api/s],
      [['open', t.eve.ipv4, '--for', '10'], /--for: .*bare number/],
      [['open', t.eve.ipv4, '--for', '8d'], /--for: 8d is out of range/],
      [['mode', 'maintenance'], /unknown mode "maintenance".*knock, open, closed/s],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    const after = await tableState();
    expect(after.layout).toBe(before.layout);
    // nothing let in: each allowed set holds at most what it held (a grant may have run out meanwhile)
    for (const [set, addresses] of after.allowed)
      expect(before.allowed.get(set) ?? [], set).toEqual(expect.arrayContaining(addresses));
  });

  it('says so when otpknockd is not running (no table), exit 1', async () => {
    const { t } = fx;
    const other = writeConfig((secretFile) => yaml()(secretFile).replace('skew: 1', 'table: notrunning\nskew: 1'));
    try {
      const r = await otpknockd(t, ['open', t.eve.ipv4, '--config', other.file], 15_000);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/otpknockd is not running: there is no table inet notrunning/);
    } finally {
      other.cleanup();
    }
  });

  it('mode open: the services are open to everybody, also after a reload and a restart', async () => {
    const r = await cli('mode', 'open');
    expect(r.code, r.stderr).toBe(0);
    expect(await isOpen('eve', 22)).toBe(true);
    expect(await isOpen('eve', 443, true)).toBe(true);
    expect((await cli('mode')).stdout).toMatch(/^open: /);
    expect(statSync(stateDir()).mode & 0o777).toBe(0o700);
    expect(readFileSync(`${stateDir()}/mode`, 'utf8')).toBe('open\n');

    // a reload that rebuilds the whole table (api's open_for changes the layout)
    expect(await fx.reload(yaml('3s'))).toMatch(/loaded table/);
    expect(await isOpen('eve', 22)).toBe(true);

    await fx.daemon.stop('SIGTERM');
    expect(await isOpen('eve', 22)).toBe(true); // no table at all: nothing filters
    await fx.start();
    expect(await isOpen('eve', 22)).toBe(true);
    expect(await isOpen('eve', 443)).toBe(true);
  });

  it('mode closed: closed to everybody, valid knocks and manual openings ignored, established connections kept', async () => {
    const { t } = fx;
    expect((await cli('mode', 'knock')).code).toBe(0);
    expect(await isOpen('eve', 22)).toBe(false);
    await sendUdp(t, 'client', t.server.ipv4, freshOpen(used), { delayMs: 5 });
    const held = await openHeldConnection(t, 'client', t.server.ipv4, 22);

    const r = await cli('mode', 'closed');
    expect(r.code, r.stderr).toBe(0);
    expect(await isOpen('client', 22)).toBe(false); // allowed by its knock, but closed to all now
    await sendUdp(t, 'eve', t.server.ipv4, freshOpen(used), { delayMs: 5 });
    expect(await setElementKeys(t, 'server', 'otpknock', 'allowed4_ssh')).not.toContain(t.eve.ipv4); // the knock was ignored
    expect((await cli('open', t.eve.ipv4)).stderr).toMatch(/the mode is "closed"/);
    expect(await isOpen('eve', 22)).toBe(false);
    expect(await held.echo('through closed')).toContain('through closed');

    await fx.reload();
    expect(await isOpen('client', 22)).toBe(false);

    expect((await cli('mode', 'knock')).code).toBe(0);
    expect(await isOpen('client', 22)).toBe(true); // its knock's opening still runs
    expect(await isOpen('eve', 22)).toBe(true); // the manual opening too
    expect(await held.echo('back to knock')).toContain('back to knock');
    held.close();
  });
});

describeE2E('otpknockd: required faux payloads, matched in the kernel', () => {
  const used = new Set<string>();
  const TOKEN_BYTES = 8;
  const tokenProfile = { ...profile, tokenBytes: TOKEN_BYTES };

  const yaml = (payload: string) => (secretFile: (u: TestUser) => string) => `
state_dir: ${dirname(secretFile(alice))}/state
skew: 1
step_timeout: 2s
ban: off
payload: ${payload}
knock: { method: time, period: ${PERIOD}, range: ${RANGE}, token_bytes: ${TOKEN_BYTES} }
services:
  ssh: { port: 22, open_for: 30s }
users:
${usersYaml(USERS, secretFile)}
`;
  const fx = useDaemon({ services: 22, config: yaml('{ require: token, shape: dns }') });

  /** A fresh open sequence with its token, of some user and a window within the skew. */
  function freshKnock(): { ports: number[]; token: Uint8Array } {
    for (const u of USERS) {
      for (const o of [0, 1, -1]) {
        const s = sequencesFor(u.secret, tokenProfile, o);
        if (!used.has(`${u.name}/${s.window}`)) {
          used.add(`${u.name}/${s.window}`);
          return { ports: s.open, token: s.token! };
        }
      }
    }
    throw new Error('no unused open sequence within the skew');
  }

  async function reloadWith(payload: string): Promise<void> {
    expect(await fx.reload(yaml(payload))).toMatch(/loaded table/);
  }

  beforeEach(() => awayFromBoundary());

  const isOpen = async (from: 'client' | 'eve', v6 = false) =>
    (await tcpProbe(fx.t, from, v6 ? fx.t.server.ipv6 : fx.t.server.ipv4, 22, 600)).state === 'open';
  const dns = parsePayloadSpec('dns');

  it('require token (dns shape): knocks without a payload, with a plain DNS query or with a wrong token are ignored', async () => {
    const { t } = fx;
    const k = freshKnock();
    await sendUdp(t, 'eve', t.server.ipv4, k.ports, { delayMs: 5 }); // empty datagrams
    await sendUdp(t, 'eve', t.server.ipv4, k.ports, { delayMs: 5, payload: k.ports.map(() => buildPayload(dns)) });
    const wrong = k.token.slice();
    wrong[0] = wrong[0]! ^ 0xff;
    await sendUdp(t, 'eve', t.server.ipv4, k.ports, {
      delayMs: 5,
      payload: k.ports.map(() => buildPayload(dns, wrong)),
    });
    const other = freshKnock(); // right shape, another user's/window's token
    await sendUdp(t, 'eve', t.server.ipv4, k.ports, {
      delayMs: 5,
      payload: k.ports.map(() => buildPayload(dns, other.token)),
    });
    await sendUdp(t, 'eve', t.server.ipv4, k.ports, {
      delayMs: 5,
      payload: k.ports.map(() => buildPayload(parsePayloadSpec('none'), k.token)),
    }); // token, not a DNS query
    expect(await isOpen('eve')).toBe(false);
    expect((await counterValue(t, 'server', 'otpknock', 'payload_refused'))?.packets).toBeGreaterThanOrEqual(
      2 * k.ports.length,
    );
    // the sequence was never consumed: with the right payload it opens now
    await sendUdp(t, 'client', t.server.ipv4, k.ports, {
      delayMs: 5,
      payload: k.ports.map(() => buildPayload(dns, k.token)),
    });
    expect(await isOpen('client')).toBe(true);
    expect(await isOpen('eve')).toBe(false);
  });

  it('require token: opens over IPv6 with each datagram a DNS query carrying the token', async () => {
    const { t } = fx;
    const k = freshKnock();
    await sendUdp(t, 'eve', t.server.ipv6, k.ports, {
      delayMs: 5,
      payload: k.ports.map(() => buildPayload(dns, k.token)),
    });
    expect(await isOpen('eve', true)).toBe(true);
  });

  it('require ntp: only NTP client requests knock', async () => {
    const { t } = fx;
    await reloadWith('{ require: ntp }');
    const k = freshKnock();
    await sendUdp(t, 'eve', t.server.ipv4, k.ports, { delayMs: 5, payload: 'not ntp' });
    await sendUdp(t, 'eve', t.server.ipv4, k.ports, { delayMs: 5, payload: k.ports.map(() => buildPayload(dns)) });
    expect(await isOpen('eve')).toBe(false);
    await sendUdp(t, 'eve', t.server.ipv4, k.ports, {
      delayMs: 5,
      payload: k.ports.map(() => buildPayload(parsePayloadSpec('ntp'))),
    });
    expect(await isOpen('eve')).toBe(true);
  });

  it('require any: empty knocks are ignored, custom bytes knock', async () => {
    const { t } = fx;
    await reloadWith('{ require: any }');
    const k = freshKnock();
    await sendUdp(t, 'client', t.server.ipv6, k.ports, { delayMs: 5 });
    expect(await isOpen('client', true)).toBe(false);
    await sendUdp(t, 'client', t.server.ipv6, k.ports, {
      delayMs: 5,
      payload: buildPayload(parsePayloadSpec('text:hello')),
    });
    expect(await isOpen('client', true)).toBe(true);
  });

  it('require token: a consumed sequence stays consumed over a crash restart (full load)', async () => {
    const { t, cfg } = fx;
    await reloadWith('{ require: token, shape: ntp }');
    const ntp = parsePayloadSpec('ntp');
    const k = freshKnock();
    await sendUdp(t, 'client', t.server.ipv4, k.ports, {
      delayMs: 5,
      payload: k.ports.map(() => buildPayload(ntp, k.token)),
    });
    expect(await isOpen('client')).toBe(true);
    await fx.daemon.stop('SIGKILL');
    await fx.start();
    const closed = await otpknockd(t, ['close', t.eve.ipv4, '--config', cfg.file], 15_000);
    expect(closed.code, closed.stderr).toBe(0); // eve knocked in an earlier test: start from closed
    expect(await isOpen('eve')).toBe(false);
    await sendUdp(t, 'eve', t.server.ipv4, k.ports, {
      delayMs: 5,
      payload: k.ports.map(() => buildPayload(ntp, k.token)),
    });
    expect(await isOpen('eve')).toBe(false);
    const fresh = freshKnock();
    await sendUdp(t, 'eve', t.server.ipv4, fresh.ports, {
      delayMs: 5,
      payload: fresh.ports.map(() => buildPayload(ntp, fresh.token)),
    });
    expect(await isOpen('eve')).toBe(true);
  });
});
