// The audit file: one JSON line per open (or refused replay) in state_dir/audit.jsonl,
// mode 0600. Appended by the daemon, and by the operator's commands (audit/operator.ts,
// lines with "event":"operator", which parseAudit leaves out); read by `status` and
// `user list`. Never a secret.
// Bounded: past AUDIT_ROTATE_BYTES it becomes audit.jsonl.1 (replacing the one before),
// so the audit keeps the last 16–32 MiB (~100,000 events or more) without logrotate.
import { appendFile, chmod, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface AuditEvent {
  /** ISO 8601 time the daemon received the kernel's event. */
  time: string;
  /** forward: a new connection a grant let through to a forwarded service (gateway mode); ban: the brute-force cut-off banned an address (an unban is an operator record, audit/operator.ts). */
  event: 'open' | 'close' | 'toggle' | 'replay' | 'forward' | 'ban';
  /** The user whose sequence it was; undefined when the sequence is not known any more. */
  user?: string;
  /** Services opened (closed) by it. */
  services: string[];
  address: string;
  family: 4 | 6;
  window?: number;
  /** forward: where the connection went after any DNAT, "198.51.100.2:8080" or "[2001:db8:2::2]:8080". */
  destination?: string;
  /** Which secret: current (absent), a rotation's grace secret, or the authenticator-app code. */
  source?: 'grace' | 'code';
  /** With a fleet: this server's name in it (`fleet.server`), so that audits of many servers can be merged. */
  server?: string;
  /** With a fleet: the fleet's name. */
  fleet?: string;
  /** ban: when it ends (ISO 8601). */
  until?: string;
  /** ban: why (the ban setting it met). */
  reason?: string;
}

/** Events of access: opens, closes, toggles and forwarded connections (status's recent opens); not replays or bans. */
export const isAccessEvent = (ev: AuditEvent): boolean => ev.event !== 'replay' && ev.event !== 'ban';

export const AUDIT_FILE = 'audit.jsonl';
export const AUDIT_ROTATE_BYTES = 16 * 1024 * 1024;
export const auditFilePath = (stateDir: string): string => join(stateDir, AUDIT_FILE);
const previousAuditPath = (stateDir: string): string => `${auditFilePath(stateDir)}.1`;

export async function appendAudit(stateDir: string, ev: AuditEvent, rotateBytes = AUDIT_ROTATE_BYTES): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const file = auditFilePath(stateDir);
  await appendFile(file, `${JSON.stringify(ev)}\n`, { mode: 0o600 });
  await chmod(file, 0o600).catch(() => undefined);
  // Only the daemon appends, one event at a time: no other writer races the rename.
  if ((await stat(file)).size >= rotateBytes) await rename(file, previousAuditPath(stateDir));
}

/** Pure: the events in an audit file's text (damaged lines skipped), oldest first. */
export function parseAudit(text: string): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const ev = JSON.parse(line) as AuditEvent;
      // Operator records (audit/operator.ts) have a target, no address: they are not these events.
      if (typeof ev.time === 'string' && typeof ev.address === 'string' && (ev.event as string) !== 'operator')
        out.push(ev);
    } catch {
      // a line cut by a crash: skip it
    }
  }
  return out;
}

/** The last `limit` events of the audit (the file and the one it rotated to; none when neither exists). */
export async function readAudit(stateDir: string, limit = 1000): Promise<AuditEvent[]> {
  const read = (file: string): Promise<string> => readFile(file, 'utf8').catch(() => '');
  let all = parseAudit(await read(auditFilePath(stateDir)));
  if (all.length < limit) all = [...parseAudit(await read(previousAuditPath(stateDir))), ...all];
  return all.slice(Math.max(0, all.length - limit));
}

/**
 * Pure: each user's newest open: an open knock, or a toggle (which opens or closes; the
 * kernel does not say which). Closes and refused replays are not opens.
 */
export function lastOpens(events: readonly AuditEvent[]): Map<string, AuditEvent> {
  const out = new Map<string, AuditEvent>();
  for (const ev of events)
    if (ev.user !== undefined && (ev.event === 'open' || ev.event === 'toggle')) out.set(ev.user, ev);
  return out;
}
