// Collisions between live sequences (docs/protocol.md §3): the kernel's trie can
// hold only one of two equal sequences, or of two where one begins the other.
// The one already live stays; new ones are placed in plan order (users in config
// order, each user's windows oldest first, open before close); the daemon logs
// each one it leaves out, at every change, and tries it again at the next.
import { describe, expect, it } from 'vitest';
import { Daemon } from '../daemon/daemon.js';
import { emptyTrie, type TrieState } from './state.js';
import { syncTrie } from './sync.js';
import { createLogger } from '../log.js';
import { NftDriver, type NftRunner } from '../nft/driver.js';
import { planEntries } from '../plan/entries.js';
import { FakeClock, serverConfig, timeProfile, user } from '@otpknock/server/testing';

// A pool of two ports and length 1: every window's open and close are [10000] and
// [10001] in some order, so the three live windows collide all the time.
const tiny = timeProfile({ length: 1, range: { min: 10000, max: 10001 } });
const T0 = Date.UTC(2026, 10, 25, 12, 0, 10); // 10 s into a 30 s window
const W = Math.floor(T0 / 30_000);

const live = (trie: TrieState) => [...trie.leaves.values()].map((l) => l.entry.key).sort();

describe('collisions between windows', () => {
  it("keep the oldest window's sequences; the newer ones are left out and come in when it has gone", () => {
    const config = serverConfig({ users: [user('alice', { profile: tiny })] });
    const load = syncTrie(emptyTrie(), planEntries(config, T0), T0);
    expect(live(load.state)).toEqual([`alice/${W - 1}/close`, `alice/${W - 1}/open`]);
    expect(load.conflicts.map((c) => c.entry.key)).toEqual(
      [W, W + 1].flatMap((w) => [`alice/${w}/open`, `alice/${w}/close`]),
    );
    for (const c of load.conflicts) expect(c.reason).toMatch(new RegExp(`^same ports as alice/${W - 1}/(open|close)$`));

    // At the boundary window W−1 ends: W's sequences, tried again first, go live.
    const next = T0 + 20_000;
    const rotation = syncTrie(load.state, planEntries(config, next), next);
    expect(live(rotation.state)).toEqual([`alice/${W}/close`, `alice/${W}/open`]);
    expect(rotation.conflicts.map((c) => c.entry.window)).toEqual([W + 1, W + 1, W + 2, W + 2]);
  });

  it('keep a live sequence against a new one, whoever comes first in the config', () => {
    const alice = user('alice', { profile: tiny });
    const bob = user('bob', { profile: tiny });
    const before = syncTrie(emptyTrie(), planEntries(serverConfig({ users: [bob] }), T0), T0);
    const after = syncTrie(before.state, planEntries(serverConfig({ users: [alice, bob] }), T0), T0);
    expect(live(after.state)).toEqual([`bob/${W - 1}/close`, `bob/${W - 1}/open`]);
    expect(new Set(after.conflicts.map((c) => c.entry.user))).toEqual(new Set(['alice', 'bob']));
    // Both new (a full load): the first user in the config wins.
    const fresh = syncTrie(emptyTrie(), planEntries(serverConfig({ users: [alice, bob] }), T0), T0);
    expect(live(fresh.state)).toEqual([`alice/${W - 1}/close`, `alice/${W - 1}/open`]);
  });

  it('are logged by the daemon as warnings with event "conflict", at every change', async () => {
    const nft: NftRunner = {
      async run(args) {
        if (args[0] === 'list') throw Object.assign(new Error('nft'), { stderr: 'Error: No such file or directory' });
        if (args[0] === '-j') return { stdout: '{"nftables":[]}', stderr: '' };
        return { stdout: '', stderr: '' };
      },
    };
    const lines: string[] = [];
    const clock = new FakeClock(T0);
    const d = new Daemon({
      config: serverConfig({ users: [user('alice', { profile: tiny })] }),
      nft: new NftDriver(nft),
      log: createLogger('text', (l) => lines.push(l)),
      clock,
    });
    await d.start();
    const conflicts = () => lines.filter((l) => / conflict: /.test(l)).map((l) => l.replace(/^\S+ /, ''));
    expect(conflicts()).toHaveLength(4);
    expect(conflicts()[0]).toMatch(
      new RegExp(
        `^warn  conflict: sequence alice/${W}/open left out: same ports as alice/${W - 1}/(open|close) \\(user=alice window=${W}\\)$`,
      ),
    );
    await clock.advance(20_000); // the boundary: W's sequences go live, W+1's and W+2's are left out
    expect(conflicts()).toHaveLength(8);
    expect(
      conflicts()
        .slice(4)
        .map((l) => /window=(\d+)/.exec(l)![1]),
    ).toEqual([W + 1, W + 1, W + 2, W + 2].map(String));
    await d.stop();
  });
});
