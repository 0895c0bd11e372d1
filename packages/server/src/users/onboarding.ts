// What a person needs to start knocking, for a user of the config or of the store
// alike: the otpauth:// URI with the profile exactly as the daemon derives it (the
// effective exclude list with every service port, the host, the service port, the
// payload the kernel requires), the QR code, and the line that imports it into knock.
// Pure except for the QR code's lazy import.
import { hostname } from 'node:os';
import { OtpknockError, formatOtpauthUri, hostProblem, quote } from '@otpknock/shared';
import type { PayloadConfig, ServerConfig, UserConfig } from '../config/types.js';

export interface OnboardingOptions {
  /** The host clients knock (default: this machine's name). */
  host?: string;
  issuer?: string;
}

/** The host written into the URI: --host, else this machine's name when it is a valid host name. */
export function onboardingHost(o: OnboardingOptions, machineName: string = hostname()): string {
  if (o.host !== undefined) return o.host;
  const problem = hostProblem(machineName);
  if (problem !== undefined) {
    throw new OtpknockError(
      'E_ARGUMENT',
      `this machine's name ${quote(machineName)} is not a host name: it ${problem}`,
      {
        where: '--host',
        hint: 'give the name or address clients reach this server by, e.g. --host gw.example.org',
      },
    );
  }
  return machineName;
}

/**
 * The payload setting clients must send for the config's requirement (knock add
 * --payload): `any` is met by random bytes, `token` sits where its shape says.
 */
export function clientPayload(payload: PayloadConfig | undefined): string | undefined {
  if (payload === undefined) return undefined;
  switch (payload.require) {
    case 'none':
      return undefined;
    case 'any':
      return 'random';
    case 'token':
      return payload.shape === 'none' ? undefined : payload.shape;
    default:
      return payload.require;
  }
}

/** The otpauth:// URI of a user: the full effective profile, host, the first service's port, the payload. */
export function onboardingUri(config: ServerConfig, user: UserConfig, o: OnboardingOptions): string {
  const host = onboardingHost(o);
  const first = config.services.find((s) => user.services.includes(s.name));
  const payload = clientPayload(config.payload);
  return formatOtpauthUri({
    secret: user.secret,
    issuer: (o.issuer ?? host).replaceAll(':', '-'),
    account: user.name,
    profile: user.profile,
    host,
    ...(first === undefined ? {} : { servicePort: first.port }),
    ...(payload === undefined ? {} : { payload }),
  });
}

/** The shell line that imports a URI without putting the secret into knock's argv (printf is a builtin). */
export function importCommand(uri: string): string {
  const quoted = `'${uri.replaceAll("'", "'\\''")}'`;
  return `printf '%s\\n' ${quoted} | knock import -`;
}

/** The text user add, rotate and uri print (the QR code, when asked for, given). */
export function onboardingText(
  uri: string,
  user: UserConfig,
  o: { host: string; explicitHost: boolean; qr?: string },
  headline: string,
): string {
  const out: string[] = [headline, '', 'otpauth URI (holds the secret: hand it over privately):', `  ${uri}`, ''];
  if (o.qr !== undefined) {
    out.push(
      user.codeMode === true
        ? 'Scan with a phone that runs knock, or with an authenticator app (for knock --code):'
        : 'Scan with a phone that runs knock (code mode is off for this user: an authenticator app cannot open):',
      o.qr,
      '',
    );
  }
  out.push('On their machine, run:', `  ${importCommand(uri)}`, '');
  out.push(
    o.explicitHost
      ? `Clients knock ${o.host}.`
      : `Clients knock ${o.host} (this machine's name; give --host NAME if they reach the server by another name or address).`,
  );
  if (user.disabled === true)
    out.push(`User ${user.name} is disabled: enable it with otpknockd user enable ${user.name}.`);
  return `${out.join('\n')}\n`;
}

/** The QR code of a URI, as terminal text. */
export async function qrText(uri: string): Promise<string> {
  const { default: qrcode } = await import('qrcode-terminal');
  return new Promise<string>((resolve) => qrcode.generate(uri, { small: true }, resolve));
}
