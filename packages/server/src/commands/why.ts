// `otpknockd why ADDR`: what the daemon saw from one address and why its knocks
// failed. Like `status`, it reads the kernel table directly (ban, grants) and
// the state the daemon keeps in state_dir (refusals.json, audit.jsonl).
import type { Command } from 'commander';
import { readAudit, type AuditEvent } from '../audit/audit-file.js';
import { operatorText, readOperatorRecords, type Operator, type OperatorRecord } from '../audit/operator.js';
import { loadConfig } from '../config/index.js';
import { readMode, type ServiceMode } from '../mode.js';
import { bannedFromJson } from '../nft/ban.js';
import { NftDriver } from '../nft/driver.js';
import { allowedFromJson } from '../nft/inspect.js';
import { banKeyOf, type BanRecord, type SourceRecord } from '../refusals/book.js';
import { readRefusals, timeLeft } from '../refusals/file.js';
import { parseAddress } from './manual.js';
import { DEFAULT_CONFIG } from './common.js';

export interface WhyReport {
  address: string;
  family: 4 | 6;
  /** What a ban of this address is keyed by: itself, or its /64 (IPv6). */
  banKey: string;
  loaded: boolean;
  mode: ServiceMode;
  /** Banned right now: time left, and the ban the daemon saw imposed (when it did). */
  banned: { remainingMs: number; ban?: BanRecord } | null;
  grants: { service: string; remainingMs: number }[];
  /** The refused knocks the daemon recorded from it, and their explanation. */
  refusals: SourceRecord | null;
  /** The audit's last events for it (opens, replays, bans). */
  events: AuditEvent[];
  /** The last time an operator lifted a ban of it (otpknockd unban): when and who; null when never (in the audit). */
  lastUnban: LastUnban | null;
}

export interface LastUnban extends Operator {
  time: string;
  /** The time its ban had left. */
  leftMs?: number;
}

/** Pure: the newest successful unban of `banKey` among the operator records. */
export function lastUnbanOf(records: readonly OperatorRecord[], banKey: string): LastUnban | null {
  const r = records.filter((x) => x.action === 'unban' && x.result === 'ok' && x.details?.['banned'] === banKey).at(-1);
  if (r === undefined) return null;
  const left = r.details?.['leftMs'];
  return {
    time: r.time,
    uid: r.uid,
    pid: r.pid,
    ...(r.sudoUser === undefined ? {} : { sudoUser: r.sudoUser }),
    ...(r.sudoUid === undefined ? {} : { sudoUid: r.sudoUid }),
    ...(r.loginUid === undefined ? {} : { loginUid: r.loginUid }),
    ...(typeof left === 'number' ? { leftMs: left } : {}),
  };
}

