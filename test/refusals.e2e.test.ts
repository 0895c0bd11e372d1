// Every failed knock says why, on both sides (issue 13 §3), end to end: the real daemon
// and nftables in the server namespace (192.0.2.1, 2001:db8:1::1), and for each cause
// the real `knock` client (the built bundle) on a machine of its own on the segment,
// with a profile made the way a user makes one: imported from the URI that `otpknockd
// user uri` / `user add` printed, or added by hand (`knock add`). Each failed knock
// checks both messages: the client's (exit 1, the silence it saw, the causes only the
// server can see, and `sudo otpknockd why <its address>`) and the server's (`otpknockd
// why ADDR --json`: the cause and its sentence, and the log line). The causes: the
// client's clock (a preload shifts its clock, test/support/clock-shift.mjs), a profile
// without the exclusions, a replay (a second device with the same secret), a user
// disabled, removed, whose secret was replaced (no grace) or whose grace ended, mode
// closed, a banned address, a live sequence that did not advance (datagrams further
// apart than step_timeout), an unknown secret. Raw datagrams only where no client
// makes the traffic: the bad knocks that trigger a ban, and a flood. Also: bans are
// listed, lifted with `otpknockd unban`, logged and audited. Prints per cause how long
// the client took to report and how soon after its last datagram the server's
// explanation was ready.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { windowAt, type KnockProfileInput } from '@otpknock/shared';
import {
  CLOCK_SHIFT,
  counterValue,
  describeE2E,
  knockImport,
  knockProfile,
  otpknockd,
  pollUntil,
  sendUdp,
  sequencesFor,
  setElementKeys,
  testSecret,
  testUser,
  useDaemon,
  usersYaml,
  type ExecResult,
  type KnockProfile,
  type KnockRunOptions,
  type TestUser,
} from './support/e2e.js';

const PERIOD = 10;
// High enough that no machine's failed knocks ban it, but the ban test's.
const BAN_AFTER = 20;
const alice = testUser('alice', 'why-alice');
const aliceProfile: KnockProfileInput = { method: 'time', period: PERIOD, range: '20000-40000', exclude: [30000, 22] };
/** Every knock: 1 s per knock, one retry; knock --help's bound is (retries + 2) × timeout + 1 s, plus the sending. */
const KNOCK_FLAGS = ['--timeout', '1', '--retries', '1'];
const BOUND_MS = (1 + 2) * 1000 + 1000;
/** Node's start-up and the import of the bundle on a loaded machine. */
const STARTUP_SLACK_MS = 3000;
/** How far the clock test's client clock is ahead: 4 windows. */
const CLOCK_AHEAD_MS = 4 * PERIOD * 1000;

/** One machine per case, so that no case's grants or refusals show in another's (name: last octet). */
const MACHINES = {
  clk: 10,
  prof: 11,
  rpa: 12,
  rpb: 13,
  dis: 14,
  rem: 15,
  old: 16,
  grc: 17,
  cls: 18,
  ban: 19,
  tim: 20,
  unk: 21,
} as const;
type Machine = keyof typeof MACHINES;
const extraHosts = Object.entries(MACHINES).map(([name, n]) => ({
  name,
  ipv4: `192.0.2.${n}`,
  ipv6: `2001:db8:1::${n}`,
}));

interface WhyJson {
  banned: { remainingMs: number } | null;
  grants: { service: string }[];
  refusals: {
    refused: number;
    recent: { t: number; kind: string; port?: number }[];
    explanation?: { cause: string; user?: string; text: string; windowOffset?: number; atMs: number };
  } | null;
  events: { event: string }[];
}

/** Waits, when needed, until at least `seconds` remain in the current window. */
async function awayFromBoundary(seconds = 5): Promise<void> {
  const into = (Date.now() / 1000) % PERIOD;
  if (into > PERIOD - seconds) await new Promise((r) => setTimeout(r, (PERIOD - into + 0.2) * 1000));
}

