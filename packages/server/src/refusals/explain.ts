// Why a source's knock was refused, worked out offline from the ports the kernel
// logged for it (nft/refusal-log.ts). Pure: the config, the refused ports, the
// time and the secrets the daemon no longer uses in; one explanation out.
//
// The daemon knows every secret, so it derives what each user would have sent
// under each likely mistake and looks for it among the refused ports, cheapest
// and likeliest first: a live sequence (then it arrived but did not advance),
// another window (the client's clock is off), another profile (the client lacks
// the server's exclusions), a disabled user, a secret whose grace ended, a
// removed user or a replaced secret. The work is bounded (DERIVATION_BUDGET).
import {
  PROFILE_DEFAULTS,
  deriveCodeSequences,
  sequenceDeriver,
  totpCodeOf,
  windowAt,
  type KnockProfile,
  type SecretBytes,
} from '@otpknock/shared';
import type { ServerConfig, UserConfig } from '../config/types.js';

/** The causes a refused knock can have, as `why`, `status` and the log name them. */
export type RefusalCause =
  | 'timing'
  | 'payload'
  | 'clock'
  | 'profile'
  | 'disabled'
  | 'grace-ended'
  | 'old-secret'
  | 'removed'
  | 'replay'
  | 'banned'
  | 'closed'
  | 'unknown';

export interface Explanation {
  cause: RefusalCause;
  /** One sentence for the operator: what was seen, what it means, what to do. Never a secret. */
  text: string;
  user?: string;
  /** `clock`: the client's window minus the server's (positive: the client's clock is ahead). */
  windowOffset?: number;
}

/** A secret the config does not hold any more, kept for explanations (refusals/former.ts, former-file.ts). */
export interface FormerSecret {
  user: string;
  secret: SecretBytes;
  profile: KnockProfile;
  /** removed: the user left the config; replaced: the user's secret changed; grace-ended: its grace ran out. */
  reason: 'removed' | 'replaced' | 'grace-ended';
  /** When the daemon saw it go, or its grace ended (Unix ms). */
  sinceMs: number;
}

/**
 * Windows one explanation may derive at most (about 60 µs each on the 2-core test
 * machine: ~120 ms): the clock search narrows with the number of users, and a search
 * that reaches it stops, so no explanation holds the daemon up for long.
 */
export const DERIVATION_BUDGET = 2_000;
/** Farthest clock offset searched, in windows (each way). */
export const MAX_WINDOW_OFFSET = 20;

export interface ExplainInput {
  config: ServerConfig;
  /** The source's refused knock ports, oldest first. */
  ports: readonly number[];
  /** When the last of them came (Unix ms): the windows are judged at that instant. */
  atMs: number;
  former?: readonly FormerSecret[];
}

type Match = 'full' | 'partial';

/**
 * Whether `seq` is among `observed`: all its ports in order (other ports may come
 * between: another knock, a retry), or for 3 ports or more all but one (a port the
 * kernel did not log: by chance a valid step, or over the source's log budget).
 */
export function sequenceMatch(seq: readonly number[], observed: readonly number[]): Match | undefined {
  if (seq.length === 0) return undefined;
  if (inOrder(seq, observed)) return 'full';
  if (seq.length < 3) return undefined;
  for (let skip = 0; skip < seq.length; skip++)
    if (inOrder([...seq.slice(0, skip), ...seq.slice(skip + 1)], observed)) return 'partial';
  return undefined;
}

/** All of `seq` among `observed`, in order. */
function inOrder(seq: readonly number[], observed: readonly number[]): boolean {
  let i = 0;
  for (const p of observed) if (i < seq.length && p === seq[i]) i++;
  return i === seq.length;
}

interface Candidate {
  user: string;
  window: number;
  kind: string;
}

/** Derives a user's sequences (open, close, code mode) for one window, without payload tokens. */
function sequencesOf(profile: KnockProfile, secret: SecretBytes, codeMode: boolean) {
  const bare = profile.tokenBytes === 0 ? profile : { ...profile, tokenBytes: 0 };
  const derive = sequenceDeriver(bare, secret);
  return (window: number): { kind: string; ports: number[] }[] => {
    const s = derive(window);
    const out = s.toggle
      ? [{ kind: 'toggle', ports: s.open }]
      : [
          { kind: 'open', ports: s.open },
          { kind: 'close', ports: s.close },
        ];
    if (codeMode)
      out.push({ kind: 'code', ports: deriveCodeSequences(bare, totpCodeOf(secret, bare, window), window).open });
    return out;
  };
}

