#!/usr/bin/env node
// Sets the one version of otpknock everywhere it is written: the root package.json and
// every workspace package's. The CLIs read theirs from package.json (`--version`),
// and version.test.ts fails when any of them differ.
//   node scripts/set-version.mjs 0.2.0
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const VERSIONED = [
  'package.json',
  'packages/shared/package.json',
  'packages/server/package.json',
  'packages/client/package.json',
  'test/harness/package.json',
];

const version = process.argv[2];
if (import.meta.url === `file://${process.argv[1]}`) {
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version ?? '')) {
    process.stderr.write('usage: node scripts/set-version.mjs MAJOR.MINOR.PATCH[-PRERELEASE]\n');
    process.exit(2);
  }
  const root = join(import.meta.dirname, '..');
  for (const file of VERSIONED) {
    const path = join(root, file);
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace(/^(\s*"version":\s*")[^"]*(")/m, `$1${version}$2`));
    process.stdout.write(`${file}: ${version}\n`);
  }
}
