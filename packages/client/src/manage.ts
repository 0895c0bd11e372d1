// Profile management: add, import, list, remove. Loaded only by those commands.
import {
  PROFILE_DEFAULTS,
  checkProfile as checkKnock,
  decodeSecret,
  encodeSecret,
  normalizeProfile,
  parseOtpauthUri,
  profileNameProblem,
  MAX_URI_LENGTH,
  SECRET_FILE_MAX_BYTES,
  type KnockProfile,
  type ProfileField,
} from '@otpknock/shared';
import { EXIT, usageError, type ExitCode } from './errors.js';
import type { GlobalOptions } from './commands.js';
import { readPrivateFile } from './private-file.js';
import {
  checkAddress,
  checkProfile,
  checkProfileName,
  DEFAULT_DELAY_MS,
  DEFAULT_SERVICE_PORT,
  checkPayload,
  publicView,
  shownName,
  type ClientProfile,
  type PayloadSetting,
} from './profile.js';
import { readStore, storePath, updateStore } from './store.js';
import { withFleetServers } from './fleet.js';

export interface AddOptions {
  address?: string;
  port?: number;
  secretFile?: string;
  secretStdin?: boolean;
  method: string;
  length?: number;
  range?: string;
  ports?: number[];
  open?: number[];
  close?: number[];
  toggle?: boolean;
  period?: number;
  algorithm?: string;
  exclude?: number[];
  tokenBytes?: number;
  delay?: number;
  payload?: string;
  force?: boolean;
}

export interface ImportOptions {
  name?: string;
  address?: string;
  port?: number;
  delay?: number;
}

