// Fault injection as a property: the daemon against a fake nft that models the
// kernel's sets and maps (elements with timeouts; a delete of a missing element
// fails the whole transaction, as nf_tables does) and fails on demand, under a
// random mix of nft failures, time passing and reloads. Whatever the mix:
// - the daemon never stops or throws; every failure is logged with "retrying";
// - no script it sends is refused by the model kernel (its picture of the kernel
//   stays right), apart from the injected failures;
// - once nft works again, within a minute every live sequence of every user is
//   knockable in the model kernel (walked step by step from state 0).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveSequences, windowAt } from '@otpknock/shared';
import { Daemon } from './daemon.js';
import { NftDriver, type NftRunner } from '../nft/driver.js';
import { TABLE_COMMENT } from '../ruleset/render.js';
import type { ServerConfig } from '../config/types.js';
import { FakeClock, memoryLogger, serverConfig, user } from '@otpknock/server/testing';

type Elements = Map<string, { value: string | undefined; expires: number }>;

function durationMs(text: string): number {
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|s|m|h|d)/g))
    ms += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit as 'ms'];
  return ms;
}

/** "KEY [timeout D] [expires D] [: VALUE]" → parts. */
function parseElement(text: string): { key: string; timeoutMs?: number; value?: string } {
  const [left, value] = text.split(' : ') as [string, string | undefined];
  const m = /^(.*?)(?: timeout (\S+))?(?: expires \S+)?$/.exec(left.trim())!;
  return {
    key: m[1]!.trim(),
    ...(m[2] ? { timeoutMs: durationMs(m[2]) } : {}),
    ...(value === undefined ? {} : { value: value.trim() }),
  };
}

/** The kernel, as far as sets and maps go: what nf_tables would accept and hold. */
class ModelKernel implements NftRunner {
  sets = new Map<string, Elements>();
  tableLoaded = false;
  failNext = 0;
  injected = 0;
  refused: string[] = [];
  constructor(private readonly clock: FakeClock) {}

  async run(args: readonly string[], input?: string) {
    if (args[0] === 'list') {
      if (!this.tableLoaded) throw Object.assign(new Error('nft'), { stderr: 'Error: No such file or directory' });
      return { stdout: `table inet otpknock_test {\n\tcomment "${TABLE_COMMENT}"\n}`, stderr: '' };
    }
    if (args[0] === '-j') return { stdout: '{"nftables":[]}', stderr: '' };
    if (args.includes('-c')) return { stdout: '', stderr: '' };
    if (this.failNext > 0) {
      this.failNext -= 1;
      this.injected += 1;
      throw Object.assign(new Error('nft failed'), {
        stderr: 'Error: Could not process rule: Cannot allocate memory (injected)',
      });
    }
    const problem = this.apply(input ?? '');
    if (problem) {
      this.refused.push(problem);
      throw Object.assign(new Error('nft failed'), {
        stderr: `Error: Could not process rule: No such file or directory\n${problem}`,
      });
    }
    return { stdout: '', stderr: '' };
  }

  live(set: Elements): Elements {
    const now = this.clock.now();
    return new Map([...set].filter(([, e]) => e.expires > now));
  }

