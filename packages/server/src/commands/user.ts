// `otpknockd user …`: the user store (add, list, remove, disable, enable, rotate).
// The only writer of the store; the running daemon picks changes up at the next
// window boundary by itself (no restart, no SIGHUP, live sessions untouched).
import type { Command } from 'commander';
import { Option } from 'commander';
import {
  OtpknockError,
  USER_NAME_RULE,
  checkHost,
  checkLabel,
  checkUserName,
  encodeSecret,
  generateSecret,
  quote,
} from '@otpknock/shared';
import { lastOpens, readAudit, type AuditEvent } from '../audit/audit-file.js';
import { audited, auditedCheck, refusedIfArgument, type OperatorAction } from '../audit/operator.js';
import { loadConfig, parseDurationArgument } from '../config/index.js';
import type { ServerConfig, UserConfig } from '../config/types.js';
import { readStoreDir, removeUserRecord, withStoreLock, writeUserRecord } from '../users/store.js';
import { parseUserRecord, type StoredUser } from '../users/record.js';
import {
  importCommand,
  onboardingHost,
  onboardingText,
  onboardingUri,
  qrText,
  type OnboardingOptions,
} from '../users/onboarding.js';
import { DEFAULT_CONFIG } from './common.js';

/** Longer than a year is a typo, or an old secret that was never meant to go: refused. */
const MAX_GRACE_MS = 365 * 86_400_000;

interface Common {
  config: string;
}

/** The user store of a config, or a clear error when the config has none. */
function storeOf(config: ServerConfig): string {
  if (config.userStore === undefined) {
    throw new OtpknockError('E_CONFIG', `${config.file} has no user_store setting`, {
      hint: 'add e.g. "user_store: users.d" (a directory next to the config file) to manage users with otpknockd user',
    });
  }
  return config.userStore;
}

/**
 * The store that holds user `name`, for a command that changes a record; a user
 * written in the config file itself is changed there, and the error says so.
 */
function storeFor(config: ServerConfig, name: string, verb: string): string {
  const user = config.users.find((u) => u.name === name);
  if (user !== undefined && user.origin !== 'store') {
    const what =
      verb === 'rotate'
        ? `give users.${name} a new secret (secret_file) in ${config.file}`
        : verb === 'remove'
          ? `delete the users.${name} entry from ${config.file}`
          : `change users.${name} in ${config.file} (to refuse their knocks: services: [])`;
    throw new OtpknockError(
      'E_ARGUMENT',
      `user ${name} is defined in the config file ${config.file}, not in the user store; otpknockd user ${verb} changes only the store`,
      {
        hint: `${what}, then load it with: otpknockd apply --config COPY (docs/operations.md) or systemctl reload otpknockd`,
      },
    );
  }
  return storeOf(config);
}

async function readRecord(dir: string, name: string): Promise<StoredUser> {
  const listing = await readStoreDir(dir);
  const entry = listing.entries.find((e) => e.name === name);
  if (entry?.info?.text === undefined) {
    throw new OtpknockError('E_ARGUMENT', `no user ${name} in the user store ${dir}`, {
      hint: 'see: otpknockd user list',
    });
  }
  const parsed = parseUserRecord(entry.info.text, entry.file, name);
  if (parsed.user === undefined)
    throw new OtpknockError(
      'E_CONFIG',
      `${entry.file} is damaged: ${parsed.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
    );
  return parsed.user;
}

/**
 * The --host and --issuer of user add and rotate, checked before anything is written:
 * the host by the rule knock uses for it, the issuer by the otpauth label rule.
 */
function checkOnboardingOptions(o: { host?: string; issuer?: string }): void {
  if (o.host !== undefined) checkHost(o.host, '--host');
  if (o.issuer !== undefined) checkLabel(o.issuer, '--issuer');
}

/** The user a command acts on, as the config loaded from disk has them. */
function userIn(config: ServerConfig, name: string): UserConfig {
  const user = config.users.find((u) => u.name === name);
  if (user === undefined) {
    throw new OtpknockError(
      'E_CONFIG',
      `user ${name} was written to the user store but is not among the users of ${config.file}`,
      {
        hint: 'check user_store in the config and run otpknockd check',
      },
    );
  }
  return user;
}

/** Prints the onboarding of a user: JSON, or the URI, QR code and import line. */
async function printOnboarding(
  config: ServerConfig,
  user: UserConfig,
  o: OnboardingOptions & { qr: boolean; json?: boolean },
  headline: string,
): Promise<void> {
  const host = onboardingHost(o);
  const uri = onboardingUri(config, user, { ...o, host });
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ user: user.name, host, uri, import: importCommand(uri) })}\n`);
    return;
  }
  const text = onboardingText(
    uri,
    user,
    { host, explicitHost: o.host !== undefined, ...(o.qr ? { qr: await qrText(uri) } : {}) },
    headline,
  );
  process.stdout.write(text);
}

