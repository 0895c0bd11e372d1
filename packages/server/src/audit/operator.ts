// The operator's actions in the audit: who (uid, SUDO_USER, the login uid), what,
// when and with what result, one JSON line in state_dir/audit.jsonl next to the
// daemon's knock events. The most powerful actions — opening to an address, the
// mode, a config swap, a user's secret — must leave a trace. A record that cannot be
// written is a warning, never a failed action: an operator locked out by a full disk
// is the worse outcome.
import { appendFile, chmod, mkdir, readFile } from 'node:fs/promises';
import { OtpknockError } from '@otpknock/shared';
import { auditFilePath } from './audit-file.js';

/** The operator actions that are audited. */
export type OperatorAction =
  | 'open'
  | 'close'
  | 'mode'
  | 'apply'
  | 'confirm'
  | 'revert'
  | 'user add'
  | 'user remove'
  | 'user disable'
  | 'user enable'
  | 'user rotate'
  | 'unban';

/** Who ran it: the process's uid, and what sudo and the kernel's login uid say about the person behind it. */
export interface Operator {
  uid: number;
  /** $SUDO_USER and $SUDO_UID, when run through sudo. */
  sudoUser?: string;
  sudoUid?: number;
  /** /proc/self/loginuid: the uid of the login session (survives sudo and su), when set. */
  loginUid?: number;
  pid: number;
}

/** One audit line for an operator action (docs/operations.md, "The audit"). */
export interface OperatorRecord extends Operator {
  time: string;
  event: 'operator';
  action: OperatorAction;
  /** What it acted on: an address, a user name, a mode, a config file. */
  target?: string;
  /** The action's parameters (services, duration, previous mode, reason…); never a secret. */
  details?: Record<string, string | number | boolean | string[]>;
  /** ok; failed: it was tried and went wrong; refused: the command refused before it changed anything. */
  result: 'ok' | 'failed' | 'refused';
  /** Why it failed. */
  error?: string;
  /** Why it was refused (the message the operator saw). */
  reason?: string;
}

const UNSET_LOGIN_UID = 4294967295;

/** Who runs this process, from the environment and the kernel. */
export async function currentOperator(env: NodeJS.ProcessEnv = process.env): Promise<Operator> {
  const who: Operator = { uid: process.getuid?.() ?? -1, pid: process.pid };
  const sudoUser = env['SUDO_USER'];
  if (sudoUser !== undefined && sudoUser !== '') who.sudoUser = sudoUser.slice(0, 64);
  const sudoUid = Number(env['SUDO_UID']);
  if (env['SUDO_UID'] !== undefined && Number.isSafeInteger(sudoUid) && sudoUid >= 0) who.sudoUid = sudoUid;
  const login = Number((await readFile('/proc/self/loginuid', 'utf8').catch(() => '')).trim());
  if (Number.isSafeInteger(login) && login >= 0 && login !== UNSET_LOGIN_UID) who.loginUid = login;
  return who;
}

/** Pure: the audit line of an action. */
export function operatorRecord(
  who: Operator,
  action: OperatorAction,
  outcome: { target?: string; details?: OperatorRecord['details']; error?: unknown; refused?: unknown },
  now: Date = new Date(),
): OperatorRecord {
  const record: OperatorRecord = { time: now.toISOString(), event: 'operator', action, result: 'ok', ...who };
  if (outcome.target !== undefined) record.target = outcome.target;
  if (outcome.details !== undefined) record.details = outcome.details;
  if (outcome.error !== undefined) {
    record.result = 'failed';
    record.error = messageOf(outcome.error);
  } else if (outcome.refused !== undefined) {
    record.result = 'refused';
    record.reason = messageOf(outcome.refused);
  }
  return record;
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e)).slice(0, 500);

/**
 * Appends the record to state_dir/audit.jsonl (0600). Only the daemon rotates the file
 * (audit-file.ts): an operator's append never renames it. A failure is reported on
 * stderr and swallowed.
 */
