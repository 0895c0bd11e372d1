// otpknockd end to end: the real daemon, real nftables, real sockets, in
// throw-away namespaces (server 192.0.2.1, client .2, eve .3).
import { expect, it } from 'vitest';
import {
  APPLY_LEAD_MS,
  OTPKNOCKD,
  applyNft,
  awayFromBoundary,
  describeE2E,
  knockThenProbe,
  listTable,
  listTables,
  openHeldConnection,
  pollUntil,
  sendUdp,
  sequencesFor,
  setElementKeys,
  tableShape,
  tcpProbe,
  testUser,
  useDaemon,
  usersYaml,
  writeConfig,
  type TestUser,
} from './support/e2e.js';

const PERIOD = 5; // short windows so a rotation happens within a test
const profile = { method: 'time', period: PERIOD, range: '20000-40000' };
const alice = testUser('alice', 'alice', { services: ['ssh', 'api'] });
const bob = testUser('bob', 'bob', { services: ['ssh'] });

const configYaml =
  (table = 'otpknock') =>
  (secretFile: (u: TestUser) => string) => `
table: ${table}
# the tests below see a restart load a fresh table; the default (keep it) has its own tests (safety, one-time-use)
keep_table_on_stop: false
skew: 1
# eve's many bad knocks below would get her banned; the cut-off has its own test (side-features)
ban: off
step_timeout: 2s
knock: ${JSON.stringify(profile)}
services:
  ssh:
    port: 22
    open_for: 30s
  api:
    port: 443
    open_for: 30s
users:
${usersYaml([alice, bob], secretFile)}
`;

/**
 * Seconds a knock derived now may take to arrive on a busy machine (node starts in the
 * namespace, then sends): 2 s were seen at load 21 on 2 cores.
 */
const KNOCK_ROOM_S = 3;
/**
 * Room for a knock of offset 0 or +1: with skew 1 it stays valid if it arrives in the next
 * window; the margin keeps the one-knock-per-window bookkeeping of these tests simple.
 */
const roomForKnock = () => awayFromBoundary(PERIOD, 1.5);

/** Each user's windows whose open sequence a test used: a used sequence does not open again. */
const usedWindows = new Set<string>();
/** The sequences of `u` for the window at `offset` from now, its open marked used. */
function take(u: TestUser, offset: number) {
  const s = sequencesFor(u.secret, profile, offset);
  usedWindows.add(`${u.name}/${s.window}`);
  return s;
}
const isFresh = (u: TestUser, offset: number) =>
  !usedWindows.has(`${u.name}/${sequencesFor(u.secret, profile, offset).window}`);