function ageText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/** --service a,b --service c → [a, b, c]. */
function collectNames(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((s) => s.trim())];
}

/** The -c/--config option of every user command. */
const configOption = () => new Option('-c, --config <file>', 'config file').default(DEFAULT_CONFIG);
/** Help text after every command that takes NAME. */
const NAME_HELP = `\nNAME: ${USER_NAME_RULE}.`;

type AddOptions = Common & {
  service?: string[];
  host?: string;
  issuer?: string;
  codeMode?: boolean;
  qr: boolean;
  json?: boolean;
};
type RotateOptions = Common & { grace: string; host?: string; issuer?: string; qr: boolean; json?: boolean };

export function registerUser(program: Command): void {
  const user = program
    .command('user')
    .description(
      "Manage the users of the user store (the config's user_store directory); user uri also serves the users: of the config. Changes apply from the next window on, without a restart.",
    );
  user.addHelpText('after', NAME_HELP);
  registerUserAdd(user);
  registerUserList(user);
  registerUserChange(
    user,
    'remove',
    'Remove a user: their knocks are refused from the next window on (open sessions stay).',
    () => undefined,
  );
  registerUserChange(
    user,
    'disable',
    'Disable a user (kept in the store): knocks refused from the next window on.',
    (u) => ({ ...u, disabled: true }),
  );
  registerUserChange(user, 'enable', 'Enable a disabled user again.', (u) => ({ ...u, disabled: false }));
  registerUserRotate(user);
  registerUserUri(user);
}

function registerUserAdd(user: Command): void {
  user
    .command('add <name>')
    .description(
      'Create a user with a new 160-bit secret; print the otpauth:// URI, a QR code and the knock import line.',
    )
    .addOption(configOption())
    .option(
      '-s, --service <names>',
      'services the user may open, comma separated or the option repeated (default: all)',
      collectNames,
    )
    .option('--host <host>', 'host name or address clients knock (put into the URI)')
    .option(
      '--issuer <text>',
      'issuer shown by authenticator apps, at most 128 characters without ":" (default: --host or this machine\'s name)',
    )
    .option('--code-mode', 'also accept knock --code (authenticator-app codes; weaker, see docs/protocol.md)')
    .option('--no-qr', 'do not print the QR code')
    .option('--json', 'print {user, uri, import} as JSON')
    .addHelpText('after', NAME_HELP)
    .action(addUser);
}

/** `user add`: a new record with a fresh secret, then the onboarding text for it. */
async function addUser(nameArg: string, o: AddOptions): Promise<void> {
  const name = checkUserName(nameArg, 'NAME');
  checkOnboardingOptions(o);
  onboardingHost(o); // before anything is written
  const config = await loadConfig(o.config, { allowNoUsers: true });
  const details = { codeMode: o.codeMode === true, ...(o.service === undefined ? {} : { services: o.service }) };
  const dir = await auditedCheck(config.stateDir, 'user add', { target: name, details }, () => {
    const store = storeOf(config);
    if (config.users.some((u) => u.name === name)) {
      throw new OtpknockError('E_ARGUMENT', `user ${name} exists already`, {
        hint: `issue a new secret with: otpknockd user rotate ${name}`,
      });
    }
    checkServiceNames(config, o.service ?? []);
    return store;
  });
  const { added, config: loaded } = await audited(
    config.stateDir,
    'user add',
    { target: name, details },
    () => addUserRecord(o, name, dir),
    { outcome: refusedIfArgument },
  );
  await printOnboarding(loaded, added, o, `Added user ${name} (services: ${added.services.join(', ')}).`);
}

/** Writes the new user's record and reads it back as the daemon will load it. */
async function addUserRecord(
  o: AddOptions,
  name: string,
  dir: string,
): Promise<{ added: UserConfig; config: ServerConfig }> {
  const record: StoredUser = {
    name,
    secret: encodeSecret(generateSecret(20)),
    secretCreated: new Date().toISOString(),
    disabled: false,
    previous: [],
    codeMode: o.codeMode === true,
    ...(o.service === undefined ? {} : { services: [...new Set(o.service)] }),
  };
  await withStoreLock(dir, async () => {
    const listing = await readStoreDir(dir);
    if (listing.entries.some((e) => e.name === name))
      throw new OtpknockError('E_ARGUMENT', `user ${name} exists already in ${dir}`);
    await writeUserRecord(dir, record);
  });
  // The URI from the config as the daemon will load it (the profile exactly as it will
  // derive it). Anything that fails here takes the new record away again.
  try {
    const config = await loadConfig(o.config, { allowNoUsers: true });
    const added = userIn(config, name);
    onboardingUri(config, added, o);
    return { added, config };
  } catch (e) {
    await removeUserRecord(dir, name).catch(() => undefined);
    throw e;
  }
}

