import { describe, expect, it } from 'vitest';
import {
  baseChainVerdicts,
  firewallFindings,
  firewallManager,
  parseRuleset,
  samplePorts,
  type FirewallContext,
} from './ruleset.js';

const ctx: FirewallContext = {
  ourTable: 'otpknock',
  services: [{ name: 'ssh', port: 22 }],
  knockPorts: [
    [10000, 21999],
    [22001, 30000],
  ],
};
const doc = (...objs: object[]) => ({
  nftables: [{ metainfo: { version: '1.0.6', json_schema_version: 1 } }, ...objs],
});
const table = (family: string, name: string) => ({ table: { family, name } });
const chain = (
  family: string,
  table: string,
  name: string,
  base?: { hook: string; prio?: number; policy?: string; type?: string },
) => ({
  chain: {
    family,
    table,
    name,
    ...(base
      ? { type: base.type ?? 'filter', hook: base.hook, prio: base.prio ?? 0, policy: base.policy ?? 'accept' }
      : {}),
  },
});
const rule = (family: string, table: string, chain: string, ...expr: object[]) => ({
  rule: { family, table, chain, expr },
});
const dport = (proto: string, right: unknown, op = '==') => ({
  match: { op, left: { payload: { protocol: proto, field: 'dport' } }, right },
});
const ACCEPT = { accept: null };
const DROP = { drop: null };

// `table inet blocker { chain c { type filter hook input priority 0; policy drop; } }`
const BLOCKER = [table('inet', 'blocker'), chain('inet', 'blocker', 'c', { hook: 'input', policy: 'drop' })];
// Our own table, which must never count against us.
const OURS = [
  table('inet', 'otpknock'),
  chain('inet', 'otpknock', 'input', { hook: 'input' }),
  rule('inet', 'otpknock', 'input', dport('tcp', 22), DROP),
];
// ufw-like iptables-nft table, as `nft -j list ruleset` printed it (handles removed).
const ufwInput = (...expr: object[]) => rule('ip', 'filter', 'ufw-user-input', ...expr);
const UFW = [
  table('ip', 'filter'),
  { set: { family: 'ip', name: 'allowed', table: 'filter', type: 'inet_service', elem: [443, 2222] } },
  chain('ip', 'filter', 'INPUT', { hook: 'input', policy: 'drop' }),
  chain('ip', 'filter', 'ufw-user-input'),
  rule(
    'ip',
    'filter',
    'INPUT',
    { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } },
    ACCEPT,
  ),
  rule('ip', 'filter', 'INPUT', { jump: { target: 'ufw-user-input' } }),
  rule('ip', 'filter', 'INPUT', { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'lo' } }, ACCEPT),
  ufwInput(dport('tcp', 22), ACCEPT),
  ufwInput(dport('udp', { range: [10000, 20000] }), ACCEPT),
  ufwInput(dport('tcp', { set: [80, 443] }), ACCEPT),
  ufwInput(dport('tcp', '@allowed'), ACCEPT),
  ufwInput(
    {
      match: {
        op: '==',
        left: { payload: { protocol: 'ip', field: 'saddr' } },
        right: { prefix: { addr: '10.0.0.0', len: 8 } },
      },
    },
    dport('tcp', 25),
    DROP,
  ),
  ufwInput({ match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'udp' } }, DROP),
  ufwInput({ reject: { type: 'icmp', expr: 'port-unreachable' } }),
  ufwInput(dport('th', 53), ACCEPT),
  ufwInput({ counter: { packets: 0, bytes: 0 } }, ACCEPT),
];

