// Config text → validated ServerConfig, without touching the filesystem: secret
// files and the user store come in through the options, so every rule here is
// unit-testable. One parser per section (settings, services, knock-profiles, users,
// user-secrets, user-store, static-sequences, break-glass), all reporting into one
// IssueReporter, so that every problem of a file is listed at once with its file,
// line and field; parseConfig only puts them together.
import { dirname, resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { DEFAULTS, describe } from './schema.js';
import type { ServerConfig, UserConfig } from './types.js';
import { BREAK_GLASS_KEYS, breakGlassSchema, parseBreakGlass } from './break-glass.js';
import { isMapping, type ParseConfigOptions, type ParseContext } from './parse-context.js';
import { KnockProfiles } from './knock-profiles.js';
import { SecretOwners } from './user-secrets.js';
import { parseServices } from './services.js';
import { parseBan, parsePayload, parseTopLevel } from './settings.js';
import { checkStaticSequences } from './static-sequences.js';
import { storeUsers } from './user-store.js';
import { parseConfigUsers } from './users.js';
import { parseFleet } from './fleet.js';
import { fleetUsers } from './fleet-users.js';
import { IssueReporter } from '../yaml/issues.js';
import { readYaml } from '../yaml/source.js';

export type { ParseConfigOptions };

/**
 * Validates config text. Returns the ServerConfig only when everything is valid;
 * otherwise throws one ConfigError listing every problem found.
 */
export function parseConfig(text: string, file: string, options: ParseConfigOptions): ServerConfig {
  const ctx = openDocument(text, resolve(file), options);
  const { report } = ctx;

  const top = parseTopLevel(ctx);
  const ban = parseBan(ctx);
  const { services, names: serviceNames } = parseServices(ctx);
  const knock = new KnockProfiles(
    ctx,
    services.map((s) => s.port),
  );
  const secrets = new SecretOwners();
  const users = ctx.options.withoutUsers ? [] : allUsers(ctx, serviceNames, knock, secrets);
  knock.reportIssues();
  checkStaticSequences(ctx, users, knock);
  const payload = parsePayload(ctx, top, users, (name) => knock.knockAt(name));
  const fleet = ctx.data.fleet === undefined ? undefined : parseFleet(ctx.data.fleet, ['fleet'], ctx.dir, report, true);
  const fromFleet = fleetUsers(ctx.options.fleetRecords ?? [], {
    localNames: new Set(users.map((u) => u.name)),
    serviceNames,
    secrets,
    payload,
    nowMs: ctx.options.nowMs ?? Date.now(),
  });
  users.push(...fromFleet.users);
  requireSomeUser(ctx, users);
  const breakGlass = parseBreakGlass(ctx.data.break_glass, {
    check: (v) => report.check(breakGlassSchema, v, ['break_glass'], () => BREAK_GLASS_KEYS),
    report: (path, message) => report.report(path, message),
    services,
    users,
  });

  if (report.issues.length > 0 || top === undefined) throw new ConfigError(ctx.file, report.issues);
  return {
    file: ctx.file,
    table: top.table ?? DEFAULTS.table,
    keepTableOnStop: top.keep_table_on_stop ?? DEFAULTS.keepTableOnStop,
    skew: top.skew ?? DEFAULTS.skew,
    stepTimeoutMs: top.step_timeout ?? DEFAULTS.stepTimeoutMs,
    logFormat: top.log_format ?? DEFAULTS.logFormat,
    stateDir: top.state_dir ?? DEFAULTS.stateDir,
    auditNflogGroup: top.audit_nflog_group ?? DEFAULTS.auditNflogGroup,
    ban: ban ?? null,
    ...(payload === undefined ? {} : { payload }),
    ...(breakGlass === undefined ? {} : { breakGlass }),
    ...(top.user_store === undefined ? {} : { userStore: resolve(ctx.dir, top.user_store) }),
    ...(fleet === undefined ? {} : { fleet, fleetSkipped: fromFleet.skipped }),
    services,
    users,
  };
}

/** The document's top-level mapping and the reporter; throws the ConfigError of a file that is not one. */
function openDocument(text: string, file: string, options: ParseConfigOptions): ParseContext {
  const src = readYaml(text);
  const report = new IssueReporter(file, src);
  const ctx = (data: Record<string, unknown>): ParseContext => ({
    file,
    dir: options.baseDir ?? dirname(file),
    data,
    options,
    daemonUid: options.daemonUid ?? 0,
    report,
  });
  if (src.errors.length > 0) report.addSyntaxErrors(src.errors);
  else if (src.data === null || src.data === undefined)
    report.report(
      [],
      'the file is empty; expected at least a services and a users section (see docs/otpknockd.example.yaml)',
    );
  else if (!isMapping(src.data))
    report.report([], `expected a mapping of settings at the top level, got ${describe(src.data)}`);
  else return ctx(src.data);
  throw new ConfigError(file, report.issues);
}

/** The config's users, then the user store's. */
function allUsers(
  ctx: ParseContext,
  serviceNames: readonly string[],
  knock: KnockProfiles,
  secrets: SecretOwners,
): UserConfig[] {
  const users = parseConfigUsers(ctx, { serviceNames, knock, secrets });
  const { userStore } = ctx.options;
  if (userStore !== undefined) {
    const configUserNames = isMapping(ctx.data.users) ? Object.keys(ctx.data.users) : [];
    users.push(...storeUsers(ctx, userStore, { configUserNames, serviceNames, knock, secrets }));
  }
  return users;
}

/**
 * With a user store or a fleet, users may come from there; with none at all, a daemon
 * would lock everybody out. A fleet directory that confirmed this server has nobody
 * is obeyed (a revocation must take effect): the table then opens for nobody by knock,
 * which the daemon, status and doctor say loudly. A directory never read is not.
 */
function requireSomeUser(ctx: ParseContext, users: readonly UserConfig[]): void {
  const elsewhere = typeof ctx.data.user_store === 'string' || ctx.data.fleet !== undefined;
  if (!elsewhere || users.length > 0 || ctx.report.issues.length > 0 || ctx.options.allowNoUsers) return;
  if (ctx.options.withoutUsers) return;
  if (ctx.data.fleet === undefined) {
    ctx.report.report(
      ['users'],
      `no users in the configuration nor in the user store ${ctx.options.userStore?.dir ?? ''}; add one with: otpknockd user add NAME (a daemon with no users would lock everybody out of the protected services)`,
    );
    return;
  }
  if (ctx.options.fleetConfirmed) return;
  ctx.report.report(
    ['users'],
    'no users in the configuration, the user store, nor the fleet directory (none read yet, and none kept in state_dir/fleet.json); enrol someone for this server with otpknockd fleet enrol NAME --servers SERVER, or add a local user (a daemon with no users would lock everybody out of the protected services)',
  );
}

/**
 * The absolute secret file paths a config text refers to, so that a loader can
 * read them before calling parseConfig. Invalid text yields what it can.
 */
export function secretFilePaths(text: string, file: string, baseDir = dirname(resolve(file))): string[] {
  const dir = baseDir;
  const { data } = readYaml(text);
  if (!isMapping(data) || !isMapping(data.users)) return [];
  const out: string[] = [];
  for (const user of Object.values(data.users)) {
    if (isMapping(user) && typeof user.secret_file === 'string' && user.secret_file !== '')
      out.push(resolve(dir, user.secret_file));
  }
  return [...new Set(out)];
}

/** Where a config text with a fleet section keeps fleet.json (state_dir), and which fleet and server it is. */
export function fleetCacheOf(text: string): { stateDir: string; fleet: unknown; server: unknown } | undefined {
  const { data } = readYaml(text);
  if (!isMapping(data) || !isMapping(data.fleet)) return undefined;
  const stateDir =
    typeof data.state_dir === 'string' && data.state_dir.startsWith('/') ? data.state_dir : DEFAULTS.stateDir;
  return { stateDir, fleet: data.fleet.name, server: data.fleet.server };
}

/** The absolute user store directory a config text names (`user_store`), if any. */
export function userStorePath(text: string, file: string, baseDir = dirname(resolve(file))): string | undefined {
  const { data } = readYaml(text);
  if (!isMapping(data) || typeof data.user_store !== 'string' || data.user_store === '') return undefined;
  return resolve(baseDir, data.user_store);
}
