// state_dir/consumed.json: the one-time sequences the kernel has consumed, each
// with the wall-clock instant until which it must stay refused. The kernel's
// `used` set forgets them with the table (a clean stop, a reboot); this file
// carries them into the next start, so a sniffed knock never opens twice while
// its window is valid. Known by their ports, like the carry-over of a full load.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@otpknock/shared/safe-file';

export const CONSUMED_FILE = 'consumed.json';

/** A consumed sequence and the Unix ms until which it stays refused. */
export interface ConsumedRecord {
  ports: number[];
  untilMs: number;
}

const isPort = (p: unknown): p is number => Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65535;

/** Pure: the file's text → the records still in force at `nowMs`; anything malformed is left out. */
export function parseConsumed(text: string, nowMs: number): ConsumedRecord[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  const list = (doc as { consumed?: unknown } | null)?.consumed;
  if (!Array.isArray(list)) return [];
  const out: ConsumedRecord[] = [];
  for (const r of list as { ports?: unknown; until_ms?: unknown }[]) {
    if (!Array.isArray(r?.ports) || r.ports.length === 0 || !r.ports.every(isPort)) continue;
    if (typeof r.until_ms !== 'number' || !(r.until_ms > nowMs)) continue;
    out.push({ ports: r.ports, untilMs: r.until_ms });
  }
  return out;
}

/** Pure: records → the file's text (version 1). */
export function formatConsumed(records: readonly ConsumedRecord[]): string {
  const consumed = records.map((r) => ({ ports: r.ports, until_ms: Math.round(r.untilMs) }));
  return `${JSON.stringify({ version: 1, consumed })}\n`;
}

/** The records in force now; none when the file is missing or unreadable (then `onError` hears why). */
export async function readConsumed(
  stateDir: string,
  nowMs: number,
  onError?: (msg: string) => void,
): Promise<ConsumedRecord[]> {
  const file = join(stateDir, CONSUMED_FILE);
  try {
    return parseConsumed(await readFile(file, 'utf8'), nowMs);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') onError?.(`cannot read ${file}: ${(e as Error).message}`);
    return [];
  }
}

/** Replaces the file atomically and durably (0600; see @otpknock/shared/safe-file). */
export async function writeConsumed(stateDir: string, records: readonly ConsumedRecord[]): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(stateDir, CONSUMED_FILE), formatConsumed(records));
}
