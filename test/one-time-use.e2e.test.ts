// One-time use end to end: a consumed knock stays consumed across a clean stop
// (table removed or kept), a crash followed by the loss of the kernel's state (a
// reboot), and a window boundary; one daemon per table; and knocks placed in the
// first milliseconds of a window open. Real daemon, real nft, real namespaces
// (server 192.0.2.1, client .2, eve .3; the boundary burst adds 192.0.2.100-149).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  NODE,
  OTPKNOCKD,
  agentPath,
  applyNft,
  awayFromBoundary,
  describeE2E,
  knockThenProbe,
  listTable,
  listTables,
  otpknockd,
  pollUntil,
  sequencesFor,
  setElementKeys,
  startDaemon,
  startService,
  tableShape,
  tcpProbe,
  testUser,
  useDaemon,
  usersYaml,
  useTopology,
  writeConfig,
  type ConfigDir,
  type ConfigText,
  type NsProcess,
  type TestUser,
  type Topology,
} from './support/e2e.js';

const PERIOD = 5;
const profile = { method: 'time', period: PERIOD, range: '20000-40000' };
const alice = testUser('alice');

const configYaml =
  (extra: string, users: TestUser[] = [alice], skew = 1): ConfigText =>
  (secretFile) => `
skew: ${skew}
ban: off
${extra}
knock: ${JSON.stringify(profile)}
services:
  ssh: { port: 22, open_for: 30s }
users:
${usersYaml(users, secretFile)}
`;

/** Waits until the current window has at least `needS` seconds left. */
const withRoom = (needS: number) => awayFromBoundary(PERIOD, needS, 0.05);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeE2E('one-time use survives stops, restarts and the loss of the table', () => {
  const topo = useTopology();
  let t: Topology;
  let daemon: NsProcess | undefined;
  const configs: ConfigDir[] = [];

  beforeAll(async () => {
    t = topo();
    await startService(t, 'server', 22);
  });
  // A test that failed half-way leaves its daemon running: the next one would meet its table lock.
  afterEach(async () => {
    await daemon?.stop('SIGTERM');
    daemon = undefined;
  });
  afterAll(() => {
    for (const c of configs) c.cleanup();
  });

  /**
   * The client knocks the current window's open sequence, early in the window, and gets in;
   * eve's replay does not. With skew 2 (config()) the sequence stays valid for 14 s or more:
   * room for the stops and starts that follow (a few seconds each at load 15 on 2 cores),
   * so that a restarted daemon has a live sequence to carry over.
   */
  async function consumeNow(): Promise<number[]> {
    await withRoom(4);
    const seq = sequencesFor(alice.secret, profile, 0).open;
    expect(await knockThenProbe(t, 'client', t.server.ipv4, seq)).toMatchObject({ state: 'open' });
    await replayIsRefused(seq);
    return seq;
  }

  async function replayIsRefused(seq: number[]): Promise<void> {
    expect(await knockThenProbe(t, 'eve', t.server.ipv4, seq, 22, 500)).toMatchObject({ state: 'closed' });
    expect(await setElementKeys(t, 'server', 'otpknock', 'allowed4_ssh')).not.toContain(t.eve.ipv4);
  }

  function config(extra: string): ConfigDir {
    const c = writeConfig(configYaml(extra, [alice], 2));
    configs.push(c);
    return c;
  }

  it('a clean stop that removes the table (keep_table_on_stop: false), then a start: the replay is refused, also after the next boundary', async () => {
    const cfg = config('keep_table_on_stop: false');
    daemon = await startDaemon(t, cfg.file);
    const seq = await consumeNow();
    expect((await daemon.stop('SIGTERM')).code).toBe(0);
    daemon = undefined;
    expect(await listTables(t, 'server')).not.toContain('inet otpknock'); // the kernel forgot
    const saved = JSON.parse(readFileSync(join(cfg.dir, 'state', 'consumed.json'), 'utf8')) as {
      consumed: { ports: number[] }[];
    };
    expect(saved.consumed.map((c) => c.ports)).toContainEqual(seq);
    daemon = await startDaemon(t, cfg.file);
    const start = JSON.parse((await daemon.waitForLine(/"event":"start"/)).trim()) as { carried_used: number };
    expect(start.carried_used).toBeGreaterThanOrEqual(1);
    await replayIsRefused(seq);
    // the next window: the sequence is still valid (skew 2) and still used
    const into = (Date.now() / 1000) % PERIOD;
    await sleep((PERIOD - into + 0.3) * 1000);
    await replayIsRefused(seq);
    await daemon.stop('SIGTERM');
    daemon = undefined;
  });

  it('the default stop keeps the table (fail closed); the restart takes it over and the replay stays refused', async () => {
    const cfg = config('');
    daemon = await startDaemon(t, cfg.file);
    const seq = await consumeNow();
    expect((await daemon.stop('SIGTERM')).code).toBe(0);
    daemon = undefined;
    expect(await listTables(t, 'server')).toContain('inet otpknock');
    expect(await tcpProbe(t, 'eve', t.server.ipv4, 22, 500)).toMatchObject({ state: 'closed' }); // fail closed
    await replayIsRefused(seq); // with no daemon at all
    daemon = await startDaemon(t, cfg.file);
    await replayIsRefused(seq);
    await daemon.stop('SIGTERM');
    daemon = undefined;
  });

  it('a crash and then the loss of the kernel state (as at a reboot): the audit kept the consume, the replay is refused', async () => {
    const cfg = config('');
    daemon = await startDaemon(t, cfg.file);
    await daemon.waitForLine(/reading opens from NFLOG group/, { timeoutMs: 5_000 });
    const seq = await consumeNow();
    await pollUntil(
      () => {
        try {
          return (
            JSON.parse(readFileSync(join(cfg.dir, 'state', 'consumed.json'), 'utf8')) as {
              consumed: { ports: number[] }[];
            }
          ).consumed.some((c) => c.ports.join() === seq.join());
        } catch {
          return false;
        }
      },
      { timeoutMs: 3_000, message: 'the consume written to consumed.json' },
    );
    await daemon.stop('SIGKILL');
    daemon = undefined;
    await applyNft(t, 'server', 'delete table inet otpknock\n'); // what a reboot does to the kernel's state
    daemon = await startDaemon(t, cfg.file);
    await replayIsRefused(seq);
    await daemon.stop('SIGTERM');
    daemon = undefined;
  });

  it('without the audit reader (no python3 on PATH) the consume reaches consumed.json at the clean stop (security.md)', async () => {
    const cfg = config('keep_table_on_stop: false');
    const consumedFile = join(cfg.dir, 'state', 'consumed.json');
    const savedSequences = (): string[] =>
      existsSync(consumedFile)
        ? (JSON.parse(readFileSync(consumedFile, 'utf8')) as { consumed: { ports: number[] }[] }).consumed.map((c) =>
            c.ports.join(),
          )
        : [];
    // nft is in /usr/sbin, python3 is not: the daemon runs, unaudited
    daemon = await startDaemon(t, cfg.file, [], { env: { ...process.env, PATH: '/usr/sbin:/sbin' } });
    await daemon.waitForLine(/no audit of opens: cannot run python3/, { timeoutMs: 5_000 });
    const seq = await consumeNow();
    await sleep(1_000); // what the audit would have needed to write it
    expect(savedSequences()).not.toContain(seq.join());
    expect((await daemon.stop('SIGTERM')).code).toBe(0);
    daemon = undefined;
    expect(await listTables(t, 'server')).not.toContain('inet otpknock');
    expect(savedSequences()).toContain(seq.join()); // from the kernel's used set at the stop
    daemon = await startDaemon(t, cfg.file);
    await replayIsRefused(seq);
    await daemon.stop('SIGTERM');
    daemon = undefined;
  });
});

