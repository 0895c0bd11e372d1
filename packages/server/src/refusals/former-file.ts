// state_dir/former-secrets.json: the secrets of removed users and replaced secrets
// (refusals/former.ts), kept over a restart so that a knock with one of them is still
// explained. It holds secret material, so it is kept like the user store's records:
// 0600, written atomically, read only when private (owned by root or the daemon's
// user, no group or world bits); a loose or damaged file is ignored and said.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeSecret, encodeSecret, type KnockProfile } from '@otpknock/shared';
import {
  octalMode,
  privateFileProblem,
  privateOwners,
  readFileInfo,
  writeFileAtomic,
} from '@otpknock/shared/safe-file';
import type { FormerSecret } from './explain.js';

export const FORMER_FILE = 'former-secrets.json';
/** Far above what MAX_FORMER entries take, unless their profiles hold huge exclude lists. */
export const FORMER_FILE_MAX_BYTES = 8 * 1024 * 1024;

interface FileEntry {
  user: string;
  /** base32, as in the user store. */
  secret: string;
  profile: KnockProfile;
  reason: FormerSecret['reason'];
  sinceMs: number;
}

/** Pure: the file's text for `list`. */
export function formerFileText(list: readonly FormerSecret[]): string {
  const entries: FileEntry[] = list.map((f) => ({
    user: f.user,
    secret: encodeSecret(f.secret),
    profile: f.profile,
    reason: f.reason,
    sinceMs: f.sinceMs,
  }));
  return `${JSON.stringify({ version: 1, entries })}\n`;
}

/** Pure: the entries of the file's text (damaged entries left out), or a problem. */
export function parseFormerFile(text: string): FormerSecret[] | { problem: string } {
  let doc: { version?: unknown; entries?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (e) {
    return { problem: `not JSON (${(e as Error).message})` };
  }
  if (doc?.version !== 1 || !Array.isArray(doc.entries)) return { problem: 'not a version 1 file' };
  const out: FormerSecret[] = [];
  for (const e of doc.entries as Partial<FileEntry>[]) {
    if (typeof e?.user !== 'string' || typeof e.secret !== 'string' || typeof e.sinceMs !== 'number') continue;
    if (e.reason !== 'removed' && e.reason !== 'replaced' && e.reason !== 'grace-ended') continue;
    if (typeof e.profile !== 'object' || e.profile === null) continue;
    try {
      out.push({
        user: e.user,
        secret: decodeSecret(e.secret),
        profile: e.profile,
        reason: e.reason,
        sinceMs: e.sinceMs,
      });
    } catch {
      // a damaged secret: leave the entry out
    }
  }
  return out;
}

/** The kept list, or none when there is no file or it cannot be trusted (`onProblem` says why). */
export async function readFormerSecrets(
  stateDir: string,
  daemonUid: number,
  onProblem: (message: string) => void,
): Promise<FormerSecret[]> {
  const file = join(stateDir, FORMER_FILE);
  let info;
  try {
    info = await readFileInfo(file, FORMER_FILE_MAX_BYTES);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') onProblem(`cannot read ${file}: ${(e as Error).message}`);
    return [];
  }
  const problem = privateFileProblem(info, { owners: privateOwners(daemonUid), maxBytes: FORMER_FILE_MAX_BYTES });
  if (problem !== undefined) {
    const why =
      problem.kind === 'mode'
        ? `its mode is ${octalMode(problem.mode)}: it holds secrets, so only 0600 (or stricter) is read`
        : problem.kind === 'owner'
          ? `it is owned by uid ${problem.uid}, not by root or the daemon's user`
          : problem.kind === 'size'
            ? `it is larger than ${FORMER_FILE_MAX_BYTES} bytes`
            : 'it is not a regular file';
    onProblem(`${file} is ignored: ${why}; removed users and replaced secrets are explained from now on only`);
    return [];
  }
  const parsed = parseFormerFile(info.text!);
  if ('problem' in parsed) {
    onProblem(`${file} is ignored: ${parsed.problem}`);
    return [];
  }
  return parsed;
}

export async function writeFormerSecrets(stateDir: string, list: readonly FormerSecret[]): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(stateDir, FORMER_FILE), formerFileText(list), { mode: 0o600 });
}