/** Pure: the report from the kernel's listing, refusals.json's record and the audit. */
export function buildWhy(
  text: string,
  doc: unknown,
  sources: readonly SourceRecord[],
  bans: readonly BanRecord[],
  audit: readonly AuditEvent[],
  mode: ServiceMode,
  operators: readonly OperatorRecord[] = [],
): WhyReport {
  const { address, family } = parseAddress(text);
  const banKey = banKeyOf(address, family);
  const kernelBan =
    doc === null ? undefined : bannedFromJson(doc).find((b) => b.family === family && b.address === banKey);
  const ban = bans.find((b) => b.address === banKey);
  return {
    address,
    family,
    banKey,
    loaded: doc !== null,
    mode,
    banned: kernelBan === undefined ? null : { remainingMs: kernelBan.remainingMs, ...(ban ? { ban } : {}) },
    grants:
      doc === null
        ? []
        : allowedFromJson(doc)
            .filter((g) => g.family === family && g.address === address)
            .map((g) => ({ service: g.service, remainingMs: g.remainingMs })),
    refusals: sources.find((s) => s.address === address) ?? null,
    events: audit.filter((e) => e.address === address || e.address === banKey).slice(-10),
    lastUnban: lastUnbanOf(operators, banKey),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function formatWhy(r: WhyReport, nowMs = Date.now()): string {
  const lines = [`${r.address}:`];
  if (!r.loaded)
    lines.push('  table: NOT loaded (otpknockd is not running): nothing is refused or let in by otpknock now');
  if (r.mode !== 'knock') lines.push(`  mode: ${r.mode} (every knock is ignored while it is not "knock")`);
  if (r.banned === null) lines.push('  banned: no');
  else {
    const b = r.banned.ban;
    const since = b ? `, since ${iso(b.atMs)}${b.source !== r.banKey ? ` (from ${b.source})` : ''}` : '';
    lines.push(
      `  banned: yes${r.banKey !== r.address ? ` (its /64, ${r.banKey})` : ''}, ${timeLeft(r.banned.remainingMs)} left${since}: too many bad knocks; "otpknockd unban ${r.banKey}" lifts it`,
    );
  }
  const u = r.lastUnban;
  if (u !== null)
    lines.push(
      `  last unban: ${u.time} by ${operatorText(u)}${u.leftMs === undefined ? '' : `, with ${timeLeft(u.leftMs)} of the ban left`}${r.banKey === r.address ? '' : ` (its /64, ${r.banKey})`}`,
    );
  lines.push(
    r.grants.length === 0
      ? '  grants: none'
      : `  grants: ${r.grants.map((g) => `${g.service} (${timeLeft(g.remainingMs)} left)`).join(', ')}`,
  );
  const s = r.refusals;
  if (s === null)
    lines.push('  refused knocks: none recorded (the daemon keeps the last hour of the most recent sources)');
  else {
    const recent = s.recent
      .slice(-12)
      .map((p) => `${p.kind}${p.port === undefined ? '' : ` ${p.port}`}`)
      .join(', ');
    lines.push(
      `  refused knocks: ${s.refused} logged since ${iso(s.firstMs)}, the last ${timeLeft(nowMs - s.lastMs)} ago (${iso(s.lastMs)})`,
    );
    lines.push(`  last ones: ${recent}`);
    if (s.explanation)
      lines.push(
        `  why (${s.explanation.cause}${s.explanation.user ? `, ${s.explanation.user}` : ''}): ${s.explanation.text}`,
      );
    else lines.push('  why: not worked out yet (the daemon explains a source once it has been quiet for a moment)');
  }
  if (r.events.length > 0) {
    lines.push('  audit:');
    for (const e of r.events)
      lines.push(
        `    ${e.time}  ${e.event}${e.services.length > 0 ? ` ${e.services.join(',')}` : ''}${e.user ? ` (${e.user})` : ''}${e.reason ? `: ${e.reason}` : ''}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

export function registerWhy(program: Command): void {
  program
    .command('why')
    .description(
      'Say what the daemon saw from one address: its refused knocks and why they failed, whether it is banned, whether it holds a grant.',
    )
    .argument('<addr>', 'the IPv4 or IPv6 address a knock came from')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
The kernel logs refused knocks (a few a second per source at most) to the
daemon, which works out why each source's knock failed: the sequence of another
window (the client's clock), of another profile (exclusions), a used sequence
(replay), a banned source, mode closed, a disabled or removed user, an old
secret. The explanation is there a moment after the failed knock (about half a
second); the daemon keeps the last hour of the most recent sources. The last
unban of the address (otpknockd unban: when, by whom) comes from the audit.

Examples:
  otpknockd why 192.0.2.2
  otpknockd why 2001:db8::2 --json

Exit status: 0 reported (also when nothing is known of the address); 1 the
config or the table cannot be read; 2 not an address.`,
    )
    .action(async (addr: string, o: { config: string; json?: boolean }) => {
      parseAddress(addr); // a bad address is a usage error before anything is read
      const config = await loadConfig(o.config, { allowNoUsers: true });
      const doc = await new NftDriver().listJson(['table', 'inet', config.table]);
      const file = await readRefusals(config.stateDir);
      const report = buildWhy(
        addr,
        doc,
        file?.sources ?? [],
        file?.bans ?? [],
        await readAudit(config.stateDir, 1000),
        readMode(config.stateDir),
        await readOperatorRecords(config.stateDir),
      );
      process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatWhy(report));
    });
}