describeE2E('one daemon per table', () => {
  const fx = useDaemon({ services: 22, config: configYaml('') });

  it('a second run for the same table refuses (exit 2) and touches nothing; the first goes on rotating and stays findable', async () => {
    const { t, cfg, daemon } = fx;
    const before = await listTable(t, 'server', 'inet', 'otpknock', { format: 'text' });
    const pidFile = readFileSync(join(cfg.dir, 'state', 'daemon.json'), 'utf8');
    const other = writeConfig(configYaml('')); // another config file and state dir, the same table
    try {
      for (const file of [cfg.file, other.file]) {
        const second = await otpknockd(t, ['run', '--config', file], 15_000);
        expect(second.code).toBe(2);
        expect(second.stderr).toContain(
          `otpknockd: otpknockd is already running as pid ${daemon.pid} (config ${cfg.file}) for table inet otpknock; nothing was changed`,
        );
        expect(second.stderr).not.toMatch(/\n\s+at /); // no stack trace
      }
      // apply with a file whose state_dir the daemon does not use: it names the daemon, not "put the file in place"
      const apply = await otpknockd(t, ['apply', '--config', other.file, '--confirm-within', '10s'], 15_000);
      expect(apply.code).toBe(1);
      expect(apply.stderr).toContain(
        `otpknockd runs as pid ${daemon.pid} for table inet otpknock (config ${cfg.file}), but `,
      );
      expect(apply.stderr).not.toMatch(/put the file in place/);
    } finally {
      other.cleanup();
    }
    expect(readFileSync(join(cfg.dir, 'state', 'daemon.json'), 'utf8')).toBe(pidFile);
    const mark = daemon.mark();
    await daemon.waitForLine(/"event":"rotation"/, { after: mark, timeoutMs: PERIOD * 1000 + 3_000 });
    expect(daemon.stderr()).not.toMatch(/"level":"error"/);
    const after = await listTable(t, 'server', 'inet', 'otpknock', { format: 'text' });
    expect(tableShape(after)).toBe(tableShape(before));
    // apply still finds the first daemon through its pid file
    const status = await otpknockd(t, ['status', '--config', cfg.file, '--json'], 15_000);
    expect(JSON.parse(status.stdout)).toMatchObject({ daemon: { pid: daemon.pid } });
  });

  it('a daemon in another network namespace may use the same table name', async () => {
    const { t } = fx;
    // eve's namespace is another host: its own kernel tables, its own lock
    const own = writeConfig(configYaml(''));
    const proc = t.spawn('eve', [NODE, OTPKNOCKD, 'run', '--config', own.file, '--log-format', 'json']);
    try {
      await proc.waitForLine(/"event":"start"|otpknockd: /, { timeoutMs: 15_000 });
      expect(proc.stderr()).toMatch(/"event":"start"/);
    } finally {
      await proc.stop('SIGTERM');
      own.cleanup();
    }
    expect(fx.daemon.running).toBe(true);
  });
});

