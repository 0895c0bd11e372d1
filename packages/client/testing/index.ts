// Helpers for this package's tests (not part of the CLI).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizeProfile } from '@otpknock/shared';
import type { ClientProfile } from '../src/profile.js';

/** A fixed test secret (160 bits, base32). */
export const TEST_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

export function tempDir(prefix = 'knock-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writePrivate(file: string, text: string, mode = 0o600): string {
  writeFileSync(file, text, { mode });
  chmodSync(file, mode);
  return file;
}

export function testProfile(name: string, extra: Partial<ClientProfile> = {}): ClientProfile {
  return {
    name,
    servicePort: 22,
    knock: normalizeProfile({ method: 'time' }),
    secret: TEST_SECRET,
    delayMs: 1,
    payload: 'none',
    addedAt: '2025-11-25T00:00:00.000Z',
    updatedAt: '2025-11-25T00:00:00.000Z',
    ...extra,
  };
}
