// Running the real client, `knock` (the built bundle, as users run it), in a namespace with a
// profile store of its own: one store per profile, since a lookup by address takes the first
// profile that matches.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSecret } from '@otpknock/shared';
import { NODE, type ExecResult, type NsRef, type Topology } from '@otpknock/e2e-harness';
import { KNOCK } from './otpknockd.js';

export interface KnockProfile {
  /** The profile store (`knock --config STORE`). */
  store: string;
  /** Runs `knock --config STORE ...args` in `ns` (the client namespace by default), with `env` added. */
  knock(args: string[], o?: { ns?: NsRef; env?: NodeJS.ProcessEnv }): Promise<ExecResult>;
}

/**
 * Writes `secret` to a 0600 file in `dir` and adds the profile `name` with it to a store of its
 * own in `dir` (`knock add NAME --secret-file FILE ...addArgs`); throws when knock refuses.
 * `opts.env` is the environment of every run (default: this process's).
 */
export async function knockProfile(
  t: Topology,
  dir: string,
  name: string,
  secret: Uint8Array,
  addArgs: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<KnockProfile> {
  const store = join(dir, `${name}.json`);
  const secretFile = join(dir, `${name}.key`);
  writeFileSync(secretFile, `${encodeSecret(secret)}\n`, { mode: 0o600 });
  chmodSync(secretFile, 0o600);
  const knock: KnockProfile['knock'] = (args, o = {}) =>
    t.exec(o.ns ?? 'client', [NODE, KNOCK, '--config', store, ...args], {
      env: { ...(opts.env ?? process.env), ...o.env },
      timeoutMs: opts.timeoutMs ?? 20_000,
    });
  const added = await knock(['add', name, '--secret-file', secretFile, ...addArgs]);
  if (added.code !== 0) throw new Error(`knock add ${name} failed (exit ${added.code}): ${added.stderr}`);
  return { store, knock };
}
