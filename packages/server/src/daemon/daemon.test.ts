// The daemon against a fake nft (fault injection) and a fake clock: what it
// sends to nft, what it keeps when nft fails, and when it retries.
import { describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { windowAt } from '@otpknock/shared';
import { usedTimeoutMs } from '../ruleset/full-load.js';
import { ConsumedSequences } from './consumed.js';
import { Daemon } from './daemon.js';
import { APPLY_LEAD_MS } from './schedule.js';
import { planEntries } from '../plan/entries.js';
import { readConsumed } from '../state/consumed-file.js';
import { NftDriver, type NftRunner } from '../nft/driver.js';
import { FakeClock, memoryLogger, serverConfig, timeProfile, user } from '@otpknock/server/testing';
import type { ServerConfig } from '../config/index.js';
import { TABLE_COMMENT } from '../ruleset/render.js';

class FakeNft implements NftRunner {
  calls: { args: readonly string[]; input?: string }[] = [];
  failNext = 0;
  tableListing: string | null = null;
  async run(args: readonly string[], input?: string) {
    this.calls.push({ args, input });
    if (args[0] === 'list') {
      if (this.tableListing === null)
        throw Object.assign(new Error('nft'), { stderr: 'Error: No such file or directory' });
      return { stdout: this.tableListing, stderr: '' };
    }
    if (args[0] === '-j') return { stdout: '{"nftables":[]}', stderr: '' };
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw Object.assign(new Error('nft failed'), { stderr: 'Error: Could not process rule: File exists' });
    }
    return { stdout: '', stderr: '' };
  }
  scripts() {
    return this.calls.filter((c) => c.args.includes('-f')).map((c) => c.input ?? '');
  }
}

const T0 = Date.UTC(2026, 10, 25, 12, 0, 10); // 10 s into a 30 s window

/** A daemon on a fake nft, a fake clock at T0 and a logger that keeps its lines. */
function fakeDaemon(config = serverConfig(), nft = new FakeNft(), clock = new FakeClock(T0)) {
  const { log, lines } = memoryLogger();
  return { d: new Daemon({ config, nft: new NftDriver(nft), log, clock }), nft, clock, lines };
}