/** Reads stdin to its end, refusing more than `maxBytes` (what: for the message). */
async function readStdin(prompt: string, maxBytes: number, what: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(prompt);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      process.stdin.destroy();
      throw usageError(
        `stdin: more than ${maxBytes} bytes; expected ${what}`,
        'Check what is piped in: nothing was changed.',
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Stdin of knock import -: room for the longest URI and some whitespace around it. */
const URI_STDIN_MAX_BYTES = 4 * MAX_URI_LENGTH;

/** Reads the secret from --secret-file or --secret-stdin; never from argv. */
async function readSecret(o: AddOptions): Promise<string> {
  if (o.secretFile !== undefined && o.secretStdin)
    throw usageError('give the secret once: --secret-file or --secret-stdin, not both');
  let text: string;
  let where: string;
  if (o.secretFile !== undefined) {
    text = readPrivateFile(o.secretFile, 'secret file', SECRET_FILE_MAX_BYTES) ?? '';
    where = o.secretFile;
  } else if (o.secretStdin) {
    text = await readStdin('knock: paste the base32 secret, then Ctrl-D\n', SECRET_FILE_MAX_BYTES, 'a base32 secret');
    where = 'stdin';
  } else {
    throw usageError(
      'the secret is missing',
      'Give it with --secret-file FILE (mode 0600) or --secret-stdin; it is never taken from the command line.',
    );
  }
  const secret = text.trim();
  if (/^otpauth:\/\//i.test(secret))
    throw usageError(`${where}: this is an otpauth:// URI`, 'Use: knock import - < FILE');
  return encodeSecret(decodeSecret(secret, where));
}

function payloadOf(value: string | undefined): PayloadSetting {
  return checkPayload(value ?? 'none', '--payload');
}

/** The option of `knock add` that sets each profile field. */
const ADD_OPTION: Readonly<Record<ProfileField, string>> = {
  method: '--method',
  length: '--length',
  period: '--period',
  algorithm: '--algorithm',
  range: '--range',
  exclude: '--exclude',
  ports: '--ports',
  open: '--open',
  close: '--close',
  toggle: '--toggle',
  tokenBytes: '--token-bytes',
};

/** The knock profile `knock add`'s options give, by the profile schema; a problem names the option. */
function profileOfOptions(o: AddOptions): KnockProfile {
  const input: Partial<Record<ProfileField, unknown>> = {};
  for (const field of Object.keys(ADD_OPTION) as ProfileField[]) if (o[field] !== undefined) input[field] = o[field];
  const checked = checkKnock(input);
  if (checked.profile !== undefined) return checked.profile;
  const issue = checked.issues[0]!;
  const at = issue.path[0] === undefined ? 'options' : ADD_OPTION[issue.path[0]];
  throw usageError(`${at}: ${issue.message}`, issue.hint === undefined ? undefined : `${issue.hint}.`);
}

/** Pure: the profile `knock add` stores. */
export function profileFromAdd(
  name: string,
  o: AddOptions,
  secret: string,
  now: Date,
  previous?: ClientProfile,
): ClientProfile {
  const profile: ClientProfile = {
    name,
    ...(o.address !== undefined ? { address: o.address } : {}),
    servicePort: o.port ?? DEFAULT_SERVICE_PORT,
    knock: profileOfOptions(o),
    secret,
    delayMs: o.delay ?? DEFAULT_DELAY_MS,
    payload: payloadOf(o.payload),
    addedAt: previous?.addedAt ?? now.toISOString(),
    updatedAt: now.toISOString(),
  };
  return profile;
}

export async function runAdd(host: string, o: AddOptions, globals: GlobalOptions): Promise<ExitCode> {
  const name = checkProfileName(host, 'HOST');
  checkAddress(o.address, name, '--address');
  const file = storePath(globals.config);
  const existing = readStore(file).profiles[name];
  if (existing && !o.force)
    throw usageError(
      `a profile named ${name} exists already in ${file}`,
      `Replace it with --force, or remove it first: knock remove ${name}`,
    );
  const secret = await readSecret(o);
  const profile = profileFromAdd(name, o, secret, new Date(), existing);
  checkProfile(profile, file);
  await updateStore(file, (data) => {
    data.profiles[name] = profile;
  });
  process.stderr.write(`knock: ${existing ? 'replaced' : 'added'} profile ${name} in ${file}\n`);
  return EXIT.OK;
}

/** Pure: the profile `knock import` stores; the newest import replaces the secret and method. */
export function profileFromImport(
  uri: string,
  o: ImportOptions,
  now: Date,
  profiles: Record<string, ClientProfile>,
): ClientProfile {
  const parsed = parseOtpauthUri(uri);
  // A fleet profile (docs/protocol.md §12) is stored under the fleet's name and knocks its servers.
  const name = o.name ?? parsed.host ?? parsed.fleet?.name;
  if (name === undefined)
    throw usageError('the URI names no host', 'Say which host it is for: knock import URI --name HOST');
  const nameFrom = parsed.fleet !== undefined ? 'otpauth URI parameter "fleet"' : 'otpauth URI parameter "host"';
  checkProfileName(name, o.name === undefined ? nameFrom : '--name');
  if (parsed.fleet !== undefined && o.address !== undefined)
    throw usageError('--address: a fleet profile knocks its servers, each at its own host', 'Leave out --address');
  const previous = profiles[name];
  const address = o.address ?? (parsed.host !== undefined && parsed.host !== name ? parsed.host : previous?.address);
  if (parsed.fleet === undefined)
    checkAddress(address, name, o.address === undefined ? 'otpauth URI parameter "host"' : '--address');
  const profile: ClientProfile = {
    name,
    ...(address !== undefined && parsed.fleet === undefined ? { address } : {}),
    ...(parsed.fleet !== undefined ? { fleet: parsed.fleet } : {}),
    servicePort: o.port ?? parsed.servicePort ?? previous?.servicePort ?? DEFAULT_SERVICE_PORT,
    knock: normalizeProfile(parsed.profile, 'otpauth URI'),
    secret: encodeSecret(parsed.secret),
    delayMs: o.delay ?? previous?.delayMs ?? DEFAULT_DELAY_MS,
    payload: parsed.payload === undefined ? (previous?.payload ?? 'none') : payloadOf(parsed.payload),
    addedAt: previous?.addedAt ?? now.toISOString(),
    updatedAt: now.toISOString(),
  };
  if (parsed.issuer) profile.issuer = parsed.issuer;
  if (parsed.account) profile.account = parsed.account;
  return profile;
}

export async function runImport(uriArg: string, o: ImportOptions, globals: GlobalOptions): Promise<ExitCode> {
  const uri =
    uriArg === '-'
      ? (
          await readStdin('knock: paste the otpauth:// URI, then Ctrl-D\n', URI_STDIN_MAX_BYTES, 'one otpauth:// URI')
        ).trim()
      : uriArg;
  const file = storePath(globals.config);
  const { profiles } = readStore(file);
  const profile = profileFromImport(uri, o, new Date(), profiles);
  checkProfile(profile, file);
  await updateStore(file, (data) => {
    data.profiles[profile.name] = profile;
  });
  process.stderr.write(`knock: ${profiles[profile.name] ? 'updated' : 'added'} profile ${profile.name} in ${file}\n`);
  return EXIT.OK;
}

export interface ListOptions {
  json?: boolean;
  names?: boolean;
}

/** Pure: `knock list` as a table (no secrets). */
export function formatList(profiles: ClientProfile[]): string {
  if (profiles.length === 0) return '';
  const rows = [['NAME', 'ADDRESS', 'PORT', 'METHOD', 'PERIOD', 'UPDATED']];
  for (const p of profiles) {
    const k =
      typeof p.knock === 'object' && p.knock !== null ? (p.knock as Partial<ClientProfile['knock']>) : undefined;
    rows.push([
      shownName(p.name),
      p.fleet !== undefined ? fleetColumn(p) : p.address === undefined ? '-' : shownName(p.address),
      String(p.servicePort ?? DEFAULT_SERVICE_PORT),
      // A hand-edited knock block may leave fields to their defaults (protocol.md §2).
      k === undefined ? '?' : String(k.method ?? PROFILE_DEFAULTS.method),
      k === undefined ? '?' : k.method === 'static' ? '-' : `${k.period ?? PROFILE_DEFAULTS.period}s`,
      (p.updatedAt ?? '').replace(/\.\d+Z$/, 'Z'),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** A fleet profile's ADDRESS column: its servers, shortened. */
function fleetColumn(p: ClientProfile): string {
  const names = Array.isArray(p.fleet?.servers) ? p.fleet.servers.map((s) => shownName(String(s?.name))) : [];
  const shown = names.slice(0, 3).join(',') + (names.length > 3 ? `,… (${names.length})` : '');
  return `fleet: ${shown}`;
}

export async function runList(o: ListOptions, globals: GlobalOptions): Promise<ExitCode> {
  const file = storePath(globals.config);
  const list = Object.values(readStore(file).profiles).sort((a, b) => a.name.localeCompare(b.name));
  // For shell completion and scripts: only names `knock HOST` takes, nothing on stderr.
  if (o.names)
    process.stdout.write(
      withFleetServers(list)
        .flatMap((p) => (profileNameProblem(p.name) === undefined ? [`${p.name}\n`] : []))
        .join(''),
    );
  else if (o.json) process.stdout.write(JSON.stringify(list.map(publicView), null, 2) + '\n');
  else if (list.length === 0)
    process.stderr.write(`knock: no profiles in ${file}; add one with: knock add HOST --secret-file FILE\n`);
  else process.stdout.write(formatList(list));
  return EXIT.OK;
}

export async function runRemove(host: string, globals: GlobalOptions): Promise<ExitCode> {
  const file = storePath(globals.config);
  if (!Object.hasOwn(readStore(file).profiles, host))
    throw usageError(`no profile named ${shownName(host)} in ${file}`, 'See: knock list');
  await updateStore(file, (data) => {
    delete data.profiles[host];
  });
  process.stderr.write(`knock: removed profile ${host} from ${file}\n`);
  return EXIT.OK;
}
