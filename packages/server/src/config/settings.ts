// The config's own settings: the top-level keys, `ban` and `payload`.
import { OtpknockError, formatPayloadSpec, parsePayloadSpec } from '@otpknock/shared';
import { joinHint } from './errors.js';
import { DEFAULTS, KEYS, banSchema, describe, keysIn, topSchema, type RawTop } from './schema.js';
import type { BanConfig, PayloadConfig, UserConfig } from './types.js';
import type { FieldPath } from '../yaml/source.js';
import { isMapping, type ParseContext } from './parse-context.js';

/** The top-level settings (types and bounds; the sections are checked on their own). */
export function parseTopLevel(ctx: ParseContext): RawTop | undefined {
  return ctx.report.check(topSchema, ctx.data, [], keysIn(KEYS.top));
}

/** `ban: off` → null; a mapping → its settings over the defaults; absent → the defaults; undefined when invalid. */
export function parseBan(ctx: ParseContext): BanConfig | null | undefined {
  const value = ctx.data.ban;
  if (value === undefined) return { ...DEFAULTS.ban };
  if (value === 'off' || value === false) return null;
  if (!isMapping(value)) {
    ctx.report.report(
      ['ban'],
      `expected off, or a mapping such as { after: 10, within: 1m, for: 10m }, got ${describe(value)}`,
    );
    return undefined;
  }
  const raw = ctx.report.check(banSchema, value, ['ban'], keysIn(KEYS.ban));
  if (raw === undefined) return undefined;
  return {
    after: raw.after ?? DEFAULTS.ban.after,
    withinMs: raw.within ?? DEFAULTS.ban.withinMs,
    forMs: raw.for ?? DEFAULTS.ban.forMs,
  };
}

/**
 * The payload requirement: a shape the kernel can match, tokens the users derive.
 * `knockAt(user)` is where the user's knock profile is written (for the token_bytes message).
 */
export function parsePayload(
  ctx: ParseContext,
  top: RawTop | undefined,
  users: readonly UserConfig[],
  knockAt: (user: string) => FieldPath,
): PayloadConfig | undefined {
  const raw = top?.payload;
  if (raw === undefined || raw.require === 'none') return undefined;
  let shape = 'none';
  if (raw.shape !== undefined) {
    try {
      shape = formatPayloadSpec(parsePayloadSpec(raw.shape));
    } catch (e) {
      ctx.report.report(['payload', 'shape'], e instanceof OtpknockError ? joinHint(e) : String(e));
      return undefined;
    }
    if (raw.require !== 'token') {
      ctx.report.report(
        ['payload', 'shape'],
        `shape only applies to require: token (require: ${raw.require} already says what the payload looks like); remove it`,
      );
      return undefined;
    }
  }
  if (raw.require === 'token') {
    for (const u of users) {
      if (u.profile.tokenBytes === 0) {
        ctx.report.report(
          knockAt(u.name),
          `payload.require is token, so user ${u.name} needs token_bytes from 4 to 16 (in the global knock block or the user's own)`,
        );
      }
      if (u.codeMode === true)
        ctx.report.report(['users', u.name, 'code_mode'], 'code_mode cannot be combined with payload.require: token');
    }
    if (top?.break_glass !== undefined)
      ctx.report.report(
        ['payload', 'require'],
        'token cannot be combined with break_glass (its static sequence carries no token)',
      );
  }
  return { require: raw.require, shape };
}
