// Adversarial suite, part 3: a flood of stage-1 knocks from forged source
// addresses (raw frames from eve: IPv4 from 198.51.100.0/24 and 203.0.113.0/24,
// IPv6 from 2001:db8:ff00::/40) to the first ports of every live sequence, as an
// eavesdropper learns them, while a legitimate user knocks in again and again,
// each time from a fresh address. Black box: packets in, a TCP open or not out.
// Whether the flood filled the progress map is the kernel's own account: the
// table's outcome counters (a step that cannot be stored counts as progress_full).
// The dynamic sets (those `otpknockd render` declares dynamic; no name assumed)
// are listed after the flood, for the report: a listing during one is no snapshot.
import { beforeAll, expect, it } from 'vitest';
import { describeE2E, useDaemon } from './support/e2e.js';
import { useReport } from './support/adversarial-report.js';
import { TABLE, USERS, attackConfig, awayFromBoundary, openSeq as open } from './support/attack-fixture.js';
import {
  addClientAddresses,
  counterDeltas,
  dynamicSetFill,
  dynamicSetsOf,
  formatDeltas,
  legitimateAttempts,
  startFlood,
  tableCounters,
  type Attempt,
  type DynamicSet,
} from './support/attacker.js';

describeE2E('adversarial: forged-source flood against a legitimate user', () => {
  let dynamicSets: DynamicSet[];
  const report = useReport(
    'adversarial-flood',
    'Forged-source flood: legitimate success rate (target ≥ 99 %) and dynamic set sizes',
  );

  const fx = useDaemon({ services: 22, config: attackConfig });

  beforeAll(async () => {
    dynamicSets = await dynamicSetsOf(fx.cfg.file);
  });

  for (const family of [4, 6] as const) {
    it(`a flood of stage-1 knocks from forged IPv${family} sources does not keep a legitimate user out (≥ 99% get in) and never fills the progress map`, async () => {
      await awayFromBoundary(25);
      // The strongest flood: the first ports of every live sequence, as an eavesdropper learns them.
      const stage1 = [...new Set(USERS.flatMap((u) => [-1, 0, 1].map((o) => open(u, o)[0]!)))];
      // Half the users each (a sequence opens once: the two families must not share any) × windows
      // 0 and +1 (both valid for ≥ 30 s): 50 one-time sequences, each knocked from an address of its own.
      const users = family === 4 ? USERS.slice(0, 25) : USERS.slice(25);
      const srcs = await addClientAddresses(fx.t, family, family === 4 ? 100 : 0x100, 2 * users.length);
      const attempts: Attempt[] = users.flatMap((u, i) =>
        [0, 1].map((o) => ({ src: srcs[2 * i + o]!, ports: open(u, o) })),
      );
      const countersBefore = await tableCounters(fx.t, TABLE);
      // The flood lasts until the user is done (SIGTERM below), 45 s and 6,000,000 datagrams at most.
      const flood = await startFlood(fx.t, { family, ports: stage1, count: 6_000_000, seconds: 45 });
      await new Promise((r) => setTimeout(r, 3_000)); // let the flood fill what it can
      const target = family === 4 ? fx.t.server.ipv4 : fx.t.server.ipv6;
      // 1.5 s per attempt (an open comes in ~20 ms): 100 attempts end within ~40 s, while windows 0 and +1 stay valid.
      const legit = await legitimateAttempts(fx.t, target, 22, attempts, {
        timeoutMs: 1_500,
        gapMs: 10,
        concurrency: 4,
      });
      const floodRunning = flood.process.running;
      flood.process.signal('SIGTERM'); // it stops and says how much it sent
      const f = await flood.done;
      // Read once the flood is over: the counters add up the whole flood, and a reading
      // during it competed with it for the 2 cores (one CI run: ~40 s for the counters).
      const deltas = counterDeltas(countersBefore, await tableCounters(fx.t, TABLE));
      const counters = formatDeltas(deltas);
      const fill = await dynamicSetFill(fx.t, TABLE, dynamicSets);
      const rate = legit.ok / attempts.length;
      const full = fill
        .filter((s) => s.elements > 0)
        .map(
          (s) =>
            `${s.name} ${s.elements.toLocaleString('en-US')}/${s.size.toLocaleString('en-US')}${s.repeated ? ` (the listing repeated ${s.repeated.toLocaleString('en-US')})` : ''}`,
        )
        .join(', ');
      report.add({
        case: `legitimate knocks during a forged-source IPv${family} flood of stage-1 knocks`,
        tries: attempts.length,
        result: `${legit.ok} got in (${(rate * 100).toFixed(1)} %)`,
        note: `flood: ${f.sent.toLocaleString('en-US')} datagrams at ${f.pps.toLocaleString('en-US')}/s from ${f.distinctSources >= 1_000_000 ? '≥ 1,000,000 distinct' : f.distinctSources.toLocaleString('en-US')} forged sources${floodRunning ? ', running all along' : ', ended before the user was done'}, to ${stage1.length} stage-1 ports; dynamic sets after the flood: ${full || 'all empty'}; table counters over the flood: ${counters || 'none moved'}`,
      });
      const slow = legit.attempts.map((a) => a.ms).sort((a, b) => a - b);
      console.log(
        `IPv${family} flood: attempts ${legit.ok}/${attempts.length}, median ${slow[slow.length >> 1]} ms, max ${slow.at(-1)} ms; ${full}; ${counters}`,
      );
      // A full progress map would refuse every new first step (each counted as progress_full):
      // a few refused inserts under churn are the kernel's hash, not a full map (state-machine.md).
      const stored = deltas['steps_stored'] ?? 0;
      expect(stored, 'the flood stored first steps (it reached the knock machinery)').toBeGreaterThan(10_000);
      expect(
        deltas['progress_full'] ?? 0,
        `progress never full: progress_full vs steps_stored ${stored}`,
      ).toBeLessThanOrEqual(stored / 100);
      expect(
        rate,
        `legitimate success rate under a forged IPv${family} flood: ${legit.attempts
          .filter((a) => !a.ok)
          .map((a) => a.src)
          .join(' ')}`,
      ).toBeGreaterThanOrEqual(0.99);
    }, 150_000);
  }
});
