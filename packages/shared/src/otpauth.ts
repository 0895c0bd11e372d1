// otpauth:// URIs (Google Authenticator key URI format) carrying otpknock's
// own parameters; authenticator apps ignore parameters they do not know.
import { generateURI } from 'otplib';
import { OtpknockError, quote } from './errors.js';
import { hostProblem, labelProblem, HOST_RULE, LABEL_MAX } from './names.js';
import { fleetNameProblem, FLEET_NAME_RULE } from './fleet.js';
import { PROFILE_DEFAULTS, PROFILE_FIELDS, checkProfile, normalizeProfile } from './profile.js';
import { formatPayloadSpec, parsePayloadSpec } from './payload.js';
import { MIN_SECRET_BYTES, decodeSecret, encodeSecret } from './secret.js';
import type { KnockProfile, KnockProfileInput, SecretBytes } from './types.js';

export interface ParsedOtpauth {
  secret: SecretBytes;
  issuer: string;
  account: string;
  /** Knock profile. `parseOtpauthUri` returns it normalised (defaults filled in). */
  profile: KnockProfileInput;
  /** Host to knock (otpknock parameter `host`). */
  host?: string;
  /** Protected service port to wait for (otpknock parameter `port`). */
  servicePort?: number;
  /** The payload setting the server requires of every knock datagram (otpknock parameter `payload`). */
  payload?: string;
  /** A fleet profile (§12, parameters `fleet` and `servers`): `secret` is the person's secret K. */
  fleet?: FleetServers;
}

/** The fleet a fleet profile belongs to and the servers it may knock. */
export interface FleetServers {
  name: string;
  /** Server names (the KDF's S), each with where to knock when that is not the name itself. */
  servers: { name: string; host?: string }[];
}

const WHERE = 'otpauth URI';

/**
 * Longest otpauth:// URI read or written: 16 KiB. One made by `otpknockd user add` is a
 * few hundred characters (a QR code holds at most 2,953 bytes); this leaves room for a
 * list-modulo port list or an exclude list of some 2,700 ports, and refuses a pasted file.
 */
export const MAX_URI_LENGTH = 16 * 1024;

function uriError(param: string | undefined, what: string, hint?: string, cause?: unknown): never {
  const where = param === undefined ? WHERE : `${WHERE} parameter ${quote(param, 20)}`;
  throw new OtpknockError('E_URI', what, { where, ...(hint === undefined ? {} : { hint }), cause });
}

// A URI carries the secret, and a URI pasted with a character lost or added can carry
// it in any other parameter (`period=30secret=…` when an "&" went missing). So no
// message repeats a value from the URI, except a short number that was already read
// as one: each says which parameter and what is wrong with it.
function uriInteger(param: string, v: string): number {
  if (!/^\d{1,9}$/.test(v)) uriError(param, v === '' ? 'empty; expected a whole number' : 'not a whole number');
  return Number(v);
}

function uriPortList(param: string, v: string): number[] {
  if (v.trim() === '') return [];
  return v.split(',').map((s, i) => {
    const t = s.trim();
    if (!/^\d{1,5}$/.test(t))
      uriError(
        param,
        `item ${i + 1} of the list is not a port number`,
        'Write ports as a comma-separated list, e.g. 7001,7002',
      );
    return Number(t);
  });
}

/** A payload setting (protocol.md §11), in its canonical text; the message never repeats the value. */
function uriPayload(v: string): string {
  try {
    return formatPayloadSpec(parsePayloadSpec(v));
  } catch (err) {
    uriError('payload', 'not a payload setting', 'Use none, dns, ntp, random, random:N, hex:BYTES or text:TEXT', err);
  }
}

function uriLabel(param: string, field: 'issuer' | 'account', value: string): string {
  const problem = labelProblem(value);
  if (problem !== undefined) uriError(param, `the ${field} ${problem}`, LABEL_HINT);
  return value;
}