const config =
  (stepTimeout = '2s') =>
  (secretFile: (u: TestUser) => string) => `
user_store: users.d
skew: 1
step_timeout: ${stepTimeout}
ban: { after: ${BAN_AFTER}, within: 1m, for: 60s }
knock: { method: time, period: ${PERIOD}, range: 20000-40000, exclude: [30000] }
services:
  ssh: { port: 22, open_for: 30s }
users:
${usersYaml([alice], secretFile)}
`;

describeE2E('every failed knock says why: the client, and the server (why, log, status, bans)', () => {
  const fx = useDaemon({ services: [22], config: config(), topology: { extraHosts } });
  const stateDir = () => join(fx.cfg.dir, 'state');
  // In the server's namespace: why, status, mode and unban read and change its table.
  const cli = (args: string[]) => otpknockd(fx.t, [...args, '--config', fx.cfg.file]);
  let home: string;
  const uris = new Map<string, string>();
  /** Each case's machine, with the profile its user made before the test (beforeAll). */
  const devices = new Map<Machine, Device>();
  /** One line per cause: the client's time to report, the server's time to explain. */
  const figures: string[] = [];

  /** What `otpknockd user add|uri NAME --json --host 192.0.2.1` printed: the URI. */
  async function uri(args: string[]): Promise<string> {
    const r = await cli([...args, '--json', '--host', fx.t.server.ipv4]);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { uri: string }).uri;
  }

  /** SIGHUP (what systemctl reload sends), with the config rewritten when given; the daemon must take it. */
  async function reload(text?: ReturnType<typeof config>): Promise<void> {
    const line = await fx.reload(text);
    expect(line).not.toMatch(/refused|could not/);
  }

  async function why(addr: string): Promise<WhyJson> {
    const r = await cli(['why', addr, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as WhyJson;
  }

  interface Device {
    machine: Machine;
    /** The address the server sees. */
    address: string;
    knock(args?: string[], o?: KnockRunOptions): Promise<ExecResult & { ms: number }>;
  }

  /** `machine`'s state (XDG_STATE_HOME: the used windows) and profile store, both its own. */
  function device(machine: Machine, family: 4 | 6, profile: KnockProfile): Device {
    const host = fx.t.extra[machine]!;
    return {
      machine,
      address: family === 4 ? host.ipv4 : host.ipv6,
      async knock(args = [], o = {}) {
        const started = Date.now();
        const r = await profile.knock(['srv', ...KNOCK_FLAGS, ...args], o);
        return { ...r, ms: Date.now() - started };
      },
    };
  }

  const machineDir = (machine: Machine) => {
    const dir = join(home, machine);
    mkdirSync(dir, { recursive: true });
    return { dir, env: { ...process.env, XDG_STATE_HOME: join(dir, 'state') } };
  };

  /** A machine whose user imported `user`'s URI, as docs/knock.md says: `knock import - --name srv`. */
  async function imported(machine: Machine, user: string): Promise<Device> {
    const { dir, env } = machineDir(machine);
    return device(machine, 4, await knockImport(fx.t, dir, 'profiles', 'srv', uris.get(user)!, { ns: machine, env }));
  }

  /** A machine whose user added the profile by hand: `knock add srv --address SERVER --secret-file … ...args`. */
  async function byHand(machine: Machine, family: 4 | 6, secret: Uint8Array, args: string[]): Promise<Device> {
    const { dir, env } = machineDir(machine);
    const address = family === 4 ? fx.t.server.ipv4 : fx.t.server.ipv6;
    const profile = await knockProfile(fx.t, dir, 'srv', secret, ['--address', address, ...args], { ns: machine, env });
    return device(machine, family, profile);
  }

  /** Polls `why ADDR` until the daemon explained the address's last refused datagram with `cause`. */
  async function explained(addr: string, cause: string): Promise<WhyJson> {
    let last: WhyJson | undefined;
    return pollUntil(
      async () => {
        last = await why(addr);
        const r = last.refusals;
        const e = r?.explanation;
        return e?.cause === cause && e.atMs >= (r?.recent.at(-1)?.t ?? Infinity) ? last : false;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: `why ${addr} says ${cause}` },
    ).catch((e: unknown) => {
      throw new Error(
        `${(e as Error).message}\nlast why: ${JSON.stringify(last?.refusals)}\ndaemon:\n${fx.daemon.stderr().slice(-4000)}`,
      );
    });
  }

  /**
   * `d` knocks and fails: checks what the client says (exit 1 after silence, the causes
   * it cannot see, the command that asks the server, within the bound of knock --help)
   * and what the server says of its address (why --json, the log line); records the figures.
   */
  async function failedKnock(
    d: Device,
    cause: string,
    o: { args?: string[]; run?: KnockRunOptions; boundMs?: number; knocks?: number } = {},
  ): Promise<{ client: ExecResult & { ms: number }; report: WhyJson; line: string }> {
    const mark = fx.daemon.mark();
    const client = await d.knock(o.args, o.run);
    expect(client.code, client.stderr).toBe(1);
    const knocks = o.knocks ?? 2;
    expect(client.stderr).toMatch(
      new RegExp(
        `knock: srv \\(\\S+\\) port 22: no answer after ${knocks} knocks?, [\\d.]+ s: the knock was not accepted`,
      ),
    );
    expect(client.stderr).toContain(
      'Silence is all a refused knock looks like from here. Causes only the server can see',
    );
    expect(client.stderr).toContain(
      `On the server, this shows why it refused the knock: sudo otpknockd why ${d.address}`,
    );
    expect(client.ms).toBeLessThan((o.boundMs ?? BOUND_MS) + STARTUP_SLACK_MS);

    const report = await explained(d.address, cause);
    const refusals = report.refusals!;
    const readyMs = refusals.explanation!.atMs - refusals.recent.at(-1)!.t;
    // the log line of that explanation (an equal one is not logged again within a minute)
    const said = `knock from ${d.address} refused: ${refusals.explanation!.text}`;
    const line = await fx.daemon.waitForLine(
      (l) => l.includes('"event":"refused"') && (JSON.parse(l) as { message?: string }).message === said,
      { after: mark, timeoutMs: 5_000 },
    );
    expect(JSON.parse(line)).toMatchObject({ address: d.address, cause });
    figures.push(
      `  ${cause.padEnd(12)} the client reported in ${(client.ms / 1000).toFixed(2)} s (exit ${client.code}); the server's explanation was ready ${readyMs} ms after the last datagram reached it`,
    );
    return { client, report, line };
  }

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'otpknock-why-e2e-'));
    uris.set('alice', await uri(['user', 'uri', 'alice', '--no-qr']));
    for (const name of ['bob', 'carol', 'dave', 'erin']) uris.set(name, await uri(['user', 'add', name]));
    // Loaded at once (systemctl reload), rather than at the next window boundary.
    await reload();
    // The users' machines: the profiles they imported, or one added by hand (all at once: node starts slowly)
    const hand = ['--method', 'time', '--period', String(PERIOD), '--range', '20000-40000'];
    const made = await Promise.all([
      ...(['clk', 'rpa', 'rpb', 'cls', 'ban', 'tim'] as const).map((m) => imported(m, 'alice')),
      imported('dis', 'bob'),
      imported('rem', 'carol'),
      imported('grc', 'dave'),
      imported('old', 'erin'),
      // alice's secret, without the exclusions (as issue 13 §1 found a developer doing)
      byHand('prof', 6, alice.secret, hand),
      // a secret no user has: a profile for another server
      byHand('unk', 4, testSecret('why-nobody'), [...hand, '--exclude', '30000']),
    ]);
    for (const d of made) devices.set(d.machine, d);
  });

  const machine = (m: Machine) => devices.get(m)!;

  afterAll(() => {
    console.log(
      `[why] each failed knock: the real client (knock ${KNOCK_FLAGS.join(' ')}, node start-up included) and the server:\n${figures.join('\n')}`,
    );
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('the client clock 40 s fast: the sequence of another window, with the offset; the client shows its time', async () => {
    const d = machine('clk');
    await awayFromBoundary();
    const { client, report, line } = await failedKnock(d, 'clock', {
      run: { nodeArgs: ['--import', CLOCK_SHIFT], env: { OTPKNOCK_TEST_CLOCK_OFFSET_MS: String(CLOCK_AHEAD_MS) } },
    });
    // the client cannot know its clock is off, but shows its time to compare with the server's
    const said =
      /this machine's clock more\s+than one window off \(it says (\S+); compare: date -u on the server\)/.exec(
        client.stderr,
      );
    expect(said, client.stderr).not.toBeNull();
    expect(Math.abs(Date.parse(said![1]!) - (Date.now() + CLOCK_AHEAD_MS))).toBeLessThan(5_000);
    // Judged at the last datagram: had a window boundary come between the two knocks, the
    // first one's sequence (the nearest match) would be 3 windows ahead of the server's.
    const { recent } = report.refusals!;
    const offset = windowAt(recent[0]!.t, PERIOD) === windowAt(recent.at(-1)!.t, PERIOD) ? 4 : 3;
    expect(report.refusals?.explanation).toMatchObject({ user: 'alice', windowOffset: offset });
    expect(report.refusals?.explanation?.text).toMatch(
      new RegExp(`${offset} windows ahead .*clock is about ${offset * PERIOD} s fast`),
    );
    expect(line).toMatch(/knock from 192\.0\.2\.10 refused: the ports are alice's open sequence/);
    // a bad knock, not a grant
    expect(report.grants).toEqual([]);
    expect(report.banned).toBeNull();
  });

  it('a profile added by hand without the exclusions (over IPv6)', async () => {
    const d = machine('prof');
    // the windows the client knocks differ from the server's (else a knock would open)
    const bare = { ...aliceProfile, exclude: [] };
    for (const o of [0, 1, 2])
      expect(sequencesFor(alice.secret, bare, o).open).not.toEqual(sequencesFor(alice.secret, aliceProfile, o).open);
    const { client, report } = await failedKnock(d, 'profile');
    expect(client.stderr).toMatch(/a profile that differs from the server's \(secret, method, range, exclude\)/);
    expect(report.refusals?.explanation?.text).toMatch(
      /alice's open sequence .* under a profile that lacks .*: the client's profile does not match the server's; .*otpknockd user uri alice/,
    );
  });

  it('a replay: a second device knocks the sequences the first one used in this window', async () => {
    // both devices knock within the two windows the first one uses
    await awayFromBoundary(7);
    const first = machine('rpa');
    // the first device knocks twice (two ssh sessions): this window's sequence, then the next one's
    for (let i = 0; i < 2; i++) {
      const r = await first.knock();
      expect(r.code, r.stderr).toBe(0);
    }
    // The second device, with the same secret and a state of its own, knocks once (its
    // retry would take the next window: after a boundary, a fresh one): this window's or,
    // after a boundary, the next one's, both used by the first device.
    const second = machine('rpb');
    const { client, report } = await failedKnock(second, 'replay', {
      args: ['--retries', '0'],
      knocks: 1,
      boundMs: (0 + 2) * 1000 + 1000,
    });
    expect(client.stderr).toMatch(/a sequence\s+already used/);
    expect(report.refusals?.explanation).toMatchObject({ user: 'alice' });
    expect(report.refusals?.explanation?.text).toMatch(/a replay: alice's sequence was complete, but it had been used/);
    // the first device's grant shows on its address, none on the second's
    expect(report.grants).toEqual([]);
    expect((await why(first.address)).grants.map((g) => g.service)).toEqual(['ssh']);
    const text = await cli(['why', second.address]);
    expect(text.stdout).toMatch(/why \(replay, alice\): a replay/);
  });

  describe('after the operator disabled, removed and rotated users', () => {
    let graceEndsMs = 0;

    beforeAll(async () => {
      // each user's machine imported their URI before the change (beforeAll above)
      for (const args of [
        ['user', 'disable', 'bob'],
        ['user', 'remove', 'carol'],
        ['user', 'rotate', 'erin', '--grace', '0s', '--no-qr', '--json'],
      ]) {
        const r = await cli(args);
        expect(r.code, r.stderr).toBe(0);
      }
      // a grace that is still running when the daemon loads it, and ends soon after
      const rotated = await cli(['user', 'rotate', 'dave', '--grace', '6s', '--no-qr', '--json']);
      graceEndsMs = Date.now() + 6_000; // at the latest
      expect(rotated.code, rotated.stderr).toBe(0);
      // applied at once (systemctl reload) rather than at the next window boundary
      await reload();
    });

    it('a disabled user', async () => {
      const { client, report } = await failedKnock(machine('dis'), 'disabled');
      expect(client.stderr).toMatch(/a disabled or removed user/);
      expect(report.refusals?.explanation?.text).toMatch(/user bob is disabled \(otpknockd user enable bob/);
    });

    it('a removed user', async () => {
      const { client, report } = await failedKnock(machine('rem'), 'removed');
      expect(client.stderr).toMatch(/a disabled or removed user/);
      expect(report.refusals?.explanation?.text).toMatch(/the open sequence of user carol, who was removed at/);
    });

    it('a secret replaced without grace (user rotate --grace 0s): the old secret', async () => {
      const { client, report } = await failedKnock(machine('old'), 'old-secret');
      expect(client.stderr).toMatch(/a secret the server has\s+since rotated/);
      expect(report.refusals?.explanation).toMatchObject({ user: 'erin' });
      expect(report.refusals?.explanation?.text).toMatch(
        /derived from a secret of erin that was replaced at .*\(no grace period left\): the client still has the old secret; give erin the new one/,
      );
    });

    it('an old secret whose grace ended', async () => {
      await new Promise((r) => setTimeout(r, Math.max(0, graceEndsMs - Date.now() + 500)));
      const { client, report } = await failedKnock(machine('grc'), 'grace-ended');
      expect(client.stderr).toMatch(/a secret the server has\s+since rotated/);
      expect(report.refusals?.explanation?.text).toMatch(/dave's previous secret, whose grace period ended at/);
    });
  });

  it('mode closed', async () => {
    const d = machine('cls');
    expect((await cli(['mode', 'closed'])).code).toBe(0);
    try {
      const { client, report } = await failedKnock(d, 'closed');
      expect(client.stderr).toMatch(/mode closed/);
      expect(report.refusals?.explanation?.text).toMatch(/the mode is closed/);
    } finally {
      expect((await cli(['mode', 'knock'])).code).toBe(0);
    }
  });

  it('a live sequence that did not advance: the datagrams came further apart than step_timeout', async () => {
    const d = machine('tim');
    // The client sends at most 500 ms apart (--delay); a server whose step_timeout is shorter forgets the steps.
    await reload(config('200ms'));
    try {
      const { client, report } = await failedKnock(d, 'timing', {
        args: ['--delay', '500'],
        // each knock also takes 2 × 500 ms to send
        boundMs: BOUND_MS + 2 * 1000,
      });
      // the client knows its own spacing, not the server's step_timeout
      expect(client.stderr).toMatch(
        /This knock sent its datagrams 500 ms apart \(--delay\): a server whose step_timeout is shorter/,
      );
      expect(report.refusals?.explanation).toMatchObject({ user: 'alice' });
      expect(report.refusals?.explanation?.text).toMatch(
        /alice's open sequence of window \d+ \(live\), but it did not advance: .*; here they came more than step_timeout \(200ms\) apart/,
      );
    } finally {
      await reload(config());
    }
  });

  it('a secret the server does not know (a profile for another server)', async () => {
    const d = machine('unk');
    const { report } = await failedKnock(d, 'unknown');
    expect(report.refusals?.explanation?.text).toMatch(
      /match no sequence of any user .*: a wrong secret, a profile for another server, or a port scan/,
    );
  });

  it('bans: the cut-off is logged and audited, status lists it with time left and why, a banned knock says so, unban lifts it', async () => {
    const d = machine('ban');
    const mark = fx.daemon.mark();
    // Raw datagrams: no client sends 20 bad knocks in a row (a scanner or a broken script does).
    const bad = Array.from({ length: BAN_AFTER }, (_, i) => 39_990 - 7 * i);
    await sendUdp(fx.t, 'ban', fx.t.server.ipv4, bad, { delayMs: 5 });
    expect(await setElementKeys(fx.t, 'server', 'otpknock', 'banned4')).toEqual([d.address]);
    const banLine = await fx.daemon.waitForLine(/"event":"ban"/, { after: mark, timeoutMs: 5_000 });
    expect(banLine).toMatch(/banned 192\.0\.2\.19 for 1m: 20 bad knocks within 1m/);
    const { client, report } = await failedKnock(d, 'banned');
    expect(client.stderr).toMatch(/a banned address/);
    expect(report.banned?.remainingMs).toBeGreaterThan(30_000);
    expect(report.refusals?.explanation?.text).toMatch(/banned until .*otpknockd unban 192\.0\.2\.19/);

    const status = await cli(['status']);
    expect(status.stdout).toMatch(
      /banned \(otpknockd unban ADDR lifts a ban\):\n {2}192\.0\.2\.19 +\d+s left, since \S+: too many bad knocks/,
    );
    expect(status.stdout).toMatch(/recent refused knocks .*\n(.*\n)*.*192\.0\.2\.19 +\d+ refused {2}banned/);
    const statusJson = JSON.parse((await cli(['status', '--json'])).stdout) as { banned: { address: string }[] };
    expect(statusJson.banned.map((b) => b.address)).toEqual([d.address]);

    const unmark = fx.daemon.mark();
    const lifted = await cli(['unban', d.address]);
    expect(lifted.code, lifted.stderr).toBe(0);
    expect(lifted.stdout).toMatch(/^unbanned 192\.0\.2\.19: its ban had \d+s left/);
    expect(await setElementKeys(fx.t, 'server', 'otpknock', 'banned4')).toEqual([]);
    expect((await why(d.address)).banned).toBeNull();
    await fx.daemon.waitForLine(/"event":"unban".*the ban of 192\.0\.2\.19 was lifted/, {
      after: unmark,
      timeoutMs: 10_000,
    });
    const audit = () =>
      readFileSync(join(stateDir(), 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit().filter((e) => e.event === 'ban')).toContainEqual(
      expect.objectContaining({ address: d.address, reason: '20 bad knocks within 1m' }),
    );
    // the unban is an operator action: who, what, the result
    expect(audit().filter((e) => e.action === 'unban')).toEqual([
      expect.objectContaining({ event: 'operator', target: d.address, result: 'ok', uid: 0 }),
    ]);
    // The knocks count again: the user knocks again and the service opens. The client
    // remembers the two windows its banned knock used, so it waits for the next window
    // (at most one period, within --timeout); the checks below run meanwhile.
    const again = d.knock(['--timeout', String(PERIOD + 1)]);

    const twice = await cli(['unban', d.address]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/192\.0\.2\.19 is not banned.*no address is banned now/);
    expect(
      audit()
        .filter((e) => e.action === 'unban')
        .at(-1),
    ).toMatchObject({ result: 'failed' });
    const notAddr = await cli(['unban', 'eve.example']);
    expect(notAddr.code).toBe(2);
    const opened = await again;
    expect(opened.code, opened.stderr).toBe(0);
  });

  it('unknown ports; and the kernel bounds what a flood makes the daemon read', async () => {
    // Raw datagrams: a flood is no client's traffic.
    const flood = Array.from({ length: 400 }, (_, i) => 20_001 + 37 * (i % 500));
    const before = (await counterValue(fx.t, 'server', 'otpknock', 'bad_knocks'))?.packets ?? 0;
    const mark = fx.daemon.mark();
    const started = Date.now();
    await sendUdp(fx.t, 'eve', fx.t.server.ipv4, flood, { delayMs: 0 });
    const seconds = (Date.now() - started) / 1000;
    const r = await pollUntil(
      async () => {
        const w = await why(fx.t.eve.ipv4);
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
