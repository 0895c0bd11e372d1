import { describe, expect, it } from 'vitest';
import { quote } from './errors.js';
import {
  checkHost,
  checkLabel,
  checkProfileName,
  checkUserName,
  hostProblem,
  ipAddressOf,
  labelProblem,
  profileNameProblem,
  userNameProblem,
} from './names.js';
import { thrownOtpknockError } from './testing.js';

const refusal = thrownOtpknockError;

describe('quote: input repeated in a message', () => {
  it('quotes short input as JSON does', () => {
    expect(quote('alice')).toBe('"alice"');
    expect(quote('')).toBe('""');
    expect(quote('a"b\\c')).toBe('"a\\"b\\\\c"');
  });

  it('cuts long input after 64 characters and says how long it was', () => {
    expect(quote('x'.repeat(100_000))).toBe(`"${'x'.repeat(64)}…" (100000 characters)`);
    expect(quote('x'.repeat(65))).toBe(`"${'x'.repeat(64)}…" (65 characters)`);
    expect(quote('x'.repeat(64))).toBe(`"${'x'.repeat(64)}"`);
    expect(quote('abcdef', 3)).toBe('"abc…" (6 characters)');
  });

  it('never cuts a character in half, and counts characters, not UTF-16 units', () => {
    expect(quote('😀'.repeat(70))).toBe(`"${'😀'.repeat(64)}…" (70 characters)`);
  });

  it.each([
    ['NUL', '\u0000', '\\u0000'],
    ['escape (terminal control sequences)', '\u001b[2J', '\\u001b[2J'],
    ['newline', 'a\nb', 'a\\nb'],
    ['DEL', '\u007f', '\\u007f'],
    ['C1 CSI', '\u009b', '\\u009b'],
    ['right-to-left override', '\u202e', '\\u202e'],
    ['zero-width space', '\u200b', '\\u200b'],
    ['byte order mark', '\ufeff', '\\ufeff'],
  ])('escapes %s', (_what, text, shown) => {
    expect(quote(text)).toBe(`"${shown}"`);
  });
});

describe('user names (otpknockd users: config, store, user commands, URI account)', () => {
  it.each(['alice', 'a', 'bob.smith', 'ci-runner_2', '0day', '_svc', 'a'.repeat(32), 'alice.', 'x-'])(
    'accepts %j',
    (name) => {
      expect(userNameProblem(name)).toBeUndefined();
      expect(checkUserName(name, 'NAME')).toBe(name);
    },
  );

  it.each([
    ['', 'is empty'],
    ['.hidden', 'starts with "."'],
    ['.', 'starts with "."'],
    ['..', 'starts with "."'],
    ['-rf', 'starts with "-"'],
    ['a'.repeat(33), 'is 33 characters long; at most 32 are allowed'],
    ['x'.repeat(100_000), 'is 100000 characters long; at most 32 are allowed'],
    ['Alice', 'contains "A"'],
    ['al ice', 'contains " "'],
    ['a/b', 'contains "/"'],
    ['../evil', 'starts with "."'],
    ['a\u0000b', 'contains a control character'],
    ['a\nb', 'contains a control character'],
    ['a\u001b[31m', 'contains a control character'],
    ['alice:x', 'contains ":"'],
    ['ålice', 'contains "å"'],
    ['a@b', 'contains "@"'],
  ])('refuses %j: %s', (name, problem) => {
    expect(userNameProblem(name)).toBe(problem);
    const e = refusal(() => checkUserName(name, 'otpknockd user add NAME'));
    expect(e.code).toBe('E_ARGUMENT');
    expect(e.where).toBe('otpknockd user add NAME');
    expect(e.what).toBe(`${quote(name)} is not a user name: it ${problem}`);
    expect(e.hint).toBe('Use 1 to 32 characters from a-z, 0-9, _, . and -, not starting with . or -');
    expect(e.message.length).toBeLessThan(300);
  });

  it('refuses what is not a string', () => {
    expect(refusal(() => checkUserName(42 as unknown as string, 'users')).what).toBe(
      'expected a user name, got number',
    );
  });
});

