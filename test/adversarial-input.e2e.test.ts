// Adversarial suite, part 1: bad input. Malformed configs, otpauth URIs, CLI
// arguments of both CLIs and absurd durations, each tried against a RUNNING
// daemon: a clear error naming the problem, a non-zero exit, and the live
// table exactly as it was (`nft list table` before = after). Config cases go
// through every door: `check`, `run`, `apply` and SIGHUP of the live daemon.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { encodeSecret } from '@otpknock/shared';
import { useReport } from './support/adversarial-report.js';
import {
  KNOCK,
  NODE,
  describeE2E,
  listTable,
  otpknockd,
  pollUntil,
  testSecret,
  testUser,
  useDaemon,
  usersYaml,
} from './support/e2e.js';

const alice = testUser('alice');
const ALICE_SECRET = encodeSecret(alice.secret);
const INLINE = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const APPLIED_NOTHING = /nothing from it was applied/;

/** A config case: the file text (secret files are in DIR), its mode, and what the error must say. */
interface ConfigCase {
  name: string;
  text: (dir: string) => string;
  error: RegExp;
  mode?: number;
  /** Text that must never appear in any message (a secret). */
  secret?: string;
}

const GOOD_TAIL = (dir: string) => `users:\n  alice: { secret_file: ${dir}/alice.secret }\n`;
const SVC = 'services:\n  ssh: { port: 22 }\n';
const withSvc = (head: string) => (dir: string) => `${head}${SVC}${GOOD_TAIL(dir)}`;

