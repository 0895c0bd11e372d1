import { describe, expect, it } from 'vitest';
import { serverConfig } from '@otpknock/server/testing';
import { banLimit, banSetsText, bannedFromJson, banStatusFromJson, strikeRule } from './ban.js';

describe('brute-force cut-off rendering', () => {
  it('turns "N bad knocks within T" into a bucket of N−1 packets refilled N−1 per T', () => {
    expect(banLimit({ after: 10, withinMs: 60_000, forMs: 600_000 })).toBe('limit rate over 12960/day burst 9 packets');
    expect(banLimit({ after: 2, withinMs: 1_000, forMs: 1_000 })).toBe('limit rate over 86400/day burst 1 packets');
    expect(banLimit({ after: 1, withinMs: 1_000, forMs: 1_000 })).toBeUndefined();
  });

  it('bans IPv6 sources by /64, IPv4 by address; a first bad knock bans when after is 1', () => {
    const config = serverConfig({ ban: { after: 1, withinMs: 1_000, forMs: 5_000 } });
    expect(strikeRule(config, 4)).toBe(
      `\t\tadd @banned4 { ip saddr } counter name bans limit name "refusal_log" log prefix "otpknock ban" group ${config.auditNflogGroup}\n`,
    );
    expect(strikeRule(config, 6)).toContain('ip6 saddr & ffff:ffff:ffff:ffff::');
  });

  it('renders nothing when off, and carries bans over with at most the ban duration left', () => {
    expect(banSetsText(serverConfig({ ban: null }))).toBe('');
    const text = banSetsText(serverConfig({ ban: { after: 3, withinMs: 1_000, forMs: 5_000 } }), [
      { family: 4, address: '192.0.2.9', remainingMs: 60_000 },
      { family: 6, address: '2001:db8::', remainingMs: 500 },
    ]);
    expect(text).toContain('192.0.2.9 timeout 5000ms');
    expect(text).not.toContain('2001:db8::'); // under a second left: let it go
    expect(text).toMatch(/set banned4 \{[^}]*size 65536/);
  });

  it('reads bans and figures back from nft -j output', () => {
    const doc = {
      nftables: [
        { set: { name: 'banned4', elem: [{ elem: { val: '192.0.2.3', expires: 4 } }] } },
        { set: { name: 'banned6', elem: [{ elem: { val: '2001:db8:1::', expires: 2 } }] } },
        { counter: { name: 'bans', packets: 2 } },
        { counter: { name: 'banned_knocks', packets: 7 } },
      ],
    };
    expect(bannedFromJson(doc)).toEqual([
      { family: 4, address: '192.0.2.3', remainingMs: 4000 },
      { family: 6, address: '2001:db8:1::', remainingMs: 2000 },
    ]);
    expect(banStatusFromJson(doc)).toEqual({ banned: 2, bans: 2, bannedKnocks: 7 });
    expect(banStatusFromJson({ nftables: [] })).toBeUndefined();
  });
});
