import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendAudit, auditFilePath, lastOpens, parseAudit, readAudit, type AuditEvent } from './audit-file.js';
import { appendOperatorRecord, operatorRecord } from './operator.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'otpknock-audit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ev = (i: number): AuditEvent => ({
  time: new Date(Date.UTC(2026, 10, 26, 4, 0, i)).toISOString(),
  event: 'open',
  user: `u${i}`,
  services: ['ssh'],
  address: '192.0.2.2',
  family: 4,
});

describe('the audit file', () => {
  it('appends one line per event, mode 0600, and reads the newest back', async () => {
    for (let i = 0; i < 5; i++) await appendAudit(dir, ev(i));
    expect(statSync(auditFilePath(dir)).mode & 0o777).toBe(0o600);
    expect(readFileSync(auditFilePath(dir), 'utf8').trim().split('\n')).toHaveLength(5);
    expect((await readAudit(dir, 3)).map((e) => e.user)).toEqual(['u2', 'u3', 'u4']);
  });

  it('stays bounded: past the limit the file moves to .1 (replacing the one before), and reads span both', async () => {
    const line = `${JSON.stringify(ev(0))}\n`.length;
    const rotateBytes = line * 4; // rotates after every 4th event
    for (let i = 0; i < 10; i++) await appendAudit(dir, ev(i), rotateBytes);
    // u0–u3 went to .1, then u4–u7 replaced them; u8, u9 are in the file
    expect(
      readFileSync(`${auditFilePath(dir)}.1`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditEvent).user),
    ).toEqual(['u4', 'u5', 'u6', 'u7']);
    expect((await readAudit(dir, 3)).map((e) => e.user)).toEqual(['u7', 'u8', 'u9']);
    expect((await readAudit(dir, 100)).map((e) => e.user)).toEqual(['u4', 'u5', 'u6', 'u7', 'u8', 'u9']);
  });

  it('reads nothing, without an error, when there is no audit yet', async () => {
    expect(await readAudit(join(dir, 'missing'))).toEqual([]);
  });

  it("user list's LAST OPEN: the newest open (or toggle), never a close or a refused replay", () => {
    const at = (i: number, event: AuditEvent['event'], user = 'alice'): AuditEvent => ({ ...ev(i), event, user });
    const opens = lastOpens([
      at(1, 'open'),
      at(2, 'close'),
      at(3, 'replay'),
      at(4, 'toggle', 'bob'),
      at(5, 'close', 'bob'),
    ]);
    expect(opens.get('alice')?.time).toBe(ev(1).time);
    expect(opens.get('bob')).toMatchObject({ event: 'toggle', time: ev(4).time });
    expect(lastOpens([at(1, 'close')]).has('alice')).toBe(false);
  });

  it('operator records share the file, and the knock readers leave them out', async () => {
    await appendAudit(dir, ev(1));
    const who = { uid: 0, sudoUser: 'alice', sudoUid: 1000, pid: 42 };
    await appendOperatorRecord(
      dir,
      operatorRecord(who, 'open', { target: '192.0.2.10', details: { services: ['ssh'] } }),
    );
    await appendOperatorRecord(dir, operatorRecord(who, 'mode', { target: 'closed', error: new Error('nft failed') }));
    const lines = readFileSync(auditFilePath(dir), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[1]).toMatchObject({
      event: 'operator',
      action: 'open',
      target: '192.0.2.10',
      result: 'ok',
      uid: 0,
      sudoUser: 'alice',
      sudoUid: 1000,
    });
    expect(lines[2]).toMatchObject({ action: 'mode', result: 'failed', error: 'nft failed' });
    expect(parseAudit(readFileSync(auditFilePath(dir), 'utf8'))).toEqual([ev(1)]);
    // Every event the daemon writes is still read, whatever its kind (gateway mode's forward).
    const forward: AuditEvent = { ...ev(2), event: 'forward', destination: '198.51.100.2:8080' };
    await appendAudit(dir, forward);
    expect(parseAudit(readFileSync(auditFilePath(dir), 'utf8'))).toEqual([ev(1), forward]);
    expect(statSync(auditFilePath(dir)).mode & 0o777).toBe(0o600);
  });

  it("reads the gateway's forward events (a forwarded connection and where it went) with the knocks", async () => {
    const forward: AuditEvent = {
      time: '2026-12-04T00:00:01.000Z',
      event: 'forward',
      services: ['nas'],
      address: '192.0.2.2',
      family: 4,
      destination: '198.51.100.2:8080',
    };
    await appendAudit(dir, ev(1));
    await appendAudit(dir, forward);
    expect(await readAudit(dir)).toEqual([ev(1), forward]);
  });
});
