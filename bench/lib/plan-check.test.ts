import { describe, expect, it } from 'vitest';
import { comparePlan, kernelSteps, stepKey } from './plan-check.js';

// What `nft -j list map inet otpknock step` printed for two elements, one with a timeout.
const LISTING = {
  nftables: [
    { metainfo: { version: '1.0.6', json_schema_version: 1 } },
    {
      map: {
        family: 'inet',
        name: 'step',
        table: 'otpknock',
        elem: [
          [{ elem: { val: { concat: [0, 100] }, timeout: 7, expires: 6 } }, 5],
          [{ concat: [5, 200] }, 6],
        ],
      },
    },
  ],
};

describe('kernelSteps', () => {
  it('reads keys, values and what is left of a timeout', () => {
    expect(kernelSteps(LISTING)).toEqual(
      new Map([
        ['0.100', { next: 5, expiresS: 6 }],
        ['5.200', { next: 6 }],
      ]),
    );
  });
});

describe('comparePlan', () => {
  const plan = new Map([
    [stepKey(0, 100), 5],
    [stepKey(5, 200), 6],
  ]);
  const kernel = kernelSteps(LISTING);

  it('is ok when the kernel holds exactly the plan', () => {
    expect(comparePlan(plan, kernel, 500)).toMatchObject({ expected: 2, expiring: 0, ok: true });
  });

  it('counts an ended element still counting down from a late commit as expiring, not as a mismatch', () => {
    const late = new Map([...kernel, ['0.300', { next: 7, expiresS: 2 }]]);
    expect(comparePlan(plan, late, 2_500)).toMatchObject({ expiring: 1, extra: [], ok: true });
  });

  it('refuses an element the plan does not hold whose timeout outlasts every commit delay', () => {
    const stale = new Map([...kernel, ['0.300', { next: 7, expiresS: 20 }]]);
    expect(comparePlan(plan, stale, 2_500)).toMatchObject({ extra: ['0.300 (20 s left)'], ok: false });
    const forever = new Map([...kernel, ['0.300', { next: 7 }]]);
    expect(comparePlan(plan, forever, 2_500)).toMatchObject({ extra: ['0.300 (no timeout)'], ok: false });
  });

  it('refuses a missing element and one with another value', () => {
    const partial = new Map([['5.200', { next: 9 }]]);
    expect(comparePlan(plan, partial, 500)).toMatchObject({
      missing: ['0.100'],
      wrongValue: ['5.200: kernel 9, plan 6'],
      counts: { missing: 1, wrongValue: 1, extra: 0 },
      ok: false,
    });
  });
});