describe('profile names (knock add HOST, import --name)', () => {
  it.each([
    'myserver',
    'gw.example.org',
    '192.0.2.10',
    '2001:db8::1',
    '::1',
    '::ffff:192.0.2.1',
    '[2001:db8::1]',
    'fe80::1%eth0',
    'alice@bastion',
    '_srv',
    'a'.repeat(253),
  ])('accepts %j', (name) => {
    expect(profileNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['', 'is empty'],
    ['a'.repeat(254), 'is 254 characters long; at most 253 are allowed'],
    ['-x', 'starts with "-"'],
    ['.x', 'starts with "."'],
    ['my server', 'contains " "'],
    ['a/b', 'contains "/"'],
    ['a\tb', 'contains a control character'],
    ['a\u0000', 'contains a control character'],
    ['ünï', 'starts with "ü"'],
    ['[gw]', 'starts with "["'],
    [':x', 'starts with ":"'],
  ])('refuses %j: %s', (name, problem) => {
    expect(profileNameProblem(name)).toBe(problem);
    expect(refusal(() => checkProfileName(name, 'HOST')).message).toMatch(
      /^HOST: ".*"( \(\d+ characters\))? is not a profile name: it /,
    );
  });
});

describe('otpauth labels (issuer, account): docs/protocol.md §7', () => {
  it.each(['', 'ACME Co', 'alice@example.org', 'ü-nicode ☃', '.', 'a'.repeat(128)])('accepts %j', (label) => {
    expect(labelProblem(label)).toBeUndefined();
  });

  it.each([
    ['a:b', 'contains ":", which separates issuer and account in the label'],
    [':', 'contains ":", which separates issuer and account in the label'],
    ['a'.repeat(129), 'is 129 characters long; at most 128 are allowed'],
    ['a\nb', 'contains a control character'],
    ['\u0000', 'contains a control character'],
    ['a\u009bb', 'contains a control character'],
  ])('refuses %j: %s', (label, problem) => {
    expect(labelProblem(label)).toBe(problem);
    expect(refusal(() => checkLabel(label, '--issuer')).where).toBe('--issuer');
  });
});

describe('hosts: where a knock goes (knock add --address, import, URI host=, otpknockd user add --host)', () => {
  it.each([
    'gw.example.org',
    'gw.example.org.',
    'localhost',
    'my_host',
    'xn--bcher-kva.example',
    '192.0.2.10',
    '0.0.0.0',
    '2001:db8::10',
    '::1',
    '::ffff:192.0.2.1',
    '[2001:db8::10]',
    `${'a'.repeat(63)}.example`,
    Array.from({ length: 4 }, () => 'a'.repeat(62)).join('.') + '.a', // 253 characters
  ])('accepts %j', (host) => {
    expect(hostProblem(host)).toBeUndefined();
    expect(checkHost(host, '--address')).toBe(host);
  });

  it.each([
    ['', 'is empty'],
    ['a b', 'contains " ", which a host name cannot hold'],
    [' gw', 'contains " ", which a host name cannot hold'],
    ['gw/22', 'contains "/", which a host name cannot hold'],
    ['user@gw', 'contains "@", which a host name cannot hold'],
    ['gw?x', 'contains "?", which a host name cannot hold'],
    ['gw\u0000', 'contains a control character, which a host name cannot hold'],
    ['gw\n', 'contains a control character, which a host name cannot hold'],
    ['bücher.example', 'contains "ü", which a host name cannot hold'],
    ['a..b', 'has an empty label (two dots in a row, or a dot at the start)'],
    ['.a', 'has an empty label (two dots in a row, or a dot at the start)'],
    ['-gw', 'has a label that starts or ends with "-"'],
    ['gw-.example', 'has a label that starts or ends with "-"'],
    ['gw.-x', 'has a label that starts or ends with "-"'],
    ['.', 'has an empty label (two dots in a row, or a dot at the start)'],
    [`${'a'.repeat(64)}.example`, 'has a label of 64 characters; at most 63 are allowed'],
    ['a'.repeat(254), 'is 254 characters long; at most 253 are allowed'],
    ['h'.repeat(100_000), 'is 100000 characters long; at most 253 are allowed'],
    ['999.1.1.1', 'is not a valid IPv4 address (four numbers 0–255 separated by dots)'],
    ['192.0.2', 'is not a valid IPv4 address (four numbers 0–255 separated by dots)'],
    ['192.0.2.1.5', 'is not a valid IPv4 address (four numbers 0–255 separated by dots)'],
    ['2001:db8::g', 'is not a valid IPv6 address'],
    ['2001:db8:::1', 'is not a valid IPv6 address'],
    ['gw:22', 'is not a valid IPv6 address'],
    ['fe80::1%eth0', 'has a zone (scope) id "%eth0", which otpknock does not support; give the address without it'],
    [
      '[fe80::1%25eth0]',
      'has a zone (scope) id "%25eth0", which otpknock does not support; give the address without it',
    ],
    ['[192.0.2.1]', 'has brackets, which only an IPv6 address takes'],
    ['[gw]', 'is not an IP address'],
    ['gw%eth0', 'is not an IP address'],
  ])('refuses %j: %s', (host, problem) => {
    expect(hostProblem(host)).toBe(problem);
    const e = refusal(() => checkHost(host, '--address'));
    expect(e.what).toBe(`${quote(host)} is not a host name or address: it ${problem}`);
    expect(e.message.length).toBeLessThan(400);
  });

  it('ipAddressOf: literals only, zone ids named', () => {
    expect(ipAddressOf('192.0.2.1')).toEqual({ address: '192.0.2.1', family: 4 });
    expect(ipAddressOf('2001:db8::1')).toEqual({ address: '2001:db8::1', family: 6 });
    expect(ipAddressOf('fe80::1%eth0')).toEqual({ problem: expect.stringMatching(/zone \(scope\) id "%eth0"/) });
    expect(ipAddressOf('gw.example.org')).toEqual({ problem: 'is not an IP address' });
    expect(ipAddressOf(`fe80::1%${'e'.repeat(10_000)}`)).toEqual({
      problem: expect.stringMatching(/\(10001 characters\)/),
    });
  });
});
