// Config text → validated ServerConfig, without touching the filesystem: secret
// files come in through `readSecretFile`, so every rule here is unit-testable.
import { dirname, resolve } from 'node:path';
import { OtpknockError, USER_NAME_RULE, decodeSecret, formatPayloadSpec, normalizeProfile, parsePayloadSpec, userNameProblem } from '@otpknock/shared';
import type { KnockProfile, KnockProfileInput, SecretBytes } from '@otpknock/shared';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.js';
import {
  DEFAULTS,
  KEYS,
  SERVICE_NAME,
  describe,
  banSchema,
  knockSchema,
  serviceSchema,
  topSchema,
  userSchema,
  type RawKnock,
} from './schema.js';
import { octalMode, readFailure, secretFileProblem, secretFromFileText, type FileInfo } from './secret-file.js';
import type { BanConfig, PayloadConfig, ServerConfig, ServiceConfig, UserConfig } from './types.js';
import { parseUserRecord } from '../users/record.js';
import type { StoreListing } from '../users/store.js';
import { pathText, readYaml, type FieldPath } from './yaml-source.js';
import { BREAK_GLASS_KEYS, breakGlassSchema, parseBreakGlass } from './break-glass.js';

export interface ParseConfigOptions {
  /**
   * Metadata and text of a secret file, by absolute path. Throws an errno-style
   * error (`{ code: 'ENOENT' }`) when the file cannot be opened.
   */
  readSecretFile: (absolutePath: string) => FileInfo;
  /** uid the daemon runs as: secret files may belong to it or to root. Default 0. */
  daemonUid?: number;
  /** Permissions of the config file itself, when known: inline secrets need it private. */
  configFile?: Pick<FileInfo, 'mode' | 'uid'>;
  /** The user store's record files, read by the loader when the config sets `user_store`. */
  userStore?: StoreListing;
  /** Accept a config without any user (the `otpknockd user` commands, before the first `user add`). */
  allowNoUsers?: boolean;
  /** Unix ms to judge rotation grace periods against. Default: now. */
  nowMs?: number;
}

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates config text. Returns the ServerConfig only when everything is valid;
 * otherwise throws one ConfigError listing every problem found.
 */
