// Static sequences are the same in every window, so the kernel can only tell two
// users apart if neither's sequence is (the beginning of) the other's.
import type { UserConfig } from './types.js';
import type { ParseContext } from './parse-context.js';
import type { KnockProfiles } from './knock-profiles.js';

interface Sequence {
  user: string;
  kind: 'open' | 'close';
  ports: number[];
}

export function checkStaticSequences(ctx: ParseContext, users: readonly UserConfig[], knock: KnockProfiles): void {
  const seqs: Sequence[] = [];
  for (const u of users) {
    if (u.profile.method !== 'static') continue;
    seqs.push({ user: u.name, kind: 'open', ports: u.profile.open });
    if (!u.profile.toggle) seqs.push({ user: u.name, kind: 'close', ports: u.profile.close });
  }
  seqs.sort((a, b) => comparePorts(a.ports, b.ports));
  // After sorting, every sequence that starts with S follows S directly or
  // after others that also start with S: a stack of open prefixes finds them all.
  const stack: Sequence[] = [];
  for (const s of seqs) {
    while (stack.length > 0 && !startsWith(s.ports, stack[stack.length - 1]!.ports)) stack.pop();
    const prefix = stack[stack.length - 1];
    if (prefix !== undefined) {
      const relation = prefix.ports.length === s.ports.length ? 'is the same as' : 'starts with';
      const other =
        prefix.user === s.user
          ? `its own ${prefix.kind} sequence`
          : `the ${prefix.kind} sequence of user ${prefix.user}`;
      ctx.report.report(
        knock.staticSequenceAt(s.user, s.kind),
        `the static ${s.kind} sequence of user ${s.user} ${relation} ${other}; the kernel could not tell them apart: give each user sequences that neither equal nor begin another's`,
      );
    }
    stack.push(s);
  }
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