const CONFIG_CASES: ConfigCase[] = [
  // syntax
  {
    name: 'YAML syntax: unclosed flow map',
    text: () => 'services:\n  ssh: { port: 22\nusers: {}\n',
    error: /:3: invalid YAML: Flow map/,
  },
  {
    name: 'YAML: tab indentation',
    text: () => 'services:\n\tssh: { port: 22 }\n',
    error: /:2: invalid YAML: Tabs are not allowed/,
  },
  {
    name: 'YAML: duplicate key',
    text: (d) =>
      `${SVC}users:\n  alice: { secret_file: ${d}/alice.secret }\n  alice: { secret_file: ${d}/alice.secret }\n`,
    error: /:5: invalid YAML: Map keys must be unique/,
  },
  {
    name: 'top level is a list',
    text: () => '- services\n- users\n',
    error: /:1: expected a mapping of settings at the top level, got a list/,
  },
  { name: 'empty file', text: () => '', error: /the file is empty; expected at least a services and a users section/ },
  // missing fields
  { name: 'services missing', text: GOOD_TAIL, error: /:1: services: missing; expected at least one service/ },
  { name: 'users missing', text: () => SVC, error: /users: missing; expected at least one user/ },
  {
    name: 'unknown field (typo)',
    text: (d) => `${SVC}users:\n  alice: { secretfile: ${d}/alice.secret }\n`,
    error: /:4: users\.alice\.secretfile: unknown field \(did you mean secret_file\?\)/,
  },
  // types and ranges
  {
    name: 'port is a name',
    text: (d) => `services:\n  ssh: { port: ssh }\n${GOOD_TAIL(d)}`,
    error: /:2: services\.ssh\.port: expected a port number \(an integer from 1 to 65535\), got "ssh"/,
  },
  {
    name: 'port 0',
    text: (d) => `services:\n  ssh: { port: 0 }\n${GOOD_TAIL(d)}`,
    error: /services\.ssh\.port: .* got 0/,
  },
  {
    name: 'port 70000',
    text: (d) => `services:\n  ssh: { port: 70000 }\n${GOOD_TAIL(d)}`,
    error: /services\.ssh\.port: .* got 70000/,
  },
  {
    name: 'two services on one port',
    text: (d) => `services:\n  ssh: { port: 22 }\n  alt: { port: 22 }\n${GOOD_TAIL(d)}`,
    error: /:3: services\.alt\.port: port 22 is already used by service ssh/,
  },
  {
    name: 'a port both local and forwarded (gateway mode)',
    text: (d) => `services:\n  ssh: { port: 22 }\n  lan: { port: 22, forward: dnat }\n${GOOD_TAIL(d)}`,
    error:
      /:3: services\.lan\.port: port 22 is already the port of service ssh \(local\); a port is guarded either on this host or forwarded, not both/,
  },
  {
    name: 'a forward to loopback',
    text: (d) => `services:\n  ssh: { port: 22 }\n  nas: { port: 8443, forward: 127.0.0.1 }\n${GOOD_TAIL(d)}`,
    error: /:3: services\.nas\.forward: "127\.0\.0\.1" is loopback \(127\.0\.0\.0\/8\): it never leaves the host/,
  },
  {
    name: 'a forward prefix with host bits',
    text: (d) => `services:\n  ssh: { port: 22 }\n  lan: { port: 554, forward: 198.51.100.7/24 }\n${GOOD_TAIL(d)}`,
    error:
      /services\.lan\.forward: "198\.51\.100\.7\/24" has host bits set beyond \/24; write the network, 198\.51\.100\.0\/24/,
  },
  {
    name: 'knock range inverted',
    text: withSvc('knock: { range: 40000-20000 }\n'),
    error: /knock\.range: min 40000 is above max 20000; swap them/,
  },
  {
    name: 'knock range too small for the length',
    text: withSvc('knock: { range: 20000-20004 }\n'),
    error: /knock\.range: range 20000-20004 leaves 5 ports .* length 3 needs 6/,
  },
  {
    name: 'exclude given as a range string',
    text: withSvc('knock: { exclude: [1-65535] }\n'),
    error: /knock\.exclude\[0\]: expected a port number .* got "1-65535"/,
  },
  {
    name: 'list-modulo list overlaps a service port',
    text: withSvc('knock: { method: list-modulo, length: 2, ports: [22, 7001, 7002, 7003] }\n'),
    error: /knock\.ports\[0\]: port 22 is also in exclude/,
  },
  {
    name: 'break-glass sequence overlaps a service port',
    text: withSvc('break_glass: { sequence: [22, 11111, 12222, 13333, 14444, 15555, 16666, 17777] }\n'),
    error: /break_glass\.sequence\[0\]: port 22 is the port of service ssh/,
  },
  {
    name: 'static sequences: one begins the other',
    text: (d) =>
      `${SVC}users:\n  alice: { secret_file: ${d}/alice.secret, knock: { method: static, open: [7000], toggle: true } }\n  bob: { secret_file: ${d}/bob.secret, knock: { method: static, open: [7000, 8000], toggle: true } }\n`,
    error: /users\.bob\.knock\.open: the static open sequence of user bob starts with the open sequence of user alice/,
  },
  {
    name: 'unknown method',
    text: withSvc('knock: { method: totp }\n'),
    error: /knock\.method: expected one of time, list-modulo, prng, static, got "totp"/,
  },
  {
    name: 'unknown algorithm',
    text: withSvc('knock: { algorithm: MD5 }\n'),
    error: /knock\.algorithm: expected one of SHA1, SHA256, SHA512, got "MD5"/,
  },
  {
    name: 'length 9',
    text: withSvc('knock: { length: 9 }\n'),
    error: /knock\.length: length must be a whole number 1–8, got 9/,
  },
  { name: 'skew -1', text: withSvc('skew: -1\n'), error: /:1: skew: expected an integer from 0 to 10/ },
  {
    name: 'table name with a space',
    text: withSvc('table: "my table"\n'),
    error: /:1: table: expected 1 to 32 characters .* got "my table"/,
  },
  {
    name: 'user allowed an unknown service',
    text: (d) => `${SVC}users:\n  alice: { secret_file: ${d}/alice.secret, services: [smtp] }\n`,
    error: /users\.alice\.services\[0\]: unknown service "smtp"; expected one of .*: ssh/,
  },
  // secrets
  {
    name: 'inline secret of 80 bits',
    text: () => `${SVC}users:\n  alice: { secret: JBSWY3DPEHPK3PXP }\n`,
    error: /users\.alice\.secret: secret is 80 bits long; at least 128 bits/,
    secret: 'JBSWY3DPEHPK3PXP',
  },
  {
    name: 'inline secret with a non-base32 character',
    text: () => `${SVC}users:\n  alice: { secret: JBSWY3DPEHPK3PXP1BSWY3DPEHPK3PXP }\n`,
    error: /users\.alice\.secret: invalid base32 character at position 17/,
    secret: 'JBSWY3DPEHPK3PXP1BSWY3DPEHPK3PXP',
  },
  {
    name: 'both secret and secret_file',
    text: (d) => `${SVC}users:\n  alice: { secret: ${INLINE}, secret_file: ${d}/alice.secret }\n`,
    error: /users\.alice\.secret: both secret and secret_file are set/,
    secret: INLINE,
  },
  {
    name: 'two users with one secret',
    text: (d) =>
      `${SVC}users:\n  alice: { secret_file: ${d}/alice.secret }\n  bob: { secret_file: ${d}/alice.secret }\n`,
    error: /users\.bob\.secret_file: user bob has the same secret as user alice/,
    secret: ALICE_SECRET,
  },
  {
    name: 'secret file missing',
    text: () => `${SVC}users:\n  alice: { secret_file: /nonexistent/alice }\n`,
    error: /users\.alice\.secret_file: \/nonexistent\/alice does not exist/,
  },
  {
    name: 'secret file is a directory',
    text: () => `${SVC}users:\n  alice: { secret_file: /tmp }\n`,
    error: /users\.alice\.secret_file: \/tmp is not a regular file \(it is a directory\)/,
  },
  {
    name: 'secret file group-readable (0640)',
    text: (d) => `${SVC}users:\n  alice: { secret_file: ${d}/loose.secret }\n`,
    error: /users\.alice\.secret_file: permissions 0640 for .*loose\.secret are too open.*chmod 600/,
    secret: ALICE_SECRET,
  },
  {
    name: 'inline secret in a world-readable config (0644)',
    text: () => `${SVC}users:\n  alice: { secret: ${INLINE} }\n`,
    mode: 0o644,
    error:
      /users\.alice\.secret: inline secret in a configuration file that group or others can read \(permissions 0644\)/,
    secret: INLINE,
  },
  // absurd durations and periods
  {
    name: 'step_timeout: bare number',
    text: withSvc('step_timeout: 5\n'),
    error: /:1: step_timeout: 5 is a bare number, which is ambiguous/,
  },
  {
    name: 'step_timeout: 10y (no such unit)',
    text: withSvc('step_timeout: 10y\n'),
    error: /step_timeout: "10y" is not a duration/,
  },
  {
    name: 'step_timeout: 0s',
    text: withSvc('step_timeout: 0s\n'),
    error: /step_timeout: 0s is out of range; expected a duration from 100ms to 1m/,
  },
  { name: 'step_timeout: 2h', text: withSvc('step_timeout: 2h\n'), error: /step_timeout: 2h is out of range/ },
  {
    name: 'open_for: 25h',
    text: (d) => `services:\n  ssh: { port: 22, open_for: 25h }\n${GOOD_TAIL(d)}`,
    error: /services\.ssh\.open_for: 25h is out of range; expected a duration from 1s to 24h/,
  },
  { name: 'ban.for: 8d', text: withSvc('ban: { for: 8d }\n'), error: /ban\.for: 8d is out of range/ },
  { name: 'period 0', text: withSvc('knock: { period: 0 }\n'), error: /knock\.period: .*got 0/ },
  {
    name: 'period one day',
    text: withSvc('knock: { period: 86400 }\n'),
    error: /knock\.period: period \(seconds\) must be a whole number 1–3600, got 86400/,
  },
];

