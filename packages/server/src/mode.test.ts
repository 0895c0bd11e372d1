import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { manualCloseScript, manualOpenScript, parseAddress, parseOpenFor, pickServices } from './commands/manual.js';
import { modeChangeScript, modeForwardRules, modeRules, readMode, writeMode } from './mode.js';
import { serverConfig } from '@otpknock/server/testing';

const config = serverConfig({
  services: [
    { name: 'ssh', port: 22, openForMs: 30_000 },
    { name: 'api', port: 443, openForMs: 60_000 },
  ],
});

describe('global mode', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'otpknock-mode-'));
    dirs.push(d);
    return d;
  };

  it('is knock without a file, and round-trips through a 0700 dir and a 0600 file', () => {
    const dir = join(tmp(), 'state');
    expect(readMode(dir)).toBe('knock');
    writeMode(dir, 'closed');
    expect(readMode(dir)).toBe('closed');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'mode')).mode & 0o777).toBe(0o600);
  });

  it('refuses a garbled mode file, naming it', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'mode'), 'maybe\n');
    expect(() => readMode(dir)).toThrow(/mode file .*\/mode holds "maybe", not one of knock, open, closed/);
  });

  it('renders the mode chain: empty, accept the services, or drop knocks and the services', () => {
    expect(modeRules(config, 'knock')).toEqual([]);
    expect(modeRules(config, 'open')).toEqual(['tcp dport { 22, 443 } counter name mode_accepted accept']);
    expect(modeRules(config, 'closed')).toEqual([
      `meta nfproto ipv4 udp dport @knock_ports update @refusal_meter4 { ip saddr limit rate 2/second burst 24 packets } limit name "refusal_log" log prefix "otpknock closed" group ${config.auditNflogGroup}`,
      `meta nfproto ipv6 udp dport @knock_ports update @refusal_meter6 { ip6 saddr & ffff:ffff:ffff:ffff:: limit rate 2/second burst 24 packets } limit name "refusal_log" log prefix "otpknock closed" group ${config.auditNflogGroup}`,
      'udp dport @knock_ports drop',
      'tcp dport { 22, 443 } counter name mode_refused drop',
    ]);
    expect(modeChangeScript(config, 'knock')).toBe('flush chain inet otpknock_test mode\n');
  });

  it("switches forwarded services in mode_forward, which only their guards jump to (no port: theirs is the backend's)", () => {
    const gateway = serverConfig({
      services: [
        { name: 'ssh', port: 22, openForMs: 30_000 },
        { name: 'nas', port: 8443, openForMs: 30_000, forward: { kind: 'dnat' } },
      ],
    });
    expect(modeRules(gateway, 'open')).toEqual(['tcp dport { 22 } counter name mode_accepted accept']);
    expect(modeForwardRules('open')).toEqual(['counter name mode_accepted accept']);
    expect(modeForwardRules('closed')).toEqual(['counter name mode_refused drop']);
    expect(modeForwardRules('knock')).toEqual([]);
    expect(modeChangeScript(gateway, 'closed')).toBe(
      [
        'flush chain inet otpknock_test mode',
        ...modeRules(gateway, 'closed')
          .slice(0, 2)
          .map((r) => `add rule inet otpknock_test mode ${r}`),
        'add rule inet otpknock_test mode udp dport @knock_ports drop',
        'add rule inet otpknock_test mode tcp dport { 22 } counter name mode_refused drop',
        'flush chain inet otpknock_test mode_forward',
        'add rule inet otpknock_test mode_forward counter name mode_refused drop',
        '',
      ].join('\n'),
    );
    // Only forwarded services: the input chain's mode only ignores knocks.
    const onlyForwarded = serverConfig({ services: [gateway.services[1]!] });
    expect(modeRules(onlyForwarded, 'open')).toEqual([]);
    expect(modeRules(onlyForwarded, 'closed').slice(2)).toEqual(['udp dport @knock_ports drop']);
    expect(modeRules(onlyForwarded, 'closed')[0]).toMatch(/log prefix "otpknock closed"/);
  });
});