/** Searches windows `offsets` (relative to the current one) of one (profile, secret); the first match wins. */
function search(
  user: string,
  profile: KnockProfile,
  secret: SecretBytes,
  codeMode: boolean,
  offsets: readonly number[],
  input: ExplainInput,
  budget: { left: number },
): (Candidate & { offset: number; match: Match }) | undefined {
  if (budget.left <= 0) return undefined;
  const derive = sequencesOf(profile, secret, codeMode);
  const current = profile.method === 'static' ? 0 : windowAt(input.atMs, profile.period);
  let partial: (Candidate & { offset: number; match: Match }) | undefined;
  for (const offset of profile.method === 'static' ? [0] : offsets) {
    const window = current + offset;
    if (window < 0) continue;
    if (budget.left-- <= 0) break;
    for (const s of derive(window)) {
      const m = sequenceMatch(s.ports, input.ports);
      if (m === 'full') return { user, window, kind: s.kind, offset, match: m };
      if (m === 'partial') partial ??= { user, window, kind: s.kind, offset, match: m };
    }
  }
  return partial;
}

/** Offsets 0, -1, 1, -2, 2, … within [-max, max], skipping |o| ≤ skip when `outside`. */
function offsetsAround(max: number, skew: number, outside: boolean): number[] {
  const out: number[] = [];
  for (let d = outside ? skew + 1 : 0; d <= max; d++) {
    if (d === 0) out.push(0);
    else out.push(-d, d);
  }
  return out;
}

