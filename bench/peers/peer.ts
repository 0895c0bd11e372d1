// What each program under test (otpknock, knockd, fwknop) provides to the phases, the run's
// context, and the helpers their setups share.
import { chmodSync, writeFileSync } from 'node:fs';
import type { NsProcess } from '@otpknock/e2e-harness';
import type { BenchNet } from '../lib/netns.js';
import { sleep } from './params.js';

export type PeerKey = 'otpknock' | 'knockd' | 'fwknop';

export interface Peer {
  key: PeerKey;
  label: string;
  role: string;
  server: string;
  client: string;
  eve: string;
  serverIf: string;
  daemon: NsProcess;
  /** argv of the client for the n-th knock (otpknock: one user per knock). */
  clientArgv(n: number): string[];
  env: Record<string, string>;
  /** Takes the client's address out of the allowed state, so the next knock starts closed. */
  reset(): Promise<void>;
  junk: { ports: number[]; payload: 'zeros' | 'base64'; payloadBytes: number; what: string };
  settings: string[];
}

export interface Ctx {
  net: BenchNet;
  dir: string;
  env: Record<string, string>;
}

export async function check(net: BenchNet, role: string, argv: string[], timeoutMs = 10_000): Promise<string> {
  const r = await net.exec(role, argv, { timeoutMs });
  if (r.code !== 0)
    throw new Error(
      `${argv.join(' ')} in ${role} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 1500)}`,
    );
  return r.stdout;
}

export async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await fn()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}
