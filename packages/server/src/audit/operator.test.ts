// Operator records: accepted, failed and refused actions each leave one line (issue #13 §4).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OtpknockError } from '@otpknock/shared';
import { audited, auditedCheck, refusedIfArgument, operatorRecord } from './operator.js';

let dir = '';
afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));
const lines = () =>
  readFileSync(join(dir, 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const refusal = () => new OtpknockError('E_ARGUMENT', 'user alice is defined in the config file /etc/x.yaml');

describe('operator records', () => {
  it('a refusal has result refused and the reason, no error', () => {
    const who = { uid: 0, pid: 1 };
    expect(operatorRecord(who, 'user remove', { target: 'alice', refused: refusal() })).toMatchObject({
      result: 'refused',
      reason: 'user alice is defined in the config file /etc/x.yaml.',
    });
    expect(operatorRecord(who, 'user remove', { target: 'alice', refused: refusal() })).not.toHaveProperty('error');
  });

  it('audited: an error `outcome` calls a refusal is recorded as refused (it was dropped before), others as failed', async () => {
    dir = mkdtempSync(join(tmpdir(), 'otpknock-operator-'));
    await expect(
      audited(dir, 'user disable', { target: 'alice' }, () => Promise.reject(refusal()), {
        outcome: refusedIfArgument,
      }),
    ).rejects.toThrow(/defined in the config file/);
    await expect(
      audited(dir, 'user disable', { target: 'bob' }, () => Promise.reject(new Error('EIO')), {
        outcome: refusedIfArgument,
      }),
    ).rejects.toThrow('EIO');
    await audited(dir, 'user disable', { target: 'carol' }, () => Promise.resolve(1), { outcome: refusedIfArgument });
    expect(lines().map((l) => [l['target'], l['result'], l['reason'] ?? l['error'] ?? null])).toEqual([
      ['alice', 'refused', 'user alice is defined in the config file /etc/x.yaml.'],
      ['bob', 'failed', 'EIO'],
      ['carol', 'ok', null],
    ]);
  });

  it('auditedCheck: the check passes silently, or its refusal is recorded and thrown on', async () => {
    dir = mkdtempSync(join(tmpdir(), 'otpknock-operator-'));
    expect(await auditedCheck(dir, 'open', { target: '192.0.2.9' }, () => 'fine')).toBe('fine');
    await expect(
      auditedCheck(dir, 'open', { target: '192.0.2.9', details: { services: ['smtp'] } }, () => {
        throw new OtpknockError('E_ARGUMENT', 'unknown service "smtp"');
      }),
    ).rejects.toThrow('unknown service');
    expect(lines()).toEqual([
      expect.objectContaining({
        event: 'operator',
        action: 'open',
        target: '192.0.2.9',
        details: { services: ['smtp'] },
        result: 'refused',
        reason: 'unknown service "smtp".',
      }),
    ]);
  });
});