/** Profiles a client may have got wrong: without the exclusions, without the service ports, the defaults. */
export function profileVariants(
  profile: KnockProfile,
  config: ServerConfig,
): { profile: KnockProfile; lacks: string }[] {
  const servicePorts = new Set(config.services.map((s) => s.port));
  const excluded = profile.exclude;
  const variants = [
    {
      profile: { ...profile, exclude: excluded.filter((p) => !servicePorts.has(p)) },
      lacks: 'the protected service ports in its exclusions',
    },
    { profile: { ...profile, exclude: excluded.filter((p) => servicePorts.has(p)) }, lacks: 'the exclude list' },
    { profile: { ...profile, exclude: [] }, lacks: 'every exclusion (exclude and the service ports)' },
    {
      profile: { ...profile, ...PROFILE_DEFAULTS, range: { ...PROFILE_DEFAULTS.range }, exclude: [] },
      lacks:
        "the server's knock settings (it uses the defaults: method time, length 3, period 30, range 10000-65000, no exclusions)",
    },
  ];
  const seen = new Set([JSON.stringify(profile)]);
  return variants.filter((v) => {
    const key = JSON.stringify(v.profile);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const ago = (ms: number) => new Date(ms).toISOString();

function seconds(offset: number, period: number): string {
  const s = Math.abs(offset) * period;
  return s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`;
}

/** The explanation of a source's refused knock ports (not for banned, closed or replay: those say so themselves). */
export function explainPorts(input: ExplainInput): Explanation {
  const { config } = input;
  const active = config.users.filter((u) => u.disabled !== true && u.services.length > 0);
  const perUser = Math.max(1, active.length + (input.former?.length ?? 0));
  const maxOffset = Math.max(config.skew + 1, Math.min(MAX_WINDOW_OFFSET, Math.floor(DERIVATION_BUDGET / perUser / 4)));
  const budget = { left: DERIVATION_BUDGET };
  const live = offsetsAround(config.skew, config.skew, false);
  const near = offsetsAround(config.skew + 1, config.skew, false);
  const code = (u: UserConfig) => u.codeMode === true && u.profile.method !== 'static';

  // 1. a live sequence: it came, but did not advance
  const token = config.payload?.require === 'token';
  for (const u of active) {
    const m = search(u.name, u.profile, u.secret, code(u), live, input, budget);
    if (m)
      return {
        cause: 'timing',
        user: u.name,
        text: `the ports are ${u.name}'s ${m.kind} sequence of window ${m.window} (live), but it did not advance: the datagrams came out of order, more than step_timeout apart, ${token ? `interleaved with another knock from the same address, or with a payload token that is not theirs for that window (the client's token_bytes or payload setting differ from the server's: otpknockd user uri ${u.name})` : 'or interleaved with another knock from the same address'}`,
      };
  }
  if (config.breakGlass !== undefined && sequenceMatch(config.breakGlass.ports, input.ports) !== undefined)
    return {
      cause: 'timing',
      text: 'the ports are the break-glass sequence, but it did not advance: the datagrams came out of order or more than step_timeout apart',
    };
  // 2. another window: the client's clock
  const far = offsetsAround(maxOffset, config.skew, true);
  for (const u of active) {
    const m = search(u.name, u.profile, u.secret, code(u), far, input, budget);
    if (m) {
      const ahead = m.offset > 0;
      return {
        cause: 'clock',
        user: u.name,
        windowOffset: m.offset,
        text: `the ports are ${u.name}'s ${m.kind} sequence of window ${m.window}, ${Math.abs(m.offset)} window${Math.abs(m.offset) === 1 ? '' : 's'} ${ahead ? 'ahead of' : 'behind'} the server's (accepted: ±${config.skew}): the client's clock is about ${seconds(m.offset, u.profile.period)} ${ahead ? 'fast' : 'slow'}, or the server's is off; sync both with NTP`,
      };
    }
  }
  // 3. another profile
  for (const u of active) {
    if (u.profile.method === 'static') continue;
    for (const v of profileVariants(u.profile, config)) {
      const m = search(u.name, v.profile, u.secret, false, near, input, budget);
      if (m)
        return {
          cause: 'profile',
          user: u.name,
          text: `the ports are ${u.name}'s ${m.kind} sequence of window ${m.window} under a profile that lacks ${v.lacks}: the client's profile does not match the server's; give ${u.name} the server's profile again: otpknockd user uri ${u.name}`,
        };
    }
  }
  // 4. a disabled user
  for (const u of config.users.filter((x) => x.disabled === true)) {
    const m = search(u.name, u.profile, u.secret, code(u), near, input, budget);
    if (m)
      return {
        cause: 'disabled',
        user: u.name,
        text: `the ports are ${u.name}'s ${m.kind} sequence of window ${m.window}, but user ${u.name} is disabled (otpknockd user enable ${u.name} lets them in again)`,
      };
  }
  // 5. a secret whose grace ended
  for (const u of active) {
    for (const g of u.graceSecrets ?? []) {
      if (g.untilMs > input.atMs) continue;
      const m = search(u.name, u.profile, g.secret, false, near, input, budget);
      if (m)
        return {
          cause: 'grace-ended',
          user: u.name,
          text: `the ports are derived from ${u.name}'s previous secret, whose grace period ended at ${ago(g.untilMs)}: the client still has the old secret; give ${u.name} the new one`,
        };
    }
  }
  // 6. removed users and replaced secrets (the newest, for 30 days: refusals/former.ts)
  for (const f of input.former ?? []) {
    const m = search(f.user, f.profile, f.secret, false, near, input, budget);
    if (m && f.reason === 'grace-ended')
      return {
        cause: 'grace-ended',
        user: f.user,
        text: `the ports are derived from ${f.user}'s previous secret, whose grace period ended at ${ago(f.sinceMs)}: the client still has the old secret; give ${f.user} the new one`,
      };
    if (m)
      return f.reason === 'removed'
        ? {
            cause: 'removed',
            user: f.user,
            text: `the ports are the ${m.kind} sequence of user ${f.user}, who was removed at ${ago(f.sinceMs)}`,
          }
        : {
            cause: 'old-secret',
            user: f.user,
            text: `the ports are derived from a secret of ${f.user} that was replaced at ${ago(f.sinceMs)} (no grace period left): the client still has the old secret; give ${f.user} the new one`,
          };
  }
  return {
    cause: 'unknown',
    text: `the ports (${input.ports.slice(-8).join(' ')}) match no sequence of any user within ±${maxOffset} windows, nor a profile without exclusions, nor a disabled, removed or old secret${budget.left <= 0 ? ` (the search stopped at its budget of ${DERIVATION_BUDGET} windows: not every user was tried)` : ''}: a wrong secret, a profile for another server, or a port scan`,
  };
}