  /** Applies a script all-or-nothing; returns why the kernel would refuse it, if it would. */
  private apply(script: string): string | undefined {
    const now = this.clock.now();
    const next = new Map([...this.sets].map(([k, v]) => [k, this.live(v)]));
    let loaded = this.tableLoaded;
    const lines = script.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (/^delete table inet /.test(line)) {
        next.clear();
        loaded = false;
      } else if (/^table inet \S+ \{$/.test(line)) {
        loaded = true;
        let cur: Elements | undefined;
        for (i++; i < lines.length && lines[i] !== '}'; i++) {
          const l = lines[i]!;
          const open = /^\t(?:set|map) (\S+) \{$/.exec(l);
          if (open) {
            cur = new Map();
            next.set(open[1]!, cur);
            continue;
          }
          if (l === '\t}') cur = undefined;
          if (!cur) continue;
          const elems = /^\t\telements = \{ ?(.*)$/.exec(l);
          let body = elems ? elems[1]! : /^\t\t\t/.test(l) ? l : undefined;
          if (body === undefined) continue;
          body = body.replace(/\s*\}\s*$/, '');
          for (const part of body.split(',')) {
            if (part.trim() === '') continue;
            const e = parseElement(part);
            cur.set(e.key, { value: e.value, expires: e.timeoutMs === undefined ? Infinity : now + e.timeoutMs });
          }
        }
      } else {
        const m = /^(add|delete) element inet \S+ (\S+) \{ (.*) \}$/.exec(line);
        if (!m) continue;
        const set = next.get(m[2]!);
        if (!set) return `no set ${m[2]}`;
        for (const part of m[3]!.split(',')) {
          const e = parseElement(part);
          if (m[1] === 'add') {
            set.set(e.key, { value: e.value, expires: e.timeoutMs === undefined ? Infinity : now + e.timeoutMs });
          } else if (!set.delete(e.key)) {
            return `delete element ${m[2]} { ${e.key} }: not in the kernel`;
          }
        }
      }
    }
    this.sets = next;
    this.tableLoaded = loaded;
    return undefined;
  }

  /** Walks `ports` from state 0 through the first map whose keys are "state . port"; true when it ends in a leaf. */
  knockable(ports: number[]): boolean {
    const map = [...this.sets.values()].find((s) => [...s.keys()].some((k) => /^0x[0-9a-f]+ \. \d+$/.test(k)));
    if (!map) return false;
    const live = this.live(map);
    let state = 0;
    for (const p of ports) {
      const hit = live.get(`0x${state.toString(16).padStart(8, '0')} . ${p}`) ?? live.get(`0x00000000 . ${p}`);
      if (!hit?.value) return false;
      state = Number(hit.value);
    }
    return (state & 0x80000000) !== 0;
  }
}

const USERS = [user('alice'), user('bob'), user('carol')];
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

type Step = { kind: 'fail'; n: number } | { kind: 'advance'; ms: number } | { kind: 'reload'; users: number };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('fail' as const), n: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 100, max: 45_000 }) }),
  fc.record({ kind: fc.constant('reload' as const), users: fc.integer({ min: 1, max: 7 }) }),
);

/** The users picked by a bit mask (never empty). */
const pick = (mask: number) => USERS.filter((_, i) => (mask >> i) & 1);

describe('the daemon under injected nft failures (property)', () => {
  it('never stops, never sends what the kernel would refuse, and ends with every live sequence knockable', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 29_999 }),
        fc.array(stepArb, { minLength: 1, maxLength: 12 }),
        async (startOffset, steps) => {
          const clock = new FakeClock(T0 + startOffset);
          const kernel = new ModelKernel(clock);
          const { log, lines } = memoryLogger();
          let config: ServerConfig = serverConfig({ users: pick(3) });
          const d = new Daemon({ config, nft: new NftDriver(kernel), log, clock });
          await d.start();
          for (const s of steps) {
            if (s.kind === 'fail') kernel.failNext += s.n;
            else if (s.kind === 'advance') await clock.advance(s.ms);
            else {
              const next = serverConfig({ users: pick(s.users) });
              void d.reload(async () => next).then(() => (config = d.currentConfig));
              await clock.advance(0);
            }
          }
          // nft works again; a minute later everything must be in order
          kernel.failNext = 0;
          await clock.advance(60_000);
          config = d.currentConfig;
          expect(kernel.refused, 'scripts the kernel would refuse').toEqual([]);
          const failures = lines.filter(
            (l) => l.startsWith('error rotation') || l.startsWith('error reload') || l.startsWith('warn reload'),
          );
          for (const f of failures)
            expect(f).toMatch(/retrying in \d+s|still running the old one|loading the whole table/);
          if (kernel.injected > 0) expect(failures.length).toBeGreaterThan(0);
          const W = windowAt(clock.now(), 30);
          for (const u of config.users) {
            for (let w = W - config.skew; w <= W + config.skew; w++) {
              expect(kernel.knockable(deriveSequences(u.profile, u.secret, w).open), `${u.name} window ${w - W}`).toBe(
                true,
              );
            }
          }
          await d.stop();
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});
