// otpauth:// URIs (Google Authenticator key URI format) carrying otpknock's
// own parameters; authenticator apps ignore parameters they do not know.
import { generateURI } from 'otplib';
import { OtpknockError } from './errors.js';
import { PROFILE_DEFAULTS, normalizeProfile } from './profile.js';
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
}

const WHERE = 'otpauth URI';

function uriError(param: string | undefined, what: string, hint?: string, cause?: unknown): never {
  const where = param === undefined ? WHERE : `${WHERE} parameter "${param}"`;
  throw new OtpknockError('E_URI', what, { where, ...(hint === undefined ? {} : { hint }), cause });
}

function uriInteger(param: string, v: string): number {
  if (!/^\d{1,9}$/.test(v)) uriError(param, `${JSON.stringify(v)} is not a whole number`);
  return Number(v);
}

function uriPortList(param: string, v: string): number[] {
  if (v.trim() === '') return [];
  return v.split(',').map((s) => {
    const t = s.trim();
    if (!/^\d{1,5}$/.test(t)) uriError(param, `${JSON.stringify(t)} is not a port number`, 'Write ports as a comma-separated list, e.g. 7001,7002');
    return Number(t);
  });
}

/** Parses an otpauth://totp/ URI with otpknock's parameters; validates the secret and profile. */
export function parseOtpauthUri(uri: string): ParsedOtpauth {
  if (typeof uri !== 'string' || !/^otpauth:\/\//i.test(uri.trim())) {
    uriError(undefined, 'not an otpauth:// URI', 'It should look like otpauth://totp/Issuer:account?secret=...');
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
      `unsupported OTP type ${JSON.stringify(type)}`,
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
  const account = (colon >= 0 ? label.slice(colon + 1) : label).trim();

  const params = new Map<string, string>();
  for (const [k, v] of url.searchParams) {
    if (params.has(k)) uriError(k, 'appears more than once', 'Give each parameter once');
    params.set(k, v);
  }

  const secretText = params.get('secret');
  if (secretText === undefined || secretText === '') uriError('secret', 'missing', 'The URI must carry the base32 secret as secret=...');
  let secret: SecretBytes;
  try {
    secret = decodeSecret(secretText, `${WHERE} parameter "secret"`);
  } catch (err) {
    if (err instanceof OtpknockError) throw err; // E_SECRET_BASE32 / E_SECRET_SHORT, already naming the parameter
    throw err;
  }

  const digits = params.get('digits');
  if (digits !== undefined && digits !== '6') {
    uriError('digits', `otpknock uses 6-digit HOTP values, got ${JSON.stringify(digits)}`, 'Remove digits or set digits=6');
  }

  const input: KnockProfileInput = { method: params.get('method') ?? 'time' };
  const algorithm = params.get('algorithm');
  if (algorithm !== undefined) input.algorithm = algorithm as KnockProfileInput['algorithm'];
  const str = (k: string) => params.get(k);
  if (str('period') !== undefined) input.period = uriInteger('period', str('period')!);
  if (str('length') !== undefined) input.length = uriInteger('length', str('length')!);
  if (str('tokenBytes') !== undefined) input.tokenBytes = uriInteger('tokenBytes', str('tokenBytes')!);
  if (str('range') !== undefined) input.range = str('range')!;
  for (const k of ['exclude', 'ports', 'open', 'close'] as const) {
    const v = str(k);
    if (v !== undefined) input[k] = uriPortList(k, v);
  }
  const toggle = str('toggle');
  if (toggle !== undefined) {
    if (!['1', '0', 'true', 'false'].includes(toggle)) uriError('toggle', `${JSON.stringify(toggle)} is not a boolean`, 'Use toggle=1 or toggle=0');
    input.toggle = toggle === '1' || toggle === 'true';
  }

  let profile: KnockProfile;
  try {
    profile = normalizeProfile(input);
  } catch (err) {
    if (err instanceof OtpknockError) {
      const field = (err.where ?? '').split(/[.[]/)[0] ?? '';
      uriError(field || undefined, err.what, err.hint, err);
    }
    throw err;
  }

  const result: ParsedOtpauth = { secret, issuer: params.get('issuer') ?? labelIssuer, account, profile };
  const host = params.get('host');
  if (host !== undefined) {
    if (host === '' || host.length > 253 || /[\s/?#@]/.test(host)) uriError('host', `${JSON.stringify(host)} is not a host name or address`);
    result.host = host;
  }
  const servicePort = params.get('port');
  if (servicePort !== undefined) {
    const p = uriInteger('port', servicePort);
    if (p < 1 || p > 65535) uriError('port', `${p} is not a port number`, 'Ports are 1–65535');
    result.servicePort = p;
  }
  return result;
}

/** Formats an otpauth://totp/ URI; otpknock parameters at their default values are left out. */
export function formatOtpauthUri(p: ParsedOtpauth): string {
  if (!(p.secret instanceof Uint8Array) || p.secret.length < MIN_SECRET_BYTES) {
    throw new OtpknockError('E_SECRET_SHORT', `secret is ${(p.secret?.length ?? 0) * 8} bits long; at least ${MIN_SECRET_BYTES * 8} are required`, {
      where: 'secret',
      hint: 'Generate one with generateSecret() or `otpknockd user add`',
    });
  }
  for (const [name, v] of [['issuer', p.issuer], ['account', p.account]] as const) {
    if (typeof v !== 'string' || v.includes(':')) {
      throw new OtpknockError('E_URI', `${JSON.stringify(v)} must be a string without ":"`, { where: name, hint: 'The label is issuer:account, so neither may contain a colon' });
    }
  }
  if (p.account === '') throw new OtpknockError('E_URI', 'account is empty', { where: 'account', hint: 'Name the user, e.g. alice@host' });
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
  if (profile.method !== 'static' && profile.length !== PROFILE_DEFAULTS.length) extra.push(['length', String(profile.length)]);
  if (profile.method === 'time' || profile.method === 'prng') {
    const { min, max } = PROFILE_DEFAULTS.range;
    if (profile.range.min !== min || profile.range.max !== max) extra.push(['range', `${profile.range.min}-${profile.range.max}`]);
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
  // Commas and hyphens are left readable: both are legal in a query.
  const enc = (s: string) => encodeURIComponent(s).replace(/%2C/g, ',');
  return `${base}${base.includes('?') ? '&' : '?'}${extra.map(([k, v]) => `${k}=${enc(v)}`).join('&')}`;
}