/** A CLI case: argv for otpknockd (server namespace) or knock (client namespace). */
interface CliCase {
  name: string;
  cli: 'otpknockd' | 'knock';
  args: (ctx: { cfg: string; dir: string }) => string[];
  code: number;
  error: RegExp;
  secret?: string;
}

const S = INLINE;
const uri = (q: string) => `otpauth://totp/acme:alice?${q}`;
/** `knock import URI` refused with exit 2 and `error`; no message may repeat `secret`. */
const importRefused = (name: string, uriText: string, error: RegExp, secret?: string): CliCase => ({
  name: `import: ${name}`,
  cli: 'knock',
  args: () => ['import', uriText],
  code: 2,
  error,
  ...(secret === undefined ? {} : { secret }),
});
const CLI_CASES: CliCase[] = [
  // otpauth URIs (knock import)
  importRefused('URI of type hotp', `otpauth://hotp/acme:alice?secret=${S}`, /unsupported OTP type "hotp"/),
  importRefused('URI without a secret', uri('issuer=acme'), /parameter "secret": missing/),
  importRefused('URI with a 40-bit secret', uri('secret=JBSWY3DP'), /parameter "secret": secret is 40 bits long/),
  importRefused(
    'URI with a non-base32 secret',
    uri('secret=JBSWY3DPEHPK3PXP1BSWY3DPEHPK3PXP'),
    /parameter "secret": invalid base32 character at position 17\. /,
    'JBSWY3DPEHPK3PXP1BSWY3DPEHPK3PXP',
  ),
  importRefused('URI with digits=8', uri(`secret=${S}&digits=8`), /parameter "digits": otpknock uses 6-digit/, S),
  importRefused('URI with period=0', uri(`secret=${S}&period=0`), /parameter "period": .*got 0/, S),
  importRefused('URI with length=9', uri(`secret=${S}&length=9`), /parameter "length": .*got 9/, S),
  importRefused(
    'URI with an unknown method',
    uri(`secret=${S}&method=knock`),
    /parameter "method": unknown method; expected one of time, list-modulo, prng, static/,
    S,
  ),
  importRefused(
    'URI with a parameter twice',
    uri(`secret=${S}&secret=${S}`),
    /parameter "secret": appears more than once/,
  ),
  importRefused(
    'URI with a bad port list',
    uri(`secret=${S}&method=list-modulo&ports=1,2,x`),
    /parameter "ports": item 3 of the list is not a port number/,
    S,
  ),
  importRefused(
    'URI with an inverted range',
    uri(`secret=${S}&range=9-2`),
    /parameter "range": min 9 is above max 2/,
    S,
  ),
  importRefused(
    'URI with service port 70000',
    uri(`secret=${S}&host=h&port=70000`),
    /parameter "port": 70000 is not a port number/,
    S,
  ),
  importRefused('not an otpauth URI', `https://example.org/?secret=${S}`, /not an otpauth:\/\/ URI/, S),
  // knock arguments
  { name: 'knock: unknown option', cli: 'knock', args: () => ['--bogus'], code: 2, error: /unknown option '--bogus'/ },
  {
    name: 'knock: no profile for the host',
    cli: 'knock',
    args: () => ['nohost'],
    code: 2,
    error: /no profile for nohost/,
  },
  {
    name: 'knock print --at yesterday',
    cli: 'knock',
    args: () => ['print', 'nohost', '--at', 'yesterday'],
    code: 2,
    error: /--at: "yesterday" is not a time/,
  },
  {
    name: 'knock --timeout 0',
    cli: 'knock',
    args: () => ['open', 'h', '--timeout', '0'],
    code: 2,
    error: /--timeout must be a number from 0\.1 to 120/,
  },
  {
    name: 'knock --retries 9',
    cli: 'knock',
    args: () => ['open', 'h', '--retries', '9'],
    code: 2,
    error: /--retries must be a whole number from 0 to 5/,
  },
  {
    name: 'knock --delay 5000',
    cli: 'knock',
    args: () => ['open', 'h', '--delay', '5000'],
    code: 2,
    error: /--delay must be a number from 0 to 500/,
  },
  {
    name: 'knock add: secret file 0644',
    cli: 'knock',
    args: ({ dir }) => ['add', 'h', '--secret-file', `${dir}/world.secret`],
    code: 2,
    error: /permissions 0644 are too open.*chmod 600/s,
    secret: ALICE_SECRET,
  },
  {
    name: 'knock add --period 7200',
    cli: 'knock',
    args: ({ dir }) => ['add', 'h', '--secret-file', `${dir}/alice.secret`, '--period', '7200'],
    code: 2,
    error: /--period must be a whole number from 1 to 3600/,
  },
  {
    name: 'knock add --range 1-3',
    cli: 'knock',
    args: ({ dir }) => ['add', 'h', '--secret-file', `${dir}/alice.secret`, '--range', '1-3'],
    code: 2,
    error: /range 1-3 leaves 3 ports .* length 3 needs 6/,
  },
  // otpknockd arguments
  {
    name: 'otpknockd: unknown command',
    cli: 'otpknockd',
    args: () => ['frobnicate'],
    code: 2,
    error: /unknown command 'frobnicate'/,
  },
  {
    name: 'otpknockd render --at notatime',
    cli: 'otpknockd',
    args: ({ cfg }) => ['render', '--config', cfg, '--at', 'notatime'],
    code: 2,
    error: /--at: "notatime" is not a time/,
  },
  {
    name: 'otpknockd run --log-format xml',
    cli: 'otpknockd',
    args: ({ cfg }) => ['run', '--config', cfg, '--log-format', 'xml'],
    code: 2,
    error: /--log-format <format>' argument 'xml' is invalid/,
  },
  {
    name: 'otpknockd open without ADDR',
    cli: 'otpknockd',
    args: ({ cfg }) => ['open', '--config', cfg],
    code: 2,
    error: /missing required argument 'addr'/,
  },
  {
    name: 'otpknockd close 192.0.2.0/24 (a prefix)',
    cli: 'otpknockd',
    args: ({ cfg }) => ['close', '192.0.2.0/24', '--config', cfg],
    code: 2,
    error: /"192\.0\.2\.0\/24" is not an IPv4 or IPv6 address/,
  },
  {
    name: 'otpknockd open --for 0s',
    cli: 'otpknockd',
    args: ({ cfg }) => ['open', '192.0.2.9', '--for', '0s', '--config', cfg],
    code: 2,
    error: /--for: 0s is out of range/,
  },
  {
    name: 'otpknockd mode with two arguments',
    cli: 'otpknockd',
    args: ({ cfg }) => ['mode', 'closed', 'extra', '--config', cfg],
    code: 2,
    error: /too many arguments for 'mode'/,
  },
  {
    name: 'otpknockd check of a missing file',
    cli: 'otpknockd',
    args: () => ['check', '--config', '/nonexistent/otpknockd.yaml'],
    code: 2,
    error: /cannot read the configuration file: no such file/,
  },
  {
    name: 'otpknockd apply --confirm-within 2h',
    cli: 'otpknockd',
    args: ({ cfg }) => ['apply', '--config', cfg, '--confirm-within', '2h'],
    code: 2,
    error: /--confirm-within: 2h is out of range; expected 5s to 1h/,
  },
  // issue #12 §4, class by class
  {
    name: 'knock print --at 2026-02-29 (not a leap year)',
    cli: 'knock',
    args: () => ['print', 'nohost', '--at', '2026-02-29T10:00:00Z'],
    code: 2,
    error: /--at: "2026-02-29T10:00:00Z" is not a valid time: February 2026 has 28 days/,
  },
  {
    name: 'knock print --at 2026-04-31 (a 30-day month)',
    cli: 'knock',
    args: () => ['print', 'nohost', '--at', '2026-04-31T10:00:00Z'],
    code: 2,
    error: /April 2026 has 30 days/,
  },
  {
    name: 'otpknockd render --at 2026-02-30',
    cli: 'otpknockd',
    args: ({ cfg }) => ['render', '--config', cfg, '--at', '2026-02-30T10:00:00Z'],
    code: 2,
    error: /--at: "2026-02-30T10:00:00Z" is not a valid time: February 2026 has 28 days/,
  },
  {
    name: 'otpknockd render --at hour 24',
    cli: 'otpknockd',
    args: ({ cfg }) => ['render', '--config', cfg, '--at', '2026-11-25T24:00:00Z'],
    code: 2,
    error: /hour 24 is out of range \(00–23\)/,
  },
  {
    name: 'knock add: a secret file of 60,000 characters',
    cli: 'knock',
    args: ({ dir }) => ['add', 'h', '--secret-file', `${dir}/huge.secret`],
    code: 2,
    error: /huge\.secret: secret is longer than 512 bits/,
    secret: 'QXJVWYQXJVWY',
  },
  {
    name: 'knock import: a URI of 20,000 characters',
    cli: 'knock',
    args: () => ['import', `${uri(`secret=${S}&host=gw`)}&x=${'x'.repeat(20_000)}`],
    code: 2,
    error: /otpauth URI: 20\d{3} characters long; at most 16384 are accepted/,
    secret: S,
  },
  {
    name: 'knock: a host of 100,000 characters',
    cli: 'knock',
    args: () => ['h'.repeat(100_000)],
    code: 2,
    error: /HOST: "h{64}…" \(100000 characters\) is not a profile name, address or ssh alias/,
  },
  {
    name: 'knock add --address of 100,000 characters',
    cli: 'knock',
    args: ({ dir }) => ['add', 'h', '--secret-file', `${dir}/alice.secret`, '--address', 'h'.repeat(100_000)],
    code: 2,
    error:
      /--address: "h{64}…" \(100000 characters\) is not a host name or address: it is 100000 characters long; at most 253/,
  },
  {
    name: "knock add --address 'a b' (import refuses it too)",
    cli: 'knock',
    args: ({ dir }) => ['add', 'h', '--secret-file', `${dir}/alice.secret`, '--address', 'a b'],
    code: 2,
    error: /--address: "a b" is not a host name or address: it contains " "/,
  },
  {
    name: 'knock import: host=a b',
    cli: 'knock',
    args: () => ['import', uri(`secret=${S}&host=a%20b`)],
    code: 2,
    error: /parameter "host": not a host name or address: it contains " "/,
    secret: S,
  },
  {
    name: 'knock import: ":" in the account',
    cli: 'knock',
    args: () => ['import', `otpauth://totp/acme:alice:x?secret=${S}&host=gw`],
    code: 2,
    error: /parameter "label": the account contains ":"/,
    secret: S,
  },
  {
    name: 'knock import: ":" in the issuer',
    cli: 'knock',
    args: () => ['import', uri(`secret=${S}&host=gw&issuer=ac%3Ame`)],
    code: 2,
    error: /parameter "issuer": the issuer contains ":"/,
    secret: S,
  },
  {
    name: 'knock: a profile store of version 2',
    cli: 'knock',
    args: ({ dir }) => ['--config', `${dir}/v2-profiles.json`, 'list'],
    code: 2,
    error: /v2-profiles\.json: the profile store is version 2; this knock reads only version 1 and changed nothing/,
  },
  {
    name: 'otpknockd open fe80::1%eth0 (a zone id)',
    cli: 'otpknockd',
    args: ({ cfg }) => ['open', 'fe80::1%eth0', '--config', cfg],
    code: 2,
    error:
      /ADDR: "fe80::1%eth0" is not an IPv4 or IPv6 address: it has a zone \(scope\) id "%eth0", which otpknock does not support/,
  },
  {
    name: 'otpknockd close fe80::1%25eth0',
    cli: 'otpknockd',
    args: ({ cfg }) => ['close', 'fe80::1%25eth0', '--config', cfg],
    code: 2,
    error: /has a zone \(scope\) id "%25eth0"/,
  },
  {
    name: 'otpknockd open ::ffff:192.0.2.9 (IPv4-mapped)',
    cli: 'otpknockd',
    args: ({ cfg }) => ['open', '::ffff:192.0.2.9', '--config', cfg],
    code: 2,
    error: /IPv4-mapped IPv6 address.*give 192\.0\.2\.9/,
  },
  {
    name: 'otpknockd open 0.0.0.0 (never a source address)',
    cli: 'otpknockd',
    args: ({ cfg }) => ['open', '0.0.0.0', '--config', cfg],
    code: 2,
    error: /ADDR: "0\.0\.0\.0" is the unspecified address, never the source address of a packet/,
  },
  {
    name: 'otpknockd open ff02::1 (multicast)',
    cli: 'otpknockd',
    args: ({ cfg }) => ['open', 'ff02::1', '--config', cfg],
    code: 2,
    error: /ADDR: "ff02::1" is a multicast address \(ff00::\/8\), never the source/,
  },
  {
    name: 'otpknockd open --service "" (was: every service)',
    cli: 'otpknockd',
    args: ({ cfg }) => ['open', '192.0.2.9', '--service', '', '--config', cfg],
    code: 2,
    error: /--service: an empty service name\. .*are: ssh/,
  },
  {
    name: 'otpknockd close -s "ssh,"',
    cli: 'otpknockd',
    args: ({ cfg }) => ['close', '192.0.2.9', '-s', 'ssh,', '--config', cfg],
    code: 2,
    error: /--service: an empty service name/,
  },
  {
    name: 'otpknockd open of 100,000 characters',
    cli: 'otpknockd',
    args: ({ cfg }) => ['open', '1'.repeat(100_000), '--config', cfg],
    code: 2,
    error: /ADDR: "1{64}…" \(100000 characters\) is not an IPv4 or IPv6 address/,
  },
  {
    name: 'otpknockd user add .hidden',
    cli: 'otpknockd',
    args: ({ dir }) => ['user', 'add', '.hidden', '--config', `${dir}/store.yaml`, '--no-qr'],
    code: 2,
    error: /NAME: "\.hidden" is not a user name: it starts with "\."\. Use 1 to 32 characters/,
  },
  {
    name: 'otpknockd user remove -- -rf',
    cli: 'otpknockd',
    args: ({ dir }) => ['user', 'remove', '--config', `${dir}/store.yaml`, '--', '-rf'],
    code: 2,
    error: /NAME: "-rf" is not a user name: it starts with "-"/,
  },
  {
    name: 'otpknockd user add --issuer a:b',
    cli: 'otpknockd',
    args: ({ dir }) => ['user', 'add', 'carol', '--issuer', 'a:b', '--config', `${dir}/store.yaml`, '--no-qr'],
    code: 2,
    error: /--issuer: "a:b" is not an issuer or account: it contains ":"/,
  },
  {
    name: 'otpknockd user add --host fe80::1%eth0',
    cli: 'otpknockd',
    args: ({ dir }) => ['user', 'add', 'carol', '--host', 'fe80::1%eth0', '--config', `${dir}/store.yaml`, '--no-qr'],
    code: 2,
    error: /--host: "fe80::1%eth0" is not a host name or address: it has a zone/,
  },
  {
    name: 'otpknockd mode of 100,000 characters',
    cli: 'otpknockd',
    args: ({ cfg }) => ['mode', 'x'.repeat(100_000), '--config', cfg],
    code: 2,
    error: /unknown mode "x{64}…" \(100000 characters\)/,
  },
];