describe('manual open/close arguments', () => {
  it('takes IPv4 and IPv6 addresses only', () => {
    expect(parseAddress('192.0.2.1')).toEqual({ address: '192.0.2.1', family: 4 });
    expect(parseAddress('2001:db8::1')).toEqual({ address: '2001:db8::1', family: 6 });
    for (const bad of ['192.0.2.256', 'host.example', '192.0.2.0/24', '', '2001:db8::1::2']) {
      expect(() => parseAddress(bad)).toThrow(/is not an IPv4 or IPv6 address/);
    }
  });

  it('picks services by name (repeated or comma-separated), all by default, and lists them on a typo', () => {
    expect(pickServices(config, []).map((s) => s.name)).toEqual(['ssh', 'api']);
    expect(pickServices(config, ['api']).map((s) => s.name)).toEqual(['api']);
    expect(pickServices(config, ['api,ssh']).map((s) => s.name)).toEqual(['api', 'ssh']);
    expect(() => pickServices(config, ['smtp'])).toThrow(/--service: unknown service "smtp".*ssh, api/);
  });

  it('refuses zone ids and IPv4-mapped addresses, which no allowed set can hold', () => {
    for (const bad of ['fe80::1%eth0', 'fe80::1%25eth0', 'fe80::1%1', 'fe80::1%'])
      expect(() => parseAddress(bad)).toThrow(/has a zone \(scope\) id "%.*", which otpknock does not support/);
    for (const [bad, why] of <[string, string][]>[
      ['0.0.0.0', 'the unspecified address'],
      ['255.255.255.255', 'the broadcast address'],
      ['224.0.0.1', 'a multicast address'],
      ['239.255.255.250', 'a multicast address'],
      ['::', 'the unspecified address'],
      ['0:0::0', 'the unspecified address'],
      ['ff02::1', 'a multicast address'],
    ])
      expect(() => parseAddress(bad), bad).toThrow(`"${bad}" is ${why}`);
    expect(parseAddress('223.255.255.255')).toEqual({ address: '223.255.255.255', family: 4 });
    expect(parseAddress('fe80::1')).toEqual({ address: 'fe80::1', family: 6 });
    expect(() => parseAddress('::ffff:192.0.2.1')).toThrow(/IPv4-mapped IPv6 address.*give 192\.0\.2\.1/);
    expect(() => parseAddress('x'.repeat(100_000))).toThrow(/…" \(100000 characters\) is not an IPv4 or IPv6 address/);
  });

  it('an empty service name is refused, not read as "all services"', () => {
    for (const names of [[''], [','], ['ssh,'], [' '], ['ssh', ''], [',ssh']]) {
      expect(() => pickServices(config, names), JSON.stringify(names)).toThrow(
        /--service: an empty service name.*are: ssh, api/,
      );
    }
    expect(pickServices(config, ['ssh,ssh', 'ssh']).map((s) => s.name)).toEqual(['ssh']);
  });

  it('takes --for from 1s to 7d', () => {
    expect(parseOpenFor('90s')).toBe(90_000);
    expect(() => parseOpenFor('500ms')).toThrow(/out of range/);
    expect(() => parseOpenFor('8d')).toThrow(/out of range/);
    expect(() => parseOpenFor('5')).toThrow(/bare number/);
  });

  it('writes transactions that cannot fail on an existing or a missing element', () => {
    expect(manualOpenScript('t', config.services.slice(0, 1), '192.0.2.9', 4, 5_000)).toBe(
      'add element inet t allowed4_ssh { 192.0.2.9 timeout 1s }\ndelete element inet t allowed4_ssh { 192.0.2.9 }\nadd element inet t allowed4_ssh { 192.0.2.9 timeout 5000ms }\n',
    );
    expect(manualCloseScript('t', config.services.slice(1), '2001:db8::9', 6)).toBe(
      'add element inet t allowed6_api { 2001:db8::9 timeout 1s }\ndelete element inet t allowed6_api { 2001:db8::9 }\n',
    );
  });
});