describeE2E('otpknockd: the kernel knock state machine', () => {
  const fx = useDaemon({ services: [22, 443], config: configYaml() });

  it('keeps the protected services closed before any knock (IPv4 and IPv6)', async () => {
    expect(await tcpProbe(fx.t, 'client', fx.t.server.ipv4, 22)).toMatchObject({ state: 'closed', reason: 'timeout' });
    expect(await tcpProbe(fx.t, 'client', fx.t.server.ipv6, 22)).toMatchObject({ state: 'closed', reason: 'timeout' });
    expect(await tcpProbe(fx.t, 'client', fx.t.server.ipv4, 443)).toMatchObject({ state: 'closed' });
  });

  it('stays closed for wrong order, mixed sequences, an expired window and a close port in between', async () => {
    // Each attempt is derived right before it is sent, so a window boundary in
    // the middle of the test cannot turn "beyond the skew" into "valid".
    const attempts: [string, () => number[]][] = [
      ['reversed', () => [...sequencesFor(alice.secret, profile, 0).open].reverse()],
      [
        'mixed alice/bob',
        () => {
          const a = sequencesFor(alice.secret, profile, 0).open;
          const b = sequencesFor(bob.secret, profile, 0).open;
          return [a[0]!, b[1]!, a[2]!];
        },
      ],
      ['expired window', () => sequencesFor(alice.secret, profile, -2).open],
      ['window beyond skew', () => sequencesFor(alice.secret, profile, 2).open],
      [
        'close port in between',
        () => {
          const a = sequencesFor(alice.secret, profile, 0);
          return [a.open[0]!, a.close[0]!, a.open[1]!, a.open[2]!];
        },
      ],
      [
        'duplicated step',
        () => {
          const a = sequencesFor(alice.secret, profile, 0).open;
          return [a[0]!, a[0]!, a[1]!];
        },
      ],
    ];
    for (const [what, ports] of attempts) {
      if (what === 'window beyond skew')
        // the window after the skew is loaded APPLY_LEAD_MS before the boundary: arrive before that
        await awayFromBoundary(PERIOD, APPLY_LEAD_MS / 1000 + KNOCK_ROOM_S, 0.1);
      else if (what === 'expired window')
        // the window before the skew ends at the boundary plus the ms its elements' insertion took to commit
        await awayFromBoundary(PERIOD, 0.5, 1);
      else await roomForKnock();
      await sendUdp(fx.t, 'eve', fx.t.server.ipv4, ports(), { delayMs: 5 });
      const probe = await tcpProbe(fx.t, 'eve', fx.t.server.ipv4, 22, 500);
      expect(probe.state, what).toBe('closed');
    }
    expect(await setElementKeys(fx.t, 'server', 'otpknock', 'allowed4_ssh')).toEqual([]);
  });

  it('opens for the source that knocks the right sequence, and only the services of that user (IPv4)', async () => {
    await roomForKnock();
    const bobs = take(bob, 0);
    expect(await knockThenProbe(fx.t, 'client', fx.t.server.ipv4, bobs.open)).toMatchObject({ state: 'open' });
    expect(await tcpProbe(fx.t, 'client', fx.t.server.ipv4, 443, 500)).toMatchObject({ state: 'closed' }); // bob: ssh only
    expect(await tcpProbe(fx.t, 'eve', fx.t.server.ipv4, 22, 500)).toMatchObject({ state: 'closed' }); // only the knocking address
    expect(await setElementKeys(fx.t, 'server', 'otpknock', 'allowed4_ssh')).toEqual([fx.t.client.ipv4]);
  });

  it('opens over IPv6 too, and refuses a replay of a used sequence from another address', async () => {
    await roomForKnock();
    const seq = take(alice, 1); // next window: still within the skew
    expect(await knockThenProbe(fx.t, 'client', fx.t.server.ipv6, seq.open)).toMatchObject({ state: 'open' });
    expect(await tcpProbe(fx.t, 'client', fx.t.server.ipv6, 443)).toMatchObject({ state: 'open' }); // alice: ssh and api
    // eve replays what she overheard
    expect(await knockThenProbe(fx.t, 'eve', fx.t.server.ipv6, seq.open, 22, 500)).toMatchObject({ state: 'closed' });
  });

  it('closes for new connections with the close sequence; a live connection stays up', async () => {
    await awayFromBoundary(PERIOD, KNOCK_ROOM_S); // the previous window ends with this one
    // previous window: still within the skew (of a user whose sequence of it no test used yet)
    const who = [alice, bob].find((u) => isFresh(u, -1))!;
    const open = take(who, -1).open;
    expect(await knockThenProbe(fx.t, 'eve', fx.t.server.ipv4, open)).toMatchObject({ state: 'open' });
    const held = await openHeldConnection(fx.t, 'eve', fx.t.server.ipv4, 22);
    // The close of the window current when it is sent, as `knock close` does: on a busy
    // machine the window of the open may have ended by now.
    await roomForKnock();
    const close = sequencesFor(who.secret, profile, 0).close;
    expect(await knockThenProbe(fx.t, 'eve', fx.t.server.ipv4, close, 22, 500)).toMatchObject({ state: 'closed' });
    expect(await held.echo('still here')).toContain('still here');
    held.close();
  });

  it('keeps an established connection through a rotation, a reload and a restart', async () => {
    await roomForKnock();
    const seq = take(bob, 1);
    await sendUdp(fx.t, 'client', fx.t.server.ipv4, seq.open, { delayMs: 5 });
    const held = await openHeldConnection(fx.t, 'client', fx.t.server.ipv4, 22);
    const mark = fx.daemon.mark();
    await fx.daemon.waitForLine(/"event":"rotation"/, { after: mark, timeoutMs: (PERIOD + 2) * 1000 });
    expect(await held.echo('after rotation')).toContain('after rotation');
    await fx.reload();
    expect(await held.echo('after reload')).toContain('after reload');
    await fx.daemon.stop('SIGTERM');
    expect(await listTable(fx.t, 'server', 'inet', 'otpknock')).toBeNull();
    await fx.start();
    expect(await held.echo('after restart')).toContain('after restart');
    held.close();
  });

  it('logs each rotation with its duration, as JSON lines, without secrets', async () => {
    const rotation = await fx.daemon.waitForLine(/"event":"rotation"/, { timeoutMs: (PERIOD + 2) * 1000 });
    const line = JSON.parse(rotation) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', event: 'rotation' });
    expect(typeof line.took_ms).toBe('number');
    const all = fx.daemon.stderr();
    for (const u of [alice, bob]) {
      const { encodeSecret } = await import('@otpknock/shared');
      expect(all).not.toContain(encodeSecret(u.secret));
    }
  });

  it('keeps the old rules when SIGHUP brings a broken config', async () => {
    const before = await listTable(fx.t, 'server', 'inet', 'otpknock', { format: 'text' });
    expect(await fx.reload('table: otpknock\nservices: {}\nusers: {}\n')).toMatch(/still running the old one/);
    const after = await listTable(fx.t, 'server', 'inet', 'otpknock', { format: 'text' });
    // same chains and sets; elements may have rotated meanwhile
    expect(tableShape(after)).toBe(tableShape(before));
    expect(fx.daemon.running).toBe(true);
    fx.cfg.write(configYaml());
  });

  it('removes its table on stop (keep_table_on_stop: false) and leaves other tables untouched', async () => {
    await applyNft(
      fx.t,
      'server',
      'table inet bystander {\n\tchain c {\n\t\ttype filter hook input priority 10; policy accept;\n\t\tcounter\n\t}\n}\n',
    );
    const bystander = await listTable(fx.t, 'server', 'inet', 'bystander', { format: 'text' });
    const result = await fx.daemon.stop('SIGTERM');
    expect(result.code).toBe(0);
    expect(await listTables(fx.t, 'server')).not.toContain('inet otpknock');
    const after = await listTable(fx.t, 'server', 'inet', 'bystander', { format: 'text' });
    expect(after?.replace(/packets \d+ bytes \d+/g, '')).toBe(bystander?.replace(/packets \d+ bytes \d+/g, ''));
    await fx.start(); // for afterAll symmetry
  });

  it('stops as configured also when SIGTERM comes while nft runs (a reload in flight), 8 times in a row', async () => {
    for (let i = 0; i < 8; i++) {
      const mark = fx.daemon.mark();
      fx.daemon.signal('SIGHUP'); // the reload runs nft for ~20-30 ms
      await new Promise((r) => setTimeout(r, 4 + i * 4));
      const exit = await fx.daemon.stop('SIGTERM');
      expect(exit, fx.daemon.stderr().split('\n').slice(-6).join('\n')).toEqual({ code: 0, signal: null });
      await fx.daemon.waitForLine(/"event":"stop","message":"stopped; table inet otpknock removed"/, {
        after: mark,
        timeoutMs: 1_000,
      });
      expect(await listTables(fx.t, 'server')).not.toContain('inet otpknock');
      await fx.start();
    }
  });

  it('a second SIGTERM (or SIGINT) while stopping is only noted: one clean stop, exit 0', async () => {
    const mark = fx.daemon.mark();
    fx.daemon.signal('SIGTERM');
    fx.daemon.signal('SIGINT');
    fx.daemon.signal('SIGTERM');
    const exit = await fx.daemon.stop('SIGTERM');
    expect(exit, fx.daemon.stderr().split('\n').slice(-6).join('\n')).toEqual({ code: 0, signal: null });
    await fx.daemon.waitForLine(/"message":"received SIG(TERM|INT), already stopping"/, {
      after: mark,
      timeoutMs: 1_000,
    });
    expect(fx.daemon.stderr().match(/"event":"stop","message":"stopped; table inet otpknock removed"/g)).toHaveLength(
      1,
    );
    expect(await listTables(fx.t, 'server')).not.toContain('inet otpknock');
    await fx.start();
  });

  it('refuses to take over a table of the same name that it did not make', async () => {
    await applyNft(fx.t, 'server', 'table inet theirs {\n}\n');
    const other = writeConfig(configYaml('theirs'));
    try {
      const proc = fx.t.spawn('server', [process.execPath, OTPKNOCKD, 'run', '--config', other.file]);
      const exit = await proc.exited;
      expect(exit.code).toBe(1);
      expect(proc.stderr()).toMatch(/table inet theirs already exists and was not made by otpknockd/);
      expect(await listTable(fx.t, 'server', 'inet', 'theirs', { format: 'text' })).toMatch(
        /table inet theirs \{\s*\}/,
      );
    } finally {
      other.cleanup();
    }
  });

  it('is carried over a SIGKILL: restart finds its own table and keeps who is allowed', async () => {
    await roomForKnock();
    const seq = take(alice, 1);
    await sendUdp(fx.t, 'client', fx.t.server.ipv4, seq.open, { delayMs: 5 });
    await pollUntil(
      async () => (await setElementKeys(fx.t, 'server', 'otpknock', 'allowed4_api')).includes(fx.t.client.ipv4),
      { timeoutMs: 2000 },
    );
    await fx.daemon.stop('SIGKILL');
    expect(await listTable(fx.t, 'server', 'inet', 'otpknock')).not.toBeNull(); // a crash leaves protection in place
    await fx.start();
    // the killed daemon's NFLOG reader died with it, so the new one reads the audit group again
    await fx.daemon.waitForLine(/reading opens from NFLOG group|no audit of opens/, { timeoutMs: 5_000 });
    expect(fx.daemon.stderr()).not.toMatch(/no audit of opens/);
    expect(await setElementKeys(fx.t, 'server', 'otpknock', 'allowed4_api')).toContain(fx.t.client.ipv4);
    expect(await tcpProbe(fx.t, 'client', fx.t.server.ipv4, 443)).toMatchObject({ state: 'open' });
    // the sequence used before the crash is still consumed: eve's replay stays closed
    expect(await knockThenProbe(fx.t, 'eve', fx.t.server.ipv4, seq.open, 443, 500)).toMatchObject({ state: 'closed' });
  });

  it('carries consumed sequences over a reload that changes the table shape', async () => {
    await roomForKnock();
    const seq = take(bob, 1);
    expect(await knockThenProbe(fx.t, 'client', fx.t.server.ipv4, seq.open)).toMatchObject({ state: 'open' });
    // a different set timeout: a full load
    const line = await fx.reload((secretFile) =>
      configYaml()(secretFile).replace('    open_for: 30s\n  api:', '    open_for: 31s\n  api:'),
    );
    expect(JSON.parse(line)).toMatchObject({ carried_used: expect.any(Number) });
    expect((JSON.parse(line) as { carried_used: number }).carried_used).toBeGreaterThan(0);
    expect(await knockThenProbe(fx.t, 'eve', fx.t.server.ipv4, seq.open, 22, 500)).toMatchObject({ state: 'closed' });
    fx.cfg.write(configYaml());
  });
});
