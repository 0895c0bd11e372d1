// Measurement 6 (see bench/peers.ts), otpknock only: the rotation and per-packet figures of
// bench/server.ts, run as it is.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Machine } from '../lib/machine.js';
import { NODE, REPO, RESULTS_DIR, log } from './params.js';

export interface ServerFigures {
  source: string;
  date: string | null;
  rotationMs: Map<number, number[]>;
  /** Δ system µs per junk packet against no table, by users (median of bursts). */
  perPacketUs: Map<number, number>;
  error?: string;
}

/**
 * Runs bench/server.ts unchanged, from a copy in a temp directory whose `packages` and
 * `bench/lib` link back to this checkout, so it writes its results there instead of over
 * the committed bench/results/server.* (another bench's files). Falls back to the checkout's
 * bench/results/server.json when it fails, or at once with --reuse-server-results.
 */
export function runServerBench(reuse: boolean): ServerFigures {
  const committed = join(RESULTS_DIR, 'server.json');
  let jsonPath = committed;
  let source = 'bench/results/server.json as it is in this checkout';
  let error: string | undefined;
  let tmp: string | undefined;
  if (!reuse) {
    tmp = mkdtempSync(join(tmpdir(), 'okb-server-'));
    try {
      mkdirSync(join(tmp, 'bench'));
      copyFileSync(join(REPO, 'bench/server.ts'), join(tmp, 'bench/server.ts'));
      symlinkSync(join(REPO, 'bench/lib'), join(tmp, 'bench/lib'));
      symlinkSync(join(REPO, 'packages'), join(tmp, 'packages'));
      symlinkSync(join(REPO, 'node_modules'), join(tmp, 'node_modules'));
      // ESM like the repository (without it tsx would load the copy as CommonJS).
      writeFileSync(join(tmp, 'package.json'), '{ "private": true, "type": "module" }\n');
      log('running bench/server.ts (about 2 minutes)');
      const r = spawnSync(NODE, ['--conditions=source', '--import', 'tsx', join(tmp, 'bench/server.ts')], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 330_000, // keeps the whole bench under 10 minutes; on timeout: the fallback
        killSignal: 'SIGKILL',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      if (r.status === 0 && existsSync(join(tmp, 'bench/results/server.json'))) {
        jsonPath = join(tmp, 'bench/results/server.json');
        source = 'bench/server.ts, run by this bench';
      } else
        error = `bench/server.ts failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}); its figures are the checkout's bench/results/server.json`;
    } catch (e) {
      error = `could not run bench/server.ts: ${(e as Error).message}`;
    }
  }
  const out: ServerFigures = { source, date: null, rotationMs: new Map(), perPacketUs: new Map(), error };
  try {
    const j = JSON.parse(readFileSync(jsonPath, 'utf8')) as {
      machine?: Machine;
      users?: { users: number; rotations?: { nftMs: number }[] }[];
      packets?: { key: string; sysUsPerPacket?: number }[];
    };
    out.date = j.machine?.date ?? null;
    for (const u of j.users ?? [])
      out.rotationMs.set(
        u.users,
        (u.rotations ?? []).map((r) => r.nftMs),
      );
    const none = j.packets?.find((p) => p.key === 'none')?.sysUsPerPacket;
    for (const p of j.packets ?? []) {
      const m = /^users(\d+)$/.exec(p.key);
      if (m && none !== undefined && p.sysUsPerPacket !== undefined)
        out.perPacketUs.set(Number(m[1]), p.sysUsPerPacket - none);
    }
  } catch (e) {
    out.error = `${out.error ? `${out.error}; ` : ''}no server figures: ${(e as Error).message}`;
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  return out;
}
