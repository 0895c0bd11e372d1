// For the generator's tests: the programs they run that a machine may lack.
import { spawnSync } from 'node:child_process';

/** A tool a test needs: missing, its tests skip loudly; in CI (OTPKNOCK_E2E=required) that fails. */
export function tool(name: string, why: string): boolean {
  if (spawnSync('sh', ['-c', `command -v ${name}`]).status === 0) return true;
  const message = `${name} is not installed: ${why} is not checked (bash scripts/setup.sh installs it)`;
  if (process.env['OTPKNOCK_E2E'] === 'required') throw new Error(message);
  console.warn(`SKIPPED: ${message}`);
  return false;
}
