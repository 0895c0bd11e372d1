// Adversarial suite, part 2: attacks. eve (192.0.2.3, 2001:db8:1::3) sees every
// frame on the segment and tries what attackers try: replaying a captured knock,
// mixing, reordering and repeating steps, old and future windows, a UDP scan of
// the whole knock range and 100,000 random knocks (the forged-source flood is in
// adversarial-flood.e2e.test.ts). Each attack reports its tries and how many
// opened (must be 0). The brute-force cut-off is
// off here (ban: off), so the knock state machine alone is what stops them; with
// the default ban eve would be shut out after 10 bad knocks.
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeE2E, otpknockd, sendUdp, sequencesFor, tcpProbe, useDaemon } from './support/e2e.js';
import { useReport } from './support/adversarial-report.js';
import {
  RANGE,
  USERS,
  attackConfig,
  attackProfile as profile,
  awayFromBoundary,
  openSeq,
} from './support/attack-fixture.js';
import { randomKnocks, startCapture } from './support/attacker.js';

const [alice, bob] = [USERS[0]!, USERS[1]!];
const open = openSeq;

/** A knock-range port that is in no sequence of any user within ±4 windows: sending it resets a source's progress. */
function resetPort(): number {
  const used = new Set<number>();
  for (const u of USERS)
    for (let o = -4; o <= 4; o++) {
      const s = sequencesFor(u.secret, profile, o);
      for (const p of [...s.open, ...s.close]) used.add(p);
    }
  for (let p = RANGE.min + 7; p <= RANGE.max; p += 13) if (!used.has(p)) return p;
  throw new Error('no free reset port');
}

