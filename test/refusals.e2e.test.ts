// Every refused knock says why, on the server (issue 13 §3), end to end: the real
// daemon and nftables in namespaces (server 192.0.2.1, client .2, eve .3; IPv6
// 2001:db8:1::/64). The kernel logs refused knocks (rate-limited per source and in
// total) to the daemon, which explains each failed knock: `otpknockd why ADDR`,
// its log line, `status`. Bans are listed, lifted with `otpknockd unban`, and
// logged and audited. Each test prints how long after the failed knock the
// explanation was there.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { parseOtpauthUri, type KnockProfile, type KnockProfileInput, type SecretBytes } from '@otpknock/shared';
import { counterValue, describeE2E, pollUntil, sendUdp, setElementKeys, tcpProbe } from '@otpknock/e2e-harness';
import { otpknockd, sequencesFor, testUser, useDaemon, usersYaml, type TestUser } from './support/otpknockd.js';

const PERIOD = 10;
// High enough that the bad knocks of the tests before the ban test do not ban eve early.
const BAN_AFTER = 20;
const alice = testUser('alice', 'why-alice');
const aliceProfile: KnockProfileInput = { method: 'time', period: PERIOD, range: '20000-40000', exclude: [30000, 22] };

interface WhyJson {
  banned: { remainingMs: number } | null;
  grants: { service: string }[];
  refusals: {
    refused: number;
    recent: { kind: string; port?: number }[];
    explanation?: { cause: string; user?: string; text: string; windowOffset?: number };
  } | null;
  events: { event: string }[];
}

/** Waits, when needed, until at least `seconds` remain in the current window. */
async function awayFromBoundary(seconds = 3): Promise<void> {
  const into = (Date.now() / 1000) % PERIOD;
  if (into > PERIOD - seconds) await new Promise((r) => setTimeout(r, (PERIOD - into + 0.2) * 1000));
}