describeE2E('knocks in the first milliseconds of a window open', () => {
  const USERS = 10;
  const BOUNDARIES = 5;
  const users = Array.from({ length: USERS }, (_, i) => testUser(`u${i}`, `boundary-user-${i}`));
  const source = (b: number, u: number) => `192.0.2.${100 + b * USERS + u}`;
  // skew 0: only the current window is valid, so a knock in a window's first
  // milliseconds needs that window in the kernel by then
  const fx = useDaemon({ services: 22, config: configYaml('step_timeout: 2s', users, 0) });

  beforeAll(async () => {
    const { t } = fx;
    for (let b = 0; b < BOUNDARIES; b++)
      for (let u = 0; u < USERS; u++) {
        await t.exec('client', ['ip', 'addr', 'add', `${source(b, u)}/24`, 'dev', t.client.ifname], {
          timeoutMs: 5_000,
          check: true,
        });
      }
  });

  it(`${USERS * BOUNDARIES} knocks placed 0-50 ms after ${BOUNDARIES} boundaries all open (skew 0)`, async () => {
    const { t, daemon } = fx;
    const first = (Math.floor(Date.now() / 1000 / PERIOD) + 2) * PERIOD * 1000; // leave time to get ready
    const jobs: { atMs: number; from: string; ports: number[]; b: number; u: number; offsetMs: number }[] = [];
    for (let b = 0; b < BOUNDARIES; b++) {
      const boundary = first + b * PERIOD * 1000;
      for (let u = 0; u < USERS; u++) {
        const offsetMs = (u * 5 + b * 3) % 51; // spread over 0-50 ms
        jobs.push({
          atMs: boundary + offsetMs,
          from: source(b, u),
          ports: sequencesFor(users[u]!.secret, profile, 0, boundary).open,
          b,
          u,
          offsetMs,
        });
      }
    }
    // Real-time priority (SCHED_FIFO) for the sender only: on a loaded machine a normal
    // process woke 20-60 ms late, so its knocks missed the first milliseconds under test.
    const r = await t.exec('client', ['chrt', '--fifo', '10', NODE, agentPath('timed-knocks.mjs')], {
      input: JSON.stringify({ host: t.server.ipv4, delayMs: 2, jobs }),
      timeoutMs: (BOUNDARIES + 3) * PERIOD * 1000,
    });
    expect(r.code, r.stderr).toBe(0);
    const sent = JSON.parse(r.stdout) as { lateMs: number[] };
    console.log(`timed knocks: the latest left ${Math.max(...sent.lateMs)} ms after its instant`);
    // The agent kept to its schedule: every knock left within the first 100 ms of its window.
    // At real-time priority it is 0-1 ms late, but interrupt work (another test's flood) can
    // still hold it up: 30 ms once in 9 runs at load 8-14 (before, without: 49-79 ms).
    expect(Math.max(...sent.lateMs)).toBeLessThan(50);
    const allowed = await pollUntil(
      async () => {
        const keys = await setElementKeys(t, 'server', 'otpknock', 'allowed4_ssh');
        return jobs.every((j) => keys.includes(j.from)) ? keys : undefined;
      },
      { timeoutMs: 2_000, message: 'every boundary knock granted' },
    ).catch(async () => setElementKeys(t, 'server', 'otpknock', 'allowed4_ssh'));
    const failed = jobs
      .filter((j) => !allowed.includes(j.from))
      .map((j) => `boundary ${j.b} user u${j.u} at +${j.offsetMs} ms`);
    expect(
      failed,
      `knocks that did not open:\n${failed.join('\n')}\n${daemon
        .stderr()
        .split('\n')
        .filter((l) => /rotation|error/.test(l))
        .slice(-8)
        .join('\n')}`,
    ).toEqual([]);
  });
});