/** All attempts in one stream, each followed by a reset port so no two attempts can join into one knock. */
function stream(attempts: number[][]): number[] {
  const reset = resetPort();
  return attempts.flatMap((a) => [...a, reset]);
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

/** Repetitions of a's steps that never contain a as one contiguous run (those would be a valid knock). */
function duplicatedSteps(a: number[]): number[][] {
  const [p0, p1, p2] = a as [number, number, number];
  const cands = [
    [p0, p1, p1, p2],
    [p0, p0, p1, p1, p2, p2],
    [p0, p1, p1, p2, p2],
    [p1, p1, p2],
    [p0, p2, p2],
    [p0, p1, p1],
    [p0, p0, p2],
    [p0, p1, p0, p1, p1, p2],
  ];
  const has = (x: number[]) => x.some((_, i) => x[i] === p0 && x[i + 1] === p1 && x[i + 2] === p2);
  return cands.filter((c) => !has(c));
}

describeE2E('adversarial: attacks on the knock', () => {
  const report = useReport(
    'adversarial-attacks',
    'Attacks: tries and opens (ban: off, so the state machine alone stops them)',
  );

  const fx = useDaemon({ services: 22, config: attackConfig });

  /** Takes eve out of the allowed sets, so that each attack's count is its own (openings last 10 minutes). */
  const resetEve = async () => {
    for (const a of [fx.t.eve.ipv4, fx.t.eve.ipv6]) {
      const r = await otpknockd(fx.t, ['close', a, '--config', fx.cfg.file], 15_000);
      expect(r.code, r.stderr).toBe(0);
    }
  };

  const eveOpen = async () => {
    const v4 = (await tcpProbe(fx.t, 'eve', fx.t.server.ipv4, 22, 700)).state === 'open';
    const v6 = (await tcpProbe(fx.t, 'eve', fx.t.server.ipv6, 22, 700)).state === 'open';
    return (v4 ? 1 : 0) + (v6 ? 1 : 0);
  };

  it('replay: a knock eve captured on the wire, already used by the client, opens nothing, from IPv4 or IPv6', async () => {
    await awayFromBoundary(8);
    const seq = open(alice, 0);
    const sniff = await startCapture(fx.t, {
      dst: fx.t.server.ipv4,
      min: RANGE.min,
      max: RANGE.max,
      want: 3,
      seconds: 10,
    });
    await sendUdp(fx.t, 'client', fx.t.server.ipv4, seq, { delayMs: 5 });
    const captured = await sniff.result;
    expect(captured).toEqual(seq); // eve really saw the knock
    expect((await tcpProbe(fx.t, 'client', fx.t.server.ipv4, 22)).state).toBe('open');
    const tries = 20;
    await sendUdp(fx.t, 'eve', fx.t.server.ipv4, stream(Array.from({ length: tries / 2 }, () => captured)), {
      delayMs: 2,
    });
    await sendUdp(fx.t, 'eve', fx.t.server.ipv6, stream(Array.from({ length: tries / 2 }, () => captured)), {
      delayMs: 2,
    });
    const opened = await eveOpen();
    report.add({
      case: 'replay of a captured, used knock (eve, IPv4 + IPv6)',
      tries,
      result: `${opened} opened`,
      note: 'captured with a raw socket on the shared segment',
    });
    expect(opened).toBe(0);
  });

  it('mixed steps of two valid sequences, wrong order, duplicated steps, expired and future windows: nothing opens', async () => {
    const categories: [string, () => number[][], string][] = [
      [
        'mixed steps of two valid sequences (2 users, same and adjacent windows)',
        () => {
          const out: number[][] = [];
          for (const [oa, ob] of [
            [0, 0],
            [0, 1],
            [1, 0],
            [-1, 0],
          ] as const) {
            const a = open(alice, oa);
            const b = open(bob, ob);
            for (let mask = 1; mask < 7; mask++) out.push([0, 1, 2].map((i) => ((mask >> i) & 1 ? b[i]! : a[i]!)));
          }
          // the same user's two live windows mixed
          const w0 = open(alice, 0);
          const w1 = open(alice, 1);
          for (let mask = 1; mask < 7; mask++) out.push([0, 1, 2].map((i) => ((mask >> i) & 1 ? w1[i]! : w0[i]!)));
          return out;
        },
        'each of the 6 mixes per pair',
      ],
      [
        'wrong order (every other permutation, 3 live windows, 2 users)',
        () => {
          const out: number[][] = [];
          for (const u of [alice, bob])
            for (const o of [-1, 0, 1]) {
              const s = open(u, o);
              out.push(...permutations(s).filter((p) => p.join() !== s.join()));
            }
          return out;
        },
        '5 per sequence',
      ],
      [
        'duplicated steps',
        () => [alice, bob].flatMap((u) => [-1, 0, 1].flatMap((o) => duplicatedSteps(open(u, o)))),
        'repeats that never contain the sequence as one run',
      ],
      [
        'expired windows (2–4 windows back, beyond skew 1)',
        () => [alice, bob].flatMap((u) => [-2, -3, -4].map((o) => open(u, o))),
        '',
      ],
      [
        'future windows (2–4 windows ahead, beyond skew 1)',
        () => [alice, bob].flatMap((u) => [2, 3, 4].map((o) => open(u, o))),
        '',
      ],
    ];
    for (const [name, attempts, note] of categories) {
      await resetEve();
      await awayFromBoundary(5);
      const list = attempts();
      await sendUdp(fx.t, 'eve', fx.t.server.ipv4, stream(list), { delayMs: 1, timeoutMs: 30_000 });
      await sendUdp(fx.t, 'eve', fx.t.server.ipv6, stream(list), { delayMs: 1, timeoutMs: 30_000 });
      const opened = await eveOpen();
      report.add({
        case: name,
        tries: list.length * 2,
        result: `${opened} opened`,
        note: `IPv4 and IPv6; ${note}`.replace(/; $/, ''),
      });
      expect(opened, name).toBe(0);
    }
    // the sequences eve mangled were not consumed: the client can still use one
    await awayFromBoundary(5);
    await sendUdp(fx.t, 'client', fx.t.server.ipv6, open(bob, 0), { delayMs: 5 });
    expect((await tcpProbe(fx.t, 'client', fx.t.server.ipv6, 22)).state).toBe('open');
  });

  it('a full UDP scan of the knock range (nmap -sU, bounded rate) opens nothing', async () => {
    await resetEve();
    const ports = RANGE.max - RANGE.min + 1;
    let how: string;
    if (existsSync('/usr/bin/nmap')) {
      const r = await fx.t.exec(
        'eve',
        [
          'nmap',
          '-sU',
          '-Pn',
          '-n',
          '--max-retries',
          '0',
          '--min-rate',
          '3000',
          '--max-rate',
          '6000',
          '--host-timeout',
          '60s',
          '-p',
          `${RANGE.min}-${RANGE.max}`,
          fx.t.server.ipv4,
        ],
        { timeoutMs: 90_000 },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/open\|filtered|filtered/); // the server never answers a knock
      const syn = await fx.t.exec('eve', ['nmap', '-sS', '-Pn', '-n', '-p', '22', fx.t.server.ipv4], {
        timeoutMs: 30_000,
      });
      expect(syn.stdout).toMatch(/22\/tcp\s+filtered/);
      how = 'nmap -sU --max-retries 0 --max-rate 6000, random order; nmap -sS sees 22/tcp filtered';
    } else {
      // A scripted sweep in nmap's spirit: every port once, in a shuffled order.
      const order = Array.from({ length: ports }, (_, i) => RANGE.min + i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      await sendUdp(fx.t, 'eve', fx.t.server.ipv4, order, { delayMs: 0, timeoutMs: 60_000 });
      how = 'nmap not installed: scripted sweep, every port once in a shuffled order';
    }
    const opened = await eveOpen();
    report.add({ case: 'UDP scan of the whole knock range', tries: ports, result: `${opened} opened`, note: how });
    expect(opened).toBe(0);
  });

  it('100,000 random 3-port knocks open nothing', async () => {
    await resetEve();
    const r = await randomKnocks(fx.t, {
      family: 4,
      min: RANGE.min,
      max: RANGE.max,
      length: 3,
      knocks: 100_000,
      seconds: 60,
    });
    const opened = await eveOpen();
    report.add({
      case: 'random 3-port knocks (one source, one stream)',
      tries: r.knocks,
      result: `${opened} opened`,
      note: `${r.sent.toLocaleString('en-US')} datagrams in ${r.seconds} s (${r.pps.toLocaleString('en-US')}/s)`,
    });
    expect(r.knocks).toBe(100_000);
    expect(opened).toBe(0);
  });
});