const LABEL_HINT = `The label is issuer:account: each of at most ${LABEL_MAX} characters, without ":" or control characters`;
const OTP_TYPES = ['totp', 'hotp'] as const;
// Named in messages; other names (ignored by otpknock) may be a piece of a mangled secret.
const KNOWN_PARAMS = new Set<string>([
  'secret',
  'issuer',
  'digits',
  'counter',
  'image',
  'host',
  'port',
  'payload',
  'fleet',
  'servers',
  ...PROFILE_FIELDS,
]);

/** Parses an otpauth://totp/ URI with otpknock's parameters; validates the secret and profile. */
export function parseOtpauthUri(uri: string): ParsedOtpauth {
  if (typeof uri !== 'string' || !/^otpauth:\/\//i.test(uri.trim())) {
    uriError(undefined, 'not an otpauth:// URI', 'It should look like otpauth://totp/Issuer:account?secret=...');
  }
  if (uri.length > MAX_URI_LENGTH) {
    uriError(
      undefined,
      `${uri.length} characters long; at most ${MAX_URI_LENGTH} are accepted`,
      'Check that it holds just the one URI that otpknockd user add printed',
    );
  }
  let url: URL;
  try {
    url = new URL(uri.trim());
  } catch (err) {
    uriError(undefined, 'malformed URI', 'Copy the whole URI again', err);
  }
  const type = url.hostname.toLowerCase();
  if (type !== 'totp') {
    uriError(
      'type',
      (OTP_TYPES as readonly string[]).includes(type) ? `unsupported OTP type "${type}"` : 'unsupported OTP type',
      type === 'hotp' ? 'otpknock sequences are time-driven: use otpauth://totp/' : 'Use otpauth://totp/',
    );
  }
  let label: string;
  try {
    // The raw path, not url.pathname: the URL parser resolves "." and ".." (also as %2E)
    // as dot segments, so an account named "." would come back empty.
    label = decodeURIComponent(/^otpauth:\/\/[^/?#]*\/([^?#]*)/i.exec(uri.trim())?.[1] ?? '');
  } catch (err) {
    uriError('label', 'the label is not valid percent-encoding', undefined, err);
  }
  const colon = label.indexOf(':');
  const labelIssuer = colon >= 0 ? label.slice(0, colon).trim() : '';
  const account = uriLabel('label', 'account', (colon >= 0 ? label.slice(colon + 1) : label).trim());

  const params = new Map<string, string>();
  for (const [k, v] of url.searchParams) {
    if (params.has(k)) {
      if (KNOWN_PARAMS.has(k)) uriError(k, 'appears more than once', 'Give each parameter once');
      uriError(undefined, 'a parameter otpknock does not know appears more than once', 'Give each parameter once');
    }
    params.set(k, v);
  }

  const secretText = params.get('secret');
  if (secretText === undefined || secretText === '')
    uriError('secret', 'missing', 'The URI must carry the base32 secret as secret=...');
  // E_SECRET_BASE32 / E_SECRET_SHORT / E_SECRET_LONG, naming the parameter (and never a character of it).
  const secret = decodeSecret(secretText, `${WHERE} parameter "secret"`);

  const digits = params.get('digits');
  if (digits !== undefined && digits !== '6') {
    uriError(
      'digits',
      `otpknock uses 6-digit HOTP values${/^\d{1,2}$/.test(digits) ? `, got ${digits}` : ''}`,
      'Remove digits or set digits=6',
    );
  }

  // Text to typed values here (URI syntax); what the values may be is the profile
  // schema's to say, in the same words as for every other format.
  const str = (k: string) => params.get(k);
  const input: Record<string, unknown> = {};
  if (str('method') !== undefined) input.method = str('method');
  if (str('algorithm') !== undefined) input.algorithm = str('algorithm');
  if (str('period') !== undefined) input.period = uriInteger('period', str('period')!);
  if (str('length') !== undefined) input.length = uriInteger('length', str('length')!);
  if (str('tokenBytes') !== undefined) input.tokenBytes = uriInteger('tokenBytes', str('tokenBytes')!);
  if (str('range') !== undefined) {
    if (!/^\s*\d{1,5}\s*-\s*\d{1,5}\s*$/.test(str('range')!))
      uriError('range', 'not a port range', 'Write it as MIN-MAX, e.g. 10000-65000');
    input.range = str('range')!;
  }
  for (const k of ['exclude', 'ports', 'open', 'close'] as const) {
    const v = str(k);
    if (v !== undefined) input[k] = uriPortList(k, v);
  }
  const toggle = str('toggle');
  if (toggle !== undefined) {
    if (!['1', '0', 'true', 'false'].includes(toggle)) uriError('toggle', 'not a boolean', 'Use toggle=1 or toggle=0');
    input.toggle = toggle === '1' || toggle === 'true';
  }

  // A problem is located by its field, which is the parameter of the same name; the
  // schema repeats no text value (showText: false), only numbers read as numbers.
  const checked = checkProfile(input, { showText: false });
  if (checked.profile === undefined) {
    const issue = checked.issues[0]!;
    uriError(issue.path[0], issue.message, issue.hint);
  }
  const profile: KnockProfile = checked.profile;

  const issuer = uriLabel(params.has('issuer') ? 'issuer' : 'label', 'issuer', params.get('issuer') ?? labelIssuer);
  const result: ParsedOtpauth = { secret, issuer, account, profile };
  const host = params.get('host');
  if (host !== undefined) {
    const problem = hostProblem(host);
    if (problem !== undefined) uriError('host', `not a host name or address: it ${problem}`, `Give ${HOST_RULE}`);
    result.host = host;
  }
  const servicePort = params.get('port');
  if (servicePort !== undefined) {
    const p = uriInteger('port', servicePort);
    if (p < 1 || p > 65535) uriError('port', `${p} is not a port number`, 'Ports are 1–65535');
    result.servicePort = p;
  }
  const payload = params.get('payload');
  if (payload !== undefined) result.payload = uriPayload(payload);
  const fleet = uriFleet(params.get('fleet'), params.get('servers'));
  if (fleet !== undefined) result.fleet = fleet;
  return result;
}

/** The `fleet` and `servers` parameters (§12): both or neither. */
function uriFleet(fleet: string | undefined, servers: string | undefined): FleetServers | undefined {
  if (fleet === undefined && servers === undefined) return undefined;
  if (fleet === undefined) uriError('servers', 'given without fleet', 'A fleet profile names its fleet: fleet=NAME');
  const fleetProblem = fleetNameProblem(fleet);
  if (fleetProblem !== undefined) uriError('fleet', `not a fleet name: it ${fleetProblem}`, `Use ${FLEET_NAME_RULE}`);
  if (servers === undefined || servers.trim() === '')
    uriError('servers', 'missing or empty', 'A fleet profile lists its servers: servers=web-1,web-2@HOST');
  const seen = new Set<string>();
  const list = servers.split(',').map((item, i) => {
    const t = item.trim();
    const at = t.indexOf('@');
    const name = at < 0 ? t : t.slice(0, at);
    const problem = fleetNameProblem(name);
    if (problem !== undefined)
      uriError('servers', `item ${i + 1}: not a server name: it ${problem}`, `Use ${FLEET_NAME_RULE}`);
    if (seen.has(name)) uriError('servers', `item ${i + 1}: server ${name} is listed twice`);
    seen.add(name);
    if (at < 0) return { name };
    const host = t.slice(at + 1);
    const hostP = hostProblem(host);
    if (hostP !== undefined)
      uriError('servers', `item ${i + 1}: not a host name or address: it ${hostP}`, `Give ${HOST_RULE}`);
    return { name, host };
  });
  return { name: fleet, servers: list };
}

/** Formats an otpauth://totp/ URI; otpknock parameters at their default values are left out. */
export function formatOtpauthUri(p: ParsedOtpauth): string {
  if (!(p.secret instanceof Uint8Array) || p.secret.length < MIN_SECRET_BYTES) {
    throw new OtpknockError(
      'E_SECRET_SHORT',
      `secret is ${(p.secret?.length ?? 0) * 8} bits long; at least ${MIN_SECRET_BYTES * 8} are required`,
      {
        where: 'secret',
        hint: 'Generate one with generateSecret() or `otpknockd user add`',
      },
    );
  }
  for (const [name, v] of [
    ['issuer', p.issuer],
    ['account', p.account],
  ] as const) {
    const problem = labelProblem(v);
    if (problem !== undefined)
      throw new OtpknockError('E_URI', `${typeof v === 'string' ? quote(v) : 'the value'} ${problem}`, {
        where: name,
        hint: LABEL_HINT,
      });
  }
  if (p.account === '')
    throw new OtpknockError('E_URI', 'account is empty', { where: 'account', hint: 'Name the user, e.g. alice@host' });
  if (p.host !== undefined) {
    const problem = hostProblem(p.host);
    if (problem !== undefined)
      throw new OtpknockError('E_URI', `${quote(p.host)} is not a host name or address: it ${problem}`, {
        where: 'host',
        hint: `Give ${HOST_RULE}`,
      });
  }
  const profile = normalizeProfile(p.profile, 'profile');
  const base = generateURI({
    issuer: p.issuer,
    label: p.account,
    secret: encodeSecret(p.secret),
    algorithm: profile.algorithm.toLowerCase() as 'sha1' | 'sha256' | 'sha512',
    digits: 6,
    period: profile.period,
  });
  const extra: [string, string][] = [['method', profile.method]];
  if (profile.method !== 'static' && profile.length !== PROFILE_DEFAULTS.length)
    extra.push(['length', String(profile.length)]);
  // list-modulo too: its code mode (protocol.md §10) draws from the range.
  if (profile.method !== 'static') {
    const { min, max } = PROFILE_DEFAULTS.range;
    if (profile.range.min !== min || profile.range.max !== max)
      extra.push(['range', `${profile.range.min}-${profile.range.max}`]);
  }
  if (profile.exclude.length > 0) extra.push(['exclude', profile.exclude.join(',')]);
  if (profile.ports.length > 0) extra.push(['ports', profile.ports.join(',')]);
  if (profile.method === 'static') {
    extra.push(['open', profile.open.join(',')]);
    if (profile.toggle) extra.push(['toggle', '1']);
    else extra.push(['close', profile.close.join(',')]);
  }
  if (profile.tokenBytes > 0) extra.push(['tokenBytes', String(profile.tokenBytes)]);
  if (p.host !== undefined) extra.push(['host', p.host]);
  if (p.servicePort !== undefined) extra.push(['port', String(p.servicePort)]);
  if (p.payload !== undefined && p.payload !== 'none')
    extra.push(['payload', formatPayloadSpec(parsePayloadSpec(p.payload))]);
  if (p.fleet !== undefined) {
    extra.push(['fleet', p.fleet.name]);
    extra.push([
      'servers',
      p.fleet.servers.map((x) => (x.host === undefined ? x.name : `${x.name}@${x.host}`)).join(','),
    ]);
  }
  // Commas and hyphens are left readable: both are legal in a query.
  const enc = (s: string) => encodeURIComponent(s).replace(/%2C/g, ',');
  const uri = `${base}${base.includes('?') ? '&' : '?'}${extra.map(([k, v]) => `${k}=${enc(v)}`).join('&')}`;
  if (uri.length > MAX_URI_LENGTH) {
    throw new OtpknockError(
      'E_URI',
      `the URI would be ${uri.length} characters long; at most ${MAX_URI_LENGTH} are accepted by knock import`,
      {
        where: 'profile',
        hint: 'Shorten the port lists (ports, exclude) of the profile',
      },
    );
  }
  return uri;
}
