import { describe, expect, it } from 'vitest';
import { chronyLeapStatus, clockFinding } from './clock.js';

const CHRONY = `Reference ID    : C0A80101 (192.168.1.1)
Stratum         : 3
Leap status     : Normal
`;

describe('clockFinding', () => {
  it('trusts chrony first', () => {
    expect(chronyLeapStatus(CHRONY)).toBe('Normal');
    expect(clockFinding({ chronyc: { output: CHRONY } }, '30 s')).toMatchObject({ severity: 'ok' });
    expect(clockFinding({ chronyc: { output: CHRONY.replace('Normal', 'Not synchronised') } }, '30 s')).toMatchObject({
      severity: 'problem',
      message: expect.stringMatching(/leap status Not synchronised/),
    });
  });

  it('uses timedatectl, then the timesyncd flag file', () => {
    expect(
      clockFinding({ chronyc: { error: 'not installed' }, timedatectl: { value: 'yes\n' } }, '30 s').severity,
    ).toBe('ok');
    expect(clockFinding({ timedatectl: { value: 'no' } }, '30 s')).toMatchObject({
      severity: 'problem',
      fix: expect.stringMatching(/set-ntp true/),
    });
    expect(clockFinding({ timedatectl: { error: 'x' }, timesyncdFlag: true }, '30 s').severity).toBe('ok');
  });

  it('says "unknown", why it matters and what it tried when nothing answers', () => {
    const f = clockFinding(
      {
        chronyc: { error: 'not installed' },
        timedatectl: { error: 'System has not been booted with systemd' },
        timesyncdFlag: false,
      },
      '30 s windows',
    );
    expect(f.severity).toBe('warning');
    expect(f.message).toMatch(/^synchronisation unknown/);
    expect(f.message).toMatch(/chronyc: not installed/);
    expect(f.message).toMatch(/30 s windows/);
    expect(f.fix).toMatch(/break_glass/);
  });
});
