import { describe, expect, it } from 'vitest';
import { causeOf, diagnose, usedUpMessage, type FailedKnock } from './diagnose.js';
import { EXIT } from './errors.js';

const failed = (o: Partial<FailedKnock>): FailedKnock => ({
  host: 'gw',
  address: '192.0.2.1',
  port: 22,
  knocks: 2,
  elapsedMs: 6100,
  after: [],
  ...o,
});

describe('why a knock did not open', () => {
  it.each([
    [{ before: 'silent', after: [] }, 'silent'],
    [{ before: 'ECONNREFUSED', after: ['ECONNREFUSED'] }, 'refused-before'],
    [{ before: 'silent', after: ['ECONNREFUSED'] }, 'refused-after'],
    [{ before: 'EHOSTUNREACH', after: ['EHOSTUNREACH'] }, 'unreachable'],
    [{ before: 'silent', after: ['EHOSTUNREACH', 'ECONNREFUSED'] }, 'unreachable'],
    [{ after: ['ENETUNREACH'] }, 'no-route'],
    [{ before: 'EPERM', after: [] }, 'blocked'],
    [{ after: [] }, 'silent'],
  ] as const)('%j: %s', (observed, cause) => {
    expect(causeOf(observed)).toBe(cause);
  });

  it('silence: exit 1, names what only the server sees and the command to ask it, with the address', () => {
    const d = diagnose(
      failed({ before: 'silent', localAddress: '192.0.2.2', nowMs: Date.UTC(2026, 11, 4, 23, 0, 1, 250) }),
    );
    expect(d.message).toContain('(it says 2026-12-04T23:00:01Z; compare: date -u on the server)');
    expect(d.exitCode).toBe(EXIT.NOT_OPEN);
    expect(d.message).toMatch(/^gw \(192\.0\.2\.1\) port 22: no answer after 2 knocks, 6\.1 s/);
    for (const cause of [/clock/, /profile/, /since rotated/, /already used/, /banned/, /mode closed/, /disabled/])
      expect(d.message).toMatch(cause);
    expect(d.message).toContain('sudo otpknockd why 192.0.2.2');
  });

  it('silence after datagrams sent far apart: says the spacing it used, which a short step_timeout forgets', () => {
    const slow = diagnose(failed({ before: 'silent', delayMs: 500 }));
    expect(slow.message).toMatch(
      /This knock sent its datagrams 500 ms apart \(--delay\): a server whose step_timeout is shorter/,
    );
    // below the shortest step_timeout a server accepts, the spacing cannot be the cause: not said
    expect(diagnose(failed({ before: 'silent', delayMs: 5 })).message).not.toMatch(/apart/);
  });

  it('a reset before the knock: exit 4, the port is not guarded by otpknockd', () => {
    const d = diagnose(failed({ before: 'ECONNREFUSED', after: ['ECONNREFUSED'] }));
    expect(d.exitCode).toBe(EXIT.REFUSED);
    expect(d.message).toMatch(/refused before the knock as after it/);
    expect(d.message).toMatch(/not guarded by otpknockd/);
  });

  it('a reset only after the knock: exit 4, the knock was let in and nothing listens', () => {
    const d = diagnose(failed({ before: 'silent', after: ['ECONNREFUSED'] }));
    expect(d.exitCode).toBe(EXIT.REFUSED);
    expect(d.message).toMatch(/knock was let in, but nothing accepts connections on port 22/);
  });

  it('ICMP unreachable, no route, a local firewall: exit 3, nothing reached the server', () => {
    expect(diagnose(failed({ after: ['EHOSTUNREACH'] }))).toMatchObject({
      exitCode: EXIT.NETWORK,
      message: expect.stringMatching(/host unreachable/),
    });
    expect(diagnose(failed({ after: ['ENETUNREACH'] }))).toMatchObject({
      exitCode: EXIT.NETWORK,
      message: expect.stringMatching(/no route to 192\.0\.2\.1/),
    });
    expect(diagnose(failed({ before: 'EACCES' }))).toMatchObject({
      exitCode: EXIT.NETWORK,
      message: expect.stringMatching(/own firewall/),
    });
  });

  it('the windows used up: when to knock again', () => {
    const m = usedUpMessage('gw', Date.UTC(2026, 0, 1, 12, 0, 30), Date.UTC(2026, 0, 1, 12, 0, 10, 500));
    expect(m).toMatch(/accepted from 2026-01-01T12:00:30Z \(in 19\.5 s\): knock again then/);
    expect(usedUpMessage('gw', 0, 0, '192.0.2.2')).toContain('sudo otpknockd why 192.0.2.2');
  });
});