describe('Daemon', () => {
  it('loads the whole table at start, then rotates with element changes at each boundary', async () => {
    const { d, nft, clock } = fakeDaemon(serverConfig({ users: [user('alice'), user('bob')] }));
    await d.start();
    const [first] = nft.scripts();
    expect(first).toContain('table inet otpknock_test {');
    expect(first).toContain('delete table inet otpknock_test');
    await clock.advance(20_000); // reach the boundary
    const scripts = nft.scripts();
    expect(scripts).toHaveLength(2);
    expect(scripts[1]).toMatch(/^add element inet otpknock_test step \{ .*timeout \d+ms : /m);
    expect(scripts[1]).not.toContain('table inet otpknock_test {');
    // The window that ended is left to the kernel's timeouts: the only deletes are
    // of keys being replaced (each first re-added with its old value for 1 s).
    const keys = (re: RegExp) =>
      [...scripts[1]!.matchAll(re)].flatMap((m) => m[1]!.split(', ')).map((e) => e.replace(/ timeout .*$/, ''));
    const deleted = keys(/^delete element inet otpknock_test step \{ (.*) \}$/gm);
    const reAdded = keys(/^add element inet otpknock_test step \{ (.*timeout 1s : .*) \}$/gm);
    expect(deleted.sort()).toEqual(reAdded.sort());
  });

  it('computes a rotation ahead of its boundary and loads it APPLY_LEAD_MS before it; a reload in between discards it', async () => {
    const { d, nft, clock, lines } = fakeDaemon(serverConfig({ users: [user('alice'), user('bob')] }));
    await d.start();
    await clock.advance(20_000 - APPLY_LEAD_MS - 1); // just before the load: prepared, nothing sent yet
    expect(nft.scripts()).toHaveLength(1);
    await clock.advance(1); // APPLY_LEAD_MS before the boundary: the new window goes in
    expect(nft.scripts()).toHaveLength(2);
    expect(lines.at(-1)).toMatch(/^info rotation knock sequences rotated/);
    const leaves = (script: string) => (script.match(/timeout \d+ms : 0x[89a-f]/g) ?? []).length;
    expect(leaves(nft.scripts()[1]!)).toBe(4); // the new window: open and close of 2 users
    // Its timeouts count from the load, not from the boundary: the window that starts
    // at 12:01:00 is valid (skew 1) until 12:02:00, 91 s after 12:00:29.
    expect(nft.scripts()[1]!.match(/timeout (\d+)ms : 0x[89a-f]/)?.[1]).toBe(String(90_000 + APPLY_LEAD_MS));
    // A reload in that second plans for the coming boundary too: the early window stays.
    nft.tableListing = `table inet otpknock_test {\n\tcomment "${TABLE_COMMENT}"\n}`;
    await d.reload(async () => serverConfig({ users: [user('alice'), user('bob')] }));
    expect(nft.scripts()).toHaveLength(2); // nothing to change
    await clock.advance(APPLY_LEAD_MS); // the boundary itself: nothing more to do
    expect(nft.scripts()).toHaveLength(2);
    nft.tableListing = null;

    nft.tableListing = `table inet otpknock_test {\n\tcomment "${TABLE_COMMENT}"\n}`;
    await clock.advance(28_000); // prepared for the next boundary…
    await d.reload(async () => serverConfig({ users: [user('alice'), user('bob'), user('carol')] })); // …then discarded
    expect(leaves(nft.scripts().at(-1)!)).toBe(6); // carol's 3 windows, in place
    await clock.advance(2_000);
    expect(leaves(nft.scripts().at(-1)!)).toBe(6); // the rotation, computed afresh, for all 3 users
    expect(lines.filter((l) => l.startsWith('error'))).toEqual([]);
  });

  it('a prepared rotation that loads late (a busy machine) counts its timeouts from when it loads', async () => {
    const { d, nft, clock } = fakeDaemon(serverConfig({ users: [user('alice'), user('bob')] }));
    await d.start();
    await clock.advance(20_000 - APPLY_LEAD_MS - 1); // prepared, with timeouts counted from 12:00:29
    expect(nft.scripts()).toHaveLength(1);
    clock.t += 1 + 400; // the load timer fires 400 ms late
    await clock.advance(0);
    expect(nft.scripts()).toHaveLength(2);
    // The window that starts at 12:01:00 is valid until 12:02:00: 89.6 s after 12:00:29.400.
    // Its timeouts as prepared (90 + 1 s) would keep it, and every element, 400 ms too long.
    const timeouts = (nft.scripts()[1]!.match(/timeout \d+ms : 0x[89a-f]/g) ?? []).map((x) => /\d+/.exec(x)![0]);
    expect(timeouts).toHaveLength(4);
    expect(new Set(timeouts)).toEqual(new Set([String(90_000 + APPLY_LEAD_MS - 400)]));
  });

  it('notices a wall clock step (against the monotonic clock) and reloads the whole table for the new time', async () => {
    const nft = new FakeNft();
    const clock = new FakeClock(T0);
    let wallOffset = 0;
    const stepping = Object.assign(Object.create(clock) as FakeClock, {
      now: () => clock.now() + wallOffset,
      monotonic: () => clock.now(),
    });
    const { log, lines } = memoryLogger();
    const d = new Daemon({
      config: serverConfig({ users: [user('alice')] }),
      nft: new NftDriver(nft),
      log,
      clock: stepping,
    });
    await d.start();
    nft.tableListing = `table inet otpknock_test {\n\tcomment "${TABLE_COMMENT}"\n}`;
    await clock.advance(25_000); // one rotation
    const before = nft.scripts().length;
    wallOffset = -45_000; // set back by a window and a half
    await clock.advance(10_000);
    expect(
      lines.some((l) => /^warn clock the wall clock stepped back by 45 s; reloading the whole table/.test(l)),
    ).toBe(true);
    const reload = nft.scripts()[before]!;
    expect(reload).toContain('table inet otpknock_test {');
    // the 3 windows valid at the stepped-back time → 3 × (open + close) leaves
    expect((reload.match(/timeout \d+ms : 0x[89a-f]/g) ?? []).length).toBe(6);
  });

  it('rotates at once when a window boundary passed while the table was loading', async () => {
    const nft = new FakeNft();
    const clock = new FakeClock(Date.UTC(2026, 10, 25, 12, 0, 29, 900)); // 100 ms before a boundary
    const slowLoad = Object.assign(Object.create(nft) as FakeNft, {
      run: async (args: readonly string[], input?: string) => {
        if (input?.includes('table inet otpknock_test {')) clock.t += 300; // nft takes 300 ms: past the boundary
        return nft.run(args, input);
      },
    });
    const { log, lines } = memoryLogger();
    const d = new Daemon({
      config: serverConfig({ users: [user('alice')] }),
      nft: new NftDriver(slowLoad),
      log,
      clock,
    });
    await d.start();
    await clock.advance(50); // not the next boundary, 30 s away: the one that just passed
    expect(lines.at(-1)).toMatch(/^info rotation knock sequences rotated/);
  });

  it('rolls its picture of the kernel back when a rotation fails, so the retry sends the same change', async () => {
    const { d, nft, clock } = fakeDaemon(serverConfig({ users: [user('alice'), user('bob')] }));
    await d.start();
    nft.failNext = 1;
    await clock.advance(20_000); // boundary: nft refuses
    await clock.advance(1_000); // retry
    const [failed, retried] = nft
      .scripts()
      .slice(-2)
      .map((t) => t.replace(/timeout \d+ms/g, 'timeout T'));
    expect(failed).toMatch(/^add element/m);
    expect(retried).toBe(failed);
  });

  it('keeps the last good state when nft fails, retries, and resyncs after repeated failures', async () => {
    const { d, nft, clock, lines } = fakeDaemon();
    await d.start();
    nft.failNext = 2;
    await clock.advance(20_000); // boundary: fails
    expect(
      lines.some((l) =>
        l.startsWith('error rotation rotation failed, the previous sequences stay live; retrying in 1s'),
      ),
    ).toBe(true);
    await clock.advance(1_000); // retry 1: fails again
    expect(lines.filter((l) => l.startsWith('error rotation')).length).toBe(2);
    nft.tableListing = `table inet otpknock_test {\n\tcomment "${TABLE_COMMENT}"\n}`;
    await clock.advance(2_000); // retry 2: a full resync
    const last = nft.scripts().at(-1)!;
    expect(last).toContain('table inet otpknock_test {');
    expect(lines.at(-1)).toMatch(/^info resync loaded table inet otpknock_test/);
  });

  it('refuses to take over a table of the same name made by someone else', async () => {
    const nft = new FakeNft();
    nft.tableListing = 'table inet otpknock_test {\n}';
    const { d } = fakeDaemon(serverConfig(), nft);
    await expect(d.start()).rejects.toThrow(/already exists and was not made by otpknockd/);
    expect(nft.scripts()).toEqual([]); // the firewall was not touched
  });

  it('keeps the old config when a reload fails, and coalesces a storm of reloads', async () => {
    const { d, nft, lines } = fakeDaemon();
    await d.start();
    const before = nft.scripts().length;
    await d.reload(async () => {
      throw new Error('config.yaml:3: users: at least one user is needed');
    });
    expect(lines.at(-1)).toMatch(/new config refused, still running the old one/);
    expect(nft.scripts().length).toBe(before);
    let loads = 0;
    const next = async () => {
      loads += 1;
      return serverConfig({ users: [user('carol')] });
    };
    await Promise.all(Array.from({ length: 20 }, () => d.reload(next)));
    expect(loads).toBeLessThanOrEqual(2);
    expect(d.currentConfig.users[0]!.name).toBe('carol');
  });

  it('reloads a change of users element by element, keeping the table', async () => {
    const { d, nft } = fakeDaemon();
    await d.start();
    nft.tableListing = `table inet otpknock_test {\n\tcomment "${TABLE_COMMENT}"\n}`;
    await d.reload(async () => serverConfig({ users: [user('alice'), user('bob')] }));
    const last = nft.scripts().at(-1)!;
    expect(last).toMatch(/^add element inet otpknock_test step/m);
    expect(last).not.toMatch(/^delete element/m); // alice's sequences stay as they are
    expect(last).not.toContain('table inet otpknock_test {');
    // a new service changes the table's shape: a full load
    await d.reload(async () =>
      serverConfig({
        services: [
          { name: 'ssh', port: 22, openForMs: 30_000 },
          { name: 'api', port: 443, openForMs: 30_000 },
        ],
      }),
    );
    expect(nft.scripts().at(-1)).toContain('table inet otpknock_test {');
  });

  it('applies a change to no users at all (a fleet revocation), says so once, and says when users are back', async () => {
    const fleet = {
      name: 'acme',
      server: 'web-5',
      endpoints: ['http://192.0.2.101:2379'],
      checkIntervalMs: 1,
      timeoutMs: 1,
    };
    const { d, nft, clock, lines } = fakeDaemon(serverConfig({ fleet }));
    await d.start();
    nft.tableListing = `table inet otpknock_test {\n\tcomment "${TABLE_COMMENT}"\n}`;
    await d.updateUsers(async () => serverConfig({ fleet, users: [] }), 'fleet');
    // No user: no knock ports either, a whole load (grants carried), without alice's sequences.
    const gone = nft.scripts().at(-1)!;
    expect(gone).toContain('table inet otpknock_test {');
    expect(gone).toMatch(/set knock_ports \{\n\t\ttype inet_service\n\t\tflags interval\n\t\}/);
    expect(gone).not.toMatch(/map step \{[^}]*elements/);
    expect(d.currentConfig.users).toEqual([]);
    const loud = lines.filter((l) => l.includes('NO USERS'));
    expect(loud).toEqual([
      expect.stringContaining(
        'NO USERS (fleet acme gives server web-5 nobody, and it has no local user): the table opens for nobody by knock; otpknockd mode open',
      ),
    ]);
    await clock.advance(60_000); // rotations with nobody: no new sequences, no second warning
    expect(lines.filter((l) => l.includes('NO USERS'))).toHaveLength(1);
    expect(nft.scripts().slice(1).join('\n')).not.toMatch(/^add element inet otpknock_test step/m);
    await d.updateUsers(async () => serverConfig({ fleet, users: [user('alice')] }), 'fleet');
    expect(nft.scripts().at(-1)).toMatch(/map step \{[^}]*elements = \{/);
    expect(lines.join('\n')).toMatch(/users again: 1; their knocks open/);
  });

  it('a user store change that alters the knock ports (a code-mode user on a list-modulo server) loads the whole table at the boundary', async () => {
    const list = timeProfile({ method: 'list-modulo', ports: [4000, 4001, 4002, 4003, 4004, 4005] });
    const base = serverConfig({ users: [user('alice', { profile: list })] });
    let next: ServerConfig | undefined;
    const { log, lines } = memoryLogger();
    const nft = new FakeNft();
    const clock = new FakeClock(T0);
    const d = new Daemon({
      config: base,
      nft: new NftDriver(nft),
      log,
      clock,
      hooks: { beforeRotation: async () => [next, (next = undefined)][0] },
    });
    await d.start();
    nft.tableListing = `table inet otpknock_test {\n\tcomment "${TABLE_COMMENT}"\n}`;
    next = { ...base, users: [...base.users, user('bob', { profile: list, codeMode: true })] };
    await clock.advance(20_000);
    const loaded = nft.scripts()[1]!;
    expect(loaded).toContain('table inet otpknock_test {');
    expect(loaded).toMatch(/set knock_ports \{[^}]*elements = \{\s*4000-4005,\s*10000-65000\s*\}/);
    expect(d.currentConfig.users.map((u) => u.name)).toEqual(['alice', 'bob']);
    expect(lines.join('\n')).not.toMatch(/send SIGHUP/);
    expect(lines).toContain('info users loaded table inet otpknock_test');
  });

  it('starts with no users (and break_glass): the whole table loads, with the break-glass sequence', async () => {
    const { d, nft, lines } = fakeDaemon(
      serverConfig({
        users: [],
        breakGlass: { ports: [11111, 22222, 33333, 44444, 45555, 46666, 47777, 48888], services: ['ssh'] },
      }),
    );
    await d.start();
    expect(nft.scripts()[0]).toContain('table inet otpknock_test {');
    expect(nft.scripts()[0]).toMatch(/11111/);
    expect(lines.join('\n')).toMatch(/NO USERS: the table opens for nobody by knock; break_glass still opens ssh/);
  });

  it('removes the table on stop unless told to keep it', async () => {
    const { d, nft } = fakeDaemon();
    await d.start();
    await d.stop();
    expect(nft.scripts().at(-1)).toBe('delete table inet otpknock_test\n');
    const { d: kept, nft: nft2 } = fakeDaemon(serverConfig({ keepTableOnStop: true }));
    await kept.start();
    await kept.stop();
    expect(nft2.scripts()).toHaveLength(1);
  });

  it('keeps consumed sequences in state_dir across a stop, and marks them used again at the next start', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'otpknock-daemon-'));
    try {
      const config = serverConfig({ stateDir });
      const usedSet = (script: string) =>
        /\tset used \{[^}]*?elements = \{\n([^}]*)\}/.exec(script)?.[1]?.trim().split(/,\s*/) ?? [];
      const nft = new FakeNft();
      const clock = new FakeClock(T0);
      const kept = new ConsumedSequences(clock, () => stateDir);
      const first = new Daemon({ config, nft: new NftDriver(nft), log: memoryLogger().log, clock, consumed: kept });
      await first.start();
      expect(usedSet(nft.scripts()[0]!)).toEqual([]);
      const alice = planEntries(config, T0).find(
        (e) => e.user === 'alice' && e.action === 'open' && e.window === windowAt(T0, 30),
      )!;
      kept.remember(alice.ports, usedTimeoutMs(config)); // what the audit reports when the kernel consumes it
      await first.stop();
      const saved = await readConsumed(stateDir, T0 + 1000);
      expect(saved.map((r) => r.ports)).toEqual([alice.ports]);
      expect(saved[0]!.untilMs).toBe(T0 + usedTimeoutMs(config));

      // The table is gone (a clean stop); a new daemon, in the next window (the
      // consumed one is still valid with skew 1), still refuses it.
      clock.t += 30_000;
      const nft2 = new FakeNft();
      const second = new Daemon({
        config,
        nft: new NftDriver(nft2),
        log: memoryLogger().log,
        clock,
        consumed: new ConsumedSequences(clock, () => stateDir),
      });
      await second.start();
      expect(usedSet(nft2.scripts()[0]!)).toHaveLength(1);
      expect(usedSet(nft2.scripts()[0]!)[0]).toMatch(/^0x[0-9a-f]+ timeout 90000ms$/);
      await second.stop();

      // Without a state dir for them (unit tests, tools) nothing is read or written.
      const nft3 = new FakeNft();
      const inMemory = new ConsumedSequences(clock, () => undefined);
      const third = new Daemon({
        config: serverConfig({ stateDir: join(stateDir, 'none') }),
        nft: new NftDriver(nft3),
        log: memoryLogger().log,
        clock,
        consumed: inMemory,
      });
      inMemory.remember(alice.ports, 60_000);
      await third.start();
      await third.stop();
      expect(await readConsumed(join(stateDir, 'none'), clock.t)).toEqual([]);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