describeE2E('otpknockd: every refused knock says why (why, log, status, bans)', () => {
  const fx = useDaemon({
    services: [22],
    config: (secretFile: (u: TestUser) => string) => `
user_store: users.d
skew: 1
step_timeout: 2s
ban: { after: ${BAN_AFTER}, within: 1m, for: 60s }
knock: { method: time, period: ${PERIOD}, range: 20000-40000, exclude: [30000] }
services:
  ssh: { port: 22, open_for: 30s }
users:
${usersYaml([alice], secretFile)}
`,
  });
  const stateDir = () => join(fx.cfg.dir, 'state');
  // In the server's namespace: why, status, mode and unban read and change its table.
  const cli = (args: string[]) => otpknockd(fx.t, [...args, '--config', fx.cfg.file]);
  const store = new Map<string, { secret: SecretBytes; profile: KnockProfile }>();

  async function issue(args: string[]): Promise<{ secret: SecretBytes; profile: KnockProfile }> {
    const r = await cli([...args, '--json', '--host', '192.0.2.1']);
    expect(r.code, r.stderr).toBe(0);
    const p = parseOtpauthUri((JSON.parse(r.stdout) as { uri: string }).uri);
    return { secret: p.secret, profile: p.profile as KnockProfile };
  }

  /** Runs a store change and waits until the daemon applied it (at the next boundary). */
  async function storeChange(args: string[]): Promise<void> {
    const mark = fx.daemon.mark();
    const r = await cli(args);
    expect(r.code, r.stderr).toBe(0);
    await fx.daemon.waitForLine(/"event":"users".*sequences updated in place/, {
      after: mark,
      timeoutMs: (PERIOD + 5) * 1000,
    });
  }

  async function why(addr: string): Promise<WhyJson> {
    const r = await cli(['why', addr, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as WhyJson;
  }

  /**
   * Sends `ports` from `from` and waits until `why` explains the address with `cause`;
   * prints how long that took after the last datagram, and returns the report and
   * the log line.
   */
  async function knockAndExplain(
    from: 'client' | 'eve',
    family: 4 | 6,
    ports: number[],
    cause: string,
  ): Promise<{ report: WhyJson; line: string; ms: number }> {
    const addr = family === 4 ? fx.t[from].ipv4 : fx.t[from].ipv6;
    const mark = fx.daemon.mark();
    await sendUdp(fx.t, from, family === 4 ? fx.t.server.ipv4 : fx.t.server.ipv6, ports, { delayMs: 5 });
    const sent = Date.now();
    let last: WhyJson | undefined;
    const report = await pollUntil(
      async () => {
        last = await why(addr);
        return last.refusals?.explanation?.cause === cause ? last : false;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: `why ${addr} says ${cause}` },
    ).catch((e: unknown) => {
      throw new Error(
        `${(e as Error).message}\nlast why: ${JSON.stringify(last?.refusals)}\ndaemon:\n${fx.daemon.stderr().slice(-4000)}`,
      );
    });
    const ms = Date.now() - sent;
    const line = await fx.daemon.waitForLine(
      (l) => l.includes('"event":"refused"') && l.includes(`"address":"${addr}"`) && l.includes(`"cause":"${cause}"`),
      { after: mark, timeoutMs: 5_000 },
    );
    console.log(`[why] ${cause}: explained ${ms} ms after the failed knock (why polled every 100 ms)`);
    return { report, line, ms };
  }

  beforeAll(async () => {
    const mark = fx.daemon.mark();
    store.set('bob', await issue(['user', 'add', 'bob']));
    store.set('carol', await issue(['user', 'add', 'carol']));
    store.set('dave', await issue(['user', 'add', 'dave']));
    // applied at a boundary (all three: alice and them); a later change waits for its own
    await fx.daemon.waitForLine(/"event":"users".*"users":4/, { after: mark, timeoutMs: 2 * (PERIOD + 5) * 1000 });
    await fx.daemon.waitForLine(/"event":"users".*sequences updated in place/, { after: mark, timeoutMs: 5_000 });
  });

  it('the client clock: the sequence of another window, with the offset', async () => {
    await awayFromBoundary();
    const { report, line } = await knockAndExplain(
      'client',
      4,
      sequencesFor(alice.secret, aliceProfile, 4).open,
      'clock',
    );
    expect(report.refusals?.explanation).toMatchObject({ user: 'alice', windowOffset: 4 });
    expect(report.refusals?.explanation?.text).toMatch(/4 windows ahead .*clock is about 40 s fast/);
    expect(line).toMatch(/knock from 192\.0\.2\.2 refused: the ports are alice's open sequence/);
    // a bad knock, not a grant
    expect(report.grants).toEqual([]);
    expect(report.banned).toBeNull();
  });

  it('a profile without the exclusions', async () => {
    await awayFromBoundary();
    const bare = { ...aliceProfile, exclude: [] };
    const offset = [0, 1, -1].find(
      (o) =>
        sequencesFor(alice.secret, bare, o).open.join() !== sequencesFor(alice.secret, aliceProfile, o).open.join(),
    );
    expect(offset, 'a window whose ports the exclusion changes').toBeDefined();
    const { report } = await knockAndExplain('client', 6, sequencesFor(alice.secret, bare, offset).open, 'profile');
    expect(report.refusals?.explanation?.text).toMatch(/alice's open sequence .* under a profile that lacks/);
  });

  it('a replay: a used sequence is refused, and the grant it made shows', async () => {
    await awayFromBoundary();
    const seq = sequencesFor(alice.secret, aliceProfile, 0).open;
    await sendUdp(fx.t, 'client', fx.t.server.ipv4, seq, { delayMs: 5 });
    expect(await tcpProbe(fx.t, 'client', fx.t.server.ipv4, 22)).toMatchObject({ state: 'open' });
    const { report } = await knockAndExplain('client', 4, seq, 'replay');
    expect(report.refusals?.explanation).toMatchObject({ user: 'alice' });
    expect(report.grants.map((g) => g.service)).toEqual(['ssh']);
    const text = await cli(['why', fx.t.client.ipv4]);
    expect(text.stdout).toMatch(/grants: ssh \(\d+s left\)/);
    expect(text.stdout).toMatch(/why \(replay, alice\): a replay/);
  });

  it('a disabled user', async () => {
    await storeChange(['user', 'disable', 'bob']);
    await awayFromBoundary();
    const bob = store.get('bob')!;
    const { report } = await knockAndExplain('eve', 4, sequencesFor(bob.secret, bob.profile, 0).open, 'disabled');
    expect(report.refusals?.explanation?.text).toMatch(/user bob is disabled/);
  });

  it('a removed user', async () => {
    await storeChange(['user', 'remove', 'carol']);
    await awayFromBoundary();
    const carol = store.get('carol')!;
    const { report } = await knockAndExplain('eve', 4, sequencesFor(carol.secret, carol.profile, 0).open, 'removed');
    expect(report.refusals?.explanation?.text).toMatch(/user carol, who was removed at/);
  });

  it('an old secret whose grace ended', async () => {
    const old = store.get('dave')!;
    // a grace longer than a window: the daemon loads it while it runs, then it ends
    const graceEnds = Date.now() + 15_000;
    await storeChange(['user', 'rotate', 'dave', '--grace', '15s', '--no-qr']);
    await new Promise((r) => setTimeout(r, graceEnds - Date.now() + 500));
    await awayFromBoundary();
    const { report } = await knockAndExplain('eve', 4, sequencesFor(old.secret, old.profile, 0).open, 'grace-ended');
    expect(report.refusals?.explanation?.text).toMatch(/dave's previous secret, whose grace period ended at/);
  });

  it('mode closed', async () => {
    expect((await cli(['mode', 'closed'])).code).toBe(0);
    try {
      await awayFromBoundary();
      const { report } = await knockAndExplain('eve', 4, sequencesFor(alice.secret, aliceProfile, 0).close, 'closed');
      expect(report.refusals?.explanation?.text).toMatch(/the mode is closed/);
    } finally {
      expect((await cli(['mode', 'knock'])).code).toBe(0);
    }
  });

  it('bans: the cut-off is logged and audited, status lists it with time left and why, a banned knock says so, unban lifts it', async () => {
    const mark = fx.daemon.mark();
    const bad = Array.from({ length: BAN_AFTER }, (_, i) => 39_990 - 7 * i);
    await sendUdp(fx.t, 'eve', fx.t.server.ipv4, bad, { delayMs: 5 });
    expect(await setElementKeys(fx.t, 'server', 'otpknock', 'banned4')).toEqual([fx.t.eve.ipv4]);
    const banLine = await fx.daemon.waitForLine(/"event":"ban"/, { after: mark, timeoutMs: 5_000 });
    expect(banLine).toMatch(/banned 192\.0\.2\.3 for 1m: 20 bad knocks within 1m/);
    await awayFromBoundary();
    const { report } = await knockAndExplain('eve', 4, sequencesFor(alice.secret, aliceProfile, 0).open, 'banned');
    expect(report.banned?.remainingMs).toBeGreaterThan(30_000);
    expect(report.refusals?.explanation?.text).toMatch(/banned until .*otpknockd unban 192\.0\.2\.3/);

    const status = await cli(['status']);
    expect(status.stdout).toMatch(
      /banned \(otpknockd unban ADDR lifts a ban\):\n {2}192\.0\.2\.3 +\d+s left, since \S+: too many bad knocks/,
    );
    expect(status.stdout).toMatch(/recent refused knocks .*\n(.*\n)*.*192\.0\.2\.3 +\d+ refused {2}banned/);
    const statusJson = JSON.parse((await cli(['status', '--json'])).stdout) as { banned: { address: string }[] };
    expect(statusJson.banned.map((b) => b.address)).toEqual([fx.t.eve.ipv4]);

    const unmark = fx.daemon.mark();
    const lifted = await cli(['unban', fx.t.eve.ipv4]);
    expect(lifted.code, lifted.stderr).toBe(0);
    expect(lifted.stdout).toMatch(/^unbanned 192\.0\.2\.3: its ban had \d+s left/);
    expect(await setElementKeys(fx.t, 'server', 'otpknock', 'banned4')).toEqual([]);
    expect((await why(fx.t.eve.ipv4)).banned).toBeNull();
    await fx.daemon.waitForLine(/"event":"unban".*the ban of 192\.0\.2\.3 was lifted/, {
      after: unmark,
      timeoutMs: 10_000,
    });
    const audit = () =>
      readFileSync(join(stateDir(), 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit().filter((e) => e.event === 'ban')).toContainEqual(
      expect.objectContaining({ address: fx.t.eve.ipv4, reason: '20 bad knocks within 1m' }),
    );
    // the unban is an operator action: who, what, the result
    expect(audit().filter((e) => e.action === 'unban')).toEqual([
      expect.objectContaining({ event: 'operator', target: fx.t.eve.ipv4, result: 'ok', uid: 0 }),
    ]);
    // the knocks count again: a valid knock opens
    await awayFromBoundary();
    await sendUdp(fx.t, 'eve', fx.t.server.ipv4, sequencesFor(alice.secret, aliceProfile, 1).open, { delayMs: 5 });
    expect(await tcpProbe(fx.t, 'eve', fx.t.server.ipv4, 22)).toMatchObject({ state: 'open' });

    const again = await cli(['unban', fx.t.eve.ipv4]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/192\.0\.2\.3 is not banned.*no address is banned now/);
    expect(
      audit()
        .filter((e) => e.action === 'unban')
        .at(-1),
    ).toMatchObject({ result: 'failed' });
    const notAddr = await cli(['unban', 'eve.example']);
    expect(notAddr.code).toBe(2);
  });

  it('unknown ports; and the kernel bounds what a flood makes the daemon read', async () => {
    const flood = Array.from({ length: 400 }, (_, i) => 20_001 + 37 * (i % 500));
    const before = (await counterValue(fx.t, 'server', 'otpknock', 'bad_knocks'))?.packets ?? 0;
    const mark = fx.daemon.mark();
    const started = Date.now();
    await sendUdp(fx.t, 'eve', fx.t.server.ipv6, flood, { delayMs: 0 });
    const seconds = (Date.now() - started) / 1000;
    const r = await pollUntil(
      async () => {
        const w = await why(fx.t.eve.ipv6);
        return w.refusals?.explanation !== undefined ? w : false;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: 'the flood explained' },
    );
    const kernel = ((await counterValue(fx.t, 'server', 'otpknock', 'bad_knocks'))?.packets ?? 0) - before;
    // the ban stops counting bad knocks after BAN_AFTER; the meter lets 24 + 2/s through
    expect(kernel).toBeGreaterThanOrEqual(BAN_AFTER);
    expect(r.refusals!.refused).toBeLessThanOrEqual(24 + Math.ceil(2 * (seconds + 1)));
    console.log(
      `[why] flood: ${flood.length} bad datagrams in ${seconds.toFixed(1)} s, the daemon read ${r.refusals!.refused} of them`,
    );
    expect(['unknown', 'banned']).toContain(r.refusals!.explanation!.cause);
    // the first datagrams were explained as unknown ports in the log
    await fx.daemon.waitForLine(/"event":"refused".*"cause":"(unknown|banned)"/, { after: mark, timeoutMs: 5_000 });
  });
});
