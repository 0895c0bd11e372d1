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
  const users = allUsers(ctx, serviceNames, knock);
  knock.reportIssues();
  checkStaticSequences(ctx, users, knock);
  const payload = parsePayload(ctx, top, users, (name) => knock.knockAt(name));
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

/** The config's users, then the user store's; with neither, a daemon would lock everybody out. */
function allUsers(ctx: ParseContext, serviceNames: readonly string[], knock: KnockProfiles): UserConfig[] {
  const secrets = new SecretOwners();
  const users = parseConfigUsers(ctx, { serviceNames, knock, secrets });
  const { userStore, allowNoUsers } = ctx.options;
  if (userStore !== undefined) {
    const configUserNames = isMapping(ctx.data.users) ? Object.keys(ctx.data.users) : [];
    users.push(...storeUsers(ctx, userStore, { configUserNames, serviceNames, knock, secrets }));
  }
  if (
    typeof ctx.data.user_store === 'string' &&
    users.length === 0 &&
    ctx.report.issues.length === 0 &&
    !allowNoUsers
  ) {
    ctx.report.report(
      ['users'],
      `no users in the configuration nor in the user store ${userStore?.dir ?? ''}; add one with: otpknockd user add NAME (a daemon with no users would lock everybody out of the protected services)`,
    );
  }
  return users;
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

/** The absolute user store directory a config text names (`user_store`), if any. */
export function userStorePath(text: string, file: string, baseDir = dirname(resolve(file))): string | undefined {
  const { data } = readYaml(text);
  if (!isMapping(data) || typeof data.user_store !== 'string' || data.user_store === '') return undefined;
  return resolve(baseDir, data.user_store);
}