export async function appendOperatorRecord(stateDir: string, record: OperatorRecord): Promise<void> {
  const file = auditFilePath(stateDir);
  try {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await appendFile(file, `${JSON.stringify(record)}\n`, { mode: 0o600 });
    await chmod(file, 0o600).catch(() => undefined);
  } catch (e) {
    process.stderr.write(
      `otpknockd: warning: ${record.action} was done, but its audit record could not be written to ${file}: ${(e as Error).message}\n`,
    );
  }
}

/**
 * Runs an operator action and audits it: `ok` with its target and details, `failed`
 * with the error, or `refused` with the reason when `outcome` says the error came
 * before anything was done (the error is thrown on either way). `describe` may fill
 * in details from the result.
 */
export async function audited<T>(
  stateDir: string,
  action: OperatorAction,
  what: { target?: string; details?: OperatorRecord['details'] },
  run: () => Promise<T>,
  opts: {
    describe?: (result: T) => OperatorRecord['details'];
    /**
     * What an error was (default failed): a failure of the action, a refusal before it
     * started, or (unrecorded) a refusal with no audit to go to.
     */
    outcome?: (error: unknown) => 'failed' | 'refused' | 'unrecorded';
  } = {},
): Promise<T> {
  const who = await currentOperator();
  try {
    const result = await run();
    const more = opts.describe?.(result);
    const details = more === undefined ? what.details : { ...what.details, ...more };
    await appendOperatorRecord(stateDir, operatorRecord(who, action, { ...what, ...(details ? { details } : {}) }));
    return result;
  } catch (error) {
    const outcome = opts.outcome?.(error) ?? 'failed';
    if (outcome !== 'unrecorded')
      await appendOperatorRecord(
        stateDir,
        operatorRecord(who, action, { ...what, ...(outcome === 'failed' ? { error } : { refused: error }) }),
      );
    throw error;
  }
}

/**
 * The checks an operator action makes before it acts (the user is in the store, the
 * service exists…): what `check` returns, or, when it throws, a `refused` record
 * with the reason and the error thrown on. Arguments that do not parse are usage
 * errors before any config is read, and have no state_dir to be recorded in.
 */
export async function auditedCheck<T>(
  stateDir: string,
  action: OperatorAction,
  what: { target?: string; details?: OperatorRecord['details'] },
  check: () => T | Promise<T>,
): Promise<T> {
  try {
    return await check();
  } catch (refused) {
    await appendOperatorRecord(stateDir, operatorRecord(await currentOperator(), action, { ...what, refused }));
    throw refused;
  }
}

/** Refused when the operator asked for what cannot be (no such user, the last user…): an OtpknockError of a bad argument. */
export const refusedIfArgument = (e: unknown): 'failed' | 'refused' =>
  e instanceof OtpknockError && e.code === 'E_ARGUMENT' ? 'refused' : 'failed';

/** Pure: the operator records in an audit file's text (other events and damaged lines skipped), oldest first. */
export function parseOperatorRecords(text: string): OperatorRecord[] {
  const out: OperatorRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"operator"')) continue;
    try {
      const r = JSON.parse(line) as OperatorRecord;
      if (r.event === 'operator' && typeof r.time === 'string' && typeof r.action === 'string') out.push(r);
    } catch {
      // a line cut by a crash: skip it
    }
  }
  return out;
}

/** The operator records of the audit (the file and the one it rotated to), oldest first. */
export async function readOperatorRecords(stateDir: string): Promise<OperatorRecord[]> {
  const read = (file: string): Promise<string> => readFile(file, 'utf8').catch(() => '');
  const file = auditFilePath(stateDir);
  return [...parseOperatorRecords(await read(`${file}.1`)), ...parseOperatorRecords(await read(file))];
}

/** Who ran an operator action, as a person reads it: "uid 0 (sudo alice, uid 1000; login uid 1000)". */
export function operatorText(r: Operator): string {
  const more = [
    ...(r.sudoUser === undefined ? [] : [`sudo ${r.sudoUser}${r.sudoUid === undefined ? '' : `, uid ${r.sudoUid}`}`]),
    ...(r.loginUid === undefined ? [] : [`login uid ${r.loginUid}`]),
  ];
  return `uid ${r.uid}${more.length > 0 ? ` (${more.join('; ')})` : ''}`;
}