describe('firewallFindings', () => {
  it('finds a planted drop table: services and knocks both dropped, by its policy', () => {
    const f = firewallFindings(doc(...OURS, ...BLOCKER), ctx);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ check: 'firewall', severity: 'problem' });
    expect(f[0]!.message).toMatch(
      /^table inet blocker, chain c \(hook input, priority 0, policy drop\) drops new TCP connections to ssh \(port 22\) \(IPv4 and IPv6\); UDP knocks/,
    );
    expect(f[0]!.message).toMatch(/by its policy drop/);
    expect(f[0]!.fix).toMatch(/nft insert rule inet blocker c tcp dport 22 accept/);
    expect(f[0]!.fix).toMatch(/nft delete table inet blocker/);
  });

  it('leaves our own table and harmless tables alone', () => {
    const f = firewallFindings(
      doc(
        ...OURS,
        table('inet', 'bystander'),
        chain('inet', 'bystander', 'c', { hook: 'input', prio: 10 }),
        rule('inet', 'bystander', 'c', { counter: { packets: 0, bytes: 0 } }),
      ),
      ctx,
    );
    expect(f).toEqual([
      expect.objectContaining({ severity: 'ok', message: expect.stringMatching(/1 other table: inet bystander/) }),
    ]);
    expect(firewallFindings(doc(), ctx)[0]).toMatchObject({ severity: 'ok', message: 'no other nftables tables' });
  });

  it('follows jumps into ufw chains: ssh is accepted, knocks above 20000 fall to a udp drop; advice in ufw terms', () => {
    const f = firewallFindings(doc(...UFW), ctx);
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toMatch(
      /^table ip filter, chain INPUT .* drops UDP knocks \(IPv4; of the ports tried, ports 21999, 22001, 26000, 30000\), by a rule in chain ufw-user-input/,
    );
    expect(f[0]!.message).not.toMatch(/TCP/);
    expect(f[0]!.fix).toBe('ufw allow 10000:21999,22001:30000/udp');
    expect(firewallManager(parseRuleset(doc(...UFW)), 'ip', 'filter')).toBe('ufw');
  });

  it('accepts via named sets, anonymous sets and ranges', () => {
    const t = 'f';
    const objs = [
      table('inet', t),
      {
        set: { family: 'inet', table: t, name: 'ok_ports', type: 'inet_service', elem: [22, { range: [9000, 9100] }] },
      },
      chain('inet', t, 'in', { hook: 'input', prio: -10, policy: 'drop' }),
      rule('inet', t, 'in', dport('tcp', '@ok_ports'), ACCEPT),
      rule('inet', t, 'in', dport('udp', { set: [{ range: [10000, 30000] }, 53] }), ACCEPT),
    ];
    expect(firewallFindings(doc(...objs), ctx).map((x) => x.severity)).toEqual(['ok']);
  });

  it('ignores drops of knocks by input chains that run after ours, not drops of the services', () => {
    const objs = [
      table('inet', 'late'),
      chain('inet', 'late', 'c', { hook: 'input', prio: 10, policy: 'drop' }),
      rule('inet', 'late', 'c', dport('tcp', 22), ACCEPT),
    ];
    expect(firewallFindings(doc(...objs), ctx).map((x) => x.severity)).toEqual(['ok']);
    const worse = [table('inet', 'late'), chain('inet', 'late', 'c', { hook: 'input', prio: 10, policy: 'drop' })];
    const f = firewallFindings(doc(...worse), ctx);
    expect(f[0]!.message).toMatch(/drops new TCP connections to ssh/);
    expect(f[0]!.message).not.toMatch(/UDP/);
  });

  it('sees knocks dropped in prerouting and on ingress; established-only accepts do not help untracked knocks', () => {
    const objs = [
      table('ip', 'pre'),
      chain('ip', 'pre', 'p', { hook: 'prerouting', prio: -150, policy: 'drop' }),
      rule(
        'ip',
        'pre',
        'p',
        { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } },
        ACCEPT,
      ),
      rule('ip', 'pre', 'p', { match: { op: '==', left: { ct: { key: 'state' } }, right: 'new' } }, ACCEPT),
    ];
    const f = firewallFindings(doc(...objs), ctx);
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toMatch(
      /hook prerouting, priority -150.* drops UDP knocks \(IPv4; of the ports tried, ports 10000, /,
    );
    expect(f[0]!.message).not.toMatch(/TCP/);
  });

  it('warns (not fails) for drops that depend on addresses', () => {
    const objs = [
      table('inet', 'geo'),
      chain('inet', 'geo', 'c', { hook: 'input' }),
      rule(
        'inet',
        'geo',
        'c',
        {
          match: {
            op: '==',
            left: { payload: { protocol: 'ip', field: 'saddr' } },
            right: { prefix: { addr: '203.0.113.0', len: 24 } },
          },
        },
        DROP,
      ),
    ];
    const f = firewallFindings(doc(...objs), ctx);
    expect(f).toEqual([
      expect.objectContaining({
        severity: 'warning',
        message: expect.stringMatching(/may drop new TCP connections to ssh/),
      }),
    ]);
  });

  it('treats loopback-only drops, nat chains and bridge tables as harmless', () => {
    const objs = [
      table('inet', 'x'),
      chain('inet', 'x', 'c', { hook: 'input' }),
      rule('inet', 'x', 'c', { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'lo' } }, DROP),
      chain('inet', 'x', 'n', { hook: 'prerouting', type: 'nat', policy: 'drop' }),
      table('bridge', 'b'),
      chain('bridge', 'b', 'c', { hook: 'input', policy: 'drop' }),
    ];
    expect(firewallFindings(doc(...objs), ctx).map((x) => x.severity)).toEqual(['ok']);
  });

  it('names firewalld, docker and iptables-nft tables', () => {
    const r = parseRuleset(
      doc(
        table('inet', 'firewalld'),
        table('ip', 'filter'),
        chain('ip', 'filter', 'DOCKER-USER'),
        table('ip6', 'filter'),
        chain('ip6', 'filter', 'INPUT', { hook: 'input', policy: 'drop' }),
      ),
    );
    expect(firewallManager(r, 'inet', 'firewalld')).toBe('firewalld');
    expect(firewallManager(r, 'ip', 'filter')).toBe('docker');
    expect(firewallManager(r, 'ip6', 'filter')).toBe('iptables-nft');
    const f = firewallFindings(
      doc(table('ip6', 'filter'), chain('ip6', 'filter', 'INPUT', { hook: 'input', policy: 'drop' })),
      ctx,
    );
    expect(f[0]!.fix).toMatch(/^ip6tables -I INPUT -p tcp --dport 22 -j ACCEPT/);
  });

  it('refuses what is not nft JSON', () => {
    expect(() => firewallFindings({ foo: 1 }, ctx)).toThrow(/nft -j list ruleset/);
  });
});

describe('baseChainVerdicts', () => {
  it('gives each base chain on the path its verdict', () => {
    const r = parseRuleset(doc(...OURS, ...BLOCKER, ...UFW));
    const v = baseChainVerdicts(r, { family: 4, proto: 'tcp', dport: 22, ct: 'new' }, 'otpknock');
    expect(v.map((x) => `${x.chain.table}:${x.verdict}`)).toEqual(['blocker:drop', 'filter:accept']);
  });
});

describe('samplePorts', () => {
  it('takes both ends and the middle of each interval', () => {
    expect(
      samplePorts([
        [10, 20],
        [30, 30],
      ]),
    ).toEqual([10, 15, 20, 30]);
  });
});
