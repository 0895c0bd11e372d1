// What a user name, a profile name, an otpauth label (issuer, account) and a host may
// be: decided here once, so that otpknockd, knock and the otpauth:// URI between them
// agree. Each rule comes twice: `…Problem(value)` says what is wrong (undefined when
// nothing is), for validators that collect problems; `check…(value, where)` throws an
// OtpknockError that names where the value came from and quotes it, cut short.
import { isIP } from 'node:net';
import { OtpknockError, quote } from './errors.js';

/** Longest user name: it is a file name in the user store and a word on command lines. */
export const USER_NAME_MAX = 32;
export const USER_NAME_RULE = `1 to ${USER_NAME_MAX} characters from a-z, 0-9, _, . and -, not starting with . or -`;

/** Longest profile name and host name: a DNS name has at most 253 characters (RFC 1035). */
export const HOST_NAME_MAX = 253;
export const PROFILE_NAME_RULE = `1 to ${HOST_NAME_MAX} characters from A-Z, a-z, 0-9, and . _ - : % @ [ ], starting with a letter, a digit or _ (or an IPv6 address)`;
export const HOST_RULE =
  'a host name (letters, digits, - and _ in labels of at most 63 characters separated by dots, not starting or ending with -, at most 253 in all) or an IPv4 or IPv6 address';

/** Longest issuer and account in an otpauth:// URI; apps show them on one line. */
export const LABEL_MAX = 128;

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// All digits and dots: meant as an IPv4 address (a top-level domain is never all digits).
const DOTTED_NUMBERS = /^(?=.*\d)[0-9.]+$/;

function badCharacter(value: string, allowed: RegExp): string | undefined {
  for (const ch of value) {
    if (!allowed.test(ch)) return CONTROL.test(ch) ? 'a control character' : quote(ch);
  }
  return undefined;
}

function tooLong(value: string, max: number): string | undefined {
  return value.length > max ? `is ${value.length} characters long; at most ${max} are allowed` : undefined;
}

/**
 * A user of otpknockd: config `users:` keys, user store records (NAME.yaml), `otpknockd
 * user …` arguments, the account of the URIs it prints. POSIX's portable user names,
 * lower case: a leading "." would hide the record file, a leading "-" reads as an option.
 */
export function userNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'expected a user name';
  if (name === '') return 'is empty';
  const long = tooLong(name, USER_NAME_MAX);
  if (long) return long;
  if (name.startsWith('.') || name.startsWith('-')) return `starts with "${name[0]}"`;
  const bad = badCharacter(name, /[a-z0-9_.-]/);
  return bad === undefined ? undefined : `contains ${bad}`;
}

export function checkUserName(name: string, where: string): string {
  return check(name, where, 'a user name', userNameProblem(name), `Use ${USER_NAME_RULE}`);
}

/** A knock profile: what a person types (`knock NAME`) and what ssh passes as %h. */
export function profileNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'expected a profile name';
  if (name === '') return 'is empty';
  const long = tooLong(name, HOST_NAME_MAX);
  if (long) return long;
  // An IPv6 address is a name too (what ssh passes as %h): "::1", "[2001:db8::1]".
  if (/^[:[]/.test(name) && hostProblem(name) === undefined) return undefined;
  if (!/^[A-Za-z0-9_]/.test(name)) return `starts with ${quote(name[0]!)}`;
  const bad = badCharacter(name, /[A-Za-z0-9._:%@[\]-]/);
  return bad === undefined ? undefined : `contains ${bad}`;
}

export function checkProfileName(name: string, where: string): string {
  return check(
    name,
    where,
    'a profile name',
    profileNameProblem(name),
    `Use a host name, an IP address or an ssh alias: ${PROFILE_NAME_RULE}`,
  );
}

/**
 * The issuer or the account of an otpauth:// URI (docs/protocol.md §7): the label is
 * issuer:account, so neither may hold ":"; no control characters; at most 128 characters.
 * An empty one is not a problem here (an imported URI may have no issuer).
 */
export function labelProblem(text: unknown): string | undefined {
  if (typeof text !== 'string') return 'expected text';
  const long = tooLong(text, LABEL_MAX);
  if (long) return long;
  if (text.includes(':')) return 'contains ":", which separates issuer and account in the label';
  return CONTROL.test(text) ? 'contains a control character' : undefined;
}

export function checkLabel(text: string, where: string): string {
  return check(
    text,
    where,
    'an issuer or account',
    labelProblem(text),
    `Use at most ${LABEL_MAX} characters without ":" or control characters`,
  );
}

/** An IP address as nft and sockets take it, or what is wrong with `text`. */
export function ipAddressOf(text: string): { address: string; family: 4 | 6 } | { problem: string } {
  const percent = text.indexOf('%');
  if (percent > 0 && isIP(text.slice(0, percent)) === 6) {
    return {
      problem: `has a zone (scope) id ${quote(text.slice(percent), 20)}, which otpknock does not support; give the address without it`,
    };
  }
  const family = isIP(text);
  if (family === 4 || family === 6) return { address: text, family };
  if (DOTTED_NUMBERS.test(text))
    return { problem: 'is not a valid IPv4 address (four numbers 0–255 separated by dots)' };
  return { problem: text.includes(':') ? 'is not a valid IPv6 address' : 'is not an IP address' };
}

/**
 * Where a knock goes: a DNS host name (RFC 1123 letters, digits and "-", plus "_"
 * as found in practice; labels of 1–63 characters, 253 in all, a trailing dot allowed)
 * or an IPv4 or IPv6 address, also as [v6]. Zone ids (fe80::1%eth0) are refused:
 * otpknockd cannot open for them, so knock does not knock them either.
 */
export function hostProblem(host: unknown): string | undefined {
  if (typeof host !== 'string') return 'expected a host name or address';
  if (host === '') return 'is empty';
  const long = tooLong(host, HOST_NAME_MAX);
  if (long) return long;
  const bracketed = /^\[(.*)\]$/.exec(host);
  if (bracketed) {
    const ip = ipAddressOf(bracketed[1]!);
    if ('problem' in ip) return ip.problem;
    return ip.family === 6 ? undefined : 'has brackets, which only an IPv6 address takes';
  }
  if (DOTTED_NUMBERS.test(host) || host.includes(':') || host.includes('%')) {
    const ip = ipAddressOf(host);
    return 'problem' in ip ? ip.problem : undefined;
  }
  const bad = badCharacter(host, /[A-Za-z0-9._-]/);
  if (bad !== undefined) return `contains ${bad}, which a host name cannot hold`;
  const labels = (host.endsWith('.') ? host.slice(0, -1) : host).split('.');
  if (labels.some((l) => l === '')) return 'has an empty label (two dots in a row, or a dot at the start)';
  const longLabel = labels.find((l) => l.length > 63);
  if (longLabel !== undefined) return `has a label of ${longLabel.length} characters; at most 63 are allowed`;
  if (labels.some((l) => l.startsWith('-') || l.endsWith('-'))) return 'has a label that starts or ends with "-"';
  return undefined;
}

export function checkHost(host: string, where: string): string {
  return check(host, where, 'a host name or address', hostProblem(host), `Give ${HOST_RULE}`);
}

function check(value: string, where: string, what: string, problem: string | undefined, hint: string): string {
  if (problem === undefined) return value;
  const message =
    typeof value === 'string'
      ? `${quote(value)} is not ${what}: it ${problem}`
      : `expected ${what}, got ${typeof value}`;
  throw new OtpknockError('E_ARGUMENT', message, { where, hint });
}