describeE2E('adversarial: bad input never changes the live firewall', () => {
  // Long windows: the live table changes only at an hour boundary, so "before = after" is exact.
  const fx = useDaemon({
    services: 22,
    config: (secretFile) => `
skew: 1
knock: { method: time, period: 3600, range: 20000-40000 }
services:
  ssh: { port: 22 }
users:
${usersYaml([alice], secretFile)}
`,
  });
  let home: string;
  let goodText: string;
  const report = useReport(
    'adversarial-input',
    'Bad input: each refused with a clear error, non-zero exit, live table unchanged',
    ['case', 'tries', 'result', 'notes'],
  );

  beforeAll(async () => {
    const { cfg } = fx;
    goodText = readFileSync(cfg.file, 'utf8');
    // Extra secret files some cases point at.
    const bob = join(cfg.dir, 'bob.secret');
    writeFileSync(bob, `${encodeSecret(testSecret('bob'))}\n`, { mode: 0o600 });
    for (const [name, mode] of [
      ['loose.secret', 0o640],
      ['world.secret', 0o644],
    ] as const) {
      writeFileSync(join(cfg.dir, name), `${ALICE_SECRET}\n`);
      chmodSync(join(cfg.dir, name), mode);
    }
    writeFileSync(join(cfg.dir, 'huge.secret'), 'QXJVWY'.repeat(10_000), { mode: 0o600 });
    writeFileSync(join(cfg.dir, 'v2-profiles.json'), '{"version": 2, "profiles": {}}\n', { mode: 0o600 });
    // A config with a user store of its own, for the user commands (the daemon does not read it).
    writeFileSync(
      join(cfg.dir, 'store.yaml'),
      `user_store: users.d\nstate_dir: ${join(cfg.dir, 'store-state')}\nservices:\n  ssh: { port: 22 }\n`,
      { mode: 0o600 },
    );
    home = join(cfg.dir, 'home'); // the knock client's; removed with the config
    mkdirSync(join(home, '.config'), { recursive: true });
    // The daemon may still be settling after "start" (e.g. asking the kernel about element
    // timeouts in a probe set of its own table): the baseline is a table that stays put.
    let last = '';
    let same = 0;
    await pollUntil(
      async () => {
        const now = await tableText();
        same = now === last ? same + 1 : 0;
        last = now;
        return same >= 3 || undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250, message: 'the live table settles after start' },
    );
  });

  const tableText = async () =>
    ((await listTable(fx.t, 'server', 'inet', 'otpknock', { format: 'text' })) ?? '<no table>')
      .replace(/ expires \S+/g, '')
      .replace(/packets \d+ bytes \d+/g, '');

  /** Runs fn and checks the live table is the same afterwards (re-baselined only if the daemon rotated meanwhile). */
  async function unchanged(what: string, fn: () => Promise<void>): Promise<void> {
    const { daemon } = fx;
    const mark = daemon.mark();
    const before = await tableText();
    await fn();
    const after = await tableText();
    const rotated = daemon
      .lines()
      .slice(mark)
      .some((l) => /"event":"(rotation|resync)"/.test(l.text));
    if (!rotated && after !== before) {
      const a = new Set(after.split('\n'));
      const b = new Set(before.split('\n'));
      const diff = [
        ...before
          .split('\n')
          .filter((l) => !a.has(l))
          .map((l) => `- ${l}`),
        ...after
          .split('\n')
          .filter((l) => !b.has(l))
          .map((l) => `+ ${l}`),
      ];
      expect.fail(`${what}: the live table changed:\n${diff.slice(0, 20).join('\n')}`);
    }
    expect(daemon.running, `${what}: the daemon died`).toBe(true);
  }

  it(
    `refuses ${CONFIG_CASES.length} malformed configs through check, run, apply and SIGHUP`,
    async () => {
      const { t, cfg, daemon } = fx;
      const bad = join(cfg.dir, 'bad.yaml');
      for (const c of CONFIG_CASES) {
        const text = c.text(cfg.dir);
        const mode = c.mode ?? 0o600;
        await unchanged(c.name, async () => {
          writeFileSync(bad, text);
          chmodSync(bad, mode);
          const outputs: string[] = [];
          const doors = [
            ['check', '--config', bad],
            ['run', '--config', bad],
            ['apply', '--config', bad, '--confirm-within', '10s'],
          ];
          const results = await Promise.all(doors.map((argv) => otpknockd(t, argv)));
          for (const [i, r] of results.entries()) {
            const door = doors[i]![0];
            expect(r.code, `${c.name}: ${door}: ${r.stderr}`).toBe(2);
            expect(r.stderr, `${c.name}: ${door}`).toMatch(c.error);
            expect(r.stderr, `${c.name}: ${door}`).toMatch(APPLIED_NOTHING);
            outputs.push(r.stdout, r.stderr);
          }
          // The live daemon: the same text in its own config file, then SIGHUP.
          writeFileSync(cfg.file, text);
          chmodSync(cfg.file, mode);
          const mark = daemon.mark();
          daemon.signal('SIGHUP');
          const line = await daemon.waitForLine(/"event":"reload"/, { after: mark, timeoutMs: 10_000 });
          expect(line, `${c.name}: SIGHUP`).toMatch(/new config refused, still running the old one/);
          expect(JSON.parse(line).message, `${c.name}: SIGHUP`).toMatch(c.error);
          outputs.push(line);
          writeFileSync(cfg.file, goodText);
          chmodSync(cfg.file, 0o600);
          if (c.secret) for (const o of outputs) expect(o, `${c.name}: a secret in a message`).not.toContain(c.secret);
        });
        report.add({
          case: `config: ${c.name}`,
          tries: 4,
          result: 'refused, exit 2, table unchanged',
          note: firstMatch(c.error),
        });
      }
      // After all that the daemon still runs the original config: it still reloads it fine.
      const mark = daemon.mark();
      daemon.signal('SIGHUP');
      expect(await daemon.waitForLine(/"event":"reload"/, { after: mark, timeoutMs: 10_000 })).not.toMatch(/refused/);
      // Three otpknockd processes and a reload per case: up to ~1.5 s each on a loaded 2-core machine.
    },
    5_000 * CONFIG_CASES.length,
  );

  it(`refuses ${CLI_CASES.length} bad CLI arguments and otpauth URIs of both CLIs`, async () => {
    const { t, cfg } = fx;
    const env = {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_STATE_HOME: join(home, '.state'),
    };
    for (const c of CLI_CASES) {
      await unchanged(c.name, async () => {
        const args = c.args({ cfg: cfg.file, dir: cfg.dir });
        const r =
          c.cli === 'otpknockd'
            ? await otpknockd(t, args)
            : await t.exec(
                'client',
                [
                  '/usr/bin/env',
                  `HOME=${env.HOME}`,
                  `XDG_CONFIG_HOME=${env.XDG_CONFIG_HOME}`,
                  `XDG_STATE_HOME=${env.XDG_STATE_HOME}`,
                  NODE,
                  KNOCK,
                  ...args,
                ],
                { timeoutMs: 20_000 },
              );
        expect(r.code, `${c.name}: ${r.stderr.slice(0, 2000)}`).toBe(c.code);
        expect(r.stderr, c.name).toMatch(c.error);
        // No stack trace, and no more than a bounded piece of any input repeated back.
        expect(r.stderr, c.name).not.toMatch(/\n\s+at |TypeError|internal error/);
        expect(r.stderr.length, c.name).toBeLessThan(2000);
        // Not the secret, nor any piece of it (6 characters in a row).
        for (let i = 0; c.secret && i + 6 <= c.secret.length; i++)
          expect(r.stdout + r.stderr, `${c.name}: a piece of the secret in a message`).not.toContain(
            c.secret.slice(i, i + 6),
          );
      });
      report.add({
        case: c.name.startsWith(`${c.cli}`) ? c.name : `${c.cli}: ${c.name}`,
        tries: 1,
        result: `refused, exit ${c.code}, table unchanged`,
        note: firstMatch(c.error),
      });
    }
    // Nothing was stored by the refused imports and adds, nor by the refused user commands,
    // and the store of version 2 is as it was.
    const list = await t.exec(
      'client',
      ['/usr/bin/env', `HOME=${home}`, `XDG_CONFIG_HOME=${join(home, '.config')}`, NODE, KNOCK, 'list', '--json'],
      { timeoutMs: 20_000 },
    );
    expect(list.stdout).not.toMatch(/"name"/);
    expect(existsSync(join(cfg.dir, 'users.d')) ? readdirSync(join(cfg.dir, 'users.d')) : []).toEqual([]);
    expect(readFileSync(join(cfg.dir, 'v2-profiles.json'), 'utf8')).toBe('{"version": 2, "profiles": {}}\n');
  });
});

/** The gist of an expected-error pattern, for the report. */
function firstMatch(re: RegExp): string {
  return re.source.replace(/\\/g, '').replace(/\.\*/g, ' … ').slice(0, 90);
}
