// `otpknockd why ADDR`: the last unban of the address, from the audit's operator records.
import { describe, expect, it } from 'vitest';
import { operatorRecord, parseOperatorRecords, type OperatorRecord } from '../audit/operator.js';
import { buildWhy, formatWhy, lastUnbanOf } from './why.js';

const who = { uid: 0, pid: 4711, sudoUser: 'opsalice', sudoUid: 1234 };
const at = (iso: string) => new Date(iso);
const unban = (target: string, banned: string, time: string, leftMs = 540_000): OperatorRecord =>
  operatorRecord(who, 'unban', { target, details: { banned, leftMs } }, at(time));

describe('why: the last unban', () => {
  const records = [
    unban('192.0.2.3', '192.0.2.3', '2026-12-05T01:00:00.000Z'),
    operatorRecord(
      { uid: 0, pid: 2 },
      'unban',
      { target: '192.0.2.3', error: new Error('nft') },
      at('2026-12-05T01:05:00Z'),
    ),
    unban('192.0.2.4', '192.0.2.4', '2026-12-05T01:06:00.000Z'),
    unban('192.0.2.3', '192.0.2.3', '2026-12-05T01:10:00.000Z', 61_000),
    unban('2001:db8:1::77', '2001:db8:1::', '2026-12-05T01:11:00.000Z'),
  ];

  it('is the newest successful unban of the address (not a failed one, not another address)', () => {
    expect(lastUnbanOf(records, '192.0.2.3')).toEqual({
      time: '2026-12-05T01:10:00.000Z',
      uid: 0,
      pid: 4711,
      sudoUser: 'opsalice',
      sudoUid: 1234,
      leftMs: 61_000,
    });
    expect(lastUnbanOf(records, '192.0.2.9')).toBeNull();
  });

  it('is shown with who and when, also when the address is not banned any more; an IPv6 address by its /64', () => {
    const text = formatWhy(buildWhy('192.0.2.3', null, [], [], [], 'knock', records));
    expect(text).toContain(
      '  last unban: 2026-12-05T01:10:00.000Z by uid 0 (sudo opsalice, uid 1234), with 1m01s of the ban left\n',
    );
    const v6 = buildWhy('2001:db8:1::5', null, [], [], [], 'knock', records);
    expect(v6.lastUnban?.time).toBe('2026-12-05T01:11:00.000Z');
    expect(formatWhy(v6)).toMatch(/last unban: 2026-12-05T01:11:00\.000Z by uid 0 .* \(its \/64, 2001:db8:1::\)/);
    expect(formatWhy(buildWhy('192.0.2.9', null, [], [], [], 'knock', records))).not.toContain('last unban');
  });

  it('reads operator records out of the audit file, skipping knock events and cut lines', () => {
    const text = [
      '{"time":"2026-12-05T01:00:00Z","event":"open","services":["ssh"],"address":"192.0.2.3","family":4}',
      JSON.stringify(records[0]),
      '{"time":"2026-12-05T01:0',
      '',
    ].join('\n');
    expect(parseOperatorRecords(text)).toEqual([records[0]]);
  });
});
