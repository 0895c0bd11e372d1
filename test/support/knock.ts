// Running the real client, `knock` (the built bundle, as users run it), in a namespace with a
// profile store of its own: one store per profile, since a lookup by address takes the first
// profile that matches.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSecret } from '@otpknock/shared';
import { NODE, REPO_ROOT, type ExecResult, type NsRef, type Topology } from '@otpknock/e2e-harness';
import { KNOCK } from './otpknockd.js';

/** Preload that shifts what one node process reads as the time (test/support/clock-shift.mjs). */
export const CLOCK_SHIFT = join(REPO_ROOT, 'test/support/clock-shift.mjs');

export interface KnockRunOptions {
  /** The namespace to run in (the client namespace by default). */
  ns?: NsRef;
  /** Added to the environment of the run. */
  env?: NodeJS.ProcessEnv;
  /** Node options before the bundle, e.g. ['--import', CLOCK_SHIFT]. */
  nodeArgs?: readonly string[];
}

export interface KnockProfile {
  /** The profile store (`knock --config STORE`). */
  store: string;
  /** Runs `knock --config STORE ...args`. */
  knock(args: string[], o?: KnockRunOptions): Promise<ExecResult>;
}

interface StoreOptions {
  /** The environment of every run (default: this process's). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** The namespace of every run unless a run names one (default: the client namespace). */
  ns?: NsRef;
}

function storeRunner(t: Topology, store: string, opts: StoreOptions): KnockProfile['knock'] {
  return (args, o = {}) =>
    t.exec(o.ns ?? opts.ns ?? 'client', [NODE, ...(o.nodeArgs ?? []), KNOCK, '--config', store, ...args], {
      env: { ...(opts.env ?? process.env), ...o.env },
      timeoutMs: opts.timeoutMs ?? 20_000,
    });
}

/**
 * Writes `secret` to a 0600 file in `dir` and adds the profile `name` with it to a store of its
 * own in `dir` (`knock add NAME --secret-file FILE ...addArgs`); throws when knock refuses.
 */
export async function knockProfile(
  t: Topology,
  dir: string,
  name: string,
  secret: Uint8Array,
  addArgs: readonly string[],
  opts: StoreOptions = {},
): Promise<KnockProfile> {
  const store = join(dir, `${name}.json`);
  const secretFile = join(dir, `${name}.key`);
  writeFileSync(secretFile, `${encodeSecret(secret)}\n`, { mode: 0o600 });
  chmodSync(secretFile, 0o600);
  const knock = storeRunner(t, store, opts);
  const added = await knock(['add', name, '--secret-file', secretFile, ...addArgs]);
  if (added.code !== 0) throw new Error(`knock add ${name} failed (exit ${added.code}): ${added.stderr}`);
  return { store, knock };
}

/**
 * Imports `uri` (what `otpknockd user add` or `user uri` printed) as the profile `name`, into
 * the store `dir/file.json`, as docs/knock.md shows: `knock import - --name NAME`, the URI on
 * stdin; throws when knock refuses.
 */
export async function knockImport(
  t: Topology,
  dir: string,
  file: string,
  name: string,
  uri: string,
  opts: StoreOptions = {},
): Promise<KnockProfile> {
  const store = join(dir, `${file}.json`);
  const knock = storeRunner(t, store, opts);
  const r = await t.exec(opts.ns ?? 'client', [NODE, KNOCK, '--config', store, 'import', '-', '--name', name], {
    env: opts.env ?? process.env,
    input: `${uri}\n`,
    timeoutMs: opts.timeoutMs ?? 20_000,
  });
  if (r.code !== 0) throw new Error(`knock import --name ${name} failed (exit ${r.code}): ${r.stderr}`);
  return { store, knock };
}
