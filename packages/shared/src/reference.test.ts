// The independent Python implementation (written from docs/protocol.md alone)
// must confirm every vector in docs/test-vectors.json.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const python = spawnSync('python3', ['--version'], { encoding: 'utf8' });
const havePython = !python.error && python.status === 0;

describe('independent reference implementation', () => {
  it.skipIf(!havePython)('docs/reference/otpknock_ref.py confirms docs/test-vectors.json', () => {
    const r = spawnSync('python3', ['docs/reference/otpknock_ref.py', 'docs/test-vectors.json'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(/FAIL/);
    expect(r.stdout).toMatch(/(\d+)\/\1 vectors confirmed/);
    expect(r.stdout).toMatch(/([1-9]\d*)\/\1 fleet keys confirmed/);
    expect(r.status).toBe(0);
  });
  if (!havePython) {
    it('SKIPPED: python3 is not installed, so the Python reference check could not run (apt-get install python3)', () => {
      console.warn('python3 not found: skipping the independent reference check of docs/test-vectors.json');
    });
  }
});
