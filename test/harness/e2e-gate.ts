// Decides once per process whether end-to-end tests can run here. Without root, nft or
// namespaces they skip with a loud reason; with OTPKNOCK_E2E=required (CI) they fail,
// so a machine that silently cannot run them never looks green.
import { randomBytes } from 'node:crypto';
import { describe, it } from 'vitest';
import { runSync } from './proc.js';

export interface E2eGate {
  ok: boolean;
  /** Why e2e cannot run (empty when ok). */
  reason: string;
  /** OTPKNOCK_E2E=required: a skip must be a failure. */
  required: boolean;
}

let cached: E2eGate | undefined;

function check(): string {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0)
    return `needs root for network namespaces and nftables (uid is ${process.getuid?.()}); run as root or in CI`;
  const ipV = runSync(['ip', '-V'], 5_000);
  if (ipV.code !== 0) return `\`ip\` not found or not working (install iproute2): ${ipV.stderr.trim()}`;
  const nftV = runSync(['nft', '--version'], 5_000);
  if (nftV.code !== 0) return `\`nft\` not found or not working (install nftables): ${nftV.stderr.trim()}`;
  // Actually make a namespace and use nft in it: proves CAP_SYS_ADMIN, /run/netns and nf_tables.
  const ns = `okt${randomBytes(3).toString('hex')}p${process.pid}-gate`; // swept if we die here
  const add = runSync(['ip', 'netns', 'add', ns], 5_000);
  if (add.code !== 0) return `\`ip netns add\` failed: ${add.stderr.trim()}`;
  try {
    const list = runSync(['ip', 'netns', 'exec', ns, 'nft', 'list', 'ruleset'], 5_000);
    if (list.code !== 0)
      return `nft does not work inside a network namespace (kernel without nf_tables?): ${list.stderr.trim()}`;
  } finally {
    runSync(['ip', 'netns', 'del', ns], 5_000);
  }
  return '';
}

/** Whether e2e can run; computed once per process (costs one throw-away namespace). */
export function e2eGate(): E2eGate {
  if (!cached) {
    const reason = check();
    cached = { ok: reason === '', reason, required: process.env.OTPKNOCK_E2E === 'required' };
  }
  return cached;
}

/**
 * describe() for end-to-end suites. Runs fn when e2e can run; otherwise skips with a loud
 * warning, or — when OTPKNOCK_E2E=required — registers one failing test that says why.
 */
export function describeE2E(name: string, fn: () => void): void {
  const gate = e2eGate();
  if (gate.ok) {
    describe(name, fn);
  } else if (gate.required) {
    describe(name, () => {
      it('end-to-end prerequisites', () => {
        throw new Error(`OTPKNOCK_E2E=required but e2e cannot run: ${gate.reason}`);
      });
    });
  } else {
    console.warn(
      `\n!!! SKIPPING end-to-end suite "${name}": ${gate.reason}\n!!! (set OTPKNOCK_E2E=required to make this a failure)\n`,
    );
    describe.skip(name, fn);
  }
}