export function parseConfig(text: string, file: string, options: ParseConfigOptions): ServerConfig {
  const abs = resolve(file);
  const daemonUid = options.daemonUid ?? 0;
  const src = readYaml(text);
  const issues: ConfigIssue[] = [];
  const report = (path: FieldPath, message: string): void => {
    const line = src.lineOf(path);
    issues.push({ file: abs, path: pathText(path), message, ...(line === undefined ? {} : { line }) });
  };

  if (src.errors.length > 0) {
    for (const e of src.errors) issues.push({ file: abs, path: '', message: e.message, ...(e.line === undefined ? {} : { line: e.line }) });
    throw new ConfigError(abs, issues);
  }
  const data = src.data;
  if (data === null || data === undefined) {
    report([], 'the file is empty; expected at least a services and a users section (see docs/otpknockd.example.yaml)');
    throw new ConfigError(abs, issues);
  }
  if (!isMapping(data)) {
    report([], `expected a mapping of settings at the top level, got ${describe(data)}`);
    throw new ConfigError(abs, issues);
  }

  /** Parses `value` (found at `at`) with `schema`, reporting each problem. */
  function check<S extends z.ZodType>(schema: S, value: unknown, at: FieldPath, keys: string[]): z.output<S> | undefined {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      const rel = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        const allowed = keysAt(rel, keys);
        for (const key of issue.keys) report([...at, ...rel, key], unknownField(key, allowed));
        continue;
      }
      let message = issue.message;
      if (issue.code !== 'custom') {
        const got = valueAt(value, rel);
        const secretish = [...at, ...rel].includes('secret');
        if (got === undefined) message = `missing; ${message}`;
        else message += `, got ${secretish ? `a ${typeof got}` : describe(got)}`;
      }
      report([...at, ...rel], message);
    }
    return undefined;
  }

  // ── top-level settings ──────────────────────────────────────────────────
  const top = check(topSchema, data, [], KEYS.top);
  const globalKnock = data.knock === undefined ? undefined : check(knockSchema, data.knock, ['knock'], KEYS.knock);
  const ban = parseBan(data.ban);

  // ── services ────────────────────────────────────────────────────────────
  const services: ServiceConfig[] = [];
  let serviceNames: string[] = [];
  if (data.services === undefined || data.services === null) {
    report(['services'], 'missing; expected at least one service to protect, e.g. "ssh: { port: 22 }"');
  } else if (!isMapping(data.services)) {
    report(['services'], `expected a mapping of service names to settings, e.g. "ssh: { port: 22 }", got ${describe(data.services)}`);
  } else if (Object.keys(data.services).length === 0) {
    report(['services'], 'expected at least one service to protect, e.g. "ssh: { port: 22 }"');
  } else {
    serviceNames = Object.keys(data.services);
    for (const [name, value] of Object.entries(data.services)) {
      const at = ['services', name];
      const nameOk = SERVICE_NAME.test(name);
      if (!nameOk) report(at, 'invalid service name; expected 1 to 24 characters from a-z, 0-9, _ and -');
      const raw = check(serviceSchema, value, at, KEYS.service);
      if (raw === undefined || !nameOk) continue;
      const taken = services.find((s) => s.port === raw.port);
      if (taken) {
        report([...at, 'port'], `port ${raw.port} is already used by service ${taken.name}; each service needs a port of its own`);
        continue;
      }
      services.push({ name, port: raw.port, openForMs: raw.open_for ?? DEFAULTS.openForMs });
    }
  }
  const servicePorts = services.map((s) => s.port);

  // ── users ───────────────────────────────────────────────────────────────
  const users: UserConfig[] = [];
  const userKnocks = new Map<string, RawKnock | undefined>();
  const profileIssues = new Map<string, { path: FieldPath; what: string; users: string[] }>();
  const secretOwners = new Map<string, string>();

  const hasStore = typeof data.user_store === 'string';
  if (data.users === undefined || data.users === null || (isMapping(data.users) && Object.keys(data.users).length === 0)) {
    if (!hasStore) report(
      ['users'],
      `${data.users === undefined ? 'missing' : 'empty'}; expected at least one user: a daemon with no users would lock everybody out of the protected services`,
    );
  } else if (!isMapping(data.users)) {
    report(['users'], `expected a mapping of user names to settings, e.g. "alice: { secret_file: secrets/alice }", got ${describe(data.users)}`);
  } else {
    for (const [name, value] of Object.entries(data.users)) {
      const at = ['users', name];
      const nameProblem = userNameProblem(name);
      const nameOk = nameProblem === undefined;
      if (!nameOk) report(at, `invalid user name; expected ${USER_NAME_RULE}; it ${nameProblem}`);
      const raw = check(userSchema, value, at, KEYS.user);
      if (raw === undefined) continue;
      let ok = nameOk;

      // Services this user may open.
      let allowed = serviceNames;
      if (raw.services !== undefined) {
        if (raw.services.length === 0) {
          report([...at, 'services'], 'empty list; name at least one service, or leave the field out to allow all services');
          ok = false;
        }
        const seen = new Set<string>();
        raw.services.forEach((s, i) => {
          if (!serviceNames.includes(s)) {
            const defined = serviceNames.length > 0 ? serviceNames.join(', ') : 'none';
            report([...at, 'services', i], `unknown service ${JSON.stringify(s)}; expected one of the services defined under services: ${defined}`);
            ok = false;
          } else if (seen.has(s)) {
            report([...at, 'services', i], `service ${s} is listed twice`);
            ok = false;
          }
          seen.add(s);
        });
        allowed = [...seen];
      }

      // The secret.
      const secret = readUserSecret(name, raw.secret, raw.secret_file);
      if (secret === undefined) ok = false;
      else {
        const key = Buffer.from(secret.bytes).toString('hex');
        const other = secretOwners.get(key);
        if (other !== undefined) {
          report([...at, secret.field], `user ${name} has the same secret as user ${other}; every user needs a secret of their own, or the kernel could not tell them apart`);
          ok = false;
        }
        secretOwners.set(key, name);
      }

      // The knock profile: global block, the user's own on top, services excluded.
      userKnocks.set(name, raw.knock);
      const profile = userProfile(name, raw.knock);
      if (profile === undefined) ok = false;

      if (ok && secret !== undefined && profile !== undefined) {
        users.push({ name, secret: secret.bytes, secretSource: secret.source, services: allowed, profile, ...(raw.code_mode ? { codeMode: true } : {}) });
      }
    }
  }
  const configUserNames = isMapping(data.users) ? Object.keys(data.users) : [];
  if (options.userStore !== undefined) mergeStoreUsers(options.userStore);
  if (hasStore && users.length === 0 && issues.length === 0 && !options.allowNoUsers) {
    report(['users'], `no users in the configuration nor in the user store ${options.userStore?.dir ?? ''}; add one with: otpknockd user add NAME (a daemon with no users would lock everybody out of the protected services)`);
  }
  for (const { path, what, users: names } of profileIssues.values()) {
    const global = path[0] === 'knock';
    report(path, global ? `${what} (in the knock profile of ${names.length === 1 ? 'user' : 'users'} ${names.join(', ')})` : what);
  }

  checkStaticSequences();
  const payload = checkPayload();
  const breakGlass = parseBreakGlass(data.break_glass, {
    check: (v) => check(breakGlassSchema, v, ['break_glass'], BREAK_GLASS_KEYS),
    report,
    services,
    users,
  });

  if (issues.length > 0 || top === undefined) throw new ConfigError(abs, issues);
  return {
    file: abs,
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
    ...(top.user_store === undefined ? {} : { userStore: resolve(dirname(abs), top.user_store) }),
    services,
    users,
  };

  // ── helpers that report into `issues` ───────────────────────────────────

  /** The payload requirement: a shape the kernel can match, tokens the users derive. */
  function checkPayload(): PayloadConfig | undefined {
    const raw = top?.payload;
    if (raw === undefined || raw.require === 'none') return undefined;
    let shape = 'none';
    if (raw.shape !== undefined) {
      try {
        shape = formatPayloadSpec(parsePayloadSpec(raw.shape));
      } catch (e) {
        report(['payload', 'shape'], e instanceof OtpknockError ? joinHint(e) : String(e));
        return undefined;
      }
      if (raw.require !== 'token') {
        report(['payload', 'shape'], `shape only applies to require: token (require: ${raw.require} already says what the payload looks like); remove it`);
        return undefined;
      }
    }
    if (raw.require === 'token') {
      for (const u of users) {
        if (u.profile.tokenBytes === 0) {
          report(userKnocks.get(u.name) === undefined ? ['users', u.name] : ['users', u.name, 'knock'], `payload.require is token, so user ${u.name} needs token_bytes from 4 to 16 (in the global knock block or the user's own)`);
        }
        if (u.codeMode === true) report(['users', u.name, 'code_mode'], 'code_mode cannot be combined with payload.require: token');
      }
      if (top?.break_glass !== undefined) report(['payload', 'require'], 'payload.require: token cannot be combined with break_glass (its static sequence carries no token)');
    }
    return { require: raw.require, shape };
  }

  /** `ban: off` → null; a mapping → its settings over the defaults; absent → the defaults. */
  function parseBan(value: unknown): BanConfig | null | undefined {
    if (value === undefined) return { ...DEFAULTS.ban };
    if (value === 'off' || value === false) return null;
    if (!isMapping(value)) {
      report(['ban'], `expected off, or a mapping such as { after: 10, within: 1m, for: 10m }, got ${describe(value)}`);
      return undefined;
    }
    const raw = check(banSchema, value, ['ban'], KEYS.ban);
    if (raw === undefined) return undefined;
    return { after: raw.after ?? DEFAULTS.ban.after, withinMs: raw.within ?? DEFAULTS.ban.withinMs, forMs: raw.for ?? DEFAULTS.ban.forMs };
  }

  /** Users of the user store, merged with the config's own: a name in both is an error. */
  function mergeStoreUsers(store: StoreListing): void {
    if (store.error !== undefined) {
      issues.push({ file: store.dir, path: '', message: store.error });
      return;
    }
    const nowMs = options.nowMs ?? Date.now();
    for (const entry of store.entries) {
      const storeIssue = (path: string, message: string, line?: number) =>
        issues.push({ file: entry.file, path, message, ...(line === undefined ? {} : { line }) });
      const nameProblem = userNameProblem(entry.name);
      if (nameProblem !== undefined) {
        storeIssue('', `the file name is not a valid user name followed by .yaml (the name ${nameProblem}; expected ${USER_NAME_RULE}); move the file out of the store`);
        continue;
      }
      if (entry.info === undefined) {
        storeIssue('', readFailure(entry.file, entry.error, daemonUid));
        continue;
      }
      const problem = secretFileProblem(entry.file, entry.info, daemonUid);
      if (problem !== undefined || entry.info.text === undefined) {
        storeIssue('', problem ?? `cannot read ${entry.file}`);
        continue;
      }
      const parsed = parseUserRecord(entry.info.text, entry.file, entry.name);
      issues.push(...parsed.issues);
      const rec = parsed.user;
      if (rec === undefined) continue;
      if (configUserNames.includes(rec.name)) {
        storeIssue('name', `user ${rec.name} is defined both in ${abs} and in the user store; remove one (otpknockd user remove ${rec.name}, or delete it from users:)`);
        continue;
      }
      let ok = true;
      const allowed = rec.services ?? serviceNames;
      allowed.forEach((s, i) => {
        if (!serviceNames.includes(s)) {
          storeIssue(`services[${i}]`, `unknown service ${JSON.stringify(s)}; expected one of the services defined under services in ${abs}: ${serviceNames.join(', ') || 'none'}`);
          ok = false;
        }
      });
      const secret = decodeSecret(rec.secret, `${entry.file}: secret`);
      const key = Buffer.from(secret).toString('hex');
      const other = secretOwners.get(key);
      if (other !== undefined) {
        storeIssue('secret', `user ${rec.name} has the same secret as user ${other}; issue a new one with otpknockd user rotate ${rec.name}`);
        ok = false;
      }
      secretOwners.set(key, rec.name);
      const profile = userProfile(rec.name, undefined);
      if (!ok || profile === undefined) continue;
      const grace = rec.previous
        .map((p) => ({ secret: decodeSecret(p.secret, `${entry.file}: previous_secrets`), untilMs: Date.parse(p.until) }))
        .filter((p) => p.untilMs > nowMs)
        .sort((a, b) => b.untilMs - a.untilMs);
      users.push({
        name: rec.name,
        secret,
        secretSource: `user store ${entry.file}`,
        services: [...allowed],
        profile,
        origin: 'store',
        secretCreatedMs: Date.parse(rec.secretCreated),
        ...(rec.disabled ? { disabled: true } : {}),
        ...(grace.length > 0 ? { graceSecrets: grace } : {}),
        ...(rec.codeMode ? { codeMode: true } : {}),
      });
    }
  }

  function readUserSecret(
    name: string,
    inline: string | undefined,
    secretFile: string | undefined,
  ): { bytes: SecretBytes; source: string; field: string } | undefined {
    const at = ['users', name];
    if (inline !== undefined && secretFile !== undefined) {
      report([...at, 'secret'], 'both secret and secret_file are set; keep exactly one (secret_file is preferred: the config file then holds no secret)');
      return undefined;
    }
    if (secretFile !== undefined) {
      const field = [...at, 'secret_file'];
      const path = resolve(dirname(abs), secretFile);
      let info: FileInfo;
      try {
        info = options.readSecretFile(path);
      } catch (e) {
        report(field, readFailure(path, e, daemonUid));
        return undefined;
      }
      const problem = secretFileProblem(path, info, daemonUid);
      if (problem !== undefined || info.text === undefined) {
        report(field, problem ?? `cannot read ${path}`);
        return undefined;
      }
      const text = secretFromFileText(info.text);
      if (text === '') {
        report(field, `${path} holds no secret (only comments or blank lines); expected base32 text, e.g. made with "head -c 20 /dev/urandom | base32"`);
        return undefined;
      }
      const bytes = decode(text, field, ` in ${path}`);
      return bytes && { bytes, source: `file ${path}`, field: 'secret_file' };
    }
    if (inline !== undefined) {
      const field = [...at, 'secret'];
      if (options.configFile !== undefined && (options.configFile.mode & 0o077) !== 0) {
        report(
          field,
          `inline secret in a configuration file that group or others can read (permissions ${octalMode(options.configFile.mode)}); run chmod 600 ${abs}, or better, move the secret to a secret_file`,
        );
        return undefined;
      }
      const bytes = decode(inline.replace(/\s+/g, ''), field, '');
      return bytes && { bytes, source: 'inline', field: 'secret' };
    }
    report(at, 'missing secret_file; expected the path of a file holding the base32 secret, e.g. "secret_file: /etc/otpknock/secrets/alice"');
    return undefined;
  }

  function decode(text: string, field: FieldPath, suffix: string): SecretBytes | undefined {
    try {
      return decodeSecret(text, pathText(field));
    } catch (e) {
      if (!(e instanceof OtpknockError)) throw e;
      // decodeSecret never quotes a character of the secret (messages end up in logs).
      report(field, `${joinHint(e)}${suffix}`);
      return undefined;
    }
  }

  function userProfile(name: string, own: RawKnock | undefined): KnockProfile | undefined {
    const where = own === undefined ? 'knock' : `users.${name}.knock`;
    const global = profileInput(globalKnock);
    const mine = profileInput(own);
    // Sequences and port lists belong to one method: a user who picks another
    // method than the global block does not inherit them.
    if (mine.method !== undefined && mine.method !== (global.method ?? DEFAULTS.method)) {
      for (const field of METHOD_FIELDS) delete global[field];
    }
    const exclude = [...new Set([...(globalKnock?.exclude ?? []), ...(own?.exclude ?? []), ...servicePorts])].sort((a, b) => a - b);
    const input: KnockProfileInput = { method: DEFAULTS.method, ...global, ...mine, exclude };
    try {
      return normalizeProfile(input, where);
    } catch (e) {
      if (!(e instanceof OtpknockError)) throw e;
      const path = profileErrorPath(e.where, where, own);
      const what = joinHint(e).replaceAll('tokenBytes', 'token_bytes');
      const key = `${pathText(path)}\0${what}`;
      const entry = profileIssues.get(key);
      if (entry) entry.users.push(name);
      else profileIssues.set(key, { path, what, users: [name] });
      return undefined;
    }
  }

  /** Points a normalizeProfile error at the block that actually holds the bad field. */
  function profileErrorPath(errorWhere: string | undefined, where: string, own: RawKnock | undefined): FieldPath {
    const block: FieldPath = where === 'knock' ? ['knock'] : where.split('.');
    // A problem with no field of its own (e.g. method list-modulo without ports) is
    // the doing of the block that chose the method: the global one, unless the user's
    // own block sets a method. Then it is listed once for all users who inherit it.
    const fallback: FieldPath = own?.method === undefined && globalKnock?.method !== undefined ? ['knock'] : block;
    if (errorWhere === undefined || !errorWhere.startsWith(where)) return fallback;
    const rest = errorWhere.slice(where.length);
    const fields: (string | number)[] = [];
    for (const m of rest.matchAll(/\.([^.[\]]+)|\[(\d+)\]/g)) {
      fields.push(m[2] !== undefined ? Number(m[2]) : snakeCase(m[1] ?? ''));
    }
    const first = fields[0];
    if (typeof first !== 'string') return fallback;
    if (own !== undefined && first in own) return [...block, ...fields];
    if (globalKnock !== undefined && first in globalKnock) return ['knock', ...fields];
    return fallback;
  }

  /**
   * Static sequences are the same in every window, so the kernel can only tell two
   * users apart if neither's sequence is (the beginning of) the other's.
   */
  function checkStaticSequences(): void {
    interface Seq {
      user: string;
      kind: 'open' | 'close';
      ports: number[];
    }
    const seqs: Seq[] = [];
    for (const u of users) {
      if (u.profile.method !== 'static') continue;
      seqs.push({ user: u.name, kind: 'open', ports: u.profile.open });
      if (!u.profile.toggle) seqs.push({ user: u.name, kind: 'close', ports: u.profile.close });
    }
    seqs.sort((a, b) => comparePorts(a.ports, b.ports));
    // After sorting, every sequence that starts with S follows S directly or
    // after others that also start with S: a stack of open prefixes finds them all.
    const stack: Seq[] = [];
    for (const s of seqs) {
      while (stack.length > 0 && !startsWith(s.ports, stack[stack.length - 1]!.ports)) stack.pop();
      const prefix = stack[stack.length - 1];
      if (prefix !== undefined) {
        const relation = prefix.ports.length === s.ports.length ? 'is the same as' : 'starts with';
        const other = prefix.user === s.user ? `its own ${prefix.kind} sequence` : `the ${prefix.kind} sequence of user ${prefix.user}`;
        report(
          staticSequencePath(s),
          `the static ${s.kind} sequence of user ${s.user} ${relation} ${other}; the kernel could not tell them apart: give each user sequences that neither equal nor begin another's`,
        );
      }
      stack.push(s);
    }
  }

  function staticSequencePath(s: { user: string; kind: 'open' | 'close' }): FieldPath {
    const own = userKnocks.get(s.user);
    if (own?.[s.kind] !== undefined) return ['users', s.user, 'knock', s.kind];
    if (globalKnock?.[s.kind] !== undefined) return ['knock', s.kind];
    return own !== undefined ? ['users', s.user, 'knock'] : ['users', s.user];
  }
}