/** The --service names of user add, each one of the config's services. */
function checkServiceNames(config: ServerConfig, names: readonly string[]): void {
  for (const s of names) {
    if (!config.services.some((x) => x.name === s)) {
      throw new OtpknockError('E_ARGUMENT', s === '' ? 'an empty service name' : `unknown service ${quote(s)}`, {
        where: '--service',
        hint: `use one of: ${config.services.map((x) => x.name).join(', ')}`,
      });
    }
  }
}

function registerUserList(user: Command): void {
  user
    .command('list')
    .description(
      'List the users (never secrets): where defined, services, state, secret age, rotation grace, last open.',
    )
    .addOption(configOption())
    .option('--json', 'print JSON')
    .action(listUsers);
}

/** `user list`: one row per user, as JSON or as a table. */
async function listUsers(o: Common & { json?: boolean }): Promise<void> {
  const config = await loadConfig(o.config, { allowNoUsers: true });
  const opens = lastOpens(await readAudit(config.stateDir, 100_000));
  const rows = config.users.map((u) => ({
    name: u.name,
    origin: u.origin ?? 'config',
    services: u.services,
    state: u.disabled ? 'disabled' : 'enabled',
    secretCreated: u.secretCreatedMs === undefined ? null : new Date(u.secretCreatedMs).toISOString(),
    graceUntil: u.graceSecrets?.[0] === undefined ? null : new Date(u.graceSecrets[0].untilMs).toISOString(),
    codeMode: u.codeMode === true,
    lastOpen: opens.get(u.name) ?? null,
  }));
  process.stdout.write(o.json ? `${JSON.stringify(rows, null, 2)}\n` : userTable(rows, Date.now()));
}

/** A row of user list (its JSON is these objects). */
interface UserRow {
  name: string;
  origin: string;
  services: string[];
  state: string;
  secretCreated: string | null;
  graceUntil: string | null;
  codeMode: boolean;
  lastOpen: AuditEvent | null;
}

