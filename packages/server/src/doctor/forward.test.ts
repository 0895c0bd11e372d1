import { describe, expect, it } from 'vitest';
import type { ServiceConfig } from '../config/types.js';
import { dnatRules, gatewayFindings, type GatewayFacts } from './forward.js';
import { parseRuleset } from './ruleset.js';

const tcpDport = (right: unknown) => ({
  match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right },
});
const rule = (family: string, table: string, chain: string, expr: unknown[]) => ({
  rule: { family, table, chain, expr },
});

/** What `nft -j list ruleset` shows for a router's port forwards and for Docker's (iptables-nft) DNAT. */
const ruleset = parseRuleset({
  nftables: [
    rule('ip', 'gw_nat', 'prerouting', [
      tcpDport({ set: [8443, 8444] }),
      { dnat: { addr: '198.51.100.2', port: 8080 } },
    ]),
    rule('ip', 'gw_nat', 'prerouting', [tcpDport({ range: [2000, 2010] }), { dnat: { addr: '198.51.100.3' } }]),
    rule('ip', 'gw_nat', 'prerouting', [tcpDport(81), { dnat: { addr: '127.0.0.1', port: 80 } }]),
    rule('ip', 'gw_nat', 'prerouting', [tcpDport(80), { redirect: { port: 8080 } }]),
    rule('ip', 'gw_nat', 'prerouting', [
      { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: 51820 } },
      { dnat: { addr: '198.51.100.4' } },
    ]),
    rule('inet', 'fw', 'prerouting', [tcpDport(7000), { dnat: { family: 'ip6', addr: '2001:db8:2::2', port: 80 } }]),
    rule('ip', 'nat', 'DOCKER', [
      { match: { op: '!=', left: { meta: { key: 'iifname' } }, right: 'docker0' } },
      tcpDport(9443),
      { counter: { packets: 0, bytes: 0 } },
      { xt: { type: 'target', name: 'DNAT' } },
    ]),
    rule('inet', 'otpknock', 'prerouting', [tcpDport(1), { dnat: { addr: '198.51.100.9' } }]),
  ],
});

const nas: ServiceConfig = { name: 'nas', port: 8443, openForMs: 30_000, forward: { kind: 'dnat' } };
const cam: ServiceConfig = {
  name: 'cam',
  port: 554,
  openForMs: 30_000,
  forward: { kind: 'routed', destination: '198.51.100.20', family: 4 },
};
const facts = (over: Partial<GatewayFacts> = {}): GatewayFacts => ({
  services: [],
  dnat: dnatRules(ruleset, 'otpknock'),
  forwarding: { v4: true, v6: false },
  routes: new Map(),
  ...over,
});

describe('dnatRules', () => {
  it("finds the DNATs of other tables: nft's dnat and iptables-nft's DNAT target; not loopback, redirect, UDP or ours", () => {
    expect(dnatRules(ruleset, 'otpknock')).toEqual([
      {
        where: 'table ip gw_nat, chain prerouting',
        ports: [
          [8443, 8443],
          [8444, 8444],
        ],
        to: '198.51.100.2:8080',
      },
      { where: 'table ip gw_nat, chain prerouting', ports: [[2000, 2010]], to: '198.51.100.3' },
      { where: 'table inet fw, chain prerouting', ports: [[7000, 7000]], to: '[2001:db8:2::2]:80' },
      { where: 'table ip nat, chain DOCKER', ports: [[9443, 9443]] },
    ]);
  });
});

describe('gatewayFindings', () => {
  it('warns about each DNATed port no service guards while the host forwards, and says what to add', () => {
    const found = gatewayFindings(facts({ services: [nas] }));
    expect(found.map((f) => f.severity)).toEqual(['warning', 'warning', 'warning', 'warning']);
    expect(found[0]!.message).toBe(
      'TCP port 8444 is DNATed to 198.51.100.2:8080 (table ip gw_nat, chain prerouting) and this host forwards, but no service guards it: anyone reaches it without a knock (a port forward, or a port Docker publishes, never passes the input hook, so input-hook firewalls such as ufw do not guard it either)',
    );
    expect(found[0]!.fix).toBe(
      'to guard it with a knock add to services: NAME: { port: 8444, forward: dnat } (docs/gateway.md)',
    );
    expect(found[1]!.message).toMatch(/^TCP port 2000-2010 is DNATed to 198\.51\.100\.3 /);
    expect(found[3]!.message).toMatch(/^TCP port 9443 is DNATed \(table ip nat, chain DOCKER\)/);
  });

  it('says nothing about DNAT while the host does not forward; but a forwarded service then cannot work', () => {
    expect(gatewayFindings(facts({ forwarding: { v4: false, v6: false } }))).toEqual([]);
    const found = gatewayFindings(facts({ services: [nas], forwarding: { v4: false, v6: false } }));
    expect(found).toEqual([
      expect.objectContaining({
        severity: 'warning',
        message: expect.stringMatching(/^services nas are forwarded, but this host forwards nothing/),
      }),
    ]);
  });

  it('a DNAT service without a DNAT rule is info; a routed one needs a route that is not this host', () => {
    const lonely: ServiceConfig = { ...nas, name: 'web', port: 9999 };
    const dnat = dnatRules(ruleset, 'otpknock').slice(0, 1);
    const all = { services: [nas, lonely, cam], dnat };
    expect(gatewayFindings(facts({ ...all, routes: new Map([['198.51.100.20', { dev: 'eth1' }]]) }))).toEqual([
      expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/^TCP port 8444/) }),
      expect.objectContaining({
        severity: 'info',
        message: expect.stringMatching(/^service web guards TCP port 9999/),
      }),
    ]);
    const local = gatewayFindings(facts({ ...all, routes: new Map([['198.51.100.20', { local: true }]]) }));
    expect(local).toContainEqual(
      expect.objectContaining({
        severity: 'problem',
        message: expect.stringMatching(/which is an address of this host/),
      }),
    );
    const none = gatewayFindings(
      facts({ ...all, routes: new Map([['198.51.100.20', { error: 'RTNETLINK answers: Network is unreachable' }]]) }),
    );
    expect(none).toContainEqual(
      expect.objectContaining({
        severity: 'problem',
        message:
          'service cam is forwarded to 198.51.100.20, but this host has no route there (RTNETLINK answers: Network is unreachable)',
      }),
    );
  });

  it('all well: one ok line naming the forwarded services', () => {
    const dnat = [
      { where: 'table ip gw_nat, chain prerouting', ports: [[8443, 8443] as const], to: '198.51.100.2:8080' },
    ];
    expect(
      gatewayFindings(facts({ services: [nas, cam], dnat, routes: new Map([['198.51.100.20', { dev: 'eth1' }]]) })),
    ).toEqual([
      {
        check: 'gateway',
        severity: 'ok',
        message:
          'forwarded services guarded on the forward hook: nas (TCP 8443, forwarded (DNAT)), cam (TCP 554, forwarded to 198.51.100.20)',
      },
    ]);
  });
});