/**
 * The absolute secret file paths a config text refers to, so that a loader can
 * read them before calling parseConfig. Invalid text yields what it can.
 */
export function secretFilePaths(text: string, file: string): string[] {
  const dir = dirname(resolve(file));
  const { data } = readYaml(text);
  if (!isMapping(data) || !isMapping(data.users)) return [];
  const out: string[] = [];
  for (const user of Object.values(data.users)) {
    if (isMapping(user) && typeof user.secret_file === 'string' && user.secret_file !== '') out.push(resolve(dir, user.secret_file));
  }
  return [...new Set(out)];
}

/** The absolute user store directory a config text names (`user_store`), if any. */
export function userStorePath(text: string, file: string): string | undefined {
  const { data } = readYaml(text);
  if (!isMapping(data) || typeof data.user_store !== 'string' || data.user_store === '') return undefined;
  return resolve(dirname(resolve(file)), data.user_store);
}

const METHOD_FIELDS = ['ports', 'open', 'close', 'toggle'] as const;

function profileInput(raw: RawKnock | undefined): Partial<KnockProfileInput> {
  if (raw === undefined) return {};
  const { token_bytes, exclude: _exclude, ...rest } = raw;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) out[k] = v;
  if (token_bytes !== undefined) out.tokenBytes = token_bytes;
  return out;
}

