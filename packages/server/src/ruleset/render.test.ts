import { describe, expect, it } from 'vitest';
import { mergeIntervals, knockPortIntervals } from '../nft/knock-ports.js';
import { changeOps, renderChanges, renderRuleset } from './render.js';
import { gatewayServices, serverConfig, timeProfile, user } from '@otpknock/server/testing';

describe('knock ports', () => {
  it('merges overlapping and touching intervals', () => {
    expect(
      mergeIntervals([
        [5, 9],
        [1, 3],
        [4, 4],
        [20, 30],
        [25, 26],
      ]),
    ).toEqual([
      [1, 9],
      [20, 30],
    ]);
  });

  it('leaves excluded ports (e.g. WireGuard inside the range) out of the knock machinery', () => {
    const config = serverConfig({
      users: [user('a', { profile: timeProfile({ range: { min: 50000, max: 52000 }, exclude: [22, 51820] }) })],
    });
    expect(knockPortIntervals(config)).toEqual([
      [50000, 51819],
      [51821, 52000],
    ]);
  });

  it('uses the list and static ports as single ports', () => {
    const config = serverConfig({
      users: [
        user('a', { profile: timeProfile({ method: 'list-modulo', ports: [4000, 4001, 4002, 4003, 4004, 4005] }) }),
        user('b', {
          profile: timeProfile({ method: 'static', open: [7000, 7001], close: [7000, 7001], toggle: true }),
        }),
      ],
    });
    expect(knockPortIntervals(config)).toEqual([
      [4000, 4005],
      [7000, 7001],
    ]);
  });
});

