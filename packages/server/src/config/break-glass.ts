// `break_glass:`: one long static knock sequence that never rotates and is not
// one-time, for when the clock or the derivation is broken (a server whose
// clock jumped, a client without the app). A static secret: whoever sniffs it
// can use it until it is changed. Validation only; plan.ts makes it live.
import { z } from 'zod';
import type { BreakGlassConfig, UserConfig } from './types.js';
import type { FieldPath } from '../yaml/source.js';

export const BREAK_GLASS_LENGTH = { min: 8, max: 16 } as const;
/** The entry's user name in the plan and the audit: not a valid user name, so it cannot clash. */
export const BREAK_GLASS_USER = '(break-glass)';

const port = z.number({ error: 'expected a port number (an integer from 1 to 65535)' }).int().min(1).max(65535);

export const breakGlassSchema = z.strictObject(
  {
    sequence: z
      .array(port, { error: `expected a list of ${BREAK_GLASS_LENGTH.min} to ${BREAK_GLASS_LENGTH.max} UDP ports` })
      .min(BREAK_GLASS_LENGTH.min, {
        error: `too short: a break-glass sequence needs at least ${BREAK_GLASS_LENGTH.min} ports (it never changes, so its length is all that stands against guessing)`,
      })
      .max(BREAK_GLASS_LENGTH.max, { error: `too long: at most ${BREAK_GLASS_LENGTH.max} ports` }),
    services: z
      .array(z.string({ error: 'expected a service name' }), { error: 'expected a list of service names, e.g. [ssh]' })
      .optional(),
  },
  { error: 'expected a mapping such as { sequence: [8 or more UDP ports], services: [ssh] }' },
);
export const BREAK_GLASS_KEYS = Object.keys(breakGlassSchema.shape);

type Report = (path: FieldPath, message: string) => void;

const startsWith = (seq: readonly number[], prefix: readonly number[]) =>
  prefix.length <= seq.length && prefix.every((p, i) => seq[i] === p);

/**
 * Checks a `break_glass` value. `check` is parse.ts's schema checker (it reports
 * unknown fields and type errors); the rest is judged here.
 */
export function parseBreakGlass(
  value: unknown,
  ctx: {
    check: (value: unknown) => z.output<typeof breakGlassSchema> | undefined;
    report: Report;
    services: readonly { name: string; port: number }[];
    users: readonly UserConfig[];
  },
): BreakGlassConfig | undefined {
  if (value === undefined || value === null) return undefined;
  const raw = ctx.check(value);
  if (raw === undefined) return undefined;
  const at: FieldPath = ['break_glass'];
  let ok = true;
  const seen = new Set<number>();
  raw.sequence.forEach((p, i) => {
    if (seen.has(p)) {
      ctx.report(
        [...at, 'sequence', i],
        `port ${p} appears twice; the ports of a break-glass sequence must be distinct`,
      );
      ok = false;
    }
    seen.add(p);
    const service = ctx.services.find((s) => s.port === p);
    if (service) {
      ctx.report(
        [...at, 'sequence', i],
        `port ${p} is the port of service ${service.name}; pick knock ports apart from the protected services`,
      );
      ok = false;
    }
  });
  const names = ctx.services.map((s) => s.name);
  const services = raw.services ?? names;
  if (raw.services !== undefined && raw.services.length === 0) {
    ctx.report([...at, 'services'], 'empty list; name at least one service, or leave the field out for all services');
    ok = false;
  }
  (raw.services ?? []).forEach((s, i) => {
    if (!names.includes(s)) {
      ctx.report(
        [...at, 'services', i],
        `unknown service ${JSON.stringify(s)}; expected one of the services defined under services: ${names.join(', ') || 'none'}`,
      );
      ok = false;
    }
  });
  // Static users' sequences are live in every window too: neither may begin the other.
  for (const u of ctx.users) {
    if (u.profile.method !== 'static') continue;
    for (const [kind, seq] of [
      ['open', u.profile.open],
      ['close', u.profile.toggle ? [] : u.profile.close],
    ] as const) {
      if (seq.length === 0) continue;
      if (startsWith(raw.sequence, seq) || startsWith(seq, raw.sequence)) {
        ctx.report(
          [...at, 'sequence'],
          `the break-glass sequence and the static ${kind} sequence of user ${u.name} begin one another; the kernel could not tell them apart`,
        );
        ok = false;
      }
    }
  }
  return ok ? { ports: raw.sequence, services: [...new Set(services)] } : undefined;
}