/** "what; hint" with the hint's sentence case dropped: one message, one sentence. */
function joinHint(e: OtpknockError): string {
  if (!e.hint) return e.what;
  const hint = /^[A-Z](?![A-Z0-9])/.test(e.hint) ? e.hint[0]!.toLowerCase() + e.hint.slice(1) : e.hint;
  return `${e.what}; ${hint.replace(/\.$/, '')}`;
}

function snakeCase(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function comparePorts(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

function startsWith(seq: number[], prefix: number[]): boolean {
  return prefix.length <= seq.length && prefix.every((p, i) => seq[i] === p);
}

function keysAt(rel: FieldPath, rootKeys: string[]): string[] {
  const last = [...rel].reverse().find((p) => typeof p === 'string');
  if (last === 'knock') return KEYS.knock;
  if (last === 'range') return KEYS.range;
  return rootKeys;
}

function valueAt(value: unknown, path: FieldPath): unknown {
  let v = value;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

function unknownField(key: string, allowed: string[]): string {
  const near = allowed
    .map((k) => ({ k, d: editDistance(key.toLowerCase(), k) }))
    .filter(({ d }) => d <= Math.max(2, Math.floor(key.length / 3)))
    .sort((a, b) => a.d - b.d)[0];
  const hint = near ? ` (did you mean ${near.k}?)` : '';
  return `unknown field${hint}; expected one of: ${allowed.join(', ')}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