/** The rows of user list as a table with aligned columns. */
function userTable(rows: readonly UserRow[], now: number): string {
  const table = [['NAME', 'FROM', 'SERVICES', 'STATE', 'SECRET AGE', 'GRACE UNTIL', 'LAST OPEN']];
  for (const r of rows) {
    table.push([
      r.name,
      r.origin,
      r.services.join(','),
      r.state + (r.codeMode ? '+code' : ''),
      r.secretCreated === null ? '-' : ageText(now - Date.parse(r.secretCreated)),
      r.graceUntil ?? '-',
      r.lastOpen === null
        ? '-'
        : `${r.lastOpen.time} from ${r.lastOpen.address}${r.lastOpen.event === 'toggle' ? ' (toggle)' : ''}`,
    ]);
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return `${table
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/** user remove, disable and enable: `fn` makes the new record, or undefined to remove it. */
function registerUserChange(
  user: Command,
  verb: string,
  description: string,
  fn: (u: StoredUser) => StoredUser | undefined,
): void {
  user
    .command(`${verb} <name>`)
    .description(description)
    .addOption(configOption())
    .addHelpText('after', NAME_HELP)
    .action(async (nameArg: string, o: Common) => {
      const name = checkUserName(nameArg, 'NAME');
      await changeUser(o.config, verb, name, `user ${verb}` as OperatorAction, fn);
      process.stderr.write(
        `otpknockd: user ${name}: ${verb === 'remove' ? 'removed' : `${verb}d`}; the daemon applies it at the next window boundary\n`,
      );
    });
}

async function changeUser(
  configFile: string,
  verb: string,
  name: string,
  action: OperatorAction,
  fn: (u: StoredUser) => StoredUser | undefined,
): Promise<void> {
  const config = await loadConfig(configFile, { allowNoUsers: true });
  const dir = await auditedCheck(config.stateDir, action, { target: name }, () => storeFor(config, name, verb));
  await audited(config.stateDir, action, { target: name }, () => changeRecord(config, dir, name, fn), {
    outcome: refusedIfArgument, // no such user, the last user: refused
  });
}

async function changeRecord(
  config: ServerConfig,
  dir: string,
  name: string,
  fn: (u: StoredUser) => StoredUser | undefined,
): Promise<void> {
  await withStoreLock(dir, async () => {
    const next = fn(await readRecord(dir, name));
    if (next === undefined && config.users.every((u) => u.name === name)) {
      // The daemon refuses a config without users (it would lock everybody out), so it
      // would keep this user live: say so instead of pretending the removal works. A
      // fleet server would obey it and open for nobody: refused too, as a lockout.
      throw new OtpknockError(
        'E_ARGUMENT',
        config.fleet === undefined
          ? `${name} is the last user; the daemon refuses to run without users and would keep ${name} able to knock`
          : `${name} is the last user; the fleet directory gives this server nobody, so without ${name} the table would open for nobody by knock`,
        {
          hint: `add another user first, or use: otpknockd user disable ${name} (refuses their knocks, keeps the record)`,
        },
      );
    }
    if (next === undefined) await removeUserRecord(dir, name);
    else await writeUserRecord(dir, next);
  });
}

function registerUserRotate(user: Command): void {
  user
    .command('rotate <name>')
    .description(
      'Issue a new secret. The old one stays accepted for the grace period (default 1d), then only the new one.',
    )
    .addOption(configOption())
    .option('--grace <duration>', 'how long the old secret stays valid, e.g. 10m, 1h, 7d, or 0s (at most 365d)', '1d')
    .option('--host <host>', 'host name or address clients knock (put into the URI)')
    .option('--issuer <text>', 'issuer shown by authenticator apps')
    .option('--no-qr', 'do not print the QR code')
    .option('--json', 'print {user, uri, import} as JSON')
    .addHelpText('after', NAME_HELP)
    .action(rotateUser);
}

/** `user rotate`: a new secret; the old one stays valid for --grace. */
async function rotateUser(nameArg: string, o: RotateOptions): Promise<void> {
  const name = checkUserName(nameArg, 'NAME');
  checkOnboardingOptions(o);
  onboardingHost(o); // before anything is written
  const graceMs = parseDurationArgument(o.grace, '--grace', { min: 0, max: MAX_GRACE_MS });
  let config = await loadConfig(o.config, { allowNoUsers: true });
  const dir = await auditedCheck(config.stateDir, 'user rotate', { target: name, details: { graceMs } }, () =>
    storeFor(config, name, 'rotate'),
  );
  const now = Date.now();
  const rotate = () =>
    withStoreLock(dir, async () => {
      const old = await readRecord(dir, name);
      const previous = graceMs > 0 ? [{ secret: old.secret, until: new Date(now + graceMs).toISOString() }] : [];
      // Older grace secrets that are still live stay until their own end.
      for (const p of old.previous) if (Date.parse(p.until) > now) previous.push(p);
      await writeUserRecord(dir, {
        ...old,
        secret: encodeSecret(generateSecret(20)),
        secretCreated: new Date(now).toISOString(),
        previous,
      });
    });
  await audited(config.stateDir, 'user rotate', { target: name, details: { graceMs } }, rotate, {
    outcome: refusedIfArgument,
  });
  config = await loadConfig(o.config, { allowNoUsers: true });
  const rotated = userIn(config, name);
  await printOnboarding(
    config,
    rotated,
    o,
    graceMs > 0
      ? `Rotated user ${name} (old secret valid until ${new Date(now + graceMs).toISOString()}).`
      : `Rotated user ${name} (old secret no longer valid).`,
  );
}

function registerUserUri(user: Command): void {
  user
    .command('uri <name>')
    .description(
      "Print a user's otpauth:// URI (its profile exactly as the daemon derives it: exclude list with every service port, host, service port, payload), a QR code and the knock import line. For users of the config file and of the store alike; changes nothing.",
    )
    .addOption(configOption())
    .option('--host <host>', "host name or address clients knock (put into the URI; default: this machine's name)")
    .option('--issuer <text>', 'issuer shown by authenticator apps (default: the host)')
    .option('--no-qr', 'do not print the QR code')
    .option('--json', 'print {user, host, uri, import} as JSON')
    .addHelpText(
      'after',
      `${NAME_HELP}\n\nRun it again after a change of knock:, exclude or services: that changes the user's sequences (otpknockd check and apply name the users concerned).`,
    )
    .action(userUri);
}

/** `user uri`: the onboarding of an existing user, from the config as the daemon loads it. */
async function userUri(
  nameArg: string,
  o: Common & OnboardingOptions & { qr: boolean; json?: boolean },
): Promise<void> {
  const name = checkUserName(nameArg, 'NAME');
  checkOnboardingOptions(o);
  const config = await loadConfig(o.config, { allowNoUsers: true });
  const found = config.users.find((u) => u.name === name);
  if (found === undefined) {
    throw new OtpknockError(
      'E_ARGUMENT',
      `no user ${name} in ${config.file}${config.userStore === undefined ? '' : ` or its user store ${config.userStore}`}`,
      {
        hint: 'see: otpknockd user list',
      },
    );
  }
  await printOnboarding(
    config,
    found,
    o,
    `User ${name} (${found.origin === 'store' ? 'user store' : config.file}; services: ${found.services.join(', ')}).`,
  );
}
