import { describe, expect, it } from 'vitest';
import { normalizeProfile, windowAt, windowStartMs } from '@otpknock/shared';
import { chooseKnockWindow } from './window.js';
import { planKnock } from './knock.js';

describe('chooseKnockWindow', () => {
  it('first knock: the current window', () => {
    expect(chooseKnockWindow(100, undefined)).toEqual({ window: 100 });
  });
  it('a used window from the past does not matter', () => {
    expect(chooseKnockWindow(100, 98)).toEqual({ window: 100 });
    expect(chooseKnockWindow(100, 99)).toEqual({ window: 100 });
  });
  it('after W was used (a retry, or a second knock in the same window): W+1', () => {
    expect(chooseKnockWindow(100, 100)).toEqual({ window: 101 });
  });
  it('after W+1 was used too: W+2, once the clock reaches W+1', () => {
    expect(chooseKnockWindow(100, 101)).toEqual({ window: 102, waitFor: 101 });
  });
  it('once the clock moved on, W+1 used earlier is still skipped', () => {
    expect(chooseKnockWindow(101, 101)).toEqual({ window: 102 });
  });
  it('honours a wider skew', () => {
    expect(chooseKnockWindow(100, 101, 2)).toEqual({ window: 102 });
    expect(chooseKnockWindow(100, 102, 2)).toEqual({ window: 103, waitFor: 101 });
  });
  it('the sequence of choices of one run: W, then W+1', () => {
    const first = chooseKnockWindow(500, undefined);
    const second = chooseKnockWindow(500, first.window);
    expect([first.window, second.window]).toEqual([500, 501]);
  });
});

describe('planKnock', () => {
  const time = normalizeProfile({ method: 'time', period: 30 });
  const now = 1_764_106_213_000; // 13 s into its window
  const w = windowAt(now, 30);

  it('uses the current window first', () => {
    expect(planKnock(time, now, undefined)).toEqual({ window: w });
  });
  it('then the next one', () => {
    expect(planKnock(time, now, w)).toEqual({ window: w + 1 });
  });
  it('then waits until the window after is accepted', () => {
    expect(planKnock(time, now, w + 1)).toEqual({ window: w + 2, notBeforeMs: windowStartMs(w + 1, 30) });
  });
  it('static sequences never rotate', () => {
    const fixed = normalizeProfile({ method: 'static', open: [7000, 8000], close: [8000, 7000] });
    expect(planKnock(fixed, now, 5)).toEqual({ window: 0 });
  });
});
