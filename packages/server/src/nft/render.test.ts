import { describe, expect, it } from 'vitest';
import { mergeIntervals, knockPortIntervals } from './knock-ports.js';
import { renderChanges, renderRuleset } from './render-ruleset.js';
import { serverConfig, timeProfile, user } from '../test-fixtures.js';

describe('knock ports', () => {
  it('merges overlapping and touching intervals', () => {
    expect(mergeIntervals([[5, 9], [1, 3], [4, 4], [20, 30], [25, 26]])).toEqual([[1, 9], [20, 30]]);
  });

  it('leaves excluded ports (e.g. WireGuard inside the range) out of the knock machinery', () => {
    const config = serverConfig({ users: [user('a', { profile: timeProfile({ range: { min: 50000, max: 52000 }, exclude: [22, 51820] }) })] });
    expect(knockPortIntervals(config)).toEqual([[50000, 51819], [51821, 52000]]);
  });

  it('uses the list and static ports as single ports', () => {
    const config = serverConfig({
      users: [
        user('a', { profile: timeProfile({ method: 'list-modulo', ports: [4000, 4001, 4002, 4003, 4004, 4005] }) }),
        user('b', { profile: timeProfile({ method: 'static', open: [7000, 7001], close: [7000, 7001], toggle: true }) }),
      ],
    });
    expect(knockPortIntervals(config)).toEqual([[4000, 4005], [7000, 7001]]);
  });
});

describe('renderRuleset', () => {
  it('replaces the table atomically and accepts established traffic first', () => {
    const text = renderRuleset({ config: serverConfig(), steps: [], actions: [], usedTimeoutMs: 120_000 });
    expect(text.indexOf('add table inet otpknock_test')).toBeLessThan(text.indexOf('delete table inet otpknock_test'));
    const input = text.slice(text.indexOf('chain input {'));
    const rules = input.split('\n').slice(2, 4).map((l) => l.trim());
    expect(rules[0]).toBe('ct state established,related accept');
    // every dynamic set/map has a size and a timeout
    for (const m of text.matchAll(/(?:set|map) (\S+) \{([^}]*flags dynamic[^}]*)\}/g)) {
      expect(m[2], m[1]).toMatch(/size \d+/);
      expect(m[2], m[1]).toMatch(/timeout \d+ms/);
    }
  });

  it('carries over allowed addresses with their remaining time', () => {
    const text = renderRuleset({
      config: serverConfig(),
      steps: [],
      actions: [],
      usedTimeoutMs: 120_000,
      allowed: [{ service: 'ssh', family: 4, address: '192.0.2.7', remainingMs: 12_000 }],
    });
    expect(text).toContain('192.0.2.7 timeout 12000ms');
  });
});

describe('renderChanges', () => {
  it('deletes before it adds and writes nothing for no change', () => {
    const text = renderChanges('t', {
      addSteps: [{ state: 0, port: 1000, next: 5 }],
      deleteSteps: [{ state: 0, port: 999 }],
      addActions: [{ leaf: 0x80000001, action: 1 }],
      deleteActions: [0x80000002],
    });
    expect(text.split('\n').filter(Boolean)).toEqual([
      'delete element inet t step { 0x00000000 . 999 }',
      'delete element inet t leaf_action { 0x80000002 }',
      'add element inet t leaf_action { 0x80000001 : 0x00000001 }',
      'add element inet t step { 0x00000000 . 1000 : 0x00000005 }',
    ]);
    expect(renderChanges('t', { addSteps: [], deleteSteps: [], addActions: [], deleteActions: [] })).toBe('');
  });
});

describe('carrying consumed sequences over a full load', () => {
  it('finds the ports behind used marks from the step map, and maps them to the new marks', async () => {
    const { usedSequencesFromJson } = await import('./inspect.js');
    const doc = {
      nftables: [
        { map: { name: 'step', elem: [[{ concat: [0, 100] }, 1], [{ concat: [1, 200] }, 2], [{ concat: [2, 300] }, 0xc0000001], [{ concat: [1, 201] }, 0xc0000002]] } },
        { set: { name: 'used', elem: [{ elem: { val: 0xc0000001, expires: 50 } }, { elem: { val: 0xc0000099, expires: 50 } }] } },
      ],
    };
    expect(usedSequencesFromJson(doc)).toEqual([{ ports: [100, 200, 300], remainingMs: 50_000 }]);

    const { fullRuleset } = await import('../daemon.js');
    const { planEntries } = await import('../plan.js');
    const config = serverConfig();
    const now = Date.UTC(2026, 10, 25, 12, 0, 10);
    const first = planEntries(config, now)[0]!;
    const full = fullRuleset(config, now, { allowed: [], used: [{ ports: first.ports, remainingMs: 40_000 }] });
    expect(full.carriedUsed).toBe(1);
    const key = full.trie.leafByPath.get(first.ports.join(','))!;
    const mark = full.trie.leaves.get(key)!.mark;
    expect(full.script).toContain(`0x${mark.toString(16)} timeout 40000ms`);
  });
});