describe('renderRuleset', () => {
  it('replaces the table atomically and accepts established traffic first', () => {
    const text = renderRuleset({ config: serverConfig(), steps: [], actions: [], usedTimeoutMs: 120_000 });
    expect(text.indexOf('add table inet otpknock_test')).toBeLessThan(text.indexOf('delete table inet otpknock_test'));
    const input = text.slice(text.indexOf('chain input {'));
    const rules = input
      .split('\n')
      .slice(2, 4)
      .map((l) => l.trim());
    expect(rules[0]).toBe('ct state established,related accept');
    // every dynamic set/map has a size and a timeout
    for (const m of text.matchAll(/(?:set|map) (\S+) \{([^}]*flags dynamic[^}]*)\}/g)) {
      expect(m[2], m[1]).toMatch(/size \d+/);
      expect(m[2], m[1]).toMatch(/timeout \d+ms/);
    }
  });

  it('spares datagrams a local socket waits for from notrack, so replies to our own UDP stay tracked', () => {
    const text = renderRuleset({ config: serverConfig(), steps: [], actions: [], usedTimeoutMs: 120_000 });
    const raw = text.slice(text.indexOf('chain raw_prerouting {'));
    const rules = raw
      .split('\n')
      .slice(2, 4)
      .map((l) => l.trim());
    expect(rules).toEqual([
      'udp dport @knock_ports socket transparent 0 accept',
      // only datagrams to this host: UDP it routes (a LAN's traffic) stays tracked, so NAT still sees it
      'udp dport @knock_ports fib daddr type local notrack',
    ]);
  });

  it('stores progress within a generous per-source budget (a team behind one NAT address); every outcome counted', () => {
    const text = renderRuleset({ config: serverConfig(), steps: [], actions: [], usedTimeoutMs: 120_000 });
    const advanced = text.slice(text.indexOf('chain advanced4 {'), text.indexOf('chain final4 {'));
    expect(advanced).toContain(
      'update @store_budget4 { ip saddr limit rate over 8/second burst 16 packets } delete @progress4 { ip saddr : 0x00000000 } counter name stores_throttled drop',
    );
    expect(advanced).toMatch(
      /add @progress4 \{ ip saddr timeout 5000ms : meta mark \} counter name steps_stored drop\n\t\tcounter name progress_full drop/,
    );
    // a first step holds its progress element briefly: forged first steps cannot fill the map for long
    expect(advanced).toContain(
      'meta mark & 0x40000000 == 0x40000000 delete @progress4 { ip saddr : 0x00000000 } add @progress4 { ip saddr timeout 1000ms : meta mark } counter name steps_stored drop',
    );
  });

  it('logs completed knocks and refused replays to the configured NFLOG group, and only to it', () => {
    for (const group of [7046, 0, 65535]) {
      const text = renderRuleset({
        config: serverConfig({ auditNflogGroup: group }),
        steps: [],
        actions: [],
        usedTimeoutMs: 120_000,
      });
      const groups = [...text.matchAll(/ log prefix "otpknock (open|replay)" group (\d+)/g)].map(
        (m) => `${m[1]} ${m[2]}`,
      );
      expect(new Set(groups)).toEqual(new Set([`open ${group}`, `replay ${group}`]));
    }
  });

  it('gives step and leaf_action elements the timeout of their sequences', () => {
    const text = renderRuleset({
      config: serverConfig(),
      usedTimeoutMs: 120_000,
      nowMs: 1_000,
      steps: [
        { state: 0, port: 20000, next: 1, expiresMs: 31_000 },
        { state: 1, port: 20001, next: 0x80000001 },
      ],
      actions: [{ leaf: 0x00000000, action: 1 }],
    });
    expect(text).toMatch(
      /map step \{[^}]*flags timeout\n[^}]*0x00000000 \. 20000 timeout 30000ms : 0x00000001,\n\t\t\t0x00000001 \. 20001 : 0x80000001/,
    );
    expect(text).toMatch(
      /map leaf_action \{\n\t\ttypeof meta mark : meta mark\n\t\telements = \{\n\t\t\t0x00000000 : 0x00000001/,
    );
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
  it('lengthens a timeout with one add where the kernel updates timeouts in place, else with a replace', () => {
    const now = 1_000_000;
    const changes = {
      addSteps: [],
      deleteSteps: [],
      replaceSteps: [],
      refreshSteps: [{ state: 0, port: 3000, next: 4, expiresMs: now + 120_000 }],
      addActions: [],
    };
    expect(renderChanges('t', changes, now, { timeoutUpdates: true })).toBe(
      'add element inet t step { 0x00000000 . 3000 timeout 120000ms : 0x00000004 }\n',
    );
    expect(renderChanges('t', changes, now).split('\n').filter(Boolean)).toEqual([
      'add element inet t step { 0x00000000 . 3000 timeout 1s : 0x00000004 }',
      'delete element inet t step { 0x00000000 . 3000 }',
      'add element inet t step { 0x00000000 . 3000 timeout 120000ms : 0x00000004 }',
    ]);
    expect(changeOps(changes, { timeoutUpdates: true })).toBe(1);
    expect(changeOps(changes)).toBe(3);
  });

  it('deletes before it adds and writes nothing for no change', () => {
    const text = renderChanges(
      't',
      {
        addSteps: [{ state: 0, port: 1000, next: 5 }],
        deleteSteps: [{ state: 0, port: 999 }],
        replaceSteps: [],
        refreshSteps: [],
        addActions: [{ leaf: 0x00400000, action: 1 }],
      },
      0,
    );
    expect(text.split('\n').filter(Boolean)).toEqual([
      'delete element inet t step { 0x00000000 . 999 }',
      'add element inet t leaf_action { 0x00400000 : 0x00000001 }',
      'add element inet t step { 0x00000000 . 1000 : 0x00000005 }',
    ]);
    expect(
      renderChanges('t', { addSteps: [], deleteSteps: [], replaceSteps: [], refreshSteps: [], addActions: [] }),
    ).toBe('');
  });

  it('gives elements their remaining time, and replaces a key that may or may not still be there', () => {
    const now = 1_000_000;
    const text = renderChanges(
      't',
      {
        addSteps: [{ state: 0, port: 1000, next: 5, expiresMs: now + 60_000 }],
        deleteSteps: [],
        replaceSteps: [{ element: { state: 0, port: 2000, next: 9, expiresMs: now + 90_000 }, previousNext: 7 }],
        refreshSteps: [],
        addActions: [],
      },
      now,
    );
    expect(text.split('\n').filter(Boolean)).toEqual([
      // present: a no-op; expired meanwhile: re-added. Either way the delete then succeeds.
      'add element inet t step { 0x00000000 . 2000 timeout 1s : 0x00000007 }',
      'delete element inet t step { 0x00000000 . 2000 }',
      'add element inet t step { 0x00000000 . 1000 timeout 60000ms : 0x00000005, 0x00000000 . 2000 timeout 90000ms : 0x00000009 }',
    ]);
  });
});

describe('gateway mode: forwarded services', () => {
  const gateway = serverConfig({ services: gatewayServices() });
  const text = renderRuleset({ config: gateway, steps: [], actions: [], usedTimeoutMs: 120_000 });
  const chain = (name: string) => {
    const start = text.indexOf(`\tchain ${name} {`);
    if (start < 0) throw new Error(`no chain ${name}`);
    return text
      .slice(start, text.indexOf('\n\t}', start))
      .split('\n')
      .slice(1)
      .map((l) => l.trim());
  };

  it('guards forwarded services on the forward hook by their original destination, established first', () => {
    expect(chain('forward')).toEqual([
      'type filter hook forward priority filter - 1; policy accept;',
      'ct state established,related accept',
      'meta l4proto tcp ct status dnat ct original proto-dst 8443 goto guard_nas',
      'meta nfproto ipv4 meta l4proto tcp ct original ip daddr 198.51.100.0/24 ct original proto-dst 554 goto guard_cam',
      'meta nfproto ipv6 meta l4proto tcp ct original ip6 daddr 2001:db8:2::/64 ct original proto-dst 8080 goto guard_lab',
    ]);
  });

  it('keeps local services on the input hook only', () => {
    expect(chain('input')).toContain('tcp dport vmap { 22 : goto guard_ssh }');
  });

  it("a forwarded service's guard: the mode, then its grants (logged to the audit group), else drop", () => {
    expect(chain('guard_nas')).toEqual([
      'jump mode_forward',
      'ip saddr @allowed4_nas counter name forwarded log prefix "otpknock forward nas" group 7046 accept',
      'ip6 saddr @allowed6_nas counter name forwarded log prefix "otpknock forward nas" group 7046 accept',
      'counter name refused drop',
    ]);
    expect(chain('guard_ssh')).toEqual([
      'ip saddr @allowed4_ssh accept',
      'ip6 saddr @allowed6_ssh accept',
      'counter name refused drop',
    ]);
    expect(chain('mode_forward')).toEqual([]);
    expect(text).toContain('counter forwarded {');
  });

  it('a knock opens forwarded and local services alike: the same allowed sets', () => {
    const open = chain('open4');
    for (const s of ['ssh', 'nas', 'cam', 'lab'])
      expect(open.join('\n')).toContain(`update @allowed4_${s} { ip saddr }`);
  });

  it('has no forward chain, no forwarded counter and no vmap-less input when nothing is forwarded, or nothing is local', () => {
    const plain = renderRuleset({ config: serverConfig(), steps: [], actions: [], usedTimeoutMs: 120_000 });
    expect(plain).not.toMatch(/hook forward|mode_forward|counter forwarded/);
    const onlyForwarded = renderRuleset({
      config: serverConfig({ services: [gateway.services[1]!] }),
      steps: [],
      actions: [],
      usedTimeoutMs: 120_000,
    });
    expect(onlyForwarded).not.toContain('tcp dport vmap');
    expect(onlyForwarded).toContain('hook forward');
  });
});

describe('docs/gateway.md', () => {
  it("shows the forward chain that render makes for the page's own example", async () => {
    const { readFileSync } = await import('node:fs');
    const { parseConfig } = await import('../config/parse.js');
    const page = readFileSync(new URL('../../../../docs/gateway.md', import.meta.url), 'utf8');
    const services = /```yaml\n(services:[\s\S]*?)```/.exec(page)![1]!;
    const shown = /```\n(chain forward \{[\s\S]*?\n\})\n```/.exec(page)![1]!;
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const config = parseConfig(`${services}users:\n  alice: { secret: ${secret} }\n`, '/etc/otpknock/otpknockd.yaml', {
      readSecretFile: () => {
        throw new Error('no secret files here');
      },
      configFile: { mode: 0o100600, uid: 0 },
    });
    const text = renderRuleset({ config, steps: [], actions: [], usedTimeoutMs: 120_000 });
    const start = text.indexOf('\tchain forward {');
    const rendered = text.slice(start, text.indexOf('\n\t}', start) + 3);
    expect(rendered.replace(/^\t/gm, '')).toBe(shown);
  });
});

describe("README's walk of one knock through the file names", () => {
  it('names files that exist and the chains, maps and sets render makes', async () => {
    const { existsSync, readFileSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const root = fileURLToPath(new URL('../../../../', import.meta.url));
    const readme = readFileSync(`${root}README.md`, 'utf8').replace(/\s+/g, ' ');
    const walk = /Follow one knock through the file names: (.*?)\. /.exec(readme)![1]!;
    const files = [...walk.matchAll(/`(packages\/[^`]+)`|`(\w+\.ts)`/g)].map(
      (m) => m[1] ?? `packages/client/src/${m[2]}`,
    );
    expect(files).toEqual(['packages/client/src/cli.ts', 'packages/client/src/send.ts', 'packages/client/src/wait.ts']);
    for (const f of files) expect(existsSync(`${root}${f}`), f).toBe(true);
    const text = renderRuleset({ config: serverConfig(), steps: [], actions: [], usedTimeoutMs: 120_000 });
    expect(walk).toContain('`knock4` chain walks `step` map → `final4` → `update @allowed4_ssh` → `guard_ssh`');
    for (const made of ['chain knock4 {', 'map step {', 'chain final4 {', 'update @allowed4_ssh', 'chain guard_ssh {'])
      expect(text, made).toContain(made);
  });
});
