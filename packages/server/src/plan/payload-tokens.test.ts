import { derivePayloadToken } from '@otpknock/shared';
import { describe, expect, it } from 'vitest';
import { allElements, emptyTrie } from '../trie/state.js';
import { syncTrie } from '../trie/sync.js';
import { planEntries } from './entries.js';
import { serverConfig, timeProfile, user } from '@otpknock/server/testing';
import { attachTokens, payloadShapeRules, stepKeyExpr } from './payload-tokens.js';
import { renderRuleset } from '../ruleset/render.js';

const tokenUser = (name: string) => user(name, { profile: timeProfile({ tokenBytes: 8 }) });

describe('required payloads in the kernel', () => {
  it('adds nothing without a requirement', () => {
    const config = serverConfig();
    expect(payloadShapeRules(config)).toBe('');
    expect(stepKeyExpr(config)).toBe('meta mark . udp dport');
  });

  it.each([
    ['any', 'none', 'udp length 8 counter name payload_refused drop'],
    ['ntp', 'none', 'udp length != 56'],
    ['token', 'dns', '@th,96,16 != 0x1'],
  ] as const)(
    'checks shapes with udp length and raw payload matches (require %s, shape %s)',
    (require, shape, rule) => {
      expect(payloadShapeRules(serverConfig({ payload: { require, shape } }))).toContain(rule);
    },
  );

  it.each([
    ['ntp', '@th,320,32'],
    ['dns', '@th,168,64'],
    ['text:hi', '@th,80,32'],
  ])(
    'keys steps by the token where the shape puts it: raw 32 bits, or 64 bits of hex for dns (shape %s)',
    (shape, token) => {
      expect(stepKeyExpr(serverConfig({ payload: { require: 'token', shape } }))).toBe(
        `meta mark . udp dport . ${token}`,
      );
    },
  );

  it("gives each step the token of its user's window, and keeps users apart in the trie", () => {
    const alice = tokenUser('alice');
    const bob = tokenUser('bob');
    const config = serverConfig({ users: [alice, bob], payload: { require: 'token', shape: 'none' } });
    const entries = attachTokens(config, planEntries(config, 1_770_000_000_000));
    for (const e of entries) {
      const u = e.user === 'alice' ? alice : bob;
      expect(e.token).toBe(
        `0x${Buffer.from(derivePayloadToken(u.secret, e.window, 8).subarray(0, 4)).toString('hex')}`,
      );
    }
    const { steps, actions } = allElements(syncTrie(emptyTrie(), entries).state);
    expect(steps.every((s) => s.token !== undefined)).toBe(true);
    const text = renderRuleset({ config, steps, actions, usedTimeoutMs: 120_000 });
    expect(text).toContain('typeof meta mark . udp dport . @th,64,32 : meta mark');
    expect(text).toMatch(/0x00000000 \. \d+ \. 0x[0-9a-f]{8}( timeout \d+ms)? : 0x/);
  });
});
